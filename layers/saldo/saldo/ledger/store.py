"""The ledger store of one client account: immutable segments listed by a versioned manifest.

Writers append: a change writes new objects (a Parquet segment of lines, one of facts, a new master
data document) under fresh keys, then swaps the manifest with a conditional write on its version. A
writer that loses the race deletes what it wrote, re-reads, re-allocates ids and tries again, so
concurrent posts never lose a write and ids stay unique. Readers take the manifest they read and see
exactly the objects it lists.
"""

from __future__ import annotations

import random
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

from saldo.errors import Conflict
from saldo.ledger.masterdata import MasterData
from saldo.ledger.posting import Counters
from saldo.ledger.segments import merge_parquet, write_facts, write_lines

T = TypeVar("T")
MAX_ATTEMPTS = 25
COMPACT_AFTER = 16  # segments; each write adds one or two


@dataclass
class Segment:
    key: str
    kind: str  # "lines" | "facts"
    rows: int
    size: int
    etag: str = ""


@dataclass(frozen=True)
class Lock:
    """The ledger's locked period: postings dated on or before `until` are refused (None: unlocked)."""

    until: date | None


@dataclass
class Manifest:
    org_id: str
    client_account_id: int
    version: int = 0
    segments: list[Segment] = field(default_factory=list)
    masterdata_key: str | None = None
    counters: Counters = field(default_factory=Counters)
    updated_at: str = ""
    # Written by every lock change, so a write checks the lock of the very version it replaces. None: no
    # lock was ever written here (an older ledger); the client account's record still holds it then.
    lock: Lock | None = None

    def segment_keys(self, kind: str) -> list[str]:
        return [s.key for s in self.segments if s.kind == kind]

    def locked_until(self, recorded: date | None) -> date | None:
        """The lock date in force for a write against this version (`recorded`: the client account's)."""
        return recorded if self.lock is None else self.lock.until


class ManifestConflict(Exception):
    """Another writer swapped the manifest first."""


class BlobStore(Protocol):
    def put_file(self, key: str, path: Path) -> tuple[str, int]: ...
    def put_bytes(self, key: str, data: bytes) -> tuple[str, int]: ...
    def get_bytes(self, key: str) -> bytes: ...
    def download(self, key: str, path: Path) -> None: ...
    def delete(self, keys: list[str]) -> None: ...
    def retire(self, keys: list[str]) -> None: ...


class ManifestStore(Protocol):
    def load(self, org_id: str, client_account_id: int) -> Manifest | None: ...
    def save(self, manifest: Manifest, expected_version: int) -> None: ...


@runtime_checkable
class SegmentWriter(Protocol):
    """Lines that write their own segments (a big import): Parquet files of `LINE_COLUMNS` under
    `directory`, yielded with their row counts one at a time; each is uploaded and removed before the next
    is written. All of them land in the one manifest swap of the commit."""

    def write_segments(self, directory: Path) -> Iterator[tuple[Path, int]]: ...


@dataclass
class Change:
    """What one write adds: rows to append, a new master data document, and the result to return."""

    lines: list[dict[str, Any]] | SegmentWriter = field(default_factory=list)
    facts: list[dict[str, Any]] = field(default_factory=list)
    master: MasterData | None = None
    lock: Lock | None = None
    result: Any = None

    def empty(self) -> bool:
        """Nothing to write: the state already is what the request asks for."""
        return not self.lines and not self.facts and self.master is None and self.lock is None


def prefix(org_id: str, client_account_id: int) -> str:
    return f"ledger/{org_id}/{client_account_id}"


