"""TransactWriteItems on the local stack: conditions first, then every write, all or nothing, without
copying the table (moto's own copies the whole table for every transaction)."""

from __future__ import annotations

import pytest


def _key(pk: str) -> dict:
    return {"pk": {"S": pk}, "sk": {"S": "x"}}


@pytest.fixture
def ddb(stack):
    client = stack.client("dynamodb")
    table = next(t for t in client.list_tables()["TableNames"] if "saldo" in t)
    return client, table


def test_all_writes_or_none(ddb):
    client, table = ddb
    client.put_item(TableName=table, Item={**_key("a"), "n": {"N": "1"}})
    ok = [
        {
            "Update": {
                "TableName": table,
                "Key": _key("a"),
                "UpdateExpression": "ADD n :one",
                "ConditionExpression": "n = :n",
                "ExpressionAttributeValues": {":one": {"N": "1"}, ":n": {"N": "1"}},
            }
        },
        {
            "Put": {
                "TableName": table,
                "Item": {**_key("b"), "v": {"S": "new"}},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
    ]
    client.transact_write_items(TransactItems=ok)
    assert client.get_item(TableName=table, Key=_key("a"))["Item"]["n"] == {"N": "2"}
    # the same again: the first condition fails now, so neither write happens
    with pytest.raises(client.exceptions.TransactionCanceledException) as err:
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {**_key("c"), "v": {"S": "x"}}}},
                ok[0],
            ]
        )
    reasons = [r["Code"] for r in err.value.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed"]
    assert "Item" not in client.get_item(TableName=table, Key=_key("c"))
    assert client.get_item(TableName=table, Key=_key("a"))["Item"]["n"] == {"N": "2"}


def test_a_write_that_fails_while_applied_puts_the_others_back(ddb):
    client, table = ddb
    client.put_item(TableName=table, Item={**_key("d"), "v": {"S": "before"}})
    client.put_item(TableName=table, Item={**_key("f"), "v": {"S": "text"}})
    with pytest.raises(client.exceptions.ClientError) as err:
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {**_key("d"), "v": {"S": "after"}}}},
                {"Put": {"TableName": table, "Item": {**_key("e"), "v": {"S": "new"}}}},
                # adding a number to a text fails only when it is applied, after the puts
                {
                    "Update": {
                        "TableName": table,
                        "Key": _key("f"),
                        "UpdateExpression": "ADD v :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
            ]
        )
    assert "Multiple" not in str(err.value)
    assert client.get_item(TableName=table, Key=_key("d"))["Item"]["v"] == {"S": "before"}
    assert "Item" not in client.get_item(TableName=table, Key=_key("e"))
    assert client.get_item(TableName=table, Key=_key("f"))["Item"]["v"] == {"S": "text"}
