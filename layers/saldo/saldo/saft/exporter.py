"""A client account's ledger as a SAF-T Financial 1.30 file, streamed from the ledger view.

What goes in (for the period `date_from`..`date_to`):
- Header: the company (name, organization number, address/contact/bank accounts when an import brought
  them, `<orgnr>MVA` when VAT-registered), SelectionStartDate/SelectionEndDate, software.
- MasterFiles: every account with GroupingCategory/GroupingCode (its own, or derived from the account
  number, mapping.derive_grouping) and opening/closing balances at the period's ends; customers and
  suppliers with a BalanceAccount per control account they have lines on; the tax table with standard
  tax codes; the analysis type table (one entry per dimension value).
- GeneralLedgerEntries: every posted entry in the period (drafts are not part of the books; a
  cancellation appears as the original and its reversal), one journal, with analysis, customer/supplier,
  tax information, references, and NumberOfEntries/TotalDebit/TotalCredit computed first.

Original SAF-T ids (accounts, tax codes, customers, suppliers, analysis types and values) that an import
had to map are written back as they were (MasterData.saft).

The entries are the bulk of a file and take the fast path: LINE_SQL has DuckDB sort the lines and write
their numbers and dates as text, packed into a few columns, one date range of at most SORT_LINES lines at
a time (so DuckDB's memory does not grow with the ledger), and `writer.TransactionText` turns the rows
into XML text without building a record per line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, BinaryIO

from saldo.ledger.query import LedgerView
from saldo.saft.mapping import (
    DEFAULT_ANALYSIS_TYPES,
    SAFT_BATCH,
    derive_grouping,
    extras_of,
    one_line_address,
)
from saldo.saft.writer import (
    Rendered,
    TransactionText,
    check_amount,
    neg,
    parties_xml,
    tax_head_xml,
    write_saft,
)

ZERO = Decimal("0.00")
FETCH = 8192
SORT_LINES = 200_000  # lines per sorted query at most (a day's lines are never split)
JOURNAL = ("GL", "Hovedbok", "GL")
SEP = "\x1f"  # between the fields packed into one text (chr(31); see LINE_SQL)
DIM_SEP = "\x1e"  # between a line's dimension keys ("type:id")


def _txt(column: str) -> str:
    """A text column for a packed field: NULL as empty, SEP as \\x01 (both removed from XML text anyway)."""
    return f"replace(coalesce({column}, ''), chr(31), chr(1))"


# A transaction's own fields, packed into one text: voucher, posting date, entry date (SystemEntryDate),
# SourceID, VoucherType (as imported, else the related object's document type), BatchID and the entry's
# description (last, so it may hold anything).
HEAD_SQL = f"""coalesce(voucher_id::VARCHAR, 'None') || chr(31) || posting_date::VARCHAR || chr(31)
    || coalesce(created_at::DATE::VARCHAR, '') || chr(31) || {_txt("created_by_name")} || chr(31)
    || {_txt("coalesce(voucher_type, ro_document_type)")} || chr(31) || {_txt("batch_id")} || chr(31)
    || coalesce(entry_description, '')"""

# A line's DueDate: an imported line's own (SAF-T has due dates per line only, and the import spreads a
# voucher's single one over its lines' related object); else the entry's related object's.
DUE_DATE = f"(CASE WHEN starts_with(batch_id, '{SAFT_BATCH}') THEN line_due_date ELSE ro_due_date END)"

# One row per line in the file's order, with few columns (each column costs the Python client time
# on every row): numbers and dates come formatted by DuckDB, packed into texts that Python splits.
# - head: HEAD_SQL on an entry's first line (line 1; NULL on the others),
# - parties: relation type, relation id, dimension keys and account code (last), which together decide
#   the line's AccountID, Analysis and CustomerID/SupplierID (one cached fragment per combination),
# - description: the line's, else the entry's (NULL: the account's name is used),
# - rest: the signed amount, line id, foreign currency (code, amount, exchange rate; empty for the
#   client account's own currency, and without a currency amount, which the schema requires with the
#   code), tax base and tax amount (empty without a tax code; a missing tax amount is 0.00), due date,
#   document number, payment reference and the tax code (last).
LINE_SQL = f"""
SELECT entry_id,
       CASE WHEN line_id = 1 THEN {HEAD_SQL} END,
       coalesce(relation_type, '') || chr(31) || coalesce(relation_id::VARCHAR, '') || chr(31)
           || coalesce(array_to_string(dimensions, chr(30)), '') || chr(31) || coalesce(account_code, ''),
       coalesce(nullif(description, ''), nullif(entry_description, '')),
       amount::VARCHAR || chr(31) || coalesce(line_id::VARCHAR, 'None') || chr(31)
           || CASE WHEN currency_code <> '' AND currency_code <> $currency AND currency_amount IS NOT NULL
                   THEN {_txt("currency_code")} || chr(31) || currency_amount::VARCHAR || chr(31)
                        || coalesce(exchange_rate::VARCHAR, '')
                   ELSE chr(31) || chr(31) END || chr(31)
           || CASE WHEN tax_code <> ''
                   THEN coalesce(tax_base_amount::VARCHAR, '') || chr(31)
                        || coalesce(tax_amount::VARCHAR, '0.00')
                   ELSE chr(31) END || chr(31)
           || coalesce({DUE_DATE}::VARCHAR, '') || chr(31) || {_txt("ro_document_number")} || chr(31)
           || {_txt("ro_payment_ref")} || chr(31) || CASE WHEN tax_code <> '' THEN tax_code ELSE '' END
