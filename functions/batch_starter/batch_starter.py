"""Batch start messages (SQS, from the API or a one-time schedule): start each batch's state machine."""

import json

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from saldo.api.app import logger
from saldo.batches.service import start
from saldo.observability import flushed

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    message = json.loads(record.body)
    arn = start(str(message["org_id"]), str(message["batch_id"]))
    logger.info("batch start", extra={"batch_id": message["batch_id"], "execution": arn})


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    with flushed():
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
