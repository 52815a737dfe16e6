"""PDF output with fpdf2, drawn with a plain `cell()` loop (``pdf.table()`` is about 8x slower); table
text goes through `_Ink`, which writes what `cell()` would write without its set-up for every call.

* A4, portrait or landscape (chosen from the column widths: the 12-month income statement is landscape).
* Page 1 opens with a title block; every other page has a running header (company, organization number,
  report title, period). Every page has a footer with the generation time and ``Side X av Y``.
* The table header repeats on every page; when a page breaks inside a group, the group is repeated as
  ``19 Bankinnskudd (forts.)`` so no page starts without context.
* Group headers are shaded, subtotals bold with a rule, the grand total bold with a double rule;
  labels are indented by hierarchy level.
* Group rows with a bookmark become PDF outline entries (level 1 and 2). Long reports with bookmarks get
  a table of contents on page 1 (``insert_toc_placeholder``) with page numbers and links.
* DejaVu Sans (regular and bold) is embedded (subset), so æ ø å and other Nordic letters always render.

Page numbers are stamped on every page once the page count is final (after the table of contents has
taken as many pages as it needs), so ``Side X av Y`` stays right even when the contents run over
several pages. fpdf2 keeps every page in memory until output: see docs/RENDERING.md for measured
memory per page and the large-output rule.
"""

from __future__ import annotations

import functools
import math
import os
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from saldo.render.document import Column, Document, Row, choose_orientation, leading_text_span, peek
from saldo.render.formats import (
    Language,
    format_datetime,
    format_org_number,
    format_period,
    format_value,
    label,
)

FONT_DIR = Path(__file__).resolve().parent.parent / "fonts"
FAMILY = "DejaVuSans"
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}

MM_PER_PT = 25.4 / 72
MARGIN_X = 12.0
MARGIN_TOP = 10.0
MARGIN_BOTTOM = 9.0
RUNNING_HEADER_H = 11.0
FOOTER_H = 7.0
CELL_PAD = 1.2
INDENT_STEP = 3.0
CHAR_EM = 0.6  # width of one character of a text column's width hint, in em
NUM_EM = 0.55  # the same for numeric columns (digits 0.636 em, separators much narrower)
MAX_FONT = 8.0
MIN_FONT = 6.5
MIN_FIT_FONT = 4.0  # numbers shrink down to this size rather than be cut

INK = (33, 37, 41)
MUTED = (96, 106, 118)
RULE = (150, 160, 170)
HEADER_FILL = (217, 225, 234)
GROUP_FILL = {1: (225, 232, 240), 2: (238, 242, 246)}
ZEBRA_FILL = (247, 248, 250)

TOC_AUTO_PAGES = 3  # reports longer than this many pages with bookmarks get a table of contents


