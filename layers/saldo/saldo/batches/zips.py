"""A batch's finished reports as one zip: the API's side (start or find the zip job, answer its state).

One zip job per batch and number of finished reports (id `<batch>-<n>`): a request creates it with a
conditional put and queues it only if it created it, so requests at once start one job; a later request
with more reports finished starts the next. A failed job is queued again by the next request, up to
`MAX_ATTEMPTS` attempts. The worker's side is `batches/jobs.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from saldo.errors import Conflict

MAX_ATTEMPTS = 3
RETRY_AFTER_SECONDS = 5
#: Batch statuses after which no more reports come.
FINAL_BATCH = ("Finished", "FinishedWithWarning", "FinishedWithErrors", "ListeningStopped")


def _zips() -> Any:
    from saldo.adapters.jobstatus import BATCH_ZIP, JobStatusStore

    return JobStatusStore(BATCH_ZIP)


def zip_key(org_id: str, batch_id: str, count: int) -> str:
    return f"batches/{org_id}/{batch_id}/reports-{count:05d}.zip"


def zip_file_name(batch_name: str | None, batch_id: str) -> str:
    """`<batchName>.zip`, safe as a file name whatever the batch is called."""
    from saldo.net import safe_filename

    return safe_filename(f"{batch_name or batch_id}.zip", default=f"{batch_id}.zip", max_bytes=200)


def finished_pdfs(record: dict[str, Any]) -> int:
    """Reports of the batch that have a PDF: Completed and Warning items (Failed ones have none)."""
    return int(record.get("completed") or 0) + int(record.get("warnings") or 0)


@dataclass
class ZipAnswer:
    """`url` once the zip is written (303), else the job's state to poll (202)."""

    body: dict[str, Any]
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def request_zip(org_id: str, record: dict[str, Any]) -> ZipAnswer:
    """The zip of a batch's finished reports (`record`: the caller's batch): start it, or say how it is."""
    from saldo.adapters.queue import enqueue

    batch_id = record["id"]
    count = finished_pdfs(record)
    if count == 0:
        raise Conflict(
            f"Batch {batch_id} has no finished report to zip yet (status {record.get('status')}; "
            "failed reports have no PDF)"
        )
    job_id = f"{batch_id}-{count}"
    zips = _zips()
    job, created = zips.create_once(
        org_id,
        job_id,
        "QUEUED",
        {
            "batch_id": batch_id,
            "expected": count,
            "batch_size": int(record.get("batchSize") or 0),
            "file_name": zip_file_name(record.get("batchName"), batch_id),
            "attempts": 1,
        },
    )
    message = {"type": "batch_zip", "org_id": org_id, "job_id": job_id}
    if created:
        enqueue(message)
    elif job["status"] == "FAILED" and int(job.get("attempts") or 1) < MAX_ATTEMPTS:
        # Queued again by whichever request moves it out of FAILED first
        if zips.update(
            org_id,
            job_id,
            {"status": "QUEUED", "progress": 0, "attempts": int(job.get("attempts") or 1) + 1},
            expect=("FAILED",),
        ):
            job = {**job, "status": "QUEUED", "progress": 0, "last_errors": job.get("errors")}
            enqueue(message)
        else:
            job = zips.get(org_id, job_id) or job
    if job["status"] == "FAILED":
        reason = "; ".join(job.get("errors") or ["unknown"])
        raise Conflict(
            f"The zip of batch {batch_id} could not be written after {MAX_ATTEMPTS} attempts: {reason}"
        )
    return _answer(record, job)


def _answer(record: dict[str, Any], job: dict[str, Any]) -> ZipAnswer:
    from saldo.adapters import documents
    from saldo.batches.service import DOWNLOAD_SECONDS

    done = job["status"] == "SUCCEEDED"
    included = int(job.get("items_included") or job.get("expected") or 0)
    size = int(record.get("batchSize") or 0)
    finished = record.get("status") in FINAL_BATCH
    body: dict[str, Any] = {
        "batchId": record["id"],
        "status": job["status"],
        "progress": int(job.get("progress") or 0),
        "itemsIncluded": included,
        "batchSize": size,
        "batchStatus": record.get("status"),
        "complete": finished and included >= finished_pdfs(record),
        "fileName": job.get("file_name"),
    }
    if not finished:
        body["note"] = (
            f"The batch is still {record.get('status')}: the zip holds the {included} reports finished "
            f"when it was started, of {size}; ask again when the batch has finished for all of them"
        )
    if job.get("last_errors"):
        body["previousAttemptErrors"] = job["last_errors"]
    if not done:
        body["message"] = "The zip is being written; ask this URL again after Retry-After seconds"
        return ZipAnswer(body, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    url = documents.presign_get(
        documents.bucket(), job["output_key"], DOWNLOAD_SECONDS, file_name=job.get("file_name")
    )
    body.update(
        {"size": job.get("size"), "url": url, "expiresIn": DOWNLOAD_SECONDS, "message": "Download from url"}
    )
    return ZipAnswer(body, url=url)
