"""Organizations and API keys in the table.

Items: `ORG#<org>/ORG` (the organization), `APIKEY#<sha256>/APIKEY` (lookup by key hash, one GetItem),
`ORG#<org>/KEY#<key id>` (listing). A key's two items are written and deleted in one transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from saldo.adapters.clients import client
from saldo.config import settings
from saldo.errors import Conflict, NotFound
from saldo.tenancy import Caller, hash_key, new_key, new_org_id


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class TenancyStore:
    def __init__(self, table_name: str | None = None) -> None:
        self.table = table_name or settings().table_name

    def create_org(self, name: str, org_id: str | None = None) -> dict[str, str]:
        org_id = org_id or new_org_id()
        ddb = client("dynamodb")
        try:
            ddb.put_item(
                TableName=self.table,
                Item={
                    "pk": {"S": f"ORG#{org_id}"},
                    "sk": {"S": "ORG"},
                    "org_id": {"S": org_id},
                    "name": {"S": name},
                    "created_at": {"S": _now()},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ddb.exceptions.ConditionalCheckFailedException:
            raise Conflict(f"Organization {org_id} already exists") from None
        return {"org_id": org_id, "name": name}

    def get_org(self, org_id: str) -> dict[str, str] | None:
        item = (
            client("dynamodb")
            .get_item(TableName=self.table, Key={"pk": {"S": f"ORG#{org_id}"}, "sk": {"S": "ORG"}})
            .get("Item")
        )
        return {"org_id": item["org_id"]["S"], "name": item["name"]["S"]} if item else None

    def create_key(
        self, org_id: str, client_accounts: list[int] | None = None, label: str = "", key: str | None = None
    ) -> dict[str, Any]:
        """Create a key; the full key is in the result and nowhere else, ever."""
        if self.get_org(org_id) is None:
            raise NotFound(f"Organization {org_id} does not exist")
        if key is None:
            key_id, key = new_key()
        else:  # a caller-chosen key (the local demo uses a fixed one)
            key_id = key.split("_", 2)[1]
        grants = "*" if client_accounts is None else ",".join(str(i) for i in sorted(set(client_accounts)))
        common = {
            "org_id": {"S": org_id},
            "key_id": {"S": key_id},
            "client_accounts": {"S": grants},
            "label": {"S": label},
            "created_at": {"S": _now()},
        }
        digest = hash_key(key)
        client("dynamodb").transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": self.table,
                        "ConditionExpression": "attribute_not_exists(pk)",
                        "Item": {"pk": {"S": f"APIKEY#{digest}"}, "sk": {"S": "APIKEY"}, **common},
                    }
                },
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": {
                            "pk": {"S": f"ORG#{org_id}"},
                            "sk": {"S": f"KEY#{key_id}"},
                            "key_hash": {"S": digest},
                            **common,
                        },
                    }
                },
            ]
        )
        return {"org_id": org_id, "key_id": key_id, "key": key, "client_accounts": grants, "label": label}

    def caller_for_key(self, key: str) -> Caller | None:
        item = (
            client("dynamodb")
            .get_item(
                TableName=self.table,
                Key={"pk": {"S": f"APIKEY#{hash_key(key)}"}, "sk": {"S": "APIKEY"}},
                ConsistentRead=True,
            )
            .get("Item")
        )
        if not item:
            return None
        grants = item["client_accounts"]["S"]
        accounts = None if grants == "*" else frozenset(int(x) for x in grants.split(",") if x)
        return Caller(org_id=item["org_id"]["S"], key_id=item["key_id"]["S"], client_accounts=accounts)

    def list_keys(self, org_id: str) -> list[dict[str, str]]:
        items = (
            client("dynamodb")
            .query(
                TableName=self.table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :k)",
                ExpressionAttributeValues={":pk": {"S": f"ORG#{org_id}"}, ":k": {"S": "KEY#"}},
            )
            .get("Items", [])
        )
        return [
            {
                "key_id": i["key_id"]["S"],
                "client_accounts": i["client_accounts"]["S"],
                "label": i.get("label", {}).get("S", ""),
                "created_at": i["created_at"]["S"],
            }
            for i in items
        ]

    def revoke_key(self, org_id: str, key_id: str) -> None:
        ddb = client("dynamodb")
        item = ddb.get_item(
            TableName=self.table, Key={"pk": {"S": f"ORG#{org_id}"}, "sk": {"S": f"KEY#{key_id}"}}
        ).get("Item")
        if not item:
            raise NotFound(f"Key {key_id} not found in organization {org_id}")
        ddb.transact_write_items(
            TransactItems=[
                {
                    "Delete": {
                        "TableName": self.table,
                        "Key": {"pk": {"S": f"APIKEY#{item['key_hash']['S']}"}, "sk": {"S": "APIKEY"}},
                    }
                },
                {
                    "Delete": {
                        "TableName": self.table,
                        "Key": {"pk": {"S": f"ORG#{org_id}"}, "sk": {"S": f"KEY#{key_id}"}},
                    }
                },
            ]
        )
