"""The JSON writer keeps money exact: Decimal amounts as numbers with two decimals."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

import pytest
from pydantic import BaseModel

from saldo.jsonenc import RawJSON, dumps, loads


class Kind(Enum):
    A = "a"


class Model(BaseModel):
    amount: Decimal
    day: date


def test_amounts_keep_two_decimals_and_never_pass_through_float():
    text = dumps({"a": Decimal("50000"), "b": Decimal("0.1"), "c": Decimal("-12.345"), "d": Decimal("1e2")})
    assert text == '{"a": 50000.00, "b": 0.10, "c": -12.345, "d": 100.00}'
    big = Decimal("9999999999999999.99")
    assert loads(dumps([big]))[0] == big
    assert dumps(Decimal("0.1") + Decimal("0.2")) == "0.30"


def test_other_values_match_the_standard_encoder():
    value = {"s": 'Ærlig "øl"\n', "i": 7, "t": True, "f": False, "n": None, "l": [1, [2, {}]], "e": []}
    assert json.loads(dumps(value)) == value
    assert dumps(date(2025, 12, 31)) == '"2025-12-31"'
    assert dumps(datetime(2025, 1, 2, 3, 4, 5)) == '"2025-01-02T03:04:05"'
    assert dumps(Kind.A) == '"a"'
    assert dumps(Model(amount=Decimal("5"), day=date(2025, 1, 1))) == '{"amount": 5.00, "day": "2025-01-01"}'


def test_loads_reads_amounts_as_decimal_and_unknown_types_are_refused():
    assert loads('{"x": 0.10}')["x"] == Decimal("0.10")
    with pytest.raises(TypeError):
        dumps({"x": object()})


def test_raw_json_is_written_as_is_wherever_it_sits():
    raw = RawJSON('[{"amount":1.50}]')
    assert dumps(raw) == '[{"amount":1.50}]'
    assert dumps({"data": raw}) == '{"data": [{"amount":1.50}]}'
    assert dumps([raw, "[1]"]) == '[[{"amount":1.50}], "[1]"]'
