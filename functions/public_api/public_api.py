"""Health, OpenAPI document and docs page."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from saldo.api.app import create_app, logger
from saldo.api.routes import public

app = create_app(public.router)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
