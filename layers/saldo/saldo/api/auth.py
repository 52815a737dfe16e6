"""Authentication and request limits for every HTTP route, enforced in one place.

`SaldoResolver.resolve` runs before Powertools matches the route, so no route can forget it:

- public routes (health, the OpenAPI document, the docs page) pass without a key;
- every other route needs the authorizer's context for a known key (else 401 in the seeds' error shape),
  and `X-Organization-Id`, when sent, must be the key's organization (else 403);
- request bodies above the route's limit get a 413;
- each request is logged with the key id (never the key), organization, route and status.

It deliberately is not a Powertools middleware: Powertools runs request validation before any user
middleware, so a caller without a key would be told which query parameters are missing (400) instead of
getting a 401. Route code reads the caller with `current_caller()` (or a `CallerDep` parameter) and
checks client accounts with `require_client_account()`. Scoping uses nothing but the authorizer context.
"""

from __future__ import annotations

import base64
import binascii
import os
import time
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.depends import Depends

from saldo import jsonenc
from saldo.api.security import html_headers
from saldo.errors import BadRequest, Forbidden, PayloadTooLarge, SaldoError, Unauthorized
from saldo.tenancy import Caller, extract_key, key_id_of

logger = Logger(service="saldo")

#: Routes that answer without an API key. template.yaml gives exactly these `Auth: Authorizer: NONE`
#: (tests/security checks both directions).
PUBLIC_ROUTES: frozenset[str] = frozenset(
    {"GET /health", "GET /openapi.json", "GET /docs", "GET /apps/reporting/files/{token}"}
)

#: Lambda's synchronous payload limit is 6 MB; anything larger belongs in an S3 upload.
DEFAULT_MAX_BODY_BYTES = int(os.environ.get("SALDO_MAX_BODY_BYTES", str(6 * 1024 * 1024)))

ORG_HEADER = "x-organization-id"

_body_limits: dict[str, int] = {}
_caller: ContextVar[Caller | None] = ContextVar("saldo_caller", default=None)
_base_path: ContextVar[str] = ContextVar("saldo_base_path", default="")


def limit_body(route_key: str, max_bytes: int) -> None:
    """Set a smaller body limit for one route, e.g. `limit_body("POST /v1/templates", 512 * 1024)`."""
    _body_limits[route_key] = max_bytes


def body_limit(route_key: str) -> int:
    return _body_limits.get(route_key, DEFAULT_MAX_BODY_BYTES)


def current_caller() -> Caller:
    """The authenticated caller of the request being handled (only ever from the authorizer context)."""
    caller = _caller.get()
    if caller is None:
        raise Unauthorized("A valid API key is required: send 'Authorization: Bearer <key>'")
    return caller


def base_path(event: Mapping[str, Any]) -> str:
    """`/<stage>` when the request's path starts with its named stage, as on the API's execute-api URL;
    "" for the `$default` stage or a custom domain's mapping (the same test as Powertools' resolver)."""
    context = event.get("requestContext") or {}
    stage = str(context.get("stage") or "")
    path = str((context.get("http") or {}).get("path") or event.get("rawPath") or "")
    return f"/{stage}" if stage and stage != "$default" and path.startswith(f"/{stage}/") else ""


def link(path: str) -> str:
    """An API path (`/api/v2/...`) as the caller must request it: under the stage its request came by.
    Every Location header and link in a response body goes through here."""
    return _base_path.get() + path


#: A route parameter `caller: CallerDep` receives the caller (Powertools dependency injection).
CallerDep = Annotated[Caller, Depends(current_caller)]


def require_client_account(client_account_id: int | None) -> int:
    """403 unless the key's grant covers the client account (or the id is missing, as the seeds say).

    Whether the client account exists in the caller's organization is the data's own check (404/403).
    """
    return current_caller().require_client_account(client_account_id)


def _route_key(event: Mapping[str, Any]) -> str:
    key = str(event.get("routeKey") or "")
    if key and key != "$default":
        return key
    http = (event.get("requestContext") or {}).get("http") or {}
    return f"{http.get('method', '')} {event.get('rawPath') or http.get('path', '')}"


def _body_size(event: Mapping[str, Any]) -> int:
    body = event.get("body") or ""
    if not event.get("isBase64Encoded"):
        return len(body.encode("utf-8"))
    return len(body) * 3 // 4 - body[-2:].count("=")


def _check_text_body(event: Mapping[str, Any]) -> None:
    """A base64 body sent as JSON must decode to UTF-8 text (else Powertools' `json_body` fails: 500)."""
    content_type = (_header(event, "content-type") or "").split(";")[0].strip().lower()
    body = event.get("body")
    if not body or not event.get("isBase64Encoded") or content_type not in ("", "application/json"):
        return
    try:
        base64.b64decode(body.encode(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise BadRequest("The request body is not UTF-8 JSON") from None


def _authorizer_context(event: Mapping[str, Any]) -> dict[str, Any] | None:
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    ctx = authorizer.get("lambda")
    return ctx if isinstance(ctx, dict) else None


def _header(event: Mapping[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return value
    return None


def authenticate(event: Mapping[str, Any]) -> Caller:
    """The caller for a non-public route, or Unauthorized/Forbidden."""
    caller = Caller.from_context(_authorizer_context(event))
    org = _header(event, ORG_HEADER)
    if org is not None and org.strip() != caller.org_id:
        raise Forbidden("X-Organization-Id does not match the organization of the API key")
    return caller


def _error(exc: SaldoError) -> dict[str, Any]:
    return {
        "statusCode": exc.status,
        "headers": {"Content-Type": "application/json", **exc.headers},
        "body": jsonenc.dumps(exc.body()),
        "isBase64Encoded": False,
        "cookies": [],
    }


def _harden(response: dict[str, Any]) -> dict[str, Any]:
    headers = response.setdefault("headers", {})
    present = {k.lower() for k in headers}
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    is_html = str(content_type).startswith("text/html")
    extra = html_headers() if is_html else {"X-Content-Type-Options": "nosniff"}
    for name, value in extra.items():
        if name.lower() not in present:
            headers[name] = value
    return response


def _usage_key_id(event: Mapping[str, Any], caller: Caller | None) -> str:
    if caller is not None:
        return caller.key_id
    key = extract_key(event.get("headers") or {})
    if not key:
        return "none"
    return (key_id_of(key) or "malformed")[:32]


class SaldoResolver(APIGatewayHttpResolver):
    """APIGatewayHttpResolver that authenticates, limits bodies and logs usage before any route runs."""

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        started = time.perf_counter()
        route = _route_key(event)
        caller: Caller | None = None
        try:
            if route not in PUBLIC_ROUTES:
                caller = authenticate(event)
            limit = body_limit(route)
            if _body_size(event) > limit:
                raise PayloadTooLarge(
                    f"The request body is larger than {limit} bytes; upload large files through an "
                    "upload URL instead"
                )
            _check_text_body(event)
        except SaldoError as exc:
            response = _error(exc)
        else:
            token = _caller.set(caller)
            base = _base_path.set(base_path(event))
            try:
                response = super().resolve(event, context)
            finally:
                _base_path.reset(base)
                _caller.reset(token)
        if route not in PUBLIC_ROUTES:
            query = event.get("queryStringParameters") or {}
            logger.info(
                "api usage",
                extra={
                    "key_id": _usage_key_id(event, caller),
                    "org_id": caller.org_id if caller else None,
                    "route": route,
                    "status": response.get("statusCode"),
                    "client_account_id": query.get("client_account_id"),
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
        return _harden(response)
