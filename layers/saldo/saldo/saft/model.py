"""The records the parser yields, the same for every version (1.10/1.20 differences are normalised).

Amounts are signed Decimals, debit positive: `DebitAmount 100` is `100.00`, `CreditAmount 100` is
`-100.00`; opening/closing balances likewise. Transactions and lines are NamedTuples so they spill to
disk compactly while an import streams.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple


@dataclass
class Header:
    version: str  # normalised: "1.10" | "1.20" | "1.30"
    raw_version: str
    registration_number: str
    company_name: str
    default_currency: str
    date_created: date | None = None
    software: str = ""
    selection_start: date | None = None
    selection_end: date | None = None
    period_start: tuple[int, int] | None = None  # (period, year)
    period_end: tuple[int, int] | None = None
    company: dict[str, Any] = field(default_factory=dict)  # Address/Contact/TaxRegistration/BankAccount
    header_comment: str | None = None


@dataclass
class Account:
    id: str
    description: str
    opening: Decimal
    closing: Decimal
    grouping_category: str | None = None
    grouping_code: str | None = None
    standard_account_id: str | None = None  # 1.10/1.20
    creation_date: date | None = None


@dataclass
class BalanceAccount:
    account_id: str | None
    opening: Decimal
    closing: Decimal


@dataclass
class Party:
    kind: str  # "customer" | "supplier"
    id: str
    name: str
    registration_number: str | None = None
    balances: list[BalanceAccount] = field(default_factory=list)
    addresses: list[dict[str, Any]] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)
    tax_registrations: list[dict[str, Any]] = field(default_factory=list)
    party_info: dict[str, Any] = field(default_factory=dict)


@dataclass
class TaxCodeDetail:
    code: str
    standard_code: str
    description: str | None = None
    percentage: Decimal | None = None
    flat_rate: Decimal | None = None
    country: str | None = None
    effective_date: date | None = None
    expiration_date: date | None = None
    compensation: bool | None = None
    base_rates: list[Decimal] = field(default_factory=list)


@dataclass
class AnalysisEntry:
    type: str
    type_description: str
    id: str
    id_description: str
    start_date: date | None = None
    end_date: date | None = None
    status: str | None = None


@dataclass
class Totals:
    number_of_entries: int
    total_debit: Decimal
    total_credit: Decimal


class TaxInfo(NamedTuple):
    code: str | None
    percentage: Decimal | None
    base: Decimal | None  # signed like the line: positive on a debit line
    amount: Decimal | None  # signed, debit positive


class Analysis(NamedTuple):
    type: str
    id: str
    amount: Decimal | None  # signed, when the file gives one


class Line(NamedTuple):
    record_id: str
    account_id: str
    amount: Decimal  # signed, debit positive
    description: str
    customer_id: str | None
    supplier_id: str | None
    analysis: tuple[Analysis, ...]
    taxes: tuple[TaxInfo, ...]
    currency_code: str | None
    currency_amount: Decimal | None  # signed like amount
    exchange_rate: Decimal | None
    reference_number: str | None
    cid: str | None
    due_date: date | None


class Transaction(NamedTuple):
    id: str
    date: date
    period: int | None
    period_year: int | None
    description: str
    source_id: str | None
    voucher_type: str | None
    journal_id: str | None
    lines: tuple[Line, ...]
