"""General ledger: one row per journal line, paginated, in the row shape of seeds/003.

Rows are ordered by posting date, sequence number, entry and line. `debit_amount` is the signed amount
(debit positive). The accounts payable and receivable reports use the same rows on their control
accounts (see open_items.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from saldo.ledger.query import LedgerView
from saldo.reports.common import LineFilter

ROW_SQL = """
SELECT l.line_uid, l.line_id, l.posting_date, l.account_code, l.description, l.debit, l.credit, l.amount,
       l.currency_code, l.currency_amount, l.exchange_rate, l.tax_code, l.tax_base_amount, l.tax_amount,
       l.reconciled_amount, l.sequence_number, l.relation_type, l.relation_id, l.dimensions,
       l.entry_id, l.cancelled, l.is_draft, l.voucher_id, l.entry_description,
       l.ro_id, l.ro_document_number, l.ro_document_date, l.ro_due_date, l.ro_payment_ref, l.ro_document_type,
       l.ro_business_partner_id, l.created_by_id, l.created_by_name
FROM lines l
"""


def _dims(keys: list[str]) -> list[dict[str, Any]]:
    return [{"type": k.split(":", 1)[0], "id": int(k.split(":", 1)[1])} for k in keys or []]


def gl_row(r: tuple[Any, ...], view: LedgerView) -> dict[str, Any]:
    (
        line_uid,
        line_id,
        posting_date,
        code,
        description,
        debit,
        credit,
        amount,
        currency,
        currency_amount,
        rate,
        tax_code,
        tax_base,
        tax_amount,
        reconciled,
        seq,
        rtype,
        rid,
        dims,
        entry_id,
        cancelled,
        is_draft,
        voucher,
        entry_desc,
        ro_id,
        doc_no,
        doc_date,
        due_date,
        payment_ref,
        doc_type,
        partner_id,
        by_id,
        by_name,
    ) = r
    acc = view.master.accounts.get(code)
    partner = view.master.business_partners.get(partner_id) if partner_id else None
    has_ro = any(
        v is not None for v in (ro_id, doc_no, doc_date, due_date, payment_ref, doc_type, partner_id)
    )
    return {
        "id": line_uid,
        "line_id": line_id,
        "posting_date": posting_date,
        "account_id": acc["id"] if acc else None,
        "account_code": code,
        "description": description if description is not None else entry_desc,
        "debit": debit,
        "credit": credit,
        "debit_amount": amount,
        "currency_code": currency,
        "currency_amount": currency_amount,
        "exchange_rate": rate,
        "tax_code": tax_code,
        "tax_base_amount": tax_base,
        "tax_amount": tax_amount,
        "reconciled_amount": reconciled,
        "sequence_number": seq,
        "relation_type": rtype,
        "relation_id": rid,
        "dimensions": _dims(dims),
        "journal_entry": {
            "id": entry_id,
            "sequence_number": seq,
            "cancelled": cancelled,
            "is_draft": is_draft,
            "voucher_id": voucher,
            "description": entry_desc,
            "related_object": {
                "id": ro_id,
                "document_number": doc_no,
                "document_date": doc_date,
                "due_date": due_date,
                "payment_ref": payment_ref,
                "document_type": doc_type,
                "business_partner": {"id": partner_id, "name": partner["name"] if partner else None}
                if partner_id
                else None,
            }
            if has_ro
            else None,
            "created_by": {"id": by_id, "full_name": by_name} if by_id is not None else None,
        },
    }


def page(view: LedgerView, flt: LineFilter, *, page_no: int, per_page: int) -> dict[str, Any]:
    where, params = flt.sql()
    records = view.rows(f"SELECT count(*) FROM lines l WHERE {where}", params)[0][0]
    # Two steps: find the page's row numbers (sorting integers only), then read just those rows.
    numbers = [
        r[0]
        for r in view.rows(
            f"SELECT l.rn FROM lines l WHERE {where} ORDER BY l.rn LIMIT ? OFFSET ?",
            [*params, per_page, (page_no - 1) * per_page],
        )
    ]
    rows = (
        view.rows(f"{ROW_SQL} WHERE l.rn IN (SELECT unnest(?::BIGINT[])) ORDER BY l.rn", [numbers])
        if numbers
        else []
    )
    return {
        "meta": {
            "records": records,
            "per_page": per_page,
            "page": page_no,
            "pages": math.ceil(records / per_page) if records else 0,
        },
        "data": [gl_row(r, view) for r in rows],
    }


ORDERS = {
    "date": " ORDER BY l.rn",
    "account": " ORDER BY l.account_code, l.rn",
    "partner": " ORDER BY coalesce(CASE WHEN l.relation_type = 'businesspartner' THEN l.relation_id END, "
    "l.ro_business_partner_id) NULLS LAST, l.rn",
}


def iter_rows(
    view: LedgerView, flt: LineFilter, order: str = "date", batch: int = 10_000
) -> Iterator[dict[str, Any]]:
    """Every matching row, streamed in batches: a document of a whole ledger never holds it all at once."""
    where, params = flt.sql()
    with view.lock:
        cur = view.con.cursor()
    try:
        cur.execute(f"{ROW_SQL} WHERE {where}{ORDERS[order]}", params)
        while True:
            chunk = cur.fetchmany(batch)
            if not chunk:
                return
            for r in chunk:
                yield gl_row(r, view)
    finally:
        cur.close()


def count_rows(view: LedgerView, flt: LineFilter) -> int:
    where, params = flt.sql()
    return int(view.rows(f"SELECT count(*) FROM lines l WHERE {where}", params)[0][0])


def general_ledger(
    view: LedgerView, flt: LineFilter, *, page_no: int = 1, per_page: int = 100
) -> dict[str, Any]:
    return page(view, flt, page_no=page_no, per_page=per_page)
