"""Financial reports: `/api/v2/reports/*` with the parameters, defaults and JSON shapes of seeds/003
(and seeds/002 for the VAT report).

Scoping: the client account must be in the caller's organization and within the key's grant, else 403 as
the seeds say. Format: chosen by `Accept` (JSON, Excel, HTML, PDF; 406 lists what is offered). A document
larger than a Lambda response can carry is stored in S3 and answered with 303 to a presigned URL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from saldo import jsonenc
from saldo.api.app import JSON as JSON_TYPE
from saldo.api.app import json_response
from saldo.api.auth import current_caller, link
from saldo.api.schemas import (
    REQUIRED,
    BalanceSheet,
    GeneralLedger,
    IncomeStatement,
    IsoDate,
    OpenItems,
    ReportJob,
    RequiredClientAccountId,
    TrialBalance,
    VatReport,
    json_body,
    report_responses,
    responses,
)
from saldo.api.security import html_headers
from saldo.errors import BadRequest, Forbidden, NotFound
from saldo.ledger.accountplan import CONTROL_ACCOUNTS
from saldo.ledger.models import DIMENSION_TYPES
from saldo.ledger.query import LedgerView
from saldo.ledger.service import LedgerService
from saldo.render import (
    Document,
    Format,
    negotiate_format,
    parse_accept_language,
    render,
)
from saldo.reports import common, delivery, documents
from saldo.reports import jobs as report_jobs
from saldo.reports.balance_sheet import balance_sheet
from saldo.reports.general_ledger import count_rows, general_ledger
from saldo.reports.income_statement import income_statement
from saldo.reports.open_items import open_items_report
from saldo.reports.trial_balance import trial_balance
from saldo.reports.vat import vat_report

router = Router()
TAG = "Financial reports"
FORMATS_NOTE = (
    "Format by Accept: application/json (default), "
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet, text/html, application/pdf. "
    "Documents are Norwegian unless Accept-Language asks for English; a document over 5 MB is answered "
    "with 303 to a presigned download URL valid for five minutes."
)

ClientAccountId = RequiredClientAccountId
_DIM = f"(?:{'|'.join(DIMENSION_TYPES)}):[0-9]{{1,18}}"
Dimensions = Annotated[
    str | None,
    Query(
        max_length=2000,
        pattern=rf"^(?:{_DIM}(?:,{_DIM})*)?$",
        description="Comma-separated dimension tuples type:id, e.g. project:1,department:2",
    ),
]
IncludeDrafts = Annotated[bool, Query(description="Include draft journal entries")]
FreeText = Annotated[
    str | None,
    Query(max_length=200, description="Search descriptions, document numbers and business partner names"),
]
GroupBy = Annotated[
    Literal["", "businesspartner", "bankacc", "project", "department", "asset", "tag", "item"] | None,
    Query(description="Group by dimension type (empty: no grouping)"),
]
DateFrom = Annotated[IsoDate | None, Query(description="Start date YYYY-MM-DD (inclusive)")]
DateTo = Annotated[IsoDate | None, Query(description="End date YYYY-MM-DD (inclusive)")]
PeriodFrom = Annotated[
    IsoDate | None, Query(description="Start date YYYY-MM-DD (inclusive)", json_schema_extra=REQUIRED)
]
PeriodTo = Annotated[
    IsoDate | None, Query(description="End date YYYY-MM-DD (inclusive)", json_schema_extra=REQUIRED)
]
Page = Annotated[
    int, Query(ge=1, le=1_000_000_000, description="Page number (JSON only; documents hold every row)")
]
PerPage = Annotated[int, Query(ge=1, le=10_000, description="Items per page (JSON only)")]
Codes = Annotated[
    str | None, Query(max_length=2000, pattern=r"^[A-Za-z0-9._ ,-]*$", description="Comma-separated list")
]
Aging = Annotated[
    str | None,
    Query(
        max_length=200,
        pattern=r"^[0-9]{1,5}(?:,[0-9]{1,5})*$",
        description="Ascending ageing bucket edges in days, e.g. 0,30,60,90; adds a summary whose buckets "
        "sum to the control account",
    ),
]
AgingBasis = Annotated[
    Literal["due_date", "document_date"], Query(description="Age by due date or document date")
]


def today() -> date:
    return date.today()


def _view(client_account_id: int | None) -> LedgerView:
    caller = current_caller()
    ca = caller.require_client_account(client_account_id)
    service = LedgerService(caller.org_id)
    account = service.repo.get(caller.org_id, ca)
    if account is None:
        raise Forbidden(f"No access to client account {ca}")
    return service.view(account)


def _header(name: str) -> str | None:
    return (router.current_event.headers or {}).get(name)


def _format() -> Format:
    return negotiate_format(_header("accept"))


def _lang(fmt: Format) -> Literal["nb", "en"]:
    """Documents default to Norwegian; JSON names default to English, as the seeds show them."""
    header = _header("accept-language")
    if not header:
        return "en" if fmt is Format.JSON else "nb"
    return parse_accept_language(header)


def _deliver(fmt: Format, period: str, body: Callable[[], Any], document: Callable[[], Document]) -> Response:
    headers = {"X-Report-Period": period}
    if fmt is Format.JSON:
        return _deliver_json(body(), headers)
    rendered = render(document(), fmt)
    try:
        if rendered.fits_inline():
            payload = rendered.read_bytes()
            extra = html_headers() if fmt is Format.HTML else {}
            return Response(
                status_code=200,
                content_type=rendered.content_type,
                body=payload.decode("utf-8") if fmt is Format.HTML else payload,
                headers={**rendered.headers(), **extra, **headers},
            )
        url = delivery.store_document(current_caller().org_id, rendered)
        return Response(
            status_code=303,
            content_type="application/json",
            body=f'{{"location": "{url}", "size": {rendered.size}}}',
            headers={"Location": url, **headers},
        )
    finally:
        rendered.cleanup()


def _deliver_json(payload: Any, headers: dict[str, str]) -> Response:
    """A report's JSON, whole: inline, gzipped or 303 to a stored copy (see reports/delivery.py)."""
    accepts_gzip = "gzip" in (_header("accept-encoding") or "").lower()
    out = delivery.deliver_json(current_caller().org_id, payload, accepts_gzip)
    if out.how == "inline":
        return Response(status_code=200, content_type=JSON_TYPE, body=out.body, headers=headers)
    if out.how == "gzip":
        # The content type goes in as a header, not `content_type`: Powertools would otherwise take
        # the gzipped bytes for a JSON value to encode; bytes go out base64-encoded.
        return Response(
            status_code=200,
            body=out.body,
            headers={
                **headers,
                "content-type": JSON_TYPE,
                "Content-Encoding": "gzip",
                "Vary": "Accept-Encoding",
            },
        )
    return Response(
        status_code=303,
        content_type=JSON_TYPE,
        body=jsonenc.dumps({"location": out.url, "size": out.size}),
        headers={"Location": out.url, **headers},
    )


