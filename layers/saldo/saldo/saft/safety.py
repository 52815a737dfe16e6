"""What an uploaded SAF-T file must pass before a byte of it is parsed as XML.

- A plain XML file or a zip of at most `max_members` XML files (split files, "file n of m"); no nested
  archives, no encrypted members, nothing but `.xml` (macOS `__MACOSX/` entries are skipped).
- Zip bombs: every member's declared size is checked against `max_member_bytes`, the sum against
  `max_total_bytes` and the compression ratio against `max_ratio` *before* decompressing; while
  decompressing, a member can never yield more than it declared (`BoundedReader`).
- XML: a document type declaration is refused outright (no DTD, so no entity can be declared: no
  "billion laughs", no external entities); the prolog is checked on the raw bytes and the parser runs with
  `resolve_entities=False, load_dtd=False, no_network=True` as a second line.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from saldo.saft import UnsafeFile

GiB = 1024**3
MiB = 1024**2


@dataclass(frozen=True)
class Limits:
    #: Skatteetaten: each XML file must be smaller than 2 GB.
    max_member_bytes: int = 2 * GiB
    max_total_bytes: int = 8 * GiB
    #: Skatteetaten: at most 10 XML files per zip archive.
    max_members: int = 10
    #: Files in one import (a year split per month is 13 files, in two archives).
    max_parts: int = 50
    #: XML compresses well (10-30x); a ratio above this on a member over `ratio_floor` bytes is a bomb.
    max_ratio: int = 200
    ratio_floor: int = 1 * MiB
    #: The prolog (declaration, comments) before the root element must fit in this many bytes.
    max_prolog_bytes: int = 64 * 1024


DEFAULT_LIMITS = Limits()


@dataclass
class Source:
    """One uploaded object: `open()` gives a fresh, seekable binary stream of its bytes."""

    name: str
    size: int
    open: Callable[[], BinaryIO]


@dataclass
class Part:
    """One XML file to parse (an uploaded XML file, or a member of an uploaded zip)."""

    name: str
    size: int
    open: Callable[[], BinaryIO]
    #: 1-based "file n of m" from the file name (`..._<n>_<m>.xml`), when it has one.
    sequence: tuple[int, int] | None = field(default=None)


class BoundedReader(io.RawIOBase):
    """Reads from `raw`, refusing to yield more than `limit` bytes; counts and (optionally) hashes them."""

    def __init__(self, raw: BinaryIO, limit: int, what: str, digest: hashlib._Hash | None = None) -> None:
        super().__init__()
        self.raw = raw
        self.limit = limit
        self.what = what
        self.count = 0
        self.digest = digest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        data = self.raw.read(len(buffer))
        n = len(data)
        self.count += n
        if self.count > self.limit:
            raise UnsafeFile(f"{self.what} is larger than {self.limit} bytes")
        if self.digest is not None:
            self.digest.update(data)
        buffer[:n] = data
        return n

    def close(self) -> None:
        try:
            self.raw.close()
        finally:
            super().close()


_SEQ = re.compile(r"_(\d{1,3})_(\d{1,3})\.xml$", re.IGNORECASE)


def file_sequence(name: str) -> tuple[int, int] | None:
    m = _SEQ.search(name)
    if not m:
        return None
    n, total = int(m.group(1)), int(m.group(2))
    return (n, total) if 1 <= n <= total else None


def is_zip(head: bytes) -> bool:
    return head[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def expand(sources: list[Source], limits: Limits = DEFAULT_LIMITS) -> list[Part]:
    """The XML files of the uploads, in import order, after the size and zip checks."""
    parts: list[Part] = []
    total = 0
    for src in sources:
        with src.open() as fh:
            head = fh.read(4)
            if is_zip(head):
                fh.seek(0)
                members = _zip_members(src, fh, limits)
            else:
                if src.size > limits.max_member_bytes:
                    raise UnsafeFile(
                        f"{src.name} is {src.size} bytes; a SAF-T file must be smaller than "
                        f"{limits.max_member_bytes} bytes"
                    )
                members = [Part(src.name, src.size, _plain_opener(src, limits), file_sequence(src.name))]
        for part in members:
            total += part.size
            if total > limits.max_total_bytes:
                raise UnsafeFile(f"The upload expands to more than {limits.max_total_bytes} bytes")
        parts.extend(members)
    if not parts:
        raise UnsafeFile("The upload holds no XML file")
    if len(parts) > limits.max_parts:
        raise UnsafeFile(f"At most {limits.max_parts} XML files per import; got {len(parts)}")
    seqs = [p.sequence for p in parts]
    if len(parts) > 1 and all(seqs):
        parts.sort(key=lambda p: p.sequence or (0, 0))
    return parts


def _plain_opener(src: Source, limits: Limits) -> Callable[[], BinaryIO]:
    def opener() -> BinaryIO:
        return io.BufferedReader(BoundedReader(src.open(), limits.max_member_bytes, src.name), 1024 * 1024)

    return opener


def _zip_members(src: Source, fh: BinaryIO, limits: Limits) -> list[Part]:
    try:
        zf = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnsafeFile(f"{src.name} is not a readable zip archive: {exc}") from None
    parts: list[Part] = []
    total = 0
    with zf:
        infos = zf.infolist()
        if len(infos) > 4 * limits.max_members + 16:
            raise UnsafeFile(f"{src.name} has {len(infos)} entries; at most {limits.max_members} XML files")
        for info in infos:
            name = info.filename
            if info.is_dir() or name.startswith("__MACOSX/") or name.rsplit("/", 1)[-1].startswith("._"):
                continue
            if not name.lower().endswith(".xml"):
                raise UnsafeFile(
                    f"{src.name}: member {name!r} is not an .xml file (nested archives are refused)"
                )
            if info.flag_bits & 0x1:
                raise UnsafeFile(f"{src.name}: member {name!r} is encrypted")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise UnsafeFile(f"{src.name}: member {name!r} uses an unsupported compression method")
            if info.file_size > limits.max_member_bytes:
                raise UnsafeFile(
                    f"{src.name}: member {name!r} expands to {info.file_size} bytes; the limit is "
                    f"{limits.max_member_bytes}"
                )
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > limits.ratio_floor and ratio > limits.max_ratio:
                raise UnsafeFile(
                    f"{src.name}: member {name!r} expands {ratio:.0f} times ({info.compress_size} to "
                    f"{info.file_size} bytes): refused as a zip bomb"
                )
            total += info.file_size
            if total > limits.max_total_bytes:
                raise UnsafeFile(f"{src.name} expands to more than {limits.max_total_bytes} bytes")
            parts.append(
                Part(
                    f"{src.name}!{name}",
                    info.file_size,
                    _member_opener(src, info, limits),
                    file_sequence(name),
                )
            )
    if len(parts) > limits.max_members:
        raise UnsafeFile(f"{src.name} holds {len(parts)} XML files; at most {limits.max_members} per archive")
    return parts


class _MemberStream(io.RawIOBase):
    """A zip member's bytes, bounded by its declared size, closing the archive and source with it."""

    def __init__(self, fh: BinaryIO, zf: zipfile.ZipFile, member: BinaryIO, limit: int, what: str) -> None:
        super().__init__()
        self._fh, self._zf = fh, zf
        self._inner = BoundedReader(member, limit, what)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        try:
            return self._inner.readinto(buffer)
        except zipfile.BadZipFile as exc:
            raise UnsafeFile(f"{self._inner.what}: {exc}") from None

    def close(self) -> None:
        try:
            self._inner.close()
            self._zf.close()
            self._fh.close()
        finally:
            super().close()


