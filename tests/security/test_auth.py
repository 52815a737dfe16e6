"""The resolver every HTTP function uses: authentication, org header, body limits, headers, usage log.

These call `create_app(...).resolve()` with hand-made HTTP API v2 events, so they test the one place the
rules live, independently of API Gateway and the authorizer.
"""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

import pytest
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from saldo.api import auth
from saldo.api.app import create_app
from saldo.api.auth import CallerDep, current_caller, limit_body, require_client_account
from saldo.errors import Unauthorized
from saldo.tenancy import Caller

router = Router()


@router.get("/health")
def health():
    return {"ok": True}


@router.get("/t/whoami")
def whoami(date_from: Annotated[str, Query()]):
    caller = current_caller()
    return {"org_id": caller.org_id, "key_id": caller.key_id, "date_from": date_from}


@router.get("/t/dep")
def dep(caller: CallerDep):
    return {"org_id": caller.org_id}


@router.get("/t/accounts/<account>")
def account(account: int):
    return {"account": require_client_account(account)}


@router.post("/t/upload")
def upload():
    return {"size": len(router.current_event.decoded_body or "")}


@router.get("/t/page")
def page():
    return Response(200, "text/html; charset=utf-8", "<p>hi</p>")


APP = create_app(router)
KEY = "sld_abc123abc123_s3cr3t-value-that-must-never-be-logged"
CALLER = Caller(org_id="org_a", key_id="abc123abc123", client_accounts=frozenset({7, 8}))


def event(
    method: str,
    path: str,
    *,
    route: str | None = None,
    context: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: str | None = None,
    b64: bool = False,
) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {route or path}",
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "headers": {"host": "x", **(headers or {})},
        "requestContext": {
            "http": {"method": method, "path": path, "sourceIp": "192.0.2.1"},
            "requestId": "r1",
            "stage": "$default",
        },
        "isBase64Encoded": b64,
    }
    if query:
        ev["queryStringParameters"] = query
    if context is not None:
        ev["requestContext"]["authorizer"] = {"lambda": context}
    if body is not None:
        ev["body"] = body
    return ev


