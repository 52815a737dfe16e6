"""Serves the template's HTTP API routes on 127.0.0.1 as API Gateway HTTP API (payload 2.0) events."""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from saldo_tools.localstack.functions import FunctionRuntime, LambdaError, log
from saldo_tools.localstack.template import ACCOUNT_ID

MAX_BODY = 10 * 1024 * 1024  # API Gateway HTTP API request body limit
MAX_LAMBDA_PAYLOAD = 6 * 1024 * 1024  # synchronous Lambda invocation: request and response, each
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/x-www-form-urlencoded")
DEFAULT_STAGE = "$default"  # the stage an HTTP API serves without a path prefix
LISTEN_BACKLOG = 128  # socketserver's default of 5 drops connections when many clients open at once


def _log(message: str) -> None:
    log.warning(message)


@dataclass
class Route:
    """A route of an HTTP API; `stage` is its API's stage, named in every URL unless it is `$default`."""

    method: str
    path: str
    function: str
    authorizer: str | None
    stage: str = DEFAULT_STAGE
    pattern: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        regex = re.escape(self.prefix)
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

    @property
    def prefix(self) -> str:
        return "" if self.stage == DEFAULT_STAGE else f"/{self.stage}"


@dataclass
class Authorizer:
    name: str
    function: str
    identity_headers: list[str]
    ttl: int
    identity_query: list[str] = field(default_factory=list)
    simple_responses: bool = True


@dataclass
class Cors:
    """An HTTP API's CorsConfiguration: API Gateway answers preflights and adds the headers itself."""

    allow_origins: list[str]
    allow_methods: list[str] = field(default_factory=list)
    allow_headers: list[str] = field(default_factory=list)
    expose_headers: list[str] = field(default_factory=list)
    max_age: int | None = None
    allow_credentials: bool = False

    @classmethod
    def from_template(cls, config: dict[str, Any]) -> Cors:
        return cls(
            allow_origins=list(config.get("AllowOrigins") or []),
            allow_methods=[m.upper() for m in config.get("AllowMethods") or []],
            allow_headers=[h.lower() for h in config.get("AllowHeaders") or []],
            expose_headers=[h.lower() for h in config.get("ExposeHeaders") or []],
            max_age=int(config["MaxAge"]) if config.get("MaxAge") is not None else None,
            allow_credentials=bool(config.get("AllowCredentials", False)),
        )

    def allows(self, origin: str) -> bool:
        return "*" in self.allow_origins or origin in self.allow_origins

    def origin_header(self, origin: str) -> str:
        return "*" if "*" in self.allow_origins and not self.allow_credentials else origin

    def preflight(self, origin: str) -> LocalResponse:
        headers: dict[str, str] = {}
        if self.allows(origin):
            headers["access-control-allow-origin"] = self.origin_header(origin)
            if self.allow_methods:
                headers["access-control-allow-methods"] = ",".join(self.allow_methods)
            if self.allow_headers:
                headers["access-control-allow-headers"] = ",".join(self.allow_headers)
            if self.max_age is not None:
                headers["access-control-max-age"] = str(self.max_age)
            if self.allow_credentials:
                headers["access-control-allow-credentials"] = "true"
        return LocalResponse(204, headers, b"")

    def decorate(self, origin: str, response: LocalResponse) -> LocalResponse:
        if self.allows(origin):
            response.headers["access-control-allow-origin"] = self.origin_header(origin)
            if self.expose_headers:
                response.headers["access-control-expose-headers"] = ",".join(self.expose_headers)
            if self.allow_credentials:
                response.headers["access-control-allow-credentials"] = "true"
        return response


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


def _payload_size(value: Any) -> int:
    return len(json.dumps(value, default=str).encode())


def _text_body(body: bytes, content_type: str) -> str | None:
    """The body as the event's text, or None when API Gateway would base64-encode it: not a text type,
    or not UTF-8 (a UTF-16 or ISO-8859-1 XML file sent as application/xml)."""
    if not body:
        return ""
    if not content_type.lower().startswith(TEXT_TYPES):
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


