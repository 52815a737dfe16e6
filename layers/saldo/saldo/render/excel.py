"""Excel (.xlsx) output with openpyxl in write-only mode: rows stream to disk, memory stays flat.

Layout: a title block (report, company, organization number, period, generated, filters), the header
row (frozen, auto-filter, repeated on every printed page), then the rows. Amounts, integers and
percentages are real numbers with Excel number formats (``#,##0.00``: Excel shows them with the
reader's own separators, ``1 234 567,89`` in Norwegian Excel), dates are real dates formatted
``dd.mm.yyyy`` (nb) or ``yyyy-mm-dd`` (en). Group headers, subtotals and totals are bold; detail rows
carry outline levels so a reader can fold the hierarchy with Excel's grouping buttons. The print setup is
A4, fit to page width, with page header and footer (``Side &P av &N``).

openpyxl writes the workbook, the styles and everything around the rows; the data rows themselves are
serialised to the sheet's XML here (`_RowSerializer`), byte for byte what openpyxl would write for the
same cells, because creating and serialising a cell object per value was most of a large report's time.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

from saldo.render.document import Column, Document, Row, choose_orientation, leading_text_span, peek
from saldo.render.formats import (
    format_datetime,
    format_org_number,
    format_period,
    format_value,
    label,
    quantize,
    to_display_time,
)
from saldo.xmltext import NOT_XML, escape

AMOUNT_FORMAT = "#,##0.00"
AMOUNT_FORMAT_RED = "#,##0.00;[Red]-#,##0.00"
INTEGER_FORMAT = "#,##0"
PERCENT_FORMAT = "0.00%"
DATE_FORMATS = {"nb": "dd.mm.yyyy", "en": "yyyy-mm-dd"}

_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
MAX_CELL_TEXT = 32767
MAX_OUTLINE = 7
MAX_SHEET_ROWS = 1_048_576  # Excel's limit per sheet

GROUP_FILL = "E8EDF2"
HEADER_FILL = "D9E1EA"
BORDER_COLOR = "7F8C99"


def _clean_text(value: str) -> str:
    value = NOT_XML.sub("", value)
    return value if len(value) <= MAX_CELL_TEXT else value[: MAX_CELL_TEXT - 1] + "\u2026"


def _hf_escape(value: str) -> str:
    """Escape text for Excel's header/footer mini-language (``&`` starts a code)."""
    return value.replace("&", "&&")


def _plain(value: str) -> str:
    """Text XML can hold, for places that are not cells (document properties, sheet names, headers)."""
    return NOT_XML.sub("", value)


def _sheet_title(title: str) -> str:
    cleaned = _SHEET_BAD.sub(" ", _plain(title)).strip().strip("'")
    return (cleaned or "Rapport")[:31]