def _member_opener(src: Source, info: zipfile.ZipInfo, limits: Limits) -> Callable[[], BinaryIO]:
    def opener() -> BinaryIO:
        fh = src.open()
        zf = zipfile.ZipFile(fh)
        member = zf.open(info.filename)
        what = f"{src.name}!{info.filename}"
        return io.BufferedReader(_MemberStream(fh, zf, member, info.file_size, what), 1024 * 1024)

    return opener


# ------------------------------------------------------------------ XML prolog
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def _decode_prolog(data: bytes) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace")
    if data[:2] == b"<\x00":
        return data.decode("utf-16-le", errors="replace")
    if data[:2] == b"\x00<":
        return data.decode("utf-16-be", errors="replace")
    return data.decode("latin-1")


def check_prolog(data: bytes, limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse a document type declaration; require the root element within the first bytes.

    Only whitespace, the XML declaration, processing instructions and comments may come before the root.
    """
    text = _decode_prolog(data[: limits.max_prolog_bytes])
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i >= n:
            raise UnsafeFile(f"No root element in the first {limits.max_prolog_bytes} bytes")
        if text.startswith("<?", i):
            end = text.find("?>", i + 2)
            if end < 0:
                raise UnsafeFile(f"No root element in the first {limits.max_prolog_bytes} bytes")
            i = end + 2
        elif text.startswith("<!--", i):
            end = text.find("-->", i + 4)
            if end < 0:
                raise UnsafeFile(f"No root element in the first {limits.max_prolog_bytes} bytes")
            i = end + 3
        elif text[i : i + 9].upper() == "<!DOCTYPE":
            raise UnsafeFile(
                "The file has a document type declaration (<!DOCTYPE ...>); SAF-T files have none, and "
                "DTDs and entities are refused"
            )
        elif text.startswith("<", i) and i + 1 < n and (text[i + 1].isalpha() or text[i + 1] in "_:"):
            return
        else:
            raise UnsafeFile("The file is not XML: unexpected content before the root element")
