"""Webhook retry messages (SQS, each put there by a one-time schedule): one attempt of one item's call."""

import json

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from saldo.api.app import logger
from saldo.batches import webhooks
from saldo.observability import flushed

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    message = json.loads(record.body)
    org_id, batch_id = str(message["org_id"]), str(message["batch_id"])
    index, attempt = int(message["index"]), int(message["attempt"])
    result = webhooks.attempt(org_id, batch_id, index, attempt)
    logger.info(
        "webhook attempt", extra={"batch_id": batch_id, "index": index, "attempt": attempt, "result": result}
    )


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    with flushed():
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
