from __future__ import annotations

from decimal import Decimal

import lxml.html

from saldo.render import Column, Document, ReportMeta, Row, Text
from saldo.render.formats import GROUP_NB, format_amount
from saldo.render.html import iter_html, render_html
from tests.render import samples

S = GROUP_NB


def _parse(text: str) -> lxml.html.HtmlElement:
    assert text.startswith("<!DOCTYPE html>")
    return lxml.html.document_fromstring(text)


def _row_texts(doc: lxml.html.HtmlElement) -> list[list[str]]:
    return [[td.text_content() for td in tr.findall("td")] for tr in doc.iterfind(".//tbody/tr")]


def test_balance_sheet_html() -> None:
    doc = _parse(render_html(samples.balance_sheet()))
    assert doc.get("lang") == "nb"
    assert doc.findtext(".//title") == "Balanse \u2013 Ærlig Øl & Bakst AS"
    assert doc.findtext(".//h1") == "Balanse"
    header = doc.find(".//header").text_content()
    assert "Org.nr. 923 456 783" in header
    assert "Rapportdato31.12.2025" in header.replace(" ", "")
    assert "Generert" in header and "15.01.2026 09:30" in header
    assert [th.text_content() for th in doc.iterfind(".//thead/tr/th")] == [
        "Konto",
        "Kontonavn",
        "Saldo 31.12.2025",
    ]

    rows = _row_texts(doc)
    assert ["1920", "Bankinnskudd DNB", f"845{S}120,33"] in rows
    assert ["Sum 19 Bank og kontanter", f"957{S}420,33"] in rows
    assert ["Sum eiendeler, egenkapital og gjeld", "0,00"] in rows
    # hierarchy: group headers span the table, subtotals span the text columns, indentation by level
    group = doc.xpath('.//tr[contains(@class,"g")][td[.="19 Bank og kontanter"]]')[0]
    assert group.get("class") == "g l2"
    assert group.find("td").get("colspan") == "3"
    assert "i1" in group.find("td").get("class")
    sub = doc.xpath('.//tr[@class="s"][td[.="Sum 1 Eiendeler"]]')[0]
    assert sub.find("td").get("colspan") == "2"
    assert sub.findall("td")[1].get("class") == "n"
    detail = doc.xpath('.//tr[@class="d"][td[.="1920"]]')[0]
    assert "i2" in detail.find("td").get("class")
    total = doc.xpath('.//tr[@class="tt"]')[0]
    assert total.find("td").text_content() == "Sum eiendeler, egenkapital og gjeld"


def test_html_is_self_contained_with_print_css() -> None:
    text = render_html(samples.income_statement())
    doc = _parse(text)
    assert not doc.xpath("//script|//link|//img|//iframe|//object")
    assert not doc.xpath("//*[@src]")
    assert "http://" not in text and "https://" not in text
    css = doc.findtext(".//style")
    assert "@media print" in css
    assert "thead{display:table-header-group}" in css
    assert "@page{size:A4 landscape" in css
    assert "overflow-x:auto" in css
    assert '"Side " counter(page) " av " counter(pages)' in css
    assert doc.find('.//meta[@name="viewport"]') is not None
    months = [th.text_content() for th in doc.iterfind(".//thead/tr/th")][2:]
    assert months == [
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


def test_html_english() -> None:
    doc = _parse(render_html(samples.balance_sheet("en")))
    assert doc.get("lang") == "en"
    rows = _row_texts(doc)
    assert ["1920", "Bankinnskudd DNB", "845,120.33"] in rows
    assert "Report date" in doc.find(".//header").text_content()


def test_everything_is_escaped() -> None:
    evil = '<script>alert("x")</script> & </style>'
    meta = ReportMeta(
        kind="x",
        title=Text(evil),
        company_name=evil,
        organization_number="<b>1</b>",
        filters={"free_text": evil},
    )
    cols = [Column("t", evil), Column("a", "Beløp", "amount")]
    rows = [
        Row.group(evil),
        Row.detail({"t": evil, "a": Decimal("1")}),
        Row.detail({"t": "nul\x00 and bell\x07"}),
        Row.total(evil, {"a": Decimal("1")}),
    ]
    text = render_html(Document(meta, cols, rows))
    assert "<script>" not in text
    assert text.count("</style>") == 1
    doc = _parse(text)
    assert not doc.xpath("//script|//b")
    assert doc.findtext(".//h1") == evil
    assert doc.xpath("//tbody/tr/td")[0].text_content() == evil
    assert "\x00" not in text and "\x07" not in text


def test_streaming_chunks_match_the_whole_document() -> None:
    doc = samples.general_ledger(3_000)
    chunks = list(iter_html(doc))
    assert len(chunks) > 6  # streamed in pieces, not built as one string
    whole = "".join(chunks)
    assert whole == render_html(doc)
    parsed = _parse(whole)
    details = parsed.xpath('//tbody/tr[@class="d"]')
    assert len(details) == 3_000
    totals: dict[str, Decimal] = {}
    list(samples.general_ledger(3_000, totals=totals).iter_rows())
    last = _row_texts(parsed)[-1]
    assert last[0] == "Sum totalt"
    assert format_amount(totals["debit"]) in last and format_amount(totals["credit"]) in last


def test_empty_html() -> None:
    doc = _parse(
        render_html(Document(ReportMeta(kind="x", title="Tom", company_name="Y"), [Column("a", "A")], []))
    )
    assert "Ingen rader i utvalget." in doc.find(".//tbody").text_content()
