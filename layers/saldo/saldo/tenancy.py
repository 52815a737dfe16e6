"""Organizations and API keys (pure part): key format, hashing, the caller a key resolves to.

A key looks like `sld_<key id>_<secret>`. Only its SHA-256 is stored, as the partition key of the key
item, so a lookup is one GetItem; the key id (not secret) is what logs and listings show.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from saldo.errors import Forbidden, Unauthorized

KEY_PREFIX = "sld"


def new_key() -> tuple[str, str]:
    """Return (key_id, full key)."""
    key_id = secrets.token_hex(6)
    return key_id, f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_id_of(key: str) -> str | None:
    parts = key.split("_", 2)
    return parts[1] if len(parts) == 3 and parts[0] == KEY_PREFIX else None


def new_org_id() -> str:
    return "org_" + secrets.token_hex(8)


@dataclass(frozen=True)
class Caller:
    """Who is calling: the organization and (optionally) the client accounts the key is limited to."""

    org_id: str
    key_id: str
    client_accounts: frozenset[int] | None = None  # None: every client account of the organization

    def can_access(self, client_account_id: int) -> bool:
        return self.client_accounts is None or client_account_id in self.client_accounts

    def require_client_account(self, client_account_id: int | None) -> int:
        if client_account_id is None:
            raise Forbidden("client_account_id is required")
        if not self.can_access(client_account_id):
            raise Forbidden(f"No access to client account {client_account_id}")
        return client_account_id

    def to_context(self) -> dict[str, str]:
        grants = (
            "*" if self.client_accounts is None else ",".join(str(i) for i in sorted(self.client_accounts))
        )
        return {
            "authenticated": "true",
            "org_id": self.org_id,
            "key_id": self.key_id,
            "client_accounts": grants,
        }

    @classmethod
    def from_context(cls, ctx: dict[str, object] | None) -> Caller:
        if not ctx or str(ctx.get("authenticated")) != "true" or not ctx.get("org_id"):
            raise Unauthorized("A valid API key is required: send 'Authorization: Bearer <key>'")
        grants = str(ctx.get("client_accounts", "*"))
        accounts = None if grants == "*" else frozenset(int(x) for x in grants.split(",") if x)
        return cls(org_id=str(ctx["org_id"]), key_id=str(ctx.get("key_id", "")), client_accounts=accounts)


def extract_key(headers: dict[str, str], *, lasso: bool = True) -> str | None:
    """The key from `Authorization: Bearer`, else (when `lasso`) from the `lasso-api-key` header."""
    lower = {k.lower(): v for k, v in headers.items()}
    auth = lower.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    if not lasso:
        return None
    return lower.get("lasso-api-key", "").strip() or None
