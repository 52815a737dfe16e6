"""Queued batch work for the job worker: `batch_zip`, a batch's finished PDFs streamed into one zip.

The zip is written by `batches/archive.py` to an S3 multipart upload at `zips.zip_key(...)`; each PDF is
read from S3 in chunks, so memory is one part and one chunk whatever the batch's size. A redelivered
message finds its job finished (nothing to do) or running; a running job whose progress is older than
the function's timeout died with its invocation, and is taken over (the same key: one zip, never two).
A failing upload aborts the multipart upload and fails the job with the reason; the next request for
the zip starts it again (`zips.request_zip`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit

from saldo.batches import archive
from saldo.batches.zips import zip_key
from saldo.jobs import PermanentJobError, register
from saldo.observability import count

logger = Logger(service="saldo")
PROGRESS_EVERY_SECONDS = 2.0
#: JobWorkerFunction's timeout: a RUNNING job not heard from for longer has no live invocation.
WORKER_TIMEOUT = timedelta(seconds=900)
PAGE = 200
WITH_PDF = ("Completed", "Warning")


def _entries(org_id: str, batch_id: str) -> Iterator[archive.Entry]:
    """The batch's finished PDFs in item order, a page of items at a time."""
    from saldo.adapters import documents
    from saldo.adapters.batch_store import BatchStore
    from saldo.batches.service import pdf_key

    store, bucket, after = BatchStore(), documents.bucket(), None
    while True:
        found, after = store.items(org_id, batch_id, status=None, limit=PAGE, after=after)
        for item in found:
            doc = item["doc"]
            if doc.get("status") not in WITH_PDF or not doc.get("link"):
                continue
            key = pdf_key(org_id, batch_id, int(item["index"]))
            yield archive.Entry(f"{doc['name']}.pdf", lambda k=key: documents.open_stream(bucket, k))
        if after is None:
            return


def _stale(job: dict[str, Any]) -> bool:
    stamp = job.get("updated_at") or job.get("created_at") or ""
    try:
        seen = datetime.fromisoformat(stamp)
    except ValueError:
        return True
    return datetime.now(UTC) - seen > WORKER_TIMEOUT


@register("batch_zip")
def run_zip(message: dict[str, Any]) -> None:
    from saldo.adapters import documents
    from saldo.adapters.jobstatus import BATCH_ZIP, JobStatusStore
    from saldo.adapters.multipart import S3MultipartUpload
    from saldo.render.negotiation import content_disposition

    org_id, job_id = message["org_id"], message["job_id"]
    zips = JobStatusStore(BATCH_ZIP)
    job = zips.get(org_id, job_id)
    if job is None:
        raise PermanentJobError(f"zip job {job_id} not found")
    status = job["status"]
    if status in ("SUCCEEDED", "FAILED") or (status == "RUNNING" and not _stale(job)):
        logger.info("zip job not run again", extra={"job_id": job_id, "status": status})
        return
    if not zips.update(org_id, job_id, {"status": "RUNNING", "progress": 0}, running=True, expect=(status,)):
        return  # another delivery claimed it first
    batch_id, expected = job["batch_id"], max(1, int(job.get("expected") or 1))
    key = zip_key(org_id, batch_id, int(job.get("expected") or 0))
    last = [time.monotonic()]

    def progress(n: int) -> None:
        if time.monotonic() - last[0] < PROGRESS_EVERY_SECONDS:
            return
        last[0] = time.monotonic()
        zips.progress(org_id, job_id, min(99, n * 100 // expected), items_written=n)

    started = time.perf_counter()
    try:
        upload = S3MultipartUpload(
            documents.bucket(), key, "application/zip", content_disposition(job.get("file_name") or "")
        )
        summary = archive.write_zip(_entries(org_id, batch_id), upload, on_entry=progress)
    except archive.EmptyArchive:
        zips.fail(org_id, job_id, "The batch has no finished report with a PDF")
        return
    except Exception as exc:  # the upload was aborted: nothing half-written is served
        logger.exception("zip job failed", extra={"job_id": job_id})
        zips.fail(org_id, job_id, f"The zip could not be written: {str(exc)[:300]}")
        return
    zips.succeed(
        org_id,
        job_id,
        {"output_key": key, "size": summary.bytes},
        items_included=summary.entries,
        parts=summary.parts,
    )
    count("BatchZipBytes", summary.bytes, MetricUnit.Bytes)
    logger.info(
        "zip written",
        extra={
            "job_id": job_id,
            "entries": summary.entries,
            "bytes": summary.bytes,
            "parts": summary.parts,
            "seconds": round(time.perf_counter() - started, 2),
        },
    )
