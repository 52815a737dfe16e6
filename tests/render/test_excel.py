from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook

from saldo.render import Column, Document, ReportMeta, Row, render
from saldo.render.excel import write_xlsx
from tests.render import samples


def _load(doc: Document) -> Any:
    buf = io.BytesIO()
    write_xlsx(doc, buf)
    buf.seek(0)
    return load_workbook(buf)


def _dec(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def _header_row(ws: Any, first: str) -> int:
    for row in ws.iter_rows(min_col=1, max_col=1):
        if row[0].value == first:
            return row[0].row
    raise AssertionError(f"no header row starting with {first!r}")


def test_balance_sheet_workbook() -> None:
    wb = _load(samples.balance_sheet())
    ws = wb.active
    assert ws.title == "Balanse"
    assert ws["A1"].value == "Balanse"
    assert ws["A1"].font.bold
    assert ws["A2"].value.startswith("Ærlig Øl & Bakst AS")
    assert "Org.nr. 923 456 783" in ws["A2"].value
    assert ws["A3"].value == "Rapportdato: 31.12.2025"
    assert ws["A4"].value.startswith("Generert: 15.01.2026 09:30")
    assert "Inkluder kladd: Nei" in ws["A5"].value

    hdr = _header_row(ws, "Konto")
    assert [c.value for c in ws[hdr]] == ["Konto", "Kontonavn", "Saldo 31.12.2025"]
    assert ws.freeze_panes == f"A{hdr + 1}"
    assert ws.auto_filter.ref.startswith(f"A{hdr}:C")
    assert ws.print_title_rows == f"${hdr}:${hdr}"

    rows = {r[1].value: r for r in ws.iter_rows(min_row=hdr + 1) if r[1].value}
    bank = rows["Bankinnskudd DNB"]
    assert bank[0].value == "1920"
    assert _dec(bank[2].value) == Decimal("845120.33")
    assert bank[2].number_format == "#,##0.00"
    assert ws.row_dimensions[bank[0].row].outlineLevel == 2

    labels = {r[0].value: r for r in ws.iter_rows(min_row=hdr + 1) if r[0].value}
    sum_assets = labels["Sum 1 Eiendeler"]
    assert sum_assets[0].font.bold and sum_assets[2].font.bold
    assert _dec(sum_assets[2].value) == Decimal("2929130.47")
    assert sum_assets[2].border.top.style == "thin"
    total = labels["Sum eiendeler, egenkapital og gjeld"]
    assert _dec(total[2].value) == Decimal("0.00")
    assert total[2].border.bottom.style == "double"
    assert labels["1 Eiendeler"][0].font.bold
    assert labels["19 Bank og kontanter"][0].alignment.indent == 1

    # printing: header/footer, A4, fit to width
    assert "&P" in ws.oddFooter.right.text and "&N" in ws.oddFooter.right.text
    assert ws.oddFooter.right.text == "Side &P av &N"
    assert "Ærlig Øl && Bakst AS" in ws.oddHeader.left.text  # & escaped for Excel
    assert ws.page_setup.paperSize == 9
    assert ws.page_setup.fitToWidth == 1
    assert ws.sheet_properties.outlinePr.summaryBelow


def test_income_statement_workbook_has_all_months() -> None:
    totals: dict[str, Decimal] = {}
    wb = _load(samples.income_statement(totals=totals))
    ws = wb.active
    hdr = _header_row(ws, "Konto")
    header = [c.value for c in ws[hdr]]
    assert header[2:] == [
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
    ]
    assert ws.freeze_panes == f"C{hdr + 1}"  # account columns stay visible when scrolling months
    assert ws.page_setup.orientation == "landscape"
    result = next(r for r in ws.iter_rows(min_row=hdr + 1) if r[0].value == "Årsresultat")
    assert _dec(result[14].value) == totals["total"].quantize(Decimal("0.01"))
    for m in range(1, 13):
        assert _dec(result[1 + m].value) == totals[f"m{m}"]
    item = samples.income_items()[0]
    row = next(r for r in ws.iter_rows(min_row=hdr + 1) if r[0].value == item["account_code"])
    assert [_dec(c.value) for c in row[2:14]] == [
        item["period_debit_movements"][str(m)] for m in range(1, 13)
    ]


def test_dates_are_real_dates_in_both_languages() -> None:
    for lang, fmt in (("nb", "dd.mm.yyyy"), ("en", "yyyy-mm-dd")):
        wb = _load(samples.general_ledger(30, lang=lang))
        ws = wb.active
        hdr = _header_row(ws, "Dato" if lang == "nb" else "Date")
        first = next(r for r in ws.iter_rows(min_row=hdr + 1) if isinstance(r[0].value, datetime))
        assert first[0].value == datetime(2025, 1, 1)
        assert first[0].number_format == fmt


def test_text_is_never_a_formula_and_control_characters_go() -> None:
    meta = ReportMeta(kind="x", title="Test", company_name="A & B")
    cols = [
        Column("d", "Dato", "date"),
        Column("t", "Tekst"),
        Column("p", "Sats", "percent"),
        Column("n", "Antall", "integer"),
    ]
    rows = [
        Row.detail({"d": date(2025, 2, 28), "t": '=HYPERLINK("http://x","y")', "p": Decimal("25"), "n": 3}),
        Row.detail({"t": "#N/A"}),
        Row.detail({"t": "bell\x07 char"}),
    ]
    ws = _load(Document(meta, cols, rows)).active
    hdr = _header_row(ws, "Dato")
    first, second, third = (ws.cell(hdr + i, 2) for i in (1, 2, 3))
    assert first.value == '=HYPERLINK("http://x","y")' and first.data_type == "s"
    assert second.value == "#N/A" and second.data_type == "s"
    assert third.value == "bell char"
    assert ws.cell(hdr + 1, 3).value == pytest.approx(0.25)
    assert ws.cell(hdr + 1, 3).number_format == "0.00%"
    assert ws.cell(hdr + 1, 4).value == 3


def test_rows_beyond_the_sheet_limit_continue_on_a_new_sheet(monkeypatch: pytest.MonkeyPatch) -> None:
    from saldo.render import excel

    monkeypatch.setattr(excel, "MAX_SHEET_ROWS", 40)
    wb = _load(samples.general_ledger(100))
    assert wb.sheetnames == ["Hovedbok", "Hovedbok (2)", "Hovedbok (3)", "Hovedbok (4)"]
    dates = 0
    for ws in wb.worksheets:
        hdr = _header_row(ws, "Dato")
        assert ws.freeze_panes == f"A{hdr + 1}"
        assert ws.max_row <= 40
        dates += sum(1 for r in ws.iter_rows(min_row=hdr + 1) if isinstance(r[0].value, datetime))
    assert dates == 100


def test_empty_document_says_so() -> None:
    ws = _load(Document(ReportMeta(kind="x", title="Tom", company_name="Y"), [Column("a", "A")], [])).active
    values = [c.value for row in ws.iter_rows() for c in row if c.value]
    assert "Ingen rader i utvalget." in values


def test_large_general_ledger_streams_to_workbook(tmp_path: Any) -> None:
    n = 10_000
    totals: dict[str, Decimal] = {}
    out = render(samples.general_ledger(n, totals=totals), "xlsx", tmp_dir=str(tmp_path))
    assert out.content_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert out.filename == "general-ledger_923456783_2025-01-01_2025-12-31.xlsx"
    path = tmp_path / "gl.xlsx"
    out.save(path)
    wb = load_workbook(path, read_only=True)
    ws = wb.active
    details = 0
    debit = Decimal(0)
    last: tuple[Any, ...] = ()
    for row in ws.iter_rows(values_only=True):
        if row and isinstance(row[0], datetime):
            details += 1
            if row[3] is not None:
                debit += _dec(row[3])
        if row and row[0] is not None:
            last = row
    wb.close()
    assert details == n
    assert debit == totals["debit"]
    assert last[0] == "Sum totalt"
    assert _dec(last[3]) == totals["debit"] and _dec(last[4]) == totals["credit"]


def _sheet_xml(doc: Document, negative_red: bool = False) -> bytes:
    buf = io.BytesIO()
    write_xlsx(doc, buf, negative_red=negative_red)
    with zipfile.ZipFile(buf) as z:
        return z.read("xl/worksheets/sheet1.xml")


def _varied() -> Document:
    """Every kind of value and row, and text XML must escape."""
    meta = ReportMeta(
        kind="x", title="Blandet & <test>", company_name="A & B", generated_at=samples.GENERATED
    )
    cols = [
        Column("d", "Dato", "date"),
        Column("t", "Tekst"),
        Column("p", "Sats", "percent"),
        Column("n", "Antall", "integer"),
        Column("a", "Beløp", "amount"),
        Column("u", "Merknad"),
    ]
    rows = [
        Row.detail(
            {"d": date(2025, 2, 28), "t": "=SUM(A1:A2)", "p": Decimal("25"), "n": 3, "a": Decimal("-0.004")}
        ),
        Row.detail({"t": "#N/A", "u": " leading", "a": Decimal("12345678901234567.891")}),
        Row.detail({"t": "bell\x07 char", "u": "trailing ", "n": Decimal("2.5")}),
        Row.detail({"t": "a & b < c > d \"q\" 'a'", "u": "tab\there\nnew\rreturn", "d": "2025-03-04"}),
        Row.detail({"t": "æøå ÆØÅ ŋŧđčšž 😀 \u2028 \x7f \x85", "u": "", "d": datetime(2025, 3, 4, 12, 30)}),
        Row.detail({"t": 12345, "u": Decimal("1.5"), "d": datetime(2025, 3, 4, 12, 30, tzinfo=UTC)}),
        Row.detail({"t": True, "u": 1.25, "a": 5, "d": time(12, 30)}),  # a time: left to openpyxl
        Row.detail({"t": "x" * 40_000}),
        Row.group("Gruppe & co", 1),
        Row.detail({"t": "inne"}, level=2),
        Row.subtotal("Sum gruppe", {"a": Decimal("10")}, 1),
        Row.detail(["2025-01-01", "seq", Decimal("1"), 2, Decimal("3.333")], level=9),
        Row.total("Totalt", {"a": Decimal("10"), "p": Decimal("-12.5")}),
    ]
    return Document(meta, cols, rows)


@pytest.mark.parametrize(
    ("make", "negative_red"),
    [
        (samples.balance_sheet, True),
        (samples.income_statement, False),
        (lambda: samples.general_ledger(300, lang="en"), False),
        (_varied, False),
    ],
)
def test_rows_written_as_xml_are_what_openpyxl_writes(
    monkeypatch: pytest.MonkeyPatch, make: Callable[[], Document], negative_red: bool
) -> None:
    """Data rows are serialised by Saldo, not through openpyxl's cells: the sheet must not change."""
    from saldo.render import excel

    serialise = excel._RowSerializer.row_xml
    direct_rows = 0

    def counting(self: Any, row: Row, idx: int, outline: int) -> bytes | None:
        nonlocal direct_rows
        xml = serialise(self, row, idx, outline)
        direct_rows += xml is not None
        return xml

    monkeypatch.setattr(excel._RowSerializer, "row_xml", counting)
    direct = _sheet_xml(make(), negative_red)
    assert direct_rows > 0
    monkeypatch.setattr(excel._RowSerializer, "row_xml", lambda self, row, idx, outline: None)
    assert _sheet_xml(make(), negative_red) == direct


def test_text_that_xml_cannot_hold_is_dropped() -> None:
    meta = ReportMeta(kind="x", title="Test", company_name="Y")
    doc = Document(meta, [Column("t", "Tekst")], [Row.detail({"t": "a\ud800b\ufffec\uffffd"})])
    ws = _load(doc).active
    assert ws.cell(_header_row(ws, "Tekst") + 1, 1).value == "abcd"


@pytest.mark.parametrize(("name", "clean"), [("Bell\u0007AS", "BellAS"), ("A\ufffeB", "AB")])
def test_company_names_xml_cannot_hold_leave_properties_and_sheet_names_clean(name: str, clean: str) -> None:
    # The company name goes into the document properties, the title block and the page header.
    meta = ReportMeta(kind="x", title=f"Saldobalanse {name}", company_name=name)
    wb = _load(Document(meta, [Column("t", "Tekst")], [Row.detail({"t": "x"})]))
    assert wb.properties.subject == clean
    assert wb.properties.title == f"Saldobalanse {clean}"
    ws = wb.active
    assert ws.title == f"Saldobalanse {clean}"
    assert clean in ws.oddHeader.left.text
    assert all(clean in str(c.value) for c in (ws.cell(1, 1), ws.cell(2, 1)))
