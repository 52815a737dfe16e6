"""Ledger models at the API boundary (pydantic v2). Money is Decimal with at most two decimals."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from saldo.errors import Unprocessable
from saldo.jsontypes import IsoDate, JsonBool
from saldo.ledger import regno

DIMENSION_TYPES = ("businesspartner", "bankacc", "project", "department", "asset", "tag", "item")
DimensionType = Literal["businesspartner", "bankacc", "project", "department", "asset", "tag", "item"]
Country = Literal["NO", "DK", "SE", "FI", "IS"]

#: Largest amount a single value may have: |amount| < 10^15, i.e. DECIMAL(17,2). Amounts are stored as
#: DECIMAL(18,2) and summed as DECIMAL(38,2), so any number of lines at this bound still sums exactly in
#: every report (docs/LEDGER.md, "Bounds").
AMOUNT_LIMIT = Decimal(10**15)
MAX_AMOUNT = AMOUNT_LIMIT - Decimal("0.01")


def _two_decimals(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite number")
    if value.as_tuple().exponent < -2 and value != value.quantize(Decimal("0.01")):  # type: ignore[operator]
        raise ValueError("at most two decimals (øre)")
    return value.quantize(Decimal("0.01"))


#: An amount as text: plain ASCII digits, an optional minus and at most two decimals. Python's Decimal
#: also reads other scripts' digits, `1_000` and `1e3`, none of which an accounting file means as money.
AMOUNT_TEXT = re.compile(r"-?[0-9]+(\.[0-9]{1,2})?")


def _plain_amount(value: object) -> object:
    if isinstance(value, str) and not AMOUNT_TEXT.fullmatch(value.strip(" ")):
        raise ValueError(
            "must be a plain decimal amount such as 1250.00 (ASCII digits, at most two decimals)"
        )
    return value


Money = Annotated[
    Decimal,
    # Exclusive bounds: 10^15 is exact in the OpenAPI document, 999999999999999.99 is not (as a float).
    Field(
        gt=-AMOUNT_LIMIT, lt=AMOUNT_LIMIT, description="Amount with at most two decimals; |amount| < 10^15"
    ),
    BeforeValidator(_plain_amount),  # after Field: runs first and keeps the bounds in the schema
    AfterValidator(_two_decimals),
]
RATE_LIMIT = Decimal(10**9)
#: Dates the books accept: fiscal years are computed around them, so year 1 or 9999 cannot be.
MIN_DATE, MAX_DATE = date(1900, 1, 1), date(2199, 12, 31)
Day = Annotated[IsoDate, Field(ge=MIN_DATE, le=MAX_DATE, description="YYYY-MM-DD, 1900-01-01..2199-12-31")]
Rate = Annotated[Decimal, Field(ge=0, le=1000, max_digits=12, decimal_places=6)]
Code = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9._-]+$")]
Name = Annotated[str, Field(min_length=1, max_length=256)]

# C0 controls (tab and newline included), lone surrogates and the non-characters U+FFFE/U+FFFF: no XML
# document (SAF-T, the workbook's properties) can hold them, and a name is one line.
_NOT_IN_NAMES = re.compile("[\x00-\x1f\ud800-\udfff\ufffe\uffff]")


def _printable_name(value: str) -> str:
    if _NOT_IN_NAMES.search(value):
        raise ValueError("must not contain control characters or the non-characters U+FFFE/U+FFFF")
    return value


#: A client account's name: what `Name` allows, without characters no report could show.
AccountName = Annotated[Name, AfterValidator(_printable_name)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# ------------------------------------------------------------------ client accounts
class ClientAccountIn(Strict):
    name: AccountName
    registration_number: str = Field(
        max_length=regno.MAX_INPUT_LENGTH,
        description="Registration number with its national check digit: NO organisasjonsnummer (9 digits), "
        "DK CVR (8), SE organisationsnummer (10), FI Y-tunnus (NNNNNNN-C), IS kennitala (10)",
    )
    country: Country = "NO"
    currency: str = Field("NOK", pattern=r"^[A-Z]{3}$")
    fiscal_year_start_month: int = Field(1, ge=1, le=12)
    vat_registered: JsonBool = True
    locked_until: Day | None = Field(None, description="Postings dated on or before this day are refused")

    @model_validator(mode="after")
    def _check_regno(self) -> ClientAccountIn:
        self.registration_number = regno.validate(self.registration_number, self.country)
        return self


#: Fields every client account has; a PATCH may change them but never remove them (null).
REQUIRED_ACCOUNT_FIELDS = ("name", "fiscal_year_start_month", "vat_registered")


class ClientAccountPatch(Strict):
    name: AccountName | None = None
    fiscal_year_start_month: int | None = Field(None, ge=1, le=12)
    vat_registered: JsonBool | None = None
    locked_until: Day | None = Field(None, description="null removes the lock")

    @field_validator(*REQUIRED_ACCOUNT_FIELDS, mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Runs only for fields the caller sent: omitting a field keeps it, null would remove it.
        if value is None:
            raise ValueError("is required and cannot be null; omit it to keep the current value")
        return value


class ClientAccountRecord(Strict):
    """A whole client account as stored: what a PATCH merged into the current record must satisfy."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    name: Name
    registration_number: str = Field(min_length=1)
    country: str = Field(min_length=2, max_length=2)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    fiscal_year_start_month: int = Field(ge=1, le=12)
    vat_registered: bool
    locked_until: date | None = None


