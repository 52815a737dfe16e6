from __future__ import annotations

from datetime import date

import pytest

from saldo.errors import BadRequest, NotAcceptable
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


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/json", JSON),
        (XLSX, XLSX),
        ("text/html", HTML),
        ("application/pdf", PDF),
        ("application/*", JSON),
        ("text/*", HTML),
        ("APPLICATION/PDF", PDF),
        ("application/pdf; charset=binary", PDF),
        ("application/json;q=0.5, application/pdf", PDF),
        ("application/pdf;q=0.2, text/html;q=0.9", HTML),
        ("text/html, application/pdf", HTML),
        ("application/pdf, text/html", PDF),
        ("application/*;q=0.5, application/pdf;q=0", JSON),
        ("*/*;q=0.1, application/pdf", PDF),
        ("application/json;q=0, */*", XLSX),
        ("text/csv, */*;q=0.1", JSON),
        # a browser
        ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8", HTML),
        ("garbage, application/pdf", PDF),
        ("application/pdf;q=2, text/html", HTML),
    ],
)
def test_negotiate(accept: str | None, expected: str) -> None:
    assert negotiate(accept) == expected


def test_q_zero_excludes_and_wildcards_respect_specificity() -> None:
    # text/html is refused explicitly even though text/* would accept it
    with pytest.raises(NotAcceptable):
        negotiate("text/*, text/html;q=0")
    assert negotiate("*/*, application/json;q=0, " + XLSX + ";q=0") == HTML


@pytest.mark.parametrize("accept", ["text/csv", "image/png, text/plain", "application/pdf;q=0", "nonsense"])
def test_not_acceptable_lists_what_is_offered(accept: str) -> None:
    with pytest.raises(NotAcceptable) as info:
        negotiate(accept)
    err = info.value
    assert err.status == 406
    for media in OFFERED:
        assert media in err.message
    body = err.body()
    assert body["status"] == 406
    assert body["error"] == "Not Acceptable"
    assert body["details"][0]["available"] == list(OFFERED)


def test_negotiate_other_offers_and_formats() -> None:
    assert negotiate("application/zip", ["text/xml", "application/zip"]) == "application/zip"
    assert negotiate(None, ["text/xml", "application/zip"]) == "text/xml"
    assert negotiate_format("application/pdf") is Format.PDF
    assert negotiate_format(None) is Format.JSON
    assert Format.XLSX.media_type == XLSX
    assert Format.HTML.content_type == "text/html; charset=utf-8"
    assert Format.coerce("excel") is Format.XLSX
    assert Format.coerce("application/pdf") is Format.PDF


def test_format_query_parameter() -> None:
    assert format_from_query("excel") is Format.XLSX
    assert format_from_query("PDF") is Format.PDF
    assert format_from_query(None) is None
    with pytest.raises(BadRequest):
        format_from_query("docx")


def test_content_disposition() -> None:
    assert content_disposition("balance-sheet_923456783_2025-12-31.pdf") == (
        'attachment; filename="balance-sheet_923456783_2025-12-31.pdf"'
    )
    value = content_disposition("Årsregnskap Ærø 2025.pdf")
    assert value.startswith('attachment; filename="Arsregnskap_AEro_2025.pdf"; ')
    assert "filename*=UTF-8''%C3%85rsregnskap%20%C3%86r%C3%B8%202025.pdf" in value
    evil = content_disposition('../../etc/pa"ss\r\nX-Injected: 1.pdf', "inline")
    assert evil.startswith("inline; ")
    assert "\r" not in evil and "\n" not in evil
    assert "/" not in evil.split("filename*=")[0]
    assert evil.count('"') == 2


@pytest.mark.parametrize(
    "evil",
    ["../../etc/passwd", "a/b\\c", "..", ".hidden", "con", "x\x00y", "é/../ø", "  ", "\u202e.exe", "a" * 500],
)
def test_report_filename_has_no_path_separators(evil: str) -> None:
    name = report_filename(evil, evil, report_date=date(2025, 12, 31), extension=evil)
    assert "/" not in name and "\\" not in name
    assert ".." not in name
    assert not name.startswith(".")
    assert name.isascii() and name.isprintable()
    assert len(name) < 120


def test_report_filename_shape() -> None:
    assert (
        report_filename(
            "income-statement",
            "923 456 783",
            period_from=date(2025, 1, 1),
            period_to=date(2025, 12, 31),
            extension=Format.XLSX,
        )
        == "income-statement_923456783_2025-01-01_2025-12-31.xlsx"
    )
    assert report_filename("balance-sheet", "923456783", report_date=date(2025, 12, 31)) == (
        "balance-sheet_923456783_2025-12-31.pdf"
    )
    assert report_filename("Saldobalanse Ærø", None, extension="html") == "saldobalanse-aero.html"
