"""SAF-T use cases behind the API: storing uploads and queuing imports, the export (inline, stored or
queued for email) and the status of imports and exports. The routes parse, authorize and serialise; this
module talks to the document bucket, the work queue and the job status store through the adapters.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from saldo import __version__, jsonenc
from saldo.errors import Conflict, PayloadTooLarge
from saldo.ledger.models import ClientAccount
from saldo.render.negotiation import content_disposition
from saldo.tenancy import Caller

ZIP = "application/zip"
MAX_UPLOAD_BYTES = 5 * 1024**3  # one PUT
FILE_NAME_RE = re.compile(r"[^A-Za-z0-9._ -]+")


def _imports() -> Any:
    from saldo.adapters.jobstatus import IMPORT, JobStatusStore

    return JobStatusStore(IMPORT)


def _exports() -> Any:
    from saldo.adapters.jobstatus import EXPORT, JobStatusStore

    return JobStatusStore(EXPORT)


def _bucket() -> str:
    from saldo.adapters import documents

    return documents.bucket()


def safe_name(name: str, fallback: str) -> str:
    """A file name fit for an object key: its last path part, odd characters replaced."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = FILE_NAME_RE.sub("_", base).strip(" .")[:120]
    return cleaned or fallback


def _grants(caller: Caller) -> str:
    return "*" if caller.client_accounts is None else ",".join(str(i) for i in sorted(caller.client_accounts))


def _queue_import(org_id: str, import_id: str) -> None:
    from saldo.adapters.queue import enqueue

    enqueue({"type": "saft_import", "org_id": org_id, "import_id": import_id})


# ------------------------------------------------------------------ imports
def new_import_id() -> str:
    from saldo.adapters.jobstatus import new_id

    return new_id("imp")


