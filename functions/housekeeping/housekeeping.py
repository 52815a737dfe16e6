"""Periodic sweep started by the hourly EventBridge rule."""

from aws_lambda_powertools.utilities.typing import LambdaContext

from saldo.api.app import logger
from saldo.housekeeping import sweep


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    result = sweep()
    logger.info("housekeeping done", extra=result)
    return result
