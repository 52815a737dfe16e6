"""The isolation harness finds what it is meant to find.

A small stack (tests/security/fixtures/leaky_template.yaml) puts the real authorizer and resolver in
front of routes that forget the organization. The harness must flag every one of them, pass the correct
ones, and tell the author of a route without an id provider what to do.
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from saldo.api.auth import PUBLIC_ROUTES
from saldo_tools.localstack.template import load_template
from tests.conftest import ROOT, ApiClient
from tests.security.isolation import (
    Body,
    Registry,
    Tenant,
    World,
    check_isolation,
    check_org_header,
    check_requires_key,
    template_problems,
    template_routes,
)

FIXTURE = "tests/security/fixtures/leaky_template.yaml"
TEMPLATE = load_template(ROOT / FIXTURE)
ROUTES = template_routes(TEMPLATE)
BY_KEY = {r.key: r for r in ROUTES}


def make_registry(thing_provider: Any = None) -> Registry:
    registry = Registry()

    @registry.id("thing_id")
    def thing(world: World, t: Tenant) -> int:
        res = t.api.post("/t/things", json_body={"name": t.named("thing")})
        assert res.status == 200, res.text
        return res.json()["id"]

    if thing_provider is not None:
        registry.ids["thing_id"] = thing_provider

    @registry.body("POST /t/things")
    def new_thing(world: World, owner: Tenant, caller: Tenant) -> Body:
        return Body({"name": caller.named("thing")})

    return registry


@pytest.fixture
def leaky() -> Iterator[tuple[World, dict[str, Any]]]:
    from saldo_tools.localstack import LocalStack

    with LocalStack(ROOT, FIXTURE, tick=3600) as stack:
        stack.runtime.handler(stack.runtime.specs["LeakyFunction"])
        app = sys.modules["leaky_api"].app
        app_module = sys.modules["leaky_api"]
        app_module.THINGS.clear()
        operations = {
            f"{method.upper()} {path}": op
            for path, methods in json.loads(app.get_openapi_json_schema())["paths"].items()
            for method, op in methods.items()
        }
        yield World(stack, make_registry(), ApiClient), operations


def test_routes_and_their_authorizers_come_from_the_template():
    assert {r.key: r.authorizer for r in ROUTES} == {
        "POST /t/things": "ApiKeyAuthorizer",
        "GET /t/things": "ApiKeyAuthorizer",
        "GET /t/things/{thing_id}": "ApiKeyAuthorizer",
        "DELETE /t/things/{thing_id}": "ApiKeyAuthorizer",
        "GET /t/safe": "ApiKeyAuthorizer",
        "GET /t/safe/{thing_id}": "ApiKeyAuthorizer",
        "DELETE /t/safe/{thing_id}": "ApiKeyAuthorizer",
        "POST /t/notes": "ApiKeyAuthorizer",
        "GET /t/gadgets/{gadget_id}": "ApiKeyAuthorizer",
        "GET /apps/reporting/things/{thing_id}": "BatchApiKeyAuthorizer",
    }
    assert BY_KEY["GET /t/things/{thing_id}"].path_params == ["thing_id"]


def test_another_tenants_thing_by_id_is_caught(leaky):
    world, ops = leaky
    problems = check_isolation(world, BY_KEY["GET /t/things/{thing_id}"], ops, ROUTES)
    text = "\n".join(problems)
    assert "with B's key and ALFA's ids: expected [403, 404], got 200" in text
    assert f"ALFA's {world.a.token!r} in the body" in text


def test_a_list_that_shows_other_tenants_is_caught(leaky):
    world, ops = leaky
    problems = check_isolation(world, BY_KEY["GET /t/things"], ops, ROUTES)
    assert any(f"ALFA's {world.a.token!r} in the body" in p for p in problems), problems
    assert all("expected" not in p for p in problems)  # a list may answer 200, it just must not leak


def test_a_write_that_lands_in_another_tenant_is_caught_even_when_it_answers_404(leaky):
    world, ops = leaky
    problems = check_isolation(world, BY_KEY["DELETE /t/things/{thing_id}"], ops, ROUTES)
    assert len(problems) == 1 and problems[0].startswith("control: ALFA reading /t/things/"), problems


@pytest.mark.parametrize(
    "route",
    [
        "GET /t/safe/{thing_id}",
        "GET /t/safe",
        "DELETE /t/safe/{thing_id}",
        "GET /apps/reporting/things/{thing_id}",
    ],
)
def test_correctly_scoped_routes_pass(leaky, route):
    world, ops = leaky
    assert check_isolation(world, BY_KEY[route], ops, ROUTES) == []
    assert check_requires_key(world, BY_KEY[route]) == []
    assert check_org_header(world, BY_KEY[route]) == []


def test_a_path_parameter_without_provider_tells_the_author_what_to_do(leaky):
    world, ops = leaky
    (problem,) = check_isolation(world, BY_KEY["GET /t/gadgets/{gadget_id}"], ops, ROUTES)
    assert "No id provider for path parameter 'gadget_id' of /t/gadgets/{gadget_id}" in problem
    assert "tests/security/id_providers.py" in problem
    assert "@registry.id('/t/gadgets/{gadget_id}')" in problem


def test_a_route_with_a_body_needs_a_registered_body(leaky):
    world, ops = leaky
    (problem,) = check_isolation(world, BY_KEY["POST /t/notes"], ops, ROUTES)
    assert "POST /t/notes: no request body registered" in problem and "@registry.body" in problem


def test_ids_inside_a_body_count_as_the_owners(leaky):
    world, ops = leaky
    world.registry.bodies["POST /t/notes"] = lambda w, owner, caller: Body(
        {"thing_id": int(w.id(owner, "/t/safe/{thing_id}", "thing_id")), "text": caller.named("note")}
    )
    assert check_isolation(world, BY_KEY["POST /t/notes"], ops, ROUTES) == []
    # the same body with the caller's own thing is not a cross-tenant request, and succeeds
    world.registry.bodies["POST /t/notes"] = lambda w, owner, caller: Body(
        {"thing_id": int(w.id(caller, "/t/safe/{thing_id}", "thing_id")), "text": "x"}
    )
    res = world.b.api.post(
        "/t/notes", json_body=world.registry.bodies["POST /t/notes"](world, world.a, world.b).json
    )
    assert res.status == 200


def test_a_provider_returning_an_id_that_does_not_exist_is_caught(leaky):
    world, ops = leaky
    world.registry.ids["thing_id"] = lambda w, t: 424242
    problems = check_isolation(world, BY_KEY["GET /t/safe/{thing_id}"], ops, ROUTES)
    assert len(problems) == 1 and "control: ALFA reading /t/safe/424242" in problems[0], problems


def test_the_batch_alias_is_tried(leaky):
    world, _ = leaky
    route = BY_KEY["GET /apps/reporting/things/{thing_id}"]
    thing = world.id(world.a, route.path, "thing_id")
    anon = ApiClient(world.stack)
    assert anon.get(f"/apps/reporting/things/{thing}", headers={"lasso-api-key": world.a.key}).status == 200
    res = anon.get(f"/apps/reporting/things/{thing}", headers={"lasso-api-key": world.b.key})
    assert res.status == 404
    res = anon.get(f"/apps/reporting/things/{thing}")  # no identity source: the route itself answers
    assert res.status == 401 and res.json()["status"] == 401


def test_template_problems_are_found():
    assert template_problems(TEMPLATE, frozenset()) == []
    bad = copy.deepcopy(TEMPLATE)
    events = bad["Resources"]["LeakyFunction"]["Properties"]["Events"]
    events["ListThings"]["Properties"]["Auth"] = {"Authorizer": "NONE"}
    del events["GetThing"]["Properties"]["ApiId"]
    events["BatchThing"]["Properties"].pop("Auth")
    events["SafeList"]["Properties"]["Auth"] = {"Authorizer": "BatchApiKeyAuthorizer"}
    events["Gadget"]["Properties"]["Auth"] = {"Authorizer": "Nope"}
    problems = "\n".join(template_problems(bad, PUBLIC_ROUTES))
    assert (
        "GET /t/things (LeakyFunction.Events.ListThings) has `Authorizer: NONE` but is not a public"
        in problems
    )
    assert "GET /t/things/{thing_id} (LeakyFunction.Events.GetThing): set `ApiId" in problems
    assert (
        "GET /apps/reporting/things/{thing_id} (LeakyFunction.Events.BatchThing): batch routes use"
        in problems
    )
    assert "GET /t/safe (LeakyFunction.Events.SafeList): only /apps/reporting/... routes" in problems
    assert "uses the unknown authorizer Nope" in problems
    assert "public route GET /health is not in the template" in problems
