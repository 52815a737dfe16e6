"""The batch request as the Lasso API takes it: field names in any case (the seed writes `IsListener` beside
`batchName`), the report type by name or number, `scheduledTime` as `YYYY-MM-DD HH:MM:SS` (UTC) or ISO 8601.

Every problem is reported with the field it concerns, so a caller can fix the request in one go.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from saldo.errors import BadRequest
from saldo.ledger import regno
from saldo.net import UnsafeUrl, check_webhook_url
from saldo.registry.reports import REPORTS, find_report_type

MAX_ITEMS = 10_000
FORMAT_VARIABLES = ("name", "balanceday", "cvr", "type", "rundate")
# Report types that can listen for changes (the seed: "listenable reports such as ReelleEjere").
LISTENABLE = frozenset({"ReelleEjere"})
AUTH_METHODS = ("Header", "BasicAuth")
MAX_TEXT = 200
_EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]\\]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Headers that frame, route or describe the request itself: a webhook's auth header may not be one of them
# (Transfer-Encoding would make a receiver read the body as chunks; Host would address another site).
RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "te",
        "trailer",
        "connection",
        "keep-alive",
        "upgrade",
        "expect",
        "proxy-connection",
        "content-type",
        "content-encoding",
        "accept-encoding",
        "user-agent",
    }
)


@dataclass
class BatchItemIn:
    cvr: str
    format: str | None
    internal_customer_id: int | None


@dataclass
class AuthConfig:
    method: str
    key: str
    value: str


@dataclass
class BatchIn:
    batch_name: str
    type: str
    format: str
    items: list[BatchItemIn]
    scheduled_time: datetime | None = None
    notification_email: str | None = None
    notification_webhook_url: str | None = None
    auth_config: AuthConfig | None = None
    error_append: str = ""
    is_listener: bool = False
    trigger_now: bool = False
    problems: list[dict[str, str]] = field(default_factory=list)


class SameFieldTwice(ValueError):
    pass


def lower_keys(value: Any) -> dict[str, Any]:
    """Field names in any case; the same field twice in different cases is refused, not guessed at."""
    if not isinstance(value, dict):
        return {}
    out: dict[str, Any] = {}
    for key, item in value.items():
        lower = str(key).lower()
        if lower in out:
            raise SameFieldTwice(str(key))
        out[lower] = item
    return out


def check_format(pattern: Any, where: str, problems: list[dict[str, str]]) -> str | None:
    """A file name format: text with `{variable}` placeholders of the known variables only."""
    if not isinstance(pattern, str) or not pattern.strip():
        problems.append({"field": where, "message": "a non-empty text is required"})
        return None
    if len(pattern) > MAX_TEXT or _CONTROL.search(pattern):
        problems.append({"field": where, "message": f"at most {MAX_TEXT} characters, no control characters"})
        return None
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        problems.append({"field": where, "message": f"not a format: {exc}"})
        return None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in FORMAT_VARIABLES or spec or conversion:
            shown = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            known = ", ".join("{" + v + "}" for v in FORMAT_VARIABLES)
            problems.append({"field": where, "message": f"unknown variable {{{shown}}}; use {known}"})
            return None
    return pattern


def _text(
    body: dict[str, Any], key: str, problems: list[dict[str, str]], *, required: bool = False
) -> str | None:
    value = body.get(key.lower())
    if value is None or value == "":
        if required:
            problems.append({"field": key, "message": "required"})
        return None
    if not isinstance(value, str):
        problems.append({"field": key, "message": "must be a text"})
        return None
    if len(value) > MAX_TEXT or _CONTROL.search(value):
        problems.append({"field": key, "message": f"at most {MAX_TEXT} characters, no control characters"})
        return None
    return value


def _bool(body: dict[str, Any], key: str, problems: list[dict[str, str]]) -> bool:
    value = body.get(key.lower())
    if value is None:
        return False
    if not isinstance(value, bool):
        problems.append({"field": key, "message": "must be true or false"})
        return False
    return value


_TIME = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:?[0-9]{2})?$"
)


def parse_time(value: Any) -> datetime:
    """`2018-01-01 01:00:00` (UTC, as the seed writes it) or ISO 8601 with an offset; years 1900-2199."""
    if not isinstance(value, str) or not _TIME.match(value):
        raise ValueError("a date and time such as 2026-01-31 06:00:00 (UTC) or ISO 8601 with an offset")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("a real date and time such as 2026-01-31 06:00:00 (UTC)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if not 1900 <= moment.year <= 2199 or not 1900 <= moment.astimezone(UTC).year <= 2199:
        raise ValueError("a time between the years 1900 and 2199 (UTC)")
    return moment.astimezone(UTC)


def parse_batch(raw: Any, now: datetime) -> BatchIn:
    """The request, or 400 listing every field that is wrong."""
    if not isinstance(raw, dict):
        raise BadRequest("The body must be a JSON object with batchName, type, format and items")
    try:
        body = lower_keys(raw)
        for item in body.get("items") if isinstance(body.get("items"), list) else []:
            lower_keys(item)
        lower_keys(body.get("authconfig"))
    except SameFieldTwice as exc:
        raise BadRequest(
            f"{exc}: the field is given twice (names are read in any case)",
            details=[{"field": str(exc), "message": "given twice (names are read in any case)"}],
        ) from None
    problems: list[dict[str, str]] = []
    name = _text(body, "batchName", problems, required=True)
    kind_raw = body.get("type")
    kind = (
        find_report_type(kind_raw)
        if isinstance(kind_raw, (str, int)) and not isinstance(kind_raw, bool)
        else None
    )
    if kind is None:
        choices = ", ".join(f"{n} ({number})" for n, (number, _) in REPORTS.items())
        problems.append(
            {"field": "type", "message": f"unknown report type '{str(kind_raw)[:40]}'; use one of {choices}"}
        )
    fmt = check_format(body.get("format"), "format", problems)
    items = _items(body.get("items"), problems)
    scheduled = None
    if body.get("scheduledtime") not in (None, ""):
        try:
            scheduled = parse_time(body["scheduledtime"])
            if scheduled < now:
                problems.append({"field": "scheduledTime", "message": "is in the past (times are UTC)"})
        except ValueError as exc:
            problems.append({"field": "scheduledTime", "message": f"must be {exc}"})
    email = _text(body, "notificationEmail", problems)
    if email is not None and not _EMAIL.match(email):
        problems.append({"field": "notificationEmail", "message": "not an email address"})
    webhook = _text(body, "notificationWebhookUrl", problems)
    if webhook is not None:
        try:
            check_webhook_url(webhook)
        except UnsafeUrl as exc:
            problems.append({"field": "notificationWebhookUrl", "message": exc.message})
    auth = parse_auth(body.get("authconfig"), problems)
    if auth is not None and webhook is None:
        problems.append({"field": "authConfig", "message": "needs notificationWebhookUrl"})
    error_append = _text(body, "errorAppend", problems) or ""
    listener = _bool(body, "IsListener", problems)
    trigger_now = _bool(body, "TriggerNow", problems)
    if listener and kind is not None and kind not in LISTENABLE:
        problems.append(
            {
                "field": "IsListener",
                "message": f"a {kind} batch cannot listen; only {', '.join(sorted(LISTENABLE))} can",
            }
        )
    if problems:
        first = problems[0]
        raise BadRequest(f"{first['field']}: {first['message']}", details=problems)
    return BatchIn(
        batch_name=name or "",
        type=kind or "",
        format=fmt or "",
        items=items,
        scheduled_time=scheduled,
        notification_email=email,
        notification_webhook_url=webhook,
        auth_config=auth,
        error_append=error_append,
        is_listener=listener,
        trigger_now=trigger_now,
    )


def _items(value: Any, problems: list[dict[str, str]]) -> list[BatchItemIn]:
    if not isinstance(value, list) or not value:
        problems.append({"field": "items", "message": f"a list of 1 to {MAX_ITEMS:,} items is required"})
        return []
    if len(value) > MAX_ITEMS:
        problems.append(
            {"field": "items", "message": f"{len(value):,} items; a batch holds at most {MAX_ITEMS:,}"}
        )
        return []
    out = []
    for i, raw in enumerate(value):
        where = f"items[{i}]"
        item = lower_keys(raw)
        if not item:
            problems.append({"field": where, "message": "must be an object with cvr"})
            continue
        cvr_raw = item.get("cvr")
        cvr = None
        if cvr_raw is None:
            problems.append({"field": f"{where}.cvr", "message": "required: the company's CVR number"})
        elif (
            isinstance(cvr_raw, bool)
            or not isinstance(cvr_raw, (int, str))
            or (isinstance(cvr_raw, int) and cvr_raw <= 0)
            or (isinstance(cvr_raw, str) and cvr_raw.strip().startswith("-"))
        ):
            problems.append(
                {"field": f"{where}.cvr", "message": "a CVR number: eight digits, as a number or text"}
            )
        else:
            try:
                cvr = regno.validate(str(cvr_raw), "DK")
            except ValueError as exc:
                problems.append({"field": f"{where}.cvr", "message": str(exc)})
        fmt = None
        if item.get("format") not in (None, ""):
            fmt = check_format(item["format"], f"{where}.format", problems)
        customer = item.get("internalcustomerid")
        if customer is not None and (isinstance(customer, bool) or not isinstance(customer, int)):
            problems.append({"field": f"{where}.internalCustomerId", "message": "must be an integer"})
            customer = None
        elif customer is not None and not 0 <= customer < 10**18:
            problems.append(
                {"field": f"{where}.internalCustomerId", "message": "must be between 0 and 10^18"}
            )
            customer = None
        if cvr is not None:
            out.append(BatchItemIn(cvr, fmt, customer))
    return out


def parse_auth(value: Any, problems: list[dict[str, str]]) -> AuthConfig | None:
    if value is None:
        return None
    body = lower_keys(value)
    if not body:
        problems.append({"field": "authConfig", "message": "an object {Method, Key, Value}, or null"})
        return None
    method = body.get("method")
    match = next((m for m in AUTH_METHODS if isinstance(method, str) and m.lower() == method.lower()), None)
    if match is None:
        problems.append({"field": "authConfig.Method", "message": f"use one of {', '.join(AUTH_METHODS)}"})
        return None
    key, secret = body.get("key"), body.get("value")
    if not isinstance(key, str) or not isinstance(secret, str) or not key or len(secret) > 1000:
        problems.append({"field": "authConfig", "message": "Key and Value are texts (Value at most 1000)"})
        return None
    if _CONTROL.search(key + secret):
        problems.append({"field": "authConfig", "message": "no control characters in Key or Value"})
        return None
    if match == "Header" and (not _HEADER_NAME.match(key) or key.lower() in RESERVED_HEADERS):
        problems.append({"field": "authConfig.Key", "message": "not a header name this service may send"})
        return None
    if match == "BasicAuth" and ":" in key:
        problems.append({"field": "authConfig.Key", "message": "a user name may not contain ':'"})
        return None
    return AuthConfig(match, key, secret)
