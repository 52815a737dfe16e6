"""Rendered documents too large for a Lambda response: stored under outputs/ (expired by the bucket's
lifecycle rule) and handed out through a short-lived presigned URL."""

from __future__ import annotations

import uuid
from typing import Any

from saldo.adapters.clients import client
from saldo.config import settings
from saldo.net import safe_filename

PRESIGN_SECONDS = 300


def _put(org_id: str, filename: str, content_type: str, source: Any, disposition: str) -> str:
    bucket = settings().document_bucket
    key = f"outputs/{org_id}/{uuid.uuid4().hex}/{safe_filename(filename)}"
    extra = {"ContentType": content_type, "ContentDisposition": disposition}
    if isinstance(source, str):
        client("s3").upload_file(source, bucket, key, ExtraArgs=extra)
    else:
        client("s3").upload_fileobj(source, bucket, key, ExtraArgs=extra)
    return key


def presign(key: str, expires: int = PRESIGN_SECONDS) -> str:
    return str(
        client("s3").generate_presigned_url(
            "get_object", Params={"Bucket": settings().document_bucket, "Key": key}, ExpiresIn=expires
        )
    )


def store_output(org_id: str, filename: str, content_type: str, source: Any, disposition: str) -> str:
    """Upload `source` (a path or a file object) and return a presigned GET URL valid for five minutes."""
    return presign(_put(org_id, filename, content_type, source, disposition))


def store_output_file(org_id: str, filename: str, content_type: str, source: Any, disposition: str) -> str:
    """Upload a rendered document; returns its key (queued documents hand out a fresh URL on each read)."""
    return _put(org_id, filename, content_type, source, disposition)
