"""Document rendering shared by every report: one neutral `Document`, three renderers, one entry point.

    doc = Document(meta=ReportMeta(...), columns=[Column(...), ...], rows=grouped_rows(...))
    fmt = negotiate_format(request.headers.get("accept"))      # 406 NotAcceptable if nothing fits
    if fmt is Format.JSON: ...                                # the report's own JSON shape
    out = render(doc, fmt)                                    # RenderedDocument
    if out.fits_inline(): return body=out.body, headers=out.headers()
    else: upload out.path (or out.iter_bytes()) to S3 and answer 303 to a presigned URL

Pure domain code: no AWS; fpdf2 and openpyxl are imported only when a PDF or workbook is rendered.
See docs/RENDERING.md.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from saldo.render.document import (
    Column,
    Document,
    GroupKey,
    ReportMeta,
    Row,
    Text,
    account_group_path,
    grouped_rows,
)
from saldo.render.formats import (
    Language,
    format_amount,
    format_date,
    format_datetime,
    format_value,
    label,
    parse_accept_language,
)
from saldo.render.negotiation import (
    HTML,
    JSON,
    OFFERED,
    PDF,
    XLSX,
    Format,
    content_disposition,
    format_from_query,
    negotiate,
    negotiate_format,
    report_filename,
)

__all__ = [
    "HTML",
    "INLINE_LIMIT",
    "JSON",
    "OFFERED",
    "PDF",
    "XLSX",
    "Column",
    "Document",
    "Format",
    "GroupKey",
    "Language",
    "RenderedDocument",
    "ReportMeta",
    "Row",
    "Text",
    "account_group_path",
    "content_disposition",
    "default_filename",
    "format_amount",
    "format_date",
    "format_datetime",
    "format_from_query",
    "format_value",
    "grouped_rows",
    "label",
    "negotiate",
    "negotiate_format",
    "parse_accept_language",
    "render",
    "render_to",
    "report_filename",
]

# Responses larger than this go to S3 behind a presigned redirect. Lambda's response limit is 6 MB
# *after* base64, which binary bodies (PDF, XLSX) need, so compare `inline_size`, not `size`.
INLINE_LIMIT = 5_000_000


@dataclass(slots=True)
class RenderedDocument:
    """A rendered report: in memory (`body`) when small, else in a temporary file (`path`)."""

    format: Format
    content_type: str
    filename: str
    size: int
    body: bytes | None = None
    path: str | None = None
    pages: int | None = None

    @property
    def is_binary(self) -> bool:
        return self.format in (Format.PDF, Format.XLSX)

    @property
    def inline_size(self) -> int:
        """Bytes the body takes in a Lambda proxy response (base64 for binary formats)."""
        return 4 * math.ceil(self.size / 3) if self.is_binary else self.size

    def fits_inline(self, limit: int = INLINE_LIMIT) -> bool:
        return self.inline_size <= limit

    def content_disposition(self, disposition: str = "attachment") -> str:
        return content_disposition(self.filename, disposition)

    def headers(self, disposition: str = "attachment") -> dict[str, str]:
        return {
            "Content-Type": self.content_type,
            "Content-Disposition": self.content_disposition(disposition),
            "Content-Length": str(self.size),
        }

    def open(self) -> IO[bytes]:
        """A binary file object over the content."""
        if self.body is not None:
            import io

            return io.BytesIO(self.body)
        if self.path is None:
            raise ValueError("Rendered document has no content")
        return open(self.path, "rb")  # the caller owns the handle

    def iter_bytes(self, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """The content in chunks (for multipart uploads or streaming responses)."""
        if self.body is not None:
            for i in range(0, len(self.body), chunk_size):
                yield self.body[i : i + chunk_size]
            return
        with self.open() as fh:
            while chunk := fh.read(chunk_size):
                yield chunk

    def read_bytes(self) -> bytes:
        if self.body is not None:
            return self.body
        with self.open() as fh:
            return fh.read()

    def save(self, target: str | os.PathLike[str] | IO[bytes]) -> None:
        """Copy the content to a path or a writable binary file object."""
        if isinstance(target, str | os.PathLike):
            with open(target, "wb") as fh:
                for chunk in self.iter_bytes():
                    fh.write(chunk)
        else:
            for chunk in self.iter_bytes():
                target.write(chunk)

    def cleanup(self) -> None:
        """Remove the temporary file, if any."""
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            self.path = None

    def __enter__(self) -> RenderedDocument:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def default_filename(document: Document, fmt: Format | str) -> str:
    """``<report>_<orgnr>_<period>.<ext>`` from the document's metadata."""
    meta = document.meta
    return report_filename(
        meta.kind,
        meta.organization_number,
        period_from=meta.period_from,
        period_to=meta.period_to,
        report_date=meta.report_date,
        extension=Format.coerce(fmt),
    )


def _document_format(fmt: Format | str) -> Format:
    f = Format.coerce(fmt)
    if f is Format.JSON:
        raise ValueError(
            "JSON is produced by each report in its own shape; render() covers xlsx, html and pdf"
        )
    return f


def render_to(
    document: Document, fmt: Format | str, target: str | os.PathLike[str] | IO[bytes]
) -> int | None:
    """Render straight into a path or writable binary file; returns the PDF page count (else None)."""
    f = _document_format(fmt)
    if f is Format.PDF:
        from saldo.render.pdf import write_pdf

        return write_pdf(document, target)
    if f is Format.XLSX:
        from saldo.render.excel import write_xlsx

        write_xlsx(document, target)
        return None
    from saldo.render.html import iter_html

    if isinstance(target, str | os.PathLike):
        with open(target, "w", encoding="utf-8", newline="\n") as fh:
            for chunk in iter_html(document):
                fh.write(chunk)
    else:
        for chunk in iter_html(document):
            target.write(chunk.encode("utf-8"))
    return None


def render(
    document: Document,
    fmt: Format | str,
    *,
    filename: str | None = None,
    memory_limit: int = INLINE_LIMIT,
    tmp_dir: str | None = None,
) -> RenderedDocument:
    """Render the document as xlsx, html or pdf.

    Output up to `memory_limit` bytes comes back in `body`; larger output stays in a temporary file
    (`path`, under `tmp_dir` or the system temp folder) that the caller uploads and then `cleanup()`s.
    """
    f = _document_format(fmt)
    name = filename or default_filename(document, f)
    fd, path = tempfile.mkstemp(prefix="saldo-", suffix=f".{f.extension}", dir=tmp_dir)
    os.close(fd)
    try:
        pages = render_to(document, f, path)
        size = os.path.getsize(path)
        out = RenderedDocument(f, f.content_type, name, size, pages=pages)
        if size <= memory_limit:
            with open(path, "rb") as fh:
                out.body = fh.read()
            os.unlink(path)
        else:
            out.path = path
        return out
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        raise
