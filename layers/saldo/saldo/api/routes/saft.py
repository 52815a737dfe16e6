"""SAF-T Financial: imports (`/api/v2/client-accounts/imports...`) and the export
(`/api/v2/reports/data-export`, alias `/api/v2/reports/saf-t-financial`).

Imports are asynchronous. A file travels either in the request body (XML or zip, up to the API's body
limit) or, for large files, through presigned PUT URLs that `POST .../imports` hands out for up to 50
files; `POST .../imports/{importId}/start` then confirms the uploads. Either way the API puts a
`saft_import` job on the work queue (an S3 event would start it before every file of a split set is
uploaded, and the local stack runs no S3 notifications) and answers with the import resource, which the
client polls until its status is SUCCEEDED or FAILED.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from saldo import jsonenc
from saldo.api.app import json_response
from saldo.api.auth import current_caller, link
from saldo.api.schemas import (
    LOCATION,
    Export,
    ExportQueued,
    ExportRedirect,
    Import,
    ImportAwaitingUpload,
    ImportList,
    IsoDate,
    RequiredClientAccountId,
    header,
    json_body,
    responses,
)
from saldo.errors import (
    BadRequest,
    Forbidden,
    NotFound,
    Unprocessable,
)
from saldo.ledger.models import ClientAccount
from saldo.render.negotiation import negotiate
from saldo.saft import service
from saldo.tenancy import Caller

router = Router()
TAG_IMPORT = "SAF-T import"
TAG_EXPORT = "Reports"

XML_TYPES = ("text/xml", "application/xml")
ZIP = service.ZIP
EXPORT_OFFERED = ("text/xml", "application/xml", ZIP)
#: A text/xml answer must fit Lambda's 6 MB response with its JSON envelope; larger files go to S3.
INLINE_LIMIT = 5_000_000
MAX_FILES = 50
EMAIL_RE = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9.-]{1,189}\.[A-Za-z]{2,24}$")

ImportId = Annotated[str, Path(pattern=r"^imp_[0-9]{14}_[0-9a-f]{12}$", description="Import id")]
ExportId = Annotated[str, Path(pattern=r"^exp_[0-9]{14}_[0-9a-f]{12}$", description="Export id")]
ClientAccountId = Annotated[int, Path(gt=0, description="Client account id")]


# ------------------------------------------------------------------ the import resource
def import_resource(item: dict[str, Any]) -> dict[str, Any]:
    result = jsonenc.loads(item["result"]) if item.get("result") else {}
    errors = list(result.get("errors") or [])
    for reason in item.get("errors") or []:  # set by the housekeeping sweep
        errors.append({"code": "timeout", "message": reason})
    ca = item.get("client_account_id")
    links = {"self": link(f"/api/v2/client-accounts/imports/{item['id']}")}
    if ca is not None:
        links["client_account"] = link(f"/api/v2/client-accounts/{ca}/imports/{item['id']}")
    if item.get("status") == "AWAITING_UPLOAD":
        links["start"] = link(f"/api/v2/client-accounts/imports/{item['id']}/start")
    return {
        "id": item["id"],
        "status": item.get("status"),
        "progress": int(item.get("progress") or 0),
        "phase": item.get("phase"),
        "client_account_id": ca,
        "created_client_account": bool(result.get("created_client_account")),
        "validate_only": bool(item.get("validate_only")),
        "allow_overlap": bool(item.get("allow_overlap")),
        "files": item.get("file_names") or [],
        "created_at": item.get("created_at"),
        "updated_at": item.get("updated_at"),
        "started_at": item.get("started_at"),
        "finished_at": item.get("finished_at"),
        "counts": result.get("counts") or {},
        "summary": result.get("summary") or {},
        "warnings": result.get("warnings") or [],
        "errors": errors,
        "links": links,
    }


def import_summary(item: dict[str, Any]) -> dict[str, Any]:
    """A list entry: the resource without its warnings and errors (their counts instead)."""
    full = import_resource(item)
    full["warning_count"] = len(full.pop("warnings"))
    full["error_count"] = len(full.pop("errors"))
    return full


def _visible(item: dict[str, Any], caller: Caller) -> bool:
    if caller.client_accounts is None:
        return True
    if item.get("key_id") == caller.key_id:
        return True
    ca = item.get("client_account_id") or item.get("expected_client_account_id")
    return ca is not None and int(ca) in caller.client_accounts


def _load_import(import_id: str) -> dict[str, Any]:
    caller = current_caller()
    item = service.get_import(caller.org_id, import_id)
    if item is None or not _visible(item, caller):
        raise NotFound(f"Import {import_id} not found")
    return item


class UploadRequest(BaseModel):
    """Ask for presigned upload URLs (the file itself is PUT to them, then the import is started)."""

    # JSON types as the document states them: `0` is not a boolean, "1" is not an id.
    model_config = ConfigDict(strict=True)

    file_names: list[str] = Field(
        min_length=1, max_length=MAX_FILES, description="One name per file: XML or zip, split files in order"
    )
    client_account_id: int | None = Field(
        None, gt=0, description="The file must be for this client account (checked by organization number)"
    )
    validate_only: bool = Field(False, description="Check the file and report, without writing anything")
    allow_overlap: bool = Field(
        False, description="Add the entries even if the client account has entries in the file's period"
    )

    @field_validator("file_names")
    @classmethod
    def _names(cls, names: list[str]) -> list[str]:
        return [service.safe_name(n, f"file-{i + 1}.xml") for i, n in enumerate(names)]


#: The route reads its body itself (a file or JSON), so its request body is declared here.
UPLOAD_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {"schema": UploadRequest.model_json_schema()},
        # Any bytes are taken and queued (202): the import job checks the file and reports on the import.
        "application/xml": {"schema": {"description": "A SAF-T Financial file, checked by the import job"}},
        "application/zip": {
            "schema": {"description": "Zipped SAF-T files", "contentMediaType": "application/zip"}
        },
    },
}


def _check_expected(caller: Caller, client_account_id: int | None) -> None:
    if client_account_id is not None:
        from saldo.ledger.service import LedgerService

        caller.require_client_account(client_account_id)
        LedgerService(caller.org_id).client_account(client_account_id)  # 404 outside the organization
    elif caller.client_accounts is not None:
        raise Forbidden(
            "This API key is limited to given client accounts: pass client_account_id for the import"
        )


def _body_bytes() -> bytes:
    event = router.current_event
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(raw, validate=True)
        except ValueError:
            raise BadRequest("The request body is not valid base64") from None
    return raw.encode("utf-8")


def _header(name: str) -> str:
    for key, value in (router.current_event.get("headers") or {}).items():
        if key.lower() == name:
            return value
    return ""


@router.post(
    "/api/v2/client-accounts/imports",
    summary="Import a SAF-T Financial file (1.10, 1.20, 1.30): send it, or ask for upload URLs",
    description=(
        "Send the file as the body (`Content-Type: application/xml` or `application/zip`) for an import "
        'that starts at once (202), or send JSON `{"file_names": [...]}` for presigned PUT URLs (201) '
        "and start the import with POST .../imports/{importId}/start once the files are uploaded. The "
        "client account is found by the file's RegistrationNumber, or created. Poll the import resource "
        "until its status is SUCCEEDED or FAILED."
    ),
    tags=[TAG_IMPORT],
    responses=responses(
        {
            201: json_body(
                ImportAwaitingUpload,
                "Upload URLs: PUT the files, then start the import",
                {"Location": LOCATION},
            ),
            202: json_body(Import, "The file is stored and the import queued", {"Location": LOCATION}),
        },
        body=True,
        errors=(404,),
        e400="An empty body, or invalid base64",
        e404="No such client account in the organization",
        e422="Not a SAF-T file's media type, or an invalid upload request",
    ),
    openapi_extensions={"requestBody": UPLOAD_BODY},
)
def create_import(
    client_account_id: Annotated[
        int | None, Query(gt=0, description="Optional: the file must be for this client account")
    ] = None,
    validate_only: Annotated[bool, Query(description="Check and report only; write nothing")] = False,
    allow_overlap: Annotated[
        bool, Query(description="Add the entries even if the client account has entries in the file's period")
    ] = False,
    file_name: Annotated[
        str | None, Query(max_length=200, description="Name of a file sent as the body")
    ] = None,
):
    caller = current_caller()
    content_type = _header("content-type").split(";")[0].strip().lower()
    import_id = service.new_import_id()
    if content_type == "application/json":
        try:
            request = UploadRequest.model_validate(jsonenc.loads_request(_body_bytes() or b"{}"))
        except (ValidationError, ValueError) as exc:
            details = (
                [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
                if isinstance(exc, ValidationError)
                else [{"field": "", "message": "invalid JSON"}]
            )
            raise Unprocessable(f"Invalid upload request: {details[0]['message']}", details=details) from None
        expected = request.client_account_id or client_account_id
        _check_expected(caller, expected)
        item, uploads = service.request_uploads(
            caller,
            import_id,
            request.file_names,
            expected_client_account_id=expected,
            validate_only=request.validate_only or validate_only,
            allow_overlap=request.allow_overlap or allow_overlap,
        )
        body = {**import_resource(item), "uploads": uploads}
        return json_response(201, body, {"Location": body["links"]["self"]})
    if content_type not in (*XML_TYPES, ZIP, "application/octet-stream", "application/x-zip-compressed"):
        raise Unprocessable(
            'Send the SAF-T file as application/xml or application/zip, or JSON {"file_names": [...]} '
            "for upload URLs",
        )
    _check_expected(caller, client_account_id)
    data = _body_bytes()
    if not data:
        raise BadRequest("The request body is empty: send the SAF-T file")
    item = service.import_file(
        caller,
        import_id,
        data,
        file_name,
        expected_client_account_id=client_account_id,
        validate_only=validate_only,
        allow_overlap=allow_overlap,
    )
    body = import_resource(item)
    return json_response(202, body, {"Location": body["links"]["self"]})


@router.post(
    "/api/v2/client-accounts/imports/<import_id>/start",
    summary="Start an import once its files are uploaded to the presigned URLs",
    tags=[TAG_IMPORT],
    responses=responses(
        {202: json_body(Import, "Queued", {"Location": LOCATION})},
        errors=(404, 409, 413),
        e409="Not waiting for uploads (started already), or a file is not uploaded yet",
        e413="An uploaded file is larger than 5 GB",
    ),
)
def start_import(import_id: ImportId):
    caller = current_caller()
    body = import_resource(service.start_import(caller.org_id, _load_import(import_id)))
    return json_response(202, body, {"Location": body["links"]["self"]})


@router.get(
    "/api/v2/client-accounts/imports/<import_id>",
    summary="An import: status, progress, counts, warnings and errors",
    tags=[TAG_IMPORT],
    responses=responses({200: json_body(Import, "The import")}, errors=(404,)),
)
def get_import(import_id: ImportId):
    return json_response(200, import_resource(_load_import(import_id)))


@router.get(
    "/api/v2/client-accounts/imports",
    summary="The organization's recent imports",
    tags=[TAG_IMPORT],
    responses=responses({200: json_body(ImportList, "The imports, newest first")}),
)
def list_imports(limit: Annotated[int, Query(ge=1, le=100)] = 50):
    caller = current_caller()
    items = [i for i in service.list_imports(caller.org_id, 500) if _visible(i, caller)][:limit]
    data = [import_summary(i) for i in items]
    return json_response(200, {"data": data, "meta": {"records": len(data)}})


@router.get(
    "/api/v2/client-accounts/<id>/imports",
    summary="Imports into a client account",
    tags=[TAG_IMPORT],
    responses=responses({200: json_body(ImportList, "The imports, newest first")}, errors=(404,)),
)
def list_client_account_imports(id: ClientAccountId, limit: Annotated[int, Query(ge=1, le=100)] = 50):
    caller = current_caller()
    _check_expected(caller, id)
    items = [
        i
        for i in service.list_imports(caller.org_id, 500)
        if i.get("client_account_id") == id or i.get("expected_client_account_id") == id
    ][:limit]
    data = [import_summary(i) for i in items]
    return json_response(200, {"data": data, "meta": {"records": len(data)}})


@router.get(
    "/api/v2/client-accounts/<id>/imports/<import_id>",
    summary="An import into a client account: status, progress, counts, warnings and errors",
    tags=[TAG_IMPORT],
    responses=responses({200: json_body(Import, "The import")}, errors=(404,)),
)
def get_client_account_import(id: ClientAccountId, import_id: ImportId):
    caller = current_caller()
    _check_expected(caller, id)
    item = service.get_import(caller.org_id, import_id)
    if item is None or id not in (item.get("client_account_id"), item.get("expected_client_account_id")):
        raise NotFound(f"Import {import_id} not found in client account {id}")
    return json_response(200, import_resource(item))


# ------------------------------------------------------------------ export
def _accepts(accept: str | None) -> str:
    """The media type to answer with: text/xml unless the client asks for zip (or application/xml)."""
    return negotiate(accept, EXPORT_OFFERED)


def _period(account: ClientAccount, date_from: date | None, date_to: date | None) -> tuple[date, date]:
    end = date_to or datetime.now(UTC).date()
    if date_from is None:
        start_month = account.fiscal_year_start_month
        year = end.year if end.month >= start_month else end.year - 1
        date_from = date(year, start_month, 1)
    if date_from > end:
        raise Unprocessable(f"Invalid date range: date_from {date_from} is after date_to {end}")
    return date_from, end


def _one(name: str, a: date | None, b: date | None) -> date | None:
    if a is not None and b is not None and a != b:
        raise BadRequest(f"Conflicting {name} values")
    return a or b


def _export(
    *,
    client_account_id: int | None,
    date_from: date | None,
    date_to: date | None,
    email: str | None,
    not_found: type[Exception],
) -> Response:
    from saldo.ledger.service import LedgerService

    caller = current_caller()
    account_id = caller.require_client_account(client_account_id)
    ledger = LedgerService(caller.org_id)
    try:
        account = ledger.client_account(account_id)
    except NotFound:
        raise not_found(f"Client account {account_id} could not be found") from None
    media = _accepts(_header("accept"))
    start, end = _period(account, date_from, date_to)
    if media == ZIP:
        if not email or not EMAIL_RE.match(email):
            raise BadRequest("An application/zip export is emailed: pass a valid email address as 'email'")
        export_id = service.queue_export(
            caller, account, start, end, email, lambda i: link(f"/api/v2/reports/data-export/{i}")
        )
        return json_response(
            202,
            {
                "status": 202,
                "message": f"The SAF-T Financial export for {account.name} ({start} to {end}) is being "
                f"prepared; a download link will be emailed to {email}.",
                "export_id": export_id,
                "links": {"self": link(f"/api/v2/reports/data-export/{export_id}")},
            },
            {"Location": link(f"/api/v2/reports/data-export/{export_id}")},
        )
    out = service.export_file(caller.org_id, ledger.view(account), start, end, INLINE_LIMIT)
    if out.text is not None:
        headers = {
            "Content-Disposition": out.disposition,
            "X-Report-Period": f"{start}/{end}",
            "Cache-Control": "no-store",
        }
        return Response(200, f"{media}; charset=utf-8", out.text, headers)
    return json_response(
        303,
        {
            "status": 303,
            "message": f"The file is {out.size} bytes, too large to send inline; download it from 'url' "
            f"within {out.expires_in} seconds",
            "url": out.url,
            "expires_in": out.expires_in,
            "file_name": out.file_name,
        },
        {"Location": out.url, "Cache-Control": "no-store"},
    )


DateFrom = Annotated[
    IsoDate | None, Query(description="Start date (YYYY-MM-DD); default: start of the fiscal year")
]
DateTo = Annotated[IsoDate | None, Query(description="End date (YYYY-MM-DD); default: today")]
Email = Annotated[
    str | None, Query(max_length=254, description="Recipient of the link (Accept: application/zip)")
]
ClientAccountQuery = RequiredClientAccountId
XML_FILE = {"schema": {"type": "string", "description": "The SAF-T Financial 1.30 file"}}


def export_responses(missing_account: int) -> dict[int, dict[str, Any]]:
    return responses(
        {
            200: {
                "description": "The file (text/xml, or application/xml when asked for)",
                "headers": {
                    "Content-Disposition": header('attachment; filename="SAF-T Financial_....xml"'),
                    "X-Report-Period": header("date_from/date_to"),
                },
                "content": {"text/xml": XML_FILE, "application/xml": XML_FILE},
            },
            202: json_body(
                ExportQueued,
                "Accept: application/zip: the file is prepared and a link emailed",
                {"Location": LOCATION},
            ),
            303: json_body(
                ExportRedirect,
                "The file is over 5 MB: download it from Location (presigned, short-lived)",
                {"Location": LOCATION},
            ),
        },
        errors=(missing_account, 406, 422),
        **{
            "e400": "Invalid parameters (conflicting aliases; an application/zip export without a valid "
            "email)" + ("; no such client account in the organization" if missing_account == 400 else ""),
            f"e{missing_account}" if missing_account != 400 else "e404": "No such client account",
        },
        e422="date_from is after date_to",
    )


@router.get(
    "/api/v2/reports/data-export",
    summary="SAF-T Financial 1.30 export (Accept: text/xml; application/zip is emailed)",
    description=(
        "`Accept: text/xml` (default) returns the file; a file over 5 MB answers 303 with a short-lived "
        "download URL. `Accept: application/zip` answers 202 and emails a link to the zipped file to "
        "`email`. File name: `SAF-T Financial_<orgnr>_<yyyymmddHHMMSS>_1_1.xml`."
    ),
    tags=[TAG_EXPORT],
    responses=export_responses(400),
)
def data_export(
    client_account_id: ClientAccountQuery = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    start_date: DateFrom = None,
    end_date: DateTo = None,
    email: Email = None,
):
    return _export(
        client_account_id=client_account_id,
        date_from=_one("date_from/start_date", date_from, start_date),
        date_to=_one("date_to/end_date", date_to, end_date),
        email=email,
        not_found=BadRequest,
    )


@router.get(
    "/api/v2/reports/saf-t-financial",
    summary="SAF-T Financial export (alias of data-export; start_date/end_date as in the older API)",
    tags=[TAG_EXPORT],
    responses=export_responses(404),
)
def saft_financial(
    client_account_id: ClientAccountQuery = None,
    start_date: DateFrom = None,
    end_date: DateTo = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    email: Email = None,
):
    return _export(
        client_account_id=client_account_id,
        date_from=_one("start_date/date_from", start_date, date_from),
        date_to=_one("end_date/date_to", end_date, date_to),
        email=email,
        not_found=NotFound,
    )


@router.get(
    "/api/v2/reports/data-export/<export_id>",
    summary="A zipped SAF-T export: status, and a fresh download link when it is ready",
    tags=[TAG_EXPORT],
    responses=responses({200: json_body(Export, "The export")}, errors=(404,)),
)
def get_export(export_id: ExportId):
    caller = current_caller()
    body = service.export_status(caller.org_id, export_id, caller.can_access)
    if body is None:
        raise NotFound(f"Export {export_id} not found")
    return json_response(200, body)
