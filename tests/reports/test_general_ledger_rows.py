"""The general ledger's JSON rows are built by DuckDB (`ROW_JSON`); documents build the same rows in
Python (`gl_row`). Both must give the same objects for every kind of line, and pages must follow rn order."""

from __future__ import annotations

from typing import Any

from saldo import jsonenc
from saldo.ledger.query import OPEN_ITEM_LINES
from saldo.ledger.service import LedgerService
from saldo.reports.common import LineFilter
from saldo.reports.general_ledger import ROW_SQL, gl_row, page
from tests.ledger.helpers import post, sale
from tests.reports.conftest import build_ledger


def _extra_lines(api: Any, ca: int) -> None:
    """Lines the random ledger lacks: foreign currency, an entry line without its own description,
    several dimensions, characters JSON must escape."""
    entry = sale("2025-06-15", "800.00", ca=ca, vat="200.00", description='Kunde "Ærlig" <AS> \\ tab\t')
    foreign = {"currency_code": "EUR", "currency_amount": "80.00", "exchange_rate": "12.500000"}
    entry["lines"][0].update(foreign)
    entry["lines"][1]["dimensions"] = [{"type": "department", "id": 2}, {"type": "project", "id": 1}]
    for line in entry["lines"]:
        line.pop("description", None)
    res = post(api, ca, [entry])
    assert res.status == 201, res.json()


def test_sql_rows_equal_python_rows_and_pages_follow_rn(api, tenant):
    ledger = build_ledger(api)
    ca = ledger["ca"]
    _extra_lines(api, ca)
    service = LedgerService(tenant["org_id"])
    view = service.view(service.client_account(ca))
    flt = LineFilter(include_drafts=True)

    expected = [
        jsonenc.loads(jsonenc.dumps(gl_row(r, view)))
        for r in view.rows(f"{ROW_SQL} WHERE true ORDER BY l.rn")
    ]
    assert any(r["currency_code"] == "EUR" for r in expected)
    assert any(r["journal_entry"]["related_object"] for r in expected)
    assert any(len(r["dimensions"]) == 2 for r in expected)
    assert any(r["journal_entry"]["cancelled"] for r in expected)
    assert any(r["journal_entry"]["is_draft"] for r in expected)

    got: list[dict[str, Any]] = []
    per_page = 37
    pages = -(-len(expected) // per_page)
    for page_no in range(1, pages + 2):
        out = page(view, flt, page_no=page_no, per_page=per_page)
        assert out["meta"]["records"] == len(expected)
        assert out["meta"]["pages"] == pages
        rows = jsonenc.loads(jsonenc.dumps(out["data"]))
        left = max(0, len(expected) - (page_no - 1) * per_page)
        assert len(rows) == min(per_page, left)
        got.extend(rows)
    assert got == expected

    # A filtered page: the page is the matching rows between its first and last row number.
    payable = LineFilter(account_codes=["2400"], include_drafts=True)
    rows = jsonenc.loads(jsonenc.dumps(page(view, payable, page_no=2, per_page=5)["data"]))
    assert rows == [r for r in expected if r["account_code"] == "2400"][5:10]
    # The accounts payable report reads the same page from the view's copy of the control accounts.
    copy = page(view, payable, page_no=2, per_page=5, table=OPEN_ITEM_LINES)
    assert jsonenc.loads(jsonenc.dumps(copy["data"])) == rows
