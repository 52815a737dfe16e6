"""An S3 multipart upload behind `batches.archive.Uploader`: parts as they come, then complete or abort.

Nothing is visible at the key until `complete()`; `abort()` drops the parts already stored (the bucket's
lifecycle rule also aborts uploads left incomplete for a day, should the function die first).
"""

from __future__ import annotations

from typing import Any

from saldo.adapters.clients import client


class S3MultipartUpload:
    def __init__(self, bucket: str, key: str, content_type: str, disposition: str | None = None) -> None:
        self.bucket, self.key = bucket, key
        extra: dict[str, Any] = {"ContentType": content_type}
        if disposition:
            extra["ContentDisposition"] = disposition
        self.upload_id: str = client("s3").create_multipart_upload(Bucket=bucket, Key=key, **extra)[
            "UploadId"
        ]
        self.parts: list[dict[str, Any]] = []
        self.aborted = False

    def upload_part(self, number: int, data: bytes) -> None:
        res = client("s3").upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=data
        )
        self.parts.append({"PartNumber": number, "ETag": res["ETag"]})

    def complete(self) -> None:
        client("s3").complete_multipart_upload(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": self.parts}
        )

    def abort(self) -> None:
        if self.aborted:
            return
        self.aborted = True
        client("s3").abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)
