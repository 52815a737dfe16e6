"""API keys end to end: stored only as hashes, never logged, one lookup, both headers on the batch API."""

from __future__ import annotations

import json
import logging
from typing import Any

from tests.conftest import ApiClient


def _formatted(records: list[logging.LogRecord]) -> list[str]:
    from saldo.api.auth import logger

    return [logger.registered_formatter.format(r) for r in records]


def test_keys_are_never_logged_in_clear(stack: Any, tenant: dict[str, str], caplog: Any):
    api = ApiClient(stack)
    secret = tenant["key"].split("_", 2)[2]
    unknown = f"sld_{tenant['key_id']}_not-the-real-secret-0123456789"
    with caplog.at_level(logging.DEBUG):
        assert api.get("/api/v2/client-accounts", key=tenant["key"]).status == 200
        assert api.get("/api/v2/client-accounts", key=unknown).status == 401
        assert api.get("/api/v2/client-accounts", headers={"authorization": tenant["key"]}).status == 401
    lines = _formatted(caplog.records)
    text = "\n".join(lines) + repr([r.__dict__ for r in caplog.records])
    assert secret not in text and "not-the-real-secret" not in text
    usage = [json.loads(line) for line in lines if '"api usage"' in line]
    assert [(u["key_id"], u["status"]) for u in usage] == [
        (tenant["key_id"], 200),
        (tenant["key_id"], 401),  # the id part of an unknown key, for support; never its secret
        ("none", 401),  # a key without "Bearer " is not read at all
    ]


def test_key_lookup_is_one_get_item_by_hash(stack: Any, tenant: dict[str, str], monkeypatch: Any):
    from saldo.adapters import tenancy_store
    from saldo.adapters.tenancy_store import TenancyStore
    from saldo.tenancy import hash_key

    calls: list[tuple[str, dict[str, Any]]] = []
    real = tenancy_store.client

    class Spy:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def __getattr__(self, name: str) -> Any:
            attr = getattr(self.inner, name)
            return lambda **kw: (calls.append((name, kw)), attr(**kw))[1]

    monkeypatch.setattr(tenancy_store, "client", lambda service: Spy(real(service)))
    caller = TenancyStore().caller_for_key(tenant["key"])
    assert caller is not None and caller.org_id == tenant["org_id"]
    assert [name for name, _ in calls] == ["get_item"]
    assert calls[0][1]["Key"]["pk"]["S"] == f"APIKEY#{hash_key(tenant['key'])}"
    assert tenant["key"] not in json.dumps(calls, default=str)


def test_malformed_keys_cost_no_table_read(stack: Any, tenant: dict[str, str], monkeypatch: Any):
    from saldo.adapters import tenancy_store

    reads: list[str] = []
    real = tenancy_store.client
    monkeypatch.setattr(tenancy_store, "client", lambda service: (reads.append(service), real(service))[1])
    auth = stack.http.authorizers["ApiKeyAuthorizer"]
    for value in ("Bearer garbage", "Bearer sld_only-two", "Bearer sld_" + "x" * 300 + "_y", "Basic abc"):
        out = stack.runtime.invoke(auth.function, {"type": "REQUEST", "headers": {"authorization": value}})
        assert out["context"] == {"authenticated": "false"}
    assert reads == []
    out = stack.runtime.invoke(auth.function, {"headers": {"authorization": f"Bearer {tenant['key']}"}})
    assert out["context"]["org_id"] == tenant["org_id"] and reads == ["dynamodb"]


def test_batch_api_accepts_both_headers(stack: Any, tenant: dict[str, str]):
    """The batch authorizer has no identity source: the authorizer reads whichever header is sent."""
    auth = stack.http.authorizers["BatchApiKeyAuthorizer"]
    assert auth.identity_headers == [] and auth.ttl == 0
    route = {"routeKey": "GET /apps/reporting/batches/{id}", "rawPath": "/apps/reporting/batches/1"}
    for headers in ({"authorization": f"Bearer {tenant['key']}"}, {"lasso-api-key": tenant["key"]}):
        out = stack.runtime.invoke(auth.function, {"type": "REQUEST", "headers": headers, **route})
        assert out["context"]["org_id"] == tenant["org_id"]
    out = stack.runtime.invoke(auth.function, {"type": "REQUEST", "headers": {}, **route})
    assert out == {"isAuthorized": True, "context": {"authenticated": "false"}}


def test_cached_authorizer_answers_by_the_authorization_header_alone(stack: Any, tenant: dict[str, str]):
    """Its answer is cached per Authorization value: a key in any other header must not count, or the
    next caller with the same Authorization value would get this caller's organization from the cache."""
    api = ApiClient(stack)
    headers = {"authorization": "Basic c2hhcmVkOnZhbHVl", "lasso-api-key": tenant["key"]}
    assert api.get("/api/v2/client-accounts", headers=headers).status == 401
    assert (
        api.get("/api/v2/client-accounts", headers={"authorization": headers["authorization"]}).status == 401
    )
    out = stack.runtime.invoke(
        "AuthorizerFunction",
        {"type": "REQUEST", "routeKey": "GET /api/v2/client-accounts", "headers": headers},
    )
    assert out["context"] == {"authenticated": "false"}
