"""Continuation tokens of the paginated lists: compact JSON in URL-safe base64 without padding. Each
list checks what it reads back (its organization, its scope, the type of the position)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any


def pack(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def unpack(token: str) -> dict[str, Any]:
    """The object in a token; ValueError for anything that is not one."""
    try:
        data = json.loads(base64.urlsafe_b64decode((token + "=" * (-len(token) % 4)).encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise ValueError("not a token") from None
    if not isinstance(data, dict):
        raise ValueError("not a token")
    return data