class _Layout:
    """Geometry and fonts for one document."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.meta = document.meta
        self.lang: Language = document.meta.language
        self.columns: tuple[Column, ...] = tuple(document.columns)
        self.keys = document.keys
        self.orientation = choose_orientation(document)
        self.page_w, self.page_h = (297.0, 210.0) if self.orientation == "landscape" else (210.0, 297.0)
        self.x0 = MARGIN_X
        self.usable_w = self.page_w - 2 * MARGIN_X
        self.bottom_y = self.page_h - MARGIN_BOTTOM - FOOTER_H

        hints = [c.width_hint * (NUM_EM if c.numeric else CHAR_EM) for c in self.columns]
        # Largest body font (<= MAX_FONT) at which the width hints fit the page.
        fit = (self.usable_w - 2 * CELL_PAD * len(hints)) / (sum(hints) * MM_PER_PT)
        self.font_size = max(MIN_FONT, min(MAX_FONT, math.floor(fit * 4) / 4))
        em = self.font_size * MM_PER_PT
        self.natural = [h * em + 2 * CELL_PAD for h in hints]
        self.row_h = round(em * 1.75, 2)
        self.header_h = round(em * 2.3, 2)
        self.numeric = [c.numeric for c in self.columns]
        self.align = ["R" if c.numeric else "L" for c in self.columns]
        self.span = leading_text_span(self.columns)
        self.set_widths(self.natural)

    def fit_headers(self, pdf: Any) -> None:
        """Widen columns whose header text (bold) is wider than their hint, then share out the page."""
        pdf.set_font(FAMILY, "B", self.font_size)
        natural = [
            max(w, pdf.get_string_width(col.title(self.lang)) + 2 * CELL_PAD + 0.5)
            for w, col in zip(self.natural, self.columns, strict=True)
        ]
        self.set_widths(natural)

    def set_widths(self, natural: list[float]) -> None:
        """Spare width goes to the text columns; a table too wide for the page is scaled down."""
        extra = self.usable_w - sum(natural)
        text_idx = [i for i, c in enumerate(self.columns) if c.kind == "text"]
        if extra > 0 and text_idx:
            text_total = sum(natural[i] for i in text_idx)
            widths = [w + (extra * w / text_total if i in text_idx else 0.0) for i, w in enumerate(natural)]
        else:
            scale = min(1.0, self.usable_w / sum(natural))
            widths = [w * scale for w in natural]
        em = self.font_size * MM_PER_PT
        self.widths = widths
        self.table_w = sum(widths)
        self.label_w = sum(widths[: self.span])
        # Characters that surely fit without measuring: digits are 0.636 em, the widest letters ~1 em.
        self.safe_chars = [
            int((w - 2 * CELL_PAD) / (em * (0.64 if c.numeric else 1.0)))
            for w, c in zip(widths, self.columns, strict=True)
        ]
        self.first_numeric_x = self.x0 + self.label_w


@functools.cache
def _pdf_class() -> type:
    from fpdf import FPDF

    class ReportPDF(FPDF):  # type: ignore[misc]
        layout: _Layout
        ink: _Ink
        in_body: bool = False
        parked: dict[int, bytes]

        def header(self) -> None:
            L = self.layout
            if self.page == 1 and not self.in_toc_rendering:
                _title_block(self, L)
            else:
                _running_header(self, L)
            if self.in_body and not self.in_toc_rendering:
                _table_header(self, L)

        def footer(self) -> None:
            L = self.layout
            y = L.page_h - MARGIN_BOTTOM - FOOTER_H + 2.0
            self.set_draw_color(*RULE)
            self.set_line_width(0.2)
            self.line(L.x0, y, L.page_w - MARGIN_X, y)
            self.set_xy(L.x0, y + 0.8)
            self.set_font(FAMILY, "", 7)
            self.set_text_color(*MUTED)
            text = f"{label('generated', L.lang)} {format_datetime(L.meta.generated_at, L.lang)}"
            self.cell(L.usable_w / 2, 4, text, align="L")

    return ReportPDF


class _Ink:
    """One-line text cells written the way fpdf2's `cell()` writes them, without its set-up per call.

    For every call fpdf2's `cell()` copies the whole graphics state into a text fragment, parses the
    text for markup and bidirectional runs and measures it twice: some 30 µs a cell, most of the time a
    long report takes. A table cell here is one line of plain text in an embedded TrueType font, so
    `cell` writes the same content-stream operators itself (the tests compare whole PDFs byte for byte
    with and without it) and `width` is `get_string_width`. Whenever anything is not plain (the font is
    not yet selected on the page, automatic page breaks, text shaping, fallback fonts, other text modes,
    empty text), fpdf2 does the work.
    """

    def __init__(self, pdf: Any) -> None:
        from fpdf.enums import CharVPos, TextMode

        self.pdf = pdf
        self.line = CharVPos.LINE
        self.fill = TextMode.FILL
        self.glyph_font: Any = None
        self.glyphs: dict[str, str] = {}
        self.colors: dict[Any, str] = {}

    def plain(self) -> bool:
        """Whether the current state draws and measures text the plain way `cell`/`width` assume."""
        pdf = self.pdf
        font = pdf.current_font
        return (
            font is not None
            and font.type == "TTF"
            and not font.is_symbol
            and not pdf.text_shaping
            and not pdf._fallback_font_ids
            and not pdf.str_alias_nb_pages
            and pdf.font_stretching == 100
            and pdf.char_spacing == 0
        )

    def width(self, text: str) -> float:
        """`pdf.get_string_width(text)`."""
        pdf = self.pdf
        if not self.plain():
            return float(pdf.get_string_width(text))
        return self._measure(pdf.current_font, pdf.font_size_pt, text)

    def _measure(self, font: Any, size: float, text: str) -> float:
        """The width as fpdf2's TrueType font computes it (which also records the largest size used)."""
        if size > font.biggest_size_pt:
            font.biggest_size_pt = size
        return sum(map(font.cw.__getitem__, map(ord, text))) * size * 0.001 / self.pdf.k

    def cell(self, w: float, h: float, text: str, align: str = "L") -> None:
        """`pdf.cell(w, h, text, align=align)`: no border, fill or link; the position moves right."""
        pdf = self.pdf
        if not (
            text
            and w
            and pdf.page
            and pdf.current_font_is_set_on_page
            and not pdf.auto_page_break
            and not pdf._record_text_quad_points
            and pdf.text_mode == self.fill
            and pdf.char_vpos == self.line
            and not pdf.underline
            and not pdf.strikethrough
            and self.plain()
        ):
            pdf.cell(w, h, text, align=align)
            return
        font = pdf.current_font
        if font is not self.glyph_font:
            self.glyph_font, self.glyphs = font, {}
        glyphs = self.glyphs
        mapped = []
        for char in text:
            code = glyphs.get(char)
            if code is None:
                # fpdf2 picks each character into the font subset and leaves out those it lacks
                picked = font.subset.pick(ord(char))
                code = glyphs[char] = chr(picked) if picked else ""
            mapped.append(code)
        size = pdf.font_size_pt
        k = pdf.k
        x, y = pdf.x, pdf.y
        width = self._measure(font, size, text)
        dx = w - pdf.c_margin - width if align == "R" else pdf.c_margin
        op = f"BT {(x + dx) * k:.2f} {(pdf.h - y - 0.5 * h - 0.3 * (size / k)) * k:.2f} Td"
        tj = f"({font.escape_text(''.join(mapped))}) Tj"
        color = pdf.text_color
        if color != pdf.fill_color:  # fpdf2 sets the text colour inside the text object and wraps it
            rg = self.colors.get(color)
            if rg is None:
                rg = self.colors[color] = color.serialize().lower()
            pdf._out(f"q {op} {rg} {tj} ET Q")
        else:
            pdf._out(f"{op} {tj} ET")
        pdf._lasth = h
        pdf.x = x + w


