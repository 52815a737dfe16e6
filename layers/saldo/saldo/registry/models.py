"""The company registry's API models: Saldo's own JSON for companies and persons.

A company is written as it stands on an `effective_date` (a snapshot); the registry keeps every earlier
value with the period it was valid, so it answers "as of" any date. Shares are ranges of fractions
(`{"low": "0.25", "high": "0.3332"}`); an exact share has low = high.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from saldo.jsontypes import JsonBool
from saldo.ledger.models import Day as IsoDate  # 1900-01-01..2199-12-31, as every body date

Country = Literal["DK", "NO", "SE", "FI", "IS"]
PersonId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", description="The person's id")]
# No control characters in names and codes (they would reach PDFs, emails and terminals); a long text
# may keep its tabs and line breaks.
NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
Text = Annotated[str, Field(min_length=1, max_length=500, pattern=NO_CONTROL)]
LongText = Annotated[
    str, Field(min_length=1, max_length=4000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")
]
Fraction = Annotated[Decimal, Field(ge=0, le=1, max_digits=12, decimal_places=10)]
Money = Annotated[Decimal, Field(gt=Decimal("-1e15"), lt=Decimal("1e15"), decimal_places=2)]

RoleName = Literal["management", "board", "chair", "fully_liable_partner", "auditor", "founder"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ShareRange(_In):
    low: Fraction
    high: Fraction

    @model_validator(mode="after")
    def _ordered(self) -> ShareRange:
        if self.low > self.high:
            raise ValueError("low must not exceed high")
        return self


class PartyRef(_In):
    """A natural person (`person_id`) or a company (`country` + `registration_number`)."""

    person_id: PersonId | None = None
    country: Country | None = None
    registration_number: Annotated[str, Field(min_length=1, max_length=20, pattern=NO_CONTROL)] | None = None

    @model_validator(mode="after")
    def _one(self) -> PartyRef:
        company = self.country is not None or self.registration_number is not None
        if (self.person_id is None) == (not company):
            raise ValueError("give either person_id, or country and registration_number")
        if company and (self.country is None or self.registration_number is None):
            raise ValueError("a company is given by country and registration_number")
        return self

    def key(self) -> str:
        if self.person_id is not None:
            return f"P#{self.person_id}"
        return f"C#{self.country}#{self.registration_number}"


class Address(_In):
    street: Text | None = None
    postal_code: Annotated[str, Field(max_length=20, pattern=NO_CONTROL)] | None = None
    city: Text | None = None
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None


class IndustryCode(_In):
    code: Annotated[str, Field(min_length=1, max_length=20, pattern=NO_CONTROL)]
    text: Text | None = None
    primary: JsonBool = False


class RoleIn(_In):
    role: RoleName
    party: PartyRef
    name: Text
    title: Text | None = None


class OwnerIn(_In):
    party: PartyRef
    name: Text
    capital: ShareRange | None = None
    votes: ShareRange | None = None


class BeneficialOwnerIn(_In):
    person_id: PersonId
    name: Text
    capital: ShareRange | None = None
    votes: ShareRange | None = None
    registered_on: IsoDate | None = None


AuditorStatement = Literal[
    "unqualified", "qualified", "adverse", "disclaimer", "review", "compilation", "none"
]


class KeyFigures(_In):
    """A fiscal year's figures (from the annual report, or computed from a linked ledger)."""

    year: Annotated[int, Field(ge=1900, le=2200)]
    period_from: IsoDate | None = None
    period_to: IsoDate | None = None
    revenue: Money | None = None
    gross_profit: Money | None = None
    operating_profit: Money | None = None
    profit: Money | None = None
    equity: Money | None = None
    share_capital: Money | None = None
    total_assets: Money | None = None
    current_assets: Money | None = None
    current_liabilities: Money | None = None
    employees: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    auditor_statement: AuditorStatement | None = None
    annual_report_date: IsoDate | None = None


class CompanyIn(_In):
    """A company as it stands on `effective_date` (today when omitted)."""

    effective_date: IsoDate | None = None
    name: Text
    address: Address | None = None
    legal_form: Annotated[str, Field(min_length=1, max_length=50, pattern=NO_CONTROL)] | None = None
    status: Annotated[str, Field(min_length=1, max_length=50, pattern=NO_CONTROL)] = "normal"
    founded: IsoDate | None = None
    industry_codes: Annotated[list[IndustryCode], Field(max_length=20)] = []
    purpose: LongText | None = None
    employees: Annotated[str, Field(max_length=50, pattern=NO_CONTROL)] | None = None
    balance_day: Annotated[str, Field(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")] | None = Field(
        None, description="Fiscal year end as MM-DD, e.g. 12-31"
    )
    listed: JsonBool = False
    client_account_id: Annotated[int, Field(ge=1, le=2**53)] | None = Field(
        None, description="A client account of this organization whose ledger gives the key figures"
    )
    roles: Annotated[list[RoleIn], Field(max_length=500)] = []
    owners: Annotated[list[OwnerIn], Field(max_length=500)] = []
    registered_beneficial_owners: Annotated[list[BeneficialOwnerIn], Field(max_length=200)] = []
    key_figures: Annotated[list[KeyFigures], Field(max_length=50)] = []

    @model_validator(mode="after")
    def _real_balance_day(self) -> CompanyIn:
        if self.balance_day is not None:
            month, day = int(self.balance_day[:2]), int(self.balance_day[3:])
            if day > (29 if month == 2 else 30 if month in (4, 6, 9, 11) else 31):
                raise ValueError(f"balance_day: {self.balance_day} is not a day of the year")
        return self

    @model_validator(mode="after")
    def _unique(self) -> CompanyIn:
        for what, keys in (
            ("roles", [(r.role, r.party.key()) for r in self.roles]),
            ("owners", [o.party.key() for o in self.owners]),
            ("registered_beneficial_owners", [b.person_id for b in self.registered_beneficial_owners]),
            ("key_figures", [k.year for k in self.key_figures]),
        ):
            if len(set(keys)) != len(keys):
                raise ValueError(f"{what}: an entry appears twice")
        return self


class PersonIn(_In):
    name: Text
    birth_year: Annotated[int, Field(ge=1850, le=2200)] | None = None
    nationality: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    address: Address | None = None
    pep: JsonBool = Field(False, description="A politically exposed person")
