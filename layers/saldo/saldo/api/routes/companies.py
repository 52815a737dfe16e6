"""The company registry (`/api/v2/companies`, `/api/v2/persons`): companies as of any date, persons,
and computed beneficial ownership."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel, Field

from saldo.api.app import json_response
from saldo.api.auth import current_caller
from saldo.api.schemas import (
    Company,
    CompanyHistory,
    CompanyImport,
    CompanyList,
    IsoDate,
    Ownership,
    RegistryPerson,
    json_body,
    responses,
)
from saldo.errors import Forbidden, NotFound
from saldo.registry.models import CompanyIn, PersonIn
from saldo.registry.reports import REPORTS, company_report, find_report_type
from saldo.registry.reports.labels import parse_language
from saldo.registry.service import RegistryService, normalized_number
from saldo.render import Format, content_disposition, negotiate_format, report_filename

router = Router()
TAG = "Company registry"
E404 = "Not in this organization's registry"

CountryPath = Annotated[
    Literal["DK", "NO", "SE", "FI", "IS"], Path(description="Country of registration (ISO 3166 alpha-2)")
]
NumberPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=32,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9 .-]*$",
        description="Registration number (CVR, organisasjonsnummer, ...); its check digit is checked",
    ),
]
PersonPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", description="Person id")]
AsOf = Annotated[
    IsoDate | None, Query(description="The company as it stood on this day (inclusive); today by default")
]


def _service() -> RegistryService:
    caller = current_caller()
    # A company's client_account_id must be within the key's grant, as on every client-account route.
    return RegistryService(caller.org_id, may_access=caller.require_client_account)


@router.put(
    "/api/v2/companies/<country>/<registration_number>",
    summary="Record a company as it stands on a date (its history is kept)",
    tags=[TAG],
    responses=responses(
        {201: json_body(Company, "Recorded, new"), 200: json_body(Company, "Recorded")},
        body=True,
        errors=(404, 409),
        e404="No route: a path segment is empty",
    ),
)
def put_company(country: CountryPath, registration_number: NumberPath, body: CompanyIn):
    view, created = _service().put_company(country, registration_number, body)
    return json_response(201 if created else 200, view)


class ImportIn(BaseModel):
    documents: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=100,
        description="CVR company documents (Vrvirksomhed), Enhetsregisteret units (with rollegrupper) or "
        "Saldo's company JSON with country and registration_number; the format is recognised per document",
    )


@router.post(
    "/api/v2/companies/import",
    summary="Import company documents (CVR, Enhetsregisteret, Saldo JSON): all of them or none",
    tags=[TAG],
    responses=responses({200: json_body(CompanyImport, "Imported")}, body=True, errors=(409,)),
)
def import_companies(body: ImportIn):
    return json_response(200, _service().import_documents(body.documents))


@router.get(
    "/api/v2/companies/<country>/<registration_number>",
    summary="A company as of a date: master data, roles, owners, registered beneficial owners, key figures",
    tags=[TAG],
    responses=responses({200: json_body(Company, "The company")}, errors=(404,), e404=E404),
)
def get_company(country: CountryPath, registration_number: NumberPath, as_of: AsOf = None):
    return json_response(200, _service().company(country, registration_number, as_of))


@router.get(
    "/api/v2/companies/<country>/<registration_number>/history",
    summary="Dated changes of the company's management, board and owners, newest first",
    tags=[TAG],
    responses=responses({200: json_body(CompanyHistory, "The changes")}, errors=(404,), e404=E404),
)
def get_company_history(country: CountryPath, registration_number: NumberPath):
    return json_response(200, {"data": _service().history(country, registration_number)})


@router.get(
    "/api/v2/companies/<country>/<registration_number>/ownership",
    summary="Computed beneficial owners (chains, share ranges) beside the registered ones, with differences",
    tags=[TAG],
    responses=responses({200: json_body(Ownership, "The owners")}, errors=(404,), e404=E404),
)
def get_company_ownership(country: CountryPath, registration_number: NumberPath, as_of: AsOf = None):
    return json_response(200, _service().ownership(country, registration_number, as_of))


@router.get(
    "/api/v2/companies",
    summary="Companies in the registry, searched by name or number",
    tags=[TAG],
    responses=responses({200: json_body(CompanyList, "A page of companies")}),
)
def list_companies(
    q: Annotated[str | None, Query(max_length=100, description="Part of the name or number")] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Companies per page")] = 50,
    cursor: Annotated[
        str | None, Query(max_length=500, description="`next_cursor` of the previous page")
    ] = None,
    as_of: AsOf = None,
):
    return json_response(200, _service().list_companies(q, limit, cursor, as_of))


@router.put(
    "/api/v2/persons/<person_id>",
    summary="Record a person",
    tags=[TAG],
    responses=responses(
        {201: json_body(RegistryPerson, "Recorded, new"), 200: json_body(RegistryPerson, "Recorded")},
        body=True,
        errors=(404, 409),
        e404="No route: a path segment is empty",
    ),
)
def put_person(person_id: PersonPath, body: PersonIn):
    person, created = _service().put_person(person_id, body)
    return json_response(201 if created else 200, person)


@router.get(
    "/api/v2/persons/<person_id>",
    summary="A person with their roles, holdings and registrations in every company of the registry",
    tags=[TAG],
    responses=responses({200: json_body(RegistryPerson, "The person")}, errors=(404,), e404=E404),
)
def get_person(person_id: PersonPath, as_of: AsOf = None):
    return json_response(200, _service().person(person_id, as_of))


ReportTypePath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=20,
        pattern=r"^[A-Za-z0-9]+$",
        description="Revision (0), Finans (1), ReelleEjere (2), RevisionUdvidet (3): name or number",
    ),
]


def _ledger_figures(client_account_id: int, day: date) -> list[dict[str, Any]]:
    """Key figures from the linked client account's ledger, when the key may read it; else none, and the
    report shows the registered figures."""
    from saldo.ledger.service import LedgerService
    from saldo.registry.ledger_figures import ledger_key_figures

    caller = current_caller()
    try:
        caller.require_client_account(client_account_id)
        ledger = LedgerService(caller.org_id)
        view = ledger.view(ledger.client_account(client_account_id))
    except Forbidden:
        return []
    return ledger_key_figures(view, today=day, years=6)


@router.get(
    "/api/v2/companies/<country>/<registration_number>/reports/<report_type>",
    summary="A company report (Revision, Finans, ReelleEjere, RevisionUdvidet) as PDF or JSON",
    description="Format by Accept: application/json (default) or application/pdf. Labels are Danish unless "
    "Accept-Language prefers English; numbers and dates follow the company's country. Key figures come "
    "from the linked client account's ledger when the API key may read it, else from the registered "
    "annual figures. See docs/REGISTRY.md.",
    tags=[TAG],
    responses=responses(
        {
            200: {
                "description": "The report",
                "content": {
                    "application/json": {"schema": {"type": "object"}},
                    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                },
            }
        },
        errors=(404, 406),
        e404=E404 + ", or no such report type",
    ),
)
def get_company_report(
    country: CountryPath, registration_number: NumberPath, report_type: ReportTypePath, as_of: AsOf = None
):
    kind = find_report_type(report_type)
    if kind is None:
        raise NotFound(f"No report type {report_type!r}; use one of {', '.join(REPORTS)} (or 0-3)")
    headers = router.current_event.headers or {}
    fmt = negotiate_format(headers.get("accept"), (Format.JSON, Format.PDF))
    lang = parse_language(headers.get("accept-language"))
    number = normalized_number(country, registration_number)
    day = as_of or date.today()
    report = company_report(_service(), kind, country, number, day, lang, _ledger_figures)
    extra = {"Content-Language": lang, "Vary": "Accept, Accept-Language"}
    if fmt is Format.JSON:
        return json_response(200, report.body, extra)
    pdf = report.pdf()
    name = report_filename(kind, f"{country}{number}", report_date=day, extension=Format.PDF)
    return Response(
        status_code=200,
        content_type=Format.PDF.content_type,
        body=pdf,
        headers={"Content-Disposition": content_disposition(name), **extra},
    )
