"""The benchmark ledgers: the demo year at a given size, loaded into the local stack, plus its journal
export and a snapshot of the stored objects for the subprocess measurements."""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.measure import OUT, log


@dataclass
class Dataset:
    lines: int
    org_id: str
    api_key: str
    client_account_id: int
    entries: int
    stored_lines: int
    segments: int
    segment_bytes: int
    journal: Path
    journal_bytes: int
    journal_postings: int
    snapshot: Path
    seconds: dict[str, float]

    @property
    def label(self) -> str:
        return f"{self.lines // 1000}k" if self.lines < 1_000_000 else f"{self.lines // 1_000_000}M"

    def as_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "entries": self.entries,
            "stored_lines": self.stored_lines,
            "segments": self.segments,
            "segment_bytes": self.segment_bytes,
            "journal_bytes": self.journal_bytes,
            "journal_postings": self.journal_postings,
            "seconds": self.seconds,
        }


def prepare(lines: int) -> Dataset:
    """Generate and load `lines` journal lines (demo generator, fast path) into the running local stack."""
    from bench.stores import write_snapshot
    from saldo.adapters.tenancy_store import TenancyStore
    from saldo.ledger.service import LedgerService
    from saldo_tools.demo_ledger import load_demo_ledger
    from saldo_tools.demodata import build_plan

    tenancy = TenancyStore()
    org = tenancy.create_org(f"Benchmark {lines:,} AS")
    key = tenancy.create_key(org["org_id"], label="bench")
    started = time.perf_counter()
    info = load_demo_ledger(org["org_id"], lines, fast=True)
    loaded = time.perf_counter()
    log(
        f"loaded {info['lines']:,} lines / {info['entries']:,} entries in {loaded - started:.1f} s "
        f"(generate {info['seconds']['generate']} s, store {info['seconds']['post']} s)"
    )
    folder = OUT / "data" / str(lines)
    folder.mkdir(parents=True, exist_ok=True)
    # The journal is written from the same deterministic plan (same seed) that the loader stored.
    plan = build_plan(lines)
    journal = folder / "journal.ledger"
    with journal.open("w", encoding="utf-8") as fh:
        postings = plan.write_journal(fh)
    del plan
    gc.collect()
    written = time.perf_counter()
    svc = LedgerService(org["org_id"])
    account = svc.client_account(info["client_account_id"])
    manifest = svc.store.manifest(org["org_id"], account.id)
    snap = write_snapshot(svc.store, manifest, account, folder / "snapshot")
    return Dataset(
        lines=lines,
        org_id=org["org_id"],
        api_key=key["key"],
        client_account_id=account.id,
        entries=info["entries"],
        stored_lines=sum(s.rows for s in manifest.segments if s.kind == "lines"),
        segments=len(manifest.segments),
        segment_bytes=snap["bytes"],
        journal=journal,
        journal_bytes=journal.stat().st_size,
        journal_postings=postings,
        snapshot=folder / "snapshot",
        seconds={
            "generate": info["seconds"]["generate"],
            "store": info["seconds"]["post"],
            "load_total": round(loaded - started, 2),
            "journal_and_snapshot": round(time.perf_counter() - written + (written - loaded), 2),
        },
    )
