"""Balance sheet at a date: every balance-sheet account (classes 1 and 2) with its balance.

Equity includes what has not been allocated yet: the result of the current fiscal year up to the report
date (CURRENT_RESULT_CODE) and the results of earlier years (PRIOR_RESULT_CODE), so the rows always sum
to zero: assets = equity + liabilities. Balances are signed, debit positive (assets positive, equity and
liabilities negative), as the ledger holds them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from saldo.ledger.accountplan import is_balance_sheet
from saldo.ledger.query import LedgerView
from saldo.reports.common import ZERO, LineFilter, account_name, fiscal_year_start
from saldo.reports.trial_balance import (
    CURRENT_RESULT_CODE,
    PRIOR_RESULT_CODE,
    RESULT_NAMES,
    result_row_grouping,
)


def balance_sheet(
    view: LedgerView,
    *,
    report_date: date,
    dimensions: dict[str, set[int]] | None = None,
    include_drafts: bool = False,
    lang: str = "en",
) -> list[dict[str, Any]]:
    fy_start = fiscal_year_start(report_date, view.account.fiscal_year_start_month)
    flt = LineFilter(date_to=report_date, include_drafts=include_drafts, dimensions=dimensions or {})
    where, params = flt.sql()
    rows = view.rows(
        f"""
        SELECT CASE WHEN left(l.account_code, 1) IN ('1', '2') THEN l.account_code
                    WHEN l.posting_date >= ? THEN '{CURRENT_RESULT_CODE}'
                    ELSE '{PRIOR_RESULT_CODE}' END AS code,
               sum(l.amount) AS balance
        FROM {flt.table()} l WHERE {where} GROUP BY ALL""",
        [fy_start, *params],
    )
    balances: dict[str, Decimal] = {code: bal for code, bal in rows}
    if not dimensions:
        for code, acc in view.master.accounts.items():
            if acc["opening_balance"]:
                key = code if is_balance_sheet(code) else PRIOR_RESULT_CODE
                balances[key] = balances.get(key, ZERO) + acc["opening_balance"]
    out = []
    for code in sorted(balances):
        balance = balances[code]
        synthetic = code in RESULT_NAMES and code not in view.master.accounts
        if synthetic and not balance:
            continue
        out.append(
            {
                "grouping": result_row_grouping(view, code, lang)
                if synthetic
                else view.master.grouping(code, lang),
                "account_code": code,
                "account_name": RESULT_NAMES[code][0 if lang == "nb" else 1]
                if synthetic
                else account_name(view, code),
                "balance": balance,
            }
        )
    return out
