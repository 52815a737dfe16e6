"""Client accounts in the table: `ORG#<org>/CA#<id>`, with a `ORG#<org>/REGNO#<country>#<number>` item
that keeps registration numbers unique per organization and finds an account by number in one read.
Ids are integers from one counter, so an id never means two accounts, even across organizations."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from saldo.adapters.clients import client
from saldo.config import settings
from saldo.errors import Conflict
from saldo.ledger.models import ClientAccount, ClientAccountIn

logger = Logger(service="saldo")


class BrokenRecord(ValueError):
    """A stored client account that does not load (fields missing or invalid): reported, never a 500."""

    def __init__(self, account_id: str, problems: list[str]) -> None:
        super().__init__(f"client account {account_id}: " + "; ".join(problems))
        self.account_id = account_id
        self.problems = problems


#: Attributes of a client account item and their DynamoDB types.
_TYPES = {
    "id": "N",
    "name": "S",
    "registration_number": "S",
    "country": "S",
    "currency": "S",
    "fiscal_year_start_month": "N",
    "vat_registered": "BOOL",
    "locked_until": "S",
    "created_at": "S",
}


def _item_to_record(item: dict[str, Any]) -> dict[str, Any]:
    """The item's fields as plain values; a field that is missing or of another type is left out."""
    out: dict[str, Any] = {}
    for field, kind in _TYPES.items():
        value = item.get(field, {}).get(kind)
        if value is None:
            continue
        out[field] = int(value) if kind == "N" and value.lstrip("-").isdigit() else value
    return out


def _item_to_account(item: dict[str, Any]) -> ClientAccount:
    record = _item_to_record(item)
    try:
        return ClientAccount.model_validate(record)
    except ValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise BrokenRecord(str(record.get("id", item.get("sk", {}).get("S", "?"))), problems) from None


#: The only fields a change may remove; every other field of a client account is required.
_REMOVABLE = frozenset({"locked_until"})


class ClientAccountRepo:
    def __init__(self, table: str | None = None) -> None:
        self.table = table or settings().table_name

    def _next_id(self) -> int:
        res = client("dynamodb").update_item(
            TableName=self.table,
            Key={"pk": {"S": "COUNTER"}, "sk": {"S": "client_account"}},
            UpdateExpression="ADD n :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        return int(res["Attributes"]["n"]["N"])

    def create(self, org_id: str, data: ClientAccountIn) -> ClientAccount:
        ddb = client("dynamodb")
        account_id = self._next_id()
        now = datetime.now(UTC).isoformat(timespec="seconds")
        item: dict[str, Any] = {
            "pk": {"S": f"ORG#{org_id}"},
            "sk": {"S": f"CA#{account_id:012d}"},
            "org_id": {"S": org_id},
            "id": {"N": str(account_id)},
            "name": {"S": data.name},
            "registration_number": {"S": data.registration_number},
            "country": {"S": data.country},
            "currency": {"S": data.currency},
            "fiscal_year_start_month": {"N": str(data.fiscal_year_start_month)},
            "vat_registered": {"BOOL": data.vat_registered},
            "created_at": {"S": now},
        }
        if data.locked_until:
            item["locked_until"] = {"S": data.locked_until.isoformat()}
        regno_key = {
            "pk": {"S": f"ORG#{org_id}"},
            "sk": {"S": f"REGNO#{data.country}#{data.registration_number}"},
        }
        try:
            ddb.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": {**regno_key, "id": {"N": str(account_id)}},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": item,
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except ddb.exceptions.TransactionCanceledException:
            raise Conflict(
                f"A client account with registration number {data.registration_number} "
                f"already exists in this organization"
            ) from None
        return _item_to_account(item)

    def get(self, org_id: str, account_id: int) -> ClientAccount | None:
        item = self._item(org_id, account_id)
        if item is None:
            return None
        try:
            return _item_to_account(item)
        except BrokenRecord as exc:
            logger.error("client account record does not load", extra={"org_id": org_id, "error": str(exc)})
            raise Conflict(
                f"Client account {account_id} is incomplete ({'; '.join(exc.problems)}); "
                "PATCH the missing fields to repair it"
            ) from None

    def record(self, org_id: str, account_id: int) -> dict[str, Any] | None:
        """The stored fields as they are, even when the record is incomplete (for a PATCH to repair it)."""
        item = self._item(org_id, account_id)
        return _item_to_record(item) if item is not None else None

    def _item(self, org_id: str, account_id: int) -> dict[str, Any] | None:
        return (
            client("dynamodb")
            .get_item(
                TableName=self.table,
                Key={"pk": {"S": f"ORG#{org_id}"}, "sk": {"S": f"CA#{account_id:012d}"}},
                ConsistentRead=True,
            )
            .get("Item")
        )

    def find_by_regno(self, org_id: str, country: str, number: str) -> ClientAccount | None:
        item = (
            client("dynamodb")
            .get_item(
                TableName=self.table,
                Key={"pk": {"S": f"ORG#{org_id}"}, "sk": {"S": f"REGNO#{country}#{number}"}},
                ConsistentRead=True,
            )
            .get("Item")
        )
        return self.get(org_id, int(item["id"]["N"])) if item else None

    def list(self, org_id: str) -> list[ClientAccount]:
        ddb = client("dynamodb")
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :ca)",
            "ExpressionAttributeValues": {":pk": {"S": f"ORG#{org_id}"}, ":ca": {"S": "CA#"}},
        }
        out: list[ClientAccount] = []
        while True:
            page = ddb.query(**kwargs)
            for item in page.get("Items", []):
                try:
                    out.append(_item_to_account(item))
                except BrokenRecord as exc:
                    # One bad record must not take the organization's list down with it.
                    logger.error("client account record skipped", extra={"org_id": org_id, "error": str(exc)})
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def update(self, org_id: str, account_id: int, changes: dict[str, Any]) -> ClientAccount | None:
        if not changes:
            return self.get(org_id, account_id)
        names, values, sets, removes = {}, {}, [], []
        for i, (field, value) in enumerate(changes.items()):
            names[f"#f{i}"] = field
            if value is None and field not in _REMOVABLE:
                raise ValueError(f"{field} cannot be removed from a client account")
            if value is None:
                removes.append(f"#f{i}")
                continue
            if isinstance(value, bool):
                values[f":v{i}"] = {"BOOL": value}
            elif isinstance(value, int):
                values[f":v{i}"] = {"N": str(value)}
            else:
                values[f":v{i}"] = {"S": value.isoformat() if isinstance(value, date) else str(value)}
            sets.append(f"#f{i} = :v{i}")
        expression = ("SET " + ", ".join(sets) if sets else "") + (
            " REMOVE " + ", ".join(removes) if removes else ""
        )
        ddb = client("dynamodb")
        try:
            res = ddb.update_item(
                TableName=self.table,
                Key={"pk": {"S": f"ORG#{org_id}"}, "sk": {"S": f"CA#{account_id:012d}"}},
                UpdateExpression=expression.strip(),
                ExpressionAttributeNames=names,
                ConditionExpression="attribute_exists(pk)",
                ReturnValues="ALL_NEW",
                **({"ExpressionAttributeValues": values} if values else {}),
            )
        except ddb.exceptions.ConditionalCheckFailedException:
            return None
        return _item_to_account(res["Attributes"])