class _Styles:
    """StyleArrays built once per (row kind, column, level) and shared by every cell that uses them."""

    def __init__(self, ws: Any, columns: tuple[Column, ...], lang: str, negative_red: bool) -> None:
        from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

        self.ws = ws
        self.columns = columns
        self.lang = lang
        self._cache: dict[tuple[str, int, int], Any] = {}
        self._ids: dict[tuple[str, int, int], str] = {}
        self.Alignment = Alignment
        # Regular cells keep the workbook's default font (Calibri 11), so unstyled text matches.
        self.font_bold = Font(name="Calibri", size=11, bold=True)
        self.font_title = Font(name="Calibri", size=14, bold=True)
        self.font_meta = Font(name="Calibri", size=10, color="44546A")
        self.fill_group = PatternFill("solid", fgColor=GROUP_FILL)
        self.fill_header = PatternFill("solid", fgColor=HEADER_FILL)
        thin = Side(style="thin", color=BORDER_COLOR)
        double = Side(style="double", color=BORDER_COLOR)
        self.border_header = Border(bottom=Side(style="medium", color=BORDER_COLOR))
        self.border_subtotal = Border(top=thin)
        self.border_total = Border(top=thin, bottom=double)
        self.amount_format = AMOUNT_FORMAT_RED if negative_red else AMOUNT_FORMAT
        self.date_format = DATE_FORMATS.get(lang, DATE_FORMATS["nb"])

    def _number_format(self, col: Column) -> str | None:
        return {
            "amount": self.amount_format,
            "integer": INTEGER_FORMAT,
            "percent": PERCENT_FORMAT,
            "date": self.date_format,
        }.get(col.kind)

    def style(self, kind: str, col_index: int, indent: int = 0) -> Any:
        """The StyleArray for a cell of a row kind in a column (indent applies to the label column)."""
        key = (kind, col_index, indent)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        from openpyxl.cell import WriteOnlyCell

        col = self.columns[col_index]
        proto = WriteOnlyCell(self.ws)
        fmt = self._number_format(col)
        if fmt:
            proto.number_format = fmt
        bold = kind in ("group", "subtotal", "total", "header")
        if bold:
            proto.font = self.font_bold
        if kind == "header":
            proto.fill = self.fill_header
            proto.border = self.border_header
            proto.alignment = self.Alignment(
                horizontal="right" if col.numeric else "left", vertical="bottom", wrap_text=True
            )
        else:
            if kind == "group":
                proto.fill = self.fill_group
            elif kind == "subtotal" and col.numeric:
                proto.border = self.border_subtotal
            elif kind == "total" and col.numeric:
                proto.border = self.border_total
            if indent:
                proto.alignment = self.Alignment(indent=indent)
        self._cache[key] = proto._style
        return proto._style

    def style_attr(self, kind: str, col_index: int, indent: int = 0) -> str:
        """`` s="N"`` for a cell of this style, or ``""`` for the default style (as openpyxl writes it).

        The workbook registers a style when the first cell using it is written, exactly as
        ``cell.style_id`` does, so the style numbers come out the same.
        """
        key = (kind, col_index, indent)
        attr = self._ids.get(key)
        if attr is None:
            style = self.style(kind, col_index, indent)
            attr = (
                f' s="{self.ws.parent._cell_styles.add(style)}"' if style is not None and any(style) else ""
            )
            self._ids[key] = attr
        return attr

    def meta(self, title: bool = False) -> Any:
        key = ("title" if title else "meta", 0, 0)
        cached = self._cache.get(key)
        if cached is None:
            from openpyxl.cell import WriteOnlyCell

            proto = WriteOnlyCell(self.ws)
            proto.font = self.font_title if title else self.font_meta
            cached = self._cache[key] = proto._style
        return cached


def _excel_value(value: Any, col: Column, lang: str) -> Any:
    """A Python value Excel can store natively for this column kind."""
    if value is None:
        return None
    kind = col.kind
    if kind == "amount":
        return quantize(value, 2)
    if kind == "integer":
        return int(quantize(value, 0))
    if kind == "percent":
        return quantize(value, 6) / 100
    if kind == "date":
        if isinstance(value, str):
            value = date.fromisoformat(value[:10])
        if isinstance(value, datetime):
            return to_display_time(value).replace(tzinfo=None) if value.tzinfo else value
        return value
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return value
    return _clean_text(format_value(value, "text", lang))  # type: ignore[arg-type]


def _cell(ws: Any, value: Any, style: Any) -> Any:
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value)
    if cell.data_type in ("f", "e"):  # text like "=HYPERLINK(...)" or "#N/A" stays text
        cell.data_type = "s"
    cell._style = style
    return cell


