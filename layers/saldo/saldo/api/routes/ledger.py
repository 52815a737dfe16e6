"""Client accounts, master data and journal entries (`/api/v2/client-accounts`, `/api/v2/journal-entries`)."""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from saldo.api.app import json_response
from saldo.api.auth import current_caller
from saldo.api.schemas import (
    AccountList,
    BusinessPartnerList,
    CancelledEntry,
    ClientAccountList,
    DeletedDraft,
    DimensionList,
    EditedDraft,
    JournalEntry,
    PostedEntries,
    Reconciliation,
    RequiredClientAccountId,
    RequiredIdempotencyKey,
    TaxCodeList,
    header,
    json_body,
    responses,
)
from saldo.errors import BadRequest, Forbidden
from saldo.ledger.models import (
    AccountIn,
    BusinessPartnerIn,
    CancelIn,
    ClientAccount,
    ClientAccountIn,
    ClientAccountPatch,
    DimensionIn,
    DraftEditIn,
    JournalEntriesIn,
    ReconcileIn,
    TaxCodeIn,
)
from saldo.ledger.service import LedgerService

router = Router()
TAG_CA = "Client accounts"
TAG_MD = "Master data"
TAG_JE = "Journal entries"

ClientAccountId = Annotated[int, Path(gt=0, description="Client account id")]
EntryId = Annotated[int, Path(gt=0, description="Journal entry id")]
ClientAccountQuery = RequiredClientAccountId
IdempotencyKey = RequiredIdempotencyKey
#: Every ledger write may lose a race with other writers (or hit the period lock): 409, retry.
WRITE_ERRORS = (404, 409)
E404 = "No such client account (or journal entry) in the organization"


IfMatch = Annotated[
    str | None,
    Header(
        alias="if-match",
        max_length=32,
        description="The entry's `version`: the change applies only if the draft is still at it (409 if not)",
    ),
]
ReconciliationReference = Annotated[
    str, Path(min_length=1, max_length=64, description="The reconciliation's `reference`")
]


class UnreconcileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_account_id: int = Field(gt=0)


def _version(if_match: str | None) -> int | None:
    """`If-Match: 3` or `"3"` (an entity tag) names the version a draft change applies to."""
    if if_match is None:
        return None
    tag = if_match.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise BadRequest("If-Match: give the entry's version, e.g. If-Match: 3")
    return int(tag)


def _service() -> LedgerService:
    return LedgerService(current_caller().org_id)


def _granted(client_account_id: int | None) -> int:
    """The client account id if the key's grant covers it (403 otherwise, or when missing)."""
    return current_caller().require_client_account(client_account_id)


def _account(client_account_id: int) -> ClientAccount:
    return _service().client_account(_granted(client_account_id))


# ------------------------------------------------------------------ client accounts
@router.post(
    "/api/v2/client-accounts",
    summary="Create a client account",
    tags=[TAG_CA],
    responses=responses(
        {201: json_body(ClientAccount, "Created")},
        body=True,
        errors=(409,),
        e409="A client account with this registration number exists",
    ),
)
def create_client_account(body: ClientAccountIn):
    caller = current_caller()
    if caller.client_accounts is not None:
        raise Forbidden("This API key is limited to given client accounts and cannot create new ones")
    return json_response(201, _service().create_client_account(body))


@router.get(
    "/api/v2/client-accounts",
    summary="List the client accounts this key can access",
    tags=[TAG_CA],
    responses=responses({200: json_body(ClientAccountList, "The client accounts")}),
)
def list_client_accounts():
    caller = current_caller()
    accounts = _service().list_client_accounts(caller.client_accounts)
    return json_response(200, {"data": accounts, "meta": {"records": len(accounts)}})


@router.get(
    "/api/v2/client-accounts/<id>",
    summary="Get a client account",
    tags=[TAG_CA],
    responses=responses({200: json_body(ClientAccount, "The client account")}, errors=(404,), e404=E404),
)
def get_client_account(id: ClientAccountId):
    return json_response(200, _account(id))


