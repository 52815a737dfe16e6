"""The document bucket: uploads (SAF-T files), outputs (exports, large reports) and presigned links.

`RangeReader` is a seekable view of an object through ranged GETs, so a zip archive is read without
downloading it whole.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from typing import Any, BinaryIO

from saldo.adapters.clients import client
from saldo.config import settings
from saldo.render.negotiation import content_disposition

UPLOAD_URL_SECONDS = 3600
DOWNLOAD_URL_SECONDS = 600
EMAIL_LINK_SECONDS = 24 * 3600


def bucket() -> str:
    return settings().document_bucket


class RangeReader(io.RawIOBase):
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


def range_opener(bucket: str, key: str) -> tuple[int, Callable[[], BinaryIO]]:
    """The object's size and a function that opens a buffered, seekable reader on it."""
    size = int(client("s3").head_object(Bucket=bucket, Key=key)["ContentLength"])

    def opener() -> BinaryIO:
        return io.BufferedReader(RangeReader(bucket, key, size), 8 * 1024 * 1024)  # type: ignore[return-value]

    return size, opener


def get_object(bucket: str, key: str) -> bytes | None:
    """A small object's bytes; None when it is not there."""
    s3 = client("s3")
    try:
        return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        return None


def open_stream(bucket: str, key: str) -> BinaryIO:
    """The object's body as a stream to read in chunks (closed by the caller)."""
    body = client("s3").get_object(Bucket=bucket, Key=key)["Body"]
    return contextlib.closing(body)  # type: ignore[return-value]


def object_size(bucket: str, key: str) -> int | None:
    """The object's size, or None when there is no such object."""
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
    return str(
        client("s3").generate_presigned_url(
            "put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires
        )
    )


def presign_get(
    bucket: str, key: str, expires: int = DOWNLOAD_URL_SECONDS, file_name: str | None = None
) -> str:
    params: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if file_name:
        params["ResponseContentDisposition"] = content_disposition(file_name)
    return str(client("s3").generate_presigned_url("get_object", Params=params, ExpiresIn=expires))