FROM lines
WHERE NOT is_draft AND posting_date BETWEEN $date_from AND $date_to
ORDER BY posting_date, sequence_number, entry_id, line_id
"""

# The period's lines per day, to cut LINE_SQL into date ranges: DuckDB sorts one range at a time, so its
# memory follows SORT_LINES instead of the size of the ledger (the order is the same: the date comes first).
DAYS_SQL = """
SELECT posting_date, count(*) FROM lines
WHERE NOT is_draft AND posting_date BETWEEN ? AND ?
GROUP BY 1 ORDER BY 1
"""

# An entry whose lines do not start at 1 (Saldo numbers them from 1, so this is a fallback).
FIRST_HEAD_SQL = f"""
SELECT {HEAD_SQL} FROM lines
WHERE entry_id = ? AND NOT is_draft AND posting_date BETWEEN ? AND ?
ORDER BY posting_date, sequence_number, line_id LIMIT 1
"""

# Vouchers shared by several entries of the period: the second and later get `<voucher>-<entry id>`.
SHARED_VOUCHERS_SQL = """
SELECT coalesce(voucher_id::VARCHAR, 'None') FROM lines
WHERE NOT is_draft AND posting_date BETWEEN ? AND ?
GROUP BY voucher_id HAVING count(DISTINCT entry_id) > 1
"""


def file_name(registration_number: str, created: datetime, n: int = 1, m: int = 1) -> str:
    """Skatteetaten's convention: `SAF-T Financial_<orgnr>_<yyyymmddHHMMSS>_<n>_<m>.xml`."""
    return f"SAF-T Financial_{registration_number}_{created:%Y%m%d%H%M%S}_{n}_{m}.xml"


def fiscal_period(day: date, start_month: int) -> tuple[int, int]:
    """(Period, PeriodYear): the month of the fiscal year and the calendar year the fiscal year starts in."""
    period = (day.month - start_month) % 12 + 1
    year = day.year if day.month >= start_month else day.year - 1
    return period, min(max(year, 1970), 2100)


@dataclass
class ExportSummary:
    file_name: str
    entries: int
    lines: int
    total_debit: Decimal
    total_credit: Decimal


