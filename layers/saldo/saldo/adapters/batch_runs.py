"""What starts and schedules batch runs: the batch start queue, Step Functions and EventBridge Scheduler
(batch starts and webhook retries)."""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any

from saldo.adapters.clients import client
from saldo.config import settings


def queue_start(message: dict[str, Any]) -> None:
    """Queue a batch's start message for the starter (its own queue, with a dead-letter queue)."""
    client("sqs").send_message(QueueUrl=os.environ["SALDO_BATCH_QUEUE_URL"], MessageBody=json.dumps(message))


def _schedule_once(name: str, at: datetime, queue_arn: str, role_arn: str, message: dict[str, Any]) -> bool:
    """A one-time schedule that puts `message` on a queue at `at` (UTC) and deletes itself; False when a
    schedule of that name exists already (so a name per event makes the schedule once-only)."""
    scheduler = client("scheduler")
    try:
        scheduler.create_schedule(
            Name=name,
            GroupName=settings().schedule_group,
            ScheduleExpression=f"at({at:%Y-%m-%dT%H:%M:%S})",
            ScheduleExpressionTimezone="UTC",
            FlexibleTimeWindow={"Mode": "OFF"},
            ActionAfterCompletion="DELETE",
            Target={"Arn": queue_arn, "RoleArn": role_arn, "Input": json.dumps(message)},
        )
    except scheduler.exceptions.ConflictException:
        return False
    return True


def schedule_start(name: str, at: datetime, message: dict[str, Any]) -> None:
    """The start message of a scheduled batch, on the batch queue at its time."""
    _schedule_once(name, at, os.environ["SALDO_BATCH_QUEUE_ARN"], settings().scheduler_role_arn, message)


def schedule_webhook_retry(name: str, at: datetime, message: dict[str, Any]) -> bool:
    """A webhook retry message on the webhook queue at its time. Names are per attempt, so a second
    request for the same retry is refused: False."""
    role = os.environ["SALDO_WEBHOOK_SCHEDULER_ROLE_ARN"]
    return _schedule_once(name, at, os.environ["SALDO_WEBHOOK_QUEUE_ARN"], role, message)


def start_execution(name: str, payload: dict[str, Any]) -> str:
    """Start the batch state machine; a second start of the same name is the same execution."""
    sfn = client("stepfunctions")
    arn = os.environ["SALDO_BATCH_STATE_MACHINE_ARN"]
    try:
        return str(
            sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(payload))["executionArn"]
        )
    except sfn.exceptions.ExecutionAlreadyExists:
        return f"{arn.replace(':stateMachine:', ':execution:')}:{name}"
