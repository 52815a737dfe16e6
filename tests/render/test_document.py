from __future__ import annotations

from decimal import Decimal

import pytest

from saldo.render import Column, Document, GroupKey, ReportMeta, Row, Text, account_group_path, grouped_rows
from saldo.render.document import choose_orientation, peek
from tests.render import samples


def test_grouped_rows_structure_and_subtotals() -> None:
    totals: dict[str, Decimal] = {}
    rows = list(samples.balance_sheet(totals=totals).iter_rows())
    kinds = [(r.kind, r.level) for r in rows]
    assert kinds[:3] == [("group", 1), ("group", 2), ("detail", 3)]
    assert kinds[-1] == ("total", 0)
    # every group header has exactly one subtotal at the same level
    groups = [(r.level, r.label) for r in rows if r.kind == "group"]
    subtotals = [(r.level, r.label) for r in rows if r.kind == "subtotal"]
    assert len(groups) == len(subtotals) == 2 + 10
    assert ("Sum 19 Bank og kontanter") in [s[1] for s in subtotals]
    bank = next(r for r in rows if r.kind == "subtotal" and r.label == "Sum 19 Bank og kontanter")
    assert bank.cells["balance"] == Decimal("845120.33") + Decimal("112300.00")
    assets = next(r for r in rows if r.kind == "subtotal" and r.label == "Sum 1 Eiendeler")
    assert assets.cells["balance"] == Decimal("2929130.47")
    # the balance sheet reconciles: assets + equity and liabilities = 0
    assert totals == {"balance": Decimal("0.00")}
    assert rows[-1].cells["balance"] == 0
    assert rows[-1].label == "Sum eiendeler, egenkapital og gjeld"
    # level 1 and 2 group headers are bookmarks
    assert [r.bookmark for r in rows if r.kind == "group"][:2] == [
        "1 Eiendeler",
        "12 Maskiner, inventar og kjøretøy",
    ]


def test_grouped_rows_english_labels_and_no_subtotals() -> None:
    items = samples.balance_items()[:3]
    rows = list(
        grouped_rows(
            items,
            path=lambda r: account_group_path(r, (1,)),
            cells=lambda r: {"balance": r["balance"]},
            sum_keys=["balance"],
            lang="en",
            subtotals=False,
        )
    )
    assert [r.kind for r in rows] == ["group", "detail", "detail", "detail", "total"]
    assert rows[-1].label == "Grand total"
    assert rows[-1].cells["balance"] == Decimal("623729.50")


def test_grouped_rows_refuses_unordered_input() -> None:
    items = samples.balance_items()
    shuffled = [items[0], items[8], items[1]]  # group 12, then 20, then 12 again
    with pytest.raises(ValueError, match="not ordered"):
        list(
            grouped_rows(
                shuffled,
                path=lambda r: account_group_path(r, (1, 2)),
                cells=lambda r: {"balance": r["balance"]},
                sum_keys=["balance"],
            )
        )


def test_grouped_rows_refuses_float_amounts() -> None:
    with pytest.raises(TypeError, match="float"):
        list(grouped_rows([{"a": 1.5}], path=lambda r: [("1", "x")], cells=lambda r: r, sum_keys=["a"]))


def test_grouped_rows_empty_input_has_no_total() -> None:
    assert list(grouped_rows([], path=lambda r: [], cells=lambda r: r, sum_keys=["a"])) == []


def test_group_keys_and_paths() -> None:
    assert GroupKey("19", "Bank").label == "19 Bank"
    assert account_group_path(
        {"grouping": {"level_1_code": "1000", "level_1_name": "Assets"}}, (1, 2, 3)
    ) == [GroupKey("1000", "Assets")]
    assert account_group_path({}) == []


def test_row_values() -> None:
    assert Row.detail({"a": 1}).values(("a", "b")) == (1, None)
    assert Row.detail([1, 2, 3]).values(("a", "b")) == (1, 2)
    assert Row.detail([1]).values(("a", "b")) == (1, None)
    assert Row.group("1 Eiendeler").bookmark == "1 Eiendeler"
    assert Row.group("x", bookmark=False).bookmark is None


def _meta() -> ReportMeta:
    return ReportMeta(kind="trial-balance", title=Text("Saldobalanse", "Trial balance"), company_name="X AS")


def test_document_validation() -> None:
    with pytest.raises(ValueError):
        Column("a", "A", "money")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Document(_meta(), [Column("a", "A"), Column("a", "B")], [])
    with pytest.raises(ValueError):
        Document(_meta(), [], [])
    assert ReportMeta(kind="x", title="x", company_name="y", language="en-GB").language == "en"  # type: ignore[arg-type]


def test_one_shot_iterator_is_rendered_once_lists_and_factories_many_times() -> None:
    cols = [Column("a", "A")]
    once = Document(_meta(), cols, iter([Row.detail({"a": "1"})]))
    assert len(list(once.iter_rows())) == 1
    with pytest.raises(RuntimeError):
        once.iter_rows()
    many = Document(_meta(), cols, [Row.detail({"a": "1"})])
    assert len(list(many.iter_rows())) == len(list(many.iter_rows())) == 1
    factory = Document(_meta(), cols, lambda: (Row.detail({"a": str(i)}) for i in range(3)))
    assert len(list(factory.iter_rows())) == len(list(factory.iter_rows())) == 3


def test_filters_echo_and_orientation() -> None:
    meta = samples.balance_sheet().meta
    assert meta.filter_items() == [("Inkluder kladd", "Nei"), ("Dimensjoner", "project:1, department:2")]
    assert choose_orientation(samples.balance_sheet()) == "portrait"
    assert choose_orientation(samples.income_statement()) == "landscape"
    assert choose_orientation(samples.general_ledger(10)) == "portrait"


def test_peek_keeps_every_row() -> None:
    head, rows, complete = peek(iter(range(10)), 3)  # type: ignore[arg-type]
    assert head == [0, 1, 2] and not complete
    assert list(rows) == list(range(10))
    head, rows, complete = peek(iter(range(2)), 3)  # type: ignore[arg-type]
    assert complete and list(rows) == [0, 1]
