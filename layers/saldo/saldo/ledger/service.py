"""Ledger use cases: client accounts, master data, posting, cancelling, reconciling, editing drafts.

Handlers call these with the caller's organization; every read and write is keyed by it. Each write
is one atomic append to the client account's ledger store, followed by a ledger-changed event.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from saldo.errors import Conflict, Forbidden, NotFound, Unprocessable
from saldo.ledger import posting
from saldo.ledger.entries import as_entry_in, load_entry
from saldo.ledger.masterdata import MasterData, UpsertSummary
from saldo.ledger.models import (
    AccountIn,
    BusinessPartnerIn,
    CancelIn,
    ClientAccount,
    ClientAccountIn,
    ClientAccountPatch,
    DimensionIn,
    DraftEditIn,
    JournalEntriesIn,
    ReconcileIn,
    TaxCodeIn,
    check_patched_account,
)
from saldo.ledger.query import LedgerView, open_view, view_at
from saldo.ledger.store import COMPACT_AFTER, Change, LedgerStore, Lock, Manifest

ZERO = Decimal("0.00")


@cache
def default_store() -> LedgerStore:
    from saldo.adapters.ledger_aws import DynamoManifestStore, S3BlobStore

    return LedgerStore(S3BlobStore(), DynamoManifestStore())


@cache
def default_repo() -> Any:
    from saldo.adapters.client_accounts import ClientAccountRepo

    return ClientAccountRepo()


def _publish(detail_type: str, detail: dict[str, Any]) -> None:
    from saldo.adapters.events import publish

    publish(detail_type, detail)


def _enqueue(message: dict[str, Any]) -> None:
    from saldo.adapters.queue import enqueue

    enqueue(message)


class LedgerService:
    def __init__(
        self,
        org_id: str,
        store: LedgerStore | None = None,
        repo: Any = None,
        publish: Callable[[str, dict[str, Any]], None] | None = None,
        enqueue: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.org_id = org_id
        self.store = store or default_store()
        self.repo = repo or default_repo()
        self.publish = publish or _publish
        self.enqueue = enqueue or _enqueue

    # ------------------------------------------------------------------ client accounts
    def create_client_account(self, data: ClientAccountIn) -> ClientAccount:
        account = self.repo.create(self.org_id, data)
        self.publish(
            "ClientAccountChanged",
            {"org_id": self.org_id, "client_account_id": account.id, "change": "created"},
        )
        return account

    def client_account(self, account_id: int) -> ClientAccount:
        account = self.repo.get(self.org_id, account_id)
        if account is None:
            raise Forbidden(f"No access to client account {account_id}")  # as reports and SAF-T answer
        return account

    def list_client_accounts(self, allowed: frozenset[int] | None) -> list[ClientAccount]:
        return [a for a in self.repo.list(self.org_id) if allowed is None or a.id in allowed]

    def patch_client_account(self, account_id: int, patch: ClientAccountPatch) -> ClientAccount:
        current = self.repo.record(self.org_id, account_id)
        if current is None:
            raise Forbidden(f"No access to client account {account_id}")
        changes = patch.model_dump(exclude_unset=True)
        check_patched_account(current, changes)  # the merged record must be whole: else 422, nothing written
        if "locked_until" in changes:
            # The ledger's lock is the one writes check; the record shows it.
            self.lock_period(account_id, changes["locked_until"])
        account = self.repo.update(self.org_id, account_id, changes)
        if account is None:
            raise Forbidden(f"No access to client account {account_id}")
        if "locked_until" in changes:
            # Two lock changes at once: the record follows the one the ledger kept.
            kept = self.store.manifest(self.org_id, account_id).locked_until(account.locked_until)
            if kept != account.locked_until:
                account = self.repo.update(self.org_id, account_id, {"locked_until": kept}) or account
        self.publish(
            "ClientAccountChanged",
            {
                "org_id": self.org_id,
                "client_account_id": account_id,
                "change": "updated",
                "fields": sorted(changes),
            },
        )
        return account

    def view(self, account: ClientAccount) -> LedgerView:
        return open_view(self.store, self.org_id, account)

    # ------------------------------------------------------------------ master data
    def master(self, account_id: int) -> MasterData:
        return self.store.master(self.store.manifest(self.org_id, account_id))

    def upsert_master(self, account_id: int, kind: str, items: list[Any]) -> UpsertSummary:
        account = self.client_account(account_id)
        upserts = {
            "accounts": (AccountIn, MasterData.upsert_accounts),
            "tax_codes": (TaxCodeIn, MasterData.upsert_tax_codes),
            "dimensions": (DimensionIn, MasterData.upsert_dimensions),
            "business_partners": (BusinessPartnerIn, MasterData.upsert_business_partners),
        }
        _, upsert = upserts[kind]

        def build(manifest: Manifest, master: MasterData) -> Change:
            if kind == "tax_codes":
                for i, tc in enumerate(items):
                    if tc.account_code and tc.account_code not in master.accounts:
                        raise Unprocessable(
                            f"items[{i}].account_code: unknown account {tc.account_code}",
                            details=[
                                {
                                    "field": f"items[{i}].account_code",
                                    "message": f"unknown account {tc.account_code}",
                                }
                            ],
                        )
            if kind == "accounts":
                _check_openings_unlocked(items, master, as_written(account, manifest).locked_until)
            summary = upsert(master, items)
            # Nothing new: keep the stored document instead of writing an identical copy.
            return Change(master=master if summary.changed else None, result=summary)

        result = self.store.commit(self.org_id, account_id, build)
        self._changed(account_id, "masterdata", {"kind": kind, "count": len(items)})
        return result

    # ------------------------------------------------------------------ journal entries
    def post_entries(self, payload: JournalEntriesIn) -> dict[str, Any]:
        account = self.client_account(payload.client_account_id)
        batch_id = uuid.uuid4().hex
        now = datetime.now(UTC).replace(tzinfo=None)

        def build(manifest: Manifest, master: MasterData) -> Change:
            posting.validate_entries(payload.entries, as_written(account, manifest), master)
            counters = manifest.counters
            rows: list[dict[str, Any]] = []
            summary = []
            for entry in payload.entries:
                seq = counters.take_sequence(entry.sequence_number)
                entry_rows = posting.entry_rows(
                    entry,
                    entry_id=counters.next_entry_id,
                    version=1,
                    sequence_number=seq,
                    first_line_uid=counters.next_line_uid,
                    account=account,
                    batch_id=batch_id,
                    created_at=now,
                )
                rows.extend(entry_rows)
                summary.append(
                    {
                        "id": counters.next_entry_id,
                        "sequence_number": seq,
                        "voucher_id": entry_rows[0]["voucher_id"],
                        "line_ids": [r["line_uid"] for r in entry_rows],
                    }
                )
                counters.next_entry_id += 1
                counters.next_line_uid += len(entry_rows)
            return Change(lines=rows, result=summary)

        summary = self.store.commit(self.org_id, account.id, build)
        lines = sum(len(e["line_ids"]) for e in summary)
        self._changed(
            account.id, "entries_posted", {"entries": len(summary), "lines": lines, "batch_id": batch_id}
        )
        return {"client_account_id": account.id, "batch_id": batch_id, "entries": summary}

    def get_entry(self, account_id: int, entry_id: int) -> dict[str, Any]:
        account = self.client_account(account_id)
        entry = load_entry(self.view(account), entry_id)
        if entry is None:
            raise NotFound(f"Journal entry {entry_id} not found in client account {account_id}")
        return entry

    def _entry_at(self, manifest: Manifest, account: ClientAccount, entry_id: int) -> dict[str, Any]:
        """The entry as of the manifest version a write replaces (404, or 422 once deleted)."""
        view = view_at(self.store, manifest, account)
        entry = load_entry(view, entry_id)
        if entry is not None:
            return entry
        if _deleted(view, entry_id):
            raise Unprocessable(f"Journal entry {entry_id} was deleted")
        raise NotFound(f"Journal entry {entry_id} not found in client account {account.id}")

    def cancel_entry(self, entry_id: int, data: CancelIn) -> dict[str, Any]:
        account = self.client_account(data.client_account_id)
        now = datetime.now(UTC).replace(tzinfo=None)
        batch_id = uuid.uuid4().hex

        def build(manifest: Manifest, master: MasterData) -> Change:
            # Checked against the version this cancel replaces: of two cancels at once, the second
            # one's build runs again after the first lands and finds the entry cancelled.
            original = self._entry_at(manifest, account, entry_id)
            if original["is_draft"]:
                raise Unprocessable("A draft is deleted, not cancelled")
            if original["reversal_of"]:
                raise Unprocessable(f"Journal entry {entry_id} is itself a cancellation")
            if original["cancelled"]:
                view = view_at(self.store, manifest, account)
                by = view.rows("SELECT min(entry_id) FROM lines WHERE reversal_of = ?", [entry_id])[0][0]
                raise Unprocessable(
                    f"Journal entry {entry_id} is already cancelled"
                    + (f" (reversing entry {by})" if by is not None else "")
                )
            # A reconciliation of its lines stays in force while they are cancelled: refused, and
            # checked here so a cancel racing a reconcile has one winner.
            refs = _references_in_force(view_at(self.store, manifest, account), entry_id)
            if refs:
                raise Unprocessable(
                    f"Journal entry {entry_id} has reconciled lines: unreconcile reference "
                    f"{', '.join(refs)} first"
                )
            reversal = posting.reversal_of_entry(as_entry_in(original), data.cancel_date, data.reason)
            posting.validate_entries([reversal], as_written(account, manifest), master, path="cancel")
            c = manifest.counters
            rows = posting.entry_rows(
                reversal,
                entry_id=c.next_entry_id,
                version=1,
                sequence_number=c.take_sequence(),
                first_line_uid=c.next_line_uid,
                account=account,
                batch_id=batch_id,
                created_at=now,
                reversal_of=entry_id,
            )
            facts = [
                _fact("cancel", entry_id=eid, ref=data.reason, at=now) for eid in (entry_id, c.next_entry_id)
            ]
            result = {"cancelled_entry_id": entry_id, "reversal_entry_id": c.next_entry_id}
            c.next_entry_id += 1
            c.next_line_uid += len(rows)
            return Change(lines=rows, facts=facts, result=result)

        result = self.store.commit(self.org_id, account.id, build)
        self._changed(account.id, "entry_cancelled", result)
        return result

    def reconcile(self, data: ReconcileIn) -> dict[str, Any]:
        account = self.client_account(data.client_account_id)
        ids = [line.line_id for line in data.lines]
        if len(set(ids)) != len(ids):
            raise Unprocessable("lines: a line appears twice")
        reference = data.reference or uuid.uuid4().hex[:12]
        now = datetime.now(UTC).replace(tzinfo=None)

        def build(manifest: Manifest, master: MasterData) -> Change:
            # Open amounts as of the version this reconciliation replaces, so two reconciliations of
            # the same lines at once cannot both take the same open amount.
            view = view_at(self.store, manifest, account)
            if data.reference and _reconciled_by(view, reference):
                raise Unprocessable(
                    f"reference: reconciliation {reference} already exists; unreconcile it first",
                    details=[{"field": "reference", "message": f"reconciliation {reference} already exists"}],
                )
            effective = _check_reconcilable(view, data)
            facts = [
                {
                    **_fact("reconcile", line_uid=line.line_id, amount=line.amount, ref=reference, at=now),
                    "effective_date": effective,
                }
                for line in data.lines
            ]
            return Change(
                facts=facts, result={"reference": reference, "lines": len(facts), "date": effective}
            )

        result = self.store.commit(self.org_id, account.id, build)
        self._changed(account.id, "lines_reconciled", result)
        return result

    def unreconcile(self, account_id: int, reference: str) -> dict[str, Any]:
        """Undo a reconciliation: its lines' matched amounts become open again."""
        account = self.client_account(account_id)
        now = datetime.now(UTC).replace(tzinfo=None)

        def build(manifest: Manifest, master: MasterData) -> Change:
            view = view_at(self.store, manifest, account)
            # Undone on the day it counted from (the same effective date), so reports as of any day
            # see it undone.
            matched = view.rows(
                "SELECT line_uid, effective_date, sum(CASE WHEN fact_type = 'reconcile' THEN amount "
                "ELSE -amount END)::DECIMAL(18,2) FROM facts WHERE ref = ? "
                "AND fact_type IN ('reconcile', 'unreconcile') GROUP BY ALL ORDER BY line_uid",
                [reference],
            )
            if not matched:
                raise NotFound(f"Reconciliation {reference} not found in client account {account.id}")
            still = [(uid, day, amount) for uid, day, amount in matched if amount]
            if not still:
                raise Unprocessable(f"Reconciliation {reference} is already undone")
            facts = [
                {
                    **_fact("unreconcile", line_uid=uid, amount=amount, ref=reference, at=now),
                    "effective_date": day,
                }
                for uid, day, amount in still
            ]
            return Change(facts=facts, result={"reference": reference, "lines": len(facts)})

        result = self.store.commit(self.org_id, account.id, build)
        self._changed(account.id, "lines_unreconciled", result)
        return result

    def edit_draft(
        self, entry_id: int, data: DraftEditIn, expected_version: int | None = None
    ) -> dict[str, Any]:
        """Replace a draft with a new version. `expected_version` (the request's If-Match) makes the edit
        conditional: it applies only to that version, so of concurrent edits of one version one wins."""
        account = self.client_account(data.client_account_id)
        now = datetime.now(UTC).replace(tzinfo=None)
        batch_id = uuid.uuid4().hex

        def build(manifest: Manifest, master: MasterData) -> Change:
            current = self._current_draft(manifest, account, entry_id, expected_version, "edited")
            posting.validate_entries([data.entry], as_written(account, manifest), master, path="entry")
            c = manifest.counters
            seq = data.entry.sequence_number or current["sequence_number"]
            rows = posting.entry_rows(
                data.entry,
                entry_id=entry_id,
                version=current["version"] + 1,
                sequence_number=seq,
                first_line_uid=c.next_line_uid,
                account=account,
                batch_id=batch_id,
                created_at=now,
            )
            c.next_line_uid += len(rows)
            facts = [_fact("supersede", entry_id=entry_id, entry_version=current["version"], at=now)]
            return Change(
                lines=rows,
                facts=facts,
                result={"id": entry_id, "version": current["version"] + 1, "is_draft": data.entry.is_draft},
            )

        result = self.store.commit(self.org_id, account.id, build)
        self._changed(account.id, "draft_edited", result)
        return result

    def delete_draft(
        self, account_id: int, entry_id: int, expected_version: int | None = None
    ) -> dict[str, Any]:
        account = self.client_account(account_id)
        now = datetime.now(UTC).replace(tzinfo=None)

        def build(manifest: Manifest, master: MasterData) -> Change:
            if _deleted(view_at(self.store, manifest, account), entry_id):
                raise Unprocessable(f"Journal entry {entry_id} is already deleted")
            self._current_draft(manifest, account, entry_id, expected_version, "deleted")
            return Change(
                facts=[_fact("delete", entry_id=entry_id, at=now)], result={"deleted_entry_id": entry_id}
            )

        result = self.store.commit(self.org_id, account.id, build)
        self._changed(account.id, "draft_deleted", result)
        return result

    def _current_draft(
        self, manifest: Manifest, account: ClientAccount, entry_id: int, expected: int | None, verb: str
    ) -> dict[str, Any]:
        current = self._entry_at(manifest, account, entry_id)
        if not current["is_draft"]:
            raise Unprocessable(
                f"Journal entry {entry_id} is posted; posted entries are cancelled, not {verb}"
            )
        if expected is not None and current["version"] != expected:
            raise Conflict(
                f"Journal entry {entry_id} is at version {current['version']}, not {expected}: it was "
                "changed by another request; read it again"
            )
        return current

    # ------------------------------------------------------------------ locked period
    def lock_period(self, account_id: int, until: date | None) -> bool:
        """Write the lock date into the ledger (its manifest), where every posting, cancel and draft
        edit reads it in the same commit; a posting racing the lock lands before it or is refused.
        Returns whether the ledger changed (setting the lock it already has changes nothing)."""
        now = datetime.now(UTC).replace(tzinfo=None)

        def build(manifest: Manifest, master: MasterData) -> Change:
            if manifest.lock == Lock(until):
                return Change(result=False)
            # The fact keeps the history of lock changes, in ledger order.
            fact = _fact("lock", ref=until.isoformat() if until else "", at=now)
            return Change(lock=Lock(until), facts=[fact], result=True)

        changed = bool(self.store.commit(self.org_id, account_id, build))
        if changed:
            self._changed(account_id, "period_locked", {"locked_until": until})
        return changed

    def _changed(self, account_id: int, change: str, detail: dict[str, Any]) -> None:
        manifest = self.store.manifest(self.org_id, account_id)
        self.publish(
            "LedgerChanged",
            {
                "org_id": self.org_id,
                "client_account_id": account_id,
                "change": change,
                "ledger_version": manifest.version,
                **detail,
            },
        )
        if len(manifest.segments) >= COMPACT_AFTER:
            self.enqueue({"type": "compact_ledger", "org_id": self.org_id, "client_account_id": account_id})


