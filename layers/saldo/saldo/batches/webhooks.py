"""Webhook calls of a batch's finished items (docs/BATCHES.md, "Webhooks").

Every finished item (Completed, Warning or Failed) is POSTed as JSON to the batch's notificationWebhookUrl,
with `lassoId`, `batchId` and `reportType` in the query as Lasso's test endpoints show them. The first
attempt runs right after the item is recorded; a failed one is retried five times within 24 hours
(`RETRY_DELAYS`, counted from the first attempt, each a one-time EventBridge Scheduler schedule that puts a
message on the webhook queue). After the last one fails the webhook is disabled for the batch and one
warning email goes to its notificationEmail.

Each send resolves the URL again and connects only to the addresses it checked (saldo.net); redirects are
not followed (a 3xx fails the attempt: it could point inside the network). Each attempt is claimed on the
item first (`wh_attempts` n-1 -> n), so a retried task or a redelivered message never sends twice; an
attempt interrupted before its outcome was recorded is not resent, its retry is scheduled instead.
"""

from __future__ import annotations

import base64
import http.client
import json
import random
import re
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from saldo.net import UnsafeUrl, WebhookTarget, open_pinned_connection, resolve_webhook_target

#: Seconds to connect, and then to each read of the answer.
TIMEOUT = 10.0
#: When the retries run, counted from the first attempt (Lasso: 5 retries within 24 h, growing).
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=12),
)
ATTEMPTS = 1 + len(RETRY_DELAYS)
#: A retry runs up to this share of its delay later (at most MAX_JITTER), so receivers that were down
#: together are not called again at the same second.
JITTER = 0.1
MAX_JITTER = timedelta(minutes=10)
#: A retry is never scheduled sooner than this from now (a schedule in the past might not fire).
MIN_DELAY = timedelta(minutes=1)
USER_AGENT = "Saldo-Webhook/1.0"
#: The answer's body is not used; at most this much is read so the connection closes cleanly.
MAX_ANSWER_BYTES = 65536
_LASSO_ID = re.compile(r"^CVR-[123]-[0-9]{1,12}$")


@dataclass(frozen=True)
class Outcome:
    """What one call came to: the receiver's HTTP status (None when it did not answer), success (2xx)."""

    status: int | None
    ok: bool
    reason: str
    elapsed_ms: int


# ---------------------------------------------------------------------------------------------- pure parts
def lasso_id(cvr: str) -> str:
    """A company's Lasso id."""
    return f"CVR-1-{cvr}"


def call_url(url: str, lasso: str, batch_id: str, report_type: str) -> str:
    """The registered URL with `lassoId`, `batchId` and `reportType` added to its query."""
    parts = urlsplit(url)
    extra = urlencode({"lassoId": lasso, "batchId": batch_id, "reportType": report_type})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return parts._replace(query=query, fragment="").geturl()


def payload(record: dict[str, Any], item: dict[str, Any], attempt: int) -> dict[str, Any]:
    """The JSON body of an item's call; `item` is the items API's answer (`service.public_item`)."""
    return {
        "lassoId": lasso_id(item["cvr"]),
        "batchId": record["id"],
        "itemId": item["id"],
        "reportType": record.get("reportType"),
        "printType": item.get("printType"),
        "status": item["status"],
        "statusCode": item.get("statusCode"),
        "name": item["name"],
        "fileName": f"{item['name']}.pdf",
        "pdfurl": item.get("pdfurl"),
        "internalCustomerId": item.get("internalCustomerId"),
        "cvr": item["cvr"],
        "createdOn": item.get("createdOn"),
        "attempt": attempt,
    }


def auth_headers(auth: dict[str, Any] | None) -> dict[str, str]:
    """The header an authConfig asks for: `Header` its Key: Value, `BasicAuth` Authorization: Basic."""
    if not auth:
        return {}
    method = str(auth.get("method") or auth.get("Method") or "")
    key = str(auth.get("key") or auth.get("Key") or "")
    value = str(auth.get("value") or auth.get("Value") or "")
    if method == "Header":
        return {key: value}
    if method == "BasicAuth":
        token = base64.b64encode(f"{key}:{value}".encode()).decode("ascii")
        return {"Authorization": f"Basic {token}"}
    raise ValueError(f"unknown authConfig Method {method!r}")


def retry_at(first: datetime, retry: int, rand: Callable[[], float] = random.random) -> datetime:
    """When retry `retry` (1-5) runs: its delay after the first attempt, plus jitter."""
    delay = RETRY_DELAYS[retry - 1]
    jitter = min(delay * JITTER, MAX_JITTER) * rand()
    return first + delay + jitter


