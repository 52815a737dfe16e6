"""Status items of every queued job: SAF-T imports and exports, report documents (and any later kind).

One store, one item shape per kind (`JobKind`): status, progress, timestamps, the result or errors a user
can act on, the output key, a TTL. A running job carries `gsi1pk = "RUNNING"` and `gsi1sk = <its last
progress time>`, so the housekeeping sweep (`fail_running_before`) finds stale ones of every kind with one
index query; finishing a job removes both.

Keys, as stored since each kind began (existing items keep reading):
- imports and exports: `pk = ORG#<org>`, `sk = IMPORT#<id>` / `EXPORT#<id>`, listed per organization;
- report documents: `pk = ORG#<org>#RJOB#<id>`, `sk = RJOB`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from saldo import jsonenc
from saldo.adapters.clients import client
from saldo.config import settings

RUNNING = "RUNNING"
#: Stored attributes that are bookkeeping, not part of a job's answer.
INTERNAL = frozenset({"pk", "sk", "gsi1pk", "gsi1sk", "expires_at", "org_id"})


@dataclass(frozen=True)
class JobKind:
    """How one kind of job is keyed and stamped (kept as each kind was first stored)."""

    name: str
    ttl_seconds: int
    #: True: one partition per job (`ORG#<org>#<name>#<id>` / `<name>`); False: under `ORG#<org>`.
    own_partition: bool = False
    #: The attribute that holds the job's id.
    id_attr: str = "id"
    #: Whether items carry `type` and an `updated_at` refreshed by every update.
    tracks_updates: bool = True
    timespec: str = "milliseconds"

    def key(self, org_id: str, job_id: str) -> dict[str, dict[str, str]]:
        if self.own_partition:
            return {"pk": _s(f"ORG#{org_id}#{self.name}#{job_id}"), "sk": _s(self.name)}
        return {"pk": _s(f"ORG#{org_id}"), "sk": _s(f"{self.name}#{job_id}")}

    def now(self) -> str:
        return datetime.now(UTC).isoformat(timespec=self.timespec)


IMPORT = JobKind("IMPORT", ttl_seconds=90 * 86400)
EXPORT = JobKind("EXPORT", ttl_seconds=90 * 86400)
REPORT = JobKind(
    "RJOB",
    ttl_seconds=7 * 86400,
    own_partition=True,
    id_attr="job_id",
    tracks_updates=False,
    timespec="seconds",
)

#: Report batches (docs/BATCHES.md): listed per organization, kept a year; their items live in
#: `adapters/batch_store.py` under the batch's own partition.
BATCH = JobKind("BATCH", ttl_seconds=365 * 86400)

#: A batch's zip (`batches/jobs.py`): one per batch and number of finished reports, id
#: `<batch>-<n>`, in its own partition; kept as long as the batch's objects (the bucket's batches/ rule).
BATCH_ZIP = JobKind("BZIP", ttl_seconds=31 * 86400, own_partition=True)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def new_id(prefix: str) -> str:
    """A job id that sorts by its creation time (lists are newest first)."""
    return f"{prefix}_{datetime.now(UTC):%Y%m%d%H%M%S}_{uuid.uuid4().hex[:12]}"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, list):
        return {"L": [_s(str(v)) for v in value]}
    return _s(str(value))


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


def public(item: dict[str, Any]) -> dict[str, Any]:
    """A job item without its bookkeeping attributes (keys, sweep index, TTL, organization)."""
    return {k: v for k, v in item.items() if k not in INTERNAL}


class JobStatusStore:
    """Status items of one kind of job (`IMPORT`, `EXPORT`, `REPORT`, or a `JobKind`)."""

    def __init__(self, kind: JobKind | str = IMPORT, table: str | None = None) -> None:
        self.kind = kind if isinstance(kind, JobKind) else {"IMPORT": IMPORT, "EXPORT": EXPORT}[kind]
        self.table = table or settings().table_name

    def _key(self, org_id: str, job_id: str) -> dict[str, dict[str, str]]:
        return self.kind.key(org_id, job_id)

    def create(
        self,
        org_id: str,
        job_id: str,
        status: str,
        fields: dict[str, Any],
        *,
        running: bool | None = None,
    ) -> dict[str, Any]:
        """Store a new job; `running` (default: status is RUNNING) puts it in the sweep's index."""
        now = self.kind.now()
        item: dict[str, Any] = {**self._key(org_id, job_id)}
        if self.kind.tracks_updates:
            item["type"] = _s(self.kind.name.lower())
        item[self.kind.id_attr] = _s(job_id)
        item["org_id"] = _s(org_id)
        item["status"] = _s(status)
        for key, value in fields.items():
            if value is not None:
                item[key] = _value(value)
        item.setdefault("progress", {"N": "0"})
        item["created_at"] = _s(now)
        if self.kind.tracks_updates:
            item["updated_at"] = _s(now)
        item["expires_at"] = {"N": str(int(time.time()) + self.kind.ttl_seconds)}
        if running if running is not None else status == RUNNING:
            item["gsi1pk"], item["gsi1sk"] = _s(RUNNING), _s(now)
        client("dynamodb").put_item(
            TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(pk)"
        )
        return _plain(item)

    def create_once(
        self, org_id: str, job_id: str, status: str, fields: dict[str, Any]
    ) -> tuple[dict[str, Any], bool]:
        """Store a new job unless one of that id exists: (the job, True) when this call created it, else
        (the stored job, False). Two callers at once create one job."""
        ddb = client("dynamodb")
        try:
            return self.create(org_id, job_id, status, fields), True
        except ddb.exceptions.ConditionalCheckFailedException:
            found = self.get(org_id, job_id)
            if found is None:  # TTL removed it in between: very unlikely, but not a job
                raise
            return found, False

    def get(self, org_id: str, job_id: str) -> dict[str, Any] | None:
        item = (
            client("dynamodb")
            .get_item(TableName=self.table, Key=self._key(org_id, job_id), ConsistentRead=True)
            .get("Item")
        )
        return _plain(item) if item else None

    def list(self, org_id: str, limit: int = 100) -> list[dict[str, Any]]:
        """The organization's jobs of this kind, newest first (kinds stored under `ORG#<org>` only)."""
        if self.kind.own_partition:
            raise TypeError(f"{self.kind.name} jobs are not listed")
        ddb = client("dynamodb")
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :k)",
            "ExpressionAttributeValues": {":pk": _s(f"ORG#{org_id}"), ":k": _s(f"{self.kind.name}#")},
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

    def page(
        self, org_id: str, limit: int, start: dict[str, Any] | None = None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """One page of the organization's jobs of this kind, newest first, and the key to continue from."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :k)",
            "ExpressionAttributeValues": {":pk": _s(f"ORG#{org_id}"), ":k": _s(f"{self.kind.name}#")},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = client("dynamodb").query(**kwargs)
        return [_plain(i) for i in page.get("Items", [])], page.get("LastEvaluatedKey")

    def add(self, org_id: str, job_id: str, counts: dict[str, int]) -> dict[str, Any]:
        """Add to counters atomically; returns the job as it is after the addition."""
        names = {f"#c{i}": k for i, k in enumerate(counts)}
        values = {f":c{i}": {"N": str(v)} for i, v in enumerate(counts.values())}
        res = client("dynamodb").update_item(
            TableName=self.table,
            Key=self._key(org_id, job_id),
            UpdateExpression="ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(counts))),
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
        return _plain(res["Attributes"])

    def update(
        self,
        org_id: str,
        job_id: str,
        fields: dict[str, Any],
        *,
        running: bool | None = None,
        expect: tuple[str, ...] | None = None,
    ) -> bool:
        """Set `fields` (None removes one); `running` adds (refreshes) or removes the sweep index; `expect`
        guards on the current status. False when the job is missing or not in an expected status."""
        now = self.kind.now()
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets: list[str] = []
        removes: list[str] = []
        if self.kind.tracks_updates:
            names["#u"] = "updated_at"
            values[":now"] = _s(now)
            sets.append("#u = :now")
        for i, (key, value) in enumerate(fields.items()):
            names[f"#f{i}"] = key
            if value is None:
                removes.append(f"#f{i}")
                continue
            values[f":v{i}"] = _value(value)
            sets.append(f"#f{i} = :v{i}")
        if running is True:
            sets += ["gsi1pk = :running", "gsi1sk = :now"]
            values[":running"], values[":now"] = _s(RUNNING), _s(now)
        elif running is False:
            removes += ["gsi1pk", "gsi1sk"]
        expression = " ".join(
            part
            for part in (
                "SET " + ", ".join(sets) if sets else "",
                "REMOVE " + ", ".join(removes) if removes else "",
            )
            if part
        )
        condition = "attribute_exists(pk)"
        if expect:
            names["#s"] = "status"
            placeholders = []
            for j, status in enumerate(expect):
                values[f":e{j}"] = _s(status)
                placeholders.append(f":e{j}")
            condition += f" AND #s IN ({', '.join(placeholders)})"
        ddb = client("dynamodb")
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "Key": self._key(org_id, job_id),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
        }
        if names:
            kwargs["ExpressionAttributeNames"] = names
        if values:
            kwargs["ExpressionAttributeValues"] = values
        try:
            ddb.update_item(**kwargs)
        except ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def progress(self, org_id: str, job_id: str, percent: int, **fields: Any) -> bool:
        """A running job's progress; it also tells the sweep the job is alive."""
        return self.update(org_id, job_id, {"status": RUNNING, "progress": percent, **fields}, running=True)

    def finish(self, org_id: str, job_id: str, status: str, result: dict[str, Any], **fields: Any) -> None:
        """The end of a job: its status, a JSON `result` (kept under DynamoDB's item size) and `fields`."""
        text = jsonenc.dumps(result)
        if len(text) > 300_000:  # DynamoDB items are at most 400 KB
            result = {**result, "warnings": result.get("warnings", [])[:50], "truncated": True}
            text = jsonenc.dumps(result)
        self.update(
            org_id,
            job_id,
            {"status": status, "progress": 100, "result": text, "finished_at": self.kind.now(), **fields},
            running=False,
        )

    def succeed(self, org_id: str, job_id: str, output: dict[str, Any], **extra: Any) -> None:
        """The end of a job whose answer is its fields, not a JSON result: `output` (its key, name, type,
        size), then `extra` facts (None leaves one out)."""
        fields = {"status": "SUCCEEDED", "progress": 100, **output, "finished_at": self.kind.now()}
        fields.update({k: v for k, v in extra.items() if v is not None})
        self.update(org_id, job_id, fields, running=False)

    def fail(self, org_id: str, job_id: str, message: str) -> None:
        """A job that cannot succeed, with the message a user can act on."""
        self.update(
            org_id,
            job_id,
            {"status": "FAILED", "errors": [message], "finished_at": self.kind.now()},
            running=False,
        )

    def fail_running_before(self, cutoff: datetime, reason: str) -> int:
        """Fail running jobs of every kind whose last progress is older than `cutoff`; returns how many."""
        return fail_running_before(cutoff, reason, self.table)


def _in_index(name: str, before: datetime, table: str) -> Iterator[dict[str, Any]]:
    """Items filed under `gsi1pk = name` whose `gsi1sk` (a time) is before `before`, page by page."""
    ddb = client("dynamodb")
    kwargs: dict[str, Any] = {
        "TableName": table,
        "IndexName": "gsi1",
        "KeyConditionExpression": "gsi1pk = :n AND gsi1sk < :before",
        "ExpressionAttributeValues": {":n": {"S": name}, ":before": {"S": before.isoformat()}},
    }
    while True:
        page = ddb.query(**kwargs)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def due_in_index(name: str, now: datetime, table: str | None = None) -> list[dict[str, Any]]:
    """Items filed under `gsi1pk = name` whose `gsi1sk` (a deadline) has passed."""
    return [_plain(i) for i in _in_index(name, now, table or settings().table_name)]


def fail_running_before(cutoff: datetime, reason: str, table: str | None = None) -> int:
    table = table or settings().table_name
    ddb = client("dynamodb")
    count = 0
    for item in _in_index(RUNNING, cutoff, table):
        try:
            ddb.update_item(
                TableName=table,
                Key={"pk": item["pk"], "sk": item["sk"]},
                UpdateExpression=(
                    "SET #s = :failed, #e = list_append(if_not_exists(#e, :empty), :err) "
                    "REMOVE gsi1pk, gsi1sk"
                ),
                ConditionExpression="gsi1pk = :r",
                ExpressionAttributeNames={"#s": "status", "#e": "errors"},
                ExpressionAttributeValues={
                    ":failed": {"S": "FAILED"},
                    ":r": {"S": RUNNING},
                    ":err": {"L": [{"S": reason}]},
                    ":empty": {"L": []},
                },
            )
            count += 1
        except ddb.exceptions.ConditionalCheckFailedException:
            pass  # finished while we looked
    return count
