"""Idempotent POST routes through the Powertools idempotency utility.

A route hands its work to `idempotent_response`:

    return idempotent_response(
        scope="journal-entries", key=idempotency_key, org_id=caller.org_id,
        client_account_id=account.id, request=body, context=router.lambda_context,
        action=lambda: (201, service.post_entries(body)),
    )

- The record's key is the organization, the client account (if the route has one), the route's scope and
  the `Idempotency-Key` header; records of different organizations live in different partitions.
- The request is compared in its canonical form: the validated body model dumped to JSON and hashed
  with sorted keys, so reordered keys (or `100` for `100.00`) are the same request. Another body under the
  same key is 422.
- A retry while the first request runs is 409. The in-progress claim expires when the Lambda invocation
  would time out (its remaining time at the start), so a request that dies never holds its key longer.
- The first answer's status and body are stored for 24 hours and replayed byte for byte (gzipped in the
  record if large, in S3 if larger than a DynamoDB item can hold); `X-Idempotency-Replayed` (and the
  older `Idempotent-Replayed`) says which one the client got.
- Work that raises, or answers 4xx/5xx, releases the key so a corrected retry runs.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.shared.json_encoder import Encoder
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyInconsistentStateError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from pydantic import BaseModel

from saldo import jsonenc
from saldo.adapters import idempotency as store
from saldo.errors import BadRequest, Conflict, SaldoError, Unprocessable

TTL_SECONDS = 24 * 3600
# Without a Lambda context, the claim lasts as long as the longest Lambda invocation can (15 minutes):
# never released while its request may still run, and far from the 24 hours of a completed record.
FALLBACK_IN_PROGRESS_SECONDS = 15 * 60
# A DynamoDB item holds 400 KB with the key, hashes and timestamps; larger replies are gzipped, then go to S3.
INLINE_REPLY_BYTES = 350_000
REPLAYED_HEADER = "X-Idempotency-Replayed"
LEGACY_REPLAYED_HEADER = "Idempotent-Replayed"  # documented before X-Idempotency-Replayed; kept

Action = Callable[[], tuple[int, Any]]
logger = Logger(service="saldo")


class ServiceUnavailable(SaldoError):
    status = 503


class _Failed(Exception):
    """The work answered an error: raised through Powertools so it deletes the claim, then answered."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(status)
        self.status = status
        self.text = text


class _ReplyNotStored(BaseException):
    """The work succeeded but its reply could not be stored. A BaseException, so Powertools does not
    release the claim (which would let a retry do the work again)."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(status)
        self.status = status
        self.text = text


class _FallbackContext:
    """Stands in for the Lambda context when there is none (scripts, tests that call routes directly)."""

    def __init__(self, seconds: int = FALLBACK_IN_PROGRESS_SECONDS) -> None:
        self.seconds = seconds

    def get_remaining_time_in_millis(self) -> int:
        return self.seconds * 1000


def _lambda_context(context: Any) -> Any:
    if context is not None and callable(getattr(context, "get_remaining_time_in_millis", None)):
        return context
    return _FallbackContext()


def _mark_replayed(response: Any, record: DataRecord) -> Any:
    """Powertools' response hook: called only when the stored answer is returned instead of running."""
    return {**response, "replayed": True} if isinstance(response, dict) else response


def _stored_size(reply: dict[str, Any]) -> int:
    # Powertools stores json.dumps(reply, cls=Encoder, sort_keys=True): measure exactly that.
    return len(json.dumps(reply, cls=Encoder, sort_keys=True).encode("utf-8"))


