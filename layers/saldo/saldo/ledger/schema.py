"""Column layout of ledger segments (Parquet) and fact segments: one place, used by writer and reader."""

from __future__ import annotations

LINE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("line_uid", "BIGINT"),  # the general ledger row "id"
    ("line_id", "INTEGER"),  # line number within its entry
    ("entry_id", "BIGINT"),
    ("entry_version", "INTEGER"),  # draft edits append a new version
    ("sequence_number", "BIGINT"),
    ("voucher_id", "BIGINT"),
    ("posting_date", "DATE"),
    ("account_code", "VARCHAR"),
    ("description", "VARCHAR"),
    ("entry_description", "VARCHAR"),
    ("debit", "DECIMAL(18,2)"),
    ("credit", "DECIMAL(18,2)"),
    ("currency_code", "VARCHAR"),
    ("currency_amount", "DECIMAL(18,2)"),
    ("exchange_rate", "DECIMAL(18,6)"),
    ("tax_code", "VARCHAR"),
    ("tax_base_amount", "DECIMAL(18,2)"),
    ("tax_amount", "DECIMAL(18,2)"),
    ("relation_type", "VARCHAR"),
    ("relation_id", "BIGINT"),
    ("dimensions", "VARCHAR[]"),  # "type:id" strings
    ("is_draft", "BOOLEAN"),
    ("created_by_id", "BIGINT"),
    ("created_by_name", "VARCHAR"),
    ("ro_id", "BIGINT"),
    ("ro_document_number", "VARCHAR"),
    ("ro_document_date", "DATE"),
    ("ro_due_date", "DATE"),
    ("ro_payment_ref", "VARCHAR"),
    ("ro_document_type", "VARCHAR"),
    ("ro_business_partner_id", "BIGINT"),
    ("reversal_of", "BIGINT"),  # the entry a cancellation reverses
    ("batch_id", "VARCHAR"),
    ("created_at", "TIMESTAMP"),
    # Added later (older segments read them as NULL, see query._source):
    ("voucher_type", "VARCHAR"),  # the entry's SAF-T VoucherType, as imported
    ("line_due_date", "DATE"),  # the line's own due date (SAF-T Line/DueDate), as imported
)

FACT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("fact_type", "VARCHAR"),  # cancel | reconcile | unreconcile | supersede | delete
    ("entry_id", "BIGINT"),
    ("entry_version", "INTEGER"),
    ("line_uid", "BIGINT"),
    ("amount", "DECIMAL(18,2)"),
    ("ref", "VARCHAR"),
    ("created_at", "TIMESTAMP"),
    # reconcile/unreconcile: the day from which the fact counts in reports (older facts: NULL, read as the
    # latest posting date of the lines of their reconciliation, see query._resolved).
    ("effective_date", "DATE"),
)

LINE_NAMES = tuple(name for name, _ in LINE_COLUMNS)
FACT_NAMES = tuple(name for name, _ in FACT_COLUMNS)
