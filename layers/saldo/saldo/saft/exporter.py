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
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, BinaryIO

from saldo.ledger.query import LedgerView
from saldo.saft.mapping import DEFAULT_ANALYSIS_TYPES, derive_grouping, extras_of, one_line_address
from saldo.saft.writer import write_saft

ZERO = Decimal("0.00")
FETCH = 4096
JOURNAL = ("GL", "Hovedbok", "GL")

LINE_SQL = """
SELECT entry_id, line_id, voucher_id, posting_date, account_code, description, entry_description, amount,
       currency_code, currency_amount, exchange_rate, tax_code, tax_base_amount, tax_amount, relation_type,
       relation_id, dimensions, created_by_name, ro_document_number, ro_due_date, ro_payment_ref,
       ro_document_type, batch_id, created_at
FROM lines
WHERE NOT is_draft AND posting_date BETWEEN ? AND ?
ORDER BY posting_date, sequence_number, entry_id, line_id
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
) -> Iterator[dict[str, Any]]:
    account = view.account
    start_month = account.fiscal_year_start_month
    names = {code: a.get("name") for code, a in view.master.accounts.items()}
    seen_vouchers: set[str] = set()
    with view.lock:
        cur = view.con.cursor()
        try:
            cur.execute(LINE_SQL, [date_from, date_to])
            current: list[tuple[Any, ...]] = []
            while True:
                batch = cur.fetchmany(FETCH)
                for row in batch:
                    if current and row[0] != current[0][0]:
                        yield _transaction(
                            current, ids, tax_rates, names, start_month, account.currency, seen_vouchers
                        )
                        current = []
                    current.append(row)
                if not batch:
                    break
            if current:
                yield _transaction(
                    current, ids, tax_rates, names, start_month, account.currency, seen_vouchers
                )
        finally:
            cur.close()


def _transaction(
    rows: list[tuple[Any, ...]],
    ids: _Ids,
    tax_rates: dict[str, Any],
    names: dict[str, Any],
    start_month: int,
    currency: str,
    seen_vouchers: set[str],
) -> dict[str, Any]:
    first = rows[0]
    entry_id, _line_id, voucher_id, posting_date = first[0], first[1], first[2], first[3]
    tx_id = str(voucher_id)
    if tx_id in seen_vouchers:
        tx_id = f"{voucher_id}-{entry_id}"
    seen_vouchers.add(tx_id)
    period, period_year = fiscal_period(posting_date, start_month)
    created_at = first[23]
    lines = []
    for r in rows:
        (
            _e,
            line_id,
            _v,
            _d,
            code,
            description,
            entry_description,
            amount,
            cur_code,
            cur_amount,
            rate,
            tax_code,
            tax_base,
            tax_amount,
            rel_type,
            rel_id,
            dims,
            _by,
            doc_no,
            due,
            pay_ref,
            _dt,
            _b,
            _c,
        ) = r
        analysis = [ids.dims[d] for d in dims or [] if d in ids.dims]
        customer_id = supplier_id = None
        if rel_type == "businesspartner" and rel_id is not None:
            role = ids.role(int(rel_id), code)
            if role == "customer":
                customer_id = ids.party(int(rel_id), "customer")
            else:
                supplier_id = ids.party(int(rel_id), "supplier")
        elif rel_type and rel_id is not None:
            rel = ids.dims.get(f"{rel_type}:{rel_id}")
            if rel and rel not in analysis:
                analysis.append(rel)
        line: dict[str, Any] = {
            "record_id": str(line_id),
            "account_id": ids.account(code),
            "analysis": analysis,
            "customer_id": customer_id,
            "supplier_id": supplier_id,
            "description": description or entry_description or names.get(code) or code,
            "amount": amount,
            "reference_number": doc_no,
            "cid": pay_ref,
            "due_date": due,
        }
        if cur_code and cur_code != currency:
            line["currency"] = {"code": cur_code, "amount": cur_amount, "rate": rate}
        if tax_code:
            line["tax"] = {
                "code": ids.tax_code(tax_code),
                "percentage": tax_rates.get(tax_code),
                "base": tax_base,
                "amount": tax_amount if tax_amount is not None else ZERO,
            }
        lines.append(line)
    return {
        "id": tx_id,
        "period": period,
        "period_year": period_year,
        "date": posting_date,
        "source_id": first[17],
        "voucher_type": first[21],
        "description": first[6],
        "batch_id": first[22],
        "system_entry_date": created_at.date() if created_at else None,
        "gl_posting_date": created_at.date() if created_at else None,
        "system_id": str(entry_id),
        "lines": lines,
    }
