"""Load the demo year (saldo_tools.demodata) into a client account of an organization.

The client account and its master data are created through `LedgerService`, the entries are posted
through `LedgerService.post_entries` in chunks (one Parquet segment each), and the paid part of every
invoice is then marked reconciled against its receipts, payments or credit note in one append of
reconciliation facts, so the receivables and payables reports show exactly the open items.

`fast=True` is for benchmark volumes: the generator's storage rows are appended through the same ledger
store (same manifest, counters and segment format) without a pydantic model per entry.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from saldo.ledger.models import JournalEntriesIn
from saldo.ledger.service import LedgerService
from saldo.ledger.store import Change, Manifest
from saldo_tools.demodata import COMPANY_REGNO, DEFAULT_LINES, DemoPlan, build_plan, paused_gc

CHUNK_ENTRIES = 2_000  # entries per post: one segment of roughly 7,000 lines
FAST_CHUNK_ENTRIES = 25_000  # entries per segment on the fast path: roughly 90,000 lines
FAST_ABOVE = 100_000  # lines


def load_demo_ledger(
    org_id: str,
    lines: int | None = None,
    *,
    year: int = 2025,
    seed: int = 42,
    fast: bool | None = None,
    chunk: int | None = None,
    reconcile: bool = True,
    service: LedgerService | None = None,
) -> dict[str, Any]:
    """Create the demo client account in `org_id` and load one year of its bookkeeping.

    `lines` defaults to $SALDO_DEMO_LINES or 20,000; `fast` (append storage rows instead of posting
    models) defaults to on above 100,000 lines. Returns the client account id and what was loaded. If
    the organization already has the demo company (same registration number), nothing is loaded again.
    """
    started = time.perf_counter()
    lines = lines or int(os.environ.get("SALDO_DEMO_LINES") or DEFAULT_LINES)
    fast = lines > FAST_ABOVE if fast is None else fast
    svc = service or LedgerService(org_id)
    existing = svc.repo.find_by_regno(org_id, "NO", COMPANY_REGNO)
    if existing is not None:
        return {"client_account_id": existing.id, "lines": 0, "entries": 0, "already_loaded": True}
    plan = build_plan(lines, year, seed)
    generated = time.perf_counter()
    account = svc.create_client_account(plan.client_account)
    svc.upsert_master(account.id, "accounts", plan.accounts)
    svc.upsert_master(account.id, "tax_codes", plan.tax_codes)
    svc.upsert_master(account.id, "dimensions", plan.dimensions)
    svc.upsert_master(account.id, "business_partners", plan.business_partners)
    if fast:
        uids = _append_rows(svc, account.id, plan, chunk or FAST_CHUNK_ENTRIES)
    else:
        uids = _post(svc, account.id, plan, chunk or CHUNK_ENTRIES)
    posted = time.perf_counter()
    reconciled = _reconcile(svc, account.id, plan, uids) if reconcile else 0
    return {
        "client_account_id": account.id,
        "client_account_name": account.name,
        "year": year,
        "entries": len(plan.entries),
        "lines": plan.line_count,
        "reconciled_lines": reconciled,
        "seconds": {
            "generate": round(generated - started, 2),
            "post": round(posted - generated, 2),
            "total": round(time.perf_counter() - started, 2),
        },
    }


def _post(svc: LedgerService, account_id: int, plan: DemoPlan, chunk: int) -> list[int]:
    """Post through the service, `chunk` entries at a time; the uid it gave each entry's first line."""
    uids: list[int] = []
    for start in range(0, len(plan.entries), chunk):
        batch = plan.entries[start : start + chunk]
        with paused_gc():
            payload = JournalEntriesIn(client_account_id=account_id, entries=plan.journal_entries(batch))
            result = svc.post_entries(payload)
        uids.extend(e["line_ids"][0] for e in result["entries"])
    return uids


def _append_rows(svc: LedgerService, account_id: int, plan: DemoPlan, chunk: int) -> list[int]:
    """Append the generator's storage rows straight to the ledger store, one segment per chunk."""
    currency = svc.client_account(account_id).currency
    uids: list[int] = []
    for start in range(0, len(plan.entries), chunk):
        batch = plan.entries[start : start + chunk]
        batch_id = uuid.uuid4().hex
        first_uid = svc.store.commit(svc.org_id, account_id, _rows_change(plan, batch, batch_id, currency))
        for e in batch:
            uids.append(first_uid)
            first_uid += len(e.lines)
        lines = sum(len(e.lines) for e in batch)
        svc._changed(
            account_id, "entries_posted", {"entries": len(batch), "lines": lines, "batch_id": batch_id}
        )
    return uids


def _rows_change(
    plan: DemoPlan, batch: list[Any], batch_id: str, currency: str
) -> Callable[[Manifest, Any], Change]:
    """The store's build step for one chunk: ids from the manifest's counters, like a post would take."""
    now = datetime.now(UTC).replace(tzinfo=None)

    def build(manifest: Manifest, _master: Any) -> Change:
        c = manifest.counters
        with paused_gc():
            rows = list(
                plan.storage_rows(
                    entries=batch,
                    first_entry_id=c.next_entry_id,
                    first_line_uid=c.next_line_uid,
                    currency=currency,
                    batch_id=batch_id,
                    created_at=now,
                )
            )
        first_uid = c.next_line_uid
        c.next_entry_id += len(batch)
        c.next_line_uid += len(rows)
        c.next_sequence = max(c.next_sequence, max(e.seq for e in batch) + 1)
        return Change(lines=rows, result=first_uid)

    return build


def _reconcile(svc: LedgerService, account_id: int, plan: DemoPlan, uids: list[int]) -> int:
    """Mark the settled part of each invoice reconciled, in one append of facts."""
    now = datetime.now(UTC).replace(tzinfo=None)
    facts = []
    for key, pairs in plan.settlements(uids):
        ref = f"demo-{key}"
        for uid, ore in pairs:
            facts.append(
                {
                    "fact_type": "reconcile",
                    "entry_id": None,
                    "entry_version": None,
                    "line_uid": uid,
                    "amount": Decimal(ore).scaleb(-2),
                    "ref": ref,
                    "created_at": now,
                }
            )
    if not facts:
        return 0
    svc.store.commit(svc.org_id, account_id, lambda _m, _md: Change(facts=facts, result=len(facts)))
    svc._changed(account_id, "lines_reconciled", {"reference": "demo", "lines": len(facts)})
    return len(facts)
