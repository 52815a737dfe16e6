"""Operator tooling for Saldo: the local stack, the admin command and the demo bootstrap."""