class _Ids:
    """Saldo ids → the SAF-T ids to write (the originals an import remembered, else Saldo's own)."""

    def __init__(self, view: LedgerView) -> None:
        master = view.master
        self.master = master
        self.extras = extras_of(master.saft)
        self.accounts = {code: rec["id"] for code, rec in self.extras["accounts"].items() if rec.get("id")}
        self.tax_codes = {code: rec["id"] for code, rec in self.extras["tax_codes"].items() if rec.get("id")}
        self.partners = self.extras["partners"]
        self.dims: dict[str, tuple[str, str]] = {}
        for key, dim in master.dimensions.items():
            rec = self.extras["dimensions"].get(key)
            if rec:
                self.dims[key] = (rec["type"], rec["id"])
            elif dim["type"] != "businesspartner":
                self.dims[key] = (DEFAULT_ANALYSIS_TYPES[dim["type"]][0], str(dim["id"]))

    def account(self, code: str) -> str:
        return self.accounts.get(code, code)

    def tax_code(self, code: str) -> str:
        return self.tax_codes.get(code, code)

    def party(self, pid: int, role: str) -> str:
        rec = self.partners.get(str(pid)) or {}
        return str(rec.get(f"{role}_id") or pid)

    def role(self, pid: int, account_code: str) -> str:
        """Whether a partner's line on `account_code` is a customer's or a supplier's."""
        kind = (self.master.business_partners.get(pid) or {}).get("kind", "customer")
        if kind in ("customer", "supplier"):
            return kind
        return "customer" if account_code[:1] == "1" else "supplier"


