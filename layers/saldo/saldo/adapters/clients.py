"""boto3 clients, created once per process and shared across warm invocations.

boto3 is imported lazily so that pure domain code (and its tests) never pays for it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from saldo.config import settings


@cache
def client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"max_attempts": 5, "mode": "standard"},
        signature_version="s3v4" if service == "s3" else None,
    )
    return boto3.client(service, region_name=settings().region, config=config)


def reset() -> None:
    """Forget cached clients (tests and the local stack switch endpoints)."""
    client.cache_clear()
    settings.cache_clear()