def call(ev: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    out = APP.resolve(ev, None)
    body = out.get("body") or ""
    ctype = next((v for k, v in out["headers"].items() if k.lower() == "content-type"), "")
    return out["statusCode"], out["headers"], json.loads(body) if "json" in ctype else body


def assert_error(status: int, body: Any, expected: int) -> None:
    assert status == expected, body
    assert set(body) >= {"status", "error", "message"}
    assert body["status"] == expected


def test_public_route_answers_without_any_context():
    status, _, body = call(event("GET", "/health"))
    assert status == 200 and body == {"ok": True}


@pytest.mark.parametrize(
    "context",
    [None, {}, {"authenticated": "false"}, {"authenticated": "true"}, {"org_id": "org_a", "key_id": "k"}],
)
def test_non_public_route_without_a_known_key_is_401_before_validation(context):
    # The route has a required query parameter: a caller without a key must not learn that (no 400).
    status, _, body = call(event("GET", "/t/whoami", context=context))
    assert_error(status, body, 401)
    assert "date_from" not in json.dumps(body)


def test_known_key_reaches_the_route_with_its_caller():
    ctx = CALLER.to_context()
    status, _, body = call(event("GET", "/t/whoami", context=ctx, query={"date_from": "2025-01-01"}))
    assert status == 200
    assert body == {"org_id": "org_a", "key_id": "abc123abc123", "date_from": "2025-01-01"}
    status, _, body = call(event("GET", "/t/dep", context=ctx))
    assert (status, body) == (200, {"org_id": "org_a"})


def test_validation_still_applies_after_authentication():
    status, _, body = call(event("GET", "/t/whoami", context=CALLER.to_context()))
    assert_error(status, body, 400)


def test_caller_does_not_outlive_the_request():
    call(event("GET", "/t/dep", context=CALLER.to_context()))
    with pytest.raises(Unauthorized):
        current_caller()


@pytest.mark.parametrize("header", ["X-Organization-Id", "x-organization-id"])
def test_organization_header_must_match_the_key(header):
    ctx = CALLER.to_context()
    status, _, body = call(event("GET", "/t/dep", context=ctx, headers={header: "org_b"}))
    assert_error(status, body, 403)
    status, _, body = call(event("GET", "/t/dep", context=ctx, headers={header: "org_a"}))
    assert (status, body) == (200, {"org_id": "org_a"})


def test_client_account_outside_the_grant_is_403():
    ctx = CALLER.to_context()
    status, _, body = call(event("GET", "/t/accounts/7", route="/t/accounts/{account}", context=ctx))
    assert (status, body) == (200, {"account": 7})
    status, _, body = call(event("GET", "/t/accounts/9", route="/t/accounts/{account}", context=ctx))
    assert_error(status, body, 403)
    unrestricted = Caller(org_id="org_a", key_id="k2").to_context()
    status, _, body = call(event("GET", "/t/accounts/9", route="/t/accounts/{account}", context=unrestricted))
    assert (status, body) == (200, {"account": 9})


def test_body_over_the_default_limit_is_413(monkeypatch):
    monkeypatch.setattr(auth, "DEFAULT_MAX_BODY_BYTES", 1000)
    ctx = CALLER.to_context()
    status, _, body = call(event("POST", "/t/upload", context=ctx, body="x" * 1000))
    assert (status, body) == (200, {"size": 1000})
    status, _, body = call(event("POST", "/t/upload", context=ctx, body="x" * 1001))
    assert_error(status, body, 413)


def test_base64_bodies_are_measured_decoded(monkeypatch):
    monkeypatch.setattr(auth, "DEFAULT_MAX_BODY_BYTES", 999)
    ctx = CALLER.to_context()
    raw = base64.b64encode(b"\x00" * 999).decode()  # 1332 characters, 999 bytes
    status, _, _ = call(event("POST", "/t/upload", context=ctx, body=raw, b64=True))
    assert status == 200
    raw = base64.b64encode(b"\x00" * 1000).decode()
    status, _, body = call(event("POST", "/t/upload", context=ctx, body=raw, b64=True))
    assert_error(status, body, 413)


def test_route_specific_body_limit(monkeypatch):
    monkeypatch.setattr(auth, "_body_limits", {})
    limit_body("POST /t/upload", 10)
    status, _, body = call(event("POST", "/t/upload", context=CALLER.to_context(), body="x" * 11))
    assert_error(status, body, 413)
    assert "10 bytes" in body["message"]


def test_unauthenticated_requests_are_not_measured_first(monkeypatch):
    monkeypatch.setattr(auth, "DEFAULT_MAX_BODY_BYTES", 10)
    status, _, body = call(event("POST", "/t/upload", body="x" * 100))
    assert_error(status, body, 401)


def test_html_gets_security_headers_and_json_gets_nosniff():
    status, headers, _ = call(event("GET", "/t/page", context=CALLER.to_context()))
    assert status == 200
    lower = {k.lower(): v for k, v in headers.items()}
    assert "frame-ancestors 'none'" in lower["content-security-policy"]
    assert "default-src 'none'" in lower["content-security-policy"]
    assert lower["x-frame-options"] == "DENY"
    assert lower["x-content-type-options"] == "nosniff"
    _, headers, _ = call(event("GET", "/t/dep", context=CALLER.to_context()))
    assert {k.lower(): v for k, v in headers.items()}["x-content-type-options"] == "nosniff"
    _, headers, _ = call(event("GET", "/t/dep"))  # the 401 too
    assert {k.lower(): v for k, v in headers.items()}["x-content-type-options"] == "nosniff"


def test_usage_is_logged_with_the_key_id_and_never_the_key(caplog):
    headers = {"authorization": f"Bearer {KEY}"}
    with caplog.at_level("INFO", logger="saldo"):
        call(event("GET", "/t/dep", context=CALLER.to_context(), headers=headers))
        call(event("GET", "/t/dep", context={"authenticated": "false"}, headers=headers))
        call(event("GET", "/t/dep", context={"authenticated": "false"}, headers={"lasso-api-key": "garbage"}))
        call(event("GET", "/health", headers=headers))
    formatter = auth.logger.registered_formatter
    lines = [json.loads(formatter.format(r)) for r in caplog.records]
    text = json.dumps(lines) + repr([r.__dict__ for r in caplog.records])
    assert KEY not in text
    assert "s3cr3t" not in text
    usage = [line for line in lines if line.get("message") == "api usage"]
    assert [(u["key_id"], u.get("org_id"), u["status"]) for u in usage] == [
        ("abc123abc123", "org_a", 200),
        ("abc123abc123", None, 401),  # the id part of an unknown key helps support; the secret is never kept
        ("malformed", None, 401),
    ]
    assert all(u["route"] == "GET /t/dep" for u in usage)
