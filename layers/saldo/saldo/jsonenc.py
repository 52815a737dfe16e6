"""JSON output where money keeps its two decimals (`50000.00`, a number, not a string).

The standard encoder turns Decimal into float or refuses it; the seeds show amounts as numbers with two
decimals, so this writer emits Decimal values verbatim after quantizing them.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
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