@functools.cache
def _producer_class() -> type:
    """fpdf2's output producer, restoring parked page contents just before each page is written."""
    from fpdf.output import OutputProducer, PDFPage

    class ParkedPagesProducer(OutputProducer):  # type: ignore[misc]
        def _add_pdf_obj(self, pdf_obj: Any, trace_label: str | None = None) -> int:
            if isinstance(pdf_obj, PDFPage):
                packed = self.fpdf.parked.pop(id(pdf_obj), None)
                if packed is not None:
                    pdf_obj.contents = bytearray(zlib.decompress(packed)) + pdf_obj.contents
            return super()._add_pdf_obj(pdf_obj, trace_label)

    return ParkedPagesProducer


def _park(pdf: Any, number: int) -> None:
    """Keep a finished page's content stream compressed until output (about 8x less memory).

    Anything drawn on the page later (page numbers) is appended to a fresh buffer and joined back
    in `ParkedPagesProducer`.
    """
    page = pdf.pages[number]
    if page.contents:
        pdf.parked[id(page)] = zlib.compress(bytes(page.contents), 1)
        page.contents = bytearray()


def _new_pdf(L: _Layout) -> Any:
    cls = _pdf_class()
    pdf = cls(orientation="L" if L.orientation == "landscape" else "P", unit="mm", format="A4")
    pdf.layout = L
    pdf.ink = _Ink(pdf)
    pdf.parked = {}
    for style, name in FONT_FILES.items():
        pdf.add_font(FAMILY, style, str(FONT_DIR / name))
    L.fit_headers(pdf)
    pdf.alias_nb_pages(None)  # page numbers are stamped at the end (see module docstring)
    pdf.set_margins(MARGIN_X, MARGIN_TOP, MARGIN_X)
    pdf.set_auto_page_break(False)
    pdf.c_margin = CELL_PAD
    meta = L.meta
    pdf.set_title(meta.title_text())
    pdf.set_author(meta.company_name)
    pdf.set_subject(meta.title_text())
    pdf.set_creator("Saldo")
    pdf.set_lang("nb-NO" if L.lang == "nb" else "en")
    pdf.set_creation_date(meta.generated_at)
    pdf.set_display_mode("fullwidth", "continuous")
    return pdf


# --------------------------------------------------------------------------------------------------
# Page furniture


def _org_line(L: _Layout) -> str:
    meta = L.meta
    if meta.organization_number:
        return f"{label('organization_number', L.lang)} {format_org_number(meta.organization_number)}"
    return ""


