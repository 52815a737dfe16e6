"""JSON types for request body models, as strict as the OpenAPI document states them.

Pydantic's lax mode takes `0` as `false` and `0` (or "0") as 1970-01-01; the document says boolean and
`format: date`, so a client sending those has a bug we should report (422), not guess at. Amounts are
not here: they stay Decimal from a JSON number or a string ("100.00"), both exact (saldo.jsonenc).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Strict

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date(value: Any) -> Any:
    # pydantic alone reads a number (0, "1700000000") as a Unix time and takes a datetime string. A date
    # object passes: the ledger re-validates entries it has stored.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    raise ValueError("a date is YYYY-MM-DD")


#: A JSON boolean only (`true`/`false`; not 0, 1 or "true").
JsonBool = Annotated[bool, Strict()]

#: YYYY-MM-DD only, as a JSON string or in a query or path (not a number, a timestamp or a datetime).
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
