"""General ledger: one row per journal line, paginated, in the row shape of seeds/003.

Rows are ordered by posting date, sequence number, entry and line. `debit_amount` is the signed amount
(debit positive). The accounts payable and receivable reports use the same rows on their control
accounts (see open_items.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from saldo.jsonenc import RawJSON
from saldo.ledger.query import LedgerView, reconciled_as_of
from saldo.reports.common import LineFilter

ROW_SQL_TEMPLATE = """
SELECT l.line_uid, l.line_id, l.posting_date, l.account_code, l.description, l.debit, l.credit, l.amount,
       l.currency_code, l.currency_amount, l.exchange_rate, l.tax_code, l.tax_base_amount, l.tax_amount,
       {reconciled} AS reconciled_amount, l.sequence_number, l.relation_type, l.relation_id, l.dimensions,
       l.entry_id, l.cancelled, l.is_draft, l.voucher_id, l.entry_description,
       l.ro_id, l.ro_document_number, l.ro_document_date, l.ro_due_date, l.ro_payment_ref, l.ro_document_type,
       l.ro_business_partner_id, l.created_by_id, l.created_by_name
FROM {table} l
"""
# A line's reconciled amount as of the report's last day (see query.reconciled_as_of); these constants
# read the stored total.
ROW_SQL = ROW_SQL_TEMPLATE.format(reconciled="l.reconciled_amount", table="lines")


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


# The same object as `gl_row`, built by DuckDB as JSON text: a page of 1,000 rows is some 45,000 values,
# which would otherwise each become a Python object and be serialised again. A test holds the two equal.
ROW_JSON_TEMPLATE = """to_json(struct_pack(
    id := l.line_uid, line_id := l.line_id, posting_date := l.posting_date, account_id := a.account_id,
    account_code := l.account_code, description := coalesce(l.description, l.entry_description),
    debit := l.debit, credit := l.credit, debit_amount := l.amount, currency_code := l.currency_code,
    currency_amount := l.currency_amount, exchange_rate := l.exchange_rate, tax_code := l.tax_code,
    tax_base_amount := l.tax_base_amount, tax_amount := l.tax_amount,
    reconciled_amount := {reconciled},
    sequence_number := l.sequence_number, relation_type := l.relation_type, relation_id := l.relation_id,
    dimensions := list_transform(coalesce(l.dimensions, []), lambda k: struct_pack(
        type := split_part(k, ':', 1), id := split_part(k, ':', 2)::BIGINT)),
    journal_entry := struct_pack(
        id := l.entry_id, sequence_number := l.sequence_number, cancelled := l.cancelled,
        is_draft := l.is_draft, voucher_id := l.voucher_id, description := l.entry_description,
        related_object := CASE WHEN l.ro_id IS NOT NULL OR l.ro_document_number IS NOT NULL
            OR l.ro_document_date IS NOT NULL OR l.ro_due_date IS NOT NULL OR l.ro_payment_ref IS NOT NULL
            OR l.ro_document_type IS NOT NULL OR l.ro_business_partner_id IS NOT NULL THEN struct_pack(
                id := l.ro_id, document_number := l.ro_document_number, document_date := l.ro_document_date,
                due_date := l.ro_due_date, payment_ref := l.ro_payment_ref,
                document_type := l.ro_document_type,
                business_partner := CASE WHEN l.ro_business_partner_id IS NOT NULL
                    THEN struct_pack(id := l.ro_business_partner_id, name := p.name) END) END,
        created_by := CASE WHEN l.created_by_id IS NOT NULL
            THEN struct_pack(id := l.created_by_id, full_name := l.created_by_name) END)))"""
ROW_JSON = ROW_JSON_TEMPLATE.format(reconciled="l.reconciled_amount")
JSON_JOINS = """LEFT JOIN accounts a ON a.code = l.account_code
LEFT JOIN partners p ON p.id = l.ro_business_partner_id"""


def page(
    view: LedgerView, flt: LineFilter, *, page_no: int, per_page: int, table: str = "lines"
) -> dict[str, Any]:
    """One page of rows of `table` (`lines` or a copy of some of them, in rn order); `data` is JSON text
    (`RawJSON`) for the response. `reconciled_amount` is as of the filter's last day."""
    where, params = flt.sql(reconciled_until=view.reconciled_until)
    reconciled, reconciled_params = reconciled_as_of("l", flt.date_to, view.reconciled_until)
    records = view.rows(f"SELECT count(*) FROM {table} l WHERE {where}", params)[0][0]
    # `lines` is stored in rn order and a scan with a plain filter keeps that order, so LIMIT/OFFSET
    # without ORDER BY streams to the page instead of sorting every matching row number. A subquery in
    # the filter (free text) means a join, which may reorder rows: then sort. The page is the matching
    # rows between its first and last row number.
    order = " ORDER BY l.rn" if "SELECT" in where else ""
    first, last = view.rows(
        f"SELECT min(rn), max(rn) FROM (SELECT l.rn FROM {table} l WHERE {where}{order} LIMIT ? OFFSET ?)",
        [*params, per_page, (page_no - 1) * per_page],
    )[0]
    data = "[]"
    if first is not None:
        data = view.rows(
            f"SELECT '[' || string_agg(j, ', ' ORDER BY rn) || ']' FROM (SELECT l.rn, "
            f"{ROW_JSON_TEMPLATE.format(reconciled=reconciled)} AS j "
            f"FROM {table} l {JSON_JOINS} WHERE {where} AND l.rn BETWEEN ? AND ?)",
            [*reconciled_params, *params, first, last],
        )[0][0]
    return {
        "meta": {
            "records": records,
            "per_page": per_page,
            "page": page_no,
            "pages": math.ceil(records / per_page) if records else 0,
        },
        "data": RawJSON(data),
    }


ORDERS = {
    "date": " ORDER BY l.rn",
    "account": " ORDER BY l.account_code, l.rn",
    "partner": " ORDER BY coalesce(CASE WHEN l.relation_type = 'businesspartner' THEN l.relation_id END, "
    "l.ro_business_partner_id) NULLS LAST, l.rn",
}


def iter_rows(
    view: LedgerView, flt: LineFilter, order: str = "date", batch: int = 10_000, table: str = "lines"
) -> Iterator[dict[str, Any]]:
    """Every matching row, streamed in batches: a document of a whole ledger never holds it all at once."""
    where, params = flt.sql(reconciled_until=view.reconciled_until)
    reconciled, reconciled_params = reconciled_as_of("l", flt.date_to, view.reconciled_until)
    sql = ROW_SQL_TEMPLATE.format(reconciled=reconciled, table=table)
    with view.lock:
        cur = view.con.cursor()
    try:
        cur.execute(f"{sql} WHERE {where}{ORDERS[order]}", [*reconciled_params, *params])
        while True:
            chunk = cur.fetchmany(batch)
            if not chunk:
                return
            for r in chunk:
                yield gl_row(r, view)
    finally:
        cur.close()


def count_rows(view: LedgerView, flt: LineFilter, table: str = "lines") -> int:
    where, params = flt.sql(reconciled_until=view.reconciled_until)
    return int(view.rows(f"SELECT count(*) FROM {table} l WHERE {where}", params)[0][0])


def general_ledger(
    view: LedgerView, flt: LineFilter, *, page_no: int = 1, per_page: int = 100
) -> dict[str, Any]:
    return page(view, flt, page_no=page_no, per_page=per_page)