def as_written(account: ClientAccount, manifest: Manifest) -> ClientAccount:
    """The client account with the lock date of the ledger version a write replaces."""
    until = manifest.locked_until(account.locked_until)
    return account if until == account.locked_until else account.model_copy(update={"locked_until": until})


def _check_openings_unlocked(items: list[AccountIn], master: MasterData, locked_until: date | None) -> None:
    """422 naming the field when the upsert changes an opening balance while a period is locked: opening
    balances count before every posting, so any change reaches into the locked period."""
    if locked_until is None:
        return
    current = {code: acc["opening_balance"] for code, acc in master.accounts.items()}
    problems = []
    for i, acc in enumerate(items):
        before = current.get(acc.code, ZERO)
        after = acc.opening_balance if "opening_balance" in acc.model_fields_set else before
        if after != before:
            problems.append(
                {
                    "field": f"items[{i}].opening_balance",
                    "message": f"account {acc.code}: the opening balance cannot change ({before} to "
                    f"{after}) while the period until {locked_until} is locked",
                }
            )
        current[acc.code] = after
    if problems:
        raise Unprocessable(f"{problems[0]['field']}: {problems[0]['message']}", details=problems)


def _references_in_force(view: LedgerView, entry_id: int) -> list[str]:
    """The references of reconciliations in force on the entry's lines."""
    rows = view.rows(
        "SELECT DISTINCT ref FROM (SELECT ref FROM facts WHERE fact_type IN ('reconcile', 'unreconcile') "
        "AND line_uid IN (SELECT line_uid FROM lines WHERE entry_id = ?) GROUP BY ref, line_uid "
        "HAVING sum(CASE WHEN fact_type = 'reconcile' THEN amount ELSE -amount END) <> 0) ORDER BY ref",
        [entry_id],
    )
    return [r[0] for r in rows]


