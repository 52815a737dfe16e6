from __future__ import annotations

import io
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from pypdf import PdfReader

from saldo.render import Column, Document, ReportMeta, Row, Text, grouped_rows, render
from saldo.render.formats import GROUP_NB, format_amount
from saldo.render.pdf import render_pdf, rows_per_page
from tests.render import samples

S = GROUP_NB


def _reader(data: bytes) -> PdfReader:
    assert data.startswith(b"%PDF-")
    return PdfReader(io.BytesIO(data))


def _text(reader: PdfReader, index: int) -> str:
    return reader.pages[index].extract_text() or ""


def _outline(reader: PdfReader) -> list[tuple[int, str, int]]:
    """(depth, title, 0-based page) for every bookmark."""
    out: list[tuple[int, str, int]] = []

    def walk(items: list[Any], depth: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                out.append((depth, item.title, reader.get_destination_page_number(item)))

    walk(reader.outline, 0)
    return out


def _fonts(reader: PdfReader) -> set[str]:
    """Base font names of the embedded fonts (each must carry its TrueType program)."""
    names = set()
    for page in reader.pages[:2]:
        fonts = page["/Resources"]["/Font"]
        for ref in fonts.values():
            font = ref.get_object()
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            assert "/FontFile2" in descriptor
            names.add(str(font["/BaseFont"]))
    return names


def test_balance_sheet_pdf() -> None:
    reader = _reader(render_pdf(samples.balance_sheet()))
    assert len(reader.pages) == 1
    page = reader.pages[0]
    assert float(page.mediabox.width) < float(page.mediabox.height)  # portrait
    text = _text(reader, 0)
    for expected in (
        "Balanse",
        "Ærlig Øl & Bakst AS",
        "Org.nr. 923 456 783",
        "Rapportdato: 31.12.2025",
        "Beløp i NOK",
        "Inkluder kladd: Nei",
        "Kontonavn",
        "Råvarer (mel, malt, humle)",
        "Annen påløpt kostnad, Måløy-filialen",
        "Sum 19 Bank og kontanter",
        f"957{S}420,33",
        f"1{S}234{S}567,89",
        f"-1{S}357{S}800,12",
        "Sum eiendeler, egenkapital og gjeld",
        "Generert 15.01.2026 09:30",
        "Side 1 av 1",
    ):
        assert expected in text, expected
    fonts = _fonts(reader)  # embedded subsets, e.g. /MPDFAA+DejaVuSansBook
    assert any(re.fullmatch(r"/[A-Z]{6}\+DejaVuSansBook", name) for name in fonts), fonts
    assert any(re.fullmatch(r"/[A-Z]{6}\+DejaVuSansBold", name) for name in fonts), fonts
    assert reader.metadata.title == "Balanse"
    assert reader.metadata.author == "Ærlig Øl & Bakst AS"
    # short report: bookmarks yes, table of contents no
    outline = _outline(reader)
    assert (0, "1 Eiendeler", 0) in outline
    assert (1, "19 Bank og kontanter", 0) in outline
    assert "Innhold" not in text


def test_balance_sheet_pdf_in_english() -> None:
    text = _text(_reader(render_pdf(samples.balance_sheet("en"))), 0)
    assert "Balance sheet" in text
    assert "Report date: 2025-12-31" in text
    assert "Page 1 of 1" in text
    assert "1,234,567.89" in text
    assert "Total assets, equity and liabilities" in text


def test_income_statement_pdf_is_landscape_with_twelve_months() -> None:
    totals: dict[str, Decimal] = {}
    reader = _reader(render_pdf(samples.income_statement(totals=totals)))
    n = len(reader.pages)
    page = reader.pages[0]
    assert float(page.mediabox.width) > float(page.mediabox.height)
    first = _text(reader, 0)
    for month in (
        "Jan",
        "Feb",
        "Mar",
        "Apr",
        "Mai",
        "Jun",
        "Jul",
        "Aug",
        "Sep",
        "Okt",
        "Nov",
        "Des",
        "Sum år",
    ):
        assert month in first
    assert "Periode: 01.01.2025–31.12.2025" in first
    assert "Salgsinntekt brød og bakst" in first
    everything = "\n".join(_text(reader, i) for i in range(n))
    assert "Årsresultat" in everything
    assert format_amount(totals["total"]) in everything
    assert format_amount(totals["m12"]) in everything
    for i in range(n):
        assert f"Side {i + 1} av {n}" in _text(reader, i)
    # every page after the first repeats the header row and the running header
    for i in range(1, n):
        text = _text(reader, i)
        assert "Kontonavn" in text and "Des" in text
        assert "Org.nr. 923 456 783" in text


@pytest.fixture(scope="module")
def big_ledger() -> tuple[PdfReader, dict[str, Decimal], int]:
    totals: dict[str, Decimal] = {}
    out = render(samples.general_ledger(20_000, totals=totals), "pdf")
    assert out.body is not None and out.path is None  # a few MB: stays in memory
    return _reader(out.body), totals, out.pages or 0


def test_large_general_ledger_pages_bookmarks_and_contents(big_ledger: Any) -> None:
    reader, totals, pages = big_ledger
    n = len(reader.pages)
    assert n == pages
    # about 50 lines a page: 20,000 lines and 12 accounts need roughly 400 pages plus the contents
    per_page = rows_per_page(samples.general_ledger(1))
    assert 45 <= per_page <= 60
    assert 20_000 / per_page < n < 20_000 / per_page * 1.1
    outline = _outline(reader)
    assert [title for _, title, _ in outline] == [f"{code} {name}" for code, name in samples.GL_ACCOUNTS]
    assert outline[0][2] == 1  # first account starts on page 2, after the contents
    pages_of = [page for _, _, page in outline]
    assert pages_of == sorted(pages_of)

    toc = _text(reader, 0)
    assert "Hovedbok" in toc and "Innhold" in toc
    for _, title, page in outline:
        line = next(line for line in toc.splitlines() if title in line)
        assert line.rstrip().endswith(str(page + 1)), (line, page)
    assert f"Side 1 av {n}" in toc

    second = _text(reader, 1)
    assert f"Side 2 av {n}" in second
    assert "Dato" in second and "Debet" in second and "Kredit" in second  # table header on the body pages
    assert "1500 Kundefordringer" in second
    assert "Faktura Mølleriet Åsgårdstrand" in second or "Salg kasse Bærum" in second
    middle = _text(reader, n // 2)
    assert f"Side {n // 2 + 1} av {n}" in middle
    assert "(forts.)" in middle  # a page that starts inside an account says which one

    last = _text(reader, n - 1)
    assert f"Side {n} av {n}" in last
    assert "Sum totalt" in last
    assert format_amount(totals["debit"]) in last
    assert format_amount(totals["credit"]) in last


def _many_accounts(accounts: int, lines: int) -> Document:
    items = [
        {"code": f"{1000 + i}", "name": f"Konto {1000 + i} æøå", "amount": Decimal(j + 1)}
        for i in range(accounts)
        for j in range(lines)
    ]

    def rows() -> Iterator[Row]:
        return grouped_rows(
            items,
            path=lambda r: [(r["code"][0], "Klasse"), (r["code"], r["name"])],
            cells=lambda r: {"text": f"Linje for {r['code']}", "amount": r["amount"]},
            sum_keys=["amount"],
        )

    meta = ReportMeta(kind="trial-balance", title=Text("Saldobalanse"), company_name="Åse & Ødegård ANS")
    cols = [Column("text", "Tekst", "text", 40), Column("amount", "Beløp", "amount")]
    return Document(meta, cols, rows)


def test_contents_over_several_pages_keep_page_numbers_right() -> None:
    reader = _reader(render_pdf(_many_accounts(150, 2)))
    n = len(reader.pages)
    texts = [_text(reader, i) for i in range(n)]
    outline = _outline(reader)
    assert len(outline) == 151  # one class and 150 accounts
    toc_pages = outline[0][2]
    assert toc_pages >= 3  # the contents needed more than the one page reserved for them
    for i in range(n):
        assert f"Side {i + 1} av {n}" in texts[i]
    toc_lines = "\n".join(texts[:toc_pages]).splitlines()
    for _, title, page in outline:
        line = next(line for line in toc_lines if line.startswith(title) or f" {title}" in line)
        assert re.search(rf"\b{page + 1}$", line.rstrip()), (title, page, line)
        assert title in texts[page]


def test_short_report_with_toc_forced_and_empty_report() -> None:
    doc = samples.balance_sheet()
    doc.toc = True
    reader = _reader(render_pdf(doc))
    assert "Innhold" in _text(reader, 0)
    assert f"Side 2 av {len(reader.pages)}" in _text(reader, 1)

    empty = Document(ReportMeta(kind="x", title="Tom rapport", company_name="Y AS"), [Column("a", "A")], [])
    text = _text(_reader(render_pdf(empty)), 0)
    assert "Ingen rader i utvalget." in text and "Side 1 av 1" in text


def test_control_characters_and_missing_glyphs_do_not_break_the_pdf() -> None:
    meta = ReportMeta(kind="x", title="Tab\there", company_name="Čáslav Đ ŋ ŧ 株式会社")
    cols = [Column("t", "Tekst\n2"), Column("a", "Beløp", "amount")]
    rows = [Row.group("Grp\tA"), Row.detail({"t": "linje\none\x00", "a": Decimal("1")})]
    text = _text(_reader(render_pdf(Document(meta, cols, rows))), 0)
    assert "Tab here" in text and "Čáslav Đ ŋ ŧ" in text
    assert "linje one" in text and "Grp A" in text


def test_long_values_are_cut_or_shrunk_never_lost() -> None:
    meta = ReportMeta(kind="x", title="Smal", company_name="Z AS")
    cols = [Column("t", "Tekst", "text", 10), Column("a", "Beløp", "amount", 6)]
    rows = [
        Row.detail(
            {"t": "Et svært langt kontonavn som ikke får plass i kolonnen", "a": Decimal("-123456789.99")}
        )
    ]
    text = _text(_reader(render_pdf(Document(meta, cols, rows, orientation="portrait"))), 0)
    assert f"-123{S}456{S}789,99" in text  # the amount is shrunk, not cut
    assert "Et svært langt kontonavn" in text


def _awkward() -> Document:
    """Shrunk and cut values, control characters, missing glyphs, parentheses and backslashes."""
    meta = ReportMeta(
        kind="x",
        title="Tab\there",
        company_name="Čáslav Đ ŋ ŧ 株式会社 (a) \\ b",
        generated_at=samples.GENERATED,
    )
    cols = [
        Column("t", "Tekst\n2"),
        Column("a", "Beløp", "amount"),
        Column("n", "Antall", "integer", 6),
        Column("p", "Sats", "percent"),
        Column("d", "Dato", "date"),
        Column("u", "Et veldig langt kolonnenavn", "text", 8),
    ]
    rows = [
        Row.group("Grp\tA"),
        Row.detail({"t": "linje\none\x00 (parentes) \\ skråstrek", "a": Decimal("1"), "u": "kort"}, level=2),
        Row.detail(
            {
                "t": "Et svært langt kontonavn som ikke får plass i kolonnen i det hele tatt",
                "a": Decimal("-123456789123.99"),
                "n": 123456789,
                "p": Decimal("25"),
                "d": "2025-01-02",
                "u": "ŋŧđčšž 😀 株式",
            },
            level=2,
        ),
        Row.subtotal("Sum Grp A med et langt navn som må kuttes et sted langt ute", {"a": Decimal("5")}),
        Row.group("Verdier", 2),
        Row.detail({"t": "x"}, level=3),
        Row.total("Totalt", {"a": Decimal("-123456789123.99"), "p": Decimal("1")}),
    ]
    return Document(meta, cols, rows, orientation="portrait")


def test_table_cells_are_drawn_exactly_as_fpdf2_draws_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """Table text is written without fpdf2's cell() where that is plain; the PDF must not change."""
    from fpdf import FPDF

    from saldo.render import pdf as pdf_module

    def contents() -> Document:
        doc = _many_accounts(60, 3)
        doc.meta.generated_at = samples.GENERATED
        return doc

    makes = [
        samples.balance_sheet,
        lambda: samples.balance_sheet("en"),
        samples.income_statement,
        lambda: samples.general_ledger(400),
        contents,
        _awkward,
    ]
    fpdf_cells = 0
    cell = FPDF.cell

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal fpdf_cells
        fpdf_cells += 1
        return cell(self, *args, **kwargs)

    monkeypatch.setattr(FPDF, "cell", counting)
    direct = [render_pdf(make()) for make in makes]
    direct_cells = fpdf_cells
    monkeypatch.setattr(pdf_module._Ink, "plain", lambda self: False)
    assert [render_pdf(make()) for make in makes] == direct
    assert direct_cells < (fpdf_cells - direct_cells) / 3  # most cells did not need fpdf2's cell()
