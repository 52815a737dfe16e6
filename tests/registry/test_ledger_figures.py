"""Key figures from a linked ledger, checked against figures computed by hand.

A ledger with fiscal years from July to June: opening balances, a year with only a sale, an empty year
(only a draft), two full years with sales, goods, wages, financial items, tax, the year's allocation
(8800 → 2050), a cancelled entry and a draft, and a current year with a line after `today`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from saldo.ledger.query import LedgerView
from saldo.registry.ledger_figures import FIGURES, ledger_key_figures
from saldo.reports.balance_sheet import balance_sheet
from tests.ledger.helpers import make_client_account, post, sale

D = Decimal
MONEY = [f.name for f in FIGURES]
EXTRA_ACCOUNTS = [
    {"code": "1200", "name": "Maskiner og anlegg"},
    {"code": "1400", "name": "Lager"},
    {"code": "1920", "name": "Bankinnskudd", "opening_balance": "80000.00"},
    {"code": "2000", "name": "Aksjekapital", "opening_balance": "-30000.00"},
    {"code": "2290", "name": "Annen langsiktig gjeld"},
    {"code": "2500", "name": "Betalbar skatt"},
    {"code": "5000", "name": "Lønn"},
    {"code": "8050", "name": "Renteinntekter"},
    {"code": "8150", "name": "Rentekostnader"},
    {"code": "8300", "name": "Skattekostnad"},
    {"code": "8800", "name": "Årsresultat"},
]


def entry(day: str, debit: str, credit: str, amount: str, **extra: Any) -> dict[str, Any]:
    return {
        "posting_date": day,
        "description": f"{debit}/{credit}",
        "lines": [{"account_code": debit, "debit": amount}, {"account_code": credit, "credit": amount}],
        **extra,
    }


def purchase(day: str, net: str, vat: str) -> dict[str, Any]:
    total = str(D(net) + D(vat))
    return {
        "posting_date": day,
        "description": "Varekjøp",
        "lines": [
            {"account_code": "4000", "debit": net},
            {"account_code": "2710", "debit": vat},
            {"account_code": "2400", "credit": total},
        ],
    }


def open_ledger_view(org_id: str, ca: int) -> LedgerView:
    from saldo.ledger.service import LedgerService

    svc = LedgerService(org_id)
    return svc.view(svc.client_account(ca))


def new_account(api: Any, **extra: Any) -> int:
    ca = make_client_account(api, **extra)
    res = api.post(f"/api/v2/client-accounts/{ca}/accounts", json_body={"items": EXTRA_ACCOUNTS})
    assert res.status == 200, res.text
    return ca


def build_july_ledger(api: Any) -> int:
    ca = new_account(api, fiscal_year_start_month=7)
    posted = [
        # FY 2021-07..2022-06: one sale.
        sale("2021-09-01", "1000.00", ca=ca),
        # FY 2023-07..2024-06: result 10000 - 4000 - 2000 + 100 - 1000 = 3100, allocated to 2050.
        sale("2023-08-10", "10000.00", ca=ca, vat="2500.00"),
        purchase("2024-02-01", "4000.00", "1000.00"),
        entry("2024-06-30", "5000", "1920", "2000.00"),
        entry("2024-03-15", "1920", "8050", "100.00"),
        entry("2024-06-30", "8300", "2500", "1000.00"),
        entry("2024-06-30", "8800", "2050", "3100.00"),
        # FY 2024-07..2025-06: result 20000 - 3000 - 500 = 16500, nothing allocated.
        sale("2024-07-01", "20000.00", ca=ca, vat="5000.00"),
        entry("2025-01-15", "6300", "1920", "3000.00"),
        entry("2025-05-05", "1200", "1920", "8000.00"),
        entry("2025-06-30", "8150", "1920", "500.00"),
        entry("2025-06-10", "1920", "2290", "10000.00"),
        entry("2025-03-01", "1400", "2400", "1500.00"),
        # The current year (from 2025-07-01): one sale before today, one after.
        sale("2025-08-01", "4000.00", ca=ca),
        sale("2025-10-01", "300.00", ca=ca),
    ]
    assert post(api, ca, posted).status == 201
    drafts = [
        sale("2022-10-01", "555.00", ca=ca, is_draft=True),  # the only line of FY 2023
        sale("2025-04-01", "999.00", ca=ca, is_draft=True),
    ]
    assert post(api, ca, drafts).status == 201
    wrong = post(api, ca, [sale("2025-02-02", "777.00", ca=ca)]).json()["entries"][0]["id"]
    cancel = api.post(f"/api/v2/journal-entries/{wrong}/cancel", json_body={"client_account_id": ca})
    assert cancel.status == 200, cancel.text
    return ca


def build_calendar_ledger(api: Any) -> int:
    ca = new_account(api, regno="974760673")
    posted = [
        sale("2024-05-01", "1200.00", ca=ca),
        entry("2024-11-30", "6300", "1920", "200.00"),
        sale("2025-12-31", "700.00", ca=ca),
    ]
    assert post(api, ca, posted).status == 201
    return ca


@pytest.fixture(scope="module")
def ledgers() -> Iterator[dict[str, Any]]:
    from saldo.adapters.tenancy_store import TenancyStore
    from saldo_tools.localstack import LocalStack
    from tests.conftest import ROOT, ApiClient

    with LocalStack(ROOT, tick=3600) as local:
        store = TenancyStore()
        org = store.create_org("Ledger Figures AS")
        key = store.create_key(org["org_id"], label="tests")
        api = ApiClient(local, key["key"])
        july = build_july_ledger(api)
        calendar = build_calendar_ledger(api)
        yield {
            "july": open_ledger_view(org["org_id"], july),
            "calendar": open_ledger_view(org["org_id"], calendar),
        }


TODAY = date(2025, 9, 15)


def money(**figures: str) -> dict[str, Decimal]:
    return {name: D(value) for name, value in figures.items()}


# Balance sheets: opening balances 1920 80000, 2000 -30000, 2050 -50000.
FY2025 = {
    "year": 2025,
    "period_from": date(2024, 7, 1),
    "period_to": date(2025, 6, 30),
    **money(
        revenue="20000.00",
        gross_profit="20000.00",
        operating_profit="17000.00",
        profit="16500.00",
        # 1200 8000 + 1400 1500 + 1500 38500 + 1920 76600
        total_assets="124600.00",
        current_assets="116600.00",
        # 2000 30000 + 2050 53100 + this year's 16500 + FY 2022's 1000 (FY 2024's was allocated)
        equity="100600.00",
        share_capital="30000.00",
        # 2700 7500 - 2710 1000 + 2400 6500 + 2500 1000; 2290 is long-term
        current_liabilities="14000.00",
    ),
    "opening_equity": Decimal("84100.00"),  # FY 2024's closing equity
    "source": "ledger",
    "partial": False,
}
FY2024 = {
    "year": 2024,
    "period_from": date(2023, 7, 1),
    "period_to": date(2024, 6, 30),
    **money(
        revenue="10000.00",
        gross_profit="6000.00",
        operating_profit="4000.00",
        profit="3100.00",
        # 1500 13500 + 1920 78100
        total_assets="91600.00",
        current_assets="91600.00",
        # 2000 30000 + 2050 53100 + FY 2022's 1000 (this year's result is allocated to 2050)
        equity="84100.00",
        share_capital="30000.00",
        # 2700 2500 - 2710 1000 + 2400 5000 + 2500 1000
        current_liabilities="7500.00",
    ),
    "opening_equity": Decimal("81000.00"),  # FY 2023 had only a draft: FY 2022's closing equity
    "source": "ledger",
    "partial": False,
}
FY2022 = {
    "year": 2022,
    "period_from": date(2021, 7, 1),
    "period_to": date(2022, 6, 30),
    **money(
        revenue="1000.00",
        gross_profit="1000.00",
        operating_profit="1000.00",
        profit="1000.00",
        total_assets="81000.00",
        current_assets="81000.00",
        equity="81000.00",
        share_capital="30000.00",
        current_liabilities="0.00",
    ),
    "opening_equity": Decimal("80000.00"),  # the opening balances
    "source": "ledger",
    "partial": False,
}
CURRENT = {
    "year": 2026,
    "period_from": date(2025, 7, 1),
    "period_to": TODAY,
    **money(
        revenue="4000.00",
        gross_profit="4000.00",
        operating_profit="4000.00",
        profit="4000.00",
        total_assets="128600.00",
        current_assets="120600.00",
        equity="104600.00",
        share_capital="30000.00",
        current_liabilities="14000.00",
    ),
    "opening_equity": Decimal("100600.00"),  # FY 2025's closing equity
    "source": "ledger",
    "partial": True,
}


def test_every_figure_of_the_ended_years_newest_first_skipping_the_empty_one(ledgers):
    got = ledger_key_figures(ledgers["july"], today=TODAY)
    # FY 2023 holds only a draft; FY 2026 has not ended.
    assert [g["year"] for g in got] == [2025, 2024, 2022]
    assert got == [FY2025, FY2024, FY2022]


def test_years_limits_the_count(ledgers):
    assert [g["year"] for g in ledger_key_figures(ledgers["july"], today=TODAY, years=2)] == [2025, 2024]
    assert ledger_key_figures(ledgers["july"], today=TODAY, years=1) == [FY2025]
    assert ledger_key_figures(ledgers["july"], today=TODAY, years=0) == []


def test_current_year_only_on_request_up_to_today(ledgers):
    got = ledger_key_figures(ledgers["july"], today=TODAY, years=1, include_current=True)
    assert got == [CURRENT, FY2025]


def test_figures_are_exact_decimals_with_two_places(ledgers):
    for figures in ledger_key_figures(ledgers["july"], today=TODAY, include_current=True):
        for name in MONEY:
            value = figures[name]
            assert type(value) is Decimal, name
            assert value.as_tuple().exponent == -2, (name, value)
            assert not value.is_signed() or value < 0, (name, value)  # no "-0.00"


def test_equity_is_assets_less_liabilities_of_the_balance_sheet(ledgers):
    view = ledgers["july"]
    for figures in ledger_key_figures(view, today=TODAY, include_current=True):
        rows = balance_sheet(view, report_date=figures["period_to"])
        assets = sum(r["balance"] for r in rows if r["account_code"].startswith("1"))
        # Liabilities: class 2 outside equity (group 20); the result rows are equity.
        code = "account_code"
        liabilities = -sum(r["balance"] for r in rows if r[code][:1] == "2" and r[code][:2] != "20")
        assert assets == figures["total_assets"]
        assert figures["equity"] == assets - liabilities


def test_drafts_and_a_cancelled_entry_do_not_count(ledgers):
    # The 777.00 sale and its reversal (2025-02-02) and the 999.00 draft (2025-04-01) lie in FY 2025:
    # its revenue is the 20000.00 sale alone, and receivables hold no trace of either.
    fy2025 = ledger_key_figures(ledgers["july"], today=TODAY, years=1)[0]
    assert fy2025["revenue"] == D("20000.00")
    assert fy2025["current_assets"] == D("116600.00")


def test_calendar_year_ending_today_is_a_whole_year(ledgers):
    view = ledgers["calendar"]
    # 2025-12-31 is the last day of FY 2025: it has ended, and there is no current year to add.
    got = ledger_key_figures(view, today=date(2025, 12, 31), include_current=True)
    assert [(g["year"], g["period_from"], g["period_to"], g["partial"]) for g in got] == [
        (2025, date(2025, 1, 1), date(2025, 12, 31), False),
        (2024, date(2024, 1, 1), date(2024, 12, 31), False),
    ]
    fy2025, fy2024 = got
    assert (fy2024["revenue"], fy2024["operating_profit"], fy2024["profit"]) == (
        D("1200.00"),
        D("1000.00"),
        D("1000.00"),
    )
    # 1500 1900 + 1920 79800; equity: 2000 30000 + 2050 50000 + 2024's 1000 + 2025's 700
    assert (fy2025["revenue"], fy2025["total_assets"], fy2025["equity"]) == (
        D("700.00"),
        D("81700.00"),
        D("81700.00"),
    )
    # A day earlier, 2025 is the current year and has no posted line yet: left out even when asked for.
    assert [g["year"] for g in ledger_key_figures(view, today=date(2025, 12, 30), include_current=True)] == [
        2024
    ]
