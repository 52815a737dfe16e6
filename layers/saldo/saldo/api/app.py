"""The resolver every HTTP function uses: seeds' error shape, Decimal-exact JSON, validation to 4xx."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
    ResponseValidationError,
)

from saldo import jsonenc
from saldo.api.auth import SaldoResolver
from saldo.errors import BadRequest, SaldoError, Unprocessable, error_body
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
