"""S3 and DynamoDB behind the ledger store's BlobStore and ManifestStore interfaces."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from pathlib import Path

from saldo.adapters.clients import client
from saldo.config import settings
from saldo.ledger.posting import Counters
from saldo.ledger.store import Lock, Manifest, ManifestConflict, Segment


class S3BlobStore:
    def __init__(self, bucket: str | None = None) -> None:
        self.bucket = bucket or settings().ledger_bucket

    def put_file(self, key: str, path: Path) -> tuple[str, int]:
        size = path.stat().st_size
        with path.open("rb") as fh:
            res = client("s3").put_object(Bucket=self.bucket, Key=key, Body=fh)
        return res.get("ETag", "").strip('"'), size

    def put_bytes(self, key: str, data: bytes) -> tuple[str, int]:
        res = client("s3").put_object(Bucket=self.bucket, Key=key, Body=data)
        return res.get("ETag", "").strip('"'), len(data)

    def get_bytes(self, key: str) -> bytes:
        return client("s3").get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def download(self, key: str, path: Path) -> None:
        client("s3").download_file(self.bucket, key, str(path))

    def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            if chunk:
                client("s3").delete_objects(
                    Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True}
                )

    def retire(self, keys: list[str]) -> None:
        """Tag replaced segments; the bucket's lifecycle rule expires tagged objects."""
        for key in keys:
            client("s3").put_object_tagging(
                Bucket=self.bucket, Key=key, Tagging={"TagSet": [{"Key": RETIRED_TAG, "Value": "true"}]}
            )


RETIRED_TAG = "saldo-retired"


def manifest_key(org_id: str, client_account_id: int) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"ORG#{org_id}#CA#{client_account_id}"}, "sk": {"S": "MANIFEST"}}


class DynamoManifestStore:
    def __init__(self, table: str | None = None) -> None:
        self.table = table or settings().table_name

    def load(self, org_id: str, client_account_id: int) -> Manifest | None:
        item = (
            client("dynamodb")
            .get_item(TableName=self.table, Key=manifest_key(org_id, client_account_id), ConsistentRead=True)
            .get("Item")
        )
        if not item:
            return None
        lock = None
        if "locked_until" in item:  # "" when unlocked
            until = item["locked_until"]["S"]
            lock = Lock(date.fromisoformat(until) if until else None)
        return Manifest(
            org_id=org_id,
            client_account_id=client_account_id,
            version=int(item["version"]["N"]),
            segments=[Segment(**s) for s in json.loads(item["segments"]["S"])],
            masterdata_key=item.get("masterdata_key", {}).get("S"),
            counters=Counters(**json.loads(item["counters"]["S"])),
            updated_at=item.get("updated_at", {}).get("S", ""),
            lock=lock,
        )

    def save(self, manifest: Manifest, expected_version: int) -> None:
        ddb = client("dynamodb")
        item = {
            **manifest_key(manifest.org_id, manifest.client_account_id),
            "org_id": {"S": manifest.org_id},
            "version": {"N": str(manifest.version)},
            "segments": {"S": json.dumps([asdict(s) for s in manifest.segments], separators=(",", ":"))},
            "counters": {"S": json.dumps(asdict(manifest.counters))},
            "updated_at": {"S": manifest.updated_at},
        }
        if manifest.masterdata_key:
            item["masterdata_key"] = {"S": manifest.masterdata_key}
        if manifest.lock is not None:
            until = manifest.lock.until
            item["locked_until"] = {"S": until.isoformat() if until else ""}
        condition = "attribute_not_exists(pk)" if expected_version == 0 else "version = :v"
        kwargs = (
            {"ExpressionAttributeValues": {":v": {"N": str(expected_version)}}} if expected_version else {}
        )
        try:
            ddb.put_item(TableName=self.table, Item=item, ConditionExpression=condition, **kwargs)
        except ddb.exceptions.ConditionalCheckFailedException:
            raise ManifestConflict from None