def _period_line(L: _Layout) -> str:
    meta = L.meta
    period = format_period(meta.period_from, meta.period_to, meta.report_date, L.lang)
    if not period:
        return ""
    key = "report_date" if meta.report_date and not (meta.period_from or meta.period_to) else "period"
    return f"{label(key, L.lang)}: {period}"


def _fit(pdf: Any, text: str, width: float) -> str:
    """Cut `text` with an ellipsis so it fits `width` at the current font."""
    if _CONTROL.search(text):
        text = _printable(text)
    measure = pdf.ink.width
    if measure(text) <= width + 0.01:
        return text
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if measure(text[:mid] + "\u2026") <= width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + "\u2026"


def _title_block(pdf: Any, L: _Layout) -> None:
    meta = L.meta
    w = L.usable_w
    pdf.set_xy(L.x0, MARGIN_TOP)
    pdf.set_text_color(*INK)
    pdf.set_font(FAMILY, "B", 15)
    pdf.cell(w, 8, _fit(pdf, meta.title_text(), w), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "B", 10)
    company = _fit(pdf, meta.company_name, w * 0.7)
    cw = pdf.get_string_width(company) + 2 * CELL_PAD
    pdf.cell(cw, 5.5, company)
    org = _org_line(L)
    if org:
        pdf.set_font(FAMILY, "", 10)
        pdf.cell(w - cw, 5.5, org)
    pdf.ln(5.5)
    pdf.set_font(FAMILY, "", 8.5)
    pdf.set_text_color(*MUTED)
    parts = [p for p in (_period_line(L),) if p]
    if meta.currency:
        parts.append(label("amounts_in", L.lang, currency=meta.currency))
    pdf.cell(w, 4.5, "   \u00b7   ".join(parts), new_x="LMARGIN", new_y="NEXT")
    filters = meta.filter_items()
    if filters:
        text = f"{label('filters', L.lang)}: " + "; ".join(f"{k}: {v}" for k, v in filters)
        pdf.set_font(FAMILY, "", 7.5)
        pdf.multi_cell(w, 3.8, _printable(text[:600]), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1.5)
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.3)
    pdf.line(L.x0, pdf.y, L.page_w - MARGIN_X, pdf.y)
    pdf.ln(3)


def _running_header(pdf: Any, L: _Layout) -> None:
    meta = L.meta
    w = L.usable_w
    y = MARGIN_TOP
    title = meta.title_text()
    pdf.set_text_color(*INK)
    pdf.set_font(FAMILY, "B", 8.5)
    tw = min(pdf.get_string_width(title) + 2 * CELL_PAD, w * 0.45)
    pdf.set_xy(L.page_w - MARGIN_X - tw, y)
    pdf.cell(tw, 4.5, _fit(pdf, title, tw - 2 * CELL_PAD), align="R")
    left = meta.company_name
    org = _org_line(L)
    pdf.set_xy(L.x0, y)
    pdf.cell(w - tw, 4.5, _fit(pdf, left + (f"  \u00b7  {org}" if org else ""), w - tw - 2 * CELL_PAD))
    pdf.set_font(FAMILY, "", 7.5)
    pdf.set_text_color(*MUTED)
    pdf.set_xy(L.x0, y + 4.5)
    pdf.cell(w / 2, 4, _period_line(L))
    if meta.currency:
        pdf.cell(w / 2, 4, label("amounts_in", L.lang, currency=meta.currency), align="R")
    line_y = y + RUNNING_HEADER_H - 1.5
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.3)
    pdf.line(L.x0, line_y, L.page_w - MARGIN_X, line_y)
    pdf.set_xy(L.x0, MARGIN_TOP + RUNNING_HEADER_H)


def _table_header(pdf: Any, L: _Layout) -> None:
    y = pdf.y
    pdf.set_fill_color(*HEADER_FILL)
    pdf.rect(L.x0, y, L.table_w, L.header_h, style="F")
    pdf.set_font(FAMILY, "B", L.font_size)
    pdf.set_text_color(*INK)
    pdf.set_xy(L.x0, y)
    for col, w, align in zip(L.columns, L.widths, L.align, strict=True):
        title = _printable(col.title(L.lang))
        avail = w - 2 * CELL_PAD
        tw = pdf.ink.width(title)
        if tw > avail:  # shrink a long header a little, then cut it
            size = max(MIN_FIT_FONT + 1, L.font_size * avail / tw)
            pdf.set_font_size(size)
            pdf.ink.cell(w, L.header_h, _fit(pdf, title, avail), align)
            pdf.set_font_size(L.font_size)
        else:
            pdf.ink.cell(w, L.header_h, title, align)
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.35)
    pdf.line(L.x0, y + L.header_h, L.x0 + L.table_w, y + L.header_h)
    pdf.set_xy(L.x0, y + L.header_h + 0.6)


