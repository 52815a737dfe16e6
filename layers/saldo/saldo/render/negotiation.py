"""Content negotiation by ``Accept`` (seeds/003), ``Content-Disposition`` and safe file names.

Rules (`negotiate`):

* Offered, in server preference order: ``application/json`` (the default), the Excel type,
  ``text/html``, ``application/pdf``.
* No ``Accept`` header, an empty one, or ``*/*`` gives JSON.
* Each offered type takes the q-value of the *most specific* range that matches it
  (``text/html`` over ``text/*`` over ``*/*``); ``q=0`` excludes it.
* The highest q wins. On a tie the range listed first in the header wins; a tie inside one wildcard
  range (``application/*``) goes to server order, so ``application/*`` gives JSON and ``text/*`` HTML.
* Media type parameters other than ``q`` (``charset=utf-8``) are ignored; matching is case-insensitive.
* If nothing offered is acceptable, `saldo.errors.NotAcceptable` (406) lists what is offered.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import date
from enum import StrEnum
from urllib.parse import quote

from saldo.errors import BadRequest, NotAcceptable

JSON = "application/json"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HTML = "text/html"
PDF = "application/pdf"

OFFERED: tuple[str, ...] = (JSON, XLSX, HTML, PDF)


class Format(StrEnum):
    """The four report formats, by short name."""

    JSON = "json"
    XLSX = "xlsx"
    HTML = "html"
    PDF = "pdf"

    @property
    def media_type(self) -> str:
        return _MEDIA[self]

    @property
    def extension(self) -> str:
        return self.value

    @property
    def content_type(self) -> str:
        """The media type with a charset where it is text (the value for a Content-Type header)."""
        return f"{_MEDIA[self]}; charset=utf-8" if self in (Format.JSON, Format.HTML) else _MEDIA[self]

    @classmethod
    def from_media_type(cls, media_type: str) -> Format:
        base = media_type.split(";")[0].strip().lower()
        for fmt, mt in _MEDIA.items():
            if mt == base:
                return fmt
        raise ValueError(f"No report format for media type {media_type!r}")

    @classmethod
    def coerce(cls, value: Format | str) -> Format:
        """A Format from a Format, a short name (``pdf``, ``excel``) or a media type."""
        if isinstance(value, Format):
            return value
        text = value.strip().lower()
        if "/" in text:
            return cls.from_media_type(text)
        text = _ALIASES.get(text, text)
        return cls(text)


_MEDIA: dict[Format, str] = {Format.JSON: JSON, Format.XLSX: XLSX, Format.HTML: HTML, Format.PDF: PDF}
_ALIASES = {"excel": "xlsx", "xls": "xlsx", "htm": "html"}


def format_from_query(value: str | None) -> Format | None:
    """The older API's ``format`` query parameter (seeds/002: ``excel``, ``html``, ``pdf``), or None."""
    if value is None or value.strip() == "":
        return None
    try:
        return Format.coerce(value)
    except ValueError:
        raise BadRequest(
            f"Unknown format {value!r}; use one of json, excel, html, pdf (or send an Accept header instead)"
        ) from None


_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9a-z-]+$")


def weighted_values(header: str) -> list[tuple[str, float, int]]:
    """(value, q, position) of each element of a weighted header list (``Accept``, ``Accept-Language``).

    Values are lower-cased and stripped of their other parameters; an element whose q is not a number
    in [0, 1] is skipped, and parameters after ``q`` are extensions (RFC 9110 §12.4.2).
    """
    values: list[tuple[str, float, int]] = []
    for position, part in enumerate(header.split(",")):
        pieces = part.split(";")
        value = pieces[0].strip().lower()
        if not value:
            continue
        q: float | None = 1.0
        for param in pieces[1:]:
            name, _, raw = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(raw.strip())
                except ValueError:
                    q = None
                if q is not None and not 0.0 <= q <= 1.0:
                    q = None
                break
        if q is not None:
            values.append((value, q, position))
    return values


def _parse_accept(header: str) -> list[tuple[str, str, float, int]]:
    """(type, subtype, q, position) for each well-formed media range; malformed ones are skipped."""
    ranges: list[tuple[str, str, float, int]] = []
    for media, q, position in weighted_values(header):
        if media == "*":  # some old clients send a bare "*"
            media = "*/*"
        type_, sep, subtype = media.partition("/")
        if not sep or not _TOKEN.match(type_) or not _TOKEN.match(subtype):
            continue
        if type_ == "*" and subtype != "*":
            continue
        ranges.append((type_, subtype, q, position))
    return ranges


