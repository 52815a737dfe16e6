"""The work queue: jobs for the JobWorkerFunction (see saldo/jobs.py)."""

from __future__ import annotations

import json
from typing import Any

from saldo.adapters.clients import client
from saldo.config import settings


def enqueue(message: dict[str, Any]) -> str:
    """Send one job; returns the SQS message id."""
    res = client("sqs").send_message(
        QueueUrl=settings().work_queue_url, MessageBody=json.dumps(message, default=str)
    )
    return str(res["MessageId"])