class HttpApi:
    """Routes requests to handlers, running the Lambda authorizer first, with its result cache."""

    def __init__(self, runtime: FunctionRuntime, region: str) -> None:
        self.runtime = runtime
        self.region = region
        self.routes: list[Route] = []
        self.authorizers: dict[str, Authorizer] = {}
        self.cors: Cors | None = None
        self.local_routes: dict[str, Callable[[str, dict[str, str]], LocalResponse]] = {}
        self._auth_cache: dict[tuple[str, tuple[str, ...]], tuple[float, dict[str, Any]]] = {}
        self._cache_lock = threading.Lock()
        # The address the server is bound to: API Gateway's domainName is the API's own, never the
        # client's Host header (links the service builds from it must not point elsewhere).
        self.domain_name = "127.0.0.1"

    def forget_authorizations(self) -> None:
        """Empty the authorizer cache (as a new deployment of the API would)."""
        with self._cache_lock:
            self._auth_cache.clear()

    @property
    def base_path(self) -> str:
        """The stage prefix of the API's URLs (`/dev`), "" for a `$default` stage: `handle` takes paths
        as a client sends them, so in-process callers put this in front of a route's path."""
        return self.routes[0].prefix if self.routes else ""

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route for a path as sent, stage prefix included. Exact paths win over templated ones."""
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
        # HTTP APIs hand the function the path (rawPath, pathParameters) URL-decoded; the query stays raw.
        path, query = unquote(split.path), split.query
        lower = {k.lower(): v for k, v in headers.items()}
        if path in self.local_routes:
            return self.local_routes[path](path, dict(parse_qsl(query)))
        origin = lower.get("origin", "")
        if (
            self.cors
            and method == "OPTIONS"
            and origin
            and "access-control-request-method" in lower
            and self.match("OPTIONS", path) is None
        ):
            return self.cors.preflight(origin)
        response = self._route(method, path, query, lower, body, source_ip)
        return self.cors.decorate(origin, response) if self.cors and origin else response

    def _route(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes, source_ip: str
    ) -> LocalResponse:
        if len(body) > MAX_BODY:
            return _gateway_error(413, "Request Entity Too Large")
        matched = self.match(method, path)
        if matched is None:
            return self._not_found(method, path)
        route, path_params = matched
        event = self._event(route, method, path, query, headers, body, path_params, source_ip)
        if len(body) > MAX_LAMBDA_PAYLOAD // 2 and _payload_size(event) > MAX_LAMBDA_PAYLOAD:
            _log(f"{route.key}: the request event exceeds Lambda's 6 MB invocation payload limit")
            return _gateway_error(413, "Request Entity Too Large")
        if route.authorizer:
            denied = self._authorize(route, event)
            if denied is not None:
                return denied
        try:
            result = self.runtime.invoke(route.function, event)  # also enforces the 6 MB response limit
        except LambdaError as err:
            _log(f"{route.function} raised:\n{err.traceback()}")
            return _gateway_error(500, "Internal Server Error")
        return self._response(result)

    def _not_found(self, method: str, path: str) -> LocalResponse:
        """API Gateway's 404; locally with a hint when the path lacks the stage prefix every URL needs."""
        response = _gateway_error(404, "Not Found")
        prefix = self.base_path
        if prefix and not path.startswith(f"{prefix}/") and self.match(method, prefix + path):
            hint = f"the API is served under its stage: {method} {prefix}{path}"
            response.body = json.dumps({"message": "Not Found", "hint": hint}).encode()
            _log(f"404 for {method} {path}: {hint}")
        return response

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
        params: dict[str, list[str]] = {}
        for k, v in parse_qsl(query, keep_blank_values=True):
            params.setdefault(k, []).append(v)
        text = _text_body(body, headers.get("content-type", ""))
        now = datetime.now(UTC)
        # With a named stage, rawPath and http.path start with it; routeKey and pathParameters do not
        # (Powertools' APIGatewayProxyEventV2.path strips "/<stage>" again before matching).
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route.key,
            "rawPath": path,
            "rawQueryString": query,
            # API Gateway sets the scheme the client used; this server speaks plain http.
            "headers": {**headers, "x-forwarded-proto": "http"},
            "requestContext": {
                "accountId": ACCOUNT_ID,
                "apiId": "local",
                "domainName": self.domain_name,
                "domainPrefix": "local",
                "http": {
                    "method": method,
                    "path": path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": source_ip,
                    "userAgent": headers.get("user-agent", ""),
                },
                "requestId": str(uuid.uuid4()),
                "routeKey": route.key,
                "stage": route.stage,
                "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "timeEpoch": int(now.timestamp() * 1000),
            },
            "isBase64Encoded": text is None,
        }
        if "cookie" in headers:
            event["cookies"] = [c.strip() for c in headers["cookie"].split(";")]
        if params:
            event["queryStringParameters"] = {k: ",".join(v) for k, v in params.items()}
        if path_params:
            event["pathParameters"] = path_params
        if body:
            event["body"] = text if text is not None else base64.b64encode(body).decode()
        return event

    def _authorize(self, route: Route, event: dict[str, Any]) -> LocalResponse | None:
        auth = self.authorizers[route.authorizer or ""]
        query = event.get("queryStringParameters") or {}
        identity = tuple(
            [event["headers"].get(h.lower(), "") for h in auth.identity_headers]
            + [query.get(q, "") for q in auth.identity_query]
        )
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
                "routeArn": f"arn:aws:execute-api:{self.region}:{ACCOUNT_ID}:local/{route.stage}/"
                f"{route.method}{route.path}",
                "identitySource": list(identity),
                "routeKey": route.key,
                "rawPath": event["rawPath"],
                "rawQueryString": event["rawQueryString"],
                "cookies": event.get("cookies", []),
                "headers": event["headers"],
                "queryStringParameters": event.get("queryStringParameters", {}),
                "requestContext": event["requestContext"],
                "pathParameters": event.get("pathParameters", {}),
                "stageVariables": {},
            }
            try:
                result = self.runtime.invoke(auth.function, auth_event)
            except LambdaError as err:
                _log(f"{auth.function} raised:\n{err.traceback()}")
                return _gateway_error(500, "Internal Server Error")
            if not isinstance(result, dict):
                _log(f"{auth.function} returned {type(result).__name__}, not an authorizer response")
                return _gateway_error(500, "Internal Server Error")
            if auth.ttl:
                with self._cache_lock:
                    self._auth_cache[cache_key] = (time.monotonic() + auth.ttl, result)
        if not self._allowed(auth, result):
            return _gateway_error(403, "Forbidden")
        event["requestContext"]["authorizer"] = {"lambda": result.get("context") or {}}
        return None

    @staticmethod
    def _allowed(auth: Authorizer, result: dict[str, Any]) -> bool:
        if auth.simple_responses:
            return result.get("isAuthorized") is True
        statements = (result.get("policyDocument") or {}).get("Statement") or []
        effects = {str(s.get("Effect", "")).lower() for s in statements}
        return "allow" in effects and "deny" not in effects

    @staticmethod
    def _response(result: Any) -> LocalResponse:
        if not isinstance(result, dict) or "statusCode" not in result:
            # HTTP API payload 2.0: a result without statusCode is the JSON body of a 200.
            return LocalResponse(200, {"content-type": "application/json"}, json.dumps(result).encode())
        headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
        for k, values in (result.get("multiValueHeaders") or {}).items():
            headers[k.lower()] = ",".join(str(v) for v in values)
        raw = result.get("body") or ""
        body = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode("utf-8")
        return LocalResponse(int(result["statusCode"]), headers, body, list(result.get("cookies") or []))

    def bind(self, host: str, port: int) -> ThreadingHTTPServer:
        """Bind the socket (so the port is known before the functions are configured); `serve` starts it."""
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Status line, headers and a small body leave in one write: handle_one_request flushes.
            wbufsize = 64 * 1024

            def setup(self) -> None:
                super().setup()
                # Without it, Nagle's algorithm and the client's delayed ACK add ~40 ms to small answers.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

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
                    # The exception's type and frames only: its message or repr may quote the request body.
                    frames = "".join(traceback.format_tb(exc.__traceback__))
                    _log(
                        f"{self.command} {urlsplit(self.path).path} failed in the local stack: "
                        f"{type(exc).__name__}\n{frames}"
                    )
                    response = _gateway_error(500, f"local stack error: {type(exc).__name__}")
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

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_TRACE = do_QUERY = (
                _any
            )

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = LISTEN_BACKLOG  # the listen() backlog
            daemon_threads = True

        server = Server((host, port), Handler)
        self.domain_name = f"{host}:{server.server_address[1]}"
        return server

    @staticmethod
    def serve(server: ThreadingHTTPServer) -> threading.Thread:
        # A short poll interval keeps shutdown() quick.
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="saldo-http", daemon=True
        )
        thread.start()
        return thread
