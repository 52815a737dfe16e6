"""Financial reports over the ledger view: one module per report, SQL in DuckDB, Decimal results."""