class _SheetWriter:
    """Writes the title block, header and rows of one report, starting a new sheet at Excel's row limit."""

    def __init__(self, wb: Any, document: Document, negative_red: bool, max_outline: int) -> None:
        self.wb = wb
        self.document = document
        self.meta = document.meta
        self.lang = document.meta.language
        self.columns = tuple(document.columns)
        self.keys = document.keys
        self.negative_red = negative_red
        self.max_outline = max_outline
        self.sheets = 0
        self.ws: Any = None
        self.st: _Styles | None = None
        self.serializer: _RowSerializer | None = None
        self.row_idx = 0
        self.header_row = 0
        self.data_rows = 0

    # -- sheet set-up -------------------------------------------------------------------------------
    def new_sheet(self) -> None:
        from openpyxl.utils import get_column_letter
        from openpyxl.worksheet.properties import Outline, PageSetupProperties

        if self.ws is not None:
            self.finish_sheet()
        self.sheets += 1
        meta, lang = self.meta, self.lang
        title = _sheet_title(meta.title_text())
        if self.sheets > 1:
            title = f"{title[:25]} ({self.sheets})"
        ws = self.ws = self.wb.create_sheet(title)
        st = self.st = _Styles(ws, self.columns, lang, self.negative_red)
        _fast_rows(ws)

        # set before the first row is written
        for i, col in enumerate(self.columns, 1):
            ws.column_dimensions[get_column_letter(i)].width = _column_width(col)
        ws.sheet_properties.outlinePr = Outline(summaryBelow=True, summaryRight=True)
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        ws.sheet_format.outlineLevelRow = self.max_outline or None
        ws.sheet_view.showGridLines = False

        title_rows: list[list[Any]] = [[_cell(ws, _clean_text(meta.title_text()), st.meta(title=True))]]
        info = [meta.company_name]
        if meta.organization_number:
            info.append(f"{label('organization_number', lang)} {format_org_number(meta.organization_number)}")
        title_rows.append([_cell(ws, _clean_text("   ".join(info)), st.meta())])
        if self.period:
            title_rows.append([_cell(ws, f"{label(self.period_key, lang)}: {self.period}", st.meta())])
        title_rows.append([_cell(ws, self.generated, st.meta())])
        filters = meta.filter_items()
        if filters:
            shown = "; ".join(f"{k}: {v}" for k, v in filters)
            title_rows.append([_cell(ws, _clean_text(f"{label('filters', lang)}: {shown}"), st.meta())])
        self.header_row = len(title_rows) + 2
        freeze_col = 1 + min(leading_text_span(self.columns), 2) if len(self.columns) > 8 else 1
        ws.freeze_panes = f"{get_column_letter(freeze_col)}{self.header_row + 1}"
        _open_stream(ws)
        for r in title_rows:
            ws.append(r)
        ws.append([])
        ws.append([_cell(ws, col.title(lang), st.style("header", i)) for i, col in enumerate(self.columns)])
        self.row_idx = self.header_row
        self.data_rows = 0
        self.serializer = _RowSerializer(self)
        self._print_setup()

    @property
    def period(self) -> str:
        m = self.meta
        return format_period(m.period_from, m.period_to, m.report_date, self.lang)

    @property
    def period_key(self) -> str:
        m = self.meta
        return "report_date" if m.report_date and not (m.period_from or m.period_to) else "period"

    @property
    def generated(self) -> str:
        text = f"{label('generated', self.lang)}: {format_datetime(self.meta.generated_at, self.lang)}"
        if self.meta.currency:
            text += f"   {label('amounts_in', self.lang, currency=self.meta.currency)}"
        return text

    def _print_setup(self) -> None:
        ws, meta, lang = self.ws, self.meta, self.lang
        ws.print_title_rows = f"{self.header_row}:{self.header_row}"
        ws.page_setup.orientation = choose_orientation(self.document)
        ws.page_setup.paperSize = 9  # A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.page_margins.left = ws.page_margins.right = 0.5
        ws.page_margins.top = ws.page_margins.bottom = 0.75
        company = _plain(meta.company_name)
        if meta.organization_number:
            company += f"  {label('organization_number', lang)} {format_org_number(meta.organization_number)}"
        ws.oddHeader.left.text = _hf_escape(company)[:80]
        ws.oddHeader.left.size = 8
        ws.oddHeader.center.text = "&B" + _hf_escape(_plain(meta.title_text()))[:80] + "&B"
        ws.oddHeader.center.size = 9
        ws.oddHeader.right.text = _hf_escape(_plain(self.period))[:60]
        ws.oddHeader.right.size = 8
        ws.oddFooter.left.text = _hf_escape(self.generated)[:80]
        ws.oddFooter.left.size = 8
        ws.oddFooter.right.text = label("page_x_of_y", lang, page="&P", pages="&N")
        ws.oddFooter.right.size = 8

    def finish_sheet(self) -> None:
        """Set what the sheet's tail needs once its last row is known."""
        from openpyxl.utils import get_column_letter

        if self.data_rows:
            last_col = get_column_letter(len(self.columns))
            self.ws.auto_filter.ref = f"A{self.header_row}:{last_col}{self.row_idx}"

    # -- rows ---------------------------------------------------------------------------------------
    def write(self, rows: Iterator[Row]) -> int:
        from openpyxl.worksheet.dimensions import RowDimension

        self.new_sheet()
        count = 0
        for row in rows:
            if self.row_idx >= MAX_SHEET_ROWS:
                self.new_sheet()
            ws = self.ws
            self.row_idx += 1
            self.data_rows += 1
            count += 1
            idx = self.row_idx
            outline = min(max(row.level - 1, 0), MAX_OUTLINE)
            xml = self.serializer.row_xml(row, idx, outline)  # type: ignore[union-attr]
            if xml is not None:
                ws.append(_RowXml((idx, xml)))
                continue
            if outline:
                ws.row_dimensions[idx] = RowDimension(ws, index=idx, outlineLevel=outline)
            ws.append(_row_cells(ws, self.st, row, self.keys, self.columns, self.lang))
            if outline:
                del ws.row_dimensions[idx]  # written already; keeps memory flat for a million rows
        if count == 0:
            self.ws.append([_cell(self.ws, label("no_rows", self.lang), self.st.meta())])
        self.finish_sheet()
        return count


