"""The raw limits of the query engines over the same stored lines: bare DuckDB over the Parquet segments
(no view, no facts, no Python assembly) and SQLite over the same postings."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from bench.measure import log, repeat

TB_SQL = "SELECT account_code, sum(debit - credit) FROM {src} GROUP BY account_code"
MONTHLY_SQL = (
    "SELECT account_code, month(posting_date) AS m, sum(debit - credit) FROM {src} "
    "WHERE left(account_code, 1) NOT IN ('1', '2') GROUP BY ALL"
)


def duckdb_alone(paths: list[Path], *, n: int) -> dict[str, Any]:
    import duckdb

    files = "[" + ", ".join(f"'{p}'" for p in paths) + "]"
    src = f"read_parquet({files})"
    con = duckdb.connect(config={"threads": 2})
    out: dict[str, Any] = {}
    for key, sql in (("tb", TB_SQL), ("monthly", MONTHLY_SQL)):
        query = sql.format(src=src)
        con.execute(query).fetchall()
        out[key] = repeat(lambda q=query: con.execute(q).fetchall(), n=n, min_n=5, budget=2.0).as_dict()
    con.close()
    log(
        f"  duckdb alone over {len(paths)} Parquet file(s): TB {out['tb']['median_s'] * 1000:.1f} ms, "
        f"monthly {out['monthly']['median_s'] * 1000:.1f} ms"
    )
    return out


def sqlite_alone(paths: list[Path], *, n: int) -> dict[str, Any]:
    """Raw postings (account, date, amount in øre) in an in-memory SQLite table with the research's index."""
    import duckdb

    files = "[" + ", ".join(f"'{p}'" for p in paths) + "]"
    rows = duckdb.sql(
        "SELECT account_code, posting_date::VARCHAR, ((debit - credit) * 100)::BIGINT "
        f"FROM read_parquet({files})"
    ).fetchall()
    started = time.perf_counter()
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE posting (id INTEGER PRIMARY KEY, acct_no TEXT, date TEXT, amount INTEGER)")
    db.executemany("INSERT INTO posting (acct_no, date, amount) VALUES (?, ?, ?)", rows)
    db.execute("CREATE INDEX posting_acct ON posting (acct_no, date, id)")
    db.commit()
    built = time.perf_counter() - started
    del rows
    query = "SELECT acct_no, sum(amount) FROM posting GROUP BY acct_no"
    db.execute(query).fetchall()
    sample = repeat(lambda: db.execute(query).fetchall(), n=n, min_n=3, budget=5.0)
    db.close()
    log(f"  sqlite alone: TB {sample.median * 1000:.0f} ms (table built in {built:.1f} s)")
    return {"tb": sample.as_dict(), "build_s": built}
