"""File names of a batch's reports: the item's `internalCustomerId` first, then its format (or the batch's)
filled with the company's values; a failed item's name ends with the batch's `errorAppend`.

Every value passes `net.format_filename`/`safe_filename`: no path separators, control characters or
reserved names, whatever the company is called. Uniqueness within the batch is the store's job (a name is
claimed; a taken one gets ` (2)`, ` (3)`, ...).
"""

from __future__ import annotations

from datetime import date

from saldo.net import format_filename, safe_filename

MAX_NAME_BYTES = 180  # room for " (NNNNN)" and ".pdf" under the usual 255-byte file name limit


def file_name(
    pattern: str,
    *,
    name: str,
    cvr: str,
    report_type: str,
    run_date: date,
    balance_day: date | None,
    internal_customer_id: int | None,
    error_append: str = "",
) -> str:
    fields = {
        "name": name,
        "cvr": cvr,
        "type": report_type,
        "rundate": run_date.isoformat(),
        "balanceday": balance_day.isoformat() if balance_day else "",
    }
    body = format_filename(pattern, fields, default=cvr, max_bytes=MAX_NAME_BYTES)
    prefix = f"{internal_customer_id}-" if internal_customer_id is not None else ""
    return safe_filename(prefix + body + error_append, default=cvr, max_bytes=MAX_NAME_BYTES)


def numbered(name: str, n: int) -> str:
    """The n-th candidate for a name already taken in the batch (n >= 2)."""
    return name if n < 2 else f"{name} ({n})"
