"""Idempotency keys for mutating requests, scoped to the organization.

The first request with a key claims it (conditional put, IN_PROGRESS); when it finishes the response is
stored with the key for 24 hours. A retry with the same key and the same body gets the stored response;
the same key with another body is refused (422); a retry while the first is still running gets 409.
A request that fails with an error releases its key, so the client can fix the input and retry.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from saldo.adapters.clients import client
from saldo.config import settings
from saldo.errors import Conflict, Unprocessable

TTL_SECONDS = 24 * 3600


def _key(org_id: str, scope: str, key: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"ORG#{org_id}#IDEMP#{scope}#{key}"}, "sk": {"S": "IDEMP"}}


def run_once(
    org_id: str,
    scope: str,
    key: str,
    body: bytes,
    action: Callable[[], tuple[int, Any]],
    encode: Callable[[Any], str],
) -> tuple[int, str, bool]:
    """Run `action` at most once per (org, scope, key); return (status, body JSON, replayed)."""
    ddb = client("dynamodb")
    table = settings().table_name
    digest = hashlib.sha256(body).hexdigest()
    now = int(time.time())
    try:
        ddb.put_item(
            TableName=table,
            Item={
                **_key(org_id, scope, key),
                "status": {"S": "IN_PROGRESS"},
                "request_hash": {"S": digest},
                "expires_at": {"N": str(now + TTL_SECONDS)},
            },
            ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
            ExpressionAttributeValues={":now": {"N": str(now)}},
        )
    except ddb.exceptions.ConditionalCheckFailedException:
        item = ddb.get_item(TableName=table, Key=_key(org_id, scope, key), ConsistentRead=True).get(
            "Item", {}
        )
        if item.get("request_hash", {}).get("S") != digest:
            raise Unprocessable(
                f"Idempotency-Key '{key}' was already used with a different request body"
            ) from None
        if item.get("status", {}).get("S") != "COMPLETED":
            raise Conflict(f"A request with Idempotency-Key '{key}' is still in progress") from None
        return int(item["status_code"]["N"]), item["response"]["S"], True
    try:
        status, result = action()
    except BaseException:
        # The ledger write is the action's last step and lands whole or not at all, so a failed
        # action wrote nothing: release the key for a corrected retry.
        ddb.delete_item(TableName=table, Key=_key(org_id, scope, key))
        raise
    text = encode(result)
    ddb.update_item(
        TableName=table,
        Key=_key(org_id, scope, key),
        UpdateExpression="SET #s = :done, status_code = :code, #r = :resp",
        ExpressionAttributeNames={"#s": "status", "#r": "response"},
        ExpressionAttributeValues={
            ":done": {"S": "COMPLETED"},
            ":code": {"N": str(status)},
            ":resp": {"S": text if len(text) < 350_000 else json.dumps({"truncated": True})},
        },
    )
    return status, text, False