@router.patch(
    "/api/v2/client-accounts/<id>",
    summary="Change a client account (name, lock date, ...)",
    tags=[TAG_CA],
    responses=responses(
        {200: json_body(ClientAccount, "The changed client account")},
        body=True,
        errors=WRITE_ERRORS,
        e404=E404,
    ),
)
def patch_client_account(id: ClientAccountId, body: ClientAccountPatch):
    _granted(id)  # not _account(): a PATCH must be able to repair a record that no longer loads
    return json_response(200, _service().patch_client_account(id, body))


# ------------------------------------------------------------------ master data
# One request carries at most this many items of a kind (and at most the request body limit, 6 MB): a
# bigger chart is sent in several requests. Counted before the items are validated one by one.
MAX_ITEMS = {"accounts": 50_000, "tax_codes": 1_000, "dimensions": 50_000, "business_partners": 50_000}
# Lists are paginated like the general ledger (`page`, `per_page`, meta records/per_page/page/pages).
# The default page holds a usual chart whole; the largest stays well inside Lambda's 6 MB response.
DEFAULT_PER_PAGE = 1_000
MAX_PER_PAGE = 5_000

Page = Annotated[int, Query(ge=1, description="Page number (default 1)")]
PerPage = Annotated[
    int, Query(ge=1, le=MAX_PER_PAGE, description=f"Items per page (default {DEFAULT_PER_PAGE})")
]


class _Items(BaseModel):
    kind: ClassVar[str]

    @field_validator("items", mode="before", check_fields=False)
    @classmethod
    def _at_most(cls, items: Any) -> Any:
        limit = MAX_ITEMS[cls.kind]
        if isinstance(items, list) and len(items) > limit:
            raise PydanticCustomError(
                "too_many_items",
                "{count} items in one request; at most {limit} are accepted: send the rest in further "
                "requests (each upserts by its key)",
                {"count": len(items), "limit": f"{limit:,}"},
            )
        return items


class AccountsIn(_Items):
    kind: ClassVar[str] = "accounts"
    items: list[AccountIn] = Field(min_length=1)


class TaxCodesIn(_Items):
    kind: ClassVar[str] = "tax_codes"
    items: list[TaxCodeIn] = Field(min_length=1)


class DimensionsIn(_Items):
    kind: ClassVar[str] = "dimensions"
    items: list[DimensionIn] = Field(min_length=1)


class BusinessPartnersIn(_Items):
    kind: ClassVar[str] = "business_partners"
    items: list[BusinessPartnerIn] = Field(min_length=1)


class UpsertSummaryOut(BaseModel):
    created: int
    updated: int
    unchanged: int
    meta: dict[str, int] = Field(description="records: the number of items in the request")


UPSERT_RESPONSES = responses(
    {200: json_body(UpsertSummaryOut, "What the upsert did")}, body=True, errors=WRITE_ERRORS, e404=E404
)


def _master_list(client_account_id: int, kind: str, page: int, per_page: int) -> Response:
    _account(client_account_id)
    master = _service().master(client_account_id)
    records = master.count(kind)
    data = master.page(kind, page=page, per_page=per_page)
    meta = {
        "records": records,
        "per_page": per_page,
        "page": page,
        "pages": math.ceil(records / per_page) if records else 0,
    }
    return json_response(200, {"data": data, "meta": meta})


def _upsert(client_account_id: int, kind: str, items: list[Any]) -> Response:
    """A summary, not the stored records: their echo for a big chart would pass Lambda's 6 MB response."""
    _account(client_account_id)
    summary = _service().upsert_master(client_account_id, kind, items)
    return json_response(200, {**summary.as_dict(), "meta": {"records": len(items)}})


@router.post(
    "/api/v2/client-accounts/<id>/accounts",
    summary="Upsert chart of accounts (by code)",
    tags=[TAG_MD],
    responses=UPSERT_RESPONSES,
)
def upsert_accounts(id: ClientAccountId, body: AccountsIn):
    return _upsert(id, "accounts", body.items)


