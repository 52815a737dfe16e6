"""Income statement: net debit movement per result account (classes 3-8) and calendar month.

`period_debit_movements` is keyed "1".."12" (calendar month) and always carries all twelve, so a period
may span at most twelve months (a fiscal year from July to June is keyed 7..12, 1..6). Revenue shows as
negative movements (credit), costs as positive.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from saldo.errors import BadRequest
from saldo.ledger.query import LedgerView
from saldo.reports.common import ZERO, LineFilter, account_name, dimension_value_sql

MONTHS = tuple(str(m) for m in range(1, 13))


def months_in(date_from: date, date_to: date) -> int:
    return (date_to.year - date_from.year) * 12 + date_to.month - date_from.month + 1


def income_statement(
    view: LedgerView,
    *,
    date_from: date,
    date_to: date,
    dimensions: dict[str, set[int]] | None = None,
    include_drafts: bool = False,
    free_text: str | None = None,
    group_by_dimension: str | None = None,
    lang: str = "en",
) -> list[dict[str, Any]]:
    if months_in(date_from, date_to) > 12:
        raise BadRequest(
            "The income statement covers at most twelve months (its columns are months 1-12); "
            f"{date_from}..{date_to} spans {months_in(date_from, date_to)}"
        )
    flt = LineFilter(
        date_from=date_from,
        date_to=date_to,
        include_drafts=include_drafts,
        dimensions=dimensions or {},
        free_text=free_text,
    )
    where, params = flt.sql()
    table = "lines" if group_by_dimension else flt.table()
    rel = dimension_value_sql(group_by_dimension) if group_by_dimension else "NULL::BIGINT"
    rows = view.rows(
        f"""
        SELECT l.account_code, {rel} AS relation_id, month(l.posting_date) AS m, sum(l.amount) AS movement
        FROM {table} l WHERE left(l.account_code, 1) NOT IN ('1', '2') AND {where}
        GROUP BY ALL""",
        params,
    )
    by_account: dict[tuple[str, int | None], dict[str, Decimal]] = {}
    for code, rid, month, movement in rows:
        months = by_account.setdefault((code, rid), dict.fromkeys(MONTHS, ZERO))
        months[str(month)] += movement
    out = []
    for (code, rid), months in sorted(by_account.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        row: dict[str, Any] = {
            "grouping": view.master.grouping(code, lang),
            "account_code": code,
            "account_name": account_name(view, code),
            "period_debit_movements": months,
        }
        if group_by_dimension:
            row["relation_type"] = group_by_dimension
            row["relation_id"] = rid
            row["relation_name"] = (
                view.master.dimension_name(group_by_dimension, rid) if rid is not None else None
            )
        out.append(row)
    return out
