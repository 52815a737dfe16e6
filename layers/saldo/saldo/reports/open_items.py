"""Accounts receivable (control account 1500) and payable (2400): the ledger's lines on the control
account with their reconciliation, and an optional ageing of what is still open.

A line's open amount is its amount less what has been reconciled against it as of the report's last day
(a reconciliation counts from its date on). Reconciliations match debits with credits on the same account,
so the open amounts of all lines plus the opening balance equal the control account's balance: the ageing
buckets always sum to it. A party's share of the opening balance (from a SAF-T import) is an open item of
that party, dated the opening date; whatever of the opening no party holds is the `opening_balance` bucket.
A cancelled entry and its reversal settle each other from the later of their dates (`settled_on`, see
saldo.ledger.query): from then on neither is open, and `include_cancelled=false` leaves them out.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from itertools import pairwise
from typing import Any, Literal

from saldo.errors import BadRequest
from saldo.ledger.accountplan import CONTROL_ACCOUNTS
from saldo.ledger.query import OPEN_ITEM_LINES, LedgerView, reconciled_as_of
from saldo.reports.common import ZERO, LineFilter
from saldo.reports.general_ledger import page

Basis = Literal["due_date", "document_date"]


def parse_buckets(value: str) -> list[int]:
    try:
        edges = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise BadRequest(f"Invalid aging '{value}': use ascending day counts, e.g. 0,30,60,90") from None
    if not edges or edges != sorted(set(edges)) or edges[0] < 0:
        raise BadRequest(f"Invalid aging '{value}': use ascending, distinct, non-negative day counts")
    return edges


def ageing(
    view: LedgerView,
    accounts: list[str],
    *,
    as_of: date,
    edges: list[int],
    basis: Basis,
    include_drafts: bool,
    business_partner_id: int | None,
) -> dict[str, Any]:
    flt = LineFilter(
        date_to=as_of,
        include_drafts=include_drafts,
        account_codes=accounts,
        business_partner_id=business_partner_id,
    )
    where, params = flt.sql(reconciled_until=view.reconciled_until)
    # What is open as of the day: only reconciliations that count on or before it settle anything.
    reconciled, reconciled_params = reconciled_as_of("l", as_of, view.reconciled_until)
    basis_sql = (
        "coalesce(l.ro_due_date, l.ro_document_date, l.posting_date)"
        if basis == "due_date"
        else "coalesce(l.ro_document_date, l.posting_date)"
    )
    # One scan: the open amounts by age and the control balance (the same lines, all of them).
    rows = view.rows(
        f"""
        SELECT date_diff('day', {basis_sql}, ?::DATE) AS days,
               sum(l.amount - sign(l.amount) * {reconciled}) AS open_amount, sum(l.amount) AS moved,
               coalesce(sum(l.amount) FILTER (WHERE l.line_uid IS NULL), 0) AS attributed
        FROM {OPEN_ITEM_LINES} l WHERE {where} GROUP BY ALL""",
        [as_of, *reconciled_params, *params],
    )
    labels = ["not_due"] + [f"{lo + 1}-{hi}" for lo, hi in pairwise(edges)] + [f"{edges[-1] + 1}+"]
    amounts = dict.fromkeys(labels, ZERO)
    moved = attributed = ZERO
    for days, amount, moved_at_age, attributed_at_age in rows:
        moved += moved_at_age
        attributed += attributed_at_age
        if days <= edges[0]:
            label = "not_due"
        else:
            label = labels[-1]
            for lo, hi in pairwise(edges):
                if lo < days <= hi:
                    label = f"{lo + 1}-{hi}"
                    break
        amounts[label] += amount or ZERO
    opening = ZERO
    if business_partner_id is None:
        # What the parties' opening items (the rows without a line id above) leave of the
        # accounts' opening balances: nothing, when the parties' shares add up to them.
        opening = (
            sum(
                (view.master.accounts[c]["opening_balance"] for c in accounts if c in view.master.accounts),
                ZERO,
            )
            - attributed
        )
    buckets = [{"bucket": label, "amount": amounts[label]} for label in labels]
    if opening:
        buckets.append({"bucket": "opening_balance", "amount": opening})
    total = sum((b["amount"] for b in buckets), ZERO)
    return {
        "as_of": as_of,
        "basis": basis,
        "control_accounts": accounts,
        "control_account_balance": opening + Decimal(moved),
        "open_amount": total,
        "aging": buckets,
    }


def open_items_report(
    view: LedgerView,
    kind: Literal["receivable", "payable"],
    *,
    date_from: date | None,
    date_to: date | None,
    business_partner_id: int | None,
    free_text: str | None,
    include_reconciled: bool,
    include_drafts: bool,
    include_cancelled: bool,
    page_no: int,
    per_page: int,
    aging: str | None,
    aging_basis: Basis,
    today: date,
) -> dict[str, Any]:
    accounts = CONTROL_ACCOUNTS[kind]
    flt = LineFilter(
        date_from=date_from,
        date_to=date_to,
        include_drafts=include_drafts,
        include_cancelled=include_cancelled,
        include_reconciled=include_reconciled,
        account_codes=accounts,
        free_text=free_text,
        business_partner_id=business_partner_id,
        cancelled_as_of=True,
    )
    out = page(view, flt, page_no=page_no, per_page=per_page, table=OPEN_ITEM_LINES)
    if aging is not None:
        out["summary"] = ageing(
            view,
            accounts,
            as_of=date_to or today,
            edges=parse_buckets(aging),
            basis=aging_basis,
            include_drafts=include_drafts,
            business_partner_id=business_partner_id,
        )
    return out
