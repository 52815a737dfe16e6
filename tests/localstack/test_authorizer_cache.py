"""The local authorizer cache, as API Gateway's, and when `serve` empties it."""

from __future__ import annotations


def test_refusals_from_before_the_demo_key_existed_are_forgotten(stack):
    """`serve` listens before the demo organization exists; it empties the authorizer cache after."""
    from saldo_tools.demo import DEMO_KEY, bootstrap
    from tests.conftest import ApiClient

    api = ApiClient(stack, DEMO_KEY)
    assert api.get("/api/v2/client-accounts").status == 401
    bootstrap(load_ledger=False)
    assert api.get("/api/v2/client-accounts").status == 401  # cached, as API Gateway would
    stack.http.forget_authorizations()
    assert api.get("/api/v2/client-accounts").status == 200