@router.get(
    "/api/v2/client-accounts/<id>/accounts",
    summary="Chart of accounts, by code",
    tags=[TAG_MD],
    responses=responses({200: json_body(AccountList, "A page of items")}, errors=(404,), e404=E404),
)
def list_accounts(id: ClientAccountId, page: Page = 1, per_page: PerPage = DEFAULT_PER_PAGE):
    return _master_list(id, "accounts", page, per_page)


@router.post(
    "/api/v2/client-accounts/<id>/tax-codes",
    summary="Upsert tax codes (by code)",
    tags=[TAG_MD],
    responses=UPSERT_RESPONSES,
)
def upsert_tax_codes(id: ClientAccountId, body: TaxCodesIn):
    return _upsert(id, "tax_codes", body.items)


@router.get(
    "/api/v2/client-accounts/<id>/tax-codes",
    summary="Tax codes",
    tags=[TAG_MD],
    responses=responses({200: json_body(TaxCodeList, "A page of items")}, errors=(404,), e404=E404),
)
def list_tax_codes(id: ClientAccountId, page: Page = 1, per_page: PerPage = DEFAULT_PER_PAGE):
    return _master_list(id, "tax_codes", page, per_page)


@router.post(
    "/api/v2/client-accounts/<id>/dimensions",
    summary="Upsert dimensions (by type and id)",
    tags=[TAG_MD],
    responses=UPSERT_RESPONSES,
)
def upsert_dimensions(id: ClientAccountId, body: DimensionsIn):
    return _upsert(id, "dimensions", body.items)


@router.get(
    "/api/v2/client-accounts/<id>/dimensions",
    summary="Dimensions",
    tags=[TAG_MD],
    responses=responses({200: json_body(DimensionList, "A page of items")}, errors=(404,), e404=E404),
)
def list_dimensions(id: ClientAccountId, page: Page = 1, per_page: PerPage = DEFAULT_PER_PAGE):
    return _master_list(id, "dimensions", page, per_page)


@router.post(
    "/api/v2/client-accounts/<id>/business-partners",
    summary="Upsert customers and suppliers (by id)",
    tags=[TAG_MD],
    responses=UPSERT_RESPONSES,
)
def upsert_business_partners(id: ClientAccountId, body: BusinessPartnersIn):
    return _upsert(id, "business_partners", body.items)


@router.get(
    "/api/v2/client-accounts/<id>/business-partners",
    summary="Customers and suppliers, by id",
    tags=[TAG_MD],
    responses=responses({200: json_body(BusinessPartnerList, "A page of items")}, errors=(404,), e404=E404),
)
def list_business_partners(id: ClientAccountId, page: Page = 1, per_page: PerPage = DEFAULT_PER_PAGE):
    return _master_list(id, "business_partners", page, per_page)


# ------------------------------------------------------------------ journal entries
@router.post(
    "/api/v2/journal-entries",
    summary="Post a batch of journal entries (idempotent by key)",
    tags=[TAG_JE],
    description="Every entry must balance to the øre and reference existing accounts, "
    "tax codes and dimensions; the whole batch is posted or nothing is. Send an `Idempotency-Key` "
    "header: a retry with the same key and body returns the first response instead of posting again "
    "(`X-Idempotency-Replayed: true`); another body with the key is 422, a retry while the first runs "
    "is 409, and a failed request frees its key. Keys are kept 24 hours.",
    responses=responses(
        {
            201: json_body(
                PostedEntries,
                "Posted (or the replay of the first response for this Idempotency-Key)",
                {
                    "X-Idempotency-Replayed": header(
                        "true when this is the stored response of an earlier request"
                    )
                },
            )
        },
        body=True,
        errors=WRITE_ERRORS,
        e400="Invalid header, e.g. no Idempotency-Key",
        e404=E404,
        e409="A request with this Idempotency-Key is still running, or the ledger is busy: retry",
        e422="Invalid entries (unbalanced, unknown accounts, locked period ...) or the Idempotency-Key was "
        "used with another body",
    ),
)
def post_journal_entries(body: JournalEntriesIn, idempotency_key: IdempotencyKey = None):
    from saldo.api.idempotency import idempotent_response

    if not idempotency_key:
        raise BadRequest("The Idempotency-Key header is required, e.g. a UUID per batch of entries")
    caller = current_caller()
    account = _account(body.client_account_id)  # 403/404 before a key is claimed
    return idempotent_response(
        scope="journal-entries",
        key=idempotency_key,
        org_id=caller.org_id,
        client_account_id=account.id,
        request=body,
        context=getattr(router, "lambda_context", None),
        action=lambda: (201, _service().post_entries(body)),
    )


