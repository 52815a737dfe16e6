"""Validating journal entries against a client account's master data and turning them into rows.

Pure: no I/O. Every problem is collected with the path of the offending field, so a client sees all
of them at once (`entries[3].lines[1].account_code`), and nothing is written unless all entries pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from saldo.errors import Unprocessable
from saldo.ledger.masterdata import MasterData
from saldo.ledger.models import MAX_SEQUENCE, ClientAccount, JournalEntryIn

CENT = Decimal("0.01")


BIGINT_MAX = 2**63 - 1


@dataclass
class Counters:
    """Id counters of a client account's ledger, kept in its manifest (allocation is atomic with it)."""

    next_entry_id: int = 1
    next_line_uid: int = 1
    next_sequence: int = 1

    def take_sequence(self, given: int | None = None) -> int:
        """The entry's sequence number: the one given, else the next in order; the counter moves past it.

        Given numbers are at most MAX_SEQUENCE, so the counter stays far below BIGINT; a ledger that took
        a larger number before that bound is told to give numbers explicitly instead of overflowing."""
        seq = given or self.next_sequence
        if seq > BIGINT_MAX - 1:
            raise Unprocessable(
                f"sequence_number: the next sequence number ({seq}) is out of range; give sequence_number "
                f"(1 to {MAX_SEQUENCE}) explicitly",
                details=[{"field": "sequence_number", "message": "the next sequence number is out of range"}],
            )
        self.next_sequence = max(self.next_sequence, seq + 1)
        return seq


def validate_entries(
    entries: list[JournalEntryIn], account: ClientAccount, master: MasterData, path: str = "entries"
) -> None:
    problems: list[dict[str, str]] = []

    def bad(where: str, message: str) -> None:
        problems.append({"field": where, "message": message})

    for i, entry in enumerate(entries):
        at = f"{path}[{i}]"
        if account.locked_until and entry.posting_date <= account.locked_until:
            bad(
                f"{at}.posting_date",
                f"{entry.posting_date} is in a locked period (locked until {account.locked_until})",
            )
        debit = sum((line.debit for line in entry.lines), Decimal(0))
        credit = sum((line.credit for line in entry.lines), Decimal(0))
        if debit != credit:
            bad(
                f"{at}.lines",
                f"entry does not balance: debit {debit} ≠ credit {credit} (difference {debit - credit})",
            )
        ro = entry.related_object
        if ro and ro.business_partner_id and ro.business_partner_id not in master.business_partners:
            bad(
                f"{at}.related_object.business_partner_id",
                f"unknown business partner {ro.business_partner_id}",
            )
        if ro and ro.due_date and ro.document_date and ro.due_date < ro.document_date:
            bad(f"{at}.related_object.due_date", "due_date is before document_date")
        for j, line in enumerate(entry.lines):
            lat = f"{at}.lines[{j}]"
            acc = master.accounts.get(line.account_code)
            if acc is None:
                bad(f"{lat}.account_code", f"unknown account {line.account_code}")
            elif not acc.get("active", True):
                bad(f"{lat}.account_code", f"account {line.account_code} is inactive")
            if line.debit == 0 and line.credit == 0 and not line.tax_base_amount:
                bad(f"{lat}", "a line needs a debit or a credit amount")
            if line.tax_code is not None and not master.tax_code_valid_on(line.tax_code, entry.posting_date):
                known = line.tax_code in master.tax_codes
                bad(
                    f"{lat}.tax_code",
                    f"tax code {line.tax_code} is not valid on {entry.posting_date}"
                    if known
                    else f"unknown tax code {line.tax_code}",
                )
            if line.tax_code is None and (line.tax_amount or line.tax_base_amount):
                bad(f"{lat}.tax_code", "tax_amount/tax_base_amount given without a tax_code")
            if line.relation_type and not master.has_dimension(line.relation_type, line.relation_id or 0):
                bad(f"{lat}.relation_id", f"unknown {line.relation_type} {line.relation_id}")
            for k, dim in enumerate(line.dimensions):
                if not master.has_dimension(dim.type, dim.id):
                    bad(f"{lat}.dimensions[{k}]", f"unknown dimension {dim.type}:{dim.id}")
            signed = line.debit - line.credit
            currency = line.currency_code or account.currency
            if currency != account.currency:
                if line.currency_amount is None or line.exchange_rate is None:
                    bad(
                        f"{lat}.currency_amount", f"a {currency} line needs currency_amount and exchange_rate"
                    )
                elif (line.currency_amount * line.exchange_rate).quantize(CENT, ROUND_HALF_EVEN) != signed:
                    bad(
                        f"{lat}.exchange_rate",
                        f"currency_amount {line.currency_amount} × exchange_rate "
                        f"{line.exchange_rate} ≠ amount {signed}",
                    )
            elif line.currency_amount is not None and line.currency_amount != signed:
                bad(
                    f"{lat}.currency_amount",
                    f"currency_amount {line.currency_amount} ≠ amount {signed} "
                    f"for a line in the account currency",
                )
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise Unprocessable(f"{first['field']}: {first['message']}{more}", details=problems)


