"""A zip archive streamed to a multipart upload, never held whole: each entry is read in chunks, deflated
and appended to one part buffer; a full buffer is uploaded as the next part and dropped.

Memory stays at one part plus one chunk whatever the number or size of the entries. The output is not
seekable, so entries carry data descriptors; `zipfile` writes ZIP64 records where the archive needs them
(over 65,535 entries, offsets past 4 GiB), and an entry whose size is known is marked ZIP64 when it needs
it. Pure: the uploader is an interface (`adapters/multipart.py` is the S3 one).
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import BinaryIO, Protocol

MIB = 1024 * 1024
#: S3's smallest part (every part but the last).
MIN_PART_SIZE = 5 * MIB
PART_SIZE = 8 * MIB
CHUNK_SIZE = 1 * MIB
#: Level 6 saves a few per cent on PDFs (their streams are already deflated) at a modest cost.
COMPRESS_LEVEL = 6


class Uploader(Protocol):
    def upload_part(self, number: int, data: bytes) -> None: ...

    def complete(self) -> None: ...

    def abort(self) -> None: ...


@dataclass(frozen=True)
class Entry:
    """One file of the archive: its name in the zip, its size when known, how to open its bytes."""

    name: str
    open: Callable[[], BinaryIO]
    size: int | None = None


@dataclass(frozen=True)
class Summary:
    entries: int
    bytes: int
    parts: int
    #: The most bytes the part buffer held at once (the writer's memory, apart from one chunk read).
    peak_buffer: int


class EmptyArchive(ValueError):
    """No entry was given: nothing is uploaded."""


class _PartSink:
    """A write-only, non-seekable file that uploads a part each time `part_size` bytes have gathered."""

    def __init__(self, uploader: Uploader, part_size: int) -> None:
        self.uploader, self.part_size = uploader, part_size
        self.buffer = bytearray()
        self.parts = 0
        self.written = 0
        self.peak = 0

    def write(self, data: bytes) -> int:
        self.buffer += data
        self.written += len(data)
        self.peak = max(self.peak, len(self.buffer))
        if len(self.buffer) >= self.part_size:
            self._upload()
        return len(data)

    def tell(self) -> int:
        return self.written

    def seek(self, *_: object) -> int:
        raise OSError("not seekable")  # tells zipfile to write data descriptors

    def flush(self) -> None:
        pass  # parts go out when full; the last one in close()

    def _upload(self) -> None:
        self.parts += 1
        data = bytes(self.buffer)
        self.buffer = bytearray()  # dropped before the upload, so a part is held once
        self.uploader.upload_part(self.parts, data)

    def close(self) -> None:
        if self.buffer or self.parts == 0:
            self._upload()


def write_zip(
    entries: Iterable[Entry],
    uploader: Uploader,
    *,
    part_size: int = PART_SIZE,
    chunk_size: int = CHUNK_SIZE,
    on_entry: Callable[[int], None] | None = None,
) -> Summary:
    """Write `entries` as one zip through `uploader`; completes the upload, or aborts it and raises.

    `on_entry(n)` is called after each entry (n written so far). Duplicate names are refused.
    """
    if part_size < MIN_PART_SIZE:
        raise ValueError(f"parts must be at least {MIN_PART_SIZE} bytes")
    sink = _PartSink(uploader, part_size)
    names: set[str] = set()
    count = 0
    try:
        with zipfile.ZipFile(
            sink,  # type: ignore[arg-type]
            "w",
            compression=zipfile.ZIP_DEFLATED,
            compresslevel=COMPRESS_LEVEL,
            allowZip64=True,
        ) as zf:
            for entry in entries:
                if entry.name in names:
                    raise ValueError(f"two entries named {entry.name!r}")
                names.add(entry.name)
                info = zipfile.ZipInfo(entry.name, date_time=_now())
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                if entry.size is not None:
                    info.file_size = entry.size  # lets zipfile choose ZIP64 for this entry up front
                with entry.open() as source, zf.open(info, "w") as member:
                    while chunk := source.read(chunk_size):
                        member.write(chunk)
                count += 1
                if on_entry is not None:
                    on_entry(count)
            if not count:
                raise EmptyArchive("no file to put in the zip")
        sink.close()
        uploader.complete()
    except BaseException:
        uploader.abort()
        raise
    return Summary(entries=count, bytes=sink.written, parts=sink.parts, peak_buffer=sink.peak)


def _now() -> tuple[int, int, int, int, int, int]:
    import time

    return time.localtime()[:6]  # type: ignore[return-value]
