"""Deterministic demo bookkeeping: one realistic year of a Norwegian small company.

`generate(lines, year, seed)` returns the client account, its master data and the year's journal entries
as the ledger's pydantic models. The same seed gives the same output on every run (one `random.Random`,
no clock). About `lines` journal lines (±1 %), 20,000 by default; 1,000,000 for benchmarks.

The company, Fjordlys Opplevelser AS, runs guided tours and accommodation (12 % VAT), a café (15 % on
take-away food, 25 % on serving) and a shop with equipment rental (25 %, books at 0 %), and holds safety
courses outside the VAT Act. The year has:

* opening balances: last year's closing balance sheet (fixed assets, stock, receivables, bank, tax
  deduction account, equity, bank loan, payables, tax, withholding, VAT, employer's contribution, holiday
  pay), summing to zero; last year's open receivables and payables are paid in January and February;
* sales invoices to customers (1500 with the customer, revenue on 3000/3020/3030/3100/3200 by tax code,
  output VAT on 2700), a few credit notes, and daily card settlements from the till;
* supplier invoices (2400 with the supplier, costs in 4xxx/6xxx/7xxx, input VAT on 2710), including EUR
  invoices from abroad with reverse-charge VAT (codes 81 and 86) and exchange differences on payment;
* customer receipts and supplier payments through the bank (1920, `bankacc` 1); most invoices are paid,
  some are paid late or in part, and those due after the year end are still open;
* monthly payroll (5000 per employee and department, 2600 withholding moved to the tax deduction account
  1950, employer's contribution 5400/2770, holiday pay 5180/2940 with its contribution 5405/2780),
  bi-monthly payments of withholding and employer's contribution, holiday pay paid out in June;
* bi-monthly VAT settlement (2700 and 2710 to 2740) and payment of the previous term, bank fees and card
  fees, loan instalments and interest, interest income, depreciation, prepaid insurance, income tax.

Money is computed in integer øre and becomes `Decimal` with two decimals. VAT on a line is the line's
base × rate rounded half up to the øre; a VAT line carries the sum of the tax amounts of its code, so the
VAT accounts reconcile with the tax amounts exactly. `tax_base_amount` and `tax_amount` are signed like the
line they sit on (debit positive): a sale has a negative base and tax, a purchase a positive one. A
reverse-charge purchase (81/86) puts the VAT both on 2710 (debit) and on 2700 (credit).

For large volumes `DemoPlan.storage_rows()` yields the storage rows `saldo.ledger.posting.entry_rows`
would make, without building a pydantic model per entry; `python -m saldo_tools.demodata` writes them as
Parquet segments with the master data, or as a ledger-cli/hledger journal.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import gc
import itertools
import json
import random
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from saldo.ledger import regno
from saldo.ledger.models import (
    AccountIn,
    BusinessPartnerIn,
    ClientAccountIn,
    DimensionIn,
    JournalEntryIn,
    TaxCodeIn,
)

DEFAULT_LINES = 20_000
MIN_LINES = 1_000
COMPANY_NAME = "Fjordlys Opplevelser AS"
COMPANY_REGNO = "914826373"

# ------------------------------------------------------------------ chart of accounts
# (code, name); the opening balance of each is computed by the builder.
ACCOUNTS: tuple[tuple[str, str], ...] = (
    ("1230", "Båter og kjøretøy"),
    ("1250", "Inventar og utstyr"),
    ("1460", "Varelager butikk og kafé"),
    ("1500", "Kundefordringer"),
    ("1700", "Forskuddsbetalt forsikring"),
    ("1920", "Bankinnskudd driftskonto"),
    ("1950", "Bankinnskudd skattetrekk"),
    ("2000", "Aksjekapital"),
    ("2050", "Annen egenkapital"),
    ("2220", "Banklån"),
    ("2400", "Leverandørgjeld"),
    ("2500", "Betalbar skatt"),
    ("2600", "Forskuddstrekk"),
    ("2700", "Utgående merverdiavgift"),
    ("2710", "Inngående merverdiavgift"),
    ("2740", "Oppgjørskonto merverdiavgift"),
    ("2770", "Skyldig arbeidsgiveravgift"),
    ("2780", "Påløpt arbeidsgiveravgift på feriepenger"),
    ("2940", "Skyldige feriepenger"),
    ("3000", "Salg, høy sats"),
    ("3020", "Salg, middels sats"),
    ("3030", "Salg, lav sats"),
    ("3100", "Salg, fritatt for merverdiavgift"),
    ("3200", "Kursinntekter utenfor merverdiavgiftsloven"),
    ("4000", "Råvarer kafé"),
    ("4300", "Varer for videresalg"),
    ("4500", "Innleid transport"),
    ("4520", "Innkjøpt overnatting"),
    ("5000", "Lønn til ansatte"),
    ("5180", "Feriepenger"),
    ("5400", "Arbeidsgiveravgift"),
    ("5405", "Arbeidsgiveravgift på feriepenger"),
    ("6010", "Avskrivning båter og kjøretøy"),
    ("6020", "Avskrivning inventar og utstyr"),
    ("6200", "Elektrisitet"),
    ("6300", "Husleie"),
    ("6400", "Leie av kjøretøy"),
    ("6540", "Småanskaffelser utstyr"),
    ("6600", "Vedlikehold båter og utstyr"),
    ("6700", "Regnskapshonorar"),
    ("6800", "Kontorrekvisita"),
    ("6820", "Programvare og skytjenester"),
    ("6900", "Telefon og internett"),
    ("7000", "Drivstoff"),
    ("7140", "Reisekostnader"),
    ("7200", "Provisjon bookingplattform"),
    ("7320", "Markedsføring"),
    ("7500", "Forsikringer"),
    ("7770", "Bank- og kortgebyrer"),
    ("8050", "Renteinntekter bank"),
    ("8060", "Valutagevinst"),
    ("8150", "Rentekostnader"),
    ("8160", "Valutatap"),
)

# (code, description, rate %, direction, VAT account)
TAX_CODES: tuple[tuple[str, str, int, str, str | None], ...] = (
    ("0", "Ingen merverdiavgiftsbehandling (kjøp)", 0, "none", None),
    ("1", "Fradrag for inngående mva, høy sats", 25, "input", "2710"),
    ("11", "Fradrag for inngående mva, middels sats", 15, "input", "2710"),
    ("13", "Fradrag for inngående mva, lav sats", 12, "input", "2710"),
    ("3", "Utgående mva, høy sats", 25, "output", "2700"),
    ("31", "Utgående mva, middels sats", 15, "output", "2700"),
    ("33", "Utgående mva, lav sats", 12, "output", "2700"),
    ("5", "Innenlands omsetning fritatt for mva (nullsats)", 0, "output", None),
    ("6", "Omsetning utenfor merverdiavgiftsloven", 0, "output", None),
    ("7", "Ingen merverdiavgiftsbehandling (inntekter)", 0, "none", None),
    ("81", "Innførsel av varer med fradrag, høy sats (beregnet og fradragsført)", 25, "input", "2710"),
    (
        "86",
        "Tjenester kjøpt fra utlandet med fradrag, høy sats (beregnet og fradragsført)",
        25,
        "input",
        "2710",
    ),
)
TAX_RATE = {code: rate for code, _, rate, _, _ in TAX_CODES}
OUTPUT_VAT_CODES = ("3", "31", "33")
INPUT_VAT_CODES = ("1", "11", "13")
REVERSE_CHARGE_CODES = ("81", "86")
VAT_OUT, VAT_IN, VAT_SETTLEMENT = "2700", "2710", "2740"
RECEIVABLES, PAYABLES, BANK, TAX_BANK = "1500", "2400", "1920", "1950"

DEPARTMENTS = (
    (1, "10", "Turer og overnatting"),
    (2, "20", "Kafé"),
    (3, "30", "Butikk og utleie"),
    (9, "90", "Administrasjon"),
)
TOURS, CAFE, SHOP, ADMIN = 1, 2, 3, 9
PROJECTS = (
    "Sommersesong",
    "Nordlyssesong",
    "Skoleturer",
    "Cruiseanløp",
    "Konferanser",
    "Bedriftsarrangement",
    "Nettbutikk",
)
BANK_ACCOUNTS = ((1, "1920", "Driftskonto"), (2, "1950", "Skattetrekkskonto"))
USERS = ((1, "Kari Nordmann"), (2, "Lars Eriksen"), (3, "Bankintegrasjon"), (4, "Ingrid Berg"))
INVOICING, BOOKKEEPER, BANKFEED, PAYROLL = 0, 1, 2, 3

# fmt: off
MONTHS = (
    "januar", "februar", "mars", "april", "mai", "juni", "juli", "august", "september", "oktober",
    "november", "desember",
)
# fmt: on
SEASON = (0.75, 0.95, 0.85, 0.6, 0.75, 1.3, 1.65, 1.35, 0.9, 0.6, 0.6, 0.95)  # by month
VAT_TERMS = ((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12))

# Products on sales invoices: (text, account, tax code, department, unit price range NOK, quantity range)
PRODUCTS: tuple[tuple[str, str, str, int, tuple[int, int], tuple[int, int]], ...] = (
    ("Guidet fjordtur", "3030", "33", TOURS, (450, 1250), (2, 24)),
    ("Nordlyssafari", "3030", "33", TOURS, (1100, 1900), (2, 14)),
    ("Overnatting rorbu", "3030", "33", TOURS, (1200, 2600), (1, 10)),
    ("Lunsjpakke", "3020", "31", CAFE, (129, 249), (5, 40)),
    ("Catering levert", "3020", "31", CAFE, (2500, 18000), (1, 1)),
    ("Møteservering", "3000", "3", CAFE, (300, 650), (5, 25)),
    ("Utleie av utstyr", "3000", "3", SHOP, (250, 1500), (1, 10)),
    ("Konferansepakke", "3000", "3", TOURS, (5000, 30000), (1, 1)),
    ("Turbøker og kart", "3100", "5", SHOP, (199, 499), (1, 30)),
    ("Sikkerhetskurs", "3200", "6", TOURS, (1500, 3500), (1, 8)),
)
PRODUCT_WEIGHTS = (16, 8, 9, 10, 5, 7, 9, 4, 3, 4)
PRODUCT_CUM = tuple(itertools.accumulate(PRODUCT_WEIGHTS))

# Supplier categories: (key, weight, names, account, tax code, department, amount range NOK, project share)
SUPPLIER_KINDS: tuple[tuple[str, int, tuple[str, ...], str, str, int, tuple[int, int], float], ...] = (
    ("goods", 14, ("Engros AS", "Sport AS", "Friluft AS"), "4300", "1", SHOP, (1500, 22000), 0.2),
    ("food", 16, ("Bakeri AS", "Matsentral AS", "Fiskemottak AS"), "4000", "11", CAFE, (1200, 14000), 0.1),
    ("transport", 9, ("Busser AS", "Båtruter AS", "Transport AS"), "4500", "13", TOURS, (4000, 45000), 0.7),
    ("hotel", 6, ("Hotell AS", "Gjestehus AS", "Rorbuer AS"), "4520", "13", TOURS, (3000, 30000), 0.7),
    ("fuel", 9, ("Drivstoff AS", "Bunkers AS"), "7000", "1", TOURS, (2000, 12000), 0.3),
    ("maintenance", 7, ("Båtservice AS", "Mekaniske AS", "Marin AS"), "6600", "1", TOURS, (2000, 20000), 0.2),
    ("office", 6, ("Kontor AS", "Papir AS"), "6800", "1", ADMIN, (200, 4000), 0.0),
    ("marketing", 5, ("Reklame AS", "Trykkeri AS", "Media AS"), "7320", "1", ADMIN, (1500, 15000), 0.6),
    ("tools", 5, ("Utstyr AS", "Jernvare AS"), "6540", "1", SHOP, (500, 12000), 0.1),
    ("travel", 4, ("Reisebyrå AS", "Taxi AS"), "7140", "13", ADMIN, (800, 8000), 0.3),
)
SUPPLIER_CUM = tuple(itertools.accumulate(k[1] for k in SUPPLIER_KINDS))
CUSTOMER_KINDS = (
    "Reiser AS",
    "Hotell AS",
    "Reisebyrå AS",
    "Skole",
    "Konferanse AS",
    "Eiendom AS",
    "Bedriftsidrettslag",
    "Camping AS",
    "Turistinformasjon AS",
    "Kompetanse AS",
    "Bygg AS",
    "Rådgivning AS",
)
# fmt: off
NAME_START = (
    "Fjell", "Fjord", "Nord", "Vest", "Sol", "Havn", "Bre", "Elve", "Skog", "Vik", "Lys", "Stein",
    "Berg", "Strand", "Øy", "Dal", "Lofot", "Tind", "Myr", "Aure", "Hav", "Sjø", "Rein", "Ørn",
)
NAME_END = (
    "heim", "vik", "sund", "nes", "li", "by", "fjord", "dal", "vang", "haug", "stad", "vær",
)
# fmt: on
TOWNS = (
    ("8300", "Svolvær"),
    ("8370", "Leknes"),
    ("9008", "Tromsø"),
    ("8006", "Bodø"),
    ("6002", "Ålesund"),
    ("5003", "Bergen"),
    ("0150", "Oslo"),
    ("7010", "Trondheim"),
    ("8400", "Sortland"),
    ("9600", "Hammerfest"),
)
# fmt: off
STREETS = (
    "Storgata", "Havnegata", "Fjordveien", "Sjøgata", "Kirkegata", "Strandveien", "Industriveien",
)
# fmt: on

# Suppliers abroad, invoicing in EUR: software (IE) and booking commission (NL) every month with
# reverse-charge code 86, outdoor equipment (DE) now and then with code 81.
FOREIGN_SUPPLIERS = (
    ("Cloudline Software Ltd", "IE"),
    ("StayBook B.V.", "NL"),
    ("Bergsport Ausrüstung GmbH", "DE"),
)


# ------------------------------------------------------------------ small helpers
@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while making millions of small acyclic objects.

    Left on, it rescans the growing heap again and again: building a 1M-line year's models takes several
    times longer with it.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _dec(ore: int) -> Decimal:
    """Integer øre (or cents) as a Decimal with two decimals."""
    return Decimal(ore).scaleb(-2)


def vat_of(base_ore: int, rate: int) -> int:
    """base × rate % rounded half up (away from zero) to the øre."""
    q, r = divmod(abs(base_ore) * rate, 100)
    if r >= 50:
        q += 1
    return q if base_ore >= 0 else -q


def convert(cents: int, rate_e4: int) -> int:
    """currency cents × exchange rate (1e-4 units) in øre, rounded half to even like the ledger checks."""
    q, r = divmod(abs(cents) * rate_e4, 10_000)
    if r > 5_000 or (r == 5_000 and q % 2 == 1):
        q += 1
    return q if cents >= 0 else -q


def kid_mod10(payload: str) -> str:
    """A KID payment reference: the payload followed by its Luhn (modulus 10) check digit."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return payload + str((10 - total % 10) % 10)


