"""The one job status store: every kind keeps the keys and item shape it was first stored with, so items
written before the store was shared still read, and the sweep fails a stuck job of any kind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from saldo.adapters.clients import client
from saldo.adapters.jobstatus import EXPORT, IMPORT, REPORT, JobStatusStore, public
from saldo.config import settings


def _raw(key: dict[str, Any]) -> dict[str, Any]:
    return client("dynamodb").get_item(TableName=settings().table_name, Key=key)["Item"]


def test_report_jobs_keep_their_item_shape(stack):
    store = JobStatusStore(REPORT)
    fields = {"report": "general-ledger", "format": "pdf", "client_account_id": 7, "estimated_rows": 30_000}
    store.create("o1", "rj_0123456789abcdef", "QUEUED", fields, running=True)
    item = _raw({"pk": {"S": "ORG#o1#RJOB#rj_0123456789abcdef"}, "sk": {"S": "RJOB"}})
    assert set(item) == {
        "pk", "sk", "job_id", "org_id", "status", "report", "format", "client_account_id",
        "estimated_rows", "progress", "created_at", "gsi1pk", "gsi1sk", "expires_at",
    }  # fmt: skip
    assert item["gsi1pk"] == {"S": "RUNNING"}
    assert len(item["created_at"]["S"]) == len("2026-01-01T00:00:00+00:00")

    assert store.progress("o1", "rj_0123456789abcdef", 40)
    store.succeed(
        "o1",
        "rj_0123456789abcdef",
        {"output_key": "outputs/k", "filename": "gl.pdf", "content_type": "application/pdf", "size_bytes": 9},
        pages=None,
    )
    job = public(store.get("o1", "rj_0123456789abcdef") or {})
    assert list(job) == [
        "job_id", "status", "report", "format", "client_account_id", "estimated_rows", "progress",
        "created_at", "output_key", "filename", "content_type", "size_bytes", "finished_at",
    ]  # fmt: skip
    assert (job["status"], job["progress"]) == ("SUCCEEDED", 100)
    assert "gsi1pk" not in _raw({"pk": {"S": "ORG#o1#RJOB#rj_0123456789abcdef"}, "sk": {"S": "RJOB"}})


def test_an_item_written_before_the_store_was_shared_still_reads(stack):
    old = {
        "pk": {"S": "ORG#o1"},
        "sk": {"S": "EXPORT#exp_20260101000000_0123456789ab"},
        "type": {"S": "export"},
        "id": {"S": "exp_20260101000000_0123456789ab"},
        "org_id": {"S": "o1"},
        "status": {"S": "QUEUED"},
        "progress": {"N": "0"},
        "client_account_id": {"N": "3"},
        "created_at": {"S": "2026-01-01T00:00:00.000+00:00"},
        "updated_at": {"S": "2026-01-01T00:00:00.000+00:00"},
        "expires_at": {"N": "1900000000"},
    }
    client("dynamodb").put_item(TableName=settings().table_name, Item=old)
    store = JobStatusStore(EXPORT)
    assert store.get("o1", "exp_20260101000000_0123456789ab") == {
        k: (int(v["N"]) if "N" in v else v["S"]) for k, v in old.items()
    }
    assert store.update("o1", "exp_20260101000000_0123456789ab", {"status": "RUNNING"}, running=True)
    assert store.list("o1")[0]["status"] == "RUNNING"
    assert not store.update("o1", "exp_missing", {"status": "RUNNING"})


def test_the_sweep_fails_stuck_jobs_of_every_kind(stack):
    imports, reports = JobStatusStore(IMPORT), JobStatusStore(REPORT)
    imports.create("o1", "imp_1", "RUNNING", {})
    reports.create("o1", "rj_1", "QUEUED", {"client_account_id": 1}, running=True)
    reports.create("o1", "rj_2", "QUEUED", {"client_account_id": 1})  # not in the sweep's index
    later = datetime.now(UTC) + timedelta(hours=1)
    assert imports.fail_running_before(later, "timed out") == 2
    assert (imports.get("o1", "imp_1") or {})["errors"] == ["timed out"]
    assert (reports.get("o1", "rj_1") or {})["status"] == "FAILED"
    assert (reports.get("o1", "rj_2") or {})["status"] == "QUEUED"