class _RowXml(tuple[int, bytes]):
    """A data row already serialised to ``<row>`` XML: (row number, bytes)."""


def _fast_rows(ws: Any) -> None:
    """Let the write-only sheet take ready-made cells and rows without openpyxl's work per cell.

    openpyxl assigns every appended value to a scratch cell and falls back on ValueError when the
    value is a cell; that exception (with its repr) costs more than writing the cell. A `_RowXml`
    passes through untouched to `SheetStream.write_row`.
    """
    from openpyxl.cell import Cell, WriteOnlyCell

    def values_to_row(values: Any, row_idx: int) -> Any:
        if type(values) is _RowXml:
            return values
        return _cells(values, row_idx)

    def _cells(values: Any, row_idx: int) -> Iterator[Any]:
        for col_idx, value in enumerate(values, 1):
            if value is None:
                continue
            cell = value if isinstance(value, Cell) else WriteOnlyCell(ws, value)
            cell.column = col_idx
            cell.row = row_idx
            yield cell

    ws._values_to_row = values_to_row


@functools.cache
def _stream_class() -> type:
    from lxml import etree
    from openpyxl.worksheet._writer import WorksheetWriter, create_temporary_file

    class SheetStream(WorksheetWriter):  # type: ignore[misc]
        """openpyxl's worksheet writer on a file Saldo can also write to: a `_RowXml` goes straight in.

        openpyxl serialises through lxml's incremental writer into a temporary file; flushing it
        and then writing the row's bytes to the same file puts the row where openpyxl would have.
        Everything else (sheet properties, views, columns, the title block, the tail) is openpyxl's.
        """

        def __init__(self, ws: Any) -> None:
            self.path = create_temporary_file()
            self.file = open(self.path, "wb")  # noqa: SIM115 - closed in close()
            super().__init__(ws, out=self.file)

        def write_row(self, xf: etree.xmlfile, row: Any, row_idx: int) -> None:
            if type(row) is _RowXml:
                if row[0] != row_idx:
                    raise RuntimeError(f"Row {row[0]} written as row {row_idx}")
                xf.flush()
                self.file.write(row[1])
            else:
                super().write_row(xf, row, row_idx)

        def close(self) -> None:
            super().close()
            if not self.file.closed:
                self.file.close()
            self.out = self.path  # the workbook copies the file from its path, then cleanup() removes it

    return SheetStream


def _open_stream(ws: Any) -> None:
    """Start the sheet's XML (what openpyxl does on the first append) with a `SheetStream`."""
    ws._writer = _stream_class()(ws)
    ws._writer.write_top()


def _number(value: Any) -> str:
    """A number as openpyxl writes it (its ``safe_string``: ``%.16g`` of the value as a float)."""
    return "%.16g" % value  # noqa: UP031 - exactly openpyxl's format; str.format would not convert Decimals