class LedgerStore:
    def __init__(
        self,
        blobs: BlobStore,
        manifests: ManifestStore,
        masterdata_cache: dict[str, MasterData] | None = None,
    ) -> None:
        self.blobs = blobs
        self.manifests = manifests
        self._master_cache = masterdata_cache if masterdata_cache is not None else {}

    def manifest(self, org_id: str, client_account_id: int) -> Manifest:
        return self.manifests.load(org_id, client_account_id) or Manifest(org_id, client_account_id)

    def master(self, manifest: Manifest) -> MasterData:
        key = manifest.masterdata_key
        if key is None:
            return MasterData()
        if key not in self._master_cache:
            self._master_cache[key] = MasterData.from_json(self.blobs.get_bytes(key))
        return self._master_cache[key].copy()

    def commit(
        self, org_id: str, client_account_id: int, build: Callable[[Manifest, MasterData], Change]
    ) -> Any:
        """Run `build` against the current state and append its change atomically; retry on a lost race.

        `build` must be pure apart from reading its arguments: it may run more than once. It allocates
        ids from `manifest.counters`, which it advances on a copy. Every precondition of the write is
        checked by `build` against the `manifest` it is given (the version the write replaces), so a
        build that runs again after a lost race checks it again; what it raises is the answer. A change
        with nothing in it writes nothing (the version stays).
        """
        for attempt in range(MAX_ATTEMPTS):
            current = self.manifest(org_id, client_account_id)
            counters = Counters(**vars(current.counters))
            working = Manifest(
                org_id,
                client_account_id,
                current.version,
                list(current.segments),
                current.masterdata_key,
                counters,
                lock=current.lock,
            )
            change = build(working, self.master(current))
            if change.empty() and not isinstance(change.lines, SegmentWriter):
                return change.result
            written: list[str] = []
            try:
                new_segments = self._write(org_id, client_account_id, change, written)
                master_key = current.masterdata_key
                if change.master is not None:
                    master_key = f"{prefix(org_id, client_account_id)}/master/{uuid.uuid4().hex}.json"
                    self.blobs.put_bytes(master_key, change.master.to_json())
                    written.append(master_key)
                updated = Manifest(
                    org_id,
                    client_account_id,
                    current.version + 1,
                    current.segments + new_segments,
                    master_key,
                    working.counters,
                    datetime.now(UTC).isoformat(timespec="milliseconds"),
                    change.lock if change.lock is not None else current.lock,
                )
                self.manifests.save(updated, expected_version=current.version)
                if change.master is not None and master_key:
                    self._master_cache[master_key] = change.master
                return change.result
            except ManifestConflict:
                self.blobs.delete(written)
                time.sleep(min(0.5, 0.01 * (2 ** min(attempt, 6))) * random.random())
            except BaseException:
                self.blobs.delete(written)
                raise
        raise Conflict("The ledger is being changed by many writers at once; retry the request")

    def _write(
        self, org_id: str, client_account_id: int, change: Change, written: list[str]
    ) -> list[Segment]:
        segments = []
        with tempfile.TemporaryDirectory(prefix="saldo-seg-") as tmp:
            for kind, rows, writer in (
                ("lines", change.lines, write_lines),
                ("facts", change.facts, write_facts),
            ):
                if not rows:
                    continue
                if isinstance(rows, SegmentWriter):
                    files: Iterable[tuple[Path, int]] = rows.write_segments(Path(tmp))
                else:
                    path = Path(tmp) / f"{kind}.parquet"
                    files = [(path, writer(rows, path))]
                for path, count in files:  # uploaded one by one: /tmp holds one segment at a time
                    key = f"{prefix(org_id, client_account_id)}/{kind}/{uuid.uuid4().hex}.parquet"
                    etag, size = self.blobs.put_file(key, path)
                    written.append(key)
                    segments.append(Segment(key=key, kind=kind, rows=count, size=size, etag=etag))
                    path.unlink(missing_ok=True)
        return segments

    def compact(
        self, org_id: str, client_account_id: int, min_segments: int = COMPACT_AFTER
    ) -> Manifest | None:
        """Merge all segments into one line segment and one fact segment and swap the manifest.

        Returns the new manifest, or None when there was nothing to do or a writer got in first (the
        merged objects are then deleted and the next compaction tries again). The replaced objects are
        marked retired, not deleted: a reader holding the old manifest may still be downloading them;
        the bucket's lifecycle rule removes retired objects a day later.
        """
        current = self.manifest(org_id, client_account_id)
        if len(current.segments) < min_segments:
            return None
        written: list[str] = []
        merged: list[Segment] = []
        with tempfile.TemporaryDirectory(prefix="saldo-compact-") as tmp:
            for kind, order in (
                ("lines", "posting_date, sequence_number, entry_id, entry_version, line_id"),
                ("facts", "created_at"),
            ):
                keys = current.segment_keys(kind)
                if not keys:
                    continue
                paths = []
                for i, key in enumerate(keys):
                    path = Path(tmp) / f"{kind}-{i}.parquet"
                    self.blobs.download(key, path)
                    paths.append(path)
                target = Path(tmp) / f"{kind}.parquet"
                rows = merge_parquet(paths, target, order)
                key = f"{prefix(org_id, client_account_id)}/{kind}/{uuid.uuid4().hex}.parquet"
                etag, size = self.blobs.put_file(key, target)
                written.append(key)
                merged.append(Segment(key=key, kind=kind, rows=rows, size=size, etag=etag))
        updated = Manifest(
            org_id,
            client_account_id,
            current.version + 1,
            merged,
            current.masterdata_key,
            current.counters,
            datetime.now(UTC).isoformat(timespec="milliseconds"),
            current.lock,
        )
        try:
            self.manifests.save(updated, expected_version=current.version)
        except ManifestConflict:
            self.blobs.delete(written)
            return None
        self.blobs.retire([s.key for s in current.segments])
        return updated
