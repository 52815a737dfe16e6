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
    return {"stuck_jobs_failed": failed}
