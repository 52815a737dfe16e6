"""Queued SAF-T work for the job worker: `saft_import` and `saft_export` (the zipped, emailed export).

Both are idempotent per job id: a repeated message for a finished job does nothing, and a retried import
whose first attempt already committed is recognised by its import id in the client account's records.
"""

from __future__ import annotations

import tempfile
import time
import zipfile
from datetime import UTC, date, datetime
from html import escape
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit

from saldo import __version__
from saldo.config import settings
from saldo.errors import NotFound, Unprocessable
from saldo.jobs import PermanentJobError, register
from saldo.ledger.query import stream_view
from saldo.observability import count
from saldo.render.negotiation import content_disposition
from saldo.saft.exporter import export_saft, file_name
from saldo.saft.importer import Importer, ImportRequest
from saldo.saft.safety import Source

logger = Logger(service="saldo")
FINAL = ("SUCCEEDED", "FAILED")
PROGRESS_EVERY_SECONDS = 2.0


def _grants(raw: str | None) -> frozenset[int] | None:
    if raw is None or raw == "*":
        return None
    return frozenset(int(x) for x in raw.split(",") if x)


@register("saft_import")
def run_import(message: dict[str, Any]) -> None:
    from saldo.adapters import documents
    from saldo.adapters.events import publish
    from saldo.adapters.jobstatus import IMPORT, JobStatusStore, now_iso
    from saldo.ledger.service import default_repo, default_store

    org_id, import_id = message["org_id"], message["import_id"]
    statuses = JobStatusStore(IMPORT)
    item = statuses.get(org_id, import_id)
    if item is None:
        raise PermanentJobError(f"import {import_id} not found")
    if item["status"] in FINAL:
        logger.info("import already finished", extra={"import_id": import_id, "status": item["status"]})
        return
    if not statuses.update(
        org_id,
        import_id,
        {"status": "RUNNING", "phase": "starting", "started_at": now_iso()},
        running=True,
        expect=("QUEUED", "RUNNING"),
    ):
        return
    bucket = settings().document_bucket
    keys = item.get("uploads") or []
    names = item.get("file_names") or []
    sizes = [documents.object_size(bucket, key) for key in keys]
    missing = [names[i] if i < len(names) else key for i, key in enumerate(keys) if sizes[i] is None]
    if missing:  # expired or deleted: retrying cannot help
        error = {"code": "upload_missing", "message": f"The uploaded file is gone: {', '.join(missing)}"}
        statuses.finish(org_id, import_id, "FAILED", {"errors": [error]}, phase="done")
        return
    sources = [
        Source(names[i] if i < len(names) else key.rsplit("/", 1)[-1], *documents.range_opener(bucket, key))
        for i, key in enumerate(keys)
    ]
    last = [0.0]

    def progress(percent: int, phase: str) -> None:
        if percent < 100 and time.monotonic() - last[0] < PROGRESS_EVERY_SECONDS:
            return
        last[0] = time.monotonic()
        statuses.update(org_id, import_id, {"progress": percent, "phase": phase}, running=True)

    with tempfile.TemporaryDirectory(prefix="saldo-import-") as workdir:
        importer = Importer(
            default_store(), default_repo(), publish=publish, progress=progress, workdir=workdir
        )
        outcome = importer.run(
            ImportRequest(
                org_id=org_id,
                import_id=import_id,
                sources=sources,
                client_account_id=item.get("expected_client_account_id"),
                allowed=_grants(item.get("grants")),
                validate_only=bool(item.get("validate_only")),
                allow_overlap=bool(item.get("allow_overlap")),
            )
        )
    result = outcome.as_dict()
    fields: dict[str, Any] = {"phase": "done"}
    if outcome.client_account_id is not None:
        fields["client_account_id"] = outcome.client_account_id
    statuses.finish(org_id, import_id, outcome.status, result, **fields)
    count("ImportBytes", sum(size or 0 for size in sizes), MetricUnit.Bytes)
    count("ImportLines", int(outcome.counts.get("lines", 0)))
    if outcome.ledger_version is not None and outcome.client_account_id is not None:
        _compact_if_needed(org_id, outcome.client_account_id)
    logger.info(
        "import finished",
        extra={
            "import_id": import_id,
            "status": outcome.status,
            "counts": outcome.counts,
            "warnings": len(outcome.warnings),
            "errors": len(outcome.errors),
        },
    )


