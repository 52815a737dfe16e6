"""The company registry (`/api/v2/companies`, `/api/v2/persons`): companies as of any date, persons,
and computed beneficial ownership."""

from __future__ import annotations

from typing import Annotated, Any, Literal

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
from saldo.registry.models import CompanyIn, PersonIn
from saldo.registry.service import RegistryService

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
