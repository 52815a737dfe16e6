"""Read side of the ledger: a DuckDB database over one manifest version, with facts resolved.

The segments listed by the manifest are downloaded once into the function's /tmp (their keys are
immutable, so a key is its own cache key) and loaded into an in-memory table `lines`, sorted by date:
cancellations, reconciliations and draft edits are resolved here, at read time. The view is cached per
(client account, manifest version) across warm invocations; a write bumps the version, so a read
right after a write sees it.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from saldo.ledger.accountplan import CONTROL_ACCOUNTS
from saldo.ledger.masterdata import MasterData
from saldo.ledger.models import ClientAccount
from saldo.ledger.schema import FACT_COLUMNS, LINE_COLUMNS
from saldo.ledger.segment_cache import SegmentCache
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
    # The latest day from which a reconciliation counts: reports as of that day or later read the lines'
    # stored `reconciled_amount` (see reconciled_as_of).
    reconciled_until: date | None = None

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


_segment_cache: SegmentCache | None = None


def segment_cache() -> SegmentCache:
    global _segment_cache
    if _segment_cache is None or _segment_cache.directory != CACHE_DIR:
        _segment_cache = SegmentCache(CACHE_DIR)
    return _segment_cache


def _local_copies(store: LedgerStore, manifest: Manifest) -> tuple[list[Path], list[Path]]:
    """Local copies of the manifest's line and fact segments; none of them is evicted for another."""
    cache = segment_cache()
    pinned: list[Path] = []
    for key in manifest.segment_keys("lines") + manifest.segment_keys("facts"):
        pinned.append(cache.get(key, lambda path, key=key: store.blobs.download(key, path), pinned=pinned))
    n_lines = len(manifest.segment_keys("lines"))
    return pinned[:n_lines], pinned[n_lines:]


def _empty_select(columns: tuple[tuple[str, str], ...]) -> str:
    return "SELECT " + ", ".join(f"NULL::{t} AS {n}" for n, t in columns) + " WHERE false"


def _source(paths: list[Path], columns: tuple[tuple[str, str], ...]) -> str:
    """The segments' rows with every column of `columns`, in its order: segments written before a column
    was added read it as NULL (by name: without it, DuckDB would drop the column or refuse the files)."""
    if not paths:
        return _empty_select(columns)
    files = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
    return (
        f"{_empty_select(columns)} UNION ALL BY NAME "
        f"SELECT * FROM read_parquet([{files}], union_by_name = true)"
    )


# The reconciliations of each line by the day they count from: a reconcile/unreconcile fact's
# `effective_date`, else (facts written before it existed) the latest posting date of the lines its
# reconciliation matched (the facts of one request share reference and time).
RECONCILIATIONS_SQL = """
    SELECT f.line_uid, coalesce(f.effective_date, g.latest) AS effective_date,
           sum(CASE WHEN f.fact_type = 'reconcile' THEN f.amount ELSE -f.amount END)::DECIMAL(18,2) AS amount
    FROM facts f
    LEFT JOIN (SELECT f2.ref, f2.created_at, max(l.posting_date) AS latest
               FROM facts f2 JOIN ({lines}) l ON l.line_uid = f2.line_uid
               WHERE f2.fact_type IN ('reconcile', 'unreconcile') AND f2.effective_date IS NULL
               GROUP BY ALL) g ON g.ref IS NOT DISTINCT FROM f.ref AND g.created_at = f.created_at
    WHERE f.fact_type IN ('reconcile', 'unreconcile')
    GROUP BY ALL"""


RECONCILED_BY_DATE = "STRUCT(d DATE, a DECIMAL(18,2))[]"  # (day it counts from, amount), by day


def _resolved(line_paths: list[Path], has_facts: bool) -> str:
    """The lines with cancellations, reconciliations, superseded versions and deletions applied.

    `reconciled_amount` is what all reconciliations match of the line, `reconciled_through` the day
    the last of them counts from, `reconciled_by_date` each day's amount: a report as of an earlier day
    reads `reconciled_as_of` instead.
    """
    if not has_facts:
        return f"""
            SELECT l.*, (l.debit - l.credit)::DECIMAL(18,2) AS amount, false AS cancelled,
                   0::DECIMAL(38,2) AS reconciled_amount, NULL::DATE AS reconciled_through,
                   NULL::{RECONCILED_BY_DATE} AS reconciled_by_date
            FROM ({_source(line_paths, LINE_COLUMNS)}) l"""
    return f"""
        SELECT l.*, (l.debit - l.credit)::DECIMAL(18,2) AS amount,
               (c.entry_id IS NOT NULL) AS cancelled,
               coalesce(r.reconciled, 0)::DECIMAL(38,2) AS reconciled_amount,
               r.reconciled_through, r.reconciled_by_date
        FROM ({_source(line_paths, LINE_COLUMNS)}) l
        LEFT JOIN (SELECT DISTINCT entry_id FROM facts WHERE fact_type = 'cancel') c USING (entry_id)
        LEFT JOIN (SELECT line_uid, sum(amount) AS reconciled, max(effective_date) AS reconciled_through,
                          list(struct_pack(d := effective_date, a := amount) ORDER BY effective_date)
                              AS reconciled_by_date
                   FROM reconciliations GROUP BY line_uid) r USING (line_uid)
        WHERE NOT EXISTS (SELECT 1 FROM facts f WHERE f.fact_type = 'supersede'
                          AND f.entry_id = l.entry_id AND f.entry_version = l.entry_version)
          AND NOT EXISTS (SELECT 1 FROM facts f
                          WHERE f.fact_type = 'delete' AND f.entry_id = l.entry_id)"""


