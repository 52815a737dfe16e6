"""Registration numbers of the countries a client account can be in, each with its national check digit.

| country | number | rule |
|---|---|---|
| NO | organisasjonsnummer, 9 digits | mod 11, weights 3 2 7 6 5 4 3 2; remainder 1 is never issued |
| DK | CVR-nummer, 8 digits | weighted sum (2 7 6 5 4 3 2 1) divisible by 11 |
| SE | organisationsnummer, 10 digits | Luhn over all ten digits |
| FI | Y-tunnus, NNNNNNN-C | mod 11, weights 7 9 10 5 8 4 2; remainder 1 is never issued |
| IS | kennitala, 10 digits | mod 11, weights 3 2 7 6 5 4 3 2 on the first 8; check digit in position 9 |

A number of zeros only passes every check above trivially and is never issued: it is refused everywhere.

Numbers are stored normalized (digits only; the Finnish one as NNNNNNN-C), which keeps them unique per
organization and short enough for a DynamoDB key.
"""

from __future__ import annotations

from collections.abc import Callable

#: Longest registration number accepted as typed (spaces, dots, prefixes included).
MAX_INPUT_LENGTH = 32

_NO_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)
_DK_WEIGHTS = (2, 7, 6, 5, 4, 3, 2, 1)
_FI_WEIGHTS = (7, 9, 10, 5, 8, 4, 2)
_IS_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)


def _digits(value: str, n: int) -> bool:
    # str.isdigit() also accepts other scripts' digits ("١٢٣"); registration numbers are ASCII.
    # All zeros pass every weighted check trivially and are never issued, in any country.
    return len(value) == n and value.isascii() and value.isdigit() and value.strip("0") != ""


def _mod11_check(digits: str, weights: tuple[int, ...]) -> int | None:
    """11 - (weighted sum mod 11), 0 for remainder 0, None when the rule has no digit (remainder 1)."""
    remainder = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    check = 0 if remainder == 0 else 11 - remainder
    return None if check == 10 else check


def valid_norwegian_orgnr(value: str) -> bool:
    """9 digits, the last a modulus-11 check digit (weights 3 2 7 6 5 4 3 2); remainder 1 is never issued."""
    return _digits(value, 9) and _mod11_check(value[:8], _NO_WEIGHTS) == int(value[8])


def norwegian_check_digit(first8: str) -> int | None:
    return _mod11_check(first8, _NO_WEIGHTS)


def valid_danish_cvr(value: str) -> bool:
    """8 digits whose weighted sum (2 7 6 5 4 3 2 1) is divisible by 11."""
    if not _digits(value, 8) or value[0] == "0":
        return False
    return sum(int(d) * w for d, w in zip(value, _DK_WEIGHTS, strict=True)) % 11 == 0


def valid_swedish_orgnr(value: str) -> bool:
    """10 digits (NNNNNN-NNNN) passing the Luhn check over all ten."""
    if not _digits(value, 10):
        return False
    total = 0
    for i, d in enumerate(value):
        n = int(d) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def valid_finnish_business_id(value: str) -> bool:
    """Y-tunnus NNNNNNN-C: mod 11 over weights 7 9 10 5 8 4 2; remainder 1 is never issued."""
    if len(value) != 9 or value[7] != "-" or not _digits(value[:7], 7) or value[8] not in "0123456789":
        return False
    return _mod11_check(value[:7], _FI_WEIGHTS) == int(value[8])


def valid_icelandic_kennitala(value: str) -> bool:
    """10 digits; the ninth is the mod-11 check digit of the first eight (weights 3 2 7 6 5 4 3 2)."""
    return _digits(value, 10) and _mod11_check(value[:8], _IS_WEIGHTS) == int(value[8])


def normalize(value: str) -> str:
    """Strip spaces, dots and a country prefix/suffix people often type (`NO 123 456 789 MVA`)."""
    cleaned = value.upper().replace(" ", "").replace(".", "").replace("-", "")
    cleaned = cleaned.removeprefix("NO").removeprefix("DK").removesuffix("MVA")
    return cleaned


def _normalize_for(value: str, country: str) -> str:
    cleaned = value.upper().replace(" ", "").replace(".", "").replace("-", "")
    cleaned = cleaned.removeprefix(country)
    if country == "NO":
        cleaned = cleaned.removesuffix("MVA")
    if country == "FI" and len(cleaned) == 8:
        cleaned = f"{cleaned[:7]}-{cleaned[7]}"  # the canonical form keeps the dash
    return cleaned


_RULES: dict[str, tuple[Callable[[str], bool], str]] = {
    "NO": (valid_norwegian_orgnr, "Norwegian organization number (9 digits, mod-11 check)"),
    "DK": (valid_danish_cvr, "Danish CVR number (8 digits, mod-11 check)"),
    "SE": (valid_swedish_orgnr, "Swedish organisationsnummer (10 digits, Luhn check)"),
    "FI": (valid_finnish_business_id, "Finnish Y-tunnus (NNNNNNN-C, mod-11 check)"),
    "IS": (valid_icelandic_kennitala, "Icelandic kennitala (10 digits, mod-11 check)"),
}

COUNTRIES = tuple(_RULES)


def validate(value: str, country: str) -> str:
    """Return the normalized number or raise ValueError with a message a user can act on."""
    rule = _RULES.get(country)
    if rule is None:
        raise ValueError(f"Registration numbers of country {country!r} are not supported")
    shown = value if len(value) <= MAX_INPUT_LENGTH else value[:MAX_INPUT_LENGTH] + "…"
    if len(value) > MAX_INPUT_LENGTH:
        raise ValueError(f"'{shown}' is longer than {MAX_INPUT_LENGTH} characters")
    check, what = rule
    number = _normalize_for(value, country)
    if not check(number):
        raise ValueError(f"'{shown}' is not a valid {what}")
    return number
