from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from saldo.render.formats import (
    GROUP_NB,
    format_amount,
    format_date,
    format_datetime,
    format_integer,
    format_org_number,
    format_percent,
    format_period,
    format_value,
    label,
    parse_accept_language,
)

S = GROUP_NB  # narrow no-break space


def test_norwegian_amounts() -> None:
    assert format_amount(Decimal("1234567.89")) == f"1{S}234{S}567,89"
    assert format_amount(Decimal("-1234567.89")) == f"-1{S}234{S}567,89"
    assert format_amount(Decimal("999.5")) == "999,50"
    assert format_amount(Decimal("1000")) == f"1{S}000,00"
    assert format_amount(12) == "12,00"
    assert format_amount("50000.00") == f"50{S}000,00"


def test_zero_and_negative_zero() -> None:
    assert format_amount(Decimal("0")) == "0,00"
    assert format_amount(Decimal("-0.00")) == "0,00"
    assert format_amount(Decimal("-0.004")) == "0,00"
    assert format_amount(Decimal("0"), "en") == "0.00"


def test_rounding_is_half_up() -> None:
    assert format_amount(Decimal("0.005")) == "0,01"
    assert format_amount(Decimal("-0.005")) == "-0,01"
    assert format_amount(Decimal("2.675")) == "2,68"


def test_english_amounts() -> None:
    assert format_amount(Decimal("1234567.89"), "en") == "1,234,567.89"
    assert format_amount(Decimal("-1234.5"), "en") == "-1,234.50"


def test_amounts_refuse_float() -> None:
    with pytest.raises(TypeError):
        format_amount(1.5)
    assert format_amount(None) == ""


def test_integer_and_percent() -> None:
    assert format_integer(12345) == f"12{S}345"
    assert format_integer(12345, "en") == "12,345"
    assert format_percent(Decimal("25")) == "25,00\u00a0%"
    assert format_percent(Decimal("12.5"), "en") == "12.50%"


def test_dates() -> None:
    assert format_date(date(2025, 12, 31)) == "31.12.2025"
    assert format_date(date(2025, 1, 5)) == "05.01.2025"
    assert format_date(date(2025, 12, 31), "en") == "2025-12-31"
    assert format_date("2025-03-14") == "14.03.2025"
    assert format_date(None) == ""


def test_timestamps_are_shown_in_norwegian_time() -> None:
    winter = datetime(2025, 12, 31, 13, 5, tzinfo=UTC)
    summer = datetime(2025, 6, 30, 22, 30, tzinfo=UTC)
    assert format_datetime(winter) == "31.12.2025 14:05"
    assert format_datetime(summer) == "01.07.2025 00:30"
    assert format_datetime(winter, "en") == "2025-12-31 14:05"


def test_period_and_org_number() -> None:
    assert format_period(date(2025, 1, 1), date(2025, 12, 31)) == "01.01.2025\u201331.12.2025"
    assert format_period(None, None, date(2025, 12, 31)) == "31.12.2025"
    assert format_period(None, date(2025, 12, 31)) == "til 31.12.2025"
    assert format_org_number("923456783") == "923 456 783"
    assert format_org_number("SE5566778899") == "SE5566778899"


def test_format_value_by_kind() -> None:
    assert format_value(Decimal("-5"), "amount") == "-5,00"
    assert format_value(date(2025, 2, 1), "date", "en") == "2025-02-01"
    assert format_value(True, "text") == "Ja"
    assert format_value(False, "text", "en") == "No"
    assert format_value(None, "amount") == ""
    assert format_value("Blåbær", "text") == "Blåbær"


def test_labels() -> None:
    assert label("page_x_of_y", "nb", page=1, pages=3) == "Side 1 av 3"
    assert label("page_x_of_y", "en", page=1, pages=3) == "Page 1 of 3"
    assert label("generated") == "Generert"
    assert label("generated", "en") == "Generated"
    assert label("period") == "Periode"
    assert label("total") == "Sum"
    assert label("total", "en") == "Total"
    assert label("no_such_key") == "no_such_key"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "nb"),
        ("", "nb"),
        ("en", "en"),
        ("en-GB,en;q=0.9", "en"),
        ("nb-NO,nb;q=0.9,en;q=0.8", "nb"),
        ("nn", "nb"),
        ("no", "nb"),
        ("sv-SE,en;q=0.5", "en"),
        ("de", "nb"),
        ("*", "nb"),
        ("en;q=0.4,nb;q=0.8", "nb"),
        ("nb;q=0,en", "en"),
        ("en;q=0", "nb"),
        ("en_US", "en"),
        ("EN-us", "en"),
        ("en;q=abc", "nb"),
    ],
)
def test_accept_language(header: str | None, expected: str) -> None:
    assert parse_accept_language(header) == expected