def check_patched_account(current: dict[str, Any], changes: dict[str, Any]) -> None:
    """422 naming each field unless the stored record with `changes` applied is a whole client account.

    A stored record that lost a required field before this check existed is repaired by a PATCH that
    sends the field.
    """
    try:
        ClientAccountRecord.model_validate({**current, **changes})
    except ValidationError as exc:
        details = [
            {"field": ".".join(map(str, e["loc"])), "message": e["msg"]}
            for e in exc.errors(include_url=False)
        ]
        first = details[0]
        raise Unprocessable(
            f"Invalid value for '{first['field']}': {first['message']}", details=details
        ) from None


class ClientAccount(BaseModel):
    id: int
    name: str
    registration_number: str
    country: str
    currency: str
    fiscal_year_start_month: int
    vat_registered: bool
    locked_until: date | None = None
    created_at: str


# ------------------------------------------------------------------ master data
class GroupingIn(Strict):
    level_1_code: str | None = None
    level_1_name: str | None = None
    level_2_code: str | None = None
    level_2_name: str | None = None
    level_3_code: str | None = None
    level_3_name: str | None = None


class AccountIn(Strict):
    code: Code
    name: Name
    grouping: GroupingIn | None = Field(
        None, description="Level 1-3 codes and names; derived from the code if omitted"
    )
    saft_grouping_category: str | None = Field(None, max_length=40, description="SAF-T 1.30 GroupingCategory")
    saft_grouping_code: str | None = Field(None, max_length=40, description="SAF-T 1.30 GroupingCode")
    opening_balance: Money = Field(Decimal("0.00"), description="Signed opening balance, debit positive")
    active: JsonBool = True


class TaxCodeIn(Strict):
    code: Code
    description: Name
    rate: Rate = Field(description="Percentage, e.g. 25 for 25 %")
    standard_tax_code: str | None = Field(None, max_length=10, description="SAF-T StandardTaxCode")
    direction: Literal["input", "output", "none"]
    base_rate: Rate = Field(Decimal(100), description="Share of the base the rate applies to, in percent")
    account_code: str | None = Field(None, description="Account the VAT amount is posted to")
    valid_from: Day | None = None
    valid_to: Day | None = None

    @model_validator(mode="after")
    def _period(self) -> TaxCodeIn:
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self


class DimensionIn(Strict):
    type: DimensionType
    id: int = Field(gt=0)
    name: Name
    code: str | None = Field(None, max_length=40)
    active: JsonBool = True


class BusinessPartnerIn(Strict):
    id: int = Field(gt=0)
    name: Name
    kind: Literal["customer", "supplier", "both"]
    registration_number: str | None = Field(None, max_length=20)
    country: str | None = Field(None, pattern=r"^[A-Z]{2}$")
    email: str | None = Field(None, max_length=256)
    address: str | None = Field(None, max_length=512)


