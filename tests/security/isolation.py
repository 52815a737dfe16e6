"""The tenant-isolation harness: the route table from template.yaml, two tenants, and the checks.

For every route of the template, organization B's key is tried with organization A's ids (path
parameters, id query parameters, ids inside request bodies). The answer must be a denial (403/404) and
must not contain anything that identifies A (its organization id and name, its key id, the names of its
data). Routes without A's ids (lists, creates) may answer, but must not show A's data either.

Ids come from *id providers*, registered per parameter name or per route prefix in `id_providers.py`;
a route whose path parameter has no provider fails with a message saying how to add one, so a new route
is covered as soon as it is in the template.
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
DENIED = frozenset({403, 404})
GATEWAY_401 = {"message": "Unauthorized"}  # API Gateway's own answer when the identity header is missing
PROVIDERS_FILE = "tests/security/id_providers.py"


# ---------------------------------------------------------------------------------------------- routes
@dataclass(frozen=True)
class TemplateRoute:
    method: str
    path: str
    function: str
    event: str
    authorizer: str | None  # None: public (Auth: Authorizer: NONE)
    api_id: Any

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"\{([^}+]+)\+?\}", self.path)

    def __str__(self) -> str:
        return self.key


def template_routes(template: dict[str, Any]) -> list[TemplateRoute]:
    """Every HttpApi event of every function, with the authorizer it gets (the API's default if unset)."""
    resources = template.get("Resources", {})
    defaults = {
        logical: (res.get("Properties", {}).get("Auth") or {}).get("DefaultAuthorizer")
        for logical, res in resources.items()
        if res.get("Type") == "AWS::Serverless::HttpApi"
    }
    routes = []
    for logical, res in resources.items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        for name, ev in (res.get("Properties", {}).get("Events") or {}).items():
            if ev.get("Type") != "HttpApi":
                continue
            p = ev.get("Properties") or {}
            api = p.get("ApiId")
            api_logical = api.get("Ref") if isinstance(api, dict) else None
            auth = (p.get("Auth") or {}).get("Authorizer")
            authorizer = None if auth == "NONE" else auth or defaults.get(api_logical)
            routes.append(
                TemplateRoute(
                    str(p.get("Method", "ANY")).upper(), p.get("Path", "/"), logical, name, authorizer, api
                )
            )
    return sorted(routes, key=lambda r: (r.path, r.method))


def template_problems(
    template: dict[str, Any], public_routes: frozenset[str], batch_prefix: str = "/apps/reporting/"
) -> list[str]:
    """Routes that bypass or misuse the authorizers."""
    problems = []
    resources = template.get("Resources", {})
    apis = {k: v for k, v in resources.items() if v.get("Type") == "AWS::Serverless::HttpApi"}
    authorizers = {
        api: set(((res.get("Properties") or {}).get("Auth") or {}).get("Authorizers", {}))
        for api, res in apis.items()
    }
    routes = template_routes(template)
    for r in routes:
        where = f"{r.key} ({r.function}.Events.{r.event})"
        api = r.api_id.get("Ref") if isinstance(r.api_id, dict) else None
        if api not in apis:
            problems.append(
                f"{where}: set `ApiId: !Ref <HttpApi>`; without it SAM creates an API without authorizer"
            )
            continue
        if r.authorizer is None:
            if r.key not in public_routes:
                problems.append(f"{where} has `Authorizer: NONE` but is not a public route")
            continue
        if r.key in public_routes:
            problems.append(f"{where} is public in saldo/api/auth.py but the template gives it an authorizer")
        if r.authorizer not in authorizers[api]:
            problems.append(f"{where} uses the unknown authorizer {r.authorizer}")
        batch = r.path.startswith(batch_prefix)
        if batch and r.authorizer != "BatchApiKeyAuthorizer":
            problems.append(
                f"{where}: batch routes use `Auth: Authorizer: BatchApiKeyAuthorizer` (lasso-api-key)"
            )
        if not batch and r.authorizer == "BatchApiKeyAuthorizer":
            problems.append(f"{where}: only {batch_prefix}... routes use BatchApiKeyAuthorizer")
    present = {r.key for r in routes if r.authorizer is None}
    for missing in sorted(public_routes - present):
        problems.append(f"public route {missing} is not in the template with `Authorizer: NONE`")
    return problems


# ---------------------------------------------------------------------------------------------- tenants
@dataclass
class Tenant:
    label: str
    org_id: str
    name: str
    key: str
    key_id: str
    api: Any  # tests.conftest.ApiClient with this tenant's key
    token: str  # goes into every name this tenant's data gets, so its data is recognisable anywhere
    restricted_key: str = ""  # a key of the same organization limited to a client account it does not have
    regno: str = ""
    ids: dict[str, str] = field(default_factory=dict)
    markers: set[str] = field(default_factory=set)

    def mark(self, *values: Any) -> None:
        """Strings that identify this tenant's data (names, registration numbers): never shown to others."""
        self.markers.update(str(v) for v in values if v is not None and len(str(v)) >= 6)

    def named(self, what: str) -> str:
        return f"{self.token} {what}"


Provider = Callable[["World", Tenant], Any]
BodyProvider = Callable[["World", Tenant, Tenant], "Body"]


@dataclass
class Body:
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class Registry:
    """Id providers (by parameter name or route prefix), request bodies and query values."""

    def __init__(self) -> None:
        self.ids: dict[str, Provider] = {}
        self.bodies: dict[str, BodyProvider] = {}
        self.query_values: dict[str, str] = {}
        self.denials: dict[str, frozenset[int]] = {}

    def id(self, *keys: str) -> Callable[[Provider], Provider]:
        """Register a provider for `param` (any route) or `/path/{param}` (routes under that prefix)."""

        def register(fn: Provider) -> Provider:
            for key in keys:
                self.ids[key] = fn
            return fn

        return register

    def body(self, *route_keys: str) -> Callable[[BodyProvider], BodyProvider]:
        """Register the request body for `METHOD /path` (called with world, owner of the ids, caller)."""

        def register(fn: BodyProvider) -> BodyProvider:
            for key in route_keys:
                self.bodies[key] = fn
            return fn

        return register

    def lookup(self, route_path: str, param: str) -> tuple[str, Provider] | None:
        marker = "{" + param
        if marker in route_path:
            end = route_path.index(marker) + route_path[route_path.index(marker) :].index("}") + 1
            prefix = route_path[:end]
            if prefix in self.ids:
                return prefix, self.ids[prefix]
        if param in self.ids:
            return param, self.ids[param]
        return None


class World:
    """Two organizations, A (whose ids are used) and B (who tries them), on one local stack."""

    def __init__(self, stack: Any, registry: Registry, client_cls: Any) -> None:
        from saldo.adapters.tenancy_store import TenancyStore

        self.stack = stack
        self.registry = registry
        self.client_cls = client_cls
        store = TenancyStore()
        self.a = self._tenant(store, "ALFA", "923609016")
        self.b = self._tenant(store, "BETA", "974760673")

    def _tenant(self, store: Any, label: str, regno: str) -> Tenant:
        token = f"{label}{secrets.token_hex(4).upper()}"
        org = store.create_org(f"{token} Isolation Org AS")
        key = store.create_key(org["org_id"], label=f"isolation {label}")
        restricted = store.create_key(org["org_id"], client_accounts=[987654321], label="restricted")
        tenant = Tenant(
            label=label,
            org_id=org["org_id"],
            name=org["name"],
            key=key["key"],
            key_id=key["key_id"],
            api=self.client_cls(self.stack, key["key"]),
            token=token,
            restricted_key=restricted["key"],
            regno=regno,
        )
        tenant.mark(org["org_id"], org["name"], key["key_id"], restricted["key_id"], token)
        return tenant

    def id(self, tenant: Tenant, route_path: str, param: str) -> str:
        found = self.registry.lookup(route_path, param)
        if found is None:
            raise MissingProvider(route_path, param)
        return self._value(tenant, found[1])

    def id_of(self, tenant: Tenant, key: str) -> str:
        """An id by its registration key, for providers that build on each other."""
        return self._value(tenant, self.registry.ids[key])

    def _value(self, tenant: Tenant, provider: Provider) -> str:
        name = f"{provider.__module__}.{provider.__qualname__}"  # one call per provider and tenant
        if name not in tenant.ids:
            tenant.ids[name] = str(provider(self, tenant))
        return tenant.ids[name]

    def populate(self) -> None:
        """Give both tenants one of everything there is a provider for."""
        for tenant in (self.a, self.b):
            for provider in self.registry.ids.values():
                self._value(tenant, provider)


class MissingProvider(Exception):
    def __init__(self, route_path: str, param: str) -> None:
        self.route_path, self.param = route_path, param
        prefix = route_path[: route_path.index("{" + param)] + "{" + param + "}"
        super().__init__(
            f"No id provider for path parameter '{param}' of {route_path}. Register one in {PROVIDERS_FILE}, "
            f"e.g. `@registry.id({prefix!r})` returning the id of something created for the tenant, so the "
            "isolation test can try another organization's id on this route."
        )


# ---------------------------------------------------------------------------------------------- requests
@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    body: Body | None = None
    carries_owner_ids: bool = False
    sent: set[str] = field(default_factory=set)  # values the caller sent (an echo of them is no leak)

    def send(self, api: Any, *, key: str | None = None, headers: dict[str, str] | None = None) -> Any:
        hdrs = {"accept": "application/json", **(self.body.headers if self.body else {}), **(headers or {})}
        kw: dict[str, Any] = {"params": self.params or None, "headers": hdrs}
        if key is not None:
            kw["key"] = key
        if self.body is not None and self.body.json is not None:
            kw["json_body"] = self.body.json
        return api.request(self.method, self.path, **kw)


def _scalars(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _scalars(v)]
    if isinstance(value, list):
        return [s for v in value for s in _scalars(v)]
    return [] if value is None else [str(value)]


def _example(name: str, schema: dict[str, Any], registry: Registry) -> str | None:
    if name in registry.query_values:
        return registry.query_values[name]
    options = [schema, *schema.get("anyOf", []), *schema.get("oneOf", [])]
    for s in options:
        if "default" in s and s["default"] is not None:
            return str(s["default"]).lower() if isinstance(s["default"], bool) else str(s["default"])
        if s.get("enum"):
            return str(s["enum"][0])
        if s.get("examples"):
            return str(s["examples"][0])
    for s in options:
        kind, fmt = s.get("type"), s.get("format")
        if fmt == "date":
            return "2025-01-01"
        if fmt == "date-time":
            return "2025-01-01T00:00:00Z"
        if kind == "integer":
            return str(max(int(s.get("minimum", 1)), int(s.get("exclusiveMinimum", 0)) + 1))
        if kind == "boolean":
            return "false"
        if kind == "string" and not s.get("pattern"):
            return "x"
    return None


def is_id_like(name: str) -> bool:
    return name == "id" or name.endswith(("_id", "Id", "_ids", "Ids"))


def build_request(
    world: World, route: TemplateRoute, operation: dict[str, Any] | None, owner: Tenant, caller: Tenant
) -> tuple[Request | None, list[str]]:
    """The request `caller` sends with `owner`'s ids; problems instead when the harness lacks a provider."""
    problems: list[str] = []
    req = Request(route.method, route.path)
    path = route.path
    for param in route.path_params:
        try:
            value = world.id(owner, route.path, param)
        except MissingProvider as exc:
            problems.append(str(exc))
            continue
        path = re.sub(r"\{" + re.escape(param) + r"\+?\}", value, path)
        req.carries_owner_ids = True
        req.sent.add(value)
    req.path = path
    for p in (operation or {}).get("parameters", []):
        if p.get("in") != "query":
            continue
        name = p["name"]
        found = world.registry.lookup("", name)
        if found is not None:
            value = world.id(owner, "", name)
            req.params[name] = value
            req.carries_owner_ids = True
            req.sent.add(value)
        elif is_id_like(name):
            problems.append(
                f"{route.key}: no id provider for query parameter '{name}'. Register one in {PROVIDERS_FILE} "
                f"(`@registry.id({name!r})`) so the isolation test can try another organization's id."
            )
        elif name in world.registry.query_values or p.get("required"):
            value = _example(name, p.get("schema", {}), world.registry)
            if value is None:
                problems.append(
                    f"{route.key}: no value for the required query parameter '{name}'; add one to "
                    f"registry.query_values in {PROVIDERS_FILE}"
                )
            else:
                req.params[name] = value
    if (operation and operation.get("requestBody")) or route.key in world.registry.bodies:
        provider = world.registry.bodies.get(route.key)
        if provider is None:
            problems.append(
                f"{route.key}: no request body registered. Add `@registry.body({route.key!r})` in "
                f"{PROVIDERS_FILE}, returning a valid body that uses the owner's ids wherever the body "
                "refers to tenant data."
            )
        else:
            req.body = provider(world, owner, caller)
            owner_ids = set(owner.ids.values())
            values = set(_scalars(req.body.json))
            if values & owner_ids:
                req.carries_owner_ids = True
            req.sent |= values
    return (None if problems else req), problems


# ---------------------------------------------------------------------------------------------- checks
def leaks(res: Any, owner: Tenant, sent: set[str]) -> list[str]:
    text = res.body.decode("utf-8", errors="replace")
    headers = json.dumps(res.headers)
    found = []
    for marker in sorted(owner.markers):
        if marker in sent:
            continue
        for where, hay in (("body", text), ("headers", headers)):
            if marker in hay or json.dumps(marker)[1:-1] in hay:
                found.append(f"{owner.label}'s {marker!r} in the {where}")
    return found


def _short(res: Any) -> str:
    return f"{res.status} {res.body[:300].decode('utf-8', errors='replace')}"


def is_error_shape(res: Any, status: int) -> bool:
    try:
        body = res.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("status") == status and {"error", "message"} <= set(body)


def check_isolation(
    world: World, route: TemplateRoute, operations: dict[str, dict[str, Any]], routes: list[TemplateRoute]
) -> list[str]:
    """B (full key and a key limited to other client accounts) tries the route with A's ids."""
    owner, caller = world.a, world.b
    if not route.path_params:
        world.populate()  # lists and creates: A must have data that could leak
    req, problems = build_request(world, route, operations.get(route.key), owner, caller)
    if req is None:
        return problems
    denials = world.registry.denials.get(route.key, DENIED)
    lasso = route.authorizer == "BatchApiKeyAuthorizer"
    attempts = [("B's key", {"key": caller.key}), ("B's restricted key", {"key": caller.restricted_key})]
    if lasso:
        attempts.append(("B's key as lasso-api-key", {"key": "", "headers": {"lasso-api-key": caller.key}}))
    for label, kw in attempts:
        if route.method in WRITE_METHODS and req.body is not None:
            req.body = world.registry.bodies[route.key](world, owner, caller)  # fresh idempotency keys
        res = req.send(caller.api, **kw)
        if req.carries_owner_ids and res.status not in denials:
            expected = sorted(denials)
            problems.append(
                f"{route.key} with {label} and {owner.label}'s ids: expected {expected}, got {_short(res)}"
            )
        elif not req.carries_owner_ids and res.status >= 500:
            problems.append(f"{route.key} with {label}: server error {_short(res)}")
        problems += [f"{route.key} with {label}: {leak}" for leak in leaks(res, owner, req.sent)]
    if req.carries_owner_ids:
        problems += _owner_control(world, route, operations, routes)
    return problems


def _owner_control(
    world: World, route: TemplateRoute, operations: dict[str, dict[str, Any]], routes: list[TemplateRoute]
) -> list[str]:
    """The same ids work for their owner, and B's attempt changed nothing the owner can read."""
    owner, caller = world.a, world.b
    reader = next((r for r in routes if r.method == "GET" and r.path == route.path), None)
    if reader is None:
        return []
    read, problems = build_request(world, reader, operations.get(reader.key), owner, owner)
    if read is None:
        return problems
    lasso = reader.authorizer == "BatchApiKeyAuthorizer"  # there the owner reads through the alias
    res = read.send(owner.api, **({"key": "", "headers": {"lasso-api-key": owner.key}} if lasso else {}))
    if not 200 <= res.status < 400:
        problems.append(
            f"control: {owner.label} reading {read.path} with its own key got {_short(res)}; the id "
            "providers must return ids of data that exists for its owner, or a denial proves nothing"
        )
    if caller.token in res.body.decode("utf-8", errors="replace"):
        problems.append(f"{route.key}: {caller.label}'s write landed in {owner.label}'s data ({read.path})")
    return problems


def check_requires_key(world: World, route: TemplateRoute) -> list[str]:
    """No key, an unknown key and a malformed key are all 401 and show nothing."""
    problems = []
    anon = world.client_cls(world.stack)
    path = re.sub(r"\{[^}]+\}", "1", route.path)
    tries: list[tuple[str, dict[str, str]]] = [
        ("no key", {}),
        ("an unknown key", {"authorization": "Bearer sld_000000000000_unknown-key-for-isolation-test"}),
        ("a malformed key", {"authorization": "Bearer not-a-saldo-key"}),
        ("another scheme", {"authorization": f"Basic {world.a.key}"}),
    ]
    if route.authorizer == "BatchApiKeyAuthorizer":
        tries.append(("an unknown lasso-api-key", {"lasso-api-key": "sld_000000000000_unknown"}))
    for label, headers in tries:
        res = anon.request(route.method, path, headers=headers, params={"client_account_id": "1"})
        gateway = not headers and route.authorizer != "BatchApiKeyAuthorizer"
        if res.status != 401:
            problems.append(f"{route.key} with {label}: expected 401, got {_short(res)}")
        elif gateway and res.json() != GATEWAY_401 and not is_error_shape(res, 401):
            problems.append(f"{route.key} with {label}: unexpected 401 body {_short(res)}")
        elif not gateway and not is_error_shape(res, 401):
            problems.append(f"{route.key} with {label}: 401 not in the error shape: {_short(res)}")
        problems += [f"{route.key} with {label}: {leak}" for leak in leaks(res, world.a, set())]
    return problems


def check_org_header(world: World, route: TemplateRoute) -> list[str]:
    """`X-Organization-Id` of another organization is 403, whatever the route and its parameters."""
    problems = []
    path = re.sub(r"\{[^}]+\}", "1", route.path)
    for tenant, other in ((world.b, world.a), (world.a, world.b)):
        res = tenant.api.request(route.method, path, headers={"X-Organization-Id": other.org_id})
        if res.status != 403 or not is_error_shape(res, 403):
            problems.append(
                f"{route.key} with X-Organization-Id of another org: expected 403, got {_short(res)}"
            )
        own = tenant.api.request(route.method, path, headers={"X-Organization-Id": tenant.org_id})
        if own.status == 401 or b"X-Organization-Id" in own.body:
            problems.append(f"{route.key} with the key's own X-Organization-Id was refused: {_short(own)}")
    return problems


def lambda_event(route: TemplateRoute, context: dict[str, Any] | None) -> dict[str, Any]:
    path = re.sub(r"\{[^}]+\}", "1", route.path)
    ev: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.key,
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "local", "authorization": "Bearer sld_x_y"},
        "requestContext": {
            "http": {"method": route.method, "path": path, "sourceIp": "192.0.2.1", "protocol": "HTTP/1.1"},
            "requestId": str(uuid.uuid4()),
            "routeKey": route.key,
            "stage": "$default",
        },
        "pathParameters": {p: "1" for p in route.path_params},
        "isBase64Encoded": False,
    }
    if context is not None:
        ev["requestContext"]["authorizer"] = {"lambda": context}
    return ev