def _deliver_ledger(
    fmt: Format,
    period: str,
    body: Callable[[], Any],
    view: LedgerView,
    report: str,
    flt: common.LineFilter,
    echo: dict[str, Any],
) -> Response:
    """Ledger documents can be huge: beyond what renders within the request, or when the caller sends
    `Prefer: respond-async`, the document is queued and the answer is 202 with a status URL."""
    if fmt is not Format.JSON:
        rows = count_rows(view, flt)
        if rows > report_jobs.ASYNC_ABOVE[fmt] or "respond-async" in (_header("prefer") or "").lower():
            return _queue_document(fmt, period, view, report, flt, echo, rows)
    return _deliver(fmt, period, body, lambda: documents.ledger_document(view, report, flt, _lang(fmt), echo))


def _queue_document(
    fmt: Format,
    period: str,
    view: LedgerView,
    report: str,
    flt: common.LineFilter,
    echo: dict[str, Any],
    rows: int,
) -> Response:
    org_id = current_caller().org_id
    job_id = delivery.queue_document(org_id, view, report, fmt, flt, _lang(fmt), echo, rows)
    status_url = link(f"/api/v2/reports/jobs/{job_id}")
    body = {
        "job_id": job_id,
        "status": "QUEUED",
        "status_url": status_url,
        "estimated_rows": rows,
        "message": f"The {report} document ({rows} lines) is being prepared; poll the status URL for its "
        "progress and download link.",
    }
    return json_response(202, body, {"Location": status_url, "X-Report-Period": period})


@router.get(
    "/api/v2/reports/jobs/<job_id>",
    summary="Status and download link of a queued report document",
    tags=[TAG],
    responses=responses({200: json_body(ReportJob, "The job")}, errors=(404,)),
)
def get_report_job(job_id: Annotated[str, Path(pattern=r"^rj_[0-9a-f]{16}$", description="Job id")]):
    caller = current_caller()
    job = delivery.report_job(caller.org_id, job_id)
    if job is None or not caller.can_access(int(job["client_account_id"])):
        raise NotFound(f"Report job {job_id} not found")
    return json_response(200, job)


def _echo(**filters: Any) -> dict[str, Any]:
    return {k: v for k, v in filters.items() if v not in (None, "", False)}