def _compact_if_needed(org_id: str, client_account_id: int) -> None:
    """A big import adds several segments (one per 200,000 lines): queue a compaction, as other writes do,
    once the ledger has `COMPACT_AFTER` of them."""
    from saldo.adapters.queue import enqueue
    from saldo.ledger.service import default_store
    from saldo.ledger.store import COMPACT_AFTER

    if len(default_store().manifest(org_id, client_account_id).segments) >= COMPACT_AFTER:
        enqueue({"type": "compact_ledger", "org_id": org_id, "client_account_id": client_account_id})


@register("saft_export")
def run_export(message: dict[str, Any]) -> None:
    from saldo.adapters import documents
    from saldo.adapters.email import send_email
    from saldo.adapters.jobstatus import EXPORT, JobStatusStore, now_iso
    from saldo.ledger.service import LedgerService

    org_id, export_id = message["org_id"], message["export_id"]
    statuses = JobStatusStore(EXPORT)
    item = statuses.get(org_id, export_id)
    if item is None:
        raise PermanentJobError(f"export {export_id} not found")
    if item["status"] in FINAL:
        return
    statuses.update(org_id, export_id, {"status": "RUNNING", "started_at": now_iso()}, running=True)
    service = LedgerService(org_id)
    try:
        account = service.client_account(int(item["client_account_id"]))
    except NotFound as exc:
        statuses.finish(
            org_id, export_id, "FAILED", {"errors": [{"code": "not_found", "message": exc.message}]}
        )
        return
    date_from, date_to = date.fromisoformat(item["date_from"]), date.fromisoformat(item["date_to"])
    created = datetime.now(UTC).replace(tzinfo=None)
    name = file_name(account.registration_number, created)
    zip_name = name[:-4] + ".zip"
    key = f"outputs/saft/{org_id}/{export_id}/{zip_name}"
    # One pass over the whole ledger: a streaming view keeps memory bounded whatever its size.
    view = stream_view(service.store, service.store.manifest(org_id, account.id), account)
    with tempfile.TemporaryDirectory(prefix="saldo-export-") as tmp:
        path = Path(tmp) / "export.zip"
        try:
            with (
                zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf,
                zf.open(name, "w", force_zip64=True) as member,
            ):
                summary = export_saft(
                    view,
                    member,
                    date_from=date_from,
                    date_to=date_to,
                    created=created,
                    software_version=__version__,
                )
        except Unprocessable as exc:  # the ledger cannot be written as SAF-T: retrying cannot help
            error = {"code": "saft_limit", "message": exc.message}
            statuses.finish(org_id, export_id, "FAILED", {"errors": [error]})
            return
        size = path.stat().st_size
        with path.open("rb") as fh:
            documents.put_object(
                settings().document_bucket, key, fh, "application/zip", content_disposition(zip_name)
            )
    url = documents.presign_get(settings().document_bucket, key, documents.EMAIL_LINK_SECONDS, zip_name)
    count("ExportBytes", size, MetricUnit.Bytes)
    count("ExportLines", summary.lines)
    result = {
        "file_name": zip_name,
        "xml_file_name": name,
        "bytes": size,
        "entries": summary.entries,
        "lines": summary.lines,
        "total_debit": summary.total_debit,
        "total_credit": summary.total_credit,
    }
    email = item.get("email")
    status_path = item.get("status_path") or f"/api/v2/reports/data-export/{export_id}"
    if email:
        subject = f"SAF-T Financial {account.name} ({account.registration_number}) {date_from} – {date_to}"
        hours = documents.EMAIL_LINK_SECONDS // 3600
        text = (
            f"The SAF-T Financial file for {account.name} ({account.registration_number}), {date_from} to "
            f"{date_to}, is ready: {summary.entries} vouchers, {summary.lines} lines.\n\n"
            f"Download (the link works for {hours} hours): {url}\n\n"
            f"Afterwards, ask the API for a new link: GET {status_path}\n"
        )
        html = (
            f"<p>The SAF-T Financial file for <b>{escape(account.name)}</b> ({account.registration_number}), "
            f"{date_from} to {date_to}, is ready: {summary.entries} vouchers, {summary.lines} lines.</p>"
            f'<p><a href="{escape(url)}">Download {escape(zip_name)}</a> '
            f"(the link works for {hours} hours).</p><p>Afterwards, ask the API for a new link: "
            f"<code>GET {escape(status_path)}</code></p>"
        )
        result["email_message_id"] = send_email(email, subject, text, html)
    statuses.finish(org_id, export_id, "SUCCEEDED", result, output_key=key)
