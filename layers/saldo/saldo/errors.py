"""Errors that become HTTP responses in the seeds' shape: {"status", "error", "message"}."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any


class SaldoError(Exception):
    """Base for every error the API reports to the caller."""

    status: int = 500

    def __init__(
        self,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.status, self.message, self.details)


class BadRequest(SaldoError):
    status = 400


class Unauthorized(SaldoError):
    status = 401


class Forbidden(SaldoError):
    status = 403


class NotFound(SaldoError):
    status = 404


class NotAcceptable(SaldoError):
    status = 406


class Conflict(SaldoError):
    status = 409


class PayloadTooLarge(SaldoError):
    status = 413


class UnsupportedMediaType(SaldoError):
    status = 415


class Unprocessable(SaldoError):
    status = 422


def error_body(status: int, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"status": status, "error": HTTPStatus(status).phrase, "message": message}
    if details:
        out["details"] = details
    return out
