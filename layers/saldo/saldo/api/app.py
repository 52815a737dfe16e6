"""The resolver every HTTP function uses: seeds' error shape, Decimal-exact JSON, validation to 4xx."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import Route, Router
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
    OpenAPIRequestValidationMiddleware,
)
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
    ResponseValidationError,
)

from saldo import jsonenc
from saldo.api.auth import SaldoResolver
from saldo.errors import BadRequest, SaldoError, Unprocessable, UnsupportedMediaType, error_body
from saldo.ledger.models import MAX_DATE, MIN_DATE

logger = Logger(service="saldo")

JSON = "application/json"


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type=JSON, body=jsonenc.dumps(body), headers=headers or {})


def _field_path(loc: Iterable[Any]) -> str:
    parts = [str(p) for p in loc]
    return ".".join(parts[1:] if parts and parts[0] in {"body", "query", "path", "header"} else parts)


def _message(msg: str) -> str:
    # pydantic prefixes a validator's own ValueError text with "Value error, ".
    return msg.removeprefix("Value error, ")


def parse_body(text: str) -> Any:
    """Every JSON request body goes through here (Powertools' `json_body`): numbers become exact Decimals,
    and bodies too deep, numbers too long or not JSON at all are a 422, never a 500 (saldo.jsonenc)."""
    try:
        return jsonenc.loads_request(text)
    except jsonenc.BodyError as exc:
        raise Unprocessable(str(exc)[:1].upper() + str(exc)[1:]) from None


#: Media types taken as another a route declares: the same XML, a zip under its legacy name, and bytes
#: of no stated type where a route takes a binary file (the route looks at the bytes themselves).
EQUIVALENT_TYPES: dict[str, str] = {
    "text/xml": "application/xml",
    "application/x-zip-compressed": "application/zip",
    "application/octet-stream": "application/zip",
}

_MEDIA_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")


def accepted_types(route: Route) -> tuple[str, ...]:
    """The media types a route reads its body as: those its OpenAPI `requestBody` names, else JSON for
    a route with a body model, else none (the route reads no body, so any Content-Type is ignored)."""
    declared = ((route.openapi_extensions or {}).get("requestBody") or {}).get("content") or {}
    if declared:
        return tuple(declared)
    return (JSON,) if route.dependant.body_params else ()


def media_type(header: str) -> str | None:
    """`type/subtype` of a Content-Type header, lower-cased without parameters; None if malformed."""
    value = header.split(";", 1)[0].strip().lower()
    return value if _MEDIA_TYPE.fullmatch(value) else None


def check_content_type(route: Route, header: str | None, has_body: bool) -> None:
    """415 unless the request's Content-Type is one the route reads.

    Powertools would otherwise parse form and multipart bodies for any route with a body model (and
    fail with a 500 on a multipart type without a boundary). No header with a body means JSON, as
    before; a route that reads no body ignores the header.
    """
    accepted = accepted_types(route)
    if not accepted or (not header and not has_body):
        return
    if not header:
        if JSON in accepted:
            return
        got = None
    else:
        got = media_type(header)
        if got is not None and EQUIVALENT_TYPES.get(got, got) in accepted:
            return
    names = " or ".join(accepted)
    shown = f"{header[:100]!r}" if header else "none"
    raise UnsupportedMediaType(f"Unsupported content type {shown}: send {names}")


class SaldoRequestValidation(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation, after a check of the body's media type against the route's."""

    def handler(self, app: Any, next_middleware: Any) -> Response:
        event = app.current_event
        check_content_type(app.context["_route"], event.headers.get("content-type"), bool(event.body))
        return super().handler(app, next_middleware)

    def _get_body(self, app: Any) -> Any:
        # Only routes that take JSON get here, past the check above (its media type is case-insensitive).
        return self._parse_json_data(app)


#: Ids are BIGINT in the ledger and in DynamoDB keys: a larger integer in a path or query parameter can
#: only fail later, as a 500.
INT64_MAX = 2**63 - 1


def _bounded_args(app: APIGatewayHttpResolver, next_middleware: Any) -> Response:
    # Global middlewares run after Powertools has validated the parameters, so values are typed here.
    for name, value in (app.context.get("_route_args") or {}).items():
        if type(value) is int and not -INT64_MAX - 1 <= value <= INT64_MAX:
            raise BadRequest(f"Invalid value for '{name}': out of range (at most {INT64_MAX})")
        if type(value) is date and not MIN_DATE <= value <= MAX_DATE:
            raise BadRequest(f"Invalid value for '{name}': dates are between {MIN_DATE} and {MAX_DATE}")
    return next_middleware(app)


def create_app(*routers: Router) -> APIGatewayHttpResolver:
    # Routes return pre-serialised JSON (Decimal-exact) and document their bodies through `responses=`;
    # a response that fails a declared model is our bug, so it is a 500, never a 4xx.
    # SaldoResolver authenticates every non-public route before it is matched (saldo/api/auth.py).
    app = SaldoResolver(
        enable_validation=True,
        serializer=jsonenc.dumps,
        json_body_deserializer=parse_body,
        response_validation_error_http_code=HTTPStatus.INTERNAL_SERVER_ERROR,
    )
    # Powertools runs this first in every route's middleware chain (it is read at the first request).
    app._request_validation_middleware = SaldoRequestValidation()
    for router in routers:
        app.include_router(router)
    app.use(middlewares=[_bounded_args])

    @app.exception_handler(SaldoError)
    def _saldo_error(exc: SaldoError) -> Response:
        if exc.status >= 500:
            logger.exception("request failed")
        return json_response(exc.status, exc.body(), exc.headers)

    @app.exception_handler(RequestValidationError)
    def _validation_error(exc: RequestValidationError) -> Response:
        errors = exc.errors()
        in_body = any(e.get("loc", ("",))[0] == "body" for e in errors)
        details = [
            {"field": _field_path(e.get("loc", ())), "message": _message(e.get("msg", "invalid"))}
            for e in errors
        ]
        first = details[0] if details else {"field": "", "message": "invalid request"}
        where = f"'{first['field']}'" if first["field"] else "the request"
        status = 422 if in_body else 400
        return json_response(
            status, error_body(status, f"Invalid value for {where}: {first['message']}", details)
        )

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported_media_type(exc: RequestUnsupportedContentType) -> Response:
        content_type = app.current_event.headers.get("content-type", "")
        return json_response(
            415, error_body(415, f"Unsupported content type {content_type!r}: send application/json")
        )

    @app.exception_handler(ResponseValidationError)
    def _response_invalid(exc: ResponseValidationError) -> Response:
        logger.error("response failed its declared model", extra={"errors": str(exc.errors())[:2000]})
        return json_response(500, error_body(500, "The service could not complete the request"))

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        # Our bug, not the caller's: logged with its traceback, answered in the one error shape.
        logger.exception("request failed")
        return json_response(500, error_body(500, "The service could not complete the request"))

    @app.not_found
    def _not_found(_exc: Exception) -> Response:
        return json_response(404, error_body(404, f"No route for {app.current_event.path}"))

    return app
