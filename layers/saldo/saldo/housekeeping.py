"""The periodic sweep: jobs stuck in RUNNING past their deadline are marked FAILED so callers stop waiting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from saldo.adapters.jobstatus import JobStatusStore

STUCK_AFTER = timedelta(minutes=30)


def sweep(now: datetime | None = None, store: JobStatusStore | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    store = store or JobStatusStore()
    failed = store.fail_running_before(now - STUCK_AFTER, reason="timed out: no progress for 30 minutes")
    return {"stuck_jobs_failed": failed, "stuck_batches_finished": finish_stuck_batches(now)}


def finish_stuck_batches(now: datetime) -> int:
    """Batches still Executing past their deadline get their final status (saldo.batches.service)."""
    from saldo.adapters.jobstatus import due_in_index
    from saldo.batches import service

    count = 0
    for item in due_in_index(service.STUCK_INDEX, now):
        org_id = item["pk"].removeprefix("ORG#")
        service.finish_stuck(org_id, item["id"])
        count += 1
    return count