# ------------------------------------------------------------------ journal entries
class DimensionRef(Strict):
    type: DimensionType
    id: int = Field(gt=0)


class RelatedObjectIn(Strict):
    id: int | None = Field(None, gt=0)
    document_number: str | None = Field(None, max_length=64)
    document_date: Day | None = None
    due_date: Day | None = None
    payment_ref: str | None = Field(None, max_length=64)
    document_type: str | None = Field(None, max_length=40, pattern=r"^[A-Z_]+$")
    business_partner_id: int | None = Field(None, gt=0)


class CreatedByIn(Strict):
    id: int = Field(gt=0)
    full_name: Name


class JournalLineIn(Strict):
    account_code: Code
    description: str | None = Field(None, max_length=512)
    debit: Money = Decimal("0.00")
    credit: Money = Decimal("0.00")
    currency_code: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    currency_amount: Money | None = Field(
        None, description="Amount in currency_code (signed, debit positive)"
    )
    # Below 10^9: currency_amount x exchange_rate then stays within Decimal's 28 digits at øre precision.
    exchange_rate: Decimal | None = Field(None, gt=0, lt=RATE_LIMIT, max_digits=15, decimal_places=6)
    tax_code: str | None = Field(None, max_length=20)
    tax_base_amount: Money | None = None
    tax_amount: Money | None = None
    relation_type: DimensionType | None = None
    relation_id: int | None = Field(None, gt=0)
    dimensions: list[DimensionRef] = Field(default_factory=list, max_length=16)

    @model_validator(mode="after")
    def _one_side(self) -> JournalLineIn:
        if self.debit < 0 or self.credit < 0:
            raise ValueError(
                "debit and credit are non-negative; use the other side instead of a negative amount"
            )
        if self.debit and self.credit:
            raise ValueError("a line is either debit or credit, not both")
        if (self.relation_type is None) != (self.relation_id is None):
            raise ValueError("relation_type and relation_id go together")
        return self


#: Largest `sequence_number` a client may give (docs/LEDGER.md, "Bounds").
MAX_SEQUENCE = 10**12


class JournalEntryIn(Strict):
    posting_date: Day
    description: str | None = Field(None, max_length=512)
    voucher_id: int | None = Field(None, gt=0)
    # Bounded so that the next number (this one + 1) always fits the store's BIGINT.
    sequence_number: int | None = Field(
        None, ge=1, le=MAX_SEQUENCE, description="1..10^12; assigned in order when omitted"
    )
    is_draft: JsonBool = False
    created_by: CreatedByIn | None = None
    related_object: RelatedObjectIn | None = None
    lines: list[JournalLineIn] = Field(min_length=2, max_length=10_000)


class JournalEntriesIn(Strict):
    client_account_id: int = Field(gt=0)
    entries: list[JournalEntryIn] = Field(min_length=1, max_length=5_000)


class CancelIn(Strict):
    client_account_id: int = Field(gt=0)
    cancel_date: Day | None = Field(
        None, description="Date of the reversing entry; the original's by default"
    )
    reason: str | None = Field(None, max_length=512)


class ReconcileLineIn(Strict):
    line_id: int = Field(gt=0, description="The general-ledger row id of the line")
    amount: Money = Field(description="Amount of the line matched (positive)")

    @field_validator("amount")
    @classmethod
    def _positive(cls, v: Decimal) -> Decimal:
        if v <= 0:
            raise ValueError("must be positive")
        return v


REFERENCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class ReconcileIn(Strict):
    client_account_id: int = Field(gt=0)
    lines: list[ReconcileLineIn] = Field(min_length=2, max_length=1000)
    # A reference is a path segment of the unreconcile route: nothing that a URL would split or escape.
    reference: str | None = Field(None, pattern=REFERENCE_PATTERN)
    reconciled_on: IsoDate | None = Field(
        None,
        alias="date",
        description="Day from which the reconciliation counts in reports (inclusive); not before the "
        "latest posting date of its lines, which is the default",
    )


class DraftEditIn(Strict):
    client_account_id: int = Field(gt=0)
    entry: JournalEntryIn