def schedule_name(batch_id: str, index: int, attempt: int) -> str:
    """One name per attempt (a second schedule of the same attempt is refused); at most 64 characters."""
    return f"saldo-wh-{batch_id}-{index}-{attempt}"


# ---------------------------------------------------------------------------------------------- sending
#: (target, path with query, body, headers, timeout) -> (HTTP status, Location header or None)
Transport = Callable[[WebhookTarget, str, bytes, dict[str, str], float], tuple[int, str | None]]


def http_transport(
    target: WebhookTarget, path: str, body: bytes, headers: dict[str, str], timeout: float
) -> tuple[int, str | None]:
    """POST over a connection to the checked addresses only; nothing is followed."""
    conn = open_pinned_connection(target, timeout)
    try:
        conn.request("POST", path, body=body, headers=headers)
        res = conn.getresponse()
        res.read(MAX_ANSWER_BYTES)
        return res.status, res.getheader("location")
    finally:
        conn.close()


def transport() -> Transport:
    """The transport in use (tests may replace `http_transport`)."""
    return http_transport


def send(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Outcome:
    """One call: resolve and check the URL now, then POST `body` to the checked addresses."""
    started = time.monotonic()
    try:
        target = resolve_webhook_target(url)
    except UnsafeUrl as exc:
        return Outcome(None, False, f"Not sent: {exc.message}", _ms(started))
    return send_to(target, body, headers, started)


def send_to(
    target: WebhookTarget,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
    started: float | None = None,
) -> Outcome:
    """POST `body` to a checked target; never raises for what the receiver or the network does."""
    started = time.monotonic() if started is None else started
    parts = urlsplit(target.url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    data = json.dumps(body, default=str, separators=(",", ":")).encode()
    sent = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **(headers or {})}
    try:
        status, location = transport()(target, path, data, sent, TIMEOUT)
    except TimeoutError:
        return Outcome(None, False, f"No answer within {TIMEOUT:g} s", _ms(started))
    except ssl.SSLError as exc:
        return Outcome(None, False, f"TLS failed: {exc.reason or exc}", _ms(started))
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(None, False, f"Connection failed: {_describe(exc)}", _ms(started))
    if 200 <= status < 300:
        return Outcome(status, True, f"HTTP {status}", _ms(started))
    if 300 <= status < 400:
        where = f" to {location[:200]}" if location else ""
        return Outcome(status, False, f"HTTP {status}: redirect{where} not followed", _ms(started))
    return Outcome(status, False, f"HTTP {status}", _ms(started))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:200]


# ---------------------------------------------------------------------------------------------- items
def _store() -> Any:
    from saldo.adapters.batch_store import BatchStore

    return BatchStore()


def _jobs() -> Any:
    from saldo.adapters.jobstatus import BATCH, JobStatusStore

    return JobStatusStore(BATCH)


def _now() -> datetime:
    return datetime.now(UTC)


def first_attempt(org_id: str, batch_id: str, index: int) -> str:
    """The first call of a just recorded item (from `service.notify`); once, however often it is asked."""
    return attempt(org_id, batch_id, index, 1)


def attempt(org_id: str, batch_id: str, index: int, number: int) -> str:
    """Attempt `number` of an item's call; what happened, in a word or two (for the logs).

    The batch record is read fresh: a webhook disabled meanwhile is not called.
    """
    from saldo.batches.service import public_item

    record = _jobs().get(org_id, batch_id)
    if record is None or not record.get("notificationWebhookUrl"):
        return "no webhook"
    store = _store()
    if record.get("webhook_disabled_at"):
        if store.claim_webhook_attempt(org_id, batch_id, index, number, _iso(_now())):
            reason = f"Not sent: the webhook was disabled for this batch at {record['webhook_disabled_at']}"
            store.record_webhook_attempt(
                org_id, batch_id, index, number, status=None, reason=reason, delivered_at=None
            )
        return "disabled"
    claimed = store.claim_webhook_attempt(org_id, batch_id, index, number, _iso(_now()))
    if claimed is None:
        return _after_lost_claim(org_id, record, index, number)
    if not claimed.get("doc"):
        return "not recorded"
    item = public_item(record, claimed)
    url = call_url(
        record["notificationWebhookUrl"], lasso_id(item["cvr"]), record["id"], record.get("reportType", "")
    )
    auth = json.loads(record["authConfig"]) if record.get("authConfig") else None
    outcome = send(url, payload(record, item, number), auth_headers(auth))
    store.record_webhook_attempt(
        org_id,
        batch_id,
        index,
        number,
        status=outcome.status,
        reason=outcome.reason,
        delivered_at=_iso(_now()) if outcome.ok else None,
    )
    if outcome.ok:
        return "delivered"
    _after_failure(org_id, record, index, number, claimed.get("wh_first_at"))
    return "failed"


