"""The demo company's year: every summary report against the independent fold, and the invariants."""

from __future__ import annotations

from datetime import date

import pytest

from tests.reports.oracle import Oracle


@pytest.fixture(scope="module")
def demo():
    from saldo.adapters.tenancy_store import TenancyStore
    from saldo_tools.demo_ledger import load_demo_ledger
    from saldo_tools.demodata import build_plan
    from saldo_tools.localstack import LocalStack
    from tests.conftest import ROOT, ApiClient

    lines = 4000
    with LocalStack(ROOT, tick=3600) as local:
        store = TenancyStore()
        org = store.create_org("Demo oracle AS")
        key = store.create_key(org["org_id"])
        loaded = load_demo_ledger(org["org_id"], lines)
        plan = build_plan(lines, 2025, 42)
        oracle = Oracle([a.model_dump(mode="json") for a in plan.accounts])
        for entry in plan.journal_entries():
            oracle.add(entry.model_dump(mode="json", exclude_none=True))
        yield ApiClient(local, key["key"]), loaded["client_account_id"], oracle


@pytest.mark.parametrize(("d_from", "d_to"), [("2025-01-01", "2025-12-31"), ("2025-05-01", "2025-08-31")])
def test_demo_trial_balance(demo, d_from, d_to):
    api, ca, oracle = demo
    rows = api.get(
        "/api/v2/reports/trial-balance",
        params={"client_account_id": ca, "date_from": d_from, "date_to": d_to, "include_dimensions": "false"},
    ).json()
    assert sum(r["outgoing_balance"] for r in rows) == 0
    expected = oracle.trial_balance(date.fromisoformat(d_from), date.fromisoformat(d_to))
    got = {
        r["account_code"]: (r["incoming_balance"], r["debit"], r["credit"], r["outgoing_balance"])
        for r in rows
    }
    assert {c: v for c, v in got.items() if any(v)} == {c: v for c, v in expected.items() if any(v)}


def test_demo_balance_sheet_income_statement_and_open_items(demo):
    api, ca, oracle = demo
    bs = api.get(
        "/api/v2/reports/balance-sheet", params={"client_account_id": ca, "report_date": "2025-12-31"}
    ).json()
    assert sum(r["balance"] for r in bs) == 0
    assert {r["account_code"]: r["balance"] for r in bs if r["balance"]} == {
        c: v for c, v in oracle.balance_sheet(date(2025, 12, 31)).items() if v
    }
    income = api.get(
        "/api/v2/reports/income-statement",
        params={"client_account_id": ca, "date_from": "2025-01-01", "date_to": "2025-12-31"},
    ).json()
    result = sum(sum(r["period_debit_movements"].values()) for r in income)
    assert result == next(r["balance"] for r in bs if r["account_code"] == "8800")
    for report, code in (("accounts-receivable", "1500"), ("accounts-payable", "2400")):
        summary = api.get(
            f"/api/v2/reports/{report}",
            params={"client_account_id": ca, "date_to": "2025-12-31", "aging": "0,30,60,90"},
        ).json()["summary"]
        assert summary["control_account_balance"] == oracle.balance(code, date(2025, 12, 31))
        assert sum(b["amount"] for b in summary["aging"]) == summary["control_account_balance"]
    vat = api.get(
        "/api/v2/reports/vat",
        params={"client_account_id": ca, "date_from": "2025-01-01", "date_to": "2025-12-31"},
    ).json()
    assert all(r["difference"] == 0 for r in vat["reconciliation"]), vat["reconciliation"]
    assert all(r["discrepancy_note"] is None for r in vat["rows"])
    posted = oracle.vat_posted(date(2025, 1, 1), date(2025, 12, 31))
    for row in vat["rows"]:
        base, tax = posted[row["tax_code"]["code"]]
        assert row["posted_tax_debit_amount"] - row["posted_tax_credit_amount"] == tax
        assert row["base_debit_amount"] - row["base_credit_amount"] == base
