"""Financial reports (JSON, Excel, HTML, PDF by Accept header)."""

from saldo.api.app import create_app, logger
from saldo.api.routes import reports
from saldo.observability import api_handler

app = create_app(reports.router)

lambda_handler = api_handler(app, logger)