def export_saft(
    view: LedgerView,
    out: BinaryIO,
    *,
    date_from: date,
    date_to: date,
    created: datetime,
    software_version: str,
    user_id: str | None = None,
) -> ExportSummary:
    account = view.account
    ids = _Ids(view)
    master = view.master
    extras = ids.extras

    before = dict(
        view.rows(
            "SELECT account_code, sum(amount) FROM lines WHERE NOT is_draft AND posting_date < ? GROUP BY 1",
            [date_from],
        )
    )
    during = dict(
        view.rows(
            "SELECT account_code, sum(amount) FROM lines WHERE NOT is_draft AND posting_date BETWEEN ? AND ? "
            "GROUP BY 1",
            [date_from, date_to],
        )
    )
    entries, lines, debit, credit = view.rows(
        "SELECT count(DISTINCT entry_id), count(*), coalesce(sum(debit), 0), coalesce(sum(credit), 0) "
        "FROM lines WHERE NOT is_draft AND posting_date BETWEEN ? AND ?",
        [date_from, date_to],
    )[0]

    # ---- accounts
    account_rows = []
    for code in sorted(set(master.accounts) | set(before) | set(during)):
        rec = master.accounts.get(code) or {"name": code, "opening_balance": ZERO}
        opening = Decimal(rec.get("opening_balance") or 0) + (before.get(code) or ZERO)
        closing = opening + (during.get(code) or ZERO)
        category, gcode = rec.get("saft_grouping_category"), rec.get("saft_grouping_code")
        long_category = (extras["accounts"].get(code) or {}).get("grouping_category")
        if long_category and gcode:
            category = long_category
        if not (category and gcode):
            category, gcode = derive_grouping(code)
        account_rows.append(
            {
                "id": ids.account(code),
                "description": rec.get("name") or code,
                "grouping_category": category,
                "grouping_code": gcode,
                "opening": opening,
                "closing": closing,
            }
        )

    # ---- customers and suppliers
    balances: dict[int, list[tuple[str, Decimal, Decimal]]] = {}
    for pid, code, opening, movement in view.rows(
        "SELECT relation_id, account_code, coalesce(sum(amount) FILTER (WHERE posting_date < ?), 0), "
        "coalesce(sum(amount) FILTER (WHERE posting_date >= ?), 0) FROM lines "
        "WHERE NOT is_draft AND relation_type = 'businesspartner' AND posting_date <= ? "
        "GROUP BY 1, 2 ORDER BY 1, 2",
        [date_from, date_from, date_to],
    ):
        balances.setdefault(int(pid), []).append((code, opening, movement))
    customers, suppliers = [], []
    for pid in sorted(master.business_partners):
        bp = master.business_partners[pid]
        rec = ids.partners.get(str(pid)) or {}
        stored = {k: Decimal(v) for k, v in (rec.get("opening") or {}).items()}
        per_account = {code: (o, m) for code, o, m in balances.get(pid, [])}
        for code in stored:
            per_account.setdefault(code, (ZERO, ZERO))
        base = _party_base(bp, rec)
        for role, target in (("customer", customers), ("supplier", suppliers)):
            if bp.get("kind") not in (role, "both"):
                continue
            party = {
                **base,
                "id": ids.party(pid, role),
                "balances": [
                    {
                        "account_id": ids.account(code),
                        "opening": stored.get(code, ZERO) + o,
                        "closing": stored.get(code, ZERO) + o + m,
                    }
                    for code, (o, m) in sorted(per_account.items())
                    if ids.role(pid, code) == role
                ],
            }
            target.append(party)

    # ---- tax table
    tax_rows = []
    for code in sorted(master.tax_codes):
        tc = master.tax_codes[code]
        ext = extras["tax_codes"].get(code) or {}
        tax_rows.append(
            {
                "code": ids.tax_code(code),
                "effective_date": tc.get("valid_from"),
                "expiration_date": tc.get("valid_to"),
                "description": tc.get("description"),
                "percentage": tc.get("rate"),
                "country": ext.get("country") or account.country,
                "standard_code": tc.get("standard_tax_code") or "NA",
                "compensation": ext.get("compensation"),
                "base_rates": ext.get("base_rates") or [tc.get("base_rate") or 100],
            }
        )
        for v in ext.get("versions") or []:
            tax_rows.append(
                {
                    "code": v["code"],
                    "effective_date": v.get("effective_date"),
                    "expiration_date": v.get("expiration_date"),
                    "description": v.get("description"),
                    "percentage": v.get("percentage") or 0,
                    "country": v.get("country") or account.country,
                    "standard_code": v.get("standard_code") or "NA",
                    "compensation": v.get("compensation"),
                    "base_rates": v.get("base_rates") or [100],
                }
            )

    # ---- analysis type table
    analysis_rows = []
    type_names = {k: v.get("description") or k for k, v in extras["analysis_types"].items()}
    for key in sorted(ids.dims, key=lambda k: (ids.dims[k], k)):
        dim = master.dimensions[key]
        a_type, a_id = ids.dims[key]
        rec = extras["dimensions"].get(key) or {}
        analysis_rows.append(
            {
                "type": a_type,
                "type_description": type_names.get(a_type) or DEFAULT_ANALYSIS_TYPES[dim["type"]][1],
                "id": a_id,
                "id_description": dim.get("name") or a_id,
                "start_date": rec.get("start_date"),
                "end_date": rec.get("end_date"),
                "status": rec.get("status") or ("Active" if dim.get("active", True) else "Closed"),
            }
        )

    _check_amounts(Decimal(debit), Decimal(credit), account_rows, customers, suppliers)
    tax_rates = {code: tc.get("rate") for code, tc in master.tax_codes.items()}
    header = _header(view, extras, date_from, date_to, created, software_version, user_id)
    write_saft(
        out,
        header=header,
        accounts=account_rows,
        customers=customers,
        suppliers=suppliers,
        tax_codes=tax_rows,
        analysis=analysis_rows,
        totals=(int(entries), Decimal(debit), Decimal(credit)),
        journal=JOURNAL,
        transactions=_transactions(view, ids, tax_rates, date_from, date_to),
    )
    return ExportSummary(
        file_name(account.registration_number, created),
        int(entries),
        int(lines),
        Decimal(debit),
        Decimal(credit),
    )


def _check_amounts(
    debit: Decimal,
    credit: Decimal,
    accounts: list[dict[str, Any]],
    customers: list[dict[str, Any]],
    suppliers: list[dict[str, Any]],
) -> None:
    """Refuse the export before writing anything when a sum exceeds the schema's 18 digits.

    Lines are below 10^15 each; the totals and balances sum them. (Line amounts themselves always fit.)
    """
    check_amount(debit, "TotalDebit")
    check_amount(credit, "TotalCredit")
    for a in accounts:
        check_amount(a["opening"], f"The opening balance of account {a['id']}")
        check_amount(a["closing"], f"The closing balance of account {a['id']}")
    for kind, parties in (("customer", customers), ("supplier", suppliers)):
        for p in parties:
            for b in p["balances"]:
                check_amount(b["opening"], f"The opening balance of {kind} {p['id']} on {b['account_id']}")
                check_amount(b["closing"], f"The closing balance of {kind} {p['id']} on {b['account_id']}")