@router.get(
    "/api/v2/journal-entries/<entry_id>",
    summary="Get a journal entry with its lines",
    tags=[TAG_JE],
    responses=responses({200: json_body(JournalEntry, "The entry")}, errors=(404,), e404=E404),
)
def get_journal_entry(entry_id: EntryId, client_account_id: ClientAccountQuery = None):
    account = _account(client_account_id)
    return json_response(200, _service().get_entry(account.id, entry_id))


@router.put(
    "/api/v2/journal-entries/<entry_id>",
    summary="Edit a draft entry (posted entries are cancelled)",
    tags=[TAG_JE],
    responses=responses(
        {200: json_body(EditedDraft, "The draft's new version")}, body=True, errors=WRITE_ERRORS, e404=E404
    ),
)
def edit_draft(entry_id: EntryId, body: DraftEditIn, if_match: IfMatch = None):
    _account(body.client_account_id)
    return json_response(200, _service().edit_draft(entry_id, body, _version(if_match)))


@router.delete(
    "/api/v2/journal-entries/<entry_id>",
    summary="Delete a draft entry",
    tags=[TAG_JE],
    responses=responses(
        {200: json_body(DeletedDraft, "Deleted")},
        errors=(*WRITE_ERRORS, 422),
        e404=E404,
        e409="The draft is no longer at the If-Match version, or the ledger is being changed by many writers",
        e422="The entry is posted (posted entries are cancelled, not deleted), or already deleted",
    ),
)
def delete_draft(entry_id: EntryId, client_account_id: ClientAccountQuery = None, if_match: IfMatch = None):
    account = _account(client_account_id)
    return json_response(200, _service().delete_draft(account.id, entry_id, _version(if_match)))


@router.post(
    "/api/v2/journal-entries/<entry_id>/cancel",
    summary="Cancel a posted entry with a reversing entry",
    tags=[TAG_JE],
    responses=responses(
        {200: json_body(CancelledEntry, "Cancelled")}, body=True, errors=WRITE_ERRORS, e404=E404
    ),
)
def cancel_entry(entry_id: EntryId, body: CancelIn):
    _account(body.client_account_id)
    return json_response(200, _service().cancel_entry(entry_id, body))


@router.post(
    "/api/v2/reconciliations",
    summary="Reconcile lines (match a payment against an invoice)",
    tags=[TAG_JE],
    responses=responses(
        {200: json_body(Reconciliation, "Reconciled")}, body=True, errors=WRITE_ERRORS, e404=E404
    ),
)
def reconcile(body: ReconcileIn):
    _account(body.client_account_id)
    return json_response(200, _service().reconcile(body))


@router.post(
    "/api/v2/reconciliations/<reference>/unreconcile",
    summary="Undo a reconciliation (its lines become open again)",
    tags=[TAG_JE],
    responses=responses(
        {200: json_body(Reconciliation, "Undone")},
        body=True,
        errors=(*WRITE_ERRORS, 422),
        e404="No such reconciliation (or client account) in the organization",
        e422="The reconciliation is already undone",
    ),
)
def unreconcile(reference: ReconciliationReference, body: UnreconcileIn):
    account = _account(body.client_account_id)
    return json_response(200, _service().unreconcile(account.id, reference))
