"""Each report as a renderable `Document` (Excel, HTML, PDF): the same figures as its JSON, with the
account hierarchy, subtotals and totals. Rows stream from the report functions; a general ledger of a
million lines is never held in memory."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from saldo.ledger.query import OPEN_ITEM_LINES, LedgerView
from saldo.render import Column, Document, ReportMeta, Row, Text, account_group_path, grouped_rows
from saldo.render.formats import Language, month_name
from saldo.reports.common import LineFilter
from saldo.reports.general_ledger import iter_rows

ZERO = Decimal("0.00")

TITLES = {
    "balance-sheet": Text("Balanse", "Balance sheet"),
    "income-statement": Text("Resultatregnskap", "Income statement"),
    "trial-balance": Text("Saldobalanse", "Trial balance"),
    "general-ledger": Text("Hovedbok", "General ledger"),
    "accounts-receivable": Text("Kundereskontro", "Accounts receivable"),
    "accounts-payable": Text("Leverandørreskontro", "Accounts payable"),
    "vat": Text("Mva-rapport", "VAT report"),
}

ACCOUNT = Column("account_code", Text("Konto", "Account"), "text", 7)
ACCOUNT_NAME = Column("account_name", Text("Kontonavn", "Account name"), "text", 34)
RELATION = Column("relation_name", Text("Dimensjon", "Dimension"), "text", 22)


def meta(
    view: LedgerView,
    kind: str,
    lang: Language,
    *,
    period_from: date | None = None,
    period_to: date | None = None,
    report_date: date | None = None,
    filters: dict[str, Any] | None = None,
) -> ReportMeta:
    account = view.account
    return ReportMeta(
        kind=kind,
        title=TITLES[kind],
        company_name=account.name,
        organization_number=account.registration_number,
        period_from=period_from,
        period_to=period_to,
        report_date=report_date,
        language=lang,
        filters=filters or {},
        currency=account.currency,
    )


def _grouped(
    items: list[dict[str, Any]], cells: Any, sums: list[str], lang: Language, grand_total: Text | bool = True
) -> Iterator[Row]:
    ordered = sorted(
        items,
        key=lambda r: (
            r["grouping"]["level_1_code"],
            r["grouping"]["level_2_code"],
            r["account_code"],
            r.get("relation_id") or 0,
        ),
    )
    return grouped_rows(
        ordered,
        path=lambda r: account_group_path(r, (1, 2)),
        cells=cells,
        sum_keys=sums,
        lang=lang,
        grand_total=grand_total,
    )


def balance_sheet_document(
    view: LedgerView, rows: list[dict[str, Any]], report_date: date, lang: Language, filters: dict[str, Any]
) -> Document:
    columns = [ACCOUNT, ACCOUNT_NAME, Column("balance", Text("Saldo", "Balance"), "amount", 16)]
    return Document(
        meta=meta(view, "balance-sheet", lang, report_date=report_date, filters=filters),
        columns=columns,
        rows=lambda: _grouped(
            rows,
            lambda r: {k: r[k] for k in ("account_code", "account_name", "balance")},
            ["balance"],
            lang,
            Text("Kontroll: eiendeler + egenkapital og gjeld", "Check: assets + equity and liabilities"),
        ),
    )


def income_statement_document(
    view: LedgerView,
    rows: list[dict[str, Any]],
    date_from: date,
    date_to: date,
    lang: Language,
    filters: dict[str, Any],
    grouped_by: str | None,
) -> Document:
    months = _months_in_order(date_from, date_to)
    columns = [
        ACCOUNT,
        ACCOUNT_NAME,
        *([RELATION] if grouped_by else []),
        *[Column(f"m{m}", month_name(m, lang), "amount", 11) for m in months],
        Column("total", Text("Sum", "Total"), "amount", 13),
    ]

    def cells(r: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "account_code": r["account_code"],
            "account_name": r["account_name"],
            "relation_name": r.get("relation_name"),
        }
        for m in months:
            out[f"m{m}"] = r["period_debit_movements"][str(m)]
        out["total"] = sum(r["period_debit_movements"].values(), ZERO)
        return out

    return Document(
        meta=meta(view, "income-statement", lang, period_from=date_from, period_to=date_to, filters=filters),
        columns=columns,
        orientation="landscape",
        rows=lambda: _grouped(
            rows,
            cells,
            [*(f"m{m}" for m in months), "total"],
            lang,
            Text("Resultat (negativt = overskudd)", "Result (negative = profit)"),
        ),
    )


def _months_in_order(date_from: date, date_to: date) -> list[int]:
    months, y, m = [], date_from.year, date_from.month
    while (y, m) <= (date_to.year, date_to.month) and len(months) < 12:
        months.append(m)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return months


def trial_balance_document(
    view: LedgerView,
    rows: list[dict[str, Any]],
    date_from: date,
    date_to: date,
    lang: Language,
    filters: dict[str, Any],
) -> Document:
    with_relations = any(r["relation_type"] for r in rows)
    amounts = ["incoming_balance", "debit", "credit", "outgoing_balance"]
    columns = [
        ACCOUNT,
        ACCOUNT_NAME,
        *([RELATION] if with_relations else []),
        Column("incoming_balance", Text("Inngående", "Incoming"), "amount", 15),
        Column("debit", Text("Debet", "Debit"), "amount", 15),
        Column("credit", Text("Kredit", "Credit"), "amount", 15),
        Column("outgoing_balance", Text("Utgående", "Outgoing"), "amount", 15),
    ]
    return Document(
        meta=meta(view, "trial-balance", lang, period_from=date_from, period_to=date_to, filters=filters),
        columns=columns,
        rows=lambda: _grouped(
            rows,
            lambda r: {k: r.get(k) for k in ("account_code", "account_name", "relation_name", *amounts)},
            amounts,
            lang,
            Text("Sum (skal være 0)", "Total (must be 0)"),
        ),
    )


LEDGER_COLUMNS = [
    Column("posting_date", Text("Dato", "Date"), "date", 10),
    Column("voucher_id", Text("Bilag", "Voucher"), "text", 11),  # text: the label of a sum may span it
    Column("account_code", Text("Konto", "Account"), "text", 7),
    Column("description", Text("Tekst", "Description"), "text", 36),
    Column("partner", Text("Kunde/leverandør", "Customer/supplier"), "text", 20),
    Column("tax_code", Text("Mva", "VAT"), "text", 5),
    Column("debit", Text("Debet", "Debit"), "amount", 14),
    Column("credit", Text("Kredit", "Credit"), "amount", 14),
]
OPEN_COLUMNS = [
    *LEDGER_COLUMNS,
    Column("due_date", Text("Forfall", "Due"), "date", 10),
    Column("open_amount", Text("Åpent", "Open"), "amount", 14),
]


def _ledger_cells(r: dict[str, Any]) -> dict[str, Any]:
    ro = r["journal_entry"]["related_object"] or {}
    partner = (ro.get("business_partner") or {}).get("name")
    open_amount = r["debit_amount"] - (
        r["reconciled_amount"] if r["debit_amount"] >= 0 else -r["reconciled_amount"]
    )
    return {
        "posting_date": r["posting_date"],
        "voucher_id": str(r["journal_entry"]["voucher_id"] or ""),
        "account_code": r["account_code"],
        "description": r["description"],
        "partner": partner,
        "tax_code": r["tax_code"],
        "debit": r["debit"],
        "credit": r["credit"],
        "due_date": ro.get("due_date"),
        "open_amount": open_amount,
    }


def ledger_document(
    view: LedgerView, kind: str, flt: LineFilter, lang: Language, filters: dict[str, Any]
) -> Document:
    """General ledger grouped by account; AP/AR grouped by business partner with open amounts."""
    open_items = kind in ("accounts-receivable", "accounts-payable")
    names = {code: a["name"] for code, a in view.master.accounts.items()}

    def rows() -> Iterable[Row]:
        items = iter_rows(
            view,
            flt,
            order="partner" if open_items else "account",
            table=OPEN_ITEM_LINES if open_items else "lines",
        )
        if open_items:
            path = lambda r: [((str(_partner_id(r) or "")), _partner_name(view, r, lang))]  # noqa: E731
            sums = ["debit", "credit", "open_amount"]
        else:
            path = lambda r: [(r["account_code"], names.get(r["account_code"], ""))]  # noqa: E731
            sums = ["debit", "credit"]
        return grouped_rows(
            items, path=path, cells=_ledger_cells, sum_keys=sums, lang=lang, bookmark_levels=1
        )

    return Document(
        meta=meta(view, kind, lang, period_from=flt.date_from, period_to=flt.date_to, filters=filters),
        columns=OPEN_COLUMNS if open_items else LEDGER_COLUMNS,
        rows=rows,
    )


def _partner_id(r: dict[str, Any]) -> int | None:
    if r["relation_type"] == "businesspartner":
        return r["relation_id"]
    ro = r["journal_entry"]["related_object"] or {}
    return (ro.get("business_partner") or {}).get("id")


def _partner_name(view: LedgerView, r: dict[str, Any], lang: Language) -> str:
    pid = _partner_id(r)
    if pid is None:
        return "Uten kunde/leverandør" if lang == "nb" else "No customer/supplier"
    partner = view.master.business_partners.get(pid)
    return partner["name"] if partner else str(pid)


def vat_document(
    view: LedgerView, report: dict[str, Any], lang: Language, filters: dict[str, Any]
) -> Document:
    columns = [
        Column("code", Text("Kode", "Code"), "text", 6),
        Column("description", Text("Beskrivelse", "Description"), "text", 30),
        Column("rate", Text("Sats", "Rate"), "percent", 7),
        Column("base", Text("Grunnlag", "Base"), "amount", 15),
        Column("computed", Text("Beregnet mva", "Computed VAT"), "amount", 14),
        Column("posted", Text("Bokført mva", "Posted VAT"), "amount", 14),
        Column("difference", Text("Avvik", "Difference"), "amount", 12),
        Column("reportable", Text("Mva-melding", "VAT return"), "amount", 14),
        Column("acquisition", Text("Omvendt avgiftsplikt", "Reverse charge"), "amount", 14),
    ]

    def cells(r: dict[str, Any]) -> dict[str, Any]:
        return {
            "code": r["tax_code"]["code"],
            "description": r["tax_code"]["description"],
            "rate": r["tax_code"]["tax_rate"],
            "base": r["base_debit_amount"] - r["base_credit_amount"],
            "computed": r["tax_debit_amount"] - r["tax_credit_amount"],
            "posted": r["posted_tax_debit_amount"] - r["posted_tax_credit_amount"],
            "difference": r["reconciliation_debit_amount"] - r["reconciliation_credit_amount"],
            "reportable": r["reportable_tax_amount"],
            "acquisition": r["reportable_acquisition_tax_amount"],
        }

    def rows() -> Iterator[Row]:
        for r in report["rows"]:
            yield Row.detail(cells(r))
        totals = report["totals"]
        yield Row.subtotal(
            Text("Sum", "Total").get(lang),
            {
                "reportable": totals["reportable_tax_amount"],
                "acquisition": totals["reportable_acquisition_tax_amount"],
            },
        )
        yield Row.total(
            Text("Mva å betale (negativt = til gode)", "VAT payable (negative = refund)").get(lang),
            {"reportable": totals["vat_payable"]},
        )

    period = report["period"]
    return Document(
        meta=meta(
            view, "vat", lang, period_from=period["date_from"], period_to=period["date_to"], filters=filters
        ),
        columns=columns,
        rows=rows,
        orientation="landscape",
    )