def _stored_reply(org_id: str, status: int, text: str) -> dict[str, Any]:
    """What the record keeps: the body as text, gzipped if too large for the item, or a reference to
    S3 beyond that. Never truncated."""
    reply: dict[str, Any] = {"status": status, "body": text}
    if _stored_size(reply) <= INLINE_REPLY_BYTES:
        return reply
    packed = base64.b64encode(gzip.compress(text.encode("utf-8"))).decode("ascii")
    reply = {"status": status, "body_gz": packed}
    if _stored_size(reply) <= INLINE_REPLY_BYTES:
        return reply
    try:
        return {"status": status, "body_ref": store.put_large_reply(org_id, text)}
    except Exception as exc:
        raise _ReplyNotStored(status, text) from exc


def canonical(request: Any) -> Any:
    """The request as the service understands it: a validated model's JSON form (defaults filled in,
    amounts with two decimals); plain data as is. Hashing sorts keys, so key order never matters."""
    if isinstance(request, BaseModel):
        return request.model_dump(mode="json")
    return request


def idempotent_response(
    *,
    scope: str,
    key: str | None,
    org_id: str,
    request: Any,
    action: Action,
    client_account_id: int | None = None,
    context: Any = None,
) -> Response:
    """Run `action` (returning (status, JSON-able body or JSON text)) at most once per key and scope."""
    if not key:
        raise BadRequest("The Idempotency-Key header is required, e.g. a UUID per request")
    first: dict[str, Any] = {}

    def run(idempotent_request: dict[str, Any]) -> dict[str, Any]:
        status, result = action()
        text = result if isinstance(result, str) else jsonenc.dumps(result)
        if status >= 400:
            raise _Failed(status, text)
        first.update(status=status, text=text)
        return _stored_reply(org_id, status, text)

    config = IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="request",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=TTL_SECONDS,
        hash_function="sha256",
        lambda_context=_lambda_context(context),
        response_hook=_mark_replayed,
    )
    once = idempotent_function(
        run,
        data_keyword_argument="idempotent_request",
        persistence_store=store.persistence_layer(org_id),  # per call: Powertools keeps state on it
        config=config,
        key_prefix=scope,
    )
    scoped = {"org": org_id, "client_account_id": client_account_id, "scope": scope, "key": key}
    try:
        reply = once(idempotent_request={"key": scoped, "request": canonical(request)})
    except _Failed as failed:
        return _response(failed.status, failed.text, replayed=False)
    except _ReplyNotStored as lost:
        # The work is done: answer it. The claim stays until it expires, so an early retry is 409.
        logger.warning("idempotent reply not stored", extra={"scope": scope, "error": repr(lost.__cause__)})
        return _response(lost.status, lost.text, replayed=False)
    except IdempotencyValidationError:
        raise Unprocessable(
            f"Idempotency-Key '{key}' was already used with a different request body"
        ) from None
    except (IdempotencyAlreadyInProgressError, IdempotencyInconsistentStateError):
        raise Conflict(
            f"A request with Idempotency-Key '{key}' is still in progress; retry when it has finished"
        ) from None
    except IdempotencyPersistenceLayerError as exc:
        if "text" in first:
            # Done, but the record could not be completed: answer; the claim expires on its own.
            logger.warning("idempotent reply not stored", extra={"scope": scope, "error": repr(exc)})
            return _response(first["status"], first["text"], replayed=False)
        raise ServiceUnavailable(
            f"The idempotency record for Idempotency-Key '{key}' could not be read or written; retry later"
        ) from exc
    replayed = bool(reply.get("replayed"))
    if not replayed and "text" in first:
        text = first["text"]
    elif "body_gz" in reply:
        text = gzip.decompress(base64.b64decode(reply["body_gz"])).decode("utf-8")
    elif "body_ref" in reply:
        text = store.get_large_reply(reply["body_ref"])
    else:
        text = reply["body"]
    return _response(int(reply["status"]), text, replayed=replayed)


def _response(status: int, text: str, *, replayed: bool) -> Response:
    flag = "true" if replayed else "false"
    return Response(
        status_code=status,
        content_type="application/json",
        body=text,
        headers={REPLAYED_HEADER: flag, LEGACY_REPLAYED_HEADER: flag},
    )
