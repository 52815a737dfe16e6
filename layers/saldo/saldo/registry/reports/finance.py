"""Finans: income statement and balance sheet summary for the last five fiscal years, the key ratios with
their trend, and the auditor's statement of each year.

Ratios (None when a figure is missing or a divisor is zero):
gross margin = gross profit / revenue; operating margin = operating profit / revenue; return on equity =
profit / average equity (opening and closing; null when the opening equity is unknown); solvency ratio =
equity / total assets; current ratio = current assets / current liabilities.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from saldo.registry.reports import blocks
from saldo.registry.reports.content import CompanyFile
from saldo.registry.reports.labels import Lang, Style, text
from saldo.render.sections import Notice, NoticeLevel, Notices, Paragraph, Section, SectionDocument, Table

KIND = "Finans"
YEARS = 5
INCOME_ROWS = ("revenue", "gross_profit", "operating_profit", "profit")
BALANCE_ROWS = ("total_assets", "current_assets", "equity", "share_capital", "current_liabilities")
RATIOS = ("gross_margin", "operating_margin", "return_on_equity", "solvency_ratio", "current_ratio")
# A ratio that moves less than this (a tenth of a percentage point) is steady.
STEADY = Decimal("0.001")
PLACES = Decimal("0.0001")


def _d(figures: dict[str, Any] | None, key: str) -> Decimal | None:
    value = (figures or {}).get(key)
    return None if value is None else Decimal(value)


def _div(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    if a is None or b is None or b == 0:
        return None
    return (a / b).quantize(PLACES, rounding=ROUND_HALF_UP)


def ratios(figures: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Decimal | None]:
    equity = _d(figures, "equity")
    # Opening equity: the year before's closing equity, or what the ledger had the day before the year
    # began; unknown (no return on equity) otherwise.
    opening = _d(previous, "equity") if previous else _d(figures, "opening_equity")
    average = (equity + opening) / 2 if equity is not None and opening is not None else None
    return {
        "gross_margin": _div(_d(figures, "gross_profit"), _d(figures, "revenue")),
        "operating_margin": _div(_d(figures, "operating_profit"), _d(figures, "revenue")),
        "return_on_equity": _div(_d(figures, "profit"), average),
        "solvency_ratio": _div(equity, _d(figures, "total_assets")),
        "current_ratio": _div(_d(figures, "current_assets"), _d(figures, "current_liabilities")),
    }


def trend(current: Decimal | None, previous: Decimal | None) -> str | None:
    if current is None or previous is None:
        return None
    if current - previous > STEADY:
        return "up"
    if previous - current > STEADY:
        return "down"
    return "steady"


# A modified opinion is a warning; an unmodified one or a review is fine; the rest is for information.
STATEMENT_LEVEL: dict[str, NoticeLevel] = {
    "unqualified": "ok",
    "review": "ok",
    "qualified": "warning",
    "adverse": "warning",
    "disclaimer": "warning",
}

ARROWS = {"up": "\u2191", "down": "\u2193", "steady": "\u2192", None: ""}


def years(file: CompanyFile) -> list[dict[str, Any]]:
    """Up to YEARS years, oldest first, each with its ratios and their trend against the year before."""
    shown = list(reversed(file.figures[: YEARS + 1]))  # one more, for the first year's averages and trend
    out: list[dict[str, Any]] = []
    for i, figures in enumerate(shown):
        now = ratios(figures, shown[i - 1] if i else None)
        before = out[-1]["ratios"] if out else {}  # the year before's ratios, as they were shown
        out.append({**figures, "ratios": now, "trend": {k: trend(now[k], before.get(k)) for k in RATIOS}})
    return out[-YEARS:]


def _table(rows_of: tuple[str, ...], shown: list[dict[str, Any]], style: Style, lang: Lang) -> Table:
    rows = [
        [text(key, lang), *(style.amount(_d(f, key)) for f in shown)]
        for key in rows_of
        if any(f.get(key) is not None for f in shown)
    ]
    return Table(
        ["", *(blocks.year_header(f, lang) for f in shown)],
        rows,
        align=["L", *(["R"] * len(shown))],
        widths=[3, *([1.3] * len(shown))],
        empty=text("none", lang),
    )


def _ratio_text(style: Style, key: str, value: Decimal | None, direction: str | None) -> str:
    if value is None:
        return "-"
    shown = style.number(value, 2) if key == "current_ratio" else style.percent(value)
    return f"{shown} {ARROWS[direction]}".strip()


def sections(file: CompanyFile, lang: Lang) -> list[Section]:
    style = Style.for_company(file.country, lang)
    shown = years(file)
    if not shown:
        return [
            blocks.master_data(file, lang),
            Section(text("key_figures", lang), [Paragraph(text("none", lang), muted=True)]),
            blocks.warnings_section(file, lang),
        ]
    ratio_rows = [
        [text(k, lang), *(_ratio_text(style, k, f["ratios"][k], f["trend"][k]) for f in shown)]
        for k in RATIOS
    ]
    ratio_table = Table(
        ["", *(blocks.year_header(f, lang) for f in shown)],
        ratio_rows,
        align=["L", *(["R"] * len(shown))],
        widths=[3, *([1.3] * len(shown))],
    )
    statements = Notices(
        [
            Notice(
                STATEMENT_LEVEL.get(f["auditor_statement"], "info"),
                f"{f['year']}: {text('stmt_' + f['auditor_statement'], lang)}"
                + (
                    f" ({text('annual_report_date', lang)} {style.date(f['annual_report_date'])})"
                    if f.get("annual_report_date")
                    else ""
                ),
            )
            for f in reversed(shown)
            if f.get("auditor_statement")
        ],
        empty=text("none", lang),
    )
    source = text("source_ledger" if file.figures_source == "ledger" else "source_registered", lang)
    return [
        Section(
            text("income", lang),
            [
                _table(INCOME_ROWS, shown, style, lang),
                Paragraph(f"{text('source', lang)}: {source}", muted=True),
            ],
        ),
        Section(text("balance", lang), [_table(BALANCE_ROWS, shown, style, lang)]),
        Section(text("ratios", lang), [ratio_table]),
        Section(text("statement", lang), [statements]),
        blocks.warnings_section(file, lang),
    ]


def document(file: CompanyFile, lang: Lang) -> SectionDocument:
    return blocks.document(file, KIND, lang, sections(file, lang))


def as_json(file: CompanyFile, lang: Lang) -> dict[str, Any]:
    return {
        **blocks.head_json(file, KIND),
        "source": file.figures_source,
        "years": list(reversed(years(file))),
        "warnings": blocks.warnings_json(file, lang),
    }
