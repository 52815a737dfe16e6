"""One self-contained HTML5 document: inline CSS, no scripts, no external resources.

The table scrolls sideways on small screens, numbers are right-aligned with tabular figures, the
hierarchy shows as shaded group headers, indented labels and bold subtotals. Print CSS sets A4 page
margins, repeats the table header on every printed page and adds ``Side X av Y`` where the browser
supports page margin boxes. Every value is HTML-escaped. `iter_html` yields the document in chunks so
a large report streams; `render_html` joins them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import escape as _html_escape
from typing import Any

from saldo.render.document import Document, Row, choose_orientation, leading_text_span
from saldo.render.formats import (
    format_datetime,
    format_org_number,
    format_period,
    format_value,
    label,
)

CHUNK_ROWS = 500
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def escape(text: str, quote: bool = True) -> str:
    """HTML-escape, dropping control characters HTML does not allow."""
    return _html_escape(_CONTROL.sub("", text), quote)


_CSS = """
*,*::before,*::after{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;padding:24px;font-family:"DejaVu Sans","Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
font-size:13px;line-height:1.4;color:#212529;background:#fff}
header.report{margin:0 0 16px;padding-bottom:10px;border-bottom:2px solid #96a0aa}
header.report h1{font-size:22px;margin:0 0 4px;font-weight:700}
header.report .company{font-size:15px;font-weight:700;margin:0}
header.report .company .org{font-weight:400;margin-left:.8em}
header.report dl{display:flex;flex-wrap:wrap;gap:2px 20px;margin:6px 0 0;color:#5f6a76;font-size:12px}
header.report dl div{display:flex;gap:6px}
header.report dt{font-weight:700}
header.report dd{margin:0}
.table-wrap{overflow-x:auto;-webkit-overflow-scrolling:touch;border:1px solid #d9e1ea;border-radius:4px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
caption{caption-side:top;text-align:left;padding:0 0 6px;color:#5f6a76;font-size:12px}
th,td{padding:4px 8px;vertical-align:top;text-align:left}
td{white-space:nowrap}
td.t{white-space:normal}
thead th{position:sticky;top:0;background:#d9e1ea;border-bottom:2px solid #96a0aa;font-weight:700;
white-space:nowrap;z-index:1}
th.n,td.n{text-align:right}
tbody tr.d:nth-child(even){background:#f7f8fa}
tr.g td{font-weight:700;padding-top:8px}
tr.g.l1 td{background:#e1e8f0;font-size:14px}
tr.g.l2 td{background:#eef2f6}
tr.s td{font-weight:700}
tr.s td.n{border-top:1px solid #96a0aa}
tr.tt td{font-weight:700;border-top:1px solid #96a0aa}
tr.tt td.n{border-bottom:3px double #96a0aa}
td.i1{padding-left:24px}td.i2{padding-left:40px}td.i3{padding-left:56px}td.i4{padding-left:72px}
p.empty{color:#5f6a76;padding:12px}
footer.report{margin-top:12px;color:#5f6a76;font-size:11px}
@media (max-width:640px){body{padding:12px;font-size:12px}header.report h1{font-size:18px}
th,td{padding:3px 6px}}
@media print{
body{padding:0;font-size:9pt;color:#000}
.table-wrap{overflow:visible;border:0}
thead{display:table-header-group}
tfoot{display:table-footer-group}
thead th{position:static}
tr{break-inside:avoid;page-break-inside:avoid}
tr.g{break-after:avoid;page-break-after:avoid}
td.t{white-space:normal}
tbody tr.d:nth-child(even){background:#f7f8fa;-webkit-print-color-adjust:exact;print-color-adjust:exact}
tr.g td,thead th{-webkit-print-color-adjust:exact;print-color-adjust:exact}
a{color:inherit;text-decoration:none}
}
"""


def _css_string(text: str) -> str:
    """A quoted CSS string; everything but letters, digits and spaces is hex-escaped (no </style>)."""
    out = []
    for ch in text:
        if ch.isalnum() or ch == " ":
            out.append(ch)
        else:
            out.append(f"\\{ord(ch):x} ")
    return '"' + "".join(out) + '"'


def _page_css(document: Document) -> str:
    lang = document.lang
    orientation = choose_orientation(document)
    # "Side " counter(page) " av " counter(pages), from the label template "Side {page} av {pages}"
    template = label("page_x_of_y", lang)
    before, _, rest = template.partition("{page}")
    middle, _, after = rest.partition("{pages}")
    parts = [_css_string(before), "counter(page)", _css_string(middle), "counter(pages)"]
    if after:
        parts.append(_css_string(after))
    company = _css_string(document.meta.company_name.replace("\n", " "))
    return (
        f"@page{{size:A4 {orientation};margin:14mm 12mm 16mm;"
        f"@bottom-right{{content:{' '.join(parts)};font-size:8pt;color:#5f6a76}}"
        f"@bottom-left{{content:{company};font-size:8pt;color:#5f6a76}}}}"
    )


def _head(document: Document) -> str:
    meta = document.meta
    lang = document.lang
    title = f"{meta.title_text()} \u2013 {meta.company_name}"
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{"en" if lang == "en" else "nb"}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="color-scheme" content="light">\n'
        '<meta name="generator" content="Saldo">\n'
        f"<title>{escape(title)}</title>\n"
        f"<style>{_CSS}{_page_css(document)}</style>\n</head>\n<body>\n"
    )


def _report_header(document: Document) -> str:
    meta = document.meta
    lang = document.lang
    parts = ['<header class="report">', f"<h1>{escape(meta.title_text())}</h1>"]
    org = ""
    if meta.organization_number:
        org = (
            f'<span class="org">{escape(label("organization_number", lang))} '
            f"{escape(format_org_number(meta.organization_number))}</span>"
        )
    parts.append(f'<p class="company">{escape(meta.company_name)}{org}</p>')
    items: list[tuple[str, str]] = []
    period = format_period(meta.period_from, meta.period_to, meta.report_date, lang)
    if period:
        key = "report_date" if meta.report_date and not (meta.period_from or meta.period_to) else "period"
        items.append((label(key, lang), period))
    items.append((label("generated", lang), format_datetime(meta.generated_at, lang)))
    if meta.currency:
        items.append((label("currency", lang), meta.currency))
    items += meta.filter_items()
    parts.append("<dl>")
    parts += [f"<div><dt>{escape(k)}</dt><dd>{escape(v)}</dd></div>" for k, v in items]
    parts.append("</dl></header>\n")
    return "".join(parts)


def _thead(document: Document) -> str:
    cells = []
    for col in document.columns:
        cls = ' class="n"' if col.numeric else ""
        # the width hint becomes a minimum width, so names do not wrap into narrow columns
        width = min(col.width_hint, 48) * (0.55 if col.numeric else 0.6)
        cells.append(
            f'<th scope="col"{cls} style="min-width:{width:.1f}em">{escape(col.title(document.lang))}</th>'
        )
    return f"<thead><tr>{''.join(cells)}</tr></thead>\n"


class _RowWriter:
    def __init__(self, document: Document) -> None:
        self.lang = document.lang
        self.columns = tuple(document.columns)
        self.keys = document.keys
        self.n = len(self.columns)
        self.span = leading_text_span(self.columns)
        self.kinds = [c.kind for c in self.columns]
        self.classes = [
            ' class="n"' if c.numeric else (' class="t"' if c.kind == "text" else "") for c in self.columns
        ]
        self.section = 0

    def _cell(self, i: int, value: Any, extra: str = "") -> str:
        kind = self.kinds[i]
        text = escape(format_value(value, kind, self.lang)) if value is not None else ""
        if extra:
            base = "n" if kind in ("amount", "integer", "percent") else ("t" if kind == "text" else "")
            return f'<td class="{(base + " " + extra).strip()}">{text}</td>'
        return f"<td{self.classes[i]}>{text}</td>"

    def row(self, row: Row) -> str:
        values = row.values(self.keys)
        kind = row.kind
        level = max(row.level - 1, 0)
        indent = f"i{min(level, 4)}" if level else ""
        if kind == "detail":
            first_indent = indent if self.kinds[0] == "text" else ""
            cells = [self._cell(0, values[0], first_indent)]
            cells += [self._cell(i, values[i]) for i in range(1, self.n)]
            return f'<tr class="d">{"".join(cells)}</tr>\n'
        text = escape(row.label or "")
        anchor = ""
        if row.bookmark:
            self.section += 1
            anchor = f' id="s{self.section}"'
        if kind == "group":
            lvl = f" l{min(row.level, 3)}" if row.level else ""
            if all(v in (None, "") for v in values):
                return (
                    f'<tr class="g{lvl}"{anchor}><td colspan="{self.n}" class="t {indent}">{text}</td></tr>\n'
                )
            cls = "g" + lvl
        else:
            cls = "s" if kind == "subtotal" else "tt"
            if kind == "total":
                indent = ""
        if text and all(values[i] in (None, "") for i in range(self.span)):
            cells = [f'<td colspan="{self.span}" class="{("t " + indent).strip()}">{text}</td>']
            cells += [self._cell(i, values[i]) for i in range(self.span, self.n)]
        else:
            cells = [self._cell(i, values[i]) for i in range(self.n)]
        return f'<tr class="{cls}"{anchor}>{"".join(cells)}</tr>\n'


def iter_html(document: Document) -> Iterator[str]:
    """The HTML document as a stream of str chunks (a few hundred rows each)."""
    meta = document.meta
    lang = document.lang
    yield _head(document)
    yield _report_header(document)
    yield '<div class="table-wrap">\n<table>\n'
    yield _thead(document)
    yield "<tbody>\n"
    writer = _RowWriter(document)
    buf: list[str] = []
    count = 0
    for row in document.iter_rows():
        buf.append(writer.row(row))
        count += 1
        if len(buf) >= CHUNK_ROWS:
            yield "".join(buf)
            buf.clear()
    if buf:
        yield "".join(buf)
    if count == 0:
        empty = escape(label("no_rows", lang))
        yield f'<tr><td colspan="{writer.n}"><p class="empty">{empty}</p></td></tr>\n'
    yield "</tbody>\n</table>\n</div>\n"
    gen = f"{label('generated', lang)} {format_datetime(meta.generated_at, lang)}"
    org = ""
    if meta.organization_number:
        org = f" \u00b7 {label('organization_number', lang)} {format_org_number(meta.organization_number)}"
    yield (
        f'<footer class="report">{escape(meta.company_name)}{escape(org)} \u00b7 '
        f"{escape(meta.title_text())} \u00b7 {escape(gen)}</footer>\n</body>\n</html>\n"
    )


def render_html(document: Document) -> str:
    """The whole HTML document as one string."""
    return "".join(iter_html(document))