def reconciled_as_of(
    alias: str, as_of: date | None, reconciled_until: date | None = None
) -> tuple[str, list[Any]]:
    """SQL for a line's reconciled amount as of a day (inclusive) and its parameters: only the
    reconciliations that count from that day or earlier. Without a day, or when no reconciliation of the
    view counts from a later day (`reconciled_until`, LedgerView), it is the stored total.

    A plain expression over the row (its `reconciled_by_date` list), no subquery: a scan with it keeps
    the table's order (general-ledger pages rely on it)."""
    if as_of is None or (reconciled_until is not None and as_of >= reconciled_until):
        return f"{alias}.reconciled_amount", []
    a = alias
    return (
        f"(CASE WHEN {a}.reconciled_through IS NULL OR {a}.reconciled_through <= ? "
        f"THEN {a}.reconciled_amount ELSE coalesce(list_sum(list_transform("
        f"list_filter({a}.reconciled_by_date, lambda x: x.d <= ?), lambda x: x.a)), 0)::DECIMAL(18,2) END)",
        [as_of, as_of],
    )


def _connect(store: LedgerStore, manifest: Manifest, config: dict[str, Any]) -> tuple[Any, list[Path], bool]:
    import duckdb

    line_paths, fact_paths = _local_copies(store, manifest)
    # The allocator's background thread returns the build's freed pages a second later (saldo/__init__.py)
    # without waiting for more queries to do it.
    con = duckdb.connect(config={"threads": 2, "allocator_background_threads": True, **config})
    con.execute(f"CREATE TABLE facts AS {_source(fact_paths, FACT_COLUMNS)}")
    if fact_paths:
        # Only facts without an effective date need their lines' dates (a scan of the segments).
        undated = con.execute(
            "SELECT count(*) FROM facts WHERE fact_type IN ('reconcile', 'unreconcile') "
            "AND effective_date IS NULL"
        ).fetchone()[0]
        lines = _source(line_paths, LINE_COLUMNS) if undated else _empty_select(LINE_COLUMNS)
        con.execute(f"CREATE TABLE reconciliations AS {RECONCILIATIONS_SQL.format(lines=lines)}")
    else:
        con.execute(
            "CREATE TABLE reconciliations (line_uid BIGINT, effective_date DATE, amount DECIMAL(18,2))"
        )
    return con, line_paths, bool(fact_paths)


def _master_tables(con: Any, master: MasterData) -> None:
    # Loaded as columns (one INSERT of unnested lists): `executemany` costs ~0.5 ms a row, 10 s for a
    # chart of 20,000 accounts.
    accounts = master.accounts
    con.execute("""CREATE TABLE accounts (account_id BIGINT, code VARCHAR, name VARCHAR,
                   opening_balance DECIMAL(18,2))""")
    con.execute(
        "INSERT INTO accounts SELECT unnest(?::BIGINT[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), "
        "unnest(?::DECIMAL(18,2)[])",
        [
            [a["id"] for a in accounts.values()],
            list(accounts),
            [a["name"] for a in accounts.values()],
            [a["opening_balance"] for a in accounts.values()],
        ],
    )
    con.execute("CREATE TABLE party_openings (partner_id BIGINT, account_code VARCHAR, amount DECIMAL(18,2))")
    openings = list(master.party_openings()[1].items())
    con.execute(
        "INSERT INTO party_openings SELECT unnest(?::BIGINT[]), unnest(?::VARCHAR[]), "
        "unnest(?::DECIMAL(18,2)[])",
        [
            [pid for (pid, _), _ in openings],
            [code for (_, code), _ in openings],
            [amount for _, amount in openings],
        ],
    )
    partners = master.business_partners
    con.execute("CREATE TABLE partners (id BIGINT, name VARCHAR)")
    con.execute(
        "INSERT INTO partners SELECT unnest(?::BIGINT[]), unnest(?::VARCHAR[])",
        [list(partners), [p["name"] for p in partners.values()]],
    )


