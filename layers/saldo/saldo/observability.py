"""CloudWatch metrics (embedded metric format, through Powertools) for every API call and queued job.

Namespace and service come from the template (`POWERTOOLS_METRICS_NAMESPACE`, `POWERTOOLS_SERVICE_NAME`).
The metrics are written to the function's log as EMF documents at the end of each invocation, so they
cost no API call. Lambda's own active tracing (template `Tracing: Active`) records each invocation;
Powertools' Tracer is not used: the X-Ray SDK it needs would add most of a second to every cold start.

API calls: `Latency` (ms), `ResponseBytes` and `Responses2xx`/`4xx`/`5xx`, by route. Jobs: `JobDuration`
(ms) and `JobFailures` by job type, plus what a runner adds (`ImportBytes`, `ImportLines`, ...).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

metrics = Metrics()

Handler = Callable[[dict[str, Any], Any], Any]


def api_handler(app: Any, logger: Logger) -> Handler:
    """The Lambda handler of an API function: resolve the route, log with the context, emit metrics."""

    @logger.inject_lambda_context(clear_state=True)
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        started = time.perf_counter()
        with flushed():
            response = app.resolve(event, context)
            record_response(str(event.get("routeKey") or "unmatched"), response, started)
        return response

    return lambda_handler


@contextmanager
def flushed() -> Iterator[None]:
    """Write what the block recorded as one EMF document at its end (the invocation's metrics)."""
    try:
        yield
    finally:
        if metrics.metric_set:
            metrics.flush_metrics()


def _enabled() -> bool:
    # Checked per call: with metrics disabled (the local stack) nothing accumulates in memory.
    return not is_metrics_disabled()


def record_response(route: str, response: dict[str, Any], started: float) -> None:
    if not _enabled():
        return
    metrics.add_dimension(name="route", value=route[:250])
    metrics.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=_ms_since(started))
    metrics.add_metric(name="ResponseBytes", unit=MetricUnit.Bytes, value=len(response.get("body") or ""))
    status = int(response.get("statusCode") or 500)
    metrics.add_metric(name=f"Responses{status // 100}xx", unit=MetricUnit.Count, value=1)


def record_job(job_type: str, started: float, failed: bool) -> None:
    if not _enabled():
        return
    metrics.add_dimension(name="job_type", value=job_type[:250] or "unknown")
    metrics.add_metric(name="JobDuration", unit=MetricUnit.Milliseconds, value=_ms_since(started))
    metrics.add_metric(name="JobFailures", unit=MetricUnit.Count, value=1 if failed else 0)


def count(name: str, value: float, unit: MetricUnit = MetricUnit.Count) -> None:
    """A figure of the current invocation (rows, bytes); written with the invocation's other metrics."""
    if not _enabled():
        return
    metrics.add_metric(name=name, unit=unit, value=value)


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
