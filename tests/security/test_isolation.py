"""Tenant isolation, generated from the route table of template.yaml.

Every route of every function is collected from the template when the tests are collected, so a new
route is tested without anyone adding it here. For each route that needs a key:

- organization B's key (and a B key limited to other client accounts) with organization A's ids gets
  403/404 and nothing of A in the answer; routes without ids (lists, creates) show nothing of A either;
- no key, an unknown key, a malformed key: 401;
- an `X-Organization-Id` of another organization: 403;
- the function itself answers 401 to an event without the authorizer's context (defence in depth).

A route whose path parameter has no id provider fails with a message saying how to register one in
tests/security/id_providers.py.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from saldo.api.auth import PUBLIC_ROUTES
from saldo_tools.localstack.template import load_template
from tests.conftest import ROOT, ApiClient
from tests.security.id_providers import registry
from tests.security.isolation import (
    TemplateRoute,
    World,
    check_isolation,
    check_org_header,
    check_requires_key,
    lambda_event,
    template_problems,
    template_routes,
)

TEMPLATE = load_template(ROOT / "template.yaml")
ROUTES = template_routes(TEMPLATE)
AUTHORIZED = [r for r in ROUTES if r.authorizer]
PUBLIC = [r for r in ROUTES if not r.authorizer]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    from saldo_tools.localstack import LocalStack

    with LocalStack(ROOT, tick=3600) as stack:
        yield World(stack, registry, ApiClient)


@pytest.fixture(scope="module")
def operations(world: World) -> dict[str, dict[str, Any]]:
    """OpenAPI operations of each function's own resolver, by route key (their query parameters)."""
    ops: dict[str, dict[str, Any]] = {}
    for logical in sorted({r.function for r in ROUTES}):
        spec = world.stack.runtime.specs[logical]
        world.stack.runtime.handler(spec)
        app = getattr(sys.modules[spec.handler.rsplit(".", 1)[0]], "app", None)
        if app is None or not hasattr(app, "get_openapi_json_schema"):
            continue
        doc = json.loads(app.get_openapi_json_schema())
        for path, methods in doc.get("paths", {}).items():
            for method, op in methods.items():
                ops[f"{method.upper()} {path}"] = op
    return ops


def test_every_route_goes_through_an_authorizer_unless_public():
    assert template_problems(TEMPLATE, PUBLIC_ROUTES) == []


def test_the_key_cache_bounds_the_revocation_delay():
    auth = TEMPLATE["Resources"]["HttpApi"]["Properties"]["Auth"]
    cached = auth["Authorizers"][auth["DefaultAuthorizer"]]
    assert cached["Identity"]["Headers"] == ["Authorization"]
    assert 0 < int(cached["Identity"]["ReauthorizeEvery"]) <= 300  # docs/SECURITY.md promises at most 300 s
    batch = auth["Authorizers"]["BatchApiKeyAuthorizer"]
    assert batch["FunctionArn"] == cached["FunctionArn"]
    assert "Headers" not in batch["Identity"] and int(batch["Identity"]["ReauthorizeEvery"]) == 0


@pytest.mark.parametrize("route", PUBLIC, ids=str)
def test_public_routes_answer_without_a_key(world: World, route: TemplateRoute):
    if "{token}" in route.path:  # a report's download link: an unknown one is simply not found
        res = ApiClient(world.stack).request(route.method, route.path.replace("{token}", "A" * 43))
        assert res.status == 404, res.text[:300]
        return
    res = ApiClient(world.stack).request(route.method, route.path)
    assert res.status == 200, res.text[:300]


@pytest.mark.parametrize("route", AUTHORIZED, ids=str)
def test_another_organization_gets_nothing(world: World, operations: dict[str, Any], route: TemplateRoute):
    problems = check_isolation(world, route, operations, ROUTES)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("route", AUTHORIZED, ids=str)
def test_without_a_valid_key_nothing_answers(world: World, route: TemplateRoute):
    problems = check_requires_key(world, route)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("route", AUTHORIZED, ids=str)
def test_organization_header_must_match_the_key(world: World, route: TemplateRoute):
    problems = check_org_header(world, route)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("route", AUTHORIZED, ids=str)
def test_function_refuses_events_without_a_known_key(world: World, route: TemplateRoute):
    for context in (None, {"authenticated": "false"}):
        out = world.stack.runtime.invoke(route.function, lambda_event(route, context))
        body = json.loads(out["body"])
        assert out["statusCode"] == 401, out
        assert body["status"] == 401 and body["error"] == "Unauthorized" and body["message"]