def _easter(year: int) -> date:
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return date(year, month, day + 1)


def norwegian_holidays(year: int) -> frozenset[date]:
    easter = _easter(year)
    moving = (-3, -2, 0, 1, 39, 49, 50)  # Maundy Thursday … Whit Monday
    fixed = (date(year, 1, 1), date(year, 5, 1), date(year, 5, 17), date(year, 12, 25), date(year, 12, 26))
    return frozenset(fixed + tuple(easter + timedelta(days=d) for d in moving))


# ------------------------------------------------------------------ the plan
@dataclass(slots=True)
class _Line:
    account: str
    amount: int  # øre, debit positive
    text: str | None = None
    tax_code: str | None = None
    tax_base: int | None = None
    tax: int | None = None
    rel: tuple[str, int] | None = None
    dims: tuple[tuple[str, int], ...] = ()
    currency: str | None = None
    currency_amount: int | None = None  # cents, signed
    rate: int | None = None  # exchange rate × 10,000
    match: str | None = None  # open-item key: the lines of one invoice and its settlements


@dataclass(slots=True)
class _Entry:
    day: date
    order: int
    tiebreak: int
    description: str
    lines: list[_Line]
    user: int
    doc: dict[str, Any] | None = None
    seq: int = 0
    ro_id: int | None = None


# Order of entries within a day: documents first, then the bank, then period-end postings.
ORDER_SALES, ORDER_SUPPLIER, ORDER_TILL, ORDER_BANK, ORDER_PAYROLL, ORDER_PERIOD, ORDER_VAT = (
    10,
    20,
    30,
    40,
    50,
    60,
    90,
)


@dataclass
class DemoLedger:
    """One demo year as the ledger's API models."""

    year: int
    seed: int
    client_account: ClientAccountIn
    accounts: list[AccountIn]
    tax_codes: list[TaxCodeIn]
    dimensions: list[DimensionIn]
    business_partners: list[BusinessPartnerIn]
    entries: list[JournalEntryIn]

    @property
    def line_count(self) -> int:
        return sum(len(e.lines) for e in self.entries)


