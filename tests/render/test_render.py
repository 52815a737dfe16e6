from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from saldo.render import INLINE_LIMIT, Column, Document, Format, ReportMeta, Row, render, render_to
from tests.render import samples


@pytest.mark.parametrize(
    ("fmt", "content_type", "magic"),
    [
        ("pdf", "application/pdf", b"%PDF-"),
        (Format.XLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"PK\x03\x04"),
        ("text/html", "text/html; charset=utf-8", b"<!DOCTYPE html>"),
    ],
)
def test_render_small_documents_in_memory(fmt: str, content_type: str, magic: bytes) -> None:
    out = render(samples.balance_sheet(), fmt)
    assert out.content_type == content_type
    assert out.body is not None and out.path is None
    assert out.body.startswith(magic)
    assert out.size == len(out.body)
    assert out.filename.startswith("balance-sheet_923456783_2025-12-31.")
    headers = out.headers()
    assert headers["Content-Type"] == content_type
    assert headers["Content-Length"] == str(out.size)
    assert headers["Content-Disposition"] == f'attachment; filename="{out.filename}"'
    assert out.fits_inline()
    assert b"".join(out.iter_bytes(1000)) == out.body
    if out.is_binary:
        assert out.inline_size > out.size  # base64 in the Lambda response
    else:
        assert out.inline_size == out.size


def test_large_output_goes_to_a_temporary_file(tmp_path: Path) -> None:
    out = render(samples.balance_sheet(), "pdf", memory_limit=1000, tmp_dir=str(tmp_path))
    assert out.body is None and out.path is not None
    assert Path(out.path).parent == tmp_path
    assert os.path.getsize(out.path) == out.size
    assert out.read_bytes().startswith(b"%PDF-")
    target = io.BytesIO()
    out.save(target)
    assert target.getvalue() == out.read_bytes()
    assert out.fits_inline(limit=100) is False
    with out:
        pass
    assert out.path is None and not list(tmp_path.iterdir())


def test_inline_limit_accounts_for_base64() -> None:
    from saldo.render import RenderedDocument

    pdf = RenderedDocument(Format.PDF, "application/pdf", "x.pdf", size=4_000_000)
    html = RenderedDocument(Format.HTML, "text/html", "x.html", size=4_000_000)
    assert INLINE_LIMIT == 5_000_000
    assert pdf.inline_size == 5_333_336 and not pdf.fits_inline()
    assert html.fits_inline()


def test_render_to_a_stream_and_path(tmp_path: Path) -> None:
    doc = samples.income_statement()
    buf = io.BytesIO()
    pages = render_to(doc, "pdf", buf)
    assert pages == 2 and buf.getvalue().startswith(b"%PDF-")
    render_to(doc, "html", tmp_path / "is.html")
    assert (tmp_path / "is.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_json_is_not_a_document_format() -> None:
    with pytest.raises(ValueError, match="JSON"):
        render(samples.balance_sheet(), "application/json")


def test_failed_render_leaves_no_temporary_file(tmp_path: Path) -> None:
    def rows() -> Iterator[Row]:
        yield Row.detail({"a": "ok"})
        raise RuntimeError("query failed")

    doc = Document(ReportMeta(kind="x", title="x", company_name="y"), [Column("a", "A")], rows)
    for fmt in ("pdf", "xlsx", "html"):
        with pytest.raises(RuntimeError):
            render(doc, fmt, tmp_dir=str(tmp_path))
    assert not list(tmp_path.iterdir())


def test_the_same_document_renders_in_every_format() -> None:
    doc = samples.general_ledger(200)
    sizes = {fmt: render(doc, fmt).size for fmt in ("pdf", "xlsx", "html")}
    assert all(size > 1000 for size in sizes.values())
