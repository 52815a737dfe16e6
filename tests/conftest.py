"""Shared fixtures: an in-process local stack built from template.yaml, and an HTTP client for it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import moto  # noqa: F401 - imported before any boto3 session exists, so every client is mocked
import pytest

ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.pop("AWS_ENDPOINT_URL", None)


class ApiClient:
    """Calls the template's HTTP routes in-process (authorizer included), like API Gateway would.

    Paths are the routes' (`/api/v2/...`): the client puts the stage prefix in front, as every URL on
    AWS has it (`/<stage>/api/v2/...`). A link the API returns already carries it: `follow` sends it as is.
    """

    def __init__(self, stack: Any, key: str | None = None) -> None:
        self.stack = stack
        self.key = key

    def path(self, route_path: str) -> str:
        """The path a client sends for a route's path: behind the stage prefix."""
        return self.stack.http.base_path + route_path

    def follow(self, link: str, method: str = "GET", **kw: Any) -> Any:
        """Request a Location header or a link from a response body exactly as returned."""
        assert link.startswith("/"), f"not a path on this API: {link}"
        return self.request(method, link, prefixed=True, **kw)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        key: str | None = None,
        prefixed: bool = False,
    ) -> Any:
        if not prefixed:
            path = self.path(path)
        hdrs = {"host": "127.0.0.1"}
        token = key if key is not None else self.key
        if token:
            hdrs["authorization"] = f"Bearer {token}"
        if json_body is not None:
            body = json.dumps(json_body, default=str).encode()
            hdrs["content-type"] = "application/json"
        hdrs.update({k.lower(): v for k, v in (headers or {}).items()})
        if params:
            path = f"{path}?{urlencode({k: v for k, v in params.items() if v is not None})}"
        return Response(self.stack.http.handle(method, path, hdrs, body))

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.request("POST", path, **kw)

    def patch(self, path: str, **kw: Any) -> Any:
        return self.request("PATCH", path, **kw)

    def put(self, path: str, **kw: Any) -> Any:
        return self.request("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.request("DELETE", path, **kw)


class Response:
    def __init__(self, raw: Any) -> None:
        self.status = raw.status
        self.headers = raw.headers
        self.body: bytes = raw.body

    def json(self) -> Any:
        from saldo.jsonenc import loads

        return loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


@pytest.fixture
def stack() -> Iterator[Any]:
    """A fresh in-process local stack (moto) with every resource of template.yaml."""
    from saldo_tools.localstack import LocalStack

    with LocalStack(ROOT, tick=3600) as local:
        yield local


@pytest.fixture
def tenant(stack: Any) -> dict[str, str]:
    """An organization with an unrestricted API key."""
    from saldo.adapters.tenancy_store import TenancyStore

    store = TenancyStore()
    org = store.create_org("Test Org AS")
    key = store.create_key(org["org_id"], label="tests")
    return {"org_id": org["org_id"], "key": key["key"], "key_id": key["key_id"]}


@pytest.fixture
def api(stack: Any, tenant: dict[str, str]) -> ApiClient:
    return ApiClient(stack, tenant["key"])
