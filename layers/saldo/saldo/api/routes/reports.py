"""Financial reports: `/api/v2/reports/*` with the parameters, defaults and JSON shapes of seeds/003
(and seeds/002 for the VAT report). Scoping: the client account must be in the caller's organization and
within the key's grant, else 403 as the seeds say."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from saldo.api.app import json_response
from saldo.api.auth import current_caller
from saldo.errors import BadRequest, Forbidden
from saldo.ledger.query import LedgerView
from saldo.ledger.service import LedgerService
from saldo.reports import common
from saldo.reports.balance_sheet import balance_sheet
from saldo.reports.general_ledger import general_ledger
from saldo.reports.income_statement import income_statement
from saldo.reports.open_items import open_items_report
from saldo.reports.trial_balance import trial_balance
from saldo.reports.vat import vat_report

router = Router()
TAG = "Financial reports"

ClientAccountId = Annotated[
    int | None, Query(description="ID of the client account (required; 403 when missing)")
]
Dimensions = Annotated[
    str | None, Query(description="Comma-separated dimension tuples type:id, e.g. project:1,department:2")
]
IncludeDrafts = Annotated[bool, Query(description="Include draft journal entries")]
FreeText = Annotated[
    str | None,
    Query(max_length=200, description="Search descriptions, document numbers and business partner names"),
]
GroupBy = Annotated[
    str | None,
    Query(
        description="Group by dimension type: businesspartner, bankacc, project, department, asset, tag, item"
    ),
]
DateFrom = Annotated[date | None, Query(description="Start date YYYY-MM-DD (inclusive)")]
DateTo = Annotated[date | None, Query(description="End date YYYY-MM-DD (inclusive)")]
Page = Annotated[int, Query(ge=1, description="Page number")]
PerPage = Annotated[int, Query(ge=1, le=10_000, description="Items per page")]
Codes = Annotated[str | None, Query(description="Comma-separated list")]


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


def _lang() -> str:
    header = (router.current_event.headers or {}).get("accept-language", "") or ""
    first = header.split(",")[0].strip().lower()
    return "nb" if first[:2] in ("nb", "no", "nn") else "en"


def _respond(body: Any, period: str) -> Response:
    return json_response(200, body, {"X-Report-Period": period})


@router.get("/api/v2/reports/balance-sheet", summary="Balance sheet at a date", tags=[TAG])
def get_balance_sheet(
    client_account_id: ClientAccountId = None,
    report_date: Annotated[date | None, Query(description="Date (default: today)")] = None,
    dimensions: Dimensions = None,
    include_drafts: IncludeDrafts = False,
):
    view = _view(client_account_id)
    day = report_date or today()
    rows = balance_sheet(
        view,
        report_date=day,
        dimensions=common.parse_dimensions(dimensions),
        include_drafts=include_drafts,
        lang=_lang(),
    )
    return _respond(rows, day.isoformat())


@router.get("/api/v2/reports/income-statement", summary="Income statement with monthly columns", tags=[TAG])
def get_income_statement(
    client_account_id: ClientAccountId = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    dimensions: Dimensions = None,
    include_drafts: IncludeDrafts = False,
    free_text: FreeText = None,
    group_by_dimension: GroupBy = None,
):
    group_by = common.check_group_by(group_by_dimension)
    dims = common.parse_dimensions(dimensions)
    view = _view(client_account_id)
    end = date_to or today()
    start = date_from or date(end.year, 1, 1)
    common.check_period(start, end)
    rows = income_statement(
        view,
        date_from=start,
        date_to=end,
        dimensions=dims,
        include_drafts=include_drafts,
        free_text=free_text,
        group_by_dimension=group_by,
        lang=_lang(),
    )
    return _respond(rows, f"{start}/{end}")


@router.get("/api/v2/reports/trial-balance", summary="Trial balance with dimension breakdown", tags=[TAG])
def get_trial_balance(
    client_account_id: ClientAccountId = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    account_codes: Codes = None,
    dimensions: Dimensions = None,
    include_drafts: IncludeDrafts = False,
    include_dimensions: Annotated[bool, Query(description="One row per relation")] = True,
    include_zero_movement: Annotated[bool, Query(description="Accounts without movement")] = True,
    free_text: FreeText = None,
    group_by_dimension: GroupBy = None,
):
    group_by = common.check_group_by(group_by_dimension)
    dims = common.parse_dimensions(dimensions)
    codes = common.parse_list(account_codes, "account_codes")
    view = _view(client_account_id)
    if date_from is None or date_to is None:
        raise BadRequest("date_from and date_to are required for the trial balance (YYYY-MM-DD)")
    common.check_period(date_from, date_to)
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
        lang=_lang(),
    )
    return _respond(rows, f"{date_from}/{date_to}")


@router.get("/api/v2/reports/general-ledger", summary="General ledger, paginated", tags=[TAG])
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
    body = general_ledger(view, flt, page_no=page, per_page=per_page)
    return _respond(body, f"{date_from or ''}/{date_to or ''}")


def _open_items(kind: Literal["receivable", "payable"], client_account_id: int | None, **kw: Any) -> Response:
    view = _view(client_account_id)
    common.check_period(kw["date_from"], kw["date_to"])
    body = open_items_report(view, kind, today=today(), **kw)
    return _respond(body, f"{kw['date_from'] or ''}/{kw['date_to'] or ''}")


Aging = Annotated[
    str | None,
    Query(
        description="Ageing bucket edges in days, e.g. 0,30,60,90; adds a summary "
        "whose buckets sum to the control account"
    ),
]
AgingBasis = Annotated[
    Literal["due_date", "document_date"], Query(description="Age by due date or document date")
]


@router.get("/api/v2/reports/accounts-payable", summary="Accounts payable (2400) with open items", tags=[TAG])
def get_accounts_payable(
    client_account_id: ClientAccountId = None,
    business_partner_id: Annotated[int | None, Query(gt=0)] = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    free_text: FreeText = None,
    include_reconciled: Annotated[bool, Query()] = True,
    include_drafts: IncludeDrafts = False,
    include_cancelled: Annotated[bool, Query()] = True,
    page: Page = 1,
    per_page: PerPage = 100,
    aging: Aging = None,
    aging_basis: AgingBasis = "due_date",
):
    return _open_items(
        "payable",
        client_account_id,
        business_partner_id=business_partner_id,
        date_from=date_from,
        date_to=date_to,
        free_text=free_text,
        include_reconciled=include_reconciled,
        include_drafts=include_drafts,
        include_cancelled=include_cancelled,
        page_no=page,
        per_page=per_page,
        aging=aging,
        aging_basis=aging_basis,
    )


@router.get(
    "/api/v2/reports/accounts-receivable", summary="Accounts receivable (1500) with open items", tags=[TAG]
)
def get_accounts_receivable(
    client_account_id: ClientAccountId = None,
    business_partner_id: Annotated[int | None, Query(gt=0)] = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    free_text: FreeText = None,
    include_reconciled: Annotated[bool, Query()] = True,
    include_drafts: IncludeDrafts = False,
    include_cancelled: Annotated[bool, Query()] = True,
    page: Page = 1,
    per_page: PerPage = 100,
    aging: Aging = None,
    aging_basis: AgingBasis = "due_date",
):
    return _open_items(
        "receivable",
        client_account_id,
        business_partner_id=business_partner_id,
        date_from=date_from,
        date_to=date_to,
        free_text=free_text,
        include_reconciled=include_reconciled,
        include_drafts=include_drafts,
        include_cancelled=include_cancelled,
        page_no=page,
        per_page=per_page,
        aging=aging,
        aging_basis=aging_basis,
    )


@router.get("/api/v2/reports/vat", summary="VAT (MVA) report per tax code", tags=[TAG])
def get_vat(
    client_account_id: ClientAccountId = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    from_date: Annotated[date | None, Query(description="Alias of date_from (seeds/002)")] = None,
    to_date: Annotated[date | None, Query(description="Alias of date_to (seeds/002)")] = None,
    include_drafts: IncludeDrafts = False,
):
    start, end = date_from or from_date, date_to or to_date
    view = _view(client_account_id)
    if start is None or end is None:
        raise BadRequest("The VAT report needs a period: date_from and date_to (or from_date and to_date)")
    common.check_period(start, end)
    return _respond(
        vat_report(view, date_from=start, date_to=end, include_drafts=include_drafts, lang=_lang()),
        f"{start}/{end}",
    )