@router.get(
    "/api/v2/reports/balance-sheet",
    summary="Balance sheet at a date",
    tags=[TAG],
    description=FORMATS_NOTE,
    responses=report_responses(BalanceSheet),
)
def get_balance_sheet(
    client_account_id: ClientAccountId = None,
    report_date: Annotated[IsoDate | None, Query(description="Date (default: today)")] = None,
    dimensions: Dimensions = None,
    include_drafts: IncludeDrafts = False,
):
    fmt = _format()
    view = _view(client_account_id)
    day = report_date or today()
    lang = _lang(fmt)
    rows = balance_sheet(
        view,
        report_date=day,
        dimensions=common.parse_dimensions(dimensions),
        include_drafts=include_drafts,
        lang=lang,
    )
    return _deliver(
        fmt,
        day.isoformat(),
        lambda: rows,
        lambda: documents.balance_sheet_document(
            view, rows, day, lang, _echo(dimensions=dimensions, include_drafts=include_drafts)
        ),
    )


@router.get(
    "/api/v2/reports/income-statement",
    summary="Income statement with monthly columns",
    tags=[TAG],
    description=FORMATS_NOTE,
    responses=report_responses(IncomeStatement),
)
def get_income_statement(
    client_account_id: ClientAccountId = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    dimensions: Dimensions = None,
    include_drafts: IncludeDrafts = False,
    free_text: FreeText = None,
    group_by_dimension: GroupBy = None,
):
    fmt = _format()
    group_by = common.check_group_by(group_by_dimension)
    dims = common.parse_dimensions(dimensions)
    view = _view(client_account_id)
    end = date_to or today()
    start = date_from or date(end.year, 1, 1)
    common.check_period(start, end)
    lang = _lang(fmt)
    rows = income_statement(
        view,
        date_from=start,
        date_to=end,
        dimensions=dims,
        include_drafts=include_drafts,
        free_text=free_text,
        group_by_dimension=group_by,
        lang=lang,
    )
    echo = _echo(
        dimensions=dimensions, include_drafts=include_drafts, free_text=free_text, group_by_dimension=group_by
    )
    return _deliver(
        fmt,
        f"{start}/{end}",
        lambda: rows,
        lambda: documents.income_statement_document(view, rows, start, end, lang, echo, group_by),
    )


@router.get(
    "/api/v2/reports/trial-balance",
    summary="Trial balance with dimension breakdown",
    tags=[TAG],
    description=FORMATS_NOTE,
    responses=report_responses(TrialBalance),
)
def get_trial_balance(
    client_account_id: ClientAccountId = None,
    date_from: PeriodFrom = None,
    date_to: PeriodTo = None,
    account_codes: Codes = None,
    dimensions: Dimensions = None,
    include_drafts: IncludeDrafts = False,
    include_dimensions: Annotated[bool, Query(description="One row per relation")] = True,
    include_zero_movement: Annotated[bool, Query(description="Accounts without movement")] = True,
    free_text: FreeText = None,
    group_by_dimension: GroupBy = None,
):
    fmt = _format()
    group_by = common.check_group_by(group_by_dimension)
    dims = common.parse_dimensions(dimensions)
    codes = common.parse_list(account_codes, "account_codes")
    view = _view(client_account_id)
    if date_from is None or date_to is None:
        raise BadRequest("date_from and date_to are required for the trial balance (YYYY-MM-DD)")
    common.check_period(date_from, date_to)
    lang = _lang(fmt)
    rows = trial_balance(
        view,
        date_from=date_from,
        date_to=date_to,
        account_codes=codes,
        dimensions=dims,
        include_drafts=include_drafts,
        include_dimensions=include_dimensions,
        include_zero_movement=include_zero_movement,
        free_text=free_text,
        group_by_dimension=group_by,
        lang=lang,
    )
    echo = _echo(
        account_codes=account_codes,
        dimensions=dimensions,
        include_drafts=include_drafts,
        free_text=free_text,
        group_by_dimension=group_by,
    )
    return _deliver(
        fmt,
        f"{date_from}/{date_to}",
        lambda: rows,
        lambda: documents.trial_balance_document(view, rows, date_from, date_to, lang, echo),
    )


