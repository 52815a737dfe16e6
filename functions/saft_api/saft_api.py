"""SAF-T Financial: imports (upload, start, status) and the data-export report."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from saldo.api.app import create_app, logger
from saldo.api.routes import saft

app = create_app(saft.router)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
