"""Key figures of a company's fiscal years computed from its linked client account's ledger.

The figures are read from Saldo's own income statement and balance sheet (`saldo.reports`), so they are
the numbers those routes show for the same period: posted lines only (drafts never count), a cancelled
entry counting with its reversal on the reversal's date, opening balances in the balance sheet.

Mapping after the Norwegian standard chart of accounts (NS 4102), by the account code's first four
digits; the ledger keeps amounts debit positive, so credit-side figures are flipped:

- revenue               = -(30xx-39xx)                       income statement, the fiscal year
- gross_profit          = -(30xx-49xx): revenue - cost of goods (40xx-49xx)
- operating_profit      = -(30xx-79xx)
- profit                = -(30xx-87xx): the result before allocations; 88xx-89xx close the year's
                          result into equity and are left out
- total_assets          = 10xx-19xx                          balance sheet at the fiscal year's end
- current_assets        = 14xx-19xx
- equity                = -(20xx + the result rows the balance sheet adds: this year's result
                          (CURRENT_RESULT_CODE) and earlier years' unallocated results (PRIOR_RESULT_CODE))
- share_capital         = -(2000-2019)
- current_liabilities   = -(23xx-29xx)

`year` is the calendar year the fiscal year ends in; `period_from`/`period_to` are inclusive and follow
the client account's `fiscal_year_start_month`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from saldo.ledger.query import LedgerView
from saldo.reports.balance_sheet import balance_sheet
from saldo.reports.common import ZERO, fiscal_year_start
from saldo.reports.income_statement import income_statement
from saldo.reports.trial_balance import CURRENT_RESULT_CODE, PRIOR_RESULT_CODE

CENT = Decimal("0.01")
SOURCE = "ledger"

Report = Literal["income_statement", "balance_sheet"]


@dataclass(frozen=True)
class Figure:
    """A key figure: the sum of the report rows whose code falls in `ranges`, times `sign`."""

    name: str
    report: Report
    ranges: tuple[tuple[str, str], ...]  # inclusive, on the code's first four digits
    sign: int


# One table, so the mapping can be read and checked in one place: the ranges are NS 4102's classes and
# groups, and the sign turns credit balances (revenue, equity, liabilities) into positive figures.
FIGURES: tuple[Figure, ...] = (
    Figure("revenue", "income_statement", (("3000", "3999"),), -1),
    Figure("gross_profit", "income_statement", (("3000", "4999"),), -1),
    Figure("operating_profit", "income_statement", (("3000", "7999"),), -1),
    Figure("profit", "income_statement", (("3000", "8799"),), -1),
    Figure("total_assets", "balance_sheet", (("1000", "1999"),), 1),
    Figure("current_assets", "balance_sheet", (("1400", "1999"),), 1),
    Figure(
        "equity",
        "balance_sheet",
        (
            ("2000", "2099"),
            (CURRENT_RESULT_CODE, CURRENT_RESULT_CODE),
            (PRIOR_RESULT_CODE, PRIOR_RESULT_CODE),
        ),
        -1,
    ),
    Figure("share_capital", "balance_sheet", (("2000", "2019"),), -1),
    Figure("current_liabilities", "balance_sheet", (("2300", "2999"),), -1),
)


def _code4(code: str) -> str:
    # Codes longer than four digits are sub-accounts of their first four ("19201" under 1920).
    return code[:4].ljust(4, "0")


def _in_ranges(code: str, ranges: tuple[tuple[str, str], ...]) -> bool:
    key = _code4(code)
    return any(low <= key <= high for low, high in ranges)


def _figure(amounts: dict[str, Decimal], figure: Figure) -> Decimal:
    total = sum((v for code, v in amounts.items() if _in_ranges(code, figure.ranges)), ZERO)
    # ZERO - total, not -total: a flipped zero stays "0.00" instead of "-0.00".
    signed = total if figure.sign > 0 else ZERO - total
    return signed.quantize(CENT)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, day.day)


def fiscal_year_end_year(day: date, start_month: int) -> int:
    """The calendar year in which the fiscal year holding `day` ends."""
    return fiscal_year_start(day, start_month).year + (1 if start_month > 1 else 0)


def fiscal_year_period(end_year: int, start_month: int) -> tuple[date, date]:
    """First and last day (inclusive) of the fiscal year ending in `end_year`."""
    start = date(end_year - (1 if start_month > 1 else 0), start_month, 1)
    return start, _add_months(start, 12) - timedelta(days=1)


def _active_years(view: LedgerView, start_month: int, until: date) -> set[int]:
    """The fiscal years (by end year) with posted lines dated on or before `until`, and the year the
    opening balances are dated in when there are any."""
    rows = view.rows(
        """SELECT DISTINCT year(posting_date) + CASE WHEN ? > 1 AND month(posting_date) >= ? THEN 1 ELSE 0 END
           FROM daily WHERE NOT is_draft AND posting_date <= ?""",
        [start_month, start_month, until],
    )
    years = {int(y) for (y,) in rows}
    if any(acc["opening_balance"] for acc in view.master.accounts.values()):
        # Opening balances carry no date of their own: the import's opening date when known, else they
        # stand at the ledger's first posted day (as the open-item reports date them).
        opening = view.master.party_openings()[0]
        if opening is None:
            opening = view.rows("SELECT min(posting_date) FROM daily WHERE NOT is_draft")[0][0]
        if opening is not None and opening <= until:
            years.add(fiscal_year_end_year(opening, start_month))
    return years


def _figures_for(view: LedgerView, period_from: date, period_to: date) -> dict[str, Decimal]:
    movements: dict[str, Decimal] = {}
    for row in income_statement(view, date_from=period_from, date_to=period_to):
        moved = sum(row["period_debit_movements"].values(), ZERO)
        movements[row["account_code"]] = movements.get(row["account_code"], ZERO) + moved
    balances: dict[str, Decimal] = {}
    for row in balance_sheet(view, report_date=period_to):
        balances[row["account_code"]] = balances.get(row["account_code"], ZERO) + row["balance"]
    source = {"income_statement": movements, "balance_sheet": balances}
    return {f.name: _figure(source[f.report], f) for f in FIGURES}


def ledger_key_figures(
    view: LedgerView, *, today: date, years: int = 3, include_current: bool = False
) -> list[dict[str, Any]]:
    """Key figures of the last `years` fiscal years that ended on or before `today` and have posted
    lines (or the opening balances), newest first; with `include_current`, the fiscal year holding
    `today` up to `today` comes first, marked `partial`."""
    start_month = view.account.fiscal_year_start_month
    holding_today = fiscal_year_end_year(today, start_month)
    # A fiscal year whose last day is today has ended: it is a whole year, not the current one.
    current_from, current_to = fiscal_year_period(holding_today, start_month)
    current = holding_today if current_to > today else None
    active = _active_years(view, start_month, today)
    ended = sorted((y for y in active if y != current), reverse=True)[: max(years, 0)]
    out: list[dict[str, Any]] = []
    if include_current and current in active:
        out.append(_entry(view, holding_today, current_from, today, partial=True))
    for year in ended:
        period_from, period_to = fiscal_year_period(year, start_month)
        out.append(_entry(view, year, period_from, period_to, partial=False))
    return out


def _entry(
    view: LedgerView, year: int, period_from: date, period_to: date, *, partial: bool
) -> dict[str, Any]:
    return {
        "year": year,
        "period_from": period_from,
        "period_to": period_to,
        **_figures_for(view, period_from, period_to),
        # Equity the day before the year began, for the return on equity's average (zero before the
        # ledger's first posting: the company had none in these books).
        "opening_equity": _equity_at(view, period_from - timedelta(days=1)),
        "source": SOURCE,
        "partial": partial,
    }


def _equity_at(view: LedgerView, day: date) -> Decimal:
    balances: dict[str, Decimal] = {}
    for row in balance_sheet(view, report_date=day):
        balances[row["account_code"]] = balances.get(row["account_code"], ZERO) + row["balance"]
    equity = next(f for f in FIGURES if f.name == "equity")
    return _figure(balances, equity)