def _party_base(bp: dict[str, Any], rec: dict[str, Any]) -> dict[str, Any]:
    address = rec.get("address")
    if not (address and one_line_address(address) == bp.get("address")):
        address = None
        if bp.get("address") or bp.get("country"):
            address = {"StreetName": bp.get("address"), "Country": bp.get("country")}
    contacts = []
    if bp.get("email"):
        contacts.append(
            {"ContactPerson": {"FirstName": "NotUsed", "LastName": "NotUsed"}, "Email": bp["email"]}
        )
    return {
        "registration_number": bp.get("registration_number"),
        "name": bp.get("name"),
        "addresses": [address] if address else [],
        "contacts": contacts,
    }


def _header(
    view: LedgerView,
    extras: dict[str, Any],
    date_from: date,
    date_to: date,
    created: datetime,
    software_version: str,
    user_id: str | None,
) -> dict[str, Any]:
    account = view.account
    company = extras.get("company") or {}
    tax_regs = company.get("TaxRegistration") or (
        [{"TaxRegistrationNumber": f"{account.registration_number}MVA", "TaxAuthority": "Skatteetaten"}]
        if account.vat_registered
        else []
    )
    return {
        "date_created": created.date(),
        "software_company": "Saldo",
        "software_id": "Saldo",
        "software_version": software_version,
        "company": {
            "registration_number": account.registration_number,
            "name": account.name,
            "addresses": company.get("Address") or [],
            "contacts": company.get("Contact") or [],
            "tax_registrations": tax_regs,
            "bank_accounts": company.get("BankAccount") or [],
        },
        "currency": account.currency,
        "selection_start": date_from,
        "selection_end": date_to,
        "user_id": user_id,
    }


def _transactions(
    view: LedgerView, ids: _Ids, tax_rates: dict[str, Any], date_from: date, date_to: date
) -> Iterator[Rendered]:
    """The period's transactions as XML text, in chunks of some thousand lines."""
    account = view.account
    names = {code: a.get("name") for code, a in view.master.accounts.items()}
    tt = TransactionText()
    parties = _Parties(ids, names)
    tax_heads: dict[str, str] = {}
    with view.lock:
        shared = {row[0] for row in view.con.execute(SHARED_VOUCHERS_SQL, [date_from, date_to]).fetchall()}
        days = view.con.execute(DAYS_SQL, [date_from, date_to]).fetchall()
        heads = _Heads(tt, shared, account.fiscal_year_start_month)
        cur = view.con.cursor()
        try:
            parts: list[str] = []
            count = 0
            current: Any = _NONE
            for batch in _line_batches(cur, account.currency, days):
                for entry_id, head, key, description, rest in batch:
                    if entry_id != current:
                        if current is not _NONE:
                            parts.append("</Transaction>")
                            count += 1
                            if len(parts) >= 4096:
                                yield Rendered("".join(parts), count)
                                parts, count = [], 0
                        current = entry_id
                        if head is None:
                            head = _first_head(view, entry_id, date_from, date_to)
                        parts.append(heads.xml(entry_id, head))
                    (
                        amount,
                        record_id,
                        cur_code,
                        cur_amount,
                        rate,
                        base,
                        tax_amount,
                        due,
                        ref,
                        cid,
                        tax_code,
                    ) = rest.split(SEP, 10)
                    debit = amount[0] != "-"
                    if not debit:
                        amount = amount[1:]
                    currency = ""
                    if cur_code:
                        # DECIMAL(18,6) as text always has a point: the rate without trailing zeros.
                        rate_text = rate.rstrip("0").rstrip(".") if rate else None
                        currency = tt.currency(cur_code, cur_amount if debit else neg(cur_amount), rate_text)
                    tax = ""
                    if tax_code:
                        tax_head = tax_heads.get(tax_code)
                        if tax_head is None:
                            tax_head = tax_heads[tax_code] = tax_head_xml(
                                ids.tax_code(tax_code), tax_rates.get(tax_code)
                            )
                        tax = tt.tax(tax_head, (base if debit else neg(base)) if base else None, tax_amount)
                    parts.append(
                        tt.line(
                            record_id,
                            parties[key],
                            description or parties.fallback_description(key),
                            debit,
                            amount,
                            currency,
                            tax,
                            ref,
                            cid,
                            due,
                        )
                    )
            if current is not _NONE:
                parts.append("</Transaction>")
                count += 1
            if parts:
                yield Rendered("".join(parts), count)
        finally:
            cur.close()


