"""Queued ledger work: compaction of a client account's segments."""

from __future__ import annotations

from typing import Any

from saldo.jobs import register
from saldo.ledger.service import default_store


@register("compact_ledger")
def compact_ledger(message: dict[str, Any]) -> None:
    default_store().compact(message["org_id"], int(message["client_account_id"]))
