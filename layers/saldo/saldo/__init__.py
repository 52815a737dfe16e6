"""Saldo: reporting for Nordic accounting data (the domain package shipped as a Lambda layer)."""

import os

# DuckDB's jemalloc keeps freed pages for ten seconds by default: after a view build that sorted a million
# lines it would hold a gigabyte it no longer needs. Return them after one second (the allocator's
# background thread, enabled by saldo.ledger.query, does it); 0 would purge on every free and make each
# query ~2× slower. Read when duckdb loads, so it is set here, before any import of it.
os.environ.setdefault("DUCKDB_JE_MALLOC_CONF", "dirty_decay_ms:1000,muzzy_decay_ms:0")

__version__ = "0.1.0"