def entry_rows(
    entry: JournalEntryIn,
    *,
    entry_id: int,
    version: int,
    sequence_number: int,
    first_line_uid: int,
    account: ClientAccount,
    batch_id: str,
    created_at: datetime,
    reversal_of: int | None = None,
) -> list[dict[str, Any]]:
    """One storage row per line (entry fields repeated: the segments are read by aggregation)."""
    ro = entry.related_object
    rows = []
    for n, line in enumerate(entry.lines, start=1):
        signed = line.debit - line.credit
        currency = line.currency_code or account.currency
        foreign = currency != account.currency
        rows.append(
            {
                "line_uid": first_line_uid + n - 1,
                "line_id": n,
                "entry_id": entry_id,
                "entry_version": version,
                "sequence_number": sequence_number,
                "voucher_id": entry.voucher_id if entry.voucher_id is not None else sequence_number,
                "posting_date": entry.posting_date,
                "account_code": line.account_code,
                "description": line.description,
                "entry_description": entry.description,
                "debit": line.debit,
                "credit": line.credit,
                "currency_code": currency,
                "currency_amount": line.currency_amount if foreign else signed,
                "exchange_rate": line.exchange_rate if foreign else Decimal(1),
                "tax_code": line.tax_code,
                "tax_base_amount": line.tax_base_amount,
                "tax_amount": line.tax_amount,
                "relation_type": line.relation_type,
                "relation_id": line.relation_id,
                "dimensions": [f"{d.type}:{d.id}" for d in line.dimensions],
                "is_draft": entry.is_draft,
                "created_by_id": entry.created_by.id if entry.created_by else None,
                "created_by_name": entry.created_by.full_name if entry.created_by else None,
                "ro_id": ro.id if ro else None,
                "ro_document_number": ro.document_number if ro else None,
                "ro_document_date": ro.document_date if ro else None,
                "ro_due_date": ro.due_date if ro else None,
                "ro_payment_ref": ro.payment_ref if ro else None,
                "ro_document_type": ro.document_type if ro else None,
                "ro_business_partner_id": ro.business_partner_id if ro else None,
                "reversal_of": reversal_of,
                "batch_id": batch_id,
                "created_at": created_at,
            }
        )
    return rows


def reversal_of_entry(
    original: JournalEntryIn, cancel_date: date | None, reason: str | None
) -> JournalEntryIn:
    """The reversing entry of a cancellation: every line on the other side, same accounts and tax."""
    lines = []
    for line in original.lines:
        data = line.model_dump()
        data["debit"], data["credit"] = line.credit, line.debit
        for key in ("currency_amount", "tax_base_amount", "tax_amount"):
            if data[key] is not None:
                data[key] = -data[key]
        lines.append(data)
    desc = f"Reversal: {original.description or ''}".strip()
    if reason:
        desc = f"{desc} ({reason})"
    return JournalEntryIn.model_validate(
        {
            **original.model_dump(
                exclude={"lines", "posting_date", "description", "sequence_number", "is_draft", "voucher_id"}
            ),
            "posting_date": cancel_date or original.posting_date,
            "description": desc[:512],
            "lines": lines,
        }
    )
