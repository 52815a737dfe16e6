"""The batch reporting API (/apps/reporting/...): create, list and read batches and their items, stop a
listener, the keyless download links of the reports, and webhook test calls."""

from saldo.api.app import create_app, logger
from saldo.api.routes import batches, webhooks
from saldo.observability import api_handler

app = create_app(batches.router, webhooks.router)

lambda_handler = api_handler(app, logger)
