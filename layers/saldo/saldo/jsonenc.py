"""JSON output where money keeps its two decimals (`50000.00`, a number, not a string).

The standard encoder turns Decimal into float or refuses it; the seeds show amounts as numbers with two
decimals, so this writer emits Decimal values verbatim after quantizing them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel

_encode_str = json.encoder.encode_basestring  # type: ignore[attr-defined]
CENT = Decimal("0.01")


def _iter(obj: Any) -> Iterator[str]:
    if obj is None:
        yield "null"
    elif obj is True:
        yield "true"
    elif obj is False:
        yield "false"
    elif isinstance(obj, str):
        yield _encode_str(obj)
    elif isinstance(obj, Decimal):
        yield format(obj if obj.as_tuple().exponent <= -2 else obj.quantize(CENT), "f")
    elif isinstance(obj, int):
        yield int.__repr__(obj)
    elif isinstance(obj, float):
        yield json.dumps(obj)
    elif isinstance(obj, dict):
        yield "{"
        first = True
        for key, value in obj.items():
            if not first:
                yield ", "
            first = False
            yield _encode_str(str(key))
            yield ": "
            yield from _iter(value)
        yield "}"
    elif isinstance(obj, list | tuple):
        yield "["
        for i, value in enumerate(obj):
            if i:
                yield ", "
            yield from _iter(value)
        yield "]"
    elif isinstance(obj, datetime | date):
        yield _encode_str(obj.isoformat())
    elif isinstance(obj, BaseModel):
        yield from _iter(obj.model_dump(mode="python", by_alias=True))
    elif isinstance(obj, Enum):
        yield from _iter(obj.value)
    else:
        raise TypeError(f"Cannot serialise {type(obj).__name__} to JSON")


def dumps(obj: Any) -> str:
    """Serialise `obj` to JSON; Decimal amounts keep (at least) two decimals."""
    return "".join(_iter(obj))


def loads(text: str | bytes) -> Any:
    """Parse JSON with every non-integer number as Decimal, so amounts never pass through float."""
    return json.loads(text, parse_float=Decimal)
