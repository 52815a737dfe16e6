"""The AWS side of SAF-T imports and exports: status items (DynamoDB), uploads and outputs (S3), the work
queue (SQS) and the export email (SES). The pure modules never import this one.

Status items live under the organization: `pk = ORG#<org>`, `sk = IMPORT#<id>` or `EXPORT#<id>`. While a
job runs it carries `gsi1pk = "RUNNING"` and `gsi1sk = <updated_at>` (refreshed with every progress
update), so the housekeeping sweep fails jobs that stopped making progress; finishing removes both.
"""

from __future__ import annotations

import io
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any, BinaryIO

from saldo import jsonenc
from saldo.adapters.clients import client
from saldo.config import settings
from saldo.render.negotiation import content_disposition
from saldo.saft.safety import Source

RUNNING = "RUNNING"
TTL_DAYS = 90
UPLOAD_URL_SECONDS = 3600
DOWNLOAD_URL_SECONDS = 600
EMAIL_LINK_SECONDS = 24 * 3600


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def new_id(prefix: str) -> str:
    return f"{prefix}_{datetime.now(UTC):%Y%m%d%H%M%S}_{uuid.uuid4().hex[:12]}"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item (low-level shape) as plain Python values."""
    out: dict[str, Any] = {}
    for key, value in item.items():
        ((kind, raw),) = value.items()
        if kind == "S":
            out[key] = raw
        elif kind == "N":
            out[key] = int(raw) if raw.lstrip("-").isdigit() else raw
        elif kind == "BOOL":
            out[key] = raw
        elif kind == "L":
            out[key] = [_plain({"v": v})["v"] for v in raw]
        elif kind == "NULL":
            out[key] = None
    return out


class JobStatusStore:
    """Import and export status items of one kind (`IMPORT` or `EXPORT`)."""

    def __init__(self, kind: str, table: str | None = None) -> None:
        self.kind = kind
        self.table = table or settings().table_name

    def _key(self, org_id: str, job_id: str) -> dict[str, dict[str, str]]:
        return {"pk": _s(f"ORG#{org_id}"), "sk": _s(f"{self.kind}#{job_id}")}

    def create(self, org_id: str, job_id: str, status: str, fields: dict[str, Any]) -> dict[str, Any]:
        now = now_iso()
        item: dict[str, Any] = {
            **self._key(org_id, job_id),
            "type": _s(self.kind.lower()),
            "id": _s(job_id),
            "org_id": _s(org_id),
            "status": _s(status),
            "progress": {"N": "0"},
            "created_at": _s(now),
            "updated_at": _s(now),
            "expires_at": {"N": str(int(time.time()) + TTL_DAYS * 86400)},
        }
        for key, value in fields.items():
            if value is None:
                continue
            if isinstance(value, bool):
                item[key] = {"BOOL": value}
            elif isinstance(value, int):
                item[key] = {"N": str(value)}
            elif isinstance(value, list):
                item[key] = {"L": [_s(str(v)) for v in value]}
            else:
                item[key] = _s(str(value))
        if status == RUNNING:
            item["gsi1pk"], item["gsi1sk"] = _s(RUNNING), _s(now)
        client("dynamodb").put_item(
            TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(pk)"
        )
        return _plain(item)

    def get(self, org_id: str, job_id: str) -> dict[str, Any] | None:
        item = (
            client("dynamodb")
            .get_item(TableName=self.table, Key=self._key(org_id, job_id), ConsistentRead=True)
            .get("Item")
        )
        return _plain(item) if item else None

    def list(self, org_id: str, limit: int = 100) -> list[dict[str, Any]]:
        ddb = client("dynamodb")
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :k)",
            "ExpressionAttributeValues": {":pk": _s(f"ORG#{org_id}"), ":k": _s(f"{self.kind}#")},
            "ScanIndexForward": False,  # ids start with their creation time: newest first
        }
        out: list[dict[str, Any]] = []
        while len(out) < limit:
            page = ddb.query(**kwargs)
            out.extend(_plain(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return out[:limit]

    def update(
        self,
        org_id: str,
        job_id: str,
        fields: dict[str, Any],
        *,
        running: bool | None = None,
        expect: tuple[str, ...] | None = None,
    ) -> bool:
        """Set `fields`; `running` adds or removes the sweep index; `expect` guards on the current status."""
        now = now_iso()
        names: dict[str, str] = {"#u": "updated_at"}
        values: dict[str, Any] = {":now": _s(now)}
        sets = ["#u = :now"]
        removes: list[str] = []
        for i, (key, value) in enumerate(fields.items()):
            names[f"#f{i}"] = key
            if value is None:
                removes.append(f"#f{i}")
                continue
            if isinstance(value, bool):
                values[f":v{i}"] = {"BOOL": value}
            elif isinstance(value, int):
                values[f":v{i}"] = {"N": str(value)}
            else:
                values[f":v{i}"] = _s(str(value))
            sets.append(f"#f{i} = :v{i}")
        if running is True:
            sets += ["gsi1pk = :running", "gsi1sk = :now"]
            values[":running"] = _s(RUNNING)
        elif running is False:
            removes += ["gsi1pk", "gsi1sk"]
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        condition = "attribute_exists(pk)"
        if expect:
            names["#s"] = "status"
            placeholders = []
            for j, status in enumerate(expect):
                values[f":e{j}"] = _s(status)
                placeholders.append(f":e{j}")
            condition += f" AND #s IN ({', '.join(placeholders)})"
        ddb = client("dynamodb")
        try:
            ddb.update_item(
                TableName=self.table,
                Key=self._key(org_id, job_id),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def finish(self, org_id: str, job_id: str, status: str, result: dict[str, Any], **fields: Any) -> None:
        text = jsonenc.dumps(result)
        if len(text) > 300_000:  # DynamoDB items are at most 400 KB
            result = {**result, "warnings": result.get("warnings", [])[:50], "truncated": True}
            text = jsonenc.dumps(result)
        self.update(
            org_id,
            job_id,
            {"status": status, "progress": 100, "result": text, "finished_at": now_iso(), **fields},
            running=False,
        )


# ------------------------------------------------------------------ S3
class S3RangeReader(io.RawIOBase):
    """A seekable read-only view of an S3 object through ranged GETs (zip archives need to seek)."""

    def __init__(self, bucket: str, key: str, size: int | None = None) -> None:
        super().__init__()
        self.bucket, self.key = bucket, key
        if size is None:
            size = int(client("s3").head_object(Bucket=bucket, Key=key)["ContentLength"])
        self.size = size
        self.pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        if self.pos >= self.size or len(buffer) == 0:
            return 0
        end = min(self.pos + len(buffer), self.size) - 1
        body = client("s3").get_object(Bucket=self.bucket, Key=self.key, Range=f"bytes={self.pos}-{end}")[
            "Body"
        ]
        data = body.read()
        n = len(data)
        buffer[:n] = data
        self.pos += n
        return n


def s3_source(bucket: str, key: str, name: str) -> Source:
    size = int(client("s3").head_object(Bucket=bucket, Key=key)["ContentLength"])

    def opener() -> BinaryIO:
        return io.BufferedReader(S3RangeReader(bucket, key, size), 8 * 1024 * 1024)  # type: ignore[return-value]

    return Source(name, size, opener)


def object_size(bucket: str, key: str) -> int | None:
    s3 = client("s3")
    try:
        return int(s3.head_object(Bucket=bucket, Key=key)["ContentLength"])
    except s3.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def put_object(
    bucket: str, key: str, body: bytes | BinaryIO, content_type: str, disposition: str | None = None
) -> None:
    extra: dict[str, Any] = {"ContentType": content_type}
    if disposition:
        extra["ContentDisposition"] = disposition
    if isinstance(body, bytes):
        client("s3").put_object(Bucket=bucket, Key=key, Body=body, **extra)
    else:
        client("s3").upload_fileobj(body, bucket, key, ExtraArgs=extra)


def presign_put(bucket: str, key: str, expires: int = UPLOAD_URL_SECONDS) -> str:
    return client("s3").generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires
    )


def presign_get(
    bucket: str, key: str, expires: int = DOWNLOAD_URL_SECONDS, file_name: str | None = None
) -> str:
    params: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if file_name:
        params["ResponseContentDisposition"] = content_disposition(file_name)
    return client("s3").generate_presigned_url("get_object", Params=params, ExpiresIn=expires)


# ------------------------------------------------------------------ SQS and SES
def enqueue(message: dict[str, Any]) -> None:
    client("sqs").send_message(QueueUrl=settings().work_queue_url, MessageBody=json.dumps(message))


def send_email(to: str, subject: str, text: str, html: str) -> str:
    res = client("ses").send_email(
        Source=settings().sender_email,
        Destination={"ToAddresses": [to]},
        Message={
            "Subject": {"Data": subject, "Charset": "UTF-8"},
            "Body": {"Text": {"Data": text, "Charset": "UTF-8"}, "Html": {"Data": html, "Charset": "UTF-8"}},
        },
    )
    return str(res.get("MessageId", ""))
