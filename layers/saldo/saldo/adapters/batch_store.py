"""Batch items and download links in the table.

- An item: `pk = ORG#<org>#BATCH#<batch>`, `sk = ITEM#<index, 7 digits>`; `state` RUNNING while its report
  is made, DONE once recorded. The item's answer is the JSON in `doc`.
- A download link: `pk = LINK#<token>`, `sk = LINK`: the organization, the object key, the file name and
  an expiry (also the item's TTL). The token is 256 random bits: a link cannot be guessed or altered.

Finishing an item and counting it on the batch is one transaction, conditional on the item still being
RUNNING: a retried or redelivered item is never counted twice.

An item's webhook calls (saldo/batches/webhooks.py) are kept on the item as `wh_*` attributes: each
attempt is claimed by moving `wh_attempts` from n-1 to n, so an attempt runs once however often its
message comes.
"""

from __future__ import annotations

import json
import time
from typing import Any

from saldo import jsonenc
from saldo.adapters.clients import client
from saldo.adapters.jobstatus import BATCH
from saldo.config import settings

RUNNING = "RUNNING"
DONE = "DONE"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def item_key(org_id: str, batch_id: str, index: int) -> dict[str, dict[str, str]]:
    return {"pk": _s(f"ORG#{org_id}#BATCH#{batch_id}"), "sk": _s(f"ITEM#{index:07d}")}


