"""The batch reporting API (/apps/reporting/...): create, list and read batches and their items, stop a
listener, and the keyless download links of the reports."""

from saldo.api.app import create_app, logger
from saldo.api.routes import batches
from saldo.observability import api_handler

app = create_app(batches.router)

lambda_handler = api_handler(app, logger)
