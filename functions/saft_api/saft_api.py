"""SAF-T Financial: imports (upload, start, status) and the data-export report."""

from saldo.api.app import create_app, logger
from saldo.api.routes import saft
from saldo.observability import api_handler

app = create_app(saft.router)

lambda_handler = api_handler(app, logger)