def _match(offered: str, ranges: list[tuple[str, str, float, int]]) -> tuple[float, int] | None:
    """(q, position) of the most specific range matching `offered`, or None."""
    o_type, _, o_sub = offered.lower().partition("/")
    best: tuple[int, float, int] | None = None  # (specificity, q, position)
    for type_, subtype, q, position in ranges:
        if type_ == o_type and subtype == o_sub:
            spec = 2
        elif type_ == o_type and subtype == "*":
            spec = 1
        elif type_ == "*" and subtype == "*":
            spec = 0
        else:
            continue
        if best is None or spec > best[0]:
            best = (spec, q, position)
    return None if best is None else (best[1], best[2])


def negotiate(accept: str | None, offered: Sequence[str] = OFFERED) -> str:
    """The media type to answer with, from an ``Accept`` header; the first offered type is the default.

    Raises `NotAcceptable` (406) when the header accepts none of `offered`.
    """
    if not offered:
        raise ValueError("Nothing offered")
    if accept is None or not accept.strip():
        return offered[0]
    ranges = _parse_accept(accept)
    choice: tuple[float, int, int, str] | None = None  # (q, -position, -server_rank, media)
    for rank, media in enumerate(offered):
        hit = _match(media, ranges)
        if hit is None or hit[0] <= 0:
            continue
        key = (hit[0], -hit[1], -rank, media)
        if choice is None or key[:3] > choice[:3]:
            choice = key
    if choice is None:
        shown = accept.strip()
        if len(shown) > 200:
            shown = shown[:200] + "..."
        raise NotAcceptable(
            f"Cannot produce any of the requested media types (Accept: {shown}). "
            f"Available: {', '.join(offered)}.",
            details=[{"accept": shown, "available": list(offered)}],
        )
    return choice[3]


def negotiate_format(accept: str | None, offered: Sequence[Format] = tuple(Format)) -> Format:
    """`negotiate` returning a `Format`."""
    return Format.from_media_type(negotiate(accept, [f.media_type for f in offered]))


# --------------------------------------------------------------------------------------------------
# File names and Content-Disposition

_TRANSLIT = str.maketrans(
    {"æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "å": "a", "Å": "A", "ß": "ss", "đ": "d", "Đ": "D", "ŧ": "t"}
)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def ascii_fallback(text: str) -> str:
    """A plain-ASCII stand-in for a file name (``Årsregnskap Ærø.pdf`` -> ``Arsregnskap_Aero.pdf``)."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_TRANSLIT))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    safe = _UNSAFE.sub("_", stripped.encode("ascii", "ignore").decode("ascii")).strip("._")
    return safe or "download"


def _slug(text: str, max_len: int = 60) -> str:
    slug = _UNSAFE.sub("-", ascii_fallback(text).replace("_", "-")).strip("-.")
    slug = re.sub(r"[-.]{2,}", "-", slug)
    return slug[:max_len].strip("-.") or "x"


def report_filename(
    report: str,
    organization_number: str | None = None,
    *,
    period_from: date | None = None,
    period_to: date | None = None,
    report_date: date | None = None,
    extension: str | Format = "pdf",
) -> str:
    """``income-statement_999999999_2025-01-01_2025-12-31.xlsx``.

    Every part is reduced to ASCII letters, digits and ``-``, joined with ``_``: the result can never
    contain a path separator, ``..``, a leading dot or a control character, whatever it is given.
    """
    parts = [_slug(report.lower()) if report else "report"]
    if organization_number:
        parts.append(_slug(organization_number.replace(" ", ""), 20))
    if period_from is not None and period_to is not None:
        parts += [period_from.isoformat(), period_to.isoformat()]
    elif report_date is not None:
        parts.append(report_date.isoformat())
    elif period_to is not None:
        parts.append(period_to.isoformat())
    elif period_from is not None:
        parts.append(period_from.isoformat())
    ext = Format.coerce(extension).extension if isinstance(extension, Format) else extension
    ext = re.sub(r"[^a-z0-9]", "", ext.lower())[:8] or "bin"
    return f"{'_'.join(parts)}.{ext}"


_QUOTE_BREAKERS = re.compile(r'["\\;%]')


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """A ``Content-Disposition`` value per RFC 6266, with RFC 5987 ``filename*`` for non-ASCII names.

    Any path is dropped (only the last component is used) and quotes, backslashes and control
    characters never reach the header.
    """
    if disposition not in ("attachment", "inline"):
        raise ValueError("disposition must be 'attachment' or 'inline'")
    name = re.split(r"[\\/]", filename)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if not name:
        name = "download"
    if name.isascii() and not _QUOTE_BREAKERS.search(name):
        return f'{disposition}; filename="{name}"'  # plain ASCII, spaces included, fits a quoted-string
    fallback = ascii_fallback(name)
    encoded = quote(name, safe="!#$&+-.^_`|~")
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
