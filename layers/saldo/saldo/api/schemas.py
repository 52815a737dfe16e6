"""What the API answers, as pydantic models: the OpenAPI document's response schemas, and `responses()`,
which builds a route's `responses=` with the error statuses every route shares.

These models describe the JSON the routes already write (`saldo.jsonenc`); they are not used to build
it, so a field here is a promise to clients and the property-based run (tests/test_fuzz.py) holds the
server to it. Objects allow fields beyond the ones named, so a new field is not a breaking change.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from pydantic import BaseModel, ConfigDict, Field, RootModel, WithJsonSchema

from saldo.jsontypes import IsoDate  # noqa: F401 - a date in a query or path, as in a body
from saldo.ledger.models import ClientAccount

#: Amounts are JSON numbers with two decimals (never strings), Decimal-exact on the server.
Amount = Annotated[Decimal, WithJsonSchema({"type": "number", "description": "Amount, two decimals"})]
Rate = Annotated[Decimal, WithJsonSchema({"type": "number"})]

JSON = "application/json"
PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HTML = "text/html"
XML = "text/xml"
ZIP = "application/zip"

#: Marks a parameter `required` in the document although the handler accepts its absence, because the
#: seeds give that absence its own answer (a report without `client_account_id` is 403, a journal-entry
#: batch without `Idempotency-Key` is 400). saldo/api/openapi.py applies it.
REQUIRED = {"x-saldo-required": True}

RequiredClientAccountId = Annotated[
    int | None,
    Query(gt=0, description="ID of the client account (403 when missing)", json_schema_extra=REQUIRED),
]
RequiredIdempotencyKey = Annotated[
    str | None,
    Header(
        alias="idempotency-key",
        min_length=1,
        max_length=128,
        description="A key per batch, e.g. a UUID: a retry with the same key and body replays the first "
        "response instead of posting again; the same key with another body is 422, and a retry while "
        "the first request runs is 409",
        json_schema_extra=REQUIRED,
    ),
]


# ------------------------------------------------------------------ errors
class ErrorDetail(BaseModel):
    field: str = Field(description="Dotted path of the offending field, e.g. entries.0.lines.1.debit")
    message: str


class ErrorBody(BaseModel):
    """Every 4xx (and the service's own 5xx) has this shape."""

    status: int = Field(description="The HTTP status, repeated")
    error: str = Field(description="The status's reason phrase, e.g. 'Bad Request'")
    message: str = Field(description="What went wrong, for a person")
    details: list[ErrorDetail] | None = Field(None, description="One entry per invalid field, when known")


class GatewayMessage(BaseModel):
    """API Gateway's own answer, e.g. a 401 for a request without an Authorization header at all."""

    message: str


class AuthError(RootModel[ErrorBody | GatewayMessage]):
    """A 401: the service's error body, or API Gateway's when no Authorization header was sent."""


ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "Invalid query, path or header parameter (the field is named in `details`)",
    401: "Missing or unknown API key",
    403: "The key may not see this client account, or X-Organization-Id is not the key's organization",
    404: "Not found (or not visible to this key)",
    406: "None of the media types in Accept is offered; the message lists those that are",
    409: "Conflicts with the resource's state or with a concurrent request; retrying may succeed",
    413: "The request body is larger than the route's limit",
    415: "The request body's Content-Type is not one the route reads",
    422: "The request body is invalid (the fields are named in `details`)",
}


def _error(status: int, description: str | None = None) -> dict[str, Any]:
    return {
        "description": description or ERROR_DESCRIPTIONS[status],
        "content": {JSON: {"model": AuthError if status == 401 else ErrorBody}},
    }


