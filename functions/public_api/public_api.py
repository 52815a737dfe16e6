"""Health, OpenAPI document and docs page."""

from saldo.api.app import create_app, logger
from saldo.api.routes import public
from saldo.observability import api_handler

app = create_app(public.router)

lambda_handler = api_handler(app, logger)
