"""Client accounts, master data and journal entries."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from saldo.api.app import create_app, logger
from saldo.api.routes import ledger

app = create_app(ledger.router)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
