"""The registry record keeps every value with its period and answers as of any date."""

from __future__ import annotations

from datetime import date

from saldo.registry.models import CompanyIn
from saldo.registry.record import (
    BENEFICIAL_OWNERS,
    MANAGEMENT,
    MASTER_DATA,
    OWNERS,
    apply_snapshot,
    as_of,
    changed_sections,
    history,
    new_record,
    set_at,
)


def company(**kw) -> CompanyIn:
    base = {"name": "Fjordlys ApS"}
    return CompanyIn.model_validate({**base, **kw})


def owner(pid: str, low: str, high: str | None = None) -> dict:
    return {"party": {"person_id": pid}, "name": pid.title(), "capital": {"low": low, "high": high or low}}


def test_set_at_cuts_the_segment_valid_on_the_day():
    t = set_at([], date(2020, 1, 1), "A")
    t = set_at(t, date(2022, 6, 1), "B")
    assert t == [
        {"value": "A", "from": "2020-01-01", "to": "2022-05-31"},
        {"value": "B", "from": "2022-06-01", "to": None},
    ]
    # an earlier snapshot fills history in up to the next recorded change
    t = set_at(t, date(2021, 1, 1), "C")
    assert [(s["value"], s["from"], s["to"]) for s in t] == [
        ("A", "2020-01-01", "2020-12-31"),
        ("C", "2021-01-01", "2022-05-31"),
        ("B", "2022-06-01", None),
    ]
    # setting the same value again changes nothing; removing ends the span the day before
    assert set_at(t, date(2022, 7, 1), "B") == t
    ended = set_at(t, date(2023, 1, 1), None)
    assert ended[-1] == {"value": "B", "from": "2022-06-01", "to": "2022-12-31"}


def test_as_of_shows_the_company_on_each_date():
    rec = new_record("DK", "10403782")
    rec = apply_snapshot(rec, company(owners=[owner("anna", "0.6"), owner("bo", "0.4")]), date(2020, 1, 1))
    rec = apply_snapshot(
        rec,
        company(
            name="Fjordlys Holding ApS",
            owners=[owner("anna", "1")],
            roles=[{"role": "management", "party": {"person_id": "anna"}, "name": "Anna"}],
        ),
        date(2023, 3, 1),
    )
    early, late = as_of(rec, date(2022, 12, 31)), as_of(rec, date(2023, 3, 1))
    assert early["name"] == "Fjordlys ApS" and late["name"] == "Fjordlys Holding ApS"
    assert [(o["name"], o["capital"]["low"]) for o in early["owners"]] == [("Anna", "0.6"), ("Bo", "0.4")]
    assert [(o["name"], o["capital"]["low"]) for o in late["owners"]] == [("Anna", "1")]
    assert early["roles"] == [] and late["roles"][0]["name"] == "Anna"
    assert as_of(rec, date(2019, 12, 31))["name"] is None
    events = history(rec)
    assert {(e["date"], e["section"], e["change"], e["name"]) for e in events} == {
        ("2023-03-01", "roles", "joined", "Anna"),
        ("2023-03-01", "owners", "changed", "Anna"),
        ("2023-03-01", "owners", "left", "Bo"),
        ("2020-01-01", "owners", "joined", "Anna"),
        ("2020-01-01", "owners", "joined", "Bo"),
    }


def test_changed_sections_name_what_changed():
    day = date(2024, 1, 1)
    first = apply_snapshot(new_record("DK", "10403782"), company(owners=[owner("anna", "1")]), day)
    assert changed_sections(None, first, day) == [
        MASTER_DATA,
        OWNERS,
        BENEFICIAL_OWNERS,
        MANAGEMENT,
        "key_figures",
    ]
    same = apply_snapshot(first, company(owners=[owner("anna", "1")]), day)
    assert changed_sections(first, same, day) == []
    moved = apply_snapshot(first, company(name="Ny ApS", owners=[owner("bo", "1")]), day)
    assert changed_sections(first, moved, day) == [MASTER_DATA, OWNERS]


def test_key_figures_keep_exact_amounts():
    from decimal import Decimal

    day = date(2024, 1, 1)
    rec = apply_snapshot(
        new_record("DK", "10403782"),
        company(key_figures=[{"year": 2023, "revenue": "99999999999999.99", "employees": 12}]),
        day,
    )
    (figures,) = as_of(rec, day)["key_figures"]
    assert figures["revenue"] == Decimal("99999999999999.99") and figures["employees"] == 12
