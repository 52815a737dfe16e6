"""Queued work: one SQS message = one job `{"type": ..., ...}`, dispatched to a registered runner.

A runner raising `RetryableJobError` (or any unexpected error) leaves the message for another attempt;
after the queue's maxReceiveCount it lands in the dead-letter queue. `PermanentJobError` records the
failure on the job's status item and lets the message go, because retrying cannot help.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

from saldo.observability import record_job

logger = Logger(service="saldo")

JobRunner = Callable[[dict[str, Any]], None]
_RUNNERS: dict[str, JobRunner] = {}

# Modules that register runners; imported on first use so the worker's cold start stays small.
RUNNER_MODULES: tuple[str, ...] = (
    "saldo.ledger.jobs",
    "saldo.saft.jobs",
    "saldo.reports.jobs",
    "saldo.batches.jobs",
)


class PermanentJobError(Exception):
    """The job cannot succeed on retry (bad input); the message is consumed."""


class UnknownJobType(Exception):
    """No runner for the message's type: left to fail into the DLQ, where it can be inspected."""


def register(job_type: str) -> Callable[[JobRunner], JobRunner]:
    def wrap(fn: JobRunner) -> JobRunner:
        _RUNNERS[job_type] = fn
        return fn

    return wrap


def _runner(job_type: str) -> JobRunner:
    if job_type not in _RUNNERS:
        for module in RUNNER_MODULES:
            importlib.import_module(module)
    try:
        return _RUNNERS[job_type]
    except KeyError:
        raise UnknownJobType(f"no runner for job type {job_type!r}") from None


def run_job(body: str, receive_count: int = 1) -> None:
    message = json.loads(body)
    job_type = message.get("type", "")
    logger.append_keys(job_type=job_type, org_id=message.get("org_id"), receive_count=receive_count)
    started = time.perf_counter()
    failed = True
    try:
        _runner(job_type)(message)
        failed = False
    except PermanentJobError as exc:
        logger.warning("job failed permanently", extra={"reason": str(exc)})
    finally:
        record_job(job_type, started, failed)
