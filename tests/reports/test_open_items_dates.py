"""Open items and ageing as of past dates: a reconciliation settles its lines only from its date on.

Invoices and payments on both control accounts, reconciled with the default date (the latest posting
date of the lines matched) and with explicit later dates, read as of days before, on and after each
reconciliation, against the oracle's independent fold.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from tests.ledger.helpers import CHART, make_client_account, post
from tests.reports.oracle import Oracle

R = "/api/v2/reports"
EDGES = [0, 30, 60, 90]


def invoice(day: str, amount: str, *, due: str, partner: int = 88) -> dict[str, Any]:
    return {
        "posting_date": day,
        "description": f"Faktura {day}",
        "related_object": {
            "document_number": f"INV-{day}",
            "document_date": day,
            "due_date": due,
            "business_partner_id": partner,
        },
        "lines": [
            {
                "account_code": "1500",
                "debit": amount,
                "relation_type": "businesspartner",
                "relation_id": partner,
            },
            {"account_code": "3000", "credit": amount},
        ],
    }


def payment(day: str, amount: str, partner: int = 88) -> dict[str, Any]:
    return {
        "posting_date": day,
        "description": f"Innbetaling {day}",
        "lines": [
            {"account_code": "1920", "debit": amount},
            {
                "account_code": "1500",
                "credit": amount,
                "relation_type": "businesspartner",
                "relation_id": partner,
            },
        ],
    }


def bill(day: str, amount: str, *, due: str, partner: int = 89) -> dict[str, Any]:
    return {
        "posting_date": day,
        "description": f"Leverandørfaktura {day}",
        "related_object": {"document_date": day, "due_date": due, "business_partner_id": partner},
        "lines": [
            {"account_code": "6300", "debit": amount},
            {
                "account_code": "2400",
                "credit": amount,
                "relation_type": "businesspartner",
                "relation_id": partner,
            },
        ],
    }


def settle(day: str, amount: str, partner: int = 89) -> dict[str, Any]:
    return {
        "posting_date": day,
        "description": f"Utbetaling {day}",
        "lines": [
            {
                "account_code": "2400",
                "debit": amount,
                "relation_type": "businesspartner",
                "relation_id": partner,
            },
            {"account_code": "1920", "credit": amount},
        ],
    }


@pytest.fixture
def book(api) -> dict[str, Any]:
    ca = make_client_account(api)
    oracle = Oracle(CHART)
    entries = {
        "a": invoice("2025-05-10", "1000.00", due="2025-06-09"),  # paid in July
        "p": payment("2025-07-05", "1000.00"),
        "b": invoice("2025-03-01", "500.00", due="2025-03-31"),  # paid in April, reconciled on 20 April
        "q": payment("2025-04-15", "500.00"),
        "c": invoice("2025-06-01", "800.00", due="2025-07-01"),  # paid in two parts
        "c1": payment("2025-06-10", "300.00"),
        "c2": payment("2025-08-01", "500.00"),
        "x": bill("2025-05-20", "2400.00", due="2025-06-19"),  # paid 10 July, reconciled 31 July
        "y": settle("2025-07-10", "2400.00"),
        "z": bill("2025-02-01", "150.00", due="2025-03-03"),  # never paid
    }
    res = post(api, ca, list(entries.values()))
    assert res.status == 201, res.text
    ids: dict[str, list[int]] = {}
    for (name, entry), created in zip(entries.items(), res.json()["entries"], strict=True):
        ids[name] = created["line_ids"]
        oracle.add(entry, line_ids=created["line_ids"])
    # Each entry's line on its control account.
    ctl = {
        name: next(
            i for i, ln in zip(ids[name], e["lines"], strict=True) if ln["account_code"] in ("1500", "2400")
        )
        for name, e in entries.items()
    }

    def reconcile(matches: list[tuple[str, str]], on: str | None, expect: str) -> None:
        body: dict[str, Any] = {
            "client_account_id": ca,
            "lines": [{"line_id": ctl[n], "amount": amount} for n, amount in matches],
        }
        if on:
            body["date"] = on
        r = api.post("/api/v2/reconciliations", json_body=body)
        assert r.status == 200, r.text
        assert r.json()["date"] == expect
        oracle.reconcile([(ctl[n], amount) for n, amount in matches], date.fromisoformat(expect))

    reconcile([("a", "1000.00"), ("p", "1000.00")], None, "2025-07-05")
    reconcile([("b", "500.00"), ("q", "500.00")], "2025-04-20", "2025-04-20")
    reconcile([("c", "300.00"), ("c1", "300.00")], None, "2025-06-10")
    reconcile([("c", "500.00"), ("c2", "500.00")], None, "2025-08-01")
    reconcile([("x", "2400.00"), ("y", "2400.00")], "2025-07-31", "2025-07-31")
    return {"ca": ca, "oracle": oracle, "ctl": ctl}


DAYS = [
    "2025-04-16",
    "2025-04-20",
    "2025-06-09",
    "2025-06-30",
    "2025-07-05",
    "2025-07-20",
    "2025-07-31",
    "2025-12-31",
]


def test_open_items_and_ageing_as_of_past_dates_follow_reconciliation_dates(api, book):
    ca, oracle = book["ca"], book["oracle"]
    for report, code in (("accounts-receivable", "1500"), ("accounts-payable", "2400")):
        for day in DAYS:
            as_of = date.fromisoformat(day)
            body = api.get(
                f"{R}/{report}",
                params={"client_account_id": ca, "date_to": day, "aging": "0,30,60,90", "per_page": 500},
            ).json()
            expected = oracle.open_items(code, as_of)
            rows = {r["id"]: r for r in body["data"]}
            assert set(rows) == set(expected), (report, day)
            for line_id, open_amount in expected.items():
                r = rows[line_id]
                signed = r["reconciled_amount"] if r["debit_amount"] >= 0 else -r["reconciled_amount"]
                assert r["debit_amount"] - signed == open_amount, (report, day, line_id)
            summary = body["summary"]
            got = {
                b["bucket"]: b["amount"]
                for b in summary["aging"]
                if b["amount"] or b["bucket"] == "opening_balance"
            }
            want = {k: v for k, v in oracle.ageing(code, as_of, EDGES).items() if v}
            assert got == want, (report, day)
            assert summary["control_account_balance"] == oracle.balance(code, as_of)
            assert summary["open_amount"] == summary["control_account_balance"]
            # Hiding reconciled lines hides exactly those settled as of the day.
            open_only = api.get(
                f"{R}/{report}",
                params={
                    "client_account_id": ca,
                    "date_to": day,
                    "include_reconciled": "false",
                    "per_page": 500,
                },
            ).json()
            assert {r["id"] for r in open_only["data"]} == {i for i, v in expected.items() if v}, (
                report,
                day,
            )


def test_invoice_paid_later_is_open_at_the_end_of_the_month_before(api, book):
    ca, ctl = book["ca"], book["ctl"]
    june = api.get(
        f"{R}/accounts-receivable", params={"client_account_id": ca, "date_to": "2025-06-30", "per_page": 500}
    )
    row = next(r for r in june.json()["data"] if r["id"] == ctl["a"])
    assert row["reconciled_amount"] == Decimal("0.00")
    july = api.get(
        f"{R}/accounts-receivable", params={"client_account_id": ca, "date_to": "2025-07-31", "per_page": 500}
    )
    row = next(r for r in july.json()["data"] if r["id"] == ctl["a"])
    assert row["reconciled_amount"] == Decimal("1000.00")
    # Without a last day every reconciliation counts; the general ledger shows the same amounts by date.
    everything = api.get(f"{R}/accounts-receivable", params={"client_account_id": ca, "per_page": 500}).json()
    assert next(r for r in everything["data"] if r["id"] == ctl["c"])["reconciled_amount"] == Decimal(
        "800.00"
    )
    gl = api.get(
        f"{R}/general-ledger",
        params={"client_account_id": ca, "account_codes": "1500", "date_to": "2025-07-31", "per_page": 500},
    ).json()
    assert next(r for r in gl["data"] if r["id"] == ctl["c"])["reconciled_amount"] == Decimal("300.00")
    hidden = api.get(
        f"{R}/general-ledger",
        params={
            "client_account_id": ca,
            "account_codes": "1500",
            "date_to": "2025-07-04",
            "include_reconciled": "false",
        },
    ).json()
    assert ctl["a"] in {r["id"] for r in hidden["data"]} and ctl["b"] not in {r["id"] for r in hidden["data"]}


def test_partner_ageing_as_of_past_date(api, book):
    ca, oracle = book["ca"], book["oracle"]
    body = api.get(
        f"{R}/accounts-receivable",
        params={
            "client_account_id": ca,
            "date_to": "2025-06-30",
            "aging": "0,30,60,90",
            "business_partner_id": 88,
        },
    ).json()
    got = {b["bucket"]: b["amount"] for b in body["summary"]["aging"] if b["amount"]}
    assert got == {k: v for k, v in oracle.ageing("1500", date(2025, 6, 30), EDGES, partner=88).items() if v}
    assert got == {"1-30": Decimal("1000.00"), "not_due": Decimal("500.00")}


def test_reconciliation_date_not_before_its_lines(api, book):
    ca, ctl = book["ca"], book["ctl"]
    more = post(api, ca, [invoice("2025-09-01", "70.00", due="2025-09-15"), payment("2025-09-20", "70.00")])
    inv, pay = more.json()["entries"][0]["line_ids"][0], more.json()["entries"][1]["line_ids"][1]
    body = {
        "client_account_id": ca,
        "date": "2025-09-19",
        "lines": [{"line_id": inv, "amount": "70.00"}, {"line_id": pay, "amount": "70.00"}],
    }
    res = api.post("/api/v2/reconciliations", json_body=body)
    assert res.status == 422, res.text
    assert "before the latest line's date 2025-09-20" in res.json()["message"]
    assert ctl  # nothing written: the invoice is still open today
    now = api.get(f"{R}/accounts-receivable", params={"client_account_id": ca, "per_page": 500}).json()
    assert next(r for r in now["data"] if r["id"] == inv)["reconciled_amount"] == Decimal("0.00")


def test_reconciliations_and_segments_written_before_the_date_column(stack, monkeypatch):
    """Facts without an effective date count from the latest posting date of their lines; segments
    without the newer columns read them as NULL, before and after a compaction merges them with newer ones."""
    from saldo.adapters.client_accounts import ClientAccountRepo
    from saldo.adapters.ledger_aws import DynamoManifestStore, S3BlobStore
    from saldo.ledger import segments
    from saldo.ledger.models import (
        AccountIn,
        BusinessPartnerIn,
        ClientAccountIn,
        JournalEntriesIn,
        ReconcileIn,
    )
    from saldo.ledger.query import open_view, reconciled_as_of
    from saldo.ledger.schema import FACT_COLUMNS, LINE_COLUMNS
    from saldo.ledger.service import LedgerService
    from saldo.ledger.store import LedgerStore
    from saldo.reports.open_items import ageing

    store, repo = LedgerStore(S3BlobStore(), DynamoManifestStore()), ClientAccountRepo()
    service = LedgerService("org_old", store, repo, publish=lambda _t, _d: None, enqueue=lambda _m: None)
    account = service.create_client_account(
        ClientAccountIn(name="Gamle Data AS", registration_number="923609016")
    )
    service.upsert_master(
        account.id, "accounts", [AccountIn(code=c, name=c) for c in ("1500", "1920", "3000")]
    )
    service.upsert_master(
        account.id, "business_partners", [BusinessPartnerIn(id=88, name="Acme AS", kind="customer")]
    )
    new = ("voucher_type", "line_due_date", "effective_date")
    monkeypatch.setattr(segments, "LINE_COLUMNS", tuple(c for c in LINE_COLUMNS if c[0] not in new))
    monkeypatch.setattr(segments, "FACT_COLUMNS", tuple(c for c in FACT_COLUMNS if c[0] not in new))
    posted = service.post_entries(
        JournalEntriesIn.model_validate(
            {
                "client_account_id": account.id,
                "entries": [
                    invoice("2025-05-10", "1000.00", due="2025-06-09"),
                    payment("2025-07-05", "1000.00"),
                ],
            }
        )
    )
    inv, pay = posted["entries"][0]["line_ids"][0], posted["entries"][1]["line_ids"][1]
    service.reconcile(
        ReconcileIn.model_validate(
            {
                "client_account_id": account.id,
                "lines": [{"line_id": inv, "amount": "1000.00"}, {"line_id": pay, "amount": "1000.00"}],
            }
        )
    )
    monkeypatch.undo()
    later = service.post_entries(
        JournalEntriesIn.model_validate(
            {
                "client_account_id": account.id,
                "entries": [
                    invoice("2025-08-01", "400.00", due="2025-08-31"),
                    payment("2025-08-05", "400.00"),
                ],
            }
        )
    )
    inv, pay = later["entries"][0]["line_ids"][0], later["entries"][1]["line_ids"][1]
    service.reconcile(
        ReconcileIn.model_validate(
            {
                "client_account_id": account.id,
                "date": "2025-08-20",
                "lines": [{"line_id": inv, "amount": "400.00"}, {"line_id": pay, "amount": "400.00"}],
            }
        )
    )

    def open_on(day: str) -> Decimal:
        view = open_view(store, "org_old", service.client_account(account.id))
        summary = ageing(
            view, ["1500"], as_of=date.fromisoformat(day), edges=EDGES, basis="due_date",
            include_drafts=False, business_partner_id=None,
        )  # fmt: skip
        return sum((b["amount"] for b in summary["aging"] if b["bucket"] != "opening_balance"), Decimal(0))

    def open_items_on(day: str) -> list[Decimal]:
        view = open_view(store, "org_old", service.client_account(account.id))
        sql, params = reconciled_as_of("l", date.fromisoformat(day), view.reconciled_until)
        return sorted(
            amount
            for (amount,) in view.rows(
                f"SELECT l.amount - sign(l.amount) * {sql} FROM lines l WHERE l.account_code = '1500' "
                "AND l.posting_date <= ?",
                [*params, date.fromisoformat(day)],
            )
            if amount
        )

    def check() -> None:
        assert open_on("2025-07-04") == Decimal("1000.00")  # the invoice: paid, reconciled, counted 5 July
        assert open_on("2025-07-05") == Decimal("0.00")
        assert open_on("2025-08-19") == Decimal("0.00")  # invoice and payment both open
        assert {b for b in open_items_on("2025-08-19")} == {Decimal("400.00"), Decimal("-400.00")}
        assert open_items_on("2025-08-20") == []

    check()
    merged = store.compact("org_old", account.id, min_segments=1)
    assert merged is not None and len(merged.segment_keys("lines")) == 1
    check()
