"""Status items of queued report documents: `ORG#<org>#RJOB#<id>` / `RJOB`, kept for 7 days.

While a job runs it carries `gsi1pk = RUNNING` (see adapters/jobstatus.py), so the housekeeping sweep
fails one that stopped making progress.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from saldo.adapters.clients import client
from saldo.config import settings

TTL_SECONDS = 7 * 24 * 3600


def _key(org_id: str, job_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"ORG#{org_id}#RJOB#{job_id}"}, "sk": {"S": "RJOB"}}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def create(org_id: str, job_id: str, report: str, fmt: str, client_account_id: int, rows: int) -> None:
    now = _now()
    client("dynamodb").put_item(
        TableName=settings().table_name,
        Item={
            **_key(org_id, job_id),
            "job_id": {"S": job_id},
            "org_id": {"S": org_id},
            "status": {"S": "QUEUED"},
            "report": {"S": report},
            "format": {"S": fmt},
            "client_account_id": {"N": str(client_account_id)},
            "estimated_rows": {"N": str(rows)},
            "progress": {"N": "0"},
            "created_at": {"S": now},
            "gsi1pk": {"S": "RUNNING"},
            "gsi1sk": {"S": now},
            "expires_at": {"N": str(int(time.time()) + TTL_SECONDS)},
        },
    )


def progress(org_id: str, job_id: str, percent: int) -> None:
    client("dynamodb").update_item(
        TableName=settings().table_name,
        Key=_key(org_id, job_id),
        UpdateExpression="SET progress = :p, #s = :running, gsi1sk = :now",
        ConditionExpression="attribute_exists(pk)",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={
            ":p": {"N": str(percent)},
            ":running": {"S": "RUNNING"},
            ":now": {"S": _now()},
        },
    )


def finish(
    org_id: str, job_id: str, *, key: str, filename: str, content_type: str, size: int, pages: int | None
) -> None:
    values: dict[str, Any] = {
        ":done": {"S": "SUCCEEDED"},
        ":p": {"N": "100"},
        ":key": {"S": key},
        ":name": {"S": filename},
        ":type": {"S": content_type},
        ":size": {"N": str(size)},
        ":now": {"S": _now()},
    }
    expression = (
        "SET #s = :done, progress = :p, output_key = :key, filename = :name, content_type = :type, "
        "size_bytes = :size, finished_at = :now REMOVE gsi1pk, gsi1sk"
    )
    if pages is not None:
        expression = expression.replace("finished_at = :now", "finished_at = :now, pages = :pages")
        values[":pages"] = {"N": str(pages)}
    client("dynamodb").update_item(
        TableName=settings().table_name,
        Key=_key(org_id, job_id),
        UpdateExpression=expression,
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues=values,
    )


def fail(org_id: str, job_id: str, message: str) -> None:
    client("dynamodb").update_item(
        TableName=settings().table_name,
        Key=_key(org_id, job_id),
        UpdateExpression="SET #s = :failed, errors = :err, finished_at = :now REMOVE gsi1pk, gsi1sk",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={
            ":failed": {"S": "FAILED"},
            ":err": {"L": [{"S": message}]},
            ":now": {"S": _now()},
        },
    )


def get(org_id: str, job_id: str) -> dict[str, Any] | None:
    item = (
        client("dynamodb")
        .get_item(TableName=settings().table_name, Key=_key(org_id, job_id), ConsistentRead=True)
        .get("Item")
    )
    if not item:
        return None
    out: dict[str, Any] = {}
    for name, value in item.items():
        if name in ("pk", "sk", "gsi1pk", "gsi1sk", "expires_at", "org_id"):
            continue
        ((kind, raw),) = value.items()
        out[name] = int(raw) if kind == "N" else [v["S"] for v in raw] if kind == "L" else raw
    return out