def request_uploads(
    caller: Caller,
    import_id: str,
    file_names: list[str],
    *,
    expected_client_account_id: int | None,
    validate_only: bool,
    allow_overlap: bool,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An import that waits for its files: its status item and one presigned PUT per file."""
    from saldo.adapters import documents

    prefix = f"uploads/saft/{caller.org_id}/{import_id}"
    keys = [f"{prefix}/{i + 1:02d}-{name}" for i, name in enumerate(file_names)]
    item = _imports().create(
        caller.org_id,
        import_id,
        "AWAITING_UPLOAD",
        {
            "uploads": keys,
            "file_names": file_names,
            "expected_client_account_id": expected_client_account_id,
            "validate_only": validate_only,
            "allow_overlap": allow_overlap,
            "grants": _grants(caller),
            "key_id": caller.key_id,
        },
    )
    uploads = [
        {
            "file_name": name,
            "method": "PUT",
            "url": documents.presign_put(_bucket(), key),
            "expires_in": documents.UPLOAD_URL_SECONDS,
        }
        for name, key in zip(file_names, keys, strict=True)
    ]
    return item, uploads


def import_file(
    caller: Caller,
    import_id: str,
    data: bytes,
    file_name: str | None,
    *,
    expected_client_account_id: int | None,
    validate_only: bool,
    allow_overlap: bool,
) -> dict[str, Any]:
    """Store a file sent in the request and queue its import; returns the status item."""
    from saldo.adapters import documents

    is_zip = data[:4] in (b"PK\x03\x04", b"PK\x05\x06")
    name = safe_name(file_name or "", "upload.zip" if is_zip else "upload.xml")
    key = f"uploads/saft/{caller.org_id}/{import_id}/01-{name}"
    documents.put_object(_bucket(), key, data, ZIP if is_zip else "application/xml")
    item = _imports().create(
        caller.org_id,
        import_id,
        "QUEUED",
        {
            "uploads": [key],
            "file_names": [name],
            "expected_client_account_id": expected_client_account_id,
            "validate_only": validate_only,
            "allow_overlap": allow_overlap,
            "grants": _grants(caller),
            "key_id": caller.key_id,
        },
    )
    _queue_import(caller.org_id, import_id)
    return item


def start_import(org_id: str, item: dict[str, Any]) -> dict[str, Any]:
    """Queue an import whose files are uploaded (409 if it is not waiting or a file is missing)."""
    from saldo.adapters import documents

    import_id = item["id"]
    if item["status"] != "AWAITING_UPLOAD":
        raise Conflict(f"Import {import_id} is {item['status']}, not waiting for uploads")
    missing = []
    for name, key in zip(item.get("file_names") or [], item.get("uploads") or [], strict=False):
        size = documents.object_size(_bucket(), key)
        if size is None:
            missing.append(name)
        elif size > MAX_UPLOAD_BYTES:
            raise PayloadTooLarge(f"{name} is {size} bytes; the limit is {MAX_UPLOAD_BYTES}")
    if missing:
        raise Conflict(
            f"Not uploaded yet: {', '.join(missing)}",
            details=[{"field": "file_names", "message": f"{n} is not uploaded"} for n in missing],
        )
    if not _imports().update(org_id, import_id, {"status": "QUEUED"}, expect=("AWAITING_UPLOAD",)):
        raise Conflict(f"Import {import_id} was started already")
    _queue_import(org_id, import_id)
    return _imports().get(org_id, import_id)  # type: ignore[no-any-return]


def get_import(org_id: str, import_id: str) -> dict[str, Any] | None:
    return _imports().get(org_id, import_id)  # type: ignore[no-any-return]


def list_imports(org_id: str, limit: int) -> list[dict[str, Any]]:
    """The organization's recent imports, newest first."""
    return _imports().list(org_id, limit)  # type: ignore[no-any-return]


# ------------------------------------------------------------------ export
def queue_export(
    caller: Caller,
    account: ClientAccount,
    start: date,
    end: date,
    email: str,
    status_path: Callable[[str], str],
) -> str:
    """Queue a zipped export that is emailed to `email` (with `status_path(export_id)`); returns its id."""
    from saldo.adapters.jobstatus import new_id
    from saldo.adapters.queue import enqueue

    export_id = new_id("exp")
    _exports().create(
        caller.org_id,
        export_id,
        "QUEUED",
        {
            "client_account_id": account.id,
            "date_from": start.isoformat(),
            "date_to": end.isoformat(),
            "email": email,
            "key_id": caller.key_id,
            "status_path": status_path(export_id),  # named in the email
        },
    )
    enqueue({"type": "saft_export", "org_id": caller.org_id, "export_id": export_id})
    return export_id


@dataclass
class ExportFile:
    """An export written now: `text` when it fits inline, else `url` to the stored file."""

    file_name: str
    size: int
    disposition: str
    text: str | None = None
    url: str = ""
    expires_in: int = 0


def export_file(org_id: str, view: Any, start: date, end: date, inline_limit: int) -> ExportFile:
    """Write the SAF-T file; one that does not fit a Lambda response is stored behind a presigned link."""
    from saldo.adapters import documents
    from saldo.adapters.jobstatus import new_id
    from saldo.saft.exporter import export_saft

    created = datetime.now(UTC).replace(tzinfo=None)
    with tempfile.SpooledTemporaryFile(max_size=inline_limit + 1, mode="w+b") as out:
        summary = export_saft(
            view, out, date_from=start, date_to=end, created=created, software_version=__version__
        )
        size = out.tell()
        disposition = content_disposition(summary.file_name)
        if size <= inline_limit:
            out.seek(0)
            text = out.read().decode("utf-8")
            if len(json.dumps(text)) <= inline_limit + 500_000:
                return ExportFile(summary.file_name, size, disposition, text=text)
        out.seek(0)
        key = f"outputs/saft/{org_id}/{new_id('exp')}/{summary.file_name}"
        documents.put_object(_bucket(), key, out, "text/xml; charset=utf-8", disposition)
    url = documents.presign_get(_bucket(), key, documents.DOWNLOAD_URL_SECONDS, summary.file_name)
    return ExportFile(
        summary.file_name, size, disposition, url=url, expires_in=documents.DOWNLOAD_URL_SECONDS
    )


def export_status(org_id: str, export_id: str, can_access: Callable[[int], bool]) -> dict[str, Any] | None:
    """A zipped export as the API shows it, with a fresh link once it has succeeded; None when there is
    no such export or its client account is not one `can_access` allows."""
    item = _exports().get(org_id, export_id)
    if item is None or not can_access(int(item.get("client_account_id") or 0)):
        return None
    result = jsonenc.loads(item["result"]) if item.get("result") else {}
    body: dict[str, Any] = {
        "id": export_id,
        "status": item.get("status"),
        "client_account_id": item.get("client_account_id"),
        "date_from": item.get("date_from"),
        "date_to": item.get("date_to"),
        "created_at": item.get("created_at"),
        "finished_at": item.get("finished_at"),
        **{k: v for k, v in result.items() if k not in ("email_message_id",)},
    }
    if item.get("errors"):  # set by the housekeeping sweep
        body["errors"] = [
            *body.get("errors", []),
            *({"code": "timeout", "message": e} for e in item["errors"]),
        ]
    if item.get("status") == "SUCCEEDED" and item.get("output_key"):
        from saldo.adapters import documents

        body["url"] = documents.presign_get(
            _bucket(), item["output_key"], documents.DOWNLOAD_URL_SECONDS, result.get("file_name")
        )
        body["expires_in"] = documents.DOWNLOAD_URL_SECONDS
    return body