def header(description: str, fmt: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if fmt:
        schema["format"] = fmt
    return {"description": description, "schema": schema}


LOCATION = header("Where the result is (or will be)", "uri-reference")
REPORT_PERIOD = header("The period the report covers: a date, or from/to (either side may be empty)")


def json_body(model: Any, description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description, "content": {JSON: {"model": model}}}
    if headers:
        out["headers"] = headers
    return out


def inline_schema(model: Any) -> dict[str, Any]:
    """A model's JSON schema with its `$defs` put in place: a schema declared in `openapi_extensions`
    stands alone in the document, where `#/$defs/...` would point at nothing."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return dict(resolve(schema))


def responses(
    ok: dict[int, dict[str, Any]],
    *,
    errors: tuple[int, ...] = (),
    body: bool = False,
    public: bool = False,
    **described: str,
) -> dict[int, dict[str, Any]]:
    """A route's `responses=`: its own answers (`ok`), then the errors it can give.

    Every authenticated route can answer 400 (parameters), 401 and 403; a route with a request body also
    413, 415 and 422. `errors` adds the route's own (404, 406, 409 ...); `described` overrides a
    description, e.g. `e404="No such import"`.
    """
    out = dict(ok)
    codes: set[int] = set(errors)
    if not public:
        codes |= {400, 401, 403}
    if body:
        codes |= {413, 415, 422}
    for code in sorted(codes):
        out[code] = _error(code, described.get(f"e{code}"))
    return out


class Page(BaseModel):
    records: int = Field(description="Rows matching the filters, on every page")
    per_page: int
    page: int
    pages: int


class Count(BaseModel):
    records: int


# ------------------------------------------------------------------ client accounts and master data
class ClientAccountList(BaseModel):
    data: list[ClientAccount]
    meta: Count


class Grouping(BaseModel):
    """The account's place in the standard account plan: class (1000), group (1900), sub-group (1920)."""

    level_1_code: str | None = None
    level_1_name: str | None = None
    level_2_code: str | None = None
    level_2_name: str | None = None
    level_3_code: str | None = None
    level_3_name: str | None = None


class Account(BaseModel):
    id: int | None = None
    code: str
    name: str
    grouping: Grouping | None = None
    saft_grouping_category: str | None = None
    saft_grouping_code: str | None = None
    opening_balance: Amount
    active: bool


class AccountList(BaseModel):
    data: list[Account]
    meta: Page


class TaxCode(BaseModel):
    code: str
    description: str
    rate: Rate
    standard_tax_code: str | None = None
    direction: Literal["input", "output", "none"]
    base_rate: Rate
    account_code: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None


class TaxCodeList(BaseModel):
    data: list[TaxCode]
    meta: Page


class Dimension(BaseModel):
    type: str
    id: int
    name: str
    code: str | None = None
    active: bool


class DimensionList(BaseModel):
    data: list[Dimension]
    meta: Page


class BusinessPartner(BaseModel):
    id: int
    name: str
    kind: Literal["customer", "supplier", "both"]
    registration_number: str | None = None
    country: str | None = None
    email: str | None = None
    address: str | None = None


class BusinessPartnerList(BaseModel):
    data: list[BusinessPartner]
    meta: Page


# ------------------------------------------------------------------ journal entries
class LineDimension(BaseModel):
    type: str
    id: int


class Person(BaseModel):
    id: int
    full_name: str


class PartnerRef(BaseModel):
    id: int
    name: str | None = None


class RelatedObject(BaseModel):
    id: int | None = None
    document_number: str | None = None
    document_date: date | None = None
    due_date: date | None = None
    payment_ref: str | None = None
    document_type: str | None = None
    business_partner: PartnerRef | None = None


class JournalLine(BaseModel):
    id: int = Field(description="The line's id in the client account (the general ledger's row id)")
    line_id: int = Field(description="Position of the line in its entry")
    account_id: int | None = None
    account_code: str
    description: str | None = None
    debit: Amount
    credit: Amount
    currency_code: str | None = None
    currency_amount: Amount | None = None
    exchange_rate: Rate | None = None
    tax_code: str | None = None
    tax_base_amount: Amount | None = None
    tax_amount: Amount | None = None
    relation_type: str | None = None
    relation_id: int | None = None
    dimensions: list[LineDimension]
    reconciled_amount: Amount


class JournalEntry(BaseModel):
    id: int
    version: int
    sequence_number: int
    voucher_id: int | None = None
    posting_date: date
    description: str | None = None
    is_draft: bool
    cancelled: bool
    reversal_of: int | None = None
    created_by: Person | None = None
    related_object: RelatedObject | None = None
    lines: list[JournalLine]


class PostedEntry(BaseModel):
    id: int
    sequence_number: int
    voucher_id: int | None = None
    line_ids: list[int]


class PostedEntries(BaseModel):
    client_account_id: int
    batch_id: str
    entries: list[PostedEntry]


class CancelledEntry(BaseModel):
    cancelled_entry_id: int
    reversal_entry_id: int


class EditedDraft(BaseModel):
    id: int
    version: int
    is_draft: bool


class DeletedDraft(BaseModel):
    deleted_entry_id: int


class Reconciliation(BaseModel):
    reference: str
    lines: int = Field(description="Lines matched")


# ------------------------------------------------------------------ reports
class BalanceSheetRow(BaseModel):
    grouping: Grouping
    account_code: str
    account_name: str | None = None
    balance: Amount = Field(description="Signed, debit positive: assets positive, equity and debt negative")


class BalanceSheet(RootModel[list[BalanceSheetRow]]):
    """One row per balance-sheet account; the balances sum to zero."""


class IncomeStatementRow(BaseModel):
    grouping: Grouping
    account_code: str
    account_name: str | None = None
    period_debit_movements: dict[str, Amount] = Field(
        description="Net debit movement per calendar month, keyed '1'..'12'"
    )
    relation_type: str | None = None
    relation_id: int | None = None
    relation_name: str | None = None


class IncomeStatement(RootModel[list[IncomeStatementRow]]):
    """One row per result account (and relation, with group_by_dimension)."""


class TrialBalanceRow(BaseModel):
    grouping: Grouping
    account_id: int | None = None
    account_code: str
    account_name: str | None = None
    incoming_balance: Amount
    debit: Amount
    credit: Amount
    outgoing_balance: Amount
    relation_type: str | None = None
    relation_id: int | None = None
    relation_name: str | None = None


class TrialBalance(RootModel[list[TrialBalanceRow]]):
    """One row per account (and relation); the outgoing balances sum to zero."""


class LedgerEntryRef(BaseModel):
    id: int
    sequence_number: int
    cancelled: bool
    is_draft: bool
    voucher_id: int | None = None
    description: str | None = None
    related_object: RelatedObject | None = None
    created_by: Person | None = None


class GeneralLedgerRow(BaseModel):
    id: int
    line_id: int
    posting_date: date
    account_id: int | None = None
    account_code: str
    description: str | None = None
    debit: Amount
    credit: Amount
    debit_amount: Amount = Field(description="Signed amount, debit positive")
    currency_code: str | None = None
    currency_amount: Amount | None = None
    exchange_rate: Rate | None = None
    tax_code: str | None = None
    tax_base_amount: Amount | None = None
    tax_amount: Amount | None = None
    reconciled_amount: Amount
    sequence_number: int
    relation_type: str | None = None
    relation_id: int | None = None
    dimensions: list[LineDimension]
    journal_entry: LedgerEntryRef


class GeneralLedger(BaseModel):
    meta: Page
    data: list[GeneralLedgerRow]


class AgeingBucket(BaseModel):
    bucket: str = Field(description="not_due, '1-30', ..., '91+', or opening_balance")
    amount: Amount


class Ageing(BaseModel):
    as_of: date
    basis: Literal["due_date", "document_date"]
    control_accounts: list[str]
    control_account_balance: Amount
    open_amount: Amount = Field(description="Sum of the buckets: equals the control account balance")
    aging: list[AgeingBucket]


class OpenItems(BaseModel):
    meta: Page
    data: list[GeneralLedgerRow]
    summary: Ageing | None = Field(None, description="With `aging`: the open amounts by age")


class VatTaxCode(BaseModel):
    code: str
    description: str | None = None
    tax_rate: Rate
    category: str
    standard_tax_code: str | None = None


class VatRow(BaseModel):
    tax_code: VatTaxCode
    base_debit_amount: Amount
    base_credit_amount: Amount
    tax_debit_amount: Amount
    tax_credit_amount: Amount
    posted_tax_debit_amount: Amount
    posted_tax_credit_amount: Amount
    reconciliation_debit_amount: Amount
    reconciliation_credit_amount: Amount
    reportable_tax_amount: Amount
    reportable_acquisition_tax_amount: Amount
    discrepancy_note: str | None = None


class VatTotals(BaseModel):
    reportable_tax_amount: Amount
    reportable_acquisition_tax_amount: Amount
    vat_payable: Amount


class VatAccountReconciliation(BaseModel):
    account_code: str
    account_name: str | None = None
    tax_codes: list[str]
    posted_on_account: Amount
    tax_amount_of_codes: Amount
    acquisition_tax: Amount
    difference: Amount
    note: str | None = None


class Period(BaseModel):
    date_from: date
    date_to: date


class VatReport(BaseModel):
    period: Period
    rows: list[VatRow]
    totals: VatTotals
    reconciliation: list[VatAccountReconciliation]


class DocumentRedirect(BaseModel):
    """303: the document is too large to answer inline; `Location` (and `location`) is where it is."""

    location: str = Field(description="Presigned download URL, valid for five minutes")
    size: int = Field(description="Size of the document in bytes")


JobStatus = Literal["QUEUED", "RUNNING", "SUCCEEDED", "FAILED"]


class ReportJobQueued(BaseModel):
    job_id: str
    status: JobStatus
    status_url: str
    estimated_rows: int
    message: str


class ReportJob(BaseModel):
    job_id: str
    status: JobStatus
    report: str
    format: str
    client_account_id: int
    estimated_rows: int | None = None
    progress: int | None = None
    created_at: str | None = None
    updated_at: str | None = None
    download_url: str | None = Field(None, description="When SUCCEEDED: presigned, five minutes")
    filename: str | None = None
    content_type: str | None = None
    size: int | None = None
    pages: int | None = None
    errors: list[str] | None = None


# ------------------------------------------------------------------ SAF-T
ImportStatus = Literal["AWAITING_UPLOAD", "QUEUED", "RUNNING", "SUCCEEDED", "FAILED"]


class ImportIssue(BaseModel):
    code: str | None = None
    message: str


class ImportBase(BaseModel):
    id: str
    status: ImportStatus
    progress: int = Field(description="Percent done")
    phase: str | None = None
    client_account_id: int | None = None
    created_client_account: bool
    validate_only: bool
    allow_overlap: bool
    files: list[str]
    created_at: str | None = None
    updated_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    counts: dict[str, Any]
    summary: dict[str, Any]
    links: dict[str, str]


class Import(ImportBase):
    warnings: list[dict[str, Any]] = Field(description="Accounting discrepancies, with their amounts")
    errors: list[dict[str, Any]] = Field(description="Why the import failed")


class UploadUrl(BaseModel):
    file_name: str
    method: Literal["PUT"]
    url: str
    expires_in: int = Field(description="Seconds")


class ImportAwaitingUpload(Import):
    uploads: list[UploadUrl] = Field(description="PUT each file to its URL, then POST the `start` link")


class ImportSummary(ImportBase):
    warning_count: int
    error_count: int


class ImportList(BaseModel):
    data: list[ImportSummary]
    meta: Count


class ExportQueued(BaseModel):
    status: Literal[202]
    message: str
    export_id: str
    links: dict[str, str]


class ExportRedirect(BaseModel):
    status: Literal[303]
    message: str
    url: str
    expires_in: int
    file_name: str


class Export(BaseModel):
    id: str
    status: JobStatus
    client_account_id: int | None = None
    date_from: str | None = None
    date_to: str | None = None
    created_at: str | None = None
    finished_at: str | None = None
    url: str | None = Field(None, description="When SUCCEEDED: a fresh presigned download link")
    expires_in: int | None = None
    errors: list[dict[str, Any]] | None = None


# ------------------------------------------------------------------ documents
BINARY = {"schema": {"type": "string", "format": "binary"}}
DOCUMENT_HEADERS = {
    "X-Report-Period": REPORT_PERIOD,
    "Content-Disposition": header("For documents: attachment with the file name"),
}


def report_responses(model: Any, *, queued: bool = False) -> dict[int, dict[str, Any]]:
    """A report route: JSON or a document by `Accept`, 303 to a download when too large, and (ledger
    reports) 202 when the document is queued."""
    ok: dict[int, dict[str, Any]] = {
        200: {
            "description": "The report: JSON, or the document the Accept header asks for",
            "headers": DOCUMENT_HEADERS,
            "content": {
                JSON: {"model": model},
                PDF: BINARY,
                XLSX: BINARY,
                HTML: {"schema": {"type": "string"}},
            },
        },
        303: json_body(
            DocumentRedirect,
            "The document is over 5 MB: download it from Location (presigned, five minutes)",
            {"Location": LOCATION, "X-Report-Period": REPORT_PERIOD},
        ),
    }
    if queued:
        ok[202] = json_body(
            ReportJobQueued,
            "The document is large (or `Prefer: respond-async` was sent): it is being prepared; "
            "poll Location",
            {"Location": LOCATION, "X-Report-Period": REPORT_PERIOD},
        )
    return responses(ok, errors=(406,))


# ------------------------------------------------------------------ company registry
# The registry's documents are described at their top level; their records are objects whose fields
# follow the source registers (docs/REGISTRY.md).
class Company(BaseModel):
    """A company as of a date: master data, roles, owners, registered beneficial owners, key figures."""

    country: str
    registration_number: str
    name: str | None = None


class CompanyList(BaseModel):
    data: list[dict[str, Any]]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page")


class CompanyHistory(BaseModel):
    data: list[dict[str, Any]] = Field(description="Dated changes, newest first")


class CompanyImport(BaseModel):
    imported: int
    companies: list[dict[str, Any]]


class Ownership(BaseModel):
    country: str
    registration_number: str
    name: str | None = None
    as_of: date
    computed_beneficial_owners: list[dict[str, Any]]
    registered_beneficial_owners: list[dict[str, Any]]
    differences: list[dict[str, Any]]
    exempt_reason: str | None = None
    cycles: list[list[str]]
    missing_owners: list[dict[str, Any]]
    complete: bool


class RegistryPerson(BaseModel):
    id: str
    name: str | None = None
    companies: list[dict[str, Any]] | None = Field(
        None, description="Their roles, holdings and registrations (when read, not when recorded)"
    )


# ------------------------------------------------------------------ batch reports (the Lasso API)
class BatchItemRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    cvr: int | str = Field(description="The company's CVR number (its check digit is checked)")
    format: str | None = Field(None, description="Overrides the batch's format for this item")
    internalCustomerId: int | None = Field(None, description="An integer put first in the file name")


class BatchAuthConfig(BaseModel):
    model_config = ConfigDict(extra="allow")

    Method: Literal["Header", "BasicAuth"]
    Key: str = Field(description="Header name (Header) or user name (BasicAuth)")
    Value: str = Field(description="Header value or password; never shown again")


class BatchRequest(BaseModel):
    """Field names in any case (the seed writes `IsListener` beside `batchName`)."""

    model_config = ConfigDict(extra="allow")

    batchName: str
    type: str | int = Field(description="Revision (0), Finans (1), ReelleEjere (2), RevisionUdvidet (3)")
    format: str = Field(description="File name format: {name}, {balanceday}, {cvr}, {type}, {rundate}")
    items: list[BatchItemRequest] = Field(description="1 to 10,000 companies")
    scheduledTime: str | None = Field(None, description="UTC, `YYYY-MM-DD HH:MM:SS` or ISO 8601; future")
    notificationEmail: str | None = None
    notificationWebhookUrl: str | None = Field(None, description="https; public addresses only")
    authConfig: BatchAuthConfig | None = None
    errorAppend: str | None = Field(None, description="Appended to a failed report's file name")
    IsListener: bool | None = Field(None, description="Regenerate on company changes (ReelleEjere only)")
    TriggerNow: bool | None = Field(None, description="Also run a listener batch at once")


class BatchAuthShown(BaseModel):
    Method: str
    Key: str


class Batch(BaseModel):
    id: str
    batchName: str
    name: str
    type: str
    printType: int
    format: str
    status: Literal[
        "Scheduled",
        "Initializing",
        "Executing",
        "Finished",
        "FinishedWithWarning",
        "FinishedWithErrors",
        "Listening",
        "ListeningStopped",
    ]
    batchSize: int = Field(description="Reports in the batch (a listener's grows with each change)")
    companies: int = Field(description="Companies the batch was created with")
    completionPercentage: float = Field(description="0 to 1")
    completed: int
    warnings: int
    failed: int
    scheduledTime: str | None
    notificationEmail: str | None
    notificationWebhookUrl: str | None
    authConfig: BatchAuthShown | None
    webhookDisabledAt: str | None = Field(
        None, description="When the webhook was disabled for this batch (its calls kept failing for 24 h)"
    )
    webhookDisabledReason: str | None = None
    errorAppend: str
    isListener: bool
    triggerNow: bool
    timestamp: str
    createdAt: str
    startedAt: str | None
    finishedAt: str | None


class BatchList(BaseModel):
    continuationToken: str | None = Field(description="Pass as cToken for the next page; null at the end")
    results: list[Batch]


class BatchItemWebhook(BaseModel):
    attempts: int = Field(description="Calls made so far (1 to 6)")
    lastStatus: int | None = Field(description="The receiver's HTTP status at the last call; null: no answer")
    lastReason: str | None = Field(description="What the last call came to")
    deliveredAt: str | None = Field(description="When a call succeeded (2xx)")
    nextAttempt: int | None = Field(description="The number of the attempt scheduled next, if any")
    nextAttemptAt: str | None = Field(description="When that attempt is scheduled (ISO 8601, UTC)")


class BatchItem(BaseModel):
    id: str
    batchId: str
    cvr: str
    name: str = Field(description="The report's file name, without .pdf")
    format: str
    internalCustomerId: int | None
    createdOn: str
    status: Literal["Completed", "Warning", "Failed"]
    statusCode: int = Field(description="Completed 0, Warning 1, Failed 2")
    missing: list[str] = Field(description="A Warning item's missing data")
    reason: str | None = Field(description="Why a Failed item failed")
    printType: int
    pdfurl: str | None = Field(description="Works without a key for 30 days; null for a failed item")
    webhook: BatchItemWebhook | None = Field(None, description="The item's webhook call; null before any")


class BatchItemList(BaseModel):
    continuationToken: str | None
    results: list[BatchItem]


class BatchZip(BaseModel):
    """The zip of a batch's finished reports: being written (202) or ready (303, `url`)."""

    batchId: str
    status: JobStatus
    progress: int = Field(description="0 to 100")
    itemsIncluded: int = Field(description="Reports in the zip (Completed and Warning; Failed have no PDF)")
    batchSize: int
    batchStatus: str
    complete: bool = Field(description="The batch has finished and every finished report is in the zip")
    fileName: str
    message: str
    note: str | None = Field(None, description="The batch is still running: the zip holds what had finished")
    previousAttemptErrors: list[str] | None = None
    size: int | None = Field(None, description="Bytes, once written")
    url: str | None = Field(None, description="Presigned, five minutes (also Location)")
    expiresIn: int | None = None


class WebhookTestRequest(BaseModel):
    """Field names in any case, as in a batch."""

    model_config = ConfigDict(extra="allow")

    url: str = Field(description="The webhook URL to call (https; public addresses only)")
    authConfig: BatchAuthConfig | None = None
    lassoId: str | None = Field(None, description="Put in the call's query, e.g. CVR-1-34580820")
    batchId: str | None = Field(None, description="Put in the call's query")
    reportType: str | None = Field(None, description="Put in the call's query: Revision, Finans, ...")


class WebhookTestResult(BaseModel):
    url: str
    status: int | None = Field(description="The receiver's HTTP status; null when it did not answer")
    ok: bool = Field(description="True for a 2xx answer (redirects are not followed)")
    reason: str = Field(description="What happened, e.g. `HTTP 200` or `No answer within 10 s`")
    elapsedMs: int
