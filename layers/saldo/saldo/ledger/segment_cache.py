"""The function's /tmp copy of ledger segments: downloaded once, bounded in bytes, least recently used out.

Segment keys are immutable, so a key is its own cache key. Lambda's /tmp is the function's ephemeral
storage (512 MB by default, up to 10 GB) and lives as long as the execution environment, so without a
bound a warm function that serves many client accounts would fill it and fail every later download.
The cache keeps its files under `max_bytes` (by default half of the file system it lives on, which on
Lambda is the ephemeral storage) and never evicts the segments the current caller asked for.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path

# Share of the file system the cache may fill: the rest is for spills, imports and documents.
DISK_SHARE = 0.5


def default_max_bytes(directory: Path) -> int:
    configured = os.environ.get("SALDO_CACHE_MAX_BYTES")
    if configured:
        return int(configured)
    directory.mkdir(parents=True, exist_ok=True)
    return int(shutil.disk_usage(directory).total * DISK_SHARE)


class SegmentCache:
    def __init__(self, directory: Path, max_bytes: int | None = None) -> None:
        self.directory = directory
        self.max_bytes = max_bytes if max_bytes is not None else default_max_bytes(directory)
        self._files: OrderedDict[Path, int] = OrderedDict()  # least recently used first
        self._lock = threading.Lock()
        self._scanned = False

    def path_for(self, key: str) -> Path:
        return self.directory / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".parquet")

    def get(self, key: str, download: Callable[[Path], None], pinned: Iterable[Path] = ()) -> Path:
        """The local copy of `key`, downloaded with `download(path)` when missing."""
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.path_for(key)
        with self._lock:
            self._scan()
            if path in self._files and path.exists():
                self._files.move_to_end(path)
                return path
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.part")
        download(tmp)
        size = tmp.stat().st_size
        tmp.replace(path)
        with self._lock:
            self._files[path] = size
            self._files.move_to_end(path)
            self._evict(keep={path, *pinned})
        return path

    def size(self) -> int:
        with self._lock:
            return sum(self._files.values())

    def _scan(self) -> None:
        """Adopt the files a previous process of this environment left (oldest first)."""
        if self._scanned:
            return
        self._scanned = True
        found = sorted(
            (p for p in self.directory.glob("*.parquet") if p.is_file()), key=lambda p: p.stat().st_mtime
        )
        for p in found:
            self._files.setdefault(p, p.stat().st_size)

    def _evict(self, keep: set[Path]) -> None:
        total = sum(self._files.values())
        for victim in list(self._files):
            if total <= self.max_bytes:
                return
            if victim in keep:
                continue
            total -= self._files.pop(victim)
            victim.unlink(missing_ok=True)
