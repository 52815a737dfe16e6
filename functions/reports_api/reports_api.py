"""Financial reports (JSON, Excel, HTML, PDF by Accept header)."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from saldo.api.app import create_app, logger
from saldo.api.routes import reports

app = create_app(reports.router)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
