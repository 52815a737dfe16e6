"""JSON output where money keeps its two decimals (`50000.00`, a number, not a string).

The standard encoder turns Decimal into float or refuses it; the seeds show amounts as numbers with two
decimals, so this writer emits Decimal values verbatim after quantizing them.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from itertools import accumulate
from typing import Any

from pydantic import BaseModel

_encode_str = json.encoder.encode_basestring  # type: ignore[attr-defined]
CENT = Decimal("0.01")


def _decimal(obj: Decimal) -> str:
    text = format(obj, "f")
    # "f" shows exactly -exponent decimals: two or more means the exponent is at most -2, as is.
    dot = text.find(".")
    if dot >= 0 and len(text) - dot > 2:
        return text
    return format(obj if obj.as_tuple().exponent <= -2 else obj.quantize(CENT), "f")


def _write(obj: Any, out: list[str]) -> None:
    """Append the JSON of `obj` to `out`.

    The common exact types (str, None, Decimal, int, dict, list, date) are dispatched on `type()` and the
    values of a dict or list are written inline, without a call each: a page of 1,000 general-ledger rows
    is some 60,000 values. Anything else (bool, subclasses such as str and int enums or named tuples,
    float, models) goes through `_other`, in isinstance order.
    """
    append = out.append
    t = type(obj)
    if t is dict:
        append("{")
        first = True
        for key, value in obj.items():
            if first:
                first = False
            else:
                append(", ")
            append(_encode_str(key if type(key) is str else str(key)))
            append(": ")
            vt = type(value)
            if vt is str:
                append(_encode_str(value))
            elif value is None:
                append("null")
            elif vt is Decimal:
                append(_decimal(value))
            elif vt is int:
                append(int.__repr__(value))
            else:
                _write(value, out)
        append("}")
    elif t is list or t is tuple:
        append("[")
        first = True
        for value in obj:
            if first:
                first = False
            else:
                append(", ")
            vt = type(value)
            if vt is str:
                append(_encode_str(value))
            elif vt is Decimal:
                append(_decimal(value))
            elif vt is int:
                append(int.__repr__(value))
            else:
                _write(value, out)
        append("]")
    elif t is str:
        append(_encode_str(obj))
    elif obj is None:
        append("null")
    elif t is Decimal:
        append(_decimal(obj))
    elif t is int:
        append(int.__repr__(obj))
    elif t is date or t is datetime:
        append(_encode_str(obj.isoformat()))
    else:
        _other(obj, out)


class RawJSON(str):
    """JSON text made elsewhere (the general ledger's rows come from DuckDB's `to_json`): written as is."""

    __slots__ = ()


def _other(obj: Any, out: list[str]) -> None:
    if type(obj) is RawJSON:
        out.append(obj)
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, str):
        out.append(_encode_str(obj))
    elif isinstance(obj, Decimal):
        out.append(_decimal(obj))
    elif isinstance(obj, int):
        out.append(int.__repr__(obj))
    elif isinstance(obj, float):
        out.append(json.dumps(obj))
    elif isinstance(obj, dict):
        _write(dict(obj), out)
    elif isinstance(obj, list | tuple):
        _write(list(obj), out)
    elif isinstance(obj, datetime | date):
        out.append(_encode_str(obj.isoformat()))
    elif isinstance(obj, BaseModel):
        _write(obj.model_dump(mode="python", by_alias=True), out)
    elif isinstance(obj, Enum):
        _write(obj.value, out)
    else:
        raise TypeError(f"Cannot serialise {type(obj).__name__} to JSON")


def dumps(obj: Any) -> str:
    """Serialise `obj` to JSON; Decimal amounts keep (at least) two decimals."""
    out: list[str] = []
    _write(obj, out)
    return "".join(out)


def loads(text: str | bytes) -> Any:
    """Parse JSON with every non-integer number as Decimal, so amounts never pass through float."""
    return json.loads(text, parse_float=Decimal)


# --------------------------------------------------------------------------------------------------
# Request bodies: exact numbers and limits a client cannot push past

#: Deepest nesting a request body may have. Every model is a few levels deep; DynamoDB maps stop at 32.
MAX_DEPTH = 32
#: Longest number literal accepted. DECIMAL(38) has 38 digits; a 5,000-digit integer only costs CPU.
MAX_NUMBER_CHARS = 48
#: Numbers are below 10^18 in magnitude: `1e999999999` would otherwise become a billion-digit integer,
#: and nothing the books store is larger (amounts < 10^15, ids are 64-bit).
MAX_EXPONENT = 17
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class BodyError(ValueError):
    """A request body that is not JSON or is outside the limits above (a 4xx, never a 500)."""


def _too_deep(text: str) -> bool:
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0) > MAX_DEPTH


def _int(token: str) -> int:
    if len(token) > MAX_NUMBER_CHARS:
        raise BodyError(f"a number has more than {MAX_NUMBER_CHARS} characters")
    value = int(token)
    if not INT64_MIN <= value <= INT64_MAX:
        raise BodyError(f"the integer {token} is out of range (64 bits)")
    return value


def _decimal_number(token: str) -> Decimal:
    if len(token) > MAX_NUMBER_CHARS:
        raise BodyError(f"a number has more than {MAX_NUMBER_CHARS} characters")
    value = Decimal(token)
    if abs(value.adjusted()) > MAX_EXPONENT:  # also 0e-1000 and 0e1000, which no one means
        raise BodyError(f"the number {token} is out of range")
    return value


def _constant(token: str) -> Any:
    raise BodyError(f"{token} is not a number JSON allows")


def loads_request(text: str | bytes) -> Any:
    """Parse a request body: every non-integer number as an exact Decimal, integers as int, within limits.

    Raises BodyError (a ValueError) for anything that is not JSON or is beyond MAX_DEPTH,
    MAX_NUMBER_CHARS or MAX_EXPONENT, so no body can make the parser or a later step fail with a 500.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise BodyError("the request body is not UTF-8") from None
    if _too_deep(text):
        raise BodyError(f"the request body is nested deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(text, parse_float=_decimal_number, parse_int=_int, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise BodyError(f"the request body is not valid JSON: {exc.msg} at character {exc.pos}") from None
    except RecursionError:  # pragma: no cover - _too_deep refuses such bodies first
        raise BodyError(f"the request body is nested deeper than {MAX_DEPTH} levels") from None