@dataclass
class DemoPlan:
    """The generated year: master data as models, entries in a compact form with three renderings."""

    year: int
    seed: int
    client_account: ClientAccountIn
    accounts: list[AccountIn]
    tax_codes: list[TaxCodeIn]
    dimensions: list[DimensionIn]
    business_partners: list[BusinessPartnerIn]
    entries: list[_Entry] = field(repr=False)

    @property
    def line_count(self) -> int:
        return sum(len(e.lines) for e in self.entries)

    # ---------------------------------------------------------- API models
    def entry_dicts(self, entries: Iterable[_Entry] | None = None) -> Iterator[dict[str, Any]]:
        """Each entry (all by default) in the JSON shape of `JournalEntryIn`, with Decimal amounts."""
        zero = _dec(0)
        for e in self.entries if entries is None else entries:
            lines = []
            for ln in e.lines:
                d: dict[str, Any] = {"account_code": ln.account}
                if ln.text is not None:
                    d["description"] = ln.text
                if ln.amount >= 0:
                    d["debit"], d["credit"] = _dec(ln.amount), zero
                else:
                    d["debit"], d["credit"] = zero, _dec(-ln.amount)
                if ln.currency is not None:
                    d["currency_code"] = ln.currency
                    d["currency_amount"] = _dec(ln.currency_amount or 0)
                    d["exchange_rate"] = Decimal(ln.rate or 0).scaleb(-4)
                if ln.tax_code is not None:
                    d["tax_code"] = ln.tax_code
                    d["tax_base_amount"] = _dec(ln.tax_base or 0)
                    d["tax_amount"] = _dec(ln.tax or 0)
                if ln.rel is not None:
                    d["relation_type"], d["relation_id"] = ln.rel
                if ln.dims:
                    d["dimensions"] = [{"type": t, "id": i} for t, i in ln.dims]
                lines.append(d)
            uid, name = USERS[e.user]
            out: dict[str, Any] = {
                "posting_date": e.day,
                "description": e.description,
                "voucher_id": self.voucher_id(e),
                "sequence_number": e.seq,
                "created_by": {"id": uid, "full_name": name},
                "lines": lines,
            }
            if e.doc is not None:
                out["related_object"] = {"id": e.ro_id, **e.doc}
            yield out

    def journal_entries(self, entries: Iterable[_Entry] | None = None) -> list[JournalEntryIn]:
        with paused_gc():
            return [JournalEntryIn.model_validate(d) for d in self.entry_dicts(entries)]

    def to_ledger(self) -> DemoLedger:
        return DemoLedger(
            self.year,
            self.seed,
            self.client_account,
            self.accounts,
            self.tax_codes,
            self.dimensions,
            self.business_partners,
            self.journal_entries(),
        )

    def voucher_id(self, entry: _Entry) -> int:
        return self.year * 1_000_000 + entry.seq

    # ---------------------------------------------------------- storage rows (fast path)
    def storage_rows(
        self,
        *,
        entries: Iterable[_Entry] | None = None,
        first_entry_id: int = 1,
        first_line_uid: int = 1,
        currency: str = "NOK",
        batch_id: str = "demo",
        created_at: datetime | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The rows `posting.entry_rows` makes for these entries (all of them by default), in order.

        Entry ids and line uids are allocated from the given first values, as a fresh client account's
        counters would allocate them when the entries are posted in this order.
        """
        created = created_at or datetime(self.year + 1, 1, 1)
        one, zero = Decimal(1), _dec(0)
        entry_id, line_uid = first_entry_id, first_line_uid
        for e in self.entries if entries is None else entries:
            uid, name = USERS[e.user]
            doc = e.doc or {}
            has_doc = e.doc is not None
            base = {
                "entry_id": entry_id,
                "entry_version": 1,
                "sequence_number": e.seq,
                "voucher_id": self.voucher_id(e),
                "posting_date": e.day,
                "entry_description": e.description,
                "is_draft": False,
                "created_by_id": uid,
                "created_by_name": name,
                "ro_id": e.ro_id if has_doc else None,
                "ro_document_number": doc.get("document_number"),
                "ro_document_date": doc.get("document_date"),
                "ro_due_date": doc.get("due_date"),
                "ro_payment_ref": doc.get("payment_ref"),
                "ro_document_type": doc.get("document_type"),
                "ro_business_partner_id": doc.get("business_partner_id"),
                "reversal_of": None,
                "batch_id": batch_id,
                "created_at": created,
            }
            for n, ln in enumerate(e.lines, start=1):
                signed = _dec(ln.amount)
                foreign = ln.currency is not None and ln.currency != currency
                row = dict(base)
                row["line_uid"] = line_uid
                row["line_id"] = n
                row["account_code"] = ln.account
                row["description"] = ln.text
                row["debit"] = signed if ln.amount > 0 else zero
                row["credit"] = -signed if ln.amount < 0 else zero
                row["currency_code"] = ln.currency or currency
                row["currency_amount"] = _dec(ln.currency_amount or 0) if foreign else signed
                row["exchange_rate"] = Decimal(ln.rate or 0).scaleb(-4) if foreign else one
                has_tax = ln.tax_code is not None
                row["tax_code"] = ln.tax_code
                row["tax_base_amount"] = _dec(ln.tax_base or 0) if has_tax else None
                row["tax_amount"] = _dec(ln.tax or 0) if has_tax else None
                row["relation_type"] = ln.rel[0] if ln.rel else None
                row["relation_id"] = ln.rel[1] if ln.rel else None
                row["dimensions"] = [f"{t}:{i}" for t, i in ln.dims]
                line_uid += 1
                yield row
            entry_id += 1

    # ---------------------------------------------------------- open items
    def settlements(self, first_uids: list[int]) -> list[tuple[str, list[tuple[int, int]]]]:
        """Which lines settle which: per invoice, (key, [(line_uid, øre matched)]) for the matched part.

        `first_uids[i]` is the uid the ledger gave entry i's first line (its lines are numbered on from
        there). An invoice and its receipts, payments or credit note are matched up to the smaller of
        their debit and credit totals, so a part-paid invoice keeps its open remainder; an unpaid one is
        not listed.
        """
        groups: dict[str, list[tuple[int, int]]] = {}
        order: list[str] = []
        for entry, first in zip(self.entries, first_uids, strict=True):
            for uid, ln in enumerate(entry.lines, start=first):
                if ln.match is not None:
                    if ln.match not in groups:
                        groups[ln.match] = []
                        order.append(ln.match)
                    groups[ln.match].append((uid, ln.amount))
        out = []
        for key in order:
            items = groups[key]
            debit = sum(a for _, a in items if a > 0)
            credit = -sum(a for _, a in items if a < 0)
            matched = min(debit, credit)
            if matched == 0:
                continue
            pairs: list[tuple[int, int]] = []
            for positive in (True, False):
                left = matched
                for uid, amount in items:
                    if left and (amount > 0) == positive:
                        take = min(abs(amount), left)
                        pairs.append((uid, take))
                        left -= take
            out.append((key, pairs))
        return out

    # ---------------------------------------------------------- ledger-cli / hledger journal
    def write_journal(self, fh: TextIO, *, opening: bool = True) -> int:
        """Write a ledger-cli/hledger journal: one transaction per entry, accounts named by code.

        The opening balances come first as one transaction on 1 January. Amounts are in NOK with two
        decimals (EUR lines at their NOK amount). Returns the number of postings written.
        """
        postings = 0
        w = fh.write
        if opening:
            w(f"{self.year}-01-01 * Inngående balanse\n")
            for acc in self.accounts:
                if acc.opening_balance:
                    w(f"    {acc.code}  {acc.opening_balance}\n")
                    postings += 1
            w("\n")
        for e in self.entries:
            desc = e.description.replace(";", ",")
            w(f"{e.day.isoformat()} * ({self.voucher_id(e)}) {desc}\n")
            for ln in e.lines:
                a = ln.amount
                sign = "-" if a < 0 else ""
                q, r = divmod(abs(a), 100)
                w(f"    {ln.account}  {sign}{q}.{r:02d}\n")
            w("\n")
            postings += len(e.lines)
        return postings


# ------------------------------------------------------------------ the builder
class _Builder:
    def __init__(self, lines: int, year: int, seed: int) -> None:
        if lines < MIN_LINES:
            raise ValueError(f"lines must be at least {MIN_LINES}")
        self.target = lines
        self.year = year
        self.seed = seed
        self.rng = random.Random(seed)
        self.scale = lines / DEFAULT_LINES
        # Company size: multiplies fixed amounts and head counts, in step with the volume of documents
        # (about 900 lines are payroll, settlements, recurring invoices and other fixed postings).
        self.size = max(0.02, (lines - 900) / (DEFAULT_LINES - 900))
        self.entries: list[_Entry] = []
        self.lines = 0
        self.counter = 0
        self.next_doc = 1
        self.used_names: set[str] = set()
        self.used_regnos: set[str] = set()
        self._calendar()

    # ---------------------------------------------------------- calendar
    def _calendar(self) -> None:
        y = self.year
        start, end = date(y, 1, 1), date(y, 12, 31)
        holidays = norwegian_holidays(y)
        self.days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
        self.bank_days = [d for d in self.days if d.weekday() < 5 and d not in holidays]
        self._bank_ord = [d.toordinal() for d in self.bank_days]
        w_all, w_bank = 0.0, 0.0
        self.cum_all: list[float] = []
        self.cum_bank: list[float] = []
        for d in self.days:
            w_all += SEASON[d.month - 1] * (1.25 if d.weekday() >= 5 else 1.0)
            self.cum_all.append(w_all)
        for d in self.bank_days:
            w_bank += SEASON[d.month - 1]
            self.cum_bank.append(w_bank)
        self.end = end
        # EUR/NOK: a deterministic random walk, four decimals.
        rate, self.eur = 117_450, {}
        for d in self.days:
            rate += round(self.rng.gauss(0, 220))
            rate = min(max(rate, 112_000), 123_000)
            self.eur[d] = rate

    def bank_day_on_or_after(self, d: date) -> date | None:
        i = bisect.bisect_left(self._bank_ord, d.toordinal())
        return self.bank_days[i] if i < len(self.bank_days) else None

    def bank_day_on_or_before(self, d: date) -> date:
        i = bisect.bisect_right(self._bank_ord, d.toordinal()) - 1
        return self.bank_days[max(i, 0)]

    def any_day(self) -> date:
        return self.days[bisect.bisect_left(self.cum_all, self.rng.random() * self.cum_all[-1])]

    def business_day(self) -> date:
        return self.bank_days[bisect.bisect_left(self.cum_bank, self.rng.random() * self.cum_bank[-1])]

    # ---------------------------------------------------------- recording
    def add(
        self,
        day: date,
        order: int,
        description: str,
        lines: list[_Line],
        user: int,
        doc: dict[str, Any] | None = None,
    ) -> None:
        assert sum(ln.amount for ln in lines) == 0, description
        lines = [ln for ln in lines if ln.amount or ln.tax_base]
        if len(lines) < 2:
            return
        self.counter += 1
        self.entries.append(_Entry(day, order, self.counter, description, lines, user, doc))
        self.lines += len(lines)

    def kroner(self, low: int, high: int) -> int:
        """A random amount in whole kroner (as øre) between low and high NOK, scaled by company size."""
        return round(self.rng.randint(low, high) * self.size) * 100

    def orgnr(self) -> str:
        while True:
            first8 = str(self.rng.choice((8, 9))) + "".join(str(self.rng.randint(0, 9)) for _ in range(7))
            check = regno.norwegian_check_digit(first8)
            number = f"{first8}{check}"
            if check is not None and number not in self.used_regnos and number != COMPANY_REGNO:
                self.used_regnos.add(number)
                return number

    def company_name(self, suffixes: tuple[str, ...]) -> str:
        for _ in range(1000):
            name = f"{self.rng.choice(NAME_START)}{self.rng.choice(NAME_END)} {self.rng.choice(suffixes)}"
            if name not in self.used_names:
                self.used_names.add(name)
                return name
        n = len(self.used_names)
        name = f"{self.rng.choice(NAME_START)}{self.rng.choice(NAME_END)} {n} {suffixes[0]}"
        self.used_names.add(name)
        return name

    def address(self) -> str:
        postcode, town = self.rng.choice(TOWNS)
        return f"{self.rng.choice(STREETS)} {self.rng.randint(1, 120)}, {postcode} {town}"

    def statement(self, day: date) -> str:
        return f"B-{day.year}-{day.timetuple().tm_yday:03d}"

    # ---------------------------------------------------------- master data
    def master(self) -> None:
        rng = self.rng
        self.n_customers = max(12, round(45 * self.scale**0.6))
        self.n_suppliers = max(len(SUPPLIER_KINDS) * 2, round(30 * self.scale**0.6))
        self.partners: list[BusinessPartnerIn] = []
        # Customers 10001…: a few big ones (Zipf-like weights), payment terms 10/14/30 days.
        self.customers: list[tuple[int, str, int, float]] = []
        for i in range(self.n_customers):
            cid = 10_001 + i
            name = self.company_name(CUSTOMER_KINDS)
            terms = rng.choice((10, 14, 14, 14, 30, 30))
            slow = rng.choice((0.0, 0.0, 0.0, 0.15, 0.4))  # share of invoices this customer pays late
            self.customers.append((cid, name, terms, slow))
            self.partners.append(
                BusinessPartnerIn(
                    id=cid,
                    name=name,
                    kind="customer",
                    registration_number=self.orgnr(),
                    country="NO",
                    email=f"faktura@{cid}.kunde.example",
                    address=self.address(),
                )
            )
        self.customer_cum: list[float] = []
        total = 0.0
        for i in range(self.n_customers):
            total += 1.0 / (i + 3) ** 0.8
            self.customer_cum.append(total)
        # Suppliers 20001…: a pool per kind, then the recurring ones, then the three foreign ones.
        next_id = 20_001
        self.suppliers_by_kind: dict[str, list[tuple[int, str]]] = {}
        kinds = list(SUPPLIER_KINDS)
        for i in range(self.n_suppliers):
            kind = kinds[i % len(kinds)]
            name = self.company_name(kind[2])
            self.suppliers_by_kind.setdefault(kind[0], []).append((next_id, name))
            self.partners.append(self._supplier(next_id, name))
            next_id += 1
        self.recurring: dict[str, tuple[int, str]] = {}
        for key, suffixes in (
            ("rent", ("Eiendom AS", "Næringsbygg AS")),
            ("power", ("Kraft AS", "Energi AS")),
            ("accounting", ("Regnskap AS", "Økonomi AS")),
            ("telecom", ("Telekom AS", "Fiber AS")),
            ("insurance", ("Forsikring AS",)),
            ("leasing", ("Bilutleie AS", "Leasing AS")),
        ):
            name = self.company_name(suffixes)
            self.recurring[key] = (next_id, name)
            self.partners.append(self._supplier(next_id, name))
            next_id += 1
        for key, (name, country) in zip(("software", "booking", "gear"), FOREIGN_SUPPLIERS, strict=True):
            self.recurring[key] = (next_id, name)
            vat_no = {
                "IE": f"IE{rng.randint(1_000_000, 9_999_999)}{rng.choice('ABCDEFGHW')}",
                "NL": f"NL{rng.randint(100_000_000, 999_999_999)}B01",
                "DE": f"DE{rng.randint(100_000_000, 999_999_999)}",
            }[country]
            self.partners.append(
                BusinessPartnerIn(
                    id=next_id,
                    name=name,
                    kind="supplier",
                    registration_number=vat_no,
                    country=country,
                    email=f"billing@{next_id}.supplier.example",
                )
            )
            next_id += 1
        self.n_projects = max(len(PROJECTS), round(len(PROJECTS) * self.scale**0.5))
        # Employees: (department, monthly salary øre, withholding %)
        n_emp = max(1, round(22 * self.size))
        dept_cycle = (TOURS, TOURS, TOURS, CAFE, CAFE, SHOP, TOURS, CAFE, ADMIN)
        self.employees = [
            (dept_cycle[i % len(dept_cycle)], rng.randint(36_000, 62_000) * 100, rng.randint(26, 38))
            for i in range(n_emp)
        ]

    def _supplier(self, sid: int, name: str) -> BusinessPartnerIn:
        return BusinessPartnerIn(
            id=sid,
            name=name,
            kind="supplier",
            registration_number=self.orgnr(),
            country="NO",
            email=f"faktura@{sid}.leverandor.example",
            address=self.address(),
        )

    def dims(self, dept: int, project_share: float) -> tuple[tuple[str, int], ...]:
        if self.rng.random() < project_share:
            return (("department", dept), ("project", self.rng.randint(1, self.n_projects)))
        return (("department", dept),)

    def customer(self) -> tuple[int, str, int, float]:
        r = self.rng.random() * self.customer_cum[-1]
        return self.customers[bisect.bisect_left(self.customer_cum, r)]

    # ---------------------------------------------------------- opening balances
    def opening(self) -> None:
        s, rng = self.size, self.rng
        gross = sum(g for _, g, _ in self.employees)
        monthly_wh = sum(g * p // 100 // 100 * 100 for _, g, p in self.employees)
        monthly_aga = _permille(gross, 141)
        holiday = gross * 12 * 102 * 97 // 100_000  # last year: 10.2 % of a year of slightly lower pay
        self.ob: dict[str, int] = {
            "1230": round(2_450_000 * s) * 100,
            "1250": round(385_000 * s) * 100,
            "1460": round(214_530 * s) * 100,
            "1700": round(36_000 * s) * 100,
            "1920": round(1_240_000 * s) * 100,
            "1950": 2 * monthly_wh,
            "2000": -100_000 * 100,
            "2220": -round(1_800_000 * s) * 100,
            "2500": -round(185_400 * s) * 100,
            "2600": -2 * monthly_wh,
            "2740": -round(142_800 * s) * 100 - rng.randint(0, 99_99),
            "2770": -2 * monthly_aga,
            "2780": -_permille(holiday, 141),
            "2940": -holiday,
        }
        # Last year's open items, paid early in the year.
        day0 = date(self.year, 1, 1)
        receivable = 0
        n_open = max(4, round(12 * self.scale))
        for i in range(n_open):
            cid, name, _, _ = self.customer()
            amount = rng.randint(3_000, 60_000) * 100 + rng.randint(0, 99)
            receivable += amount
            paid = self.bank_day_on_or_after(day0 + timedelta(days=rng.randint(2, 45)))
            assert paid is not None
            number = str(10_001 - n_open + i)  # last year's series ends at 10000
            kid = kid_mod10(f"{cid:05d}{10_001 - n_open + i:07d}")
            self.add(
                paid,
                ORDER_BANK,
                f"Innbetaling faktura {number} {name}",
                [
                    _Line(BANK, amount, f"Innbetaling {name}", rel=("bankacc", 1)),
                    _Line(
                        RECEIVABLES,
                        -amount,
                        f"Faktura {number} ({self.year - 1})",
                        rel=("businesspartner", cid),
                    ),
                ],
                BANKFEED,
                self._bank_doc(paid, cid, kid),
            )
        payable = 0
        pool = [sup for kind in SUPPLIER_KINDS for sup in self.suppliers_by_kind[kind[0]]]
        for _ in range(max(3, round(9 * self.scale))):
            sid, name = rng.choice(pool)
            amount = rng.randint(1_500, 40_000) * 100 + rng.randint(0, 99)
            payable += amount
            paid = self.bank_day_on_or_after(day0 + timedelta(days=rng.randint(5, 30)))
            assert paid is not None
            number = f"{rng.randint(10_000, 99_999)}"
            self.add(
                paid,
                ORDER_BANK,
                f"Betaling faktura {number} {name}",
                [
                    _Line(
                        PAYABLES, amount, f"Faktura {number} ({self.year - 1})", rel=("businesspartner", sid)
                    ),
                    _Line(BANK, -amount, f"Betaling {name}", rel=("bankacc", 1)),
                ],
                BANKFEED,
                self._bank_doc(paid, sid, None),
            )
        self.ob["1500"] = receivable
        self.ob["2400"] = -payable
        self.ob["2050"] = -sum(self.ob.values())
        # Income tax for last year in two instalments; prepaid insurance over the first quarter.
        tax = -self.ob["2500"]
        for month, amount in ((2, tax // 2), (4, tax - tax // 2)):
            day = self.bank_day_on_or_after(date(self.year, month, 15))
            assert day is not None
            self.add(
                day,
                ORDER_BANK,
                f"Betaling skatt for {self.year - 1}, termin {month // 2}",
                [_Line("2500", amount, "Skatt"), _Line(BANK, -amount, "Skatteetaten", rel=("bankacc", 1))],
                BANKFEED,
                self._bank_doc(day, None, None),
            )
        prepaid = self.ob["1700"]
        for month in (1, 2, 3):
            part = prepaid // 3 if month < 3 else prepaid - 2 * (prepaid // 3)
            self.add(
                self.month_end(month),
                ORDER_PERIOD,
                f"Periodisering forsikring {MONTHS[month - 1]}",
                [_Line("7500", part, "Forsikring", dims=(("department", ADMIN),)), _Line("1700", -part)],
                BOOKKEEPER,
            )

    def _bank_doc(self, day: date, partner: int | None, kid: str | None) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "document_number": self.statement(day),
            "document_date": day,
            "document_type": "BANK_STATEMENT",
        }
        if kid:
            doc["payment_ref"] = kid
        if partner:
            doc["business_partner_id"] = partner
        return doc

    def month_end(self, month: int) -> date:
        nxt = date(self.year + (month == 12), month % 12 + 1, 1)
        return nxt - timedelta(days=1)

    # ---------------------------------------------------------- payroll, loan, depreciation, interest
    def payroll(self) -> None:
        self.wh_term = [0] * 7  # index 0: last year's last term (the opening balance)
        self.aga_term = [0] * 7
        self.wh_term[0] = -self.ob["2600"]
        self.aga_term[0] = -self.ob["2770"]
        for month in range(1, 13):
            payday = self.bank_day_on_or_before(date(self.year, month, 20 if month == 12 else 25))
            term = (month + 1) // 2
            name = f"{MONTHS[month - 1]} {self.year}"
            lines, total, withheld = [], 0, 0
            by_dept: dict[int, int] = {}
            for n, (dept, salary, pct) in enumerate(self.employees, start=1):
                gross = salary + (salary // 2 if month == 12 and n % 3 == 0 else 0)  # some December bonuses
                lines.append(_Line("5000", gross, f"Lønn ansatt {n:03d}", dims=(("department", dept),)))
                total += gross
                withheld += gross * pct // 100 // 100 * 100
                by_dept[dept] = by_dept.get(dept, 0) + gross
            lines.append(_Line("2600", -withheld, "Forskuddstrekk"))
            lines.append(_Line(BANK, withheld - total, "Utbetalt nettolønn", rel=("bankacc", 1)))
            doc = {
                "document_number": f"L-{self.year}-{month:02d}",
                "document_date": payday,
                "document_type": "PAYROLL",
            }
            self.add(payday, ORDER_PAYROLL, f"Lønn {name}", lines, PAYROLL, doc)
            aga_lines, aga = [], 0
            hol_lines, hol, hol_aga = [], 0, 0
            for dept in sorted(by_dept):
                a = _permille(by_dept[dept], 141)
                aga += a
                aga_lines.append(_Line("5400", a, None, dims=(("department", dept),)))
                h = _permille(by_dept[dept], 102)
                ha = _permille(h, 141)
                hol += h
                hol_aga += ha
                hol_lines.append(_Line("5180", h, None, dims=(("department", dept),)))
                hol_lines.append(_Line("5405", ha, None, dims=(("department", dept),)))
            aga_lines.append(_Line("2770", -aga, f"Arbeidsgiveravgift termin {term}"))
            self.add(payday, ORDER_PAYROLL, f"Arbeidsgiveravgift {name}", aga_lines, PAYROLL, doc)
            hol_lines += [
                _Line("2940", -hol, "Feriepenger opptjent"),
                _Line("2780", -hol_aga, "Avgift på feriepenger"),
            ]
            self.add(self.month_end(month), ORDER_PERIOD, f"Feriepenger {name}", hol_lines, PAYROLL)
            self.add(
                payday,
                ORDER_PAYROLL,
                f"Overføring skattetrekk {name}",
                [
                    _Line(TAX_BANK, withheld, "Skattetrekk", rel=("bankacc", 2)),
                    _Line(BANK, -withheld, "Til skattetrekkskonto", rel=("bankacc", 1)),
                ],
                BANKFEED,
                self._bank_doc(payday, None, None),
            )
            self.wh_term[term] += withheld
            self.aga_term[term] += aga
            if month == 6:  # holiday pay earned last year, and its employer's contribution falls due
                holiday, holiday_aga = -self.ob["2940"], -self.ob["2780"]
                day = self.bank_day_on_or_before(date(self.year, 6, 12))
                self.add(
                    day,
                    ORDER_PAYROLL,
                    f"Utbetaling feriepenger {self.year - 1}",
                    [
                        _Line("2940", holiday, "Feriepenger"),
                        _Line(BANK, -holiday, "Utbetalt", rel=("bankacc", 1)),
                    ],
                    PAYROLL,
                    {"document_number": f"L-{self.year}-F", "document_date": day, "document_type": "PAYROLL"},
                )
                self.add(
                    day,
                    ORDER_PAYROLL,
                    f"Arbeidsgiveravgift på feriepenger {self.year - 1}",
                    [_Line("2780", holiday_aga), _Line("2770", -holiday_aga, "Arbeidsgiveravgift termin 3")],
                    PAYROLL,
                )
                self.aga_term[3] += holiday_aga
        for term in range(0, 6):  # the last term of the year is paid in January next year
            month = 1 if term == 0 else 2 * term + 1
            day = self.bank_day_on_or_after(date(self.year, month, 15))
            assert day is not None
            label = f"termin 6 {self.year - 1}" if term == 0 else f"termin {term}"
            self.add(
                day,
                ORDER_BANK,
                f"Betaling forskuddstrekk {label}",
                [
                    _Line("2600", self.wh_term[term]),
                    _Line(TAX_BANK, -self.wh_term[term], "Skatteetaten", rel=("bankacc", 2)),
                ],
                BANKFEED,
                self._bank_doc(day, None, None),
            )
            self.add(
                day,
                ORDER_BANK,
                f"Betaling arbeidsgiveravgift {label}",
                [
                    _Line("2770", self.aga_term[term]),
                    _Line(BANK, -self.aga_term[term], "Skatteetaten", rel=("bankacc", 1)),
                ],
                BANKFEED,
                self._bank_doc(day, None, None),
            )

    def loan_depreciation_interest(self) -> None:
        outstanding = -self.ob["2220"]
        instalment = outstanding // 72 // 100 * 100
        dep_boats = self.ob["1230"] // 5 // 12 // 100 * 100
        dep_fixtures = self.ob["1250"] // 4 // 12 // 100 * 100
        for month in range(1, 13):
            day = self.bank_day_on_or_after(date(self.year, month, 20))
            assert day is not None
            interest = outstanding * 61 // 12_000
            self.add(
                day,
                ORDER_BANK,
                f"Avdrag og renter banklån {MONTHS[month - 1]}",
                [
                    _Line("2220", instalment, "Avdrag"),
                    _Line("8150", interest, "Renter"),
                    _Line(BANK, -(instalment + interest), "Banklån", rel=("bankacc", 1)),
                ],
                BANKFEED,
                self._bank_doc(day, None, None),
            )
            outstanding -= instalment
            self.add(
                self.month_end(month),
                ORDER_PERIOD,
                f"Avskrivninger {MONTHS[month - 1]} {self.year}",
                [
                    _Line("6010", dep_boats, "Båter og kjøretøy", dims=(("department", TOURS),)),
                    _Line("1230", -dep_boats),
                    _Line("6020", dep_fixtures, "Inventar og utstyr", dims=(("department", ADMIN),)),
                    _Line("1250", -dep_fixtures),
                ],
                BOOKKEEPER,
            )
            if month % 3 == 0:
                amount = self.kroner(800, 4_000) + self.rng.randint(0, 99)
                day = self.bank_day_on_or_before(self.month_end(month))
                self.add(
                    day,
                    ORDER_BANK,
                    f"Renteinntekter {month // 3}. kvartal",
                    [_Line(BANK, amount, "Renter", rel=("bankacc", 1)), _Line("8050", -amount, "Renter")],
                    BANKFEED,
                    self._bank_doc(day, None, None),
                )

    # ---------------------------------------------------------- supplier invoices
    def supplier_invoice(
        self,
        day: date,
        supplier: tuple[int, str],
        items: list[tuple[str, str, int, tuple[tuple[str, int], ...], str]],
        terms: int,
        *,
        currency: str | None = None,
        pay: bool = True,
        number: str | None = None,
    ) -> None:
        """Book a supplier invoice and its payment; items: (account, tax code, øre or cents, dims, text)."""
        sid, name = supplier
        self.next_doc += 1
        key = f"P{self.next_doc}"
        number = number or f"{sid % 1000:03d}{self.rng.randint(10_000, 99_999)}"
        due = day + timedelta(days=terms)
        kid = None if currency else kid_mod10(f"{self.rng.randint(10**9, 10**10 - 1)}")
        lines: list[_Line] = []
        vat_by_code: dict[str, int] = {}
        total = 0
        rate = self.eur[day] if currency else None
        total_cents = 0
        for account, code, amount, dims, text in items:
            if currency:
                assert rate is not None
                cents, amount = amount, convert(amount, rate)
                total_cents += cents
            pct = TAX_RATE[code]
            tax = vat_of(amount, pct) if pct and code != "0" else 0
            line = _Line(account, amount, text, code, amount, tax, dims=dims)
            if currency:
                line.currency, line.currency_amount, line.rate = currency, cents, rate
            lines.append(line)
            total += amount
            if tax:
                vat_by_code[code] = vat_by_code.get(code, 0) + tax
        vat_total = 0
        for code, tax in vat_by_code.items():
            if code in REVERSE_CHARGE_CODES:
                lines.append(_Line(VAT_IN, tax, f"Inngående mva, kode {code}"))
                lines.append(_Line(VAT_OUT, -tax, f"Beregnet utgående mva, kode {code}"))
            else:
                lines.append(_Line(VAT_IN, tax, f"Inngående mva {TAX_RATE[code]} %"))
                vat_total += tax
        payable = _Line(
            PAYABLES, -(total + vat_total), f"Faktura {number}", rel=("businesspartner", sid), match=key
        )
        if currency:
            payable.currency, payable.currency_amount, payable.rate = currency, -total_cents, rate
        lines.insert(0, payable)
        doc = {
            "document_number": number,
            "document_date": day,
            "due_date": due,
            "document_type": "SUPPLIER_INVOICE",
            "business_partner_id": sid,
        }
        if kid:
            doc["payment_ref"] = kid
        self.add(day, ORDER_SUPPLIER, f"Leverandørfaktura {number} {name}", lines, BOOKKEEPER, doc)
        paid = (
            self.bank_day_on_or_after(due - timedelta(days=self.rng.choice((0, 0, 0, 1, 2)))) if pay else None
        )
        if paid is None or paid < day:
            return
        amount = total + vat_total
        pay_lines = [_Line(PAYABLES, amount, f"Faktura {number}", rel=("businesspartner", sid), match=key)]
        if currency:
            assert rate is not None
            pay_lines[0].currency, pay_lines[0].currency_amount, pay_lines[0].rate = (
                currency,
                total_cents,
                rate,
            )
            bank = convert(total_cents, self.eur[paid])
            if bank > amount:
                pay_lines.append(_Line("8160", bank - amount, f"Valutatap faktura {number}"))
            elif bank < amount:
                pay_lines.append(_Line("8060", bank - amount, f"Valutagevinst faktura {number}"))
        else:
            bank = amount
        pay_lines.append(_Line(BANK, -bank, f"Betaling {name}", rel=("bankacc", 1)))
        self.add(
            paid,
            ORDER_BANK,
            f"Betaling faktura {number} {name}",
            pay_lines,
            BANKFEED,
            self._bank_doc(paid, sid, kid),
        )

    def recurring_invoices(self) -> None:
        rng, y = self.rng, self.year
        for month in range(1, 13):
            first = self.bank_day_on_or_after(date(y, month, 1))
            assert first is not None
            rent = round(42_000 * self.size) * 100
            self.supplier_invoice(
                first,
                self.recurring["rent"],
                [("6300", "0", rent, (("department", ADMIN),), f"Husleie {MONTHS[month - 1]}")],
                5,
            )
            winter = (2.0, 1.8, 1.5, 1.1, 0.8, 0.6, 0.6, 0.6, 0.8, 1.1, 1.5, 1.9)[month - 1]
            power = round(9_000 * self.size * winter) * 100 + rng.randint(0, 99_99)
            self.supplier_invoice(
                date(y, month, 8),
                self.recurring["power"],
                [("6200", "1", power, (("department", ADMIN),), "Strøm")],
                14,
            )
            fee = round(14_500 * self.size) * 100
            self.supplier_invoice(
                date(y, month, 10),
                self.recurring["accounting"],
                [("6700", "1", fee, (("department", ADMIN),), "Regnskapsføring og lønn")],
                14,
            )
            phone = round(3_200 * self.size) * 100 + rng.randint(0, 400_00)
            self.supplier_invoice(
                date(y, month, 5),
                self.recurring["telecom"],
                [("6900", "1", phone, (("department", ADMIN),), "Mobil og bredbånd")],
                14,
            )
            lease = round(8_900 * self.size) * 100
            self.supplier_invoice(
                first,
                self.recurring["leasing"],
                [("6400", "1", lease, (("department", TOURS),), "Leie minibuss")],
                14,
            )
            seats = 12 + rng.randint(0, 4)
            software = round(seats * 89_00 * self.size)
            self.supplier_invoice(
                date(y, month, 3),
                self.recurring["software"],
                [("6820", "86", software, (("department", ADMIN),), f"Abonnement {seats} brukere")],
                14,
                currency="EUR",
            )
            commission = round(rng.randint(1_800_00, 6_500_00) * SEASON[month - 1] * self.size)
            self.supplier_invoice(
                date(y, month, 7),
                self.recurring["booking"],
                [("7200", "86", commission, (("department", TOURS), ("project", 1)), "Provisjon bookinger")],
                14,
                currency="EUR",
            )
            if month in (4, 7, 10):
                premium = round(36_000 * self.size) * 100
                self.supplier_invoice(
                    first,
                    self.recurring["insurance"],
                    [("7500", "0", premium, (("department", ADMIN),), "Forsikring kvartal")],
                    30,
                )

    def random_supplier_invoice(self) -> int:
        before = self.lines
        rng = self.rng
        if rng.random() < 0.03:  # equipment from Germany: EUR, reverse-charge import VAT
            cents = rng.randint(400_00, 9_000_00) + rng.randint(0, 99)
            day = self.business_day()
            self.supplier_invoice(
                day,
                self.recurring["gear"],
                [("4300", "81", cents, self.dims(SHOP, 0.2), "Friluftsutstyr")],
                30,
                currency="EUR",
                pay=rng.random() > 0.02,
            )
            return self.lines - before
        kind = rng.choices(SUPPLIER_KINDS, cum_weights=SUPPLIER_CUM)[0]
        key, _, _, account, code, dept, (low, high), project_share = kind
        supplier = rng.choice(self.suppliers_by_kind[key])
        items = []
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
            amount = rng.randint(low, high) * 100 + rng.choice((0, 0, rng.randint(1, 99)))
            items.append((account, code, amount, self.dims(dept, project_share), rng.choice(_ITEM_TEXT[key])))
        self.supplier_invoice(
            self.business_day(), supplier, items, rng.choice((14, 14, 20, 30)), pay=rng.random() > 0.015
        )
        return self.lines - before

    # ---------------------------------------------------------- sales
    def sales_spec(self) -> tuple[dict[str, Any], int]:
        """A sales invoice to be numbered later (numbers follow the dates), and its line count."""
        rng = self.rng
        cid, name, terms, slow = self.customer()
        day = self.business_day()
        items = []
        for _ in range(rng.choice((1, 1, 2, 2, 2, 3, 3, 4))):
            text, account, code, dept, (low, high), (qlow, qhigh) = rng.choices(
                PRODUCTS, cum_weights=PRODUCT_CUM
            )[0]
            qty = rng.randint(qlow, qhigh)
            base = qty * rng.randint(low, high) * 100
            items.append(
                (f"{text}, {qty} stk" if qty > 1 else text, account, code, base, self.dims(dept, 0.6))
            )
        vat_codes = {code for _, _, code, _, _ in items if TAX_RATE[code]}
        n_lines = 1 + len(items) + len(vat_codes)
        due = day + timedelta(days=terms)
        spec: dict[str, Any] = {
            "day": day,
            "cid": cid,
            "name": name,
            "items": items,
            "due": due,
            "credit": None,
            "payments": [],
        }
        roll = rng.random()
        if roll < 0.015:  # credited in full a few days later
            credit = self.bank_day_on_or_after(day + timedelta(days=rng.randint(2, 15)))
            if credit is not None:
                spec["credit"] = credit
                n_lines *= 2
            return spec, n_lines
        if roll < 0.03:  # never paid (disputed)
            return spec, n_lines
        late = rng.random() < slow
        delay = rng.randint(5, 45) if late else rng.randint(-4, 2)
        paid = self.bank_day_on_or_after(max(day + timedelta(days=1), due + timedelta(days=delay)))
        if roll < 0.05:  # part payment, the rest later or never
            spec["payments"].append((paid, 0.5))
            later = self.bank_day_on_or_after(due + timedelta(days=delay + rng.randint(20, 60)))
            if rng.random() < 0.5:
                spec["payments"].append((later, 1.0))
        else:
            spec["payments"].append((paid, 1.0))
        spec["payments"] = [(d, share) for d, share in spec["payments"] if d is not None]
        return spec, n_lines + 2 * len(spec["payments"])

    def sales_invoice(self, spec: dict[str, Any], number: int) -> None:
        day, cid, name = spec["day"], spec["cid"], spec["name"]
        key = f"S{number}"
        kid = kid_mod10(f"{cid:05d}{number:07d}")
        lines = [_Line(RECEIVABLES, 0, f"Faktura {number}", rel=("businesspartner", cid), match=key)]
        vat_by_code: dict[str, int] = {}
        total = 0
        for text, account, code, base, dims in spec["items"]:
            tax = -vat_of(base, TAX_RATE[code])
            lines.append(_Line(account, -base, text, code, -base, tax, dims=dims))
            total += base
            if tax:
                vat_by_code[code] = vat_by_code.get(code, 0) + tax
        for code in OUTPUT_VAT_CODES:
            if code in vat_by_code:
                lines.append(_Line(VAT_OUT, vat_by_code[code], f"Utgående mva {TAX_RATE[code]} %"))
                total -= vat_by_code[code]
        lines[0].amount = total
        doc = {
            "document_number": str(number),
            "document_date": day,
            "due_date": spec["due"],
            "payment_ref": kid,
            "document_type": "SALES_INVOICE",
            "business_partner_id": cid,
        }
        self.add(day, ORDER_SALES, f"Faktura {number} {name}", lines, INVOICING, doc)
        credit_day = spec["credit"]
        if credit_day is not None:
            self.credit_number += 1
            cn = self.credit_number
            reverse = []
            for ln in lines:
                r = _Line(
                    ln.account, -ln.amount, ln.text, ln.tax_code, None, None, ln.rel, ln.dims, match=ln.match
                )
                if ln.tax_code is not None:
                    r.tax_base, r.tax = -(ln.tax_base or 0), -(ln.tax or 0)
                reverse.append(r)
            reverse[0].text = f"Kreditnota {cn} til faktura {number}"
            cdoc = {
                "document_number": f"K{cn}",
                "document_date": credit_day,
                "payment_ref": kid,
                "document_type": "CREDIT_NOTE",
                "business_partner_id": cid,
            }
            self.add(
                credit_day,
                ORDER_SALES,
                f"Kreditnota K{cn} til faktura {number} {name}",
                reverse,
                INVOICING,
                cdoc,
            )
        remaining = total
        for paid, share in spec["payments"]:
            amount = remaining if share >= 1 else (total // 2 // 100) * 100
            remaining -= amount
            self.add(
                paid,
                ORDER_BANK,
                f"Innbetaling faktura {number} {name}",
                [
                    _Line(BANK, amount, f"Innbetaling {name}", rel=("bankacc", 1)),
                    _Line(RECEIVABLES, -amount, f"Faktura {number}", rel=("businesspartner", cid), match=key),
                ],
                BANKFEED,
                self._bank_doc(paid, cid, kid),
            )

    def till_settlement(self) -> int:
        """A card settlement from a till: café food (15 %), serving and shop (25 %), sometimes books (0 %)."""
        rng = self.rng
        day = self.any_day()
        self.till_count += 1
        parts = [
            ("3020", "31", CAFE, rng.randint(1_500, 22_000), "Kafé, mat"),
            ("3000", "3", CAFE, rng.randint(600, 12_000), "Kafé, servering"),
        ]
        if rng.random() < 0.6:
            parts.append(("3000", "3", SHOP, rng.randint(500, 16_000), "Butikk, varer"))
        if rng.random() < 0.25:
            parts.append(("3100", "5", SHOP, rng.randint(199, 3_000), "Butikk, bøker"))
        lines = [_Line(BANK, 0, "Kortoppgjør", rel=("bankacc", 1))]
        vat_by_code: dict[str, int] = {}
        gross = 0
        for account, code, dept, kroner, text in parts:
            base = kroner * 100 + rng.randint(0, 99)
            tax = -vat_of(base, TAX_RATE[code])
            lines.append(_Line(account, -base, text, code, -base, tax, dims=(("department", dept),)))
            gross += base
            if tax:
                vat_by_code[code] = vat_by_code.get(code, 0) + tax
        for code in OUTPUT_VAT_CODES:
            if code in vat_by_code:
                lines.append(_Line(VAT_OUT, vat_by_code[code], f"Utgående mva {TAX_RATE[code]} %"))
                gross -= vat_by_code[code]
        lines[0].amount = gross
        self.card_sales[day.month] += gross
        doc = {
            "document_number": f"Z-{day:%Y%m%d}-{self.till_count}",
            "document_date": day,
            "document_type": "CASH_REGISTER",
        }
        self.add(day, ORDER_TILL, f"Dagsoppgjør kasse {day:%d.%m.%Y}", lines, INVOICING, doc)
        return len(lines)

    # ---------------------------------------------------------- period end
    def bank_fees(self) -> None:
        for month in range(1, 13):
            day = self.bank_day_on_or_before(self.month_end(month))
            fee = round(self.rng.randint(280, 460) * self.size**0.5) * 100
            card = self.card_sales[month] * 11 // 1000
            lines = [_Line("7770", fee, "Kontogebyrer", dims=(("department", ADMIN),))]
            if card:
                lines.append(_Line("7770", card, "Kortgebyrer", dims=(("department", CAFE),)))
            lines.append(_Line(BANK, -(fee + card), "Gebyrer", rel=("bankacc", 1)))
            self.add(
                day,
                ORDER_BANK,
                f"Bank- og kortgebyrer {MONTHS[month - 1]}",
                lines,
                BANKFEED,
                self._bank_doc(day, None, None),
            )

    def vat_settlements(self) -> None:
        out_by_term = [0] * 7
        in_by_term = [0] * 7
        for e in self.entries:
            term = (e.day.month + 1) // 2
            for ln in e.lines:
                if ln.account == VAT_OUT:
                    out_by_term[term] += ln.amount
                elif ln.account == VAT_IN:
                    in_by_term[term] += ln.amount
        payable = [-self.ob[VAT_SETTLEMENT]] + [0] * 6
        for term, (_, last_month) in enumerate(VAT_TERMS, start=1):
            day = self.month_end(last_month)
            out, inn = out_by_term[term], in_by_term[term]
            lines = []
            if out:
                lines.append(_Line(VAT_OUT, -out, "Utgående mva for terminen"))
            if inn:
                lines.append(_Line(VAT_IN, -inn, "Inngående mva for terminen"))
            net = -(out + inn)  # positive: payable
            lines.append(_Line(VAT_SETTLEMENT, -net, f"Mva termin {term} {self.year}"))
            payable[term] = net
            doc = {
                "document_number": f"MVA-{self.year}-{term}",
                "document_date": day,
                "document_type": "VAT_RETURN",
            }
            self.add(day, ORDER_VAT, f"Mva-oppgjør termin {term} {self.year}", lines, BOOKKEEPER, doc)
        # Due 10 Feb (last year's 6th term), 10 Apr, 10 Jun, 31 Aug, 10 Oct, 10 Dec; the 6th is due next year.
        due_dates = (
            date(self.year, 2, 10),
            date(self.year, 4, 10),
            date(self.year, 6, 10),
            date(self.year, 8, 31),
            date(self.year, 10, 10),
            date(self.year, 12, 10),
        )
        for term, due in enumerate(due_dates):
            day = self.bank_day_on_or_after(due)
            assert day is not None
            amount = payable[term]
            label = f"termin 6 {self.year - 1}" if term == 0 else f"termin {term}"
            text = "Betaling merverdiavgift" if amount >= 0 else "Tilbakebetalt merverdiavgift"
            self.add(
                day,
                ORDER_BANK,
                f"{text} {label}",
                [
                    _Line(VAT_SETTLEMENT, amount, label),
                    _Line(BANK, -amount, "Skatteetaten", rel=("bankacc", 1)),
                ],
                BANKFEED,
                self._bank_doc(day, None, None),
            )

    # ---------------------------------------------------------- everything
    def build(self) -> DemoPlan:
        self.master()
        self.opening()
        self.payroll()
        self.loan_depreciation_interest()
        self.recurring_invoices()
        reserved = 12 * 3 + 6 * 3 + 6 * 2  # bank fees, VAT settlements and VAT payments, added at the end
        self.card_sales = [0] * 13
        self.till_count = 0
        self.credit_number = 0
        sales: list[tuple[dict[str, Any], int]] = []
        sales_lines = 0
        rng = self.rng
        while self.lines + sales_lines + reserved < self.target:
            roll = rng.random()
            if roll < 0.45:
                spec, n = self.sales_spec()
                sales.append((spec, len(sales)))
                sales_lines += n
            elif roll < 0.78:
                self.random_supplier_invoice()
            else:
                self.till_settlement()
        sales.sort(key=lambda s: (s[0]["day"], s[1]))
        for number, (spec, _) in enumerate(sales, start=10_001):
            self.sales_invoice(spec, number)
        self.bank_fees()
        self.vat_settlements()
        self.entries.sort(key=lambda e: (e.day, e.order, e.tiebreak))
        ro_id = 0
        for seq, e in enumerate(self.entries, start=1):
            e.seq = seq
            if e.doc is not None:
                ro_id += 1
                e.ro_id = ro_id
        return DemoPlan(
            year=self.year,
            seed=self.seed,
            client_account=ClientAccountIn(
                name=COMPANY_NAME, registration_number=COMPANY_REGNO, country="NO", currency="NOK"
            ),
            accounts=[
                AccountIn(code=code, name=name, opening_balance=_dec(self.ob.get(code, 0)))
                for code, name in ACCOUNTS
            ],
            tax_codes=[
                TaxCodeIn(
                    code=code,
                    description=text,
                    rate=Decimal(rate),
                    standard_tax_code=code,
                    direction=direction,  # type: ignore[arg-type]
                    account_code=account,
                )
                for code, text, rate, direction, account in TAX_CODES
            ],
            dimensions=[
                *(DimensionIn(type="bankacc", id=i, name=name, code=code) for i, code, name in BANK_ACCOUNTS),
                *(
                    DimensionIn(type="department", id=i, name=name, code=code)
                    for i, code, name in DEPARTMENTS
                ),
                *(
                    DimensionIn(type="project", id=i, name=_project_name(i, self.year), code=f"P{100 + i}")
                    for i in range(1, self.n_projects + 1)
                ),
            ],
            business_partners=self.partners,
            entries=self.entries,
        )


def _permille(amount: int, permille: int) -> int:
    """amount × permille / 1000, rounded half up to the øre."""
    q, r = divmod(abs(amount) * permille, 1000)
    if r >= 500:
        q += 1
    return q if amount >= 0 else -q


def _project_name(i: int, year: int) -> str:
    base = PROJECTS[(i - 1) % len(PROJECTS)]
    if i <= len(PROJECTS):
        return f"{base} {year}" if base in ("Sommersesong", "Nordlyssesong") else base
    return f"{base} {(i - 1) // len(PROJECTS) + 1}"


_ITEM_TEXT = {
    "goods": ("Varer til butikk", "Klær og tilbehør", "Suvenirer"),
    "food": ("Brød og bakevarer", "Råvarer kjøkken", "Fisk og skalldyr", "Meieriprodukter"),
    "transport": ("Bussleie med sjåfør", "Båtleie med mannskap", "Transport gjester"),
    "hotel": ("Overnatting gjester", "Hotellrom gruppe"),
    "fuel": ("Diesel båt", "Drivstoff minibuss"),
    "maintenance": ("Service påhengsmotor", "Reparasjon båt", "Vedlikehold utstyr"),
    "office": ("Kontorrekvisita", "Printerpapir og toner"),
    "marketing": ("Annonser", "Brosjyrer", "Digital markedsføring"),
    "tools": ("Flytevester", "Verktøy", "Småinventar"),
    "travel": ("Reise messe", "Taxi", "Fly og tog"),
}


# ------------------------------------------------------------------ public API
def build_plan(lines: int = DEFAULT_LINES, year: int = 2025, seed: int = 42) -> DemoPlan:
    """The demo year in compact form: master data as models, entries ready for any rendering."""
    with paused_gc():
        return _Builder(lines, year, seed).build()


def generate(lines: int = DEFAULT_LINES, year: int = 2025, seed: int = 42) -> DemoLedger:
    """One realistic year of a Norwegian small company as the ledger's pydantic models."""
    return build_plan(lines, year, seed).to_ledger()