# --------------------------------------------------------------------------------------------------
# Rows


def _draw_cells(pdf: Any, L: _Layout, values: tuple[Any, ...], h: float, start: int) -> None:
    """Draw the cells of columns `start`.. at the current position."""
    lang = L.lang
    ink = pdf.ink
    x = L.x0 + sum(L.widths[:start])
    size = L.font_size
    for i in range(start, len(L.columns)):
        w = L.widths[i]
        value = values[i]
        if value is None or value == "":
            x += w
            continue
        col = L.columns[i]
        text = format_value(value, col.kind, lang)
        if _CONTROL.search(text):
            text = _printable(text)
        pdf.x = x
        if len(text) > L.safe_chars[i]:
            avail = w - 2 * CELL_PAD
            tw = ink.width(text)
            if tw > avail:
                if L.numeric[i]:  # never cut a number: shrink it
                    pdf.set_font_size(max(MIN_FIT_FONT, size * avail / tw * 0.98))
                    ink.cell(w, h, text, "R")
                    pdf.set_font_size(size)
                    x += w
                    continue
                text = _fit(pdf, text, avail)
        ink.cell(w, h, text, L.align[i])
        x += w


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _printable(text: str) -> str:
    """Tabs, line breaks and other control characters become spaces (a cell is one line)."""
    return _CONTROL.sub(" ", text)


def _draw_label(pdf: Any, L: _Layout, text: str, h: float, indent: float, width: float) -> None:
    text = _printable(text)
    pdf.x = L.x0 + indent
    avail = width - indent - 2 * CELL_PAD
    pdf.ink.cell(width - indent, h, _fit(pdf, text, avail) if len(text) > 20 else text)


def _draw_row(pdf: Any, L: _Layout, row: Row, zebra: bool) -> None:
    y = pdf.y
    h = L.row_h
    kind = row.kind
    values = row.values(L.keys)
    indent = max(row.level - 1, 0) * INDENT_STEP
    if kind == "detail":
        if zebra:
            pdf.set_fill_color(*ZEBRA_FILL)
            pdf.rect(L.x0, y, L.table_w, h, style="F")
        if indent and L.columns[0].kind == "text" and values[0] not in (None, ""):
            # indent the first column as far as its text still fits
            text = format_value(values[0], "text", L.lang)
            room = L.widths[0] - 2 * CELL_PAD - pdf.ink.width(text)
            indent = min(indent, max(room - 0.3, 0.0))
            pdf.x = L.x0 + indent
            pdf.ink.cell(L.widths[0] - indent, h, _fit(pdf, text, L.widths[0] - indent - 2 * CELL_PAD))
            _draw_cells(pdf, L, values, h, 1)
        else:
            _draw_cells(pdf, L, values, h, 0)
        pdf.set_xy(L.x0, y + h)
        return

    pdf.set_font(FAMILY, "B", L.font_size)
    text = row.label or ""
    if kind == "group":
        h = round(h * 1.15, 2)
        fill = GROUP_FILL.get(row.level)
        if fill:
            pdf.set_fill_color(*fill)
            pdf.rect(L.x0, y, L.table_w, h, style="F")
        if any(v not in (None, "") for v in values):
            _draw_label(pdf, L, text, h, indent, L.label_w)
            _draw_cells(pdf, L, values, h, L.span)
        else:
            _draw_label(pdf, L, text, h, indent, L.table_w)
    else:
        has_values_in_span = any(values[i] not in (None, "") for i in range(L.span))
        if text and not has_values_in_span:
            _draw_label(pdf, L, text, h, 0 if kind == "total" else indent, L.label_w)
            _draw_cells(pdf, L, values, h, L.span)
        else:
            _draw_cells(pdf, L, values, h, 0)
        pdf.set_draw_color(*RULE)
        pdf.set_line_width(0.25)
        pdf.line(L.first_numeric_x, y, L.x0 + L.table_w, y)
        if kind == "total":
            pdf.line(L.first_numeric_x, y + h, L.x0 + L.table_w, y + h)
            pdf.line(L.first_numeric_x, y + h + 0.6, L.x0 + L.table_w, y + h + 0.6)
            h += 1.2
    pdf.set_font(FAMILY, "", L.font_size)
    pdf.set_xy(L.x0, y + h)


