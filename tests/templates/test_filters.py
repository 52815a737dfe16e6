"""Report filters (Lerian's shape): every operator and its validation, run as SQL in DuckDB."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal as D

import duckdb
import pytest

from saldo.templates.filters import FilterError, Table, parse_filters, to_sql

SOURCES = {
    "saldo": {
        "lines": Table(
            "lines",
            {
                "account": "string",
                "amount": "decimal",
                "posted": "date",
                "created_at": "datetime",
                "entry": "integer",
                "draft": "boolean",
            },
        )
    }
}
ROWS = [
    ("1920", D("100.00"), date(2025, 1, 1), datetime(2025, 1, 1, 9, 0), 1, False),
    ("3000", D("-100.00"), date(2025, 1, 31), datetime(2025, 1, 31, 23, 59, 59), 2, False),
    ("2700", D("25.50"), date(2025, 2, 1), datetime(2025, 2, 1, 0, 0), 3, True),
    ("1500", D("0.01"), date(2025, 3, 15), datetime(2025, 3, 15, 12, 0), 4, False),
]


@pytest.fixture(scope="module")
def con():
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE lines (account VARCHAR, amount DECIMAL(18,2), posted DATE, created_at TIMESTAMP, "
        "entry BIGINT, draft BOOLEAN)"
    )
    con.executemany("INSERT INTO lines VALUES (?, ?, ?, ?, ?, ?)", ROWS)
    return con


def entries(con, filters) -> list[int]:
    conditions = parse_filters({"saldo": {"lines": filters}}, SOURCES)
    where, params = to_sql(conditions, {f: f'"{f}"' for f in SOURCES["saldo"]["lines"].fields})
    return [
        r[0] for r in con.execute(f"SELECT entry FROM lines WHERE {where} ORDER BY entry", params).fetchall()
    ]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, [1, 2, 3, 4]),
        ({"account": {"eq": ["1920"]}}, [1]),
        ({"account": {"eq": ["1920", "3000"]}}, [1, 2]),
        ({"amount": {"gt": [D("0.01")]}}, [1, 3]),
        ({"amount": {"gte": [D("0.01")]}}, [1, 3, 4]),
        ({"amount": {"lt": [0]}}, [2]),
        ({"amount": {"lte": ["25.50"]}}, [2, 3, 4]),
        ({"posted": {"between": ["2025-01-01", "2025-01-31"]}}, [1, 2]),
        # a day as the upper bound of a time field counts whole (23:59:59 on 31 January is in)
        ({"created_at": {"between": ["2025-01-01", "2025-01-31"]}}, [1, 2]),
        ({"created_at": {"between": ["2025-01-01T00:00:00", "2025-02-01T00:00:00"]}}, [1, 2, 3]),
        ({"entry": {"in": [2, 4]}}, [2, 4]),
        ({"entry": {"nin": [2, 4]}}, [1, 3]),
        ({"draft": {"eq": [True]}}, [3]),
        ({"amount": {"gt": [0]}, "posted": {"lt": ["2025-03-01"]}, "draft": {"eq": [False]}}, [1]),  # AND
    ],
)
def test_every_operator(con, filters, expected):
    assert entries(con, filters) == expected


@pytest.mark.parametrize(
    ("filters", "path", "words"),
    [
        ({"nope": {}}, "filters.nope", "no data source"),
        ({"saldo": {"nope": {}}}, "filters.saldo.nope", "no table"),
        ({"saldo": {"lines": {"nope": {"eq": [1]}}}}, "filters.saldo.lines.nope", "no field"),
        (
            {"saldo": {"lines": {"amount": {"like": ["1%"]}}}},
            "filters.saldo.lines.amount.like",
            "unknown operator",
        ),
        ({"saldo": {"lines": {"amount": {"gt": [1, 2]}}}}, "filters.saldo.lines.amount.gt", "exactly 1"),
        (
            {"saldo": {"lines": {"amount": {"between": [1]}}}},
            "filters.saldo.lines.amount.between",
            "exactly 2",
        ),
        (
            {"saldo": {"lines": {"amount": {"between": [2, 1]}}}},
            "filters.saldo.lines.amount.between",
            "lower",
        ),
        ({"saldo": {"lines": {"amount": {"in": []}}}}, "filters.saldo.lines.amount.in", "1 to 1000"),
        (
            {"saldo": {"lines": {"amount": {"in": list(range(1001))}}}},
            "filters.saldo.lines.amount.in",
            "1 to 1000",
        ),
        ({"saldo": {"lines": {"amount": {"eq": "5"}}}}, "filters.saldo.lines.amount.eq", "a list"),
        ({"saldo": {"lines": {"amount": {"eq": ["abc"]}}}}, "filters.saldo.lines.amount.eq[0]", "number"),
        ({"saldo": {"lines": {"amount": {"eq": ["1e400"]}}}}, "filters.saldo.lines.amount.eq[0]", "number"),
        ({"saldo": {"lines": {"amount": {"eq": ["NaN"]}}}}, "filters.saldo.lines.amount.eq[0]", "number"),
        ({"saldo": {"lines": {"entry": {"eq": [D("1.5")]}}}}, "filters.saldo.lines.entry.eq[0]", "whole"),
        ({"saldo": {"lines": {"entry": {"eq": [True]}}}}, "filters.saldo.lines.entry.eq[0]", "integer"),
        ({"saldo": {"lines": {"draft": {"eq": [1]}}}}, "filters.saldo.lines.draft.eq[0]", "true or false"),
        (
            {"saldo": {"lines": {"posted": {"eq": ["2025-02-30"]}}}},
            "filters.saldo.lines.posted.eq[0]",
            "date",
        ),
        ({"saldo": {"lines": {"posted": {"eq": [20250101]}}}}, "filters.saldo.lines.posted.eq[0]", "date"),
        ({"saldo": {"lines": {"account": {"eq": [None]}}}}, "filters.saldo.lines.account.eq[0]", "string"),
        (
            {"saldo": {"lines": {"account": {"eq": ["x" * 1001]}}}},
            "filters.saldo.lines.account.eq[0]",
            "text",
        ),
        ({"saldo": {"lines": {"account": {}}}}, "filters.saldo.lines.account", "operators"),
        ([], "filters", "an object"),
    ],
)
def test_every_problem_is_named_with_its_path(filters, path, words):
    with pytest.raises(FilterError) as err:
        parse_filters(filters, SOURCES)
    problem = err.value.problems[0]
    assert problem["field"] == path and words in problem["message"], problem


def test_all_problems_are_reported_at_once():
    with pytest.raises(FilterError) as err:
        parse_filters({"saldo": {"lines": {"amount": {"gt": []}, "nope": {"eq": [1]}}}, "other": {}}, SOURCES)
    assert len(err.value.problems) == 3


def test_values_never_reach_the_sql_text(con):
    hostile = "1920'; DROP TABLE lines; --"
    where, params = to_sql(
        parse_filters({"saldo": {"lines": {"account": {"eq": [hostile]}}}}, SOURCES), {"account": '"account"'}
    )
    assert hostile not in where and params == [hostile]
    assert con.execute(f"SELECT count(*) FROM lines WHERE {where}", params).fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM lines").fetchone() == (4,)
