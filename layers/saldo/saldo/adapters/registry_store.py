"""The company registry in the table, one partition per organization (`ORG#<org>#REG`):

- `CO#<country>#<number>`: a company's record (saldo/registry/record.py) as JSON, with a version for
  conditional writes and the current name in lower case for search;
- `PERSON#<id>`: a person;
- `LINK#<party>#<country>#<number>`: the party (`P#<person>` or `C#<country>#<number>`) appears in that
  company's record, so a person's roles and a company's subsidiaries are one query away. A record keeps
  every party it ever named (with periods), so links are only ever added, and they are written before the
  record that needs them: a link may point at a write that failed (readers check the record), never missing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from saldo.adapters.clients import client
from saldo.config import settings
from saldo.errors import PayloadTooLarge

# DynamoDB items hold 400 KB; the record is kept well below, with room for the other attributes.
MAX_RECORD_BYTES = 350_000


class VersionConflict(Exception):
    """Another writer changed the record first."""


def _pk(org_id: str) -> dict[str, str]:
    return {"S": f"ORG#{org_id}#REG"}


def _company_key(org_id: str, country: str, number: str) -> dict[str, dict[str, str]]:
    return {"pk": _pk(org_id), "sk": {"S": f"CO#{country}#{number}"}}


class RegistryStore:
    def __init__(self, table: str | None = None) -> None:
        self.table = table or settings().table_name

    # ------------------------------------------------------------------ companies
    def get_company(self, org_id: str, country: str, number: str) -> tuple[dict[str, Any], int] | None:
        item = (
            client("dynamodb")
            .get_item(TableName=self.table, Key=_company_key(org_id, country, number), ConsistentRead=True)
            .get("Item")
        )
        if not item:
            return None
        return json.loads(item["record"]["S"]), int(item["version"]["N"])

    def put_company(self, org_id: str, record: dict[str, Any], name: str, expected_version: int) -> int:
        """Write the record if its stored version is still `expected_version` (0: it must be new)."""
        body = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
        if len(body.encode()) > MAX_RECORD_BYTES:
            raise PayloadTooLarge(
                f"The company's record would be {len(body.encode()):,} bytes with its history; "
                f"the registry keeps at most {MAX_RECORD_BYTES:,} bytes per company"
            )
        ddb = client("dynamodb")
        version = expected_version + 1
        condition = "attribute_not_exists(pk)" if expected_version == 0 else "version = :expected"
        values = {":expected": {"N": str(expected_version)}} if expected_version else {}
        try:
            ddb.put_item(
                TableName=self.table,
                Item={
                    **_company_key(org_id, record["country"], record["registration_number"]),
                    "record": {"S": body},
                    "version": {"N": str(version)},
                    "name_lc": {"S": name.lower()},
                    "updated_at": {"S": datetime.now(UTC).isoformat(timespec="milliseconds")},
                },
                ConditionExpression=condition,
                **({"ExpressionAttributeValues": values} if values else {}),
            )
        except ddb.exceptions.ConditionalCheckFailedException:
            raise VersionConflict from None
        return version

    def list_companies(
        self, org_id: str, text: str | None, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Records in registration-number order; `text` matches the name or the number."""
        ddb = client("dynamodb")
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :co)",
            "ExpressionAttributeValues": {":pk": _pk(org_id), ":co": {"S": "CO#"}},
            "ProjectionExpression": "sk, #r",
            "ExpressionAttributeNames": {"#r": "record"},
        }
        if text:
            kwargs["FilterExpression"] = "contains(name_lc, :q) OR contains(sk, :q_raw)"
            kwargs["ExpressionAttributeValues"][":q"] = {"S": text.lower()}
            kwargs["ExpressionAttributeValues"][":q_raw"] = {"S": text}
        if start:
            kwargs["ExclusiveStartKey"] = start
        found: list[dict[str, Any]] = []
        while True:
            # A filtered query reads a page, then filters: read generously, stop at `limit` matches.
            kwargs["Limit"] = 200 if text else limit - len(found) + 1
            page = ddb.query(**kwargs)
            for item in page.get("Items", []):
                if len(found) == limit:  # one more exists: continue after the last one returned
                    last = found[-1]
                    return found, _company_key(org_id, last["country"], last["registration_number"])
                found.append(json.loads(item["record"]["S"]))
            if "LastEvaluatedKey" not in page:
                return found, None
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # ------------------------------------------------------------------ persons
    def get_person(self, org_id: str, person_id: str) -> dict[str, Any] | None:
        item = (
            client("dynamodb")
            .get_item(
                TableName=self.table,
                Key={"pk": _pk(org_id), "sk": {"S": f"PERSON#{person_id}"}},
                ConsistentRead=True,
            )
            .get("Item")
        )
        return json.loads(item["person"]["S"]) if item else None

    def put_person(self, org_id: str, person_id: str, person: dict[str, Any]) -> bool:
        """Store the person; True when it is new."""
        res = client("dynamodb").put_item(
            TableName=self.table,
            Item={
                "pk": _pk(org_id),
                "sk": {"S": f"PERSON#{person_id}"},
                "person": {"S": json.dumps(person, ensure_ascii=False)},
            },
            ReturnValues="ALL_OLD",
        )
        return "Attributes" not in res

    # ------------------------------------------------------------------ links
    def add_links(self, org_id: str, parties: set[str], country: str, number: str) -> None:
        ddb = client("dynamodb")
        requests = [
            {"PutRequest": {"Item": {"pk": _pk(org_id), "sk": {"S": f"LINK#{party}#{country}#{number}"}}}}
            for party in sorted(parties)
        ]
        for i in range(0, len(requests), 25):
            pending: dict[str, Any] = {self.table: requests[i : i + 25]}
            while pending:
                pending = ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    def linked_companies(self, org_id: str, party: str) -> list[tuple[str, str]]:
        """(country, number) of every company whose record names `party` (possibly stale)."""
        ddb = client("dynamodb")
        prefix = f"LINK#{party}#"
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :p)",
            "ExpressionAttributeValues": {":pk": _pk(org_id), ":p": {"S": prefix}},
        }
        out: list[tuple[str, str]] = []
        while True:
            page = ddb.query(**kwargs)
            for item in page.get("Items", []):
                country, number = item["sk"]["S"][len(prefix) :].split("#", 1)
                out.append((country, number))
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