class BatchStore:
    def __init__(self, table: str | None = None) -> None:
        self.table = table or settings().table_name

    # ------------------------------------------------------------------ items
    def claim_item(self, org_id: str, batch_id: str, index: int, started: str) -> dict[str, Any] | None:
        """Mark the item RUNNING unless it is already DONE; None when it is DONE (nothing to do), else
        the stored item (a retry finds its earlier RUNNING claim)."""
        ddb = client("dynamodb")
        try:
            ddb.update_item(
                TableName=self.table,
                Key=item_key(org_id, batch_id, index),
                UpdateExpression="SET #st = :running, started_at = if_not_exists(started_at, :now), "
                "attempts = if_not_exists(attempts, :zero) + :one",
                ConditionExpression="attribute_not_exists(#st) OR #st = :running",
                ExpressionAttributeNames={"#st": "state"},
                ExpressionAttributeValues={
                    ":running": _s(RUNNING),
                    ":now": _s(started),
                    ":zero": {"N": "0"},
                    ":one": {"N": "1"},
                },
            )
        except ddb.exceptions.ConditionalCheckFailedException:
            return None
        return self.get_item(org_id, batch_id, index) or {}

    def finish_item(self, org_id: str, batch_id: str, index: int, doc: dict[str, Any], status: str) -> bool:
        """Record the item's answer and count it on the batch, once. False when it was already done."""
        ddb = client("dynamodb")
        counter = {"Completed": "completed", "Warning": "warnings", "Failed": "failed"}[status]
        try:
            ddb.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": item_key(org_id, batch_id, index),
                            "UpdateExpression": "SET #st = :done, #doc = :doc, #status = :status",
                            "ConditionExpression": "attribute_not_exists(#st) OR #st = :running",
                            "ExpressionAttributeNames": {"#st": "state", "#doc": "doc", "#status": "status"},
                            "ExpressionAttributeValues": {
                                ":done": _s(DONE),
                                ":running": _s(RUNNING),
                                ":doc": _s(jsonenc.dumps(doc)),
                                ":status": _s(status),
                            },
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": BATCH.key(org_id, batch_id),
                            "UpdateExpression": "ADD #done :one, #kind :one",
                            "ConditionExpression": "attribute_exists(pk)",
                            "ExpressionAttributeNames": {"#done": "done", "#kind": counter},
                            "ExpressionAttributeValues": {":one": {"N": "1"}},
                        }
                    },
                ]
            )
        except ddb.exceptions.TransactionCanceledException:
            return False
        return True

    def mark_item(self, org_id: str, batch_id: str, index: int, flag: str) -> bool:
        """Set a once-only flag on the item (`emailed`, `webhooked`); False when it was set before."""
        ddb = client("dynamodb")
        try:
            ddb.update_item(
                TableName=self.table,
                Key=item_key(org_id, batch_id, index),
                UpdateExpression="SET #f = :now",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(#f)",
                ExpressionAttributeNames={"#f": flag},
                ExpressionAttributeValues={":now": _s(str(int(time.time())))},
            )
        except ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def claim_webhook_attempt(
        self, org_id: str, batch_id: str, index: int, attempt: int, at: str
    ) -> dict[str, Any] | None:
        """Claim attempt `attempt` of the item's webhook call (the previous one must be the last claimed,
        none delivered); the item as it is now, or None when the claim lost (already claimed or done)."""
        ddb = client("dynamodb")
        sets = "wh_attempts = :n, wh_claimed_at = :at"
        values: dict[str, Any] = {":n": {"N": str(attempt)}, ":at": _s(at)}
        if attempt == 1:
            condition = "attribute_exists(pk) AND attribute_not_exists(wh_attempts)"
            sets += ", wh_first_at = :at"
        else:
            condition = "wh_attempts = :prev AND attribute_not_exists(wh_delivered_at)"
            values[":prev"] = {"N": str(attempt - 1)}
        try:
            res = ddb.update_item(
                TableName=self.table,
                Key=item_key(org_id, batch_id, index),
                UpdateExpression=f"SET {sets}",
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ddb.exceptions.ConditionalCheckFailedException:
            return None
        return _item(res["Attributes"])

    def record_webhook_attempt(
        self,
        org_id: str,
        batch_id: str,
        index: int,
        attempt: int,
        *,
        status: int | None,
        reason: str,
        delivered_at: str | None,
        next_attempt: int | None = None,
    ) -> None:
        """What attempt `attempt` came to: the receiver's status (none when it did not answer), why, and
        when it was delivered; `next_attempt` once the next one is scheduled."""
        names = {"#d": "wh_done", "#r": "wh_reason"}
        values: dict[str, Any] = {":d": {"N": str(attempt)}, ":r": _s(reason[:500])}
        sets = ["#d = :d", "#r = :r"]
        removes = []
        if status is None:
            removes.append("wh_status")
        else:
            sets.append("wh_status = :s")
            values[":s"] = {"N": str(status)}
        if delivered_at:
            sets.append("wh_delivered_at = :at")
            values[":at"] = _s(delivered_at)
        if next_attempt:
            sets.append("wh_next = :next")
            values[":next"] = {"N": str(next_attempt)}
        client("dynamodb").update_item(
            TableName=self.table,
            Key=item_key(org_id, batch_id, index),
            UpdateExpression="SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else ""),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def set_webhook_next(self, org_id: str, batch_id: str, index: int, next_attempt: int, at: str) -> None:
        """The next attempt's number and when it is scheduled (ISO 8601, UTC)."""
        client("dynamodb").update_item(
            TableName=self.table,
            Key=item_key(org_id, batch_id, index),
            UpdateExpression="SET wh_next = :next, wh_next_at = :at",
            ExpressionAttributeValues={":next": {"N": str(next_attempt)}, ":at": _s(at)},
        )

    def mark_batch(self, org_id: str, batch_id: str, flag: str, value: str) -> bool:
        """Set a once-only flag on the batch record (`webhook_disabled_at`, `webhook_warned_at`); False
        when it was set before (or there is no such batch)."""
        ddb = client("dynamodb")
        try:
            ddb.update_item(
                TableName=self.table,
                Key=BATCH.key(org_id, batch_id),
                UpdateExpression="SET #f = :v",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(#f)",
                ExpressionAttributeNames={"#f": flag},
                ExpressionAttributeValues={":v": _s(value)},
            )
        except ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def set_item_fields(self, org_id: str, batch_id: str, index: int, fields: dict[str, str]) -> None:
        names = {f"#f{i}": k for i, k in enumerate(fields)}
        values = {f":v{i}": _s(v) for i, v in enumerate(fields.values())}
        client("dynamodb").update_item(
            TableName=self.table,
            Key=item_key(org_id, batch_id, index),
            UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(fields))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def get_item(self, org_id: str, batch_id: str, index: int) -> dict[str, Any] | None:
        item = (
            client("dynamodb")
            .get_item(TableName=self.table, Key=item_key(org_id, batch_id, index), ConsistentRead=True)
            .get("Item")
        )
        return _item(item) if item else None

    def items(
        self,
        org_id: str,
        batch_id: str,
        *,
        status: str | None,
        limit: int,
        after: int | None,
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Finished items in order, `limit` at most, after index `after`; the last index read when more
        may follow (a filtered page may come back short: DynamoDB filters after it reads)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :items)",
            "FilterExpression": "#st = :done" + (" AND #status = :status" if status else ""),
            "ExpressionAttributeNames": {"#st": "state", **({"#status": "status"} if status else {})},
            "ExpressionAttributeValues": {
                ":pk": _s(f"ORG#{org_id}#BATCH#{batch_id}"),
                ":items": _s("ITEM#"),
                ":done": _s(DONE),
                **({":status": _s(status)} if status else {}),
            },
            "Limit": limit,
            "ConsistentRead": True,
        }
        if after is not None:
            kwargs["ExclusiveStartKey"] = item_key(org_id, batch_id, after)
        page = client("dynamodb").query(**kwargs)
        out = [_item(i) for i in page.get("Items", [])]
        last = page.get("LastEvaluatedKey")
        return [o for o in out if o.get("doc")], int(last["sk"]["S"][5:]) if last else None

    def unfinished(self, org_id: str, batch_id: str) -> list[int]:
        """Indexes of items claimed but never recorded (their task died)."""
        ddb = client("dynamodb")
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :i)",
            "FilterExpression": "#st = :running",
            "ExpressionAttributeNames": {"#st": "state"},
            "ExpressionAttributeValues": {
                ":pk": _s(f"ORG#{org_id}#BATCH#{batch_id}"),
                ":i": _s("ITEM#"),
                ":running": _s(RUNNING),
            },
            "ProjectionExpression": "sk",
        }
        out: list[int] = []
        while True:
            page = ddb.query(**kwargs)
            out += [int(i["sk"]["S"][5:]) for i in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def claim_name(self, org_id: str, batch_id: str, name: str, index: int) -> bool:
        """Claim a file name in the batch for an item; True when it is the item's (now or before)."""
        return self._put_if(
            {
                "pk": _s(f"ORG#{org_id}#BATCH#{batch_id}"),
                "sk": _s(f"NAME#{name.casefold()}"),
                "idx": {"N": str(index)},
            },
            "attribute_not_exists(pk) OR idx = :idx",
            {":idx": {"N": str(index)}},
        )

    def _put_if(self, item: dict[str, Any], condition: str, values: dict[str, Any] | None = None) -> bool:
        """Put `item` when `condition` holds; False when it does not."""
        ddb = client("dynamodb")
        kwargs: dict[str, Any] = {"TableName": self.table, "Item": item, "ConditionExpression": condition}
        if values:
            kwargs["ExpressionAttributeValues"] = values
        try:
            ddb.put_item(**kwargs)
        except ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # ------------------------------------------------------------------ listeners
    def add_listeners(self, org_id: str, batch_id: str, items: list[dict[str, Any]]) -> None:
        """Index a listener batch's companies: `pk = ORG#<org>#LISTEN`, `sk = <cvr>#<batch>#<index>`."""
        ddb = client("dynamodb")
        requests = [
            {
                "PutRequest": {
                    "Item": {
                        "pk": _s(f"ORG#{org_id}#LISTEN"),
                        "sk": _s(f"{it['cvr']}#{batch_id}#{it['index']:07d}"),
                        "doc": _s(json.dumps(it)),
                    }
                }
            }
            for it in items
        ]
        for start in range(0, len(requests), 25):
            pending: dict[str, Any] = {self.table: requests[start : start + 25]}
            for _ in range(10):
                unprocessed = ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                if not unprocessed:
                    break
                pending = unprocessed
                time.sleep(0.1)
            else:
                raise RuntimeError("DynamoDB kept items of a listener index unprocessed")

    def listeners(self, org_id: str, cvr: str) -> list[dict[str, Any]]:
        """The listener batches' items for a company: {batch_id, index, format, internalCustomerId}."""
        ddb = client("dynamodb")
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :cvr)",
            "ExpressionAttributeValues": {":pk": _s(f"ORG#{org_id}#LISTEN"), ":cvr": _s(f"{cvr}#")},
        }
        out: list[dict[str, Any]] = []
        while True:
            page = ddb.query(**kwargs)
            for item in page.get("Items", []):
                _, batch_id, _ = item["sk"]["S"].split("#", 2)
                out.append({**json.loads(item["doc"]["S"]), "batch_id": batch_id})
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def claim_event(self, org_id: str, batch_id: str, event_key: str) -> bool:
        """True the first time an event is handled for a batch (kept a month, then expired)."""
        return self._put_if(
            {
                "pk": _s(f"ORG#{org_id}#BATCH#{batch_id}"),
                "sk": _s(f"EVENT#{event_key}"),
                "expires_at": {"N": str(int(time.time()) + 31 * 86400)},
            },
            "attribute_not_exists(pk)",
        )

    # ------------------------------------------------------------------ links
    def put_link(self, token: str, link: dict[str, Any], expires_at: int) -> None:
        client("dynamodb").put_item(
            TableName=self.table,
            Item={
                "pk": _s(f"LINK#{token}"),
                "sk": _s("LINK"),
                "doc": _s(json.dumps(link)),
                "expires_at": {"N": str(expires_at)},
            },
        )

    def get_link(self, token: str) -> dict[str, Any] | None:
        item = (
            client("dynamodb")
            .get_item(TableName=self.table, Key={"pk": _s(f"LINK#{token}"), "sk": _s("LINK")})
            .get("Item")
        )
        if not item or int(item["expires_at"]["N"]) < time.time():
            return None  # TTL deletes expired items only eventually
        return dict(json.loads(item["doc"]["S"]))


def _item(item: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: next(iter(v.values())) for k, v in item.items() if k not in ("pk", "sk")}
    out["index"] = int(item["sk"]["S"][5:])
    if "doc" in out:
        out["doc"] = jsonenc.loads(out["doc"])
    return out
