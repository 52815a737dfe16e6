"""Writing rows to zstd Parquet segments with DuckDB (no pyarrow: the layer size limit)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from saldo.ledger.schema import FACT_COLUMNS, LINE_COLUMNS

NULL = "\\N"


def _cell(value: Any) -> str:
    """One CSV field: NULL unquoted, every value quoted, so a text that reads `\\N` stays a text."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, Decimal):
        text = format(value, "f")
    elif isinstance(value, datetime | date):
        text = value.isoformat()
    elif isinstance(value, list):
        text = "|".join(value)
    else:
        text = str(value)
    return '"' + text.replace('"', '""') + '"'


def write_parquet(rows: Iterable[dict[str, Any]], columns: Sequence[tuple[str, str]], target: Path) -> int:
    """Write rows (dicts keyed by column name) to `target`; return the number of rows.

    Rows go through a CSV file that DuckDB reads with the exact column types, which is far faster
    than inserting row by row. Lists are `|`-joined (dimension keys never contain `|`); NULL is an
    unquoted `\\N` and every value is quoted, so texts keep carriage returns and a literal `\\N`.
    """
    import duckdb

    names = [name for name, _ in columns]
    count = 0
    fd, csv_path = tempfile.mkstemp(suffix=".csv", dir=target.parent)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            for row in rows:
                fh.write(",".join([_cell(row.get(n)) for n in names]) + "\n")
                count += 1
        selects = []
        for name, sql_type in columns:
            if sql_type.endswith("[]"):
                selects.append(
                    f"CASE WHEN {name} IS NULL OR {name} = '' THEN []::{sql_type} "
                    f"ELSE string_split({name}, '|')::{sql_type} END AS {name}"
                )
            else:
                selects.append(f"CAST({name} AS {sql_type}) AS {name}")
        col_spec = "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in names) + "}"
        con = duckdb.connect()
        try:
            con.execute(
                f"COPY (SELECT {', '.join(selects)} FROM read_csv(?, header=false, columns={col_spec}, "
                f"auto_detect=false, delim=',', quote='\"', escape='\"', nullstr='\\N', "
                f"allow_quoted_nulls=false, new_line='\\n')) "
                f"TO '{target}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)",
                [csv_path],
            )
        finally:
            con.close()
    finally:
        os.unlink(csv_path)
    return count


def write_lines(rows: Iterable[dict[str, Any]], target: Path) -> int:
    return write_parquet(rows, LINE_COLUMNS, target)


def write_facts(rows: Iterable[dict[str, Any]], target: Path) -> int:
    return write_parquet(rows, FACT_COLUMNS, target)


def merge_parquet(sources: Sequence[Path], target: Path, order_by: str) -> int:
    """Merge segments into one, sorted (the column types are kept exactly as written)."""
    import duckdb

    files = ", ".join("'" + str(p).replace("'", "''") + "'" for p in sources)
    con = duckdb.connect()
    try:
        con.execute(
            # By name: segments written before a column was added lack it.
            f"COPY (SELECT * FROM read_parquet([{files}], union_by_name = true) ORDER BY {order_by}) "
            f"TO '{target}' "
            "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)"
        )
        return int(con.execute(f"SELECT count(*) FROM read_parquet('{target}')").fetchone()[0])
    finally:
        con.close()