class _Heads:
    """HEAD_SQL's text of an entry → the start of its `<Transaction>`."""

    def __init__(self, tt: TransactionText, shared: set[str], start_month: int) -> None:
        self.tt = tt
        self.shared = shared  # SHARED_VOUCHERS_SQL
        self.seen: set[str] = set()
        self.start_month = start_month
        self.periods: dict[str, tuple[int, int]] = {}

    def xml(self, entry_id: int, head: str) -> str:
        voucher, day, created, source, voucher_type, batch_id, description = head.split(SEP, 6)
        tx_id = voucher
        if voucher in self.shared:
            if voucher in self.seen:
                tx_id = f"{voucher}-{entry_id}"
            else:
                self.seen.add(voucher)
        period = self.periods.get(day)
        if period is None:
            period = self.periods[day] = fiscal_period(date.fromisoformat(day), self.start_month)
        entered = created or day
        return self.tt.head(
            tx_id, period[0], period[1], day, source, voucher_type, description, batch_id, entered, entered,
            str(entry_id),
        )  # fmt: skip


_NONE = object()


def _line_batches(cur: Any, currency: str, days: list[tuple[date, int]]) -> Iterator[list[tuple[Any, ...]]]:
    """LINE_SQL's rows in FETCH-row batches, one date range of at most SORT_LINES lines at a time."""
    for first, last in _date_ranges(days, SORT_LINES):
        cur.execute(LINE_SQL, {"currency": currency, "date_from": first, "date_to": last})
        while batch := cur.fetchmany(FETCH):
            yield batch


def _date_ranges(days: list[tuple[date, int]], most: int) -> list[tuple[date, date]]:
    """Consecutive (first, last) day ranges holding at most `most` lines each (or one day with more)."""
    ranges: list[tuple[date, date]] = []
    lines = 0
    for day, n in days:
        if ranges and lines + n <= most:
            ranges[-1] = (ranges[-1][0], day)
            lines += n
        else:
            ranges.append((day, day))
            lines = n
    return ranges


def _first_head(view: LedgerView, entry_id: int, date_from: date, date_to: date) -> str:
    """HEAD_SQL of an entry from its first line, whatever its number (the caller holds the view's lock)."""
    cur = view.con.cursor()
    try:
        return cur.execute(FIRST_HEAD_SQL, [entry_id, date_from, date_to]).fetchone()[0]
    finally:
        cur.close()


class _Parties(dict[str, str]):
    """LINE_SQL's `parties` text → the line's AccountID, Analysis and CustomerID/SupplierID as XML."""

    def __init__(self, ids: _Ids, names: dict[str, Any]) -> None:
        super().__init__()
        self.ids = ids
        self.names = names

    def __missing__(self, key: str) -> str:
        ids = self.ids
        rel_type, rel_id, dims, code = key.split(SEP, 3)
        analysis = [ids.dims[d] for d in dims.split(DIM_SEP) if d in ids.dims] if dims else []
        customer_id = supplier_id = None
        if rel_type == "businesspartner" and rel_id:
            if ids.role(int(rel_id), code) == "customer":
                customer_id = ids.party(int(rel_id), "customer")
            else:
                supplier_id = ids.party(int(rel_id), "supplier")
        elif rel_type and rel_id:
            rel = ids.dims.get(f"{rel_type}:{rel_id}")
            if rel and rel not in analysis:
                analysis.append(rel)
        if len(self) >= 65536:
            self.clear()
        out = self[key] = parties_xml(ids.account(code), analysis, customer_id, supplier_id)
        return out

    def fallback_description(self, key: str) -> str:
        """A line without a description of its own or its entry's: the account's name, else its code."""
        code = key.split(SEP, 3)[3]
        return self.names.get(code) or code
