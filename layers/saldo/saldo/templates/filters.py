"""Report filters in Lerian's shape, checked against a data source's tables and typed fields, and turned
into a parameterised SQL condition (pushed down into the query; never a value in the SQL text).

    {"<data source>": {"<table>": {"<field>": {"<op>": [values...]}}}}

Operators: `eq` (one or more values: equal to any), `gt`, `gte`, `lt`, `lte` (exactly one), `between`
(exactly two, inclusive, low <= high), `in` and `nin` (one or more). Every condition is AND-ed. A date
`between` is inclusive of the whole last day. Every problem is reported with its path
(`filters.ledger.journal_lines.amount.between`) and nothing is guessed: an unknown operator, data source,
table or field, a wrong number of values, or a value of the wrong type is refused. Unlike Lerian, a field
that does not exist is never silently skipped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

FieldType = Literal["string", "integer", "decimal", "date", "datetime", "boolean"]
OPERATORS: dict[str, tuple[int, int | None]] = {  # (fewest values, most values; None: up to MAX_VALUES)
    "eq": (1, None),
    "gt": (1, 1),
    "gte": (1, 1),
    "lt": (1, 1),
    "lte": (1, 1),
    "between": (2, 2),
    "in": (1, None),
    "nin": (1, None),
}
MAX_VALUES = 1000
MAX_TEXT = 1000
_SQL = {"eq": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class Table:
    """A table of a data source: its SQL name (a relation the query reads) and its typed fields."""

    sql_name: str
    fields: Mapping[str, FieldType]


@dataclass(frozen=True)
class Condition:
    source: str
    table: str
    field: str
    op: str
    values: tuple[Any, ...]


class FilterError(ValueError):
    """Every problem of a filter, each `{"field": path, "message": ...}`."""

    def __init__(self, problems: list[dict[str, str]]) -> None:
        super().__init__(f"{problems[0]['field']}: {problems[0]['message']}")
        self.problems = problems


def parse_filters(raw: Any, sources: Mapping[str, Mapping[str, Table]]) -> list[Condition]:
    """The conditions of a request's `filters`, or FilterError naming each problem."""
    problems: list[dict[str, str]] = []
    out: list[Condition] = []
    if not isinstance(raw, dict):
        raise FilterError(
            [{"field": "filters", "message": "an object: {data source: {table: {field: {op: [values]}}}}"}]
        )
    for source, tables in raw.items():
        where = f"filters.{source}"
        if source not in sources:
            problems.append(
                {"field": where, "message": f"no data source {source!r}; known: {', '.join(sorted(sources))}"}
            )
            continue
        if not isinstance(tables, dict):
            problems.append({"field": where, "message": "an object of tables"})
            continue
        for table, fields in tables.items():
            at = f"{where}.{table}"
            if table not in sources[source]:
                known = ", ".join(sorted(sources[source]))
                problems.append({"field": at, "message": f"no table {table!r} in {source}; known: {known}"})
                continue
            if not isinstance(fields, dict):
                problems.append({"field": at, "message": "an object of fields"})
                continue
            typed = sources[source][table].fields
            for name, ops in fields.items():
                path = f"{at}.{name}"
                if name not in typed:
                    problems.append(
                        {
                            "field": path,
                            "message": f"no field {name!r} in {table}; known: {', '.join(sorted(typed))}",
                        }
                    )
                    continue
                if not isinstance(ops, dict) or not ops:
                    problems.append(
                        {"field": path, "message": 'an object of operators, e.g. {"eq": [value]}'}
                    )
                    continue
                for op, values in ops.items():
                    condition = _condition(
                        source, table, name, typed[name], op, values, f"{path}.{op}", problems
                    )
                    if condition is not None:
                        out.append(condition)
    if problems:
        raise FilterError(problems)
    return out


