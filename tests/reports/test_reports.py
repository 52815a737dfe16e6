"""Every report against the oracle and the accounting invariants, through the HTTP API."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest

from tests.reports.oracle import ZERO

R = "/api/v2/reports"


def get(api, report, **params):
    return api.get(f"{R}/{report}", params=params)


@pytest.mark.parametrize(
    ("d_from", "d_to"),
    [
        ("2025-01-01", "2025-12-31"),
        ("2025-03-01", "2025-06-30"),
        ("2024-01-01", "2024-12-31"),
        ("2024-06-01", "2025-05-31"),
    ],
)
def test_trial_balance_matches_oracle_and_sums_to_zero(api, ledger, d_from, d_to):
    res = get(
        api,
        "trial-balance",
        client_account_id=ledger["ca"],
        date_from=d_from,
        date_to=d_to,
        include_dimensions="false",
    )
    assert res.status == 200, res.text
    assert res.headers["x-report-period"] == f"{d_from}/{d_to}"
    rows = res.json()
    assert sum(r["outgoing_balance"] for r in rows) == 0
    assert sum(r["incoming_balance"] for r in rows) == 0
    expected = ledger["oracle"].trial_balance(date.fromisoformat(d_from), date.fromisoformat(d_to))
    got = {
        r["account_code"]: (r["incoming_balance"], r["debit"], r["credit"], r["outgoing_balance"])
        for r in rows
    }
    for code, figures in expected.items():
        assert got.get(code, (ZERO,) * 4) == figures, code
    for code in set(got) - set(expected):
        assert got[code] == (ZERO,) * 4, code
    for row in rows:
        assert set(row) == {
            "grouping",
            "account_id",
            "account_code",
            "account_name",
            "incoming_balance",
            "debit",
            "credit",
            "outgoing_balance",
            "relation_type",
            "relation_id",
            "relation_name",
        }


def test_trial_balance_relations_and_grouping(api, ledger):
    rows = get(
        api, "trial-balance", client_account_id=ledger["ca"], date_from="2025-01-01", date_to="2025-12-31"
    ).json()
    assert sum(r["outgoing_balance"] for r in rows) == 0
    partner_rows = [r for r in rows if r["relation_type"] == "businesspartner"]
    assert {r["relation_name"] for r in partner_rows} >= {"Acme AS"}
    by_project = get(
        api,
        "trial-balance",
        client_account_id=ledger["ca"],
        date_from="2025-01-01",
        date_to="2025-12-31",
        group_by_dimension="project",
    ).json()
    assert any(r["relation_type"] == "project" and r["relation_id"] == 1 for r in by_project)
    assert sum(r["outgoing_balance"] for r in by_project) == 0
    moved = get(
        api,
        "trial-balance",
        client_account_id=ledger["ca"],
        date_from="2025-01-01",
        date_to="2025-12-31",
        include_zero_movement="false",
        account_codes="3000,1920",
    ).json()
    assert {r["account_code"] for r in moved} <= {"3000", "1920"} and moved
    assert all(r["debit"] or r["credit"] for r in moved)
    bank = next(r for r in rows if r["account_code"] == "1920")
    assert bank["grouping"]["level_1_code"] == "1000" and bank["grouping"]["level_2_code"] == "1900"


def test_balance_sheet_balances_and_matches_income_statement(api, ledger):
    oracle = ledger["oracle"]
    for day in ("2024-12-31", "2025-06-30", "2025-12-31"):
        rows = get(api, "balance-sheet", client_account_id=ledger["ca"], report_date=day).json()
        assert sum(r["balance"] for r in rows) == 0, day  # assets = equity + liabilities
        got = {r["account_code"]: r["balance"] for r in rows}
        expected = oracle.balance_sheet(date.fromisoformat(day))
        assert {c: v for c, v in got.items() if v} == {c: v for c, v in expected.items() if v}, day
    year = get(
        api, "income-statement", client_account_id=ledger["ca"], date_from="2025-01-01", date_to="2025-12-31"
    ).json()
    result = sum(sum(r["period_debit_movements"].values()) for r in year)
    bs = {
        r["account_code"]: r["balance"]
        for r in get(api, "balance-sheet", client_account_id=ledger["ca"], report_date="2025-12-31").json()
    }
    assert bs["8800"] == result
    assert all(len(r["period_debit_movements"]) == 12 for r in year)
    expected = oracle.income_statement(date(2025, 1, 1), date(2025, 12, 31))
    assert {r["account_code"]: r["period_debit_movements"] for r in year} == expected


def test_income_statement_defaults_and_limits(api, ledger):
    res = get(
        api, "income-statement", client_account_id=ledger["ca"], date_from="2024-01-01", date_to="2025-06-30"
    )
    assert res.status == 400 and "twelve months" in res.json()["message"]
    grouped = get(
        api,
        "income-statement",
        client_account_id=ledger["ca"],
        date_from="2025-01-01",
        date_to="2025-12-31",
        group_by_dimension="department",
    ).json()
    assert any(r["relation_type"] == "department" and r["relation_id"] == 2 for r in grouped)
    searched = get(
        api,
        "income-statement",
        client_account_id=ledger["ca"],
        date_from="2025-01-01",
        date_to="2025-12-31",
        free_text="konsulent",
    ).json()
    assert [r["account_code"] for r in searched] == ["3000"]
    assert sum(searched[0]["period_debit_movements"].values()) == Decimal("-1000.00")


def test_general_ledger_shape_pagination_and_filters(api, ledger):
    ca = ledger["ca"]
    first = get(api, "general-ledger", client_account_id=ca, per_page=25).json()
    meta = first["meta"]
    assert meta["per_page"] == 25 and meta["page"] == 1
    assert meta["pages"] == -(-meta["records"] // 25)
    last = get(api, "general-ledger", client_account_id=ca, per_page=25, page=meta["pages"]).json()
    assert len(last["data"]) == meta["records"] - 25 * (meta["pages"] - 1)
    row = first["data"][0]
    assert set(row) >= {
        "id",
        "line_id",
        "posting_date",
        "account_id",
        "account_code",
        "description",
        "debit",
        "credit",
        "debit_amount",
        "currency_code",
        "exchange_rate",
        "tax_code",
        "tax_base_amount",
        "tax_amount",
        "reconciled_amount",
        "sequence_number",
        "relation_type",
        "relation_id",
        "dimensions",
        "journal_entry",
    }
    assert set(row["journal_entry"]) == {
        "id",
        "sequence_number",
        "cancelled",
        "is_draft",
        "voucher_id",
        "description",
        "related_object",
        "created_by",
    }
    dates = [r["posting_date"] for r in first["data"]]
    assert dates == sorted(dates)
    invoice = get(api, "general-ledger", client_account_id=ca, free_text="INV-1001").json()
    assert invoice["meta"]["records"] == 3
    ro = invoice["data"][0]["journal_entry"]["related_object"]
    assert ro["document_number"] == "INV-1001" and ro["business_partner"] == {"id": 88, "name": "Acme AS"}
    with_drafts = get(api, "general-ledger", client_account_id=ca, include_drafts="true").json()["meta"][
        "records"
    ]
    assert with_drafts == meta["records"] + 2
    no_cancelled = get(api, "general-ledger", client_account_id=ca, include_cancelled="false").json()
    assert no_cancelled["meta"]["records"] == meta["records"] - 4
    taxed = get(api, "general-ledger", client_account_id=ca, tax_codes="1", per_page=1000).json()["data"]
    assert taxed and all(r["tax_code"] == "1" for r in taxed)
    dims = get(api, "general-ledger", client_account_id=ca, dimensions="department:2", per_page=1000).json()[
        "data"
    ]
    assert dims and all({"type": "department", "id": 2} in r["dimensions"] for r in dims)
    by_partner_name = get(api, "general-ledger", client_account_id=ca, free_text="acme").json()["meta"][
        "records"
    ]
    assert by_partner_name > 0
    bank = get(
        api,
        "general-ledger",
        client_account_id=ca,
        account_codes="1920",
        per_page=10_000,
        date_to="2025-12-31",
    ).json()["data"]
    oracle = ledger["oracle"]
    assert sum(r["debit_amount"] for r in bank) + oracle.opening["1920"] == oracle.balance(
        "1920", date(2025, 12, 31)
    )


def test_accounts_receivable_and_payable_reconcile_with_control_accounts(api, ledger):
    ca, oracle = ledger["ca"], ledger["oracle"]
    for report, code in (("accounts-receivable", "1500"), ("accounts-payable", "2400")):
        res = get(api, report, client_account_id=ca, date_to="2025-12-31", aging="0,30,60,90", per_page=500)
        assert res.status == 200, res.text
        body = res.json()
        assert all(r["account_code"] == code for r in body["data"])
        summary = body["summary"]
        assert summary["control_account_balance"] == oracle.balance(code, date(2025, 12, 31))
        assert sum(b["amount"] for b in summary["aging"]) == summary["control_account_balance"]
        assert [b["bucket"] for b in summary["aging"]][:5] == ["not_due", "1-30", "31-60", "61-90", "91+"]
    acme = get(api, "accounts-receivable", client_account_id=ca, business_partner_id=88, per_page=500).json()
    assert acme["data"] and all(
        r["relation_id"] == 88
        or (r["journal_entry"]["related_object"] or {}).get("business_partner", {}).get("id") == 88
        for r in acme["data"]
    )
    plain = get(api, "accounts-payable", client_account_id=ca).json()
    assert set(plain) == {"meta", "data"}


def test_reconciliation_shows_and_hides_lines(api, ledger):
    ca = ledger["ca"]
    inv_line = ledger["invoice"]["line_ids"][0]
    pay = api.post(
        "/api/v2/journal-entries",
        headers={"Idempotency-Key": "pay-1"},
        json_body={
            "client_account_id": ca,
            "entries": [
                {
                    "posting_date": "2025-03-20",
                    "lines": [
                        {"account_code": "1920", "debit": "1250.00"},
                        {
                            "account_code": "1500",
                            "credit": "1250.00",
                            "relation_type": "businesspartner",
                            "relation_id": 88,
                        },
                    ],
                }
            ],
        },
    )
    pay_line = pay.json()["entries"][0]["line_ids"][1]
    api.post(
        "/api/v2/reconciliations",
        json_body={
            "client_account_id": ca,
            "lines": [{"line_id": inv_line, "amount": "1250.00"}, {"line_id": pay_line, "amount": "1250.00"}],
        },
    )
    everything = get(api, "accounts-receivable", client_account_id=ca, per_page=1000).json()
    open_only = get(
        api, "accounts-receivable", client_account_id=ca, per_page=1000, include_reconciled="false"
    ).json()
    ids = {r["id"] for r in open_only["data"]}
    assert inv_line not in ids and pay_line not in ids
    # Hidden: the two lines reconciled, and the cancelled entries with their reversals (they settle
    # each other).
    cancelled = {r["id"] for r in everything["data"] if r["journal_entry"]["cancelled"]}
    assert {r["id"] for r in everything["data"]} - ids == {inv_line, pay_line} | cancelled
    line = next(r for r in everything["data"] if r["id"] == inv_line)
    assert line["reconciled_amount"] == Decimal("1250.00")


def test_vat_report_agrees_with_postings(api, ledger):
    res = get(api, "vat", client_account_id=ledger["ca"], from_date="2025-01-01", to_date="2025-12-31")
    assert res.status == 200, res.text
    body = res.json()
    expected = ledger["oracle"].vat_posted(date(2025, 1, 1), date(2025, 12, 31))
    rows = {r["tax_code"]["code"]: r for r in body["rows"]}
    assert set(rows) == set(expected)
    for code, (base, tax) in expected.items():
        row = rows[code]
        assert row["base_debit_amount"] - row["base_credit_amount"] == base
        assert row["posted_tax_debit_amount"] - row["posted_tax_credit_amount"] == tax
        assert row["reportable_tax_amount"] == -tax
        assert row["reconciliation_debit_amount"] == row["reconciliation_credit_amount"] == 0
        assert row["discrepancy_note"] is None
    assert rows["3"]["tax_code"]["category"] == "output" and rows["3"]["reportable_tax_amount"] > 0
    assert rows["1"]["tax_code"]["category"] == "input" and rows["1"]["reportable_tax_amount"] < 0
    for rec in body["reconciliation"]:
        assert rec["difference"] == 0, rec
    same = get(
        api, "vat", client_account_id=ledger["ca"], date_from="2025-01-01", date_to="2025-12-31"
    ).json()
    assert same == body


def test_vat_discrepancy_is_noted(api, ledger):
    ca = ledger["ca"]
    api.post(
        "/api/v2/journal-entries",
        headers={"Idempotency-Key": "vat-off"},
        json_body={
            "client_account_id": ca,
            "entries": [
                {
                    "posting_date": "2026-01-15",
                    "lines": [
                        {"account_code": "1500", "debit": "1249.00"},
                        {
                            "account_code": "3000",
                            "credit": "1000.00",
                            "tax_code": "3",
                            "tax_base_amount": "-1000.00",
                            "tax_amount": "-249.00",
                        },
                        {"account_code": "2700", "credit": "249.00"},
                    ],
                }
            ],
        },
    )
    rows = get(api, "vat", client_account_id=ca, date_from="2026-01-01", date_to="2026-02-28").json()["rows"]
    assert rows[0]["reconciliation_credit_amount"] == Decimal("1.00")  # computed -250, posted -249
    assert "differs" in rows[0]["discrepancy_note"]


def test_errors_in_the_seeds_shape(api, ledger, stack):
    ca = ledger["ca"]
    cases = [
        ("trial-balance", {"date_from": "2025-01-01", "date_to": "2025-12-31"}, 403),
        ("trial-balance", {"client_account_id": ca, "date_from": "2025-02-01", "date_to": "2025-01-01"}, 400),
        (
            "trial-balance",
            {
                "client_account_id": ca,
                "date_from": "2025-01-01",
                "date_to": "2025-12-31",
                "group_by_dimension": "colour",
            },
            400,
        ),
        ("general-ledger", {"client_account_id": ca, "dimensions": "project"}, 400),
        ("general-ledger", {"client_account_id": ca, "date_from": "2025-13-01"}, 400),
        ("balance-sheet", {"client_account_id": 999_999}, 403),
        ("vat", {"client_account_id": ca}, 400),
    ]
    for report, params, status in cases:
        res = get(api, report, **params)
        assert res.status == status, (report, params, res.text)
        body = res.json()
        assert body["status"] == status and body["error"] and body["message"]
    msg = get(api, "trial-balance", client_account_id=ca, date_from="2025-02-01", date_to="2025-01-01").json()
    assert "date_from 2025-02-01 is after date_to 2025-01-01" in msg["message"]


def test_fiscal_year_starting_in_july(api):
    from tests.ledger.helpers import make_client_account, post, sale

    ca = make_client_account(api, regno="974760673", fiscal_year_start_month=7)
    post(api, ca, [sale("2025-05-01", "100.00", ca=ca), sale("2025-08-01", "40.00", ca=ca)])
    bs = {
        r["account_code"]: r["balance"]
        for r in get(api, "balance-sheet", client_account_id=ca, report_date="2025-12-31").json()
    }
    assert bs["8800"] == Decimal("-40.00") and bs["8960"] == Decimal("-100.00")
    tb = get(api, "trial-balance", client_account_id=ca, date_from="2025-07-01", date_to="2025-12-31").json()
    revenue = next(r for r in tb if r["account_code"] == "3000" and r["relation_id"] is None)
    assert revenue["incoming_balance"] == 0 and revenue["outgoing_balance"] == Decimal("-40.00")
    assert sum(r["outgoing_balance"] for r in tb) == 0


def test_reverse_charge_reports_acquisition_and_deduction(api, ledger):
    ca = ledger["ca"]
    lines = [
        {
            "account_code": "6300",
            "debit": "1000.00",
            "tax_code": "86",
            "tax_base_amount": "1000.00",
            "tax_amount": "250.00",
        },
        {"account_code": "2710", "debit": "250.00"},
        {"account_code": "2700", "credit": "250.00"},
        {"account_code": "2400", "credit": "1000.00", "relation_type": "businesspartner", "relation_id": 89},
    ]
    res = api.post(
        "/api/v2/journal-entries",
        headers={"Idempotency-Key": "rc-1"},
        json_body={"client_account_id": ca, "entries": [{"posting_date": "2026-03-10", "lines": lines}]},
    )
    assert res.status == 201, res.text
    body = get(api, "vat", client_account_id=ca, date_from="2026-03-01", date_to="2026-04-30").json()
    row = body["rows"][0]
    assert row["tax_code"]["code"] == "86"
    assert row["reportable_acquisition_tax_amount"] == Decimal("250.00")
    assert row["reportable_tax_amount"] == Decimal("-250.00")
    assert body["totals"]["vat_payable"] == 0
    assert all(r["difference"] == 0 for r in body["reconciliation"]), body["reconciliation"]


def test_vat_rounds_each_line_half_up_to_the_ore(api, ledger):
    ca = ledger["ca"]
    entries = []
    for base in ("0.02", "0.06", "1.10"):  # × 25 % = 0.005, 0.015, 0.275: ties round away from zero
        tax = str((Decimal(base) * Decimal("0.25")).quantize(Decimal("0.01"), ROUND_HALF_UP))
        entries.append(
            {
                "posting_date": "2027-01-05",
                "lines": [
                    {"account_code": "1500", "debit": str(Decimal(base) + Decimal(tax))},
                    {
                        "account_code": "3000",
                        "credit": base,
                        "tax_code": "3",
                        "tax_base_amount": f"-{base}",
                        "tax_amount": f"-{tax}",
                    },
                    {"account_code": "2700", "credit": tax},
                ],
            }
        )
    assert (
        api.post(
            "/api/v2/journal-entries",
            headers={"Idempotency-Key": "ties"},
            json_body={"client_account_id": ca, "entries": entries},
        ).status
        == 201
    )
    row = get(api, "vat", client_account_id=ca, date_from="2027-01-01", date_to="2027-01-31").json()["rows"][
        0
    ]
    assert row["tax_credit_amount"] == Decimal("0.31")  # 0.01 + 0.02 + 0.28, not 0.005 + 0.015 + 0.275
    assert row["reconciliation_debit_amount"] == row["reconciliation_credit_amount"] == 0
