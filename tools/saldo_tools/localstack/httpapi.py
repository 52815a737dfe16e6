"""Serves the template's HTTP API routes on 127.0.0.1 as API Gateway HTTP API (payload 2.0) events."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from saldo_tools.localstack.functions import FunctionRuntime, LambdaError
from saldo_tools.localstack.template import ACCOUNT_ID

MAX_BODY = 10 * 1024 * 1024  # API Gateway HTTP API payload limit
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/x-www-form-urlencoded")


@dataclass
class Route:
    method: str
    path: str
    function: str
    authorizer: str | None
    pattern: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        regex = ""
        for part in re.split(r"(\{[^}]+\})", self.path):
            if part.startswith("{") and part.endswith("+}"):
                regex += f"(?P<{part[1:-2]}>.+)"
            elif part.startswith("{"):
                regex += f"(?P<{part[1:-1]}>[^/]+)"
            else:
                regex += re.escape(part)
        self.pattern = re.compile(f"^{regex}$")

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class Authorizer:
    name: str
    function: str
    identity_headers: list[str]
    ttl: int


@dataclass
class LocalResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    cookies: list[str] = field(default_factory=list)


def _gateway_error(status: int, message: str) -> LocalResponse:
    return LocalResponse(
        status, {"content-type": "application/json"}, json.dumps({"message": message}).encode()
    )


class HttpApi:
    """Routes requests to handlers, running the Lambda authorizer first, with its result cache."""

    def __init__(self, runtime: FunctionRuntime, region: str) -> None:
        self.runtime = runtime
        self.region = region
        self.routes: list[Route] = []
        self.authorizers: dict[str, Authorizer] = {}
        self.local_routes: dict[str, Callable[[str, dict[str, str]], LocalResponse]] = {}
        self._auth_cache: dict[tuple[str, tuple[str, ...]], tuple[float, dict[str, Any]]] = {}
        self._cache_lock = threading.Lock()

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        # Exact paths win over templated ones, as on API Gateway.
        candidates = sorted(self.routes, key=lambda r: (r.path.count("{"), -len(r.path)))
        for route in candidates:
            if route.method not in (method, "ANY"):
                continue
            m = route.pattern.match(path)
            if m:
                return route, m.groupdict()
        return None

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes, source_ip: str = "127.0.0.1"
    ) -> LocalResponse:
        split = urlsplit(raw_path)
        path, query = split.path, split.query
        for prefix, local in self.local_routes.items():
            if path.startswith(prefix):
                return local(path, dict(parse_qsl(query)))
        if len(body) > MAX_BODY:
            return _gateway_error(413, "Request Entity Too Large")
        matched = self.match(method, path)
        if matched is None:
            return _gateway_error(404, "Not Found")
        route, path_params = matched
        event = self._event(route, method, path, query, headers, body, path_params, source_ip)
        if route.authorizer:
            denied = self._authorize(route, event)
            if denied is not None:
                return denied
        try:
            result = self.runtime.invoke(route.function, event)
        except LambdaError as err:
            print(f"[local] {route.function} raised:\n" + "\n".join(err.payload["stackTrace"]), flush=True)
            return _gateway_error(500, "Internal Server Error")
        return self._response(result)

    def _event(
        self,
        route: Route,
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        body: bytes,
        path_params: dict[str, str],
        source_ip: str,
    ) -> dict[str, Any]:
        lower = {k.lower(): v for k, v in headers.items()}
        params: dict[str, list[str]] = {}
        for k, v in parse_qsl(query, keep_blank_values=True):
            params.setdefault(k, []).append(v)
        content_type = lower.get("content-type", "")
        is_text = not body or content_type.startswith(TEXT_TYPES)
        now = datetime.now(UTC)
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route.key,
            "rawPath": path,
            "rawQueryString": query,
            "headers": lower,
            "requestContext": {
                "accountId": ACCOUNT_ID,
                "apiId": "local",
                "domainName": lower.get("host", "127.0.0.1"),
                "domainPrefix": "local",
                "http": {
                    "method": method,
                    "path": path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": source_ip,
                    "userAgent": lower.get("user-agent", ""),
                },
                "requestId": str(uuid.uuid4()),
                "routeKey": route.key,
                "stage": "$default",
                "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "timeEpoch": int(now.timestamp() * 1000),
            },
            "isBase64Encoded": not is_text,
        }
        if "cookie" in lower:
            event["cookies"] = [c.strip() for c in lower["cookie"].split(";")]
        if params:
            event["queryStringParameters"] = {k: ",".join(v) for k, v in params.items()}
        if path_params:
            event["pathParameters"] = path_params
        if body:
            event["body"] = body.decode("utf-8") if is_text else base64.b64encode(body).decode()
        return event

    def _authorize(self, route: Route, event: dict[str, Any]) -> LocalResponse | None:
        auth = self.authorizers[route.authorizer or ""]
        identity = tuple(event["headers"].get(h.lower(), "") for h in auth.identity_headers)
        if not all(identity):
            return _gateway_error(401, "Unauthorized")  # identity source missing: authorizer not called
        cache_key = (auth.name, identity)
        with self._cache_lock:
            cached = self._auth_cache.get(cache_key)
        if cached and cached[0] > time.monotonic():
            result = cached[1]
        else:
            auth_event = {
                "version": "2.0",
                "type": "REQUEST",
                "routeArn": f"arn:aws:execute-api:{self.region}:{ACCOUNT_ID}:local/$default/"
                f"{route.method}{route.path}",
                "identitySource": list(identity),
                "routeKey": route.key,
                "rawPath": event["rawPath"],
                "rawQueryString": event["rawQueryString"],
                "headers": event["headers"],
                "requestContext": event["requestContext"],
                "queryStringParameters": event.get("queryStringParameters", {}),
                "pathParameters": event.get("pathParameters", {}),
            }
            try:
                result = self.runtime.invoke(auth.function, auth_event)
            except LambdaError as err:
                print(f"[local] {auth.function} raised:\n" + "\n".join(err.payload["stackTrace"]), flush=True)
                return _gateway_error(500, "Internal Server Error")
            if auth.ttl:
                with self._cache_lock:
                    self._auth_cache[cache_key] = (time.monotonic() + auth.ttl, result)
        if not result.get("isAuthorized"):
            return _gateway_error(403, "Forbidden")
        event["requestContext"]["authorizer"] = {"lambda": result.get("context", {})}
        return None

    @staticmethod
    def _response(result: Any) -> LocalResponse:
        if not isinstance(result, dict) or "statusCode" not in result:
            body = result if isinstance(result, str) else json.dumps(result)
            return LocalResponse(200, {"content-type": "application/json"}, body.encode())
        headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
        for k, values in (result.get("multiValueHeaders") or {}).items():
            headers[k.lower()] = ",".join(str(v) for v in values)
        raw = result.get("body") or ""
        body = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode("utf-8")
        return LocalResponse(int(result["statusCode"]), headers, body, list(result.get("cookies") or []))

    def serve(self, host: str, port: int) -> ThreadingHTTPServer:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length > MAX_BODY:
                    self._send(_gateway_error(413, "Request Entity Too Large"))
                    self.close_connection = True
                    return
                body = self.rfile.read(length) if length else b""
                headers: dict[str, str] = {}
                for k, v in self.headers.items():
                    key = k.lower()
                    headers[key] = f"{headers[key]},{v}" if key in headers else v
                try:
                    response = api.handle(self.command, self.path, headers, body, self.client_address[0])
                except Exception as exc:  # the local server must never die on one request
                    response = _gateway_error(500, f"local stack error: {type(exc).__name__}: {exc}")
                self._send(response)

            def _send(self, response: LocalResponse) -> None:
                self.send_response(response.status)
                for k, v in response.headers.items():
                    if k not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(k, v)
                for cookie in response.cookies:
                    self.send_header("set-cookie", cookie)
                self.send_header("content-length", str(len(response.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(response.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _any

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer((host, port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, name="saldo-http", daemon=True).start()
        return server