def _condition(
    source: str,
    table: str,
    name: str,
    kind: FieldType,
    op: str,
    values: Any,
    path: str,
    problems: list[dict[str, str]],
) -> Condition | None:
    if op not in OPERATORS:
        problems.append({"field": path, "message": f"unknown operator; use one of {', '.join(OPERATORS)}"})
        return None
    if not isinstance(values, list):
        problems.append({"field": path, "message": 'a list of values, e.g. ["2025-01-01"]'})
        return None
    fewest, most = OPERATORS[op]
    most = most or MAX_VALUES
    if not fewest <= len(values) <= most:
        wanted = f"exactly {fewest}" if fewest == most else f"{fewest} to {most}"
        problems.append({"field": path, "message": f"{op} takes {wanted} values ({len(values)} given)"})
        return None
    typed = []
    for i, value in enumerate(values):
        try:
            typed.append(_typed(kind, value))
        except ValueError as exc:
            problems.append({"field": f"{path}[{i}]", "message": str(exc)})
            return None
    if op == "between" and _comparable(typed[0]) > _comparable(typed[1]):
        problems.append({"field": path, "message": "between takes the lower value first"})
        return None
    return Condition(source, table, name, op, tuple(typed))


def _comparable(value: Any) -> Any:
    """Days and times of one datetime field compared as times (a day from its start, in UTC)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None) - (value.utcoffset() or timedelta(0))
    return value


def _typed(kind: FieldType, value: Any) -> Any:
    """The value as the field's type; JSON numbers arrive as Decimal or int (never float)."""
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ValueError("true or false")
        return value
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        raise ValueError(f"a {kind} value")
    if kind == "string":
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise ValueError(f"a text of at most {MAX_TEXT} characters")
        return value
    if kind == "integer":
        if isinstance(value, int) and -(2**63) <= value < 2**63:
            return value
        raise ValueError("a whole number")
    if kind == "decimal":
        try:
            number = Decimal(str(value)) if isinstance(value, (int, str, Decimal)) else None
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or abs(number) >= Decimal("1e15"):
            raise ValueError("a number below 10^15, e.g. 1250.00")
        return number
    if kind == "date":
        if isinstance(value, str) and _DATE.match(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise ValueError("a date YYYY-MM-DD")
    if kind == "datetime":
        if isinstance(value, str) and _DATE.match(value):  # a day: kept a date, so `between` takes it whole
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise ValueError("a date YYYY-MM-DD or a time in ISO 8601") from None
        if isinstance(value, str) and len(value) <= 40:
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                pass
        raise ValueError("a date YYYY-MM-DD or a time in ISO 8601")
    raise ValueError(f"a {kind} value")


def to_sql(conditions: list[Condition], columns: Mapping[str, str]) -> tuple[str, list[Any]]:
    """A WHERE clause for one table's conditions (`columns`: field name -> SQL column, all quoted by the
    caller's catalog) and its parameters; `TRUE` when there are none."""
    parts: list[str] = []
    params: list[Any] = []
    for c in conditions:
        column = columns[c.field]
        if not _NAME.match(column.strip('"')):
            raise ValueError(f"not a column name: {column!r}")
        if c.op in ("eq", "in") and len(c.values) > 1:
            parts.append(f"{column} IN ({', '.join('?' for _ in c.values)})")
            params += list(c.values)
        elif c.op in ("eq", "in"):
            parts.append(f"{column} = ?")
            params.append(c.values[0])
        elif c.op == "nin":
            parts.append(f"{column} NOT IN ({', '.join('?' for _ in c.values)})")
            params += list(c.values)
        elif c.op == "between":
            low, high = c.values
            if isinstance(high, date) and not isinstance(high, datetime):
                # a day as the upper bound counts whole, whether the column holds days or times
                parts.append(f"{column} >= ? AND {column} < ? + INTERVAL 1 DAY")
            else:
                parts.append(f"{column} BETWEEN ? AND ?")
            params += [low, high]
        else:
            parts.append(f"{column} {_SQL[c.op]} ?")
            params.append(c.values[0])
    return (" AND ".join(f"({p})" for p in parts) or "TRUE"), params
