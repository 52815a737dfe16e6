"""Client accounts, master data and journal entries."""

from saldo.api.app import create_app, logger
from saldo.api.routes import ledger
from saldo.observability import api_handler

app = create_app(ledger.router)

lambda_handler = api_handler(app, logger)