@router.get(
    "/api/v2/reports/general-ledger",
    summary="General ledger, paginated",
    tags=[TAG],
    description=FORMATS_NOTE,
    responses=report_responses(GeneralLedger, queued=True),
)
def get_general_ledger(
    client_account_id: ClientAccountId = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    account_codes: Codes = None,
    dimensions: Dimensions = None,
    include_drafts: IncludeDrafts = False,
    include_reconciled: Annotated[bool, Query(description="Include reconciled lines")] = True,
    include_cancelled: Annotated[bool, Query(description="Include cancelled entries")] = True,
    tax_codes: Codes = None,
    free_text: FreeText = None,
    page: Page = 1,
    per_page: PerPage = 100,
):
    fmt = _format()
    dims = common.parse_dimensions(dimensions)
    codes = common.parse_list(account_codes, "account_codes")
    taxes = common.parse_list(tax_codes, "tax_codes")
    view = _view(client_account_id)
    common.check_period(date_from, date_to)
    flt = common.LineFilter(
        date_from=date_from,
        date_to=date_to,
        include_drafts=include_drafts,
        include_cancelled=include_cancelled,
        include_reconciled=include_reconciled,
        dimensions=dims,
        account_codes=codes,
        tax_codes=taxes,
        free_text=free_text,
    )
    echo = _echo(
        account_codes=account_codes,
        dimensions=dimensions,
        tax_codes=tax_codes,
        free_text=free_text,
        include_drafts=include_drafts,
    )
    return _deliver_ledger(
        fmt,
        f"{date_from or ''}/{date_to or ''}",
        lambda: general_ledger(view, flt, page_no=page, per_page=per_page),
        view,
        "general-ledger",
        flt,
        echo,
    )


@router.get(
    "/api/v2/reports/accounts-payable",
    summary="Accounts payable (2400) with open items",
    tags=[TAG],
    description=FORMATS_NOTE,
    responses=report_responses(OpenItems, queued=True),
)
@router.get(
    "/api/v2/reports/accounts-receivable",
    summary="Accounts receivable (1500) with open items",
    tags=[TAG],
    description=FORMATS_NOTE,
    responses=report_responses(OpenItems, queued=True),
)
def get_open_items(
    client_account_id: ClientAccountId = None,
    business_partner_id: Annotated[
        int | None, Query(gt=0, le=2**63 - 1, description="Only this business partner's lines")
    ] = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    free_text: FreeText = None,
    include_reconciled: Annotated[bool, Query(description="Include reconciled lines")] = True,
    include_drafts: IncludeDrafts = False,
    include_cancelled: Annotated[bool, Query(description="Include cancelled entries")] = True,
    page: Page = 1,
    per_page: PerPage = 100,
    aging: Aging = None,
    aging_basis: AgingBasis = "due_date",
):
    """Both open-item reports: the path says which control account."""
    kind: Literal["receivable", "payable"] = (
        "payable" if router.current_event.path.endswith("accounts-payable") else "receivable"
    )
    fmt = _format()
    view = _view(client_account_id)
    common.check_period(date_from, date_to)
    flt = common.LineFilter(
        date_from=date_from,
        date_to=date_to,
        include_drafts=include_drafts,
        include_cancelled=include_cancelled,
        include_reconciled=include_reconciled,
        account_codes=CONTROL_ACCOUNTS[kind],
        free_text=free_text,
        business_partner_id=business_partner_id,
    )
    echo = _echo(business_partner_id=business_partner_id, free_text=free_text, include_drafts=include_drafts)
    return _deliver_ledger(
        fmt,
        f"{date_from or ''}/{date_to or ''}",
        lambda: open_items_report(
            view,
            kind,
            today=today(),
            date_from=date_from,
            date_to=date_to,
            business_partner_id=business_partner_id,
            free_text=free_text,
            include_reconciled=include_reconciled,
            include_drafts=include_drafts,
            include_cancelled=include_cancelled,
            page_no=page,
            per_page=per_page,
            aging=aging,
            aging_basis=aging_basis,
        ),
        view,
        f"accounts-{kind}",
        flt,
        echo,
    )


@router.get(
    "/api/v2/reports/vat",
    summary="VAT (MVA) report per tax code",
    tags=[TAG],
    description=FORMATS_NOTE,
    responses=report_responses(VatReport),
)
def get_vat(
    client_account_id: ClientAccountId = None,
    date_from: PeriodFrom = None,
    date_to: PeriodTo = None,
    from_date: Annotated[
        IsoDate | None, Query(deprecated=True, description="Alias of date_from (seeds/002)")
    ] = None,
    to_date: Annotated[
        IsoDate | None, Query(deprecated=True, description="Alias of date_to (seeds/002)")
    ] = None,
    include_drafts: IncludeDrafts = False,
):
    fmt = _format()
    start, end = date_from or from_date, date_to or to_date
    view = _view(client_account_id)
    if start is None or end is None:
        raise BadRequest("The VAT report needs a period: date_from and date_to (or from_date and to_date)")
    common.check_period(start, end)
    lang = _lang(fmt)
    report = vat_report(view, date_from=start, date_to=end, include_drafts=include_drafts, lang=lang)
    return _deliver(
        fmt,
        f"{start}/{end}",
        lambda: report,
        lambda: documents.vat_document(view, report, lang, _echo(include_drafts=include_drafts)),
    )
