"""Listener batches: a company change regenerates the report of every listening batch that holds the
company, or a company it owns (directly or down a chain: a new owner of a holding changes who ultimately
owns its subsidiaries). Each report is appended to its batch as a new item and notified like any other;
the batch keeps Listening until it is stopped.

An event delivered twice (EventBridge delivers at least once) appends nothing the second time: the event
id is claimed per batch and company before an item is added.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from saldo.batches import service

#: The sections whose change can change a company's beneficial owners.
OWNERSHIP_SECTIONS = frozenset({"owners", "beneficial_owners", "management"})
#: How far down a change travels through the companies it owns, and how many it may reach.
MAX_DEPTH = 6
MAX_COMPANIES = 200


def affected_companies(org_id: str, country: str, number: str) -> list[tuple[str, str]]:
    """The company and every company below it in the registry (owned directly or down a chain)."""
    from saldo.registry.service import RegistryService

    registry = RegistryService(org_id)
    seen = [(country, number)]
    frontier = [(country, number)]
    for _ in range(MAX_DEPTH):
        nxt = []
        for c, n in frontier:
            for sub in registry.subsidiaries(c, n):
                key = (sub["country"], sub["registration_number"])
                if key not in seen and len(seen) < MAX_COMPANIES:
                    seen.append(key)
                    nxt.append(key)
        frontier = nxt
    return seen


def on_company_changed(detail: dict[str, Any], event_id: str) -> list[dict[str, Any]]:
    """Regenerate the listening batches' reports the change touches; what ran, per batch and company."""
    changed = set(detail.get("changed") or [])
    if not changed & OWNERSHIP_SECTIONS:
        return []
    org_id = str(detail["org_id"])
    store, jobs = service._store(), service._jobs()
    out = []
    for country, number in affected_companies(
        org_id, str(detail["country"]), str(detail["registration_number"])
    ):
        if country != "DK":  # batch items are Danish companies (CVR)
            continue
        for listener in store.listeners(org_id, number):
            batch_id = listener["batch_id"]
            record = jobs.get(org_id, batch_id)
            if record is None or record["status"] not in (service.LISTENING, service.EXECUTING):
                continue
            if not store.claim_event(org_id, batch_id, f"{event_id}#{number}"):
                continue  # this event already added this company's report
            index = int(jobs.add(org_id, batch_id, {"batchSize": 1})["batchSize"]) - 1
            item = {
                "index": index,
                "cvr": number,
                "format": listener.get("format"),
                "internalCustomerId": listener.get("internalCustomerId"),
            }
            result = service.run_item(org_id, batch_id, item, datetime.now(UTC).date())
            out.append({"batch_id": batch_id, **result})
    return out