class _RowSerializer:
    """Data rows as ``<row>`` XML, byte for byte what openpyxl's cell writer makes of `_row_cells`.

    openpyxl spends most of a large workbook creating, typing and serialising a cell object per value;
    here a row is one string. Values it does not know (anything but text, whole numbers, Decimals and
    dates) make `row_xml` return None and the row goes through openpyxl's cells instead.
    """

    def __init__(self, writer: _SheetWriter) -> None:
        from openpyxl.utils import get_column_letter
        from openpyxl.utils.datetime import to_excel

        self.writer = writer
        self.columns = writer.columns
        self.keys = writer.keys
        self.lang = writer.lang
        self.letters = [get_column_letter(i) for i in range(1, len(self.columns) + 1)]
        wb = writer.wb
        self.epoch = wb.epoch
        self.dates = not wb.iso_dates
        self.to_excel = to_excel

    def row_xml(self, row: Row, idx: int, outline: int) -> bytes | None:
        st = self.writer.st
        assert st is not None
        lang = self.lang
        kind = row.kind
        indent = max(row.level - 1, 0) if kind != "total" else 0
        label_text = row.label if kind != "detail" else None
        values = row.values(self.keys)
        r = str(idx)
        parts = [f'<row r="{r}" outlineLevel="{outline}">' if outline else f'<row r="{r}">']
        for i, col in enumerate(self.columns):
            value = values[i]
            if i == 0 and label_text and value is None:
                v: Any = _clean_text(label_text)
                s = st.style_attr(kind, 0, indent)
            else:
                v = _excel_value(value, col, lang)
                s = st.style_attr(kind, i, indent if i == 0 else 0)
            ref = self.letters[i] + r
            t = type(v)
            if v is None:
                if s:  # a styled empty cell (shading, rules) is written; an unstyled one is not
                    parts.append(f'<c r="{ref}"{s} t="n"></c>')
            elif t is str:
                # Every text is a string cell, never a formula or an error value (see _cell).
                if not v:
                    parts.append(f'<c r="{ref}"{s} t="inlineStr"></c>')
                else:
                    space = ' xml:space="preserve"' if v != v.strip() else ""
                    parts.append(f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{escape(v)}</t></is></c>')
            elif t is Decimal or t is int:
                if t is Decimal and not v.is_finite():
                    return None
                parts.append(f'<c r="{ref}"{s} t="n"><v>{_number(v)}</v></c>')
            elif t is date or t is datetime:
                if not self.dates or (t is datetime and v.tzinfo is not None):
                    return None
                parts.append(f'<c r="{ref}"{s} t="n"><v>{_number(self.to_excel(v, self.epoch))}</v></c>')
            else:
                return None
        parts.append("</row>")
        return "".join(parts).encode("ascii", "xmlcharrefreplace")


def write_xlsx(
    document: Document, target: str | os.PathLike[str] | IO[bytes], *, negative_red: bool = False
) -> int:
    """Write the document as an .xlsx workbook to a path or a binary file object; returns the row count.

    Rows beyond Excel's 1,048,576-row limit continue on a further sheet with the same header.
    """
    from openpyxl import Workbook

    meta = document.meta
    wb = Workbook(write_only=True)
    # openpyxl refuses what XML cannot hold in document properties; a client name may carry it.
    wb.properties.title = _plain(meta.title_text())
    wb.properties.creator = "Saldo"
    wb.properties.subject = _plain(meta.company_name)
    # Peek a bounded number of rows to size the outline buttons; everything else streams.
    head, rows, _ = peek(document.iter_rows(), 2000)
    max_outline = min(MAX_OUTLINE, max((max(r.level - 1, 0) for r in head), default=0))
    count = _SheetWriter(wb, document, negative_red, max_outline).write(rows)
    wb.save(target)
    return count


def _column_width(col: Column) -> float:
    hint = col.width_hint
    return round(max(6.0, hint * 1.05 + 2), 1)


def _row_cells(
    ws: Any, st: _Styles, row: Row, keys: tuple[str, ...], columns: tuple[Column, ...], lang: str
) -> list[Any]:
    values = row.values(keys)
    kind = row.kind
    indent = max(row.level - 1, 0) if kind != "total" else 0
    out: list[Any] = []
    label_text = row.label if kind != "detail" else None
    for i, col in enumerate(columns):
        value = values[i]
        if i == 0 and label_text and value is None:
            value = label_text
            out.append(_cell(ws, _clean_text(value), st.style(kind, i, indent)))
            continue
        v = _excel_value(value, col, lang)
        if kind == "detail" and i != 0 and col.kind == "text" and not (isinstance(v, str) and v[:1] in "=#"):
            out.append(v)  # plain text: default style, cheapest path
            continue
        out.append(_cell(ws, v, st.style(kind, i, indent if i == 0 else 0)))
    return out
