"""A ledger on local disk, for the benchmark's subprocesses.

The main benchmark process loads the demo ledger into the local stack (moto). Memory is measured in
fresh subprocesses, which must not carry moto and boto3: they read a *snapshot* of the same ledger (the
manifest, the segment objects and the master data document, copied out of the local stack's S3 and
DynamoDB) through the same `LedgerStore` interfaces, with a directory as the blob store.
"""

from __future__ import annotations

import copy
import itertools
import json
import shutil
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from saldo.errors import Conflict
from saldo.ledger.models import ClientAccount, ClientAccountIn
from saldo.ledger.posting import Counters
from saldo.ledger.store import LedgerStore, Manifest, ManifestConflict, Segment


class DirBlobs:
    """`BlobStore` over a directory: a key is a relative path."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / key

    def put_file(self, key: str, path: Path) -> tuple[str, int]:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        return key, target.stat().st_size

    def put_bytes(self, key: str, data: bytes) -> tuple[str, int]:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return key, len(data)

    def get_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def download(self, key: str, path: Path) -> None:
        shutil.copyfile(self._path(key), path)

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            self._path(key).unlink(missing_ok=True)

    def retire(self, keys: list[str]) -> None:
        self.delete(keys)


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
    """Client accounts in memory (what the SAF-T importer needs of the repository)."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
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


# ------------------------------------------------------------------ snapshots
def write_snapshot(
    store: LedgerStore, manifest: Manifest, account: ClientAccount, target: Path
) -> dict[str, Any]:
    """Copy one manifest version's objects out of `store` into `target` (a directory)."""
    if target.exists():
        shutil.rmtree(target)
    blobs = DirBlobs(target / "objects")
    total = 0
    for seg in manifest.segments:
        path = blobs._path(seg.key)
        path.parent.mkdir(parents=True, exist_ok=True)
        store.blobs.download(seg.key, path)
        total += path.stat().st_size
    if manifest.masterdata_key:
        blobs.put_bytes(manifest.masterdata_key, store.blobs.get_bytes(manifest.masterdata_key))
    doc = {
        "org_id": manifest.org_id,
        "client_account_id": manifest.client_account_id,
        "version": manifest.version,
        "segments": [asdict(s) for s in manifest.segments],
        "masterdata_key": manifest.masterdata_key,
        "counters": asdict(manifest.counters),
        "account": json.loads(account.model_dump_json()),
    }
    (target / "manifest.json").write_text(json.dumps(doc, indent=1))
    return {"segments": len(manifest.segments), "bytes": total}


def open_snapshot(target: Path) -> tuple[LedgerStore, Manifest, ClientAccount]:
    doc = json.loads((target / "manifest.json").read_text())
    manifest = Manifest(
        doc["org_id"],
        doc["client_account_id"],
        doc["version"],
        [Segment(**s) for s in doc["segments"]],
        doc["masterdata_key"],
        Counters(**doc["counters"]),
    )
    manifests = MemoryManifests()
    manifests.items[(manifest.org_id, manifest.client_account_id)] = manifest
    store = LedgerStore(DirBlobs(target / "objects"), manifests)
    return store, manifest, ClientAccount.model_validate(doc["account"])


def line_segment_paths(target: Path) -> list[Path]:
    doc = json.loads((target / "manifest.json").read_text())
    return [target / "objects" / s["key"] for s in doc["segments"] if s["kind"] == "lines"]
