"""Trial balance: incoming balance, debit, credit and outgoing balance per account (and relation).

Balance-sheet accounts carry their balance from the start of the ledger (opening balances included);
result accounts start each fiscal year at zero, and the results of earlier fiscal years appear on one
equity row (PRIOR_RESULT_CODE), so the outgoing balances always sum to zero.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from saldo.ledger.accountplan import is_balance_sheet
from saldo.ledger.query import LedgerView
from saldo.reports.common import (
    ZERO,
    LineFilter,
    account_id,
    account_name,
    dimension_value_sql,
    fiscal_year_start,
)

PRIOR_RESULT_CODE = "8960"
CURRENT_RESULT_CODE = "8800"
EQUITY_GROUPING_CODE = "2000"
RESULT_NAMES = {
    PRIOR_RESULT_CODE: ("Udisponert resultat tidligere år", "Unallocated result, prior years"),
    CURRENT_RESULT_CODE: ("Årets resultat", "Result for the year"),
}


def result_row_grouping(view: LedgerView, code: str, lang: str) -> dict[str, str]:
    """Synthetic result rows sit in equity (group 20) so the balance sheet shows them there."""
    base = view.master.grouping("2050", lang)
    name = RESULT_NAMES[code][0 if lang == "nb" else 1]
    return {**base, "level_3_code": code, "level_3_name": name}


def _relation_key_sql(include_dimensions: bool, group_by: str | None) -> tuple[str, str]:
    if group_by:
        return f"'{group_by}'", dimension_value_sql(group_by)
    if include_dimensions:
        return "l.relation_type", "l.relation_id"
    return "NULL::VARCHAR", "NULL::BIGINT"


def trial_balance(
    view: LedgerView,
    *,
    date_from: date,
    date_to: date,
    account_codes: list[str] | None = None,
    dimensions: dict[str, set[int]] | None = None,
    include_drafts: bool = False,
    include_dimensions: bool = True,
    include_zero_movement: bool = True,
    free_text: str | None = None,
    group_by_dimension: str | None = None,
    lang: str = "en",
) -> list[dict[str, Any]]:
    fy_start = fiscal_year_start(date_from, view.account.fiscal_year_start_month)
    base = LineFilter(
        include_drafts=include_drafts,
        dimensions=dimensions or {},
        account_codes=account_codes or [],
        free_text=free_text,
    )
    where, params = base.sql()
    rel_type, rel_id = _relation_key_sql(include_dimensions, group_by_dimension)
    sql = f"""
        SELECT l.account_code, {rel_type} AS relation_type, {rel_id} AS relation_id,
            sum(CASE WHEN l.posting_date < ?
                      AND (left(l.account_code, 1) IN ('1', '2') OR l.posting_date >= ?)
                     THEN l.amount ELSE 0 END) AS incoming,
            sum(CASE WHEN l.posting_date BETWEEN ? AND ? THEN l.debit ELSE 0 END) AS debit,
            sum(CASE WHEN l.posting_date BETWEEN ? AND ? THEN l.credit ELSE 0 END) AS credit,
            sum(CASE WHEN l.posting_date < ? AND left(l.account_code, 1) NOT IN ('1', '2')
                     THEN l.amount ELSE 0 END) AS prior_result
        FROM {"lines" if group_by_dimension else base.table()} l
        WHERE l.posting_date <= ? AND {where}
        GROUP BY ALL
    """
    rows = view.rows(
        sql, [date_from, fy_start, date_from, date_to, date_from, date_to, fy_start, date_to, *params]
    )
    # Opening balances belong to no relation and no dimension; they count when no line filter excludes them.
    use_opening = not dimensions and not free_text
    buckets: dict[tuple[str, str | None, int | None], list[Decimal]] = {}
    prior = ZERO
    for code, rtype, rid, incoming, debit, credit, prior_result in rows:
        buckets[(code, rtype, rid)] = [incoming or ZERO, debit or ZERO, credit or ZERO]
        prior += prior_result or ZERO
    codes = set(account_codes or [])
    if use_opening:
        for code, acc in view.master.accounts.items():
            if codes and code not in codes:
                continue
            opening = acc["opening_balance"]
            if is_balance_sheet(code):
                if opening or include_zero_movement:
                    buckets.setdefault((code, None, None), [ZERO, ZERO, ZERO])[0] += opening
            else:
                prior += opening
                if include_zero_movement:
                    buckets.setdefault((code, None, None), [ZERO, ZERO, ZERO])
    if prior and not codes:
        buckets.setdefault((PRIOR_RESULT_CODE, None, None), [ZERO, ZERO, ZERO])[0] += prior
    out = []
    for (code, rtype, rid), (incoming, debit, credit) in sorted(
        buckets.items(), key=lambda kv: (kv[0][0], kv[0][1] or "", kv[0][2] or 0)
    ):
        if not include_zero_movement and not debit and not credit:
            continue
        synthetic = code in RESULT_NAMES and code not in view.master.accounts
        out.append(
            {
                "grouping": result_row_grouping(view, code, lang)
                if synthetic
                else view.master.grouping(code, lang),
                "account_id": account_id(view, code),
                "account_code": code,
                "account_name": RESULT_NAMES[code][0 if lang == "nb" else 1]
                if synthetic
                else account_name(view, code),
                "incoming_balance": incoming,
                "debit": debit,
                "credit": credit,
                "outgoing_balance": incoming + debit - credit,
                "relation_type": rtype,
                "relation_id": rid,
                "relation_name": view.master.dimension_name(rtype, rid)
                if rtype and rid is not None
                else None,
            }
        )
    return out
