"""Cached ledger views are bounded by the memory they hold, not only by their number."""

from __future__ import annotations

import pytest

from saldo.ledger import query
from saldo.ledger.regno import valid_norwegian_orgnr
from saldo.ledger.service import LedgerService
from tests.ledger.helpers import make_client_account, post, sale


@pytest.fixture
def three_views(api, tenant, monkeypatch):
    monkeypatch.setattr(query, "_views", type(query._views)())
    service = LedgerService(tenant["org_id"])
    accounts = []
    numbers = (str(n) for n in range(923609016, 923700000) if valid_norwegian_orgnr(str(n)))
    for regno in [next(numbers) for _ in range(3)]:
        ca = make_client_account(api, regno)
        assert post(api, ca, [sale("2025-03-01", "100.00", ca=ca, vat="25.00")]).status == 201
        accounts.append(service.client_account(ca))
    return service, accounts


def test_views_are_evicted_by_memory_keeping_the_newest(three_views, monkeypatch):
    service, accounts = three_views
    monkeypatch.setattr(query, "view_cache_budget", lambda: 1)
    for account in accounts:
        view = service.view(account)
        assert view.memory_bytes > 0
    assert [key[1] for key in query._views] == [accounts[-1].id]


def test_views_within_the_budget_stay_cached(three_views, monkeypatch):
    service, accounts = three_views
    monkeypatch.setattr(query, "view_cache_budget", lambda: 1 << 40)
    views = [service.view(account) for account in accounts]
    assert [key[1] for key in query._views] == [a.id for a in accounts]
    assert service.view(accounts[0]) is views[0]  # a hit, moved to the end
    assert [key[1] for key in query._views][-1] == accounts[0].id


def test_budget_follows_the_function_memory(monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "2048")
    assert query.view_cache_budget() == int(2048 * 1024 * 1024 * query.VIEW_CACHE_SHARE)
