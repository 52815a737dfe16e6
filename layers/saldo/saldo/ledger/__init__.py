"""The ledger: client accounts, master data, journal entries and the append-only store they live in."""