def _row_height(L: _Layout, row: Row) -> float:
    if row.kind == "group":
        return L.row_h * 1.15 + L.row_h  # keep a group header with its first row
    if row.kind == "total":
        return L.row_h + 1.2
    return L.row_h


def _draw_body(pdf: Any, L: _Layout, rows: Iterator[Row]) -> int:
    """Draw every row, breaking pages by hand; returns the number of rows drawn."""
    open_groups: list[tuple[int, str]] = []
    count = 0
    zebra = False
    pdf.set_font(FAMILY, "", L.font_size)
    pdf.set_text_color(*INK)
    top = True  # nothing drawn yet below the table header on this page
    for row in rows:
        gap = L.row_h * 0.5 if row.kind in ("group", "total") and row.level <= 1 and not top else 0.0
        if pdf.y + gap + _row_height(L, row) > L.bottom_y:
            pdf.add_page()
            _park(pdf, pdf.page - 1)
            pdf.set_font(FAMILY, "", L.font_size)
            pdf.set_text_color(*INK)
            gap = 0.0
            ctx = open_groups
            if row.kind == "group":
                ctx = [g for g in open_groups if g[0] < row.level]
            if ctx:
                _draw_continued(pdf, L, ctx[-1])
        if gap:  # a little air before each top-level group and the grand total
            pdf.set_y(pdf.y + gap)
        top = False
        if row.bookmark:
            pdf.start_section(row.bookmark, level=max(row.level - 1, 0), strict=False)
        zebra = (not zebra) if row.kind == "detail" else False
        _draw_row(pdf, L, row, zebra)
        if row.kind == "group":
            while open_groups and open_groups[-1][0] >= row.level:
                open_groups.pop()
            open_groups.append((row.level, row.label or ""))
        elif row.kind == "subtotal":
            while open_groups and open_groups[-1][0] >= row.level:
                open_groups.pop()
        elif row.kind == "total":
            open_groups.clear()
        count += 1
    if count == 0:
        pdf.set_text_color(*MUTED)
        pdf.cell(L.table_w, L.row_h * 2, label("no_rows", L.lang))
    return count


def _draw_continued(pdf: Any, L: _Layout, group: tuple[int, str]) -> None:
    level, text = group
    y = pdf.y
    pdf.set_text_color(*MUTED)
    indent = max(level - 1, 0) * INDENT_STEP
    _draw_label(pdf, L, f"{text} ({label('continued', L.lang)})", L.row_h, indent, L.table_w)
    pdf.set_text_color(*INK)
    pdf.set_xy(L.x0, y + L.row_h)


# --------------------------------------------------------------------------------------------------
# Table of contents and page numbers


def _stamp_page_numbers(pdf: Any, L: _Layout, number_of: Any, total: int) -> None:
    """Write ``Side X av Y`` on every page, once the final numbering is known."""
    current = pdf.page
    y = L.page_h - MARGIN_BOTTOM - FOOTER_H + 2.8
    width = L.usable_w / 2
    for physical in range(1, len(pdf.pages) + 1):
        pdf.page = physical
        pdf.current_font_is_set_on_page = False
        pdf.set_fill_color(255, 255, 254)  # force explicit colour operators on this page
        pdf.set_fill_color(255, 255, 255)
        pdf.set_font(FAMILY, "", 7)
        pdf.set_text_color(*MUTED)
        pdf.set_xy(L.page_w - MARGIN_X - width, y)
        text = label("page_x_of_y", L.lang, page=number_of(physical), pages=total)
        pdf.cell(width, 4, text, align="R")
    pdf.page = current
    pdf.current_font_is_set_on_page = False


