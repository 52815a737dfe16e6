"""Where idempotency records live: Powertools' DynamoDB persistence layer in the single table.

A record's partition key is `ORG#<org>#IDEMP#<scope>#<sha256 of org, client account, route and
Idempotency-Key>` (Powertools' key under the organization), its sort key `IDEMP`. `expires_at` is the table's
TTL attribute, so DynamoDB removes records after their 24 hours. Replies too large for a DynamoDB item
are kept in the document bucket under `outputs/` (expired by its lifecycle rule after 7 days, longer
than any record lives) and the record holds their key.
"""

from __future__ import annotations

import copy
import gzip
import uuid
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from saldo.adapters.clients import client
from saldo.config import settings


class SaldoPersistenceLayer(DynamoDBPersistenceLayer):
    """Powertools' DynamoDB layer with one partition per record, named under its organization.

    Powertools puts every record under one static partition key when the table has a sort key; one
    partition per record spreads the writes (as every other item of the table does).
    """

    def _get_key(self, idempotency_key: str) -> dict[str, Any]:
        return {
            self.key_attr: {"S": f"{self.static_pk_value}#{idempotency_key}"},
            self.sort_key_attr: {"S": "IDEMP"},
        }


def persistence_layer(org_id: str) -> DynamoDBPersistenceLayer:
    """A persistence layer for one organization's records, fresh per request (Powertools keeps the
    request's configuration on it, and warm invocations may serve other organizations)."""
    layer = copy.copy(_layer(client("dynamodb"), settings().table_name))
    layer.static_pk_value = f"ORG#{org_id}#IDEMP"
    return layer


@lru_cache(maxsize=4)
def _layer(ddb: Any, table_name: str) -> DynamoDBPersistenceLayer:
    # Built once per client: each construction registers another user-agent handler on the client.
    return SaldoPersistenceLayer(
        table_name=table_name,
        key_attr="pk",
        sort_key_attr="sk",
        static_pk_value="ORG#-#IDEMP",  # replaced per organization
        expiry_attr="expires_at",
        in_progress_expiry_attr="in_progress_expires_at",
        status_attr="status",
        data_attr="response",
        validation_key_attr="request_hash",
        boto3_client=ddb,
    )


def put_large_reply(org_id: str, body: str) -> str:
    """Store a reply body too large for the record (gzipped); returns its object key."""
    key = f"outputs/idempotency/{org_id}/{uuid.uuid4().hex}.json.gz"
    client("s3").put_object(
        Bucket=settings().document_bucket,
        Key=key,
        Body=gzip.compress(body.encode("utf-8")),
        ContentType="application/gzip",
    )
    return key


def get_large_reply(key: str) -> str:
    obj = client("s3").get_object(Bucket=settings().document_bucket, Key=key)
    return gzip.decompress(obj["Body"].read()).decode("utf-8")
