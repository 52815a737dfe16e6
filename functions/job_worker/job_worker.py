"""SQS worker: each record is one job; failed records are reported back for retry (then the DLQ)."""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from saldo.api.app import logger
from saldo.jobs import run_job
from saldo.observability import flushed

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    run_job(record.body, receive_count=int(record.attributes.approximate_receive_count or 1))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    with flushed():
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
