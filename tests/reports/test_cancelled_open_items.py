"""A cancelled invoice and its reversal settle each other: no open items from the reversal's date on."""

from __future__ import annotations

from datetime import date

from tests.ledger.helpers import CHART, make_client_account, post
from tests.reports.oracle import Oracle
from tests.reports.test_open_items_dates import EDGES, R, invoice, payment


def test_cancelled_invoice_is_no_open_item_after_its_reversal(api):
    ca = make_client_account(api)
    oracle = Oracle(CHART)
    entries = [
        invoice("2025-03-01", "1000.00", due="2025-03-15"),
        invoice("2025-03-05", "300.00", due="2025-03-20"),
        payment("2025-03-10", "200.00"),
    ]
    ids = []
    for e in entries:
        res = post(api, ca, [e]).json()["entries"][0]
        oracle.add(e, line_ids=res["line_ids"])
        ids.append(res)
    cancel = api.post(
        f"/api/v2/journal-entries/{ids[0]['id']}/cancel",
        json_body={"client_account_id": ca, "cancel_date": "2025-04-10"},
    )
    assert cancel.status == 200, cancel.text
    reversal = api.get(
        f"/api/v2/journal-entries/{cancel.json()['reversal_entry_id']}", params={"client_account_id": ca}
    ).json()
    reversal_ids = [ln["id"] for ln in reversal["lines"]]
    oracle.add(
        {
            "posting_date": "2025-04-10",
            "lines": [
                {
                    "account_code": "1500",
                    "credit": "1000.00",
                    "relation_type": "businesspartner",
                    "relation_id": 88,
                },
                {"account_code": "3000", "debit": "1000.00"},
            ],
        },
        line_ids=reversal_ids,
    )
    oracle.cancel(ids[0]["line_ids"], reversal_ids, date(2025, 4, 10))

    for day in ("2025-03-31", "2025-04-09", "2025-04-10", "2025-12-31"):
        as_of = date.fromisoformat(day)
        expected = oracle.open_items("1500", as_of)
        for partner in (None, 88):
            params = {"client_account_id": ca, "date_to": day, "aging": "0,30,60,90", "per_page": 500}
            if partner:
                params["business_partner_id"] = partner
            body = api.get(f"{R}/accounts-receivable", params=params).json()
            rows = {r["id"]: r for r in body["data"]}
            assert set(rows) == set(expected), day
            for line_id, open_amount in expected.items():
                r = rows[line_id]
                signed = r["reconciled_amount"] if r["debit_amount"] >= 0 else -r["reconciled_amount"]
                assert r["debit_amount"] - signed == open_amount, (day, line_id)
            got = {b["bucket"]: b["amount"] for b in body["summary"]["aging"] if b["amount"]}
            assert got == {k: v for k, v in oracle.ageing("1500", as_of, EDGES, partner=partner).items() if v}
            assert body["summary"]["open_amount"] == body["summary"]["control_account_balance"]
        # Open only: the cancelled pair is listed before the reversal's date and not after.
        open_only = api.get(
            f"{R}/accounts-receivable",
            params={"client_account_id": ca, "date_to": day, "include_reconciled": "false", "per_page": 500},
        ).json()
        assert {r["id"] for r in open_only["data"]} == {i for i, v in expected.items() if v}, day
        # Without cancelled lines, the rows still add up to the summary's open amount.
        no_cancelled = api.get(
            f"{R}/accounts-receivable",
            params={
                "client_account_id": ca,
                "date_to": day,
                "include_cancelled": "false",
                "aging": "0,30,60,90",
                "per_page": 500,
            },
        ).json()
        rows_open = sum(
            (
                r["debit_amount"]
                - (r["reconciled_amount"] if r["debit_amount"] >= 0 else -r["reconciled_amount"])
                for r in no_cancelled["data"]
            ),
        )
        assert rows_open == no_cancelled["summary"]["open_amount"], day
    before = {
        r["id"]
        for r in api.get(
            f"{R}/accounts-receivable",
            params={"client_account_id": ca, "date_to": "2025-04-09", "include_cancelled": "false"},
        ).json()["data"]
    }
    assert ids[0]["line_ids"][0] in before
