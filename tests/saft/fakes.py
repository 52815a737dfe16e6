"""In-memory stand-ins for the ledger store's blob and manifest stores and the client-account repo."""

from __future__ import annotations

import copy
import itertools
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from saldo.errors import Conflict
from saldo.ledger.models import ClientAccount, ClientAccountIn
from saldo.ledger.store import LedgerStore, Manifest, ManifestConflict


class MemoryBlobs:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put_file(self, key: str, path: Path) -> tuple[str, int]:
        data = path.read_bytes()
        self.objects[key] = data
        return f"etag-{len(self.objects)}", len(data)

    def put_bytes(self, key: str, data: bytes) -> tuple[str, int]:
        self.objects[key] = data
        return f"etag-{len(self.objects)}", len(data)

    def get_bytes(self, key: str) -> bytes:
        return self.objects[key]

    def download(self, key: str, path: Path) -> None:
        path.write_bytes(self.objects[key])

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            self.objects.pop(key, None)


class MemoryManifests:
    def __init__(self) -> None:
        self.items: dict[tuple[str, int], Manifest] = {}

    def load(self, org_id: str, client_account_id: int) -> Manifest | None:
        m = self.items.get((org_id, client_account_id))
        return copy.deepcopy(m) if m else None

    def save(self, manifest: Manifest, expected_version: int) -> None:
        current = self.items.get((manifest.org_id, manifest.client_account_id))
        if (current.version if current else 0) != expected_version:
            raise ManifestConflict
        self.items[(manifest.org_id, manifest.client_account_id)] = copy.deepcopy(manifest)


class MemoryRepo:
    _ids = itertools.count(1)

    def __init__(self) -> None:
        self.accounts: dict[tuple[str, int], ClientAccount] = {}

    def create(self, org_id: str, data: ClientAccountIn) -> ClientAccount:
        if self.find_by_regno(org_id, data.country, data.registration_number):
            raise Conflict("exists")
        account = ClientAccount(
            id=next(self._ids),
            name=data.name,
            registration_number=data.registration_number,
            country=data.country,
            currency=data.currency,
            fiscal_year_start_month=data.fiscal_year_start_month,
            vat_registered=data.vat_registered,
            locked_until=data.locked_until,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        self.accounts[(org_id, account.id)] = account
        return account

    def get(self, org_id: str, account_id: int) -> ClientAccount | None:
        return self.accounts.get((org_id, account_id))

    def find_by_regno(self, org_id: str, country: str, number: str) -> ClientAccount | None:
        for (org, _), acc in self.accounts.items():
            if org == org_id and acc.country == country and acc.registration_number == number:
                return acc
        return None

    def list(self, org_id: str) -> list[ClientAccount]:
        return [a for (org, _), a in self.accounts.items() if org == org_id]

    def update(self, org_id: str, account_id: int, changes: dict[str, Any]) -> ClientAccount | None:
        acc = self.get(org_id, account_id)
        if acc is None:
            return None
        updated = acc.model_copy(update=changes)
        self.accounts[(org_id, account_id)] = updated
        return updated


def memory_store() -> LedgerStore:
    return LedgerStore(MemoryBlobs(), MemoryManifests())


def clear_cache(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
