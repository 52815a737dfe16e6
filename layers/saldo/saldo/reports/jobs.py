"""Report documents too big to render within an API request: queued, rendered by the worker, fetched later.

The route decides (by the number of rows, or `Prefer: respond-async`), stores a status item, queues a
`report_document` job and answers 202; the worker rebuilds the same document from the job's parameters,
renders it to a temporary file while reporting progress, uploads it under outputs/ and marks the job done.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from typing import Any

from saldo.jobs import PermanentJobError, register
from saldo.render import Format, Row, render
from saldo.reports import documents
from saldo.reports.common import LineFilter, filter_from_dict, filter_to_dict

# Rows above which a ledger document is rendered by the worker: what renders well within the API's 29 s.
ASYNC_ABOVE = {Format.PDF: 25_000, Format.XLSX: 150_000, Format.HTML: 300_000}


def new_job_id() -> str:
    return "rj_" + secrets.token_hex(8)


def message(
    org_id: str,
    job_id: str,
    report: str,
    fmt: Format,
    client_account_id: int,
    flt: LineFilter,
    lang: str,
    filters: dict[str, Any],
    rows: int,
) -> dict[str, Any]:
    return {
        "type": "report_document",
        "org_id": org_id,
        "job_id": job_id,
        "report": report,
        "format": fmt.value,
        "client_account_id": client_account_id,
        "filter": filter_to_dict(flt),
        "lang": lang,
        "filters": filters,
        "rows": rows,
    }


class _Progress:
    """Counts rows as the renderer pulls them and reports every tenth of the way."""

    def __init__(self, total: int, report: Any) -> None:
        self.total = max(total, 1)
        self.report = report
        self.last = 0

    def wrap(self, rows: Iterable[Row]) -> Iterator[Row]:
        # Document rows include group headers and subtotals, so the count only approximates lines.
        for done, row in enumerate(rows, start=1):
            percent = min(99, done * 100 // self.total)
            if percent >= self.last + 10:
                self.last = percent
                self.report(percent)
            yield row


@register("report_document")
def render_document(msg: dict[str, Any]) -> None:
    from saldo.adapters.jobstatus import REPORT, JobStatusStore
    from saldo.adapters.outputs import store_output_file
    from saldo.ledger.service import LedgerService

    org_id, job_id = msg["org_id"], msg["job_id"]
    statuses = JobStatusStore(REPORT)
    service = LedgerService(org_id)
    account = service.repo.get(org_id, int(msg["client_account_id"]))
    if account is None:
        statuses.fail(org_id, job_id, "The client account no longer exists")
        raise PermanentJobError("client account gone")
    view = service.view(account)
    doc = documents.ledger_document(
        view, msg["report"], filter_from_dict(msg["filter"]), msg["lang"], msg["filters"]
    )
    progress = _Progress(int(msg["rows"]), lambda p: statuses.progress(org_id, job_id, p))
    source = doc.rows
    doc.rows = lambda: progress.wrap(source() if callable(source) else source)
    rendered = render(doc, Format(msg["format"]), memory_limit=0)
    try:
        with rendered.open() as fh:
            key = store_output_file(
                org_id, rendered.filename, rendered.content_type, fh, rendered.content_disposition()
            )
        output = {
            "output_key": key,
            "filename": rendered.filename,
            "content_type": rendered.content_type,
            "size_bytes": rendered.size,
        }
        statuses.succeed(org_id, job_id, output, pages=rendered.pages)
    finally:
        rendered.cleanup()
