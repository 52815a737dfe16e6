"""Saldo: reporting for Nordic accounting data (the domain package shipped as a Lambda layer)."""

import os

# DuckDB's jemalloc keeps freed pages for reuse; after a view build that sorted a million lines it
# would hold a gigabyte it no longer needs. Return freed pages at once (read before duckdb loads).
os.environ.setdefault("DUCKDB_JE_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0")

__version__ = "0.1.0"
