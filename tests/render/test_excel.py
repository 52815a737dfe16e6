from __future__ import annotations

import io
from datetime import date, datetime
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
