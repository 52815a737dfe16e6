"""Read side of the ledger: a DuckDB database over one manifest version, with facts resolved.

The segments listed by the manifest are downloaded once into the function's /tmp (their keys are
immutable, so a key is its own cache key) and loaded into an in-memory table `lines`, sorted by date:
cancellations, reconciliations and draft edits are resolved here, at read time. The view is cached per
(client account, manifest version) across warm invocations; a write bumps the version, so a read
right after a write sees it.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from saldo.ledger.accountplan import CONTROL_ACCOUNTS
from saldo.ledger.masterdata import MasterData
from saldo.ledger.models import ClientAccount
from saldo.ledger.schema import FACT_COLUMNS, LINE_COLUMNS
from saldo.ledger.store import LedgerStore, Manifest

CACHE_DIR = Path(os.environ.get("SALDO_CACHE_DIR", "/tmp/saldo-cache"))  # noqa: S108 - Lambda's scratch space
# The view's copy of the control accounts' lines, read by the open-item reports.
OPEN_ITEM_LINES = "open_item_lines"
# Cached views may use this share of the function's memory (a 1M-line view holds about 0.6 GB); the
# least recently used go first, the newest always stays.
VIEW_CACHE_SHARE = 0.5
VIEW_CACHE_MAX = 8


def view_cache_budget() -> int:
    """Bytes of DuckDB memory the cached views may hold in this function."""
    memory_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE") or 3008)
    return int(memory_mb * 1024 * 1024 * VIEW_CACHE_SHARE)


@dataclass
class LedgerView:
    con: Any
    manifest: Manifest
    master: MasterData
    account: ClientAccount
    lock: threading.Lock
    memory_bytes: int = 0

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with self.lock:
            return self.con.execute(sql, params or []).fetchall()

    def dicts(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        with self.lock:
            cur = self.con.execute(sql, params or [])
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


_views: OrderedDict[tuple[str, int, int], LedgerView] = OrderedDict()
_views_lock = threading.Lock()
_building: dict[tuple[str, int, int], threading.Lock] = {}


def _local_copy(store: LedgerStore, key: str) -> Path:
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = CACHE_DIR / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".parquet")
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.part")
        store.blobs.download(key, tmp)
        tmp.replace(path)
    return path


def _empty_select(columns: tuple[tuple[str, str], ...]) -> str:
    return "SELECT " + ", ".join(f"NULL::{t} AS {n}" for n, t in columns) + " WHERE false"


def _source(paths: list[Path], columns: tuple[tuple[str, str], ...]) -> str:
    if not paths:
        return _empty_select(columns)
    files = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
    return f"SELECT * FROM read_parquet([{files}])"


def _resolved(line_paths: list[Path], has_facts: bool) -> str:
    """The lines with cancellations, reconciliations, superseded versions and deletions applied."""
    if not has_facts:
        return f"""
            SELECT l.*, (l.debit - l.credit)::DECIMAL(18,2) AS amount, false AS cancelled,
                   0::DECIMAL(18,2) AS reconciled_amount
            FROM ({_source(line_paths, LINE_COLUMNS)}) l"""
    return f"""
        SELECT l.*, (l.debit - l.credit)::DECIMAL(18,2) AS amount,
               (c.entry_id IS NOT NULL) AS cancelled,
               coalesce(r.reconciled, 0)::DECIMAL(18,2) AS reconciled_amount
        FROM ({_source(line_paths, LINE_COLUMNS)}) l
        LEFT JOIN (SELECT DISTINCT entry_id FROM facts WHERE fact_type = 'cancel') c USING (entry_id)
        LEFT JOIN (SELECT line_uid, sum(CASE WHEN fact_type = 'reconcile' THEN amount ELSE -amount END)
                   AS reconciled FROM facts WHERE fact_type IN ('reconcile', 'unreconcile')
                   GROUP BY line_uid) r USING (line_uid)
        WHERE NOT EXISTS (SELECT 1 FROM facts f WHERE f.fact_type = 'supersede'
                          AND f.entry_id = l.entry_id AND f.entry_version = l.entry_version)
          AND NOT EXISTS (SELECT 1 FROM facts f
                          WHERE f.fact_type = 'delete' AND f.entry_id = l.entry_id)"""


def _connect(store: LedgerStore, manifest: Manifest, config: dict[str, Any]) -> tuple[Any, list[Path], bool]:
    import duckdb

    line_paths = [_local_copy(store, k) for k in manifest.segment_keys("lines")]
    fact_paths = [_local_copy(store, k) for k in manifest.segment_keys("facts")]
    # The allocator's background thread returns the build's freed pages a second later (saldo/__init__.py)
    # without waiting for more queries to do it.
    con = duckdb.connect(config={"threads": 2, "allocator_background_threads": True, **config})
    con.execute(f"CREATE TABLE facts AS {_source(fact_paths, FACT_COLUMNS)}")
    return con, line_paths, bool(fact_paths)


def _master_tables(con: Any, master: MasterData) -> None:
    con.execute("""CREATE TABLE accounts (account_id BIGINT, code VARCHAR, name VARCHAR,
                   opening_balance DECIMAL(18,2))""")
    rows = [(a["id"], code, a["name"], a["opening_balance"]) for code, a in master.accounts.items()]
    if rows:
        con.executemany("INSERT INTO accounts VALUES (?, ?, ?, ?)", rows)
    con.execute("CREATE TABLE partners (id BIGINT, name VARCHAR)")
    partners = [(pid, p["name"]) for pid, p in master.business_partners.items()]
    if partners:
        con.executemany("INSERT INTO partners VALUES (?, ?)", partners)


def build_view(store: LedgerStore, manifest: Manifest, account: ClientAccount) -> LedgerView:
    """The resident view the reports read: `lines` and `daily` loaded into memory, cached per version."""
    master = store.master(manifest)
    con, line_paths, has_facts = _connect(store, manifest, {})
    # `rn` numbers the lines in report order, so a page of the general ledger is a range of rn values
    # instead of a sort of the whole ledger.
    con.execute(f"""CREATE TABLE lines AS SELECT row_number() OVER (ORDER BY posting_date, sequence_number,
                    entry_id, line_id) AS rn, * FROM ({_resolved(line_paths, has_facts)}) ORDER BY rn""")
    # Summary reports (trial balance, balance sheet, income statement) read this daily aggregate when
    # their filters allow it: a few thousand rows instead of every line.
    con.execute("""CREATE TABLE daily AS
                   SELECT account_code, relation_type, relation_id, posting_date, is_draft,
                          sum(amount)::DECIMAL(18,2) AS amount, sum(debit)::DECIMAL(18,2) AS debit,
                          sum(credit)::DECIMAL(18,2) AS credit
                   FROM lines GROUP BY ALL ORDER BY posting_date""")
    # The accounts receivable and payable reports read their control accounts' lines from this copy
    # (a fifth of the ledger in the demo data): a string filter over every line is their largest cost.
    codes = ", ".join(f"'{c}'" for kind in CONTROL_ACCOUNTS.values() for c in kind)
    con.execute(
        f"CREATE TABLE {OPEN_ITEM_LINES} AS SELECT * FROM lines WHERE account_code IN ({codes}) ORDER BY rn"
    )
    _master_tables(con, master)
    return LedgerView(con, manifest, master, account, threading.Lock())


def stream_view(
    store: LedgerStore, manifest: Manifest, account: ClientAccount, memory_limit: str = "192MB"
) -> LedgerView:
    """A view for one pass over the whole ledger (the SAF-T export): nothing resident, bounded memory.

    `lines` is a DuckDB view over the segment files, so each query scans the Parquet; sorts beyond
    `memory_limit` spill to the function's /tmp. No `rn` and no `daily`: reports use `build_view`.
    """
    spill = CACHE_DIR / "spill"
    spill.mkdir(parents=True, exist_ok=True)
    config = {"memory_limit": memory_limit, "temp_directory": str(spill), "preserve_insertion_order": False}
    master = store.master(manifest)
    con, line_paths, has_facts = _connect(store, manifest, config)
    con.execute(f"CREATE VIEW lines AS {_resolved(line_paths, has_facts)}")
    _master_tables(con, master)
    return LedgerView(con, manifest, master, account, threading.Lock())


def open_view(store: LedgerStore, org_id: str, account: ClientAccount) -> LedgerView:
    """The ledger as of now (one consistent manifest read), reusing a cached view when unchanged."""
    return view_at(store, store.manifest(org_id, account.id), account)


def view_at(store: LedgerStore, manifest: Manifest, account: ClientAccount) -> LedgerView:
    """The view of exactly this manifest version (cached per version): what a write's commit checks its
    preconditions against, since it is the version the write replaces."""
    key = (manifest.org_id, account.id, manifest.version)
    with _views_lock:
        view = _views.get(key)
        if view is not None:
            _views.move_to_end(key)
            view.account = account
            return view
        building = _building.setdefault(key, threading.Lock())
    with building:  # concurrent requests for one new version build it once
        with _views_lock:
            view = _views.get(key)
            if view is not None:
                view.account = account
                return view
        view = build_view(store, manifest, account)
        used = view.rows("SELECT sum(memory_usage_bytes)::BIGINT FROM duckdb_memory()")[0][0]
        view.memory_bytes = used or 0
        with _views_lock:
            _views[key] = view
            _building.pop(key, None)
            budget = view_cache_budget()
            while len(_views) > 1 and (
                len(_views) > VIEW_CACHE_MAX or sum(v.memory_bytes for v in _views.values()) > budget
            ):
                _views.popitem(last=False)
    return view
