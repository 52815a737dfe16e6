"""Reading entries back from the ledger view in the shape they were posted (plus what Saldo assigned)."""

from __future__ import annotations

from typing import Any

from saldo.ledger.models import JournalEntryIn
from saldo.ledger.query import LedgerView

ENTRY_SQL = """
SELECT * FROM lines WHERE entry_id = ? ORDER BY entry_version DESC, line_id
"""


def _dims(keys: list[str] | None) -> list[dict[str, Any]]:
    out = []
    for key in keys or []:
        dim_type, dim_id = key.split(":", 1)
        out.append({"type": dim_type, "id": int(dim_id)})
    return out


def entry_from_rows(rows: list[dict[str, Any]], view: LedgerView) -> dict[str, Any]:
    first = rows[0]
    partner_id = first["ro_business_partner_id"]
    partner = view.master.business_partners.get(partner_id) if partner_id else None
    related = None
    if any(
        first[k] is not None
        for k in (
            "ro_id",
            "ro_document_number",
            "ro_document_date",
            "ro_due_date",
            "ro_payment_ref",
            "ro_document_type",
            "ro_business_partner_id",
        )
    ):
        related = {
            "id": first["ro_id"],
            "document_number": first["ro_document_number"],
            "document_date": first["ro_document_date"],
            "due_date": first["ro_due_date"],
            "payment_ref": first["ro_payment_ref"],
            "document_type": first["ro_document_type"],
            "business_partner": {"id": partner_id, "name": partner["name"] if partner else None}
            if partner_id
            else None,
        }
    return {
        "id": first["entry_id"],
        "version": first["entry_version"],
        "sequence_number": first["sequence_number"],
        "voucher_id": first["voucher_id"],
        "posting_date": first["posting_date"],
        "description": first["entry_description"],
        "is_draft": first["is_draft"],
        "cancelled": first["cancelled"],
        "reversal_of": first["reversal_of"],
        "created_by": {"id": first["created_by_id"], "full_name": first["created_by_name"]}
        if first["created_by_id"] is not None
        else None,
        "related_object": related,
        "lines": [
            {
                "id": r["line_uid"],
                "line_id": r["line_id"],
                "account_id": (view.master.accounts.get(r["account_code"]) or {}).get("id"),
                "account_code": r["account_code"],
                "description": r["description"],
                "debit": r["debit"],
                "credit": r["credit"],
                "currency_code": r["currency_code"],
                "currency_amount": r["currency_amount"],
                "exchange_rate": r["exchange_rate"],
                "tax_code": r["tax_code"],
                "tax_base_amount": r["tax_base_amount"],
                "tax_amount": r["tax_amount"],
                "relation_type": r["relation_type"],
                "relation_id": r["relation_id"],
                "dimensions": _dims(r["dimensions"]),
                "reconciled_amount": r["reconciled_amount"],
            }
            for r in rows
        ],
    }


def load_entry(view: LedgerView, entry_id: int) -> dict[str, Any] | None:
    rows = view.dicts(ENTRY_SQL, [entry_id])
    if not rows:
        return None
    latest = rows[0]["entry_version"]
    return entry_from_rows([r for r in rows if r["entry_version"] == latest], view)


def as_entry_in(entry: dict[str, Any]) -> JournalEntryIn:
    """The posted form of a stored entry (to reverse it or check an edit)."""
    ro = entry["related_object"]
    return JournalEntryIn.model_validate(
        {
            "posting_date": entry["posting_date"],
            "description": entry["description"],
            "voucher_id": entry["voucher_id"],
            "sequence_number": entry["sequence_number"],
            "is_draft": entry["is_draft"],
            "created_by": entry["created_by"],
            "related_object": None
            if ro is None
            else {
                "id": ro["id"],
                "document_number": ro["document_number"],
                "document_date": ro["document_date"],
                "due_date": ro["due_date"],
                "payment_ref": ro["payment_ref"],
                "document_type": ro["document_type"],
                "business_partner_id": (ro["business_partner"] or {}).get("id"),
            },
            "lines": [
                {
                    k: line[k]
                    for k in (
                        "account_code",
                        "description",
                        "debit",
                        "credit",
                        "currency_code",
                        "currency_amount",
                        "exchange_rate",
                        "tax_code",
                        "tax_base_amount",
                        "tax_amount",
                        "relation_type",
                        "relation_id",
                        "dimensions",
                    )
                }
                for line in entry["lines"]
            ],
        }
    )
