"""Registration numbers: every country a client account can be in, with real numbers and corrupted ones."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from saldo.ledger import regno
from saldo.ledger.models import ClientAccountIn

# Real, published registration numbers, as people type them, and their stored form.
VALID = [
    ("NO", "923609016", "923609016"),  # Equinor ASA
    ("NO", "NO 974 760 673 MVA", "974760673"),  # Brønnøysundregistrene
    ("DK", "24256790", "24256790"),  # Novo Nordisk A/S
    ("DK", "DK 25 31 37 63", "25313763"),
    ("SE", "556012-5790", "5560125790"),  # AB Volvo
    ("SE", "556042-7220", "5560427220"),  # H & M Hennes & Mauritz AB
    ("SE", "5560160680", "5560160680"),  # Telefonaktiebolaget LM Ericsson
    ("FI", "0112038-9", "0112038-9"),  # Nokia Oyj
    ("FI", "1927400-1", "1927400-1"),  # Kone Oyj
    ("FI", "FI01120389", "0112038-9"),  # the VAT form of the same number
    ("IS", "420269-1299", "4202691299"),  # Landsvirkjun
    ("IS", "5902697199", "5902697199"),
]


@pytest.mark.parametrize(("country", "typed", "stored"), VALID)
def test_real_numbers_are_valid_and_normalized(country: str, typed: str, stored: str) -> None:
    assert regno.validate(typed, country) == stored


def _corrupt(number: str) -> str:
    """The number with its first digit changed: a mod-11 or Luhn check always notices one wrong digit."""
    i = next(i for i, ch in enumerate(number) if ch.isdigit())
    return number[:i] + str((int(number[i]) + 1) % 10) + number[i + 1 :]


@pytest.mark.parametrize(("country", "typed", "stored"), VALID)
def test_one_wrong_digit_is_refused(country: str, typed: str, stored: str) -> None:
    with pytest.raises(ValueError, match="is not a valid"):
        regno.validate(_corrupt(stored), country)


@pytest.mark.parametrize(
    ("country", "value"),
    [
        ("NO", "92360901"),  # too short
        ("NO", "9236090160"),  # too long
        ("DK", "02425679"),  # CVR numbers never start with 0
        ("SE", "556012579"),
        ("SE", "55601257900"),
        ("SE", "株式会社"),  # letters of any script were accepted before
        ("SE", "١٢٣٤٥٦٧٨٩٠"),  # Arabic-Indic digits are digits to str.isdigit(), not to the registers
        ("FI", "0112038-"),
        ("FI", "0112038-X"),
        ("FI", "2220469-8"),  # remainder 1: no Y-tunnus has it
        ("IS", "420269129"),
        ("IS", "4202691X99"),
        ("NO", "1" * 1100),  # would be a DynamoDB key beyond its 1,024-byte limit
        ("SE", ""),
    ],
)
def test_malformed_numbers_are_refused(country: str, value: str) -> None:
    with pytest.raises(ValueError):
        regno.validate(value, country)


def test_remainder_one_has_no_norwegian_check_digit() -> None:
    # 1234567 8: weighted sum 3+4+21+24+25+24+21+16 = 138, 138 % 11 = 6 -> 5; a remainder of 1 -> None.
    assert regno.norwegian_check_digit("12345678") == 5
    assert regno.valid_norwegian_orgnr("123456785")
    first8 = next(
        f"{n:08d}" for n in range(10_000_000, 10_000_100) if regno.norwegian_check_digit(f"{n:08d}") is None
    )
    assert not any(regno.valid_norwegian_orgnr(first8 + str(d)) for d in range(10))


def test_the_limit_is_checked_before_normalizing() -> None:
    with pytest.raises(ValueError, match="longer than 32"):
        regno.validate(" " * 40 + "923609016", "NO")


@pytest.mark.parametrize(("country", "typed", "stored"), VALID)
def test_client_account_model_stores_the_normalized_number(country: str, typed: str, stored: str) -> None:
    account = ClientAccountIn(name="X", registration_number=typed, country=country)  # type: ignore[arg-type]
    assert account.registration_number == stored


@pytest.mark.parametrize("country", ["SE", "FI", "IS"])
def test_client_account_model_refuses_corrupted_numbers_of_every_country(country: str) -> None:
    stored = next(s for c, _, s in VALID if c == country)
    with pytest.raises(ValidationError, match="is not a valid"):
        ClientAccountIn(name="X", registration_number=_corrupt(stored), country=country)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="at most 32 characters"):
        ClientAccountIn(name="X", registration_number="1" * 1100, country=country)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("country", "zeros"),
    [
        ("NO", "000000000"),
        ("NO", "000 000 000 MVA"),
        ("DK", "00000000"),
        ("SE", "0000000000"),
        ("FI", "0000000-0"),
        ("IS", "0000000000"),
    ],
)
def test_all_zero_numbers_are_refused(country: str, zeros: str) -> None:
    # Zeros pass every weighted check trivially; no registry issues them.
    with pytest.raises(ValueError, match="is not a valid"):
        regno.validate(zeros, country)
    with pytest.raises(ValidationError):
        ClientAccountIn(name="X", registration_number=zeros, country=country)  # type: ignore[arg-type]
