"""The ledger store and client-account repository the SAF-T tests use: the real S3 and DynamoDB adapters
on the in-process moto stack (the `stack` fixture is active for every SAF-T test, see conftest.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

from saldo.adapters.client_accounts import ClientAccountRepo
from saldo.adapters.ledger_aws import DynamoManifestStore, S3BlobStore
from saldo.ledger.store import LedgerStore


def ledger_store() -> LedgerStore:
    return LedgerStore(S3BlobStore(), DynamoManifestStore())


def client_repo() -> ClientAccountRepo:
    return ClientAccountRepo()


def clear_cache(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def ledger_objects() -> list[str]:
    """Every object key in the ledger bucket."""
    from saldo.adapters.clients import client
    from saldo.config import settings

    pages = client("s3").get_paginator("list_objects_v2").paginate(Bucket=settings().ledger_bucket)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def _items(condition: str, prefix: str) -> list[dict]:
    from saldo.adapters.clients import client
    from saldo.config import settings

    res = client("dynamodb").scan(
        TableName=settings().table_name,
        FilterExpression=condition,
        ExpressionAttributeValues={":p": {"S": prefix}},
    )
    return res.get("Items", [])


def manifests() -> list[dict]:
    return _items("sk = :p", "MANIFEST")


def client_accounts() -> list[dict]:
    return _items("begins_with(sk, :p)", "CA#")


def nothing_written() -> bool:
    """No ledger object, no manifest and no client account exists."""
    return not ledger_objects() and not manifests() and not client_accounts()