def _after_lost_claim(org_id: str, record: dict[str, Any], index: int, number: int) -> str:
    """Someone else has (had) this attempt: never send again, but make sure the chain goes on."""
    stored = _store().get_item(org_id, record["id"], index) or {}
    claimed = int(stored.get("wh_attempts") or 0)
    if stored.get("wh_delivered_at") or claimed != number:
        return "already done"
    if int(stored.get("wh_next") or 0) > number:
        return "already done"
    if int(stored.get("wh_done") or 0) != number and number == ATTEMPTS:
        # The last attempt may still be running elsewhere: ask again later (the message is retried).
        raise RuntimeError(f"webhook attempt {number} of item {index} has no outcome yet")
    # Interrupted (or its next step was lost): not resent; the next retry is scheduled instead.
    _after_failure(org_id, record, index, number, stored.get("wh_first_at"))
    return "continued"


def _after_failure(
    org_id: str, record: dict[str, Any], index: int, number: int, first_at: str | None
) -> None:
    from saldo.adapters import batch_runs

    if number >= ATTEMPTS:
        disable(org_id, record, f"{ATTEMPTS} calls failed within 24 hours (the last for item {index})")
        return
    now = _now()
    first = datetime.fromisoformat(first_at) if first_at else now
    at = max(retry_at(first, number), now + MIN_DELAY)
    message = {"org_id": org_id, "batch_id": record["id"], "index": index, "attempt": number + 1}
    batch_runs.schedule_webhook_retry(schedule_name(record["id"], index, number + 1), at, message)
    _store().set_webhook_next(org_id, record["id"], index, number + 1, at.isoformat(timespec="seconds"))


def disable(org_id: str, record: dict[str, Any], reason: str) -> None:
    """Stop calling the batch's webhook and warn its notificationEmail, once."""
    store = _store()
    store.mark_batch(org_id, record["id"], "webhook_disabled_at", _iso(_now()))
    _jobs().update(org_id, record["id"], {"webhook_disabled_reason": reason})
    email = record.get("notificationEmail")
    if not email or not store.mark_batch(org_id, record["id"], "webhook_warned_at", _iso(_now())):
        return
    from saldo.adapters.email import send_email
    from saldo.batches.service import _html

    name = record.get("batchName") or record["id"]
    url = record.get("notificationWebhookUrl") or ""
    subject = f"{name}: webhook disabled"
    text = (
        f"The webhook of batch {name} ({record['id']}) has been disabled: {reason}.\n"
        f"URL: {url}\n\nLater reports of this batch are not sent to it; they are still in the batch's "
        "items and sent by email."
    )
    html = (
        f"<p>The webhook of batch {_html(name)} ({_html(record['id'])}) has been disabled: "
        f"{_html(reason)}.</p>"
        f"<p>URL: {_html(url)}</p><p>Later reports of this batch are not sent to it; they are still in the "
        "batch's items and sent by email.</p>"
    )
    send_email(email, subject, text, html)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


# ---------------------------------------------------------------------------------------------- test call
def dummy_call(
    url: str,
    auth: dict[str, Any] | None,
    lasso: str | None = None,
    batch_id: str | None = None,
    report_type: str | None = None,
) -> dict[str, Any]:
    """One dummy call (status "Test") to `url`, after the same checks as a real one; UnsafeUrl when the URL
    may not be called."""
    from saldo.registry.reports import REPORTS

    lasso = lasso or "CVR-1-10403782"
    batch_id = batch_id or "bat_00000000000000_000000000000"
    report_type = report_type or "Revision"
    cvr = lasso.rsplit("-", 1)[-1]
    full = call_url(url, lasso, batch_id, report_type)
    started = time.monotonic()
    target = resolve_webhook_target(full)
    record = {"id": batch_id, "reportType": report_type}
    item = {
        "id": f"{batch_id}-0",
        "cvr": cvr,
        "name": f"{cvr}-Test",
        "status": "Test",
        "statusCode": None,
        "printType": REPORTS[report_type][0] if report_type in REPORTS else None,
        "pdfurl": None,
        "internalCustomerId": None,
        "createdOn": _iso(_now()),
    }
    outcome = send_to(target, payload(record, item, 1), auth_headers(auth), started)
    return {
        "url": url,
        "status": outcome.status,
        "ok": outcome.ok,
        "reason": outcome.reason,
        "elapsedMs": outcome.elapsed_ms,
    }


def valid_lasso_id(value: str) -> bool:
    return bool(_LASSO_ID.match(value))
