"""AWS adapters: the only modules that talk to boto3. The domain calls them through small interfaces."""
