"""Probes that tell whether each AWS dependency answers (for GET /health)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from saldo.adapters.clients import client
from saldo.config import settings


def _probes() -> dict[str, Callable[[], Any]]:
    s = settings()
    return {
        "dynamodb": lambda: client("dynamodb").describe_table(TableName=s.table_name),
        "s3_ledger": lambda: client("s3").head_bucket(Bucket=s.ledger_bucket),
        "s3_documents": lambda: client("s3").head_bucket(Bucket=s.document_bucket),
        "sqs": lambda: client("sqs").get_queue_attributes(
            QueueUrl=s.work_queue_url, AttributeNames=["QueueArn"]
        ),
        "eventbridge": lambda: client("events").describe_event_bus(Name=s.event_bus_name),
    }


def check_dependencies() -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    for name, probe in _probes().items():
        started = time.perf_counter()
        try:
            probe()
            results[name] = {"ok": True}
        except Exception as exc:  # any failure means "does not answer"; the reason is reported
            results[name] = {"ok": False, "error": type(exc).__name__}
        results[name]["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return results
