"""How a report reaches its caller when it is too big for a Lambda response: JSON gzipped or stored,
documents stored under outputs/ behind a presigned link, ledger documents queued for the worker.

The routes decide the format and serialise; this module does the storing, the queuing and the job status.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from typing import Any, Literal

from saldo import jsonenc
from saldo.ledger.query import LedgerView
from saldo.render import INLINE_LIMIT, Format, RenderedDocument, content_disposition
from saldo.reports import jobs
from saldo.reports.common import LineFilter

JSON_TYPE = "application/json"


@dataclass(frozen=True)
class JsonDelivery:
    """`inline`: `body` is the JSON text; `gzip`: `body` is the gzipped JSON; `stored`: `url` to it."""

    how: Literal["inline", "gzip", "stored"]
    body: str | bytes = ""
    url: str = ""
    size: int = 0


def deliver_json(org_id: str, payload: Any, accepts_gzip: bool) -> JsonDelivery:
    """A report's JSON, whole: a summary report over a big chart (20,000 accounts: ~9 MB) passes Lambda's
    6 MB response limit, so a large body is gzipped when the client accepts it (~15 times smaller), else
    stored for a 303, as large documents are."""
    text = jsonenc.dumps(payload)
    if len(text) <= INLINE_LIMIT:
        return JsonDelivery("inline", text)
    data = text.encode()
    if accepts_gzip:
        packed = gzip.compress(data, compresslevel=5)
        if len(packed) * 4 // 3 <= INLINE_LIMIT:  # base64 in the Lambda response
            return JsonDelivery("gzip", packed)
    from saldo.adapters.outputs import store_output

    filename = "report.json"
    url = store_output(org_id, filename, JSON_TYPE, io.BytesIO(data), content_disposition(filename))
    return JsonDelivery("stored", url=url, size=len(data))


def store_document(org_id: str, rendered: RenderedDocument) -> str:
    """Upload a rendered document too large to answer inline; returns a five-minute download URL."""
    from saldo.adapters.outputs import store_output

    with rendered.open() as fh:
        return store_output(
            org_id, rendered.filename, rendered.content_type, fh, rendered.content_disposition()
        )


def queue_document(
    org_id: str,
    view: LedgerView,
    report: str,
    fmt: Format,
    flt: LineFilter,
    lang: str,
    echo: dict[str, Any],
    rows: int,
) -> str:
    """Store a report job's status and queue its `report_document` job; returns the job id."""
    from saldo.adapters.jobstatus import REPORT, JobStatusStore
    from saldo.adapters.queue import enqueue

    job_id = jobs.new_job_id()
    fields = {
        "report": report,
        "format": fmt.value,
        "client_account_id": view.account.id,
        "estimated_rows": rows,
    }
    JobStatusStore(REPORT).create(org_id, job_id, "QUEUED", fields, running=True)
    enqueue(jobs.message(org_id, job_id, report, fmt, view.account.id, flt, lang, echo, rows))
    return job_id


def report_job(org_id: str, job_id: str) -> dict[str, Any] | None:
    """A queued document's status as the API shows it: a fresh download URL once it has succeeded."""
    from saldo.adapters.jobstatus import REPORT, JobStatusStore, public
    from saldo.adapters.outputs import presign

    item = JobStatusStore(REPORT).get(org_id, job_id)
    if item is None:
        return None
    job = public(item)
    if job.get("status") == "SUCCEEDED":
        job["download_url"] = presign(job.pop("output_key"))
    else:
        job.pop("output_key", None)
    return job