def _deleted(view: LedgerView, entry_id: int) -> bool:
    sql = "SELECT 1 FROM facts WHERE fact_type = 'delete' AND entry_id = ? LIMIT 1"
    return bool(view.rows(sql, [entry_id]))


def _reconciled_by(view: LedgerView, reference: str) -> bool:
    """Whether a reconciliation with this reference is in force (reconciled and not undone)."""
    return bool(
        view.rows(
            "SELECT 1 FROM facts WHERE ref = ? AND fact_type IN ('reconcile', 'unreconcile') "
            "GROUP BY line_uid "
            "HAVING sum(CASE WHEN fact_type = 'reconcile' THEN amount ELSE -amount END) <> 0 LIMIT 1",
            [reference],
        )
    )


def _check_reconcilable(view: LedgerView, data: ReconcileIn) -> date:
    """Lines exist, are posted and open for the amounts, on one account, and debits match credits; the
    date the reconciliation counts from."""
    found = {
        r["line_uid"]: r
        for r in view.dicts(
            "SELECT line_uid, account_code, amount, reconciled_amount, cancelled, is_draft, posting_date, "
            "relation_type, relation_id FROM lines WHERE line_uid IN (SELECT unnest(?::BIGINT[]))",
            [[line.line_id for line in data.lines]],
        )
    }
    problems = []
    signed_total = ZERO
    for i, line in enumerate(data.lines):
        row = found.get(line.line_id)
        if row is None:
            problems.append({"field": f"lines[{i}].line_id", "message": f"unknown line {line.line_id}"})
            continue
        if row["cancelled"] or row["is_draft"]:
            problems.append(
                {"field": f"lines[{i}].line_id", "message": "a cancelled or draft line cannot be reconciled"}
            )
        open_amount = abs(row["amount"]) - row["reconciled_amount"]
        if line.amount > open_amount:
            problems.append(
                {
                    "field": f"lines[{i}].amount",
                    "message": f"{line.amount} exceeds the open amount {open_amount}",
                }
            )
        signed_total += line.amount if row["amount"] > 0 else -line.amount
    accounts = {r["account_code"] for r in found.values()}
    if len(accounts) > 1:
        problems.append({"field": "lines", "message": f"lines are on different accounts {sorted(accounts)}"})
    # Per-partner open items must add up to the control balance: one partner's invoice is not settled by
    # another's payment.
    partners = sorted({r["relation_id"] for r in found.values() if r["relation_type"] == "businesspartner"})
    if len(partners) > 1:
        problems.append({"field": "lines", "message": f"lines are of different business partners {partners}"})
    if not problems and signed_total != 0:
        problems.append({"field": "lines", "message": f"matched debits and credits differ by {signed_total}"})
    # A reconciliation counts in reports from its date: by default the day its last line is posted,
    # never earlier (a line cannot be settled by one not yet posted).
    latest = max((r["posting_date"] for r in found.values()), default=None)
    if not problems and data.reconciled_on is not None and data.reconciled_on < latest:
        problems.append(
            {"field": "date", "message": f"{data.reconciled_on} is before the latest line's date {latest}"}
        )
    if problems:
        raise Unprocessable(f"{problems[0]['field']}: {problems[0]['message']}", details=problems)
    return data.reconciled_on or latest


def _fact(
    fact_type: str,
    *,
    entry_id: int | None = None,
    entry_version: int | None = None,
    line_uid: int | None = None,
    amount: Decimal | None = None,
    ref: str | None = None,
    at: datetime,
) -> dict[str, Any]:
    return {
        "fact_type": fact_type,
        "entry_id": entry_id,
        "entry_version": entry_version,
        "line_uid": line_uid,
        "amount": amount,
        "ref": ref,
        "created_at": at,
    }
