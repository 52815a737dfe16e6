"""Sample documents shaped like the real reports: balance sheet, 12-month income statement, general ledger."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from saldo.render import Column, Document, ReportMeta, Row, Text, account_group_path, grouped_rows
from saldo.render.formats import Language, month_name

COMPANY = "Ærlig Øl & Bakst AS"
ORGNR = "923456783"
GENERATED = datetime(2026, 1, 15, 8, 30, tzinfo=UTC)

# Own group names (not the NS 4102 texts): class = first digit, group = first two digits.
CLASSES = {
    "1": "Eiendeler",
    "2": "Egenkapital og gjeld",
    "3": "Salgsinntekter",
    "4": "Varekostnad",
    "5": "Lønn og personal",
    "6": "Andre driftskostnader",
    "7": "Øvrige driftskostnader",
    "8": "Finansposter og skatt",
}
GROUPS = {
    "12": "Maskiner, inventar og kjøretøy",
    "14": "Varer på lager",
    "15": "Fordringer",
    "19": "Bank og kontanter",
    "20": "Egenkapital",
    "22": "Langsiktig gjeld",
    "24": "Leverandørgjeld",
    "26": "Skattetrekk og trekk",
    "27": "Skyldige offentlige avgifter",
    "29": "Annen kortsiktig gjeld",
    "30": "Salg, avgiftspliktig",
    "31": "Salg, avgiftsfritt",
    "40": "Råvarer og innkjøpte varer",
    "43": "Handelsvarer",
    "50": "Lønn",
    "54": "Arbeidsgiveravgift og pensjon",
    "63": "Lokaler",
    "65": "Verktøy og inventar",
    "68": "Kontorkostnader",
    "71": "Reise og diett",
    "77": "Andre kostnader",
    "80": "Finansinntekter",
    "81": "Finanskostnader",
}

BALANCE_ACCOUNTS: list[tuple[str, str, str]] = [
    ("1200", "Maskiner og anlegg", "412500.00"),
    ("1250", "Inventar og bakeriutstyr", "186230.50"),
    ("1280", "Kontormaskiner", "24999.00"),
    ("1460", "Råvarer (mel, malt, humle)", "98412.75"),
    ("1500", "Kundefordringer", "1234567.89"),
    ("1570", "Andre kortsiktige fordringer", "15000.00"),
    ("1920", "Bankinnskudd DNB", "845120.33"),
    ("1950", "Skattetrekkskonto", "112300.00"),
    ("2000", "Aksjekapital", "-100000.00"),
    ("2050", "Annen egenkapital", "-1357800.12"),
    ("2240", "Pantelån Sparebanken Sør", "-650000.00"),
    ("2400", "Leverandørgjeld", "-387215.40"),
    ("2600", "Forskuddstrekk", "-112300.00"),
    ("2740", "Oppgjørskonto merverdiavgift", "-145983.25"),
    ("2770", "Skyldig arbeidsgiveravgift", "-48212.00"),
    ("2940", "Skyldige feriepenger", "-96540.00"),
    ("2990", "Annen påløpt kostnad, Måløy-filialen", "-31079.70"),
]


def _grouping(code: str) -> dict[str, str]:
    return {
        "level_1_code": code[0],
        "level_1_name": CLASSES[code[0]],
        "level_2_code": code[:2],
        "level_2_name": GROUPS[code[:2]],
        "level_3_code": code,
        "level_3_name": "",
    }


def balance_items() -> list[dict[str, Any]]:
    """Seed-shaped balance sheet rows."""
    return [
        {"grouping": _grouping(code), "account_code": code, "account_name": name, "balance": Decimal(bal)}
        for code, name, bal in BALANCE_ACCOUNTS
    ]


def meta(kind: str, title: Text, lang: Language = "nb", **kw: Any) -> ReportMeta:
    return ReportMeta(
        kind=kind,
        title=title,
        company_name=COMPANY,
        organization_number=ORGNR,
        generated_at=GENERATED,
        language=lang,
        **kw,
    )


def balance_sheet(lang: Language = "nb", totals: dict[str, Decimal] | None = None) -> Document:
    columns = [
        Column("account_code", Text("Konto", "Account"), "text", 8),
        Column("account_name", Text("Kontonavn", "Account name"), "text", 40),
        Column("balance", Text("Saldo 31.12.2025", "Balance 2025-12-31"), "amount", 16),
    ]

    def rows() -> Iterator[Row]:
        return grouped_rows(
            balance_items(),
            path=lambda r: account_group_path(r, (1, 2)),
            cells=lambda r: {k: r[k] for k in ("account_code", "account_name", "balance")},
            sum_keys=["balance"],
            lang=lang,
            grand_total=Text("Sum eiendeler, egenkapital og gjeld", "Total assets, equity and liabilities"),
            totals=totals,
        )

    return Document(
        meta=meta(
            "balance-sheet",
            Text("Balanse", "Balance sheet"),
            lang,
            report_date=date(2025, 12, 31),
            filters={"include_drafts": False, "dimensions": ["project:1", "department:2"]},
        ),
        columns=columns,
        rows=rows,
    )


INCOME_ACCOUNTS: list[tuple[str, str, int]] = [
    ("3000", "Salgsinntekt brød og bakst", -410000),
    ("3010", "Salgsinntekt øl", -265000),
    ("3100", "Salgsinntekt, avgiftsfri (kurs)", -18000),
    ("4000", "Innkjøp råvarer", 142000),
    ("4300", "Innkjøp av varer for videresalg", 61000),
    ("5000", "Lønn til ansatte", 188000),
    ("5400", "Arbeidsgiveravgift", 26500),
    ("6300", "Leie lokale Grünerløkka", 45000),
    ("6540", "Inventar", 4300),
    ("6800", "Kontorrekvisita", 1200),
    ("7140", "Reisekostnad, ikke oppgavepliktig", 2150),
    ("7770", "Bank- og kortgebyrer", 980),
    ("8050", "Renteinntekt", -1250),
    ("8150", "Rentekostnad", 5400),
]


def income_items() -> list[dict[str, Any]]:
    """Seed-shaped income statement rows with `period_debit_movements` for months 1..12."""
    rng = random.Random(7)
    out = []
    for code, name, base in INCOME_ACCOUNTS:
        months = {}
        for m in range(1, 13):
            season = 1 + 0.25 * ((m in (6, 7, 12)) - (m in (1, 2)))
            cents = int(base * 100 * season * (0.85 + 0.3 * rng.random()))
            months[str(m)] = Decimal(cents).scaleb(-2)
        out.append(
            {
                "grouping": _grouping(code),
                "account_code": code,
                "account_name": name,
                "period_debit_movements": months,
            }
        )
    return out


def income_statement(lang: Language = "nb", totals: dict[str, Decimal] | None = None) -> Document:
    month_keys = [f"m{m}" for m in range(1, 13)]
    columns = [
        Column("account_code", Text("Konto", "Account"), "text", 6),
        Column("account_name", Text("Kontonavn", "Account name"), "text", 30),
        *[Column(f"m{m}", month_name(m, lang), "amount", 11) for m in range(1, 13)],
        Column("total", Text("Sum år", "Year"), "amount", 13),
    ]

    def cells(r: dict[str, Any]) -> dict[str, Any]:
        pdm = r["period_debit_movements"]
        c: dict[str, Any] = {"account_code": r["account_code"], "account_name": r["account_name"]}
        for m in range(1, 13):
            c[f"m{m}"] = pdm[str(m)]
        c["total"] = sum(pdm.values(), Decimal(0))
        return c

    def rows() -> Iterator[Row]:
        return grouped_rows(
            income_items(),
            path=lambda r: account_group_path(r, (1, 2)),
            cells=cells,
            sum_keys=[*month_keys, "total"],
            lang=lang,
            grand_total=Text("Årsresultat", "Result for the year"),
            totals=totals,
        )

    return Document(
        meta=meta(
            "income-statement",
            Text("Resultatregnskap per måned", "Income statement by month"),
            lang,
            period_from=date(2025, 1, 1),
            period_to=date(2025, 12, 31),
        ),
        columns=columns,
        rows=rows,
    )


GL_ACCOUNTS = [
    ("1500", "Kundefordringer"),
    ("1920", "Bankinnskudd DNB"),
    ("2400", "Leverandørgjeld"),
    ("2740", "Oppgjørskonto merverdiavgift"),
    ("3000", "Salgsinntekt brød og bakst"),
    ("3010", "Salgsinntekt øl"),
    ("4000", "Innkjøp råvarer"),
    ("5000", "Lønn til ansatte"),
    ("6300", "Leie lokale Grünerløkka"),
    ("6800", "Kontorrekvisita"),
    ("7140", "Reisekostnad"),
    ("7770", "Bank- og kortgebyrer"),
]
GL_TEXTS = [
    "Salg kasse Bærum",
    "Faktura Mølleriet Åsgårdstrand",
    "Innbetaling kunde Sjøkanten Kafé",
    "Betaling leverandør Ølbrygg-Økonomi AS",
    "Kortgebyr Nets",
    "Husleie Grünerløkka",
    "Lønn desember, forskudd",
    "Diett tur til Tromsø (bryggeritreff)",
]


def gl_lines(n: int, seed: int = 1) -> Iterator[dict[str, Any]]:
    """`n` posting lines ordered by account and date, spread over the GL accounts."""
    rng = random.Random(seed)
    per = n // len(GL_ACCOUNTS)
    rest = n - per * len(GL_ACCOUNTS)
    voucher = 10000
    for i, (code, name) in enumerate(GL_ACCOUNTS):
        count = per + (1 if i < rest else 0)
        day = date(2025, 1, 1)
        step = max(1, 365 * 24 // max(count, 1))
        for j in range(count):
            voucher += 1
            amount = Decimal(rng.randint(-900000, 900000)).scaleb(-2)
            posted = day + timedelta(hours=step * j)
            yield {
                "account_code": code,
                "account_name": name,
                "posting_date": posted,
                "voucher": voucher,
                "description": rng.choice(GL_TEXTS),
                "debit": amount if amount > 0 else None,
                "credit": -amount if amount < 0 else None,
            }


def general_ledger(n: int, lang: Language = "nb", totals: dict[str, Decimal] | None = None) -> Document:
    columns = [
        Column("posting_date", Text("Dato", "Date"), "date", 10),
        Column("voucher", Text("Bilag", "Voucher"), "text", 7),
        Column("description", Text("Tekst", "Description"), "text", 36),
        Column("debit", Text("Debet", "Debit"), "amount", 14),
        Column("credit", Text("Kredit", "Credit"), "amount", 14),
        Column("balance", Text("Saldo", "Balance"), "amount", 15),
    ]

    def rows() -> Iterator[Row]:
        running: dict[str, Decimal] = {}

        def cells(r: dict[str, Any]) -> dict[str, Any]:
            bal = running.get(r["account_code"], Decimal(0)) + (r["debit"] or 0) - (r["credit"] or 0)
            running[r["account_code"]] = bal
            return {
                "posting_date": r["posting_date"],
                "voucher": str(r["voucher"]),
                "description": r["description"],
                "debit": r["debit"],
                "credit": r["credit"],
                "balance": bal,
            }

        return grouped_rows(
            gl_lines(n),
            path=lambda r: [(r["account_code"], r["account_name"])],
            cells=cells,
            sum_keys=["debit", "credit"],
            lang=lang,
            totals=totals,
        )

    return Document(
        meta=meta(
            "general-ledger",
            Text("Hovedbok", "General ledger"),
            lang,
            period_from=date(2025, 1, 1),
            period_to=date(2025, 12, 31),
            filters={"include_reconciled": True, "include_cancelled": False},
        ),
        columns=columns,
        rows=rows,
    )