# ------------------------------------------------------------------ CLI
def write_dataset(plan: DemoPlan, out: Path, formats: tuple[str, ...], segments: int = 1) -> dict[str, Any]:
    """Write the plan under `out`: Parquet segments + master data JSON, and/or a ledger journal."""
    from saldo.ledger.masterdata import MasterData
    from saldo.ledger.segments import write_lines

    out.mkdir(parents=True, exist_ok=True)
    info: dict[str, Any] = {
        "year": plan.year,
        "seed": plan.seed,
        "entries": len(plan.entries),
        "lines": plan.line_count,
        "files": [],
    }
    if "parquet" in formats:
        master = MasterData()
        master.upsert_accounts(plan.accounts)
        master.upsert_tax_codes(plan.tax_codes)
        master.upsert_dimensions(plan.dimensions)
        master.upsert_business_partners(plan.business_partners)
        (out / "master.json").write_bytes(master.to_json())
        (out / "client_account.json").write_text(plan.client_account.model_dump_json(indent=2) + "\n")
        info["files"] += ["master.json", "client_account.json"]
        per = -(-len(plan.entries) // max(1, segments))
        first_entry, first_uid = 1, 1
        for k in range(0, len(plan.entries), per):
            chunk = plan.entries[k : k + per]
            name = f"lines-{k // per + 1:04d}.parquet"
            write_lines(
                plan.storage_rows(entries=chunk, first_entry_id=first_entry, first_line_uid=first_uid),
                out / name,
            )
            first_entry += len(chunk)
            first_uid += sum(len(e.lines) for e in chunk)
            info["files"].append(name)
    if "ledger" in formats:
        with (out / "journal.ledger").open("w", encoding="utf-8") as fh:
            info["journal_postings"] = plan.write_journal(fh)
        info["files"].append("journal.ledger")
    (out / "dataset.json").write_text(json.dumps(info, indent=2) + "\n")
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m saldo_tools.demodata", description="Generate the demo ledger year as files."
    )
    parser.add_argument("--lines", type=int, default=DEFAULT_LINES, help="about this many journal lines")
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument(
        "--format",
        choices=("parquet", "ledger", "all"),
        default="all",
        help="Parquet segments + master data JSON, a ledger-cli/hledger journal, or both",
    )
    parser.add_argument("--segments", type=int, default=1, help="number of Parquet line segments")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    plan = build_plan(args.lines, args.year, args.seed)
    generated = time.perf_counter()
    formats = ("parquet", "ledger") if args.format == "all" else (args.format,)
    info = write_dataset(plan, args.out, formats, args.segments)
    done = time.perf_counter()
    print(
        f"{info['entries']:,} entries, {info['lines']:,} lines: generated in {generated - started:.1f} s, "
        f"written in {done - generated:.1f} s to {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
