"""Registration numbers: Norwegian organization numbers and Danish CVR numbers, with their check digits."""

from __future__ import annotations

_NO_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)
_DK_WEIGHTS = (2, 7, 6, 5, 4, 3, 2, 1)


def valid_norwegian_orgnr(value: str) -> bool:
    """9 digits, the last a modulus-11 check digit (weights 3 2 7 6 5 4 3 2); remainder 1 is never issued."""
    if len(value) != 9 or not value.isdigit():
        return False
    remainder = sum(int(d) * w for d, w in zip(value[:8], _NO_WEIGHTS, strict=True)) % 11
    check = 0 if remainder == 0 else 11 - remainder
    return check != 10 and check == int(value[8])


def norwegian_check_digit(first8: str) -> int | None:
    remainder = sum(int(d) * w for d, w in zip(first8, _NO_WEIGHTS, strict=True)) % 11
    check = 0 if remainder == 0 else 11 - remainder
    return None if check == 10 else check


def valid_danish_cvr(value: str) -> bool:
    """8 digits whose weighted sum (2 7 6 5 4 3 2 1) is divisible by 11."""
    if len(value) != 8 or not value.isdigit() or value[0] == "0":
        return False
    return sum(int(d) * w for d, w in zip(value, _DK_WEIGHTS, strict=True)) % 11 == 0


def normalize(value: str) -> str:
    """Strip spaces, dots and a country prefix/suffix people often type (`NO 123 456 789 MVA`)."""
    cleaned = value.upper().replace(" ", "").replace(".", "").replace("-", "")
    cleaned = cleaned.removeprefix("NO").removeprefix("DK").removesuffix("MVA")
    return cleaned


def validate(value: str, country: str) -> str:
    """Return the normalized number or raise ValueError with a message a user can act on."""
    number = normalize(value)
    if country == "NO":
        if not valid_norwegian_orgnr(number):
            raise ValueError(
                f"'{value}' is not a valid Norwegian organization number (9 digits, mod-11 check)"
            )
    elif country == "DK":
        if not valid_danish_cvr(number):
            raise ValueError(f"'{value}' is not a valid Danish CVR number (8 digits, mod-11 check)")
    elif not number.isalnum():
        raise ValueError(f"'{value}' is not a valid registration number")
    return number
