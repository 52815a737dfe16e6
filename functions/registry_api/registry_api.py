"""The company registry: companies as of any date, persons, computed beneficial ownership."""

from saldo.api.app import create_app, logger
from saldo.api.routes import companies
from saldo.observability import api_handler

app = create_app(companies.router)

lambda_handler = api_handler(app, logger)