def _toc_renderer(L: _Layout) -> Any:
    def render(pdf: Any, outline: list[Any]) -> None:
        start = pdf.page  # the placeholder's page
        pages_before = len(pdf.pages)
        entry_h = 5.0
        first_y = pdf.y + 10.0
        body_top = MARGIN_TOP + RUNNING_HEADER_H + 2.0
        per_first = max(int((L.bottom_y - first_y) // entry_h), 0)
        per_page = int((L.bottom_y - body_top) // entry_h)
        extra = 0 if len(outline) <= per_first else math.ceil((len(outline) - per_first) / per_page)
        total = pages_before + extra

        def final_number(physical: int) -> int:
            if physical <= start:
                return physical
            if physical > pages_before:  # pages added for the contents, moved after `start`
                return start + (physical - pages_before)
            return physical + extra

        pdf.current_font_is_set_on_page = False
        pdf.set_text_color(*INK)
        pdf.set_font(FAMILY, "B", 11)
        pdf.set_xy(L.x0, pdf.y + 1)
        pdf.cell(L.usable_w, 7, label("contents", L.lang), new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(first_y)
        num_w = 16.0
        for section in outline:
            if pdf.y + entry_h > L.bottom_y:
                pdf.add_page()
                pdf.set_y(body_top)
                pdf.current_font_is_set_on_page = False
            level = section.level
            pdf.set_font(FAMILY, "B" if level == 0 else "", 8.5 if level == 0 else 8)
            pdf.set_text_color(*INK)
            indent = level * 5.0
            number = str(final_number(section.page_number))
            top = getattr(section.dest, "top", None)  # points from the bottom of the page
            y_link = max((L.page_h * pdf.k - top) / pdf.k - 2 * L.row_h, 0.0) if top else 0.0
            link = pdf.add_link(page=section.page_number, y=y_link)
            name_w = L.usable_w - indent - num_w
            name = _fit(pdf, section.name, name_w - 2 * CELL_PAD - 4)
            y = pdf.y
            pdf.set_x(L.x0 + indent)
            pdf.cell(name_w, entry_h, name, link=link)
            # dot leader between the name and the page number
            dots_from = L.x0 + indent + pdf.get_string_width(name) + 2 * CELL_PAD + 1
            dots_to = L.page_w - MARGIN_X - num_w + 1
            if dots_to > dots_from:
                pdf.set_draw_color(*RULE)
                pdf.set_line_width(0.2)
                pdf.set_dash_pattern(dash=0.3, gap=1.2)
                pdf.line(dots_from, y + entry_h - 1.4, dots_to, y + entry_h - 1.4)
                pdf.set_dash_pattern()
            pdf.set_xy(L.page_w - MARGIN_X - num_w, y)
            pdf.cell(num_w, entry_h, number, align="R", link=link)
            pdf.set_xy(L.x0, y + entry_h)
        _stamp_page_numbers(pdf, L, final_number, total)

    return render


# --------------------------------------------------------------------------------------------------
# Entry points


def _rows_per_page(L: _Layout) -> int:
    return max(int((L.bottom_y - MARGIN_TOP - RUNNING_HEADER_H - L.header_h - 0.6) / L.row_h), 1)


def rows_per_page(document: Document) -> int:
    """Detail lines on a full PDF page of this document, for estimating page counts before rendering."""
    return _rows_per_page(_Layout(document))


def _build(document: Document) -> tuple[Any, int]:
    L = _Layout(document)
    pdf = _new_pdf(L)
    per_page = _rows_per_page(L)
    rows = document.iter_rows()
    toc = document.toc
    if toc is None:
        head, rows, complete = peek(rows, per_page * TOC_AUTO_PAGES)
        toc = (not complete) and any(r.bookmark for r in head)
    pdf.add_page()
    pdf.in_body = True  # from here on every new page starts with the table header
    if toc:
        pdf.insert_toc_placeholder(_toc_renderer(L), pages=1, allow_extra_pages=True)
    else:
        _table_header(pdf, L)
    count = _draw_body(pdf, L, rows)
    if not toc:
        n = len(pdf.pages)
        _stamp_page_numbers(pdf, L, lambda p: p, n)
    return pdf, count


def _output(pdf: Any) -> bytearray:
    return pdf.output(output_producer_class=_producer_class())


def write_pdf(document: Document, target: str | os.PathLike[str] | IO[bytes]) -> int:
    """Write the document as PDF to a path or binary file object; returns the page count."""
    pdf, _ = _build(document)
    buffer = _output(pdf)
    pages = len(pdf.pages)
    if isinstance(target, str | os.PathLike):
        with open(target, "wb") as fh:
            fh.write(buffer)
    else:
        target.write(buffer)
    return pages


def render_pdf(document: Document) -> bytes:
    """The document as PDF bytes."""
    pdf, _ = _build(document)
    return bytes(_output(pdf))