OPENING_ITEM = "OPENING_BALANCE"  # the document type of a party's opening balance row
OPENING_ITEMS_SQL = """
    SELECT o.n - 1 - (SELECT count(*) FROM party_openings) AS rn,
           coalesce(?::DATE, (SELECT min(posting_date) FROM lines)) AS posting_date,
           o.account_code, 'Opening balance' AS description,
           greatest(o.amount, 0)::DECIMAL(18,2) AS debit, greatest(-o.amount, 0)::DECIMAL(18,2) AS credit,
           o.amount, ?::VARCHAR AS currency_code, o.amount AS currency_amount,
           1::DECIMAL(18,6) AS exchange_rate, 'businesspartner' AS relation_type, o.partner_id AS relation_id,
           []::VARCHAR[] AS dimensions, false AS is_draft, false AS cancelled,
           0::DECIMAL(18,2) AS reconciled_amount, o.partner_id AS ro_business_partner_id,
           '{doc_type}' AS ro_document_type
    FROM (SELECT row_number() OVER (ORDER BY partner_id, account_code) AS n, * FROM party_openings) o
    WHERE o.account_code IN ({codes})"""


SETTLED_SQL = """
    WITH s AS (
        SELECT *, CASE WHEN cancelled THEN max(posting_date) FILTER (WHERE cancelled)
                  OVER (PARTITION BY coalesce(reversal_of, entry_id)) END AS settled_on
        FROM ({lines})),
    t AS (SELECT *, settled_on IS NOT NULL AND reconciled_amount < abs(amount) AS settles FROM s)
    SELECT * EXCLUDE (settles) REPLACE (
        (CASE WHEN settles THEN abs(amount) ELSE reconciled_amount END)::DECIMAL(38,2) AS reconciled_amount,
        CASE WHEN settles THEN greatest(settled_on, reconciled_through) ELSE reconciled_through END
            AS reconciled_through,
        CASE WHEN settles THEN list_append(coalesce(reconciled_by_date, []),
                 struct_pack(d := settled_on, a := (abs(amount) - reconciled_amount)::DECIMAL(18,2)))
             ELSE reconciled_by_date END AS reconciled_by_date)
    FROM t"""


def build_view(store: LedgerStore, manifest: Manifest, account: ClientAccount) -> LedgerView:
    """The resident view the reports read: `lines` and `daily` loaded into memory, cached per version."""
    master = store.master(manifest)
    con, line_paths, has_facts = _connect(store, manifest, {})
    # `rn` numbers the lines in report order, so a page of the general ledger is a range of rn values
    # instead of a sort of the whole ledger.
    con.execute(f"""CREATE TABLE lines AS SELECT row_number() OVER (ORDER BY posting_date, sequence_number,
                    entry_id, line_id) AS rn, * FROM ({_resolved(line_paths, has_facts)}) ORDER BY rn""")
    # Summary reports (trial balance, balance sheet, income statement) read this daily aggregate when
    # their filters allow it: a few thousand rows instead of every line. Sums are DECIMAL(38,2): a day's
    # lines, each within DECIMAL(18,2), can add up beyond it.
    con.execute("""CREATE TABLE daily AS
                   SELECT account_code, relation_type, relation_id, posting_date, is_draft,
                          sum(amount)::DECIMAL(38,2) AS amount, sum(debit)::DECIMAL(38,2) AS debit,
                          sum(credit)::DECIMAL(38,2) AS credit
                   FROM lines GROUP BY ALL ORDER BY posting_date""")
    # The accounts receivable and payable reports read their control accounts' lines from this copy
    # (a fifth of the ledger in the demo data): a string filter over every line is their largest cost.
    codes = ", ".join(f"'{c}'" for kind in CONTROL_ACCOUNTS.values() for c in kind)
    _master_tables(con, master)
    # A party's share of a control account's opening balance is an open item of its own (a row without a
    # line id, dated the opening date, before every line), so per-party balances include it.
    openings = OPENING_ITEMS_SQL.format(codes=codes, doc_type=OPENING_ITEM)
    # A cancelled entry and its reversal settle each other: as open items they count as reconciled in
    # full from the later of their two dates (`settled_on`), as if matched by a reconciliation of that day.
    items = f"SELECT * FROM lines WHERE account_code IN ({codes}) UNION ALL BY NAME {openings}"
    con.execute(
        f"CREATE TABLE {OPEN_ITEM_LINES} AS SELECT * FROM ({SETTLED_SQL.format(lines=items)}) ORDER BY rn",
        [master.party_openings()[0], account.currency],
    )
    until = con.execute(
        f"SELECT greatest((SELECT max(effective_date) FROM reconciliations), "
        f"(SELECT max(settled_on) FROM {OPEN_ITEM_LINES}))"
    ).fetchone()[0]
    con.execute("DROP TABLE reconciliations")  # in `lines` now (reconciled_by_date)
    return LedgerView(con, manifest, master, account, threading.Lock(), reconciled_until=until)


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
