"""Ledger integrity rules: upserts merge, the lock covers opening balances, reconciliations stay within one
business partner, reconciled entries are not cancelled, bounded sequence numbers, references and amounts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.ledger.helpers import make_client_account, post, sale


def _accounts(api, ca: int) -> dict[str, dict]:
    res = api.get(f"/api/v2/client-accounts/{ca}/accounts")
    return {a["code"]: a for a in res.json()["data"]}


def _payment(day: str, amount: str, partner: int) -> dict:
    return {
        "posting_date": day,
        "description": "Innbetaling",
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


def _reconcile(api, ca: int, a: int, b: int, amount: str, **extra):
    return api.post(
        "/api/v2/reconciliations",
        json_body={
            "client_account_id": ca,
            "lines": [{"line_id": a, "amount": amount}, {"line_id": b, "amount": amount}],
            **extra,
        },
    )


def test_upsert_keeps_fields_left_out(api):
    ca = make_client_account(api)
    res = api.post(
        f"/api/v2/client-accounts/{ca}/accounts",
        json_body={"items": [{"code": "1920", "name": "Bank renamed"}]},
    )
    assert res.status == 200, res.text
    acc = _accounts(api, ca)["1920"]
    assert acc["name"] == "Bank renamed" and Decimal(str(acc["opening_balance"])) == Decimal("50000.00")
    # An explicit value still replaces the stored one.
    api.post(
        f"/api/v2/client-accounts/{ca}/accounts",
        json_body={"items": [{"code": "1920", "name": "Bank", "opening_balance": "1.00", "active": False}]},
    )
    acc = _accounts(api, ca)["1920"]
    assert Decimal(str(acc["opening_balance"])) == Decimal("1.00") and acc["active"] is False

    tc = api.post(
        f"/api/v2/client-accounts/{ca}/tax-codes",
        json_body={"items": [{"code": "3", "description": "Ny tekst", "rate": "25", "direction": "output"}]},
    )
    assert tc.status == 200, tc.text
    codes = {t["code"]: t for t in api.get(f"/api/v2/client-accounts/{ca}/tax-codes").json()["data"]}
    assert codes["3"]["description"] == "Ny tekst" and codes["3"]["account_code"] == "2700"
    assert codes["3"]["standard_tax_code"] == "3"

    api.post(
        f"/api/v2/client-accounts/{ca}/business-partners",
        json_body={"items": [{"id": 88, "name": "Acme", "kind": "customer"}]},
    )
    bps = {p["id"]: p for p in api.get(f"/api/v2/client-accounts/{ca}/business-partners").json()["data"]}
    assert bps[88]["registration_number"] == "923609016" and bps[88]["name"] == "Acme"

    api.post(
        f"/api/v2/client-accounts/{ca}/dimensions",
        json_body={"items": [{"type": "project", "id": 1, "name": "P", "code": "P1"}]},
    )
    api.post(
        f"/api/v2/client-accounts/{ca}/dimensions",
        json_body={"items": [{"type": "project", "id": 1, "name": "Q"}]},
    )
    dims = {
        (d["type"], d["id"]): d for d in api.get(f"/api/v2/client-accounts/{ca}/dimensions").json()["data"]
    }
    assert dims[("project", 1)]["code"] == "P1" and dims[("project", 1)]["name"] == "Q"


def test_lock_protects_opening_balances(api):
    ca = make_client_account(api)
    assert api.patch(f"/api/v2/client-accounts/{ca}", json_body={"locked_until": "2024-12-31"}).status == 200
    changed = api.post(
        f"/api/v2/client-accounts/{ca}/accounts",
        json_body={"items": [{"code": "1920", "name": "Bank", "opening_balance": "40000.00"}]},
    )
    assert changed.status == 422, changed.text
    assert "items[0].opening_balance" in changed.json()["message"]
    added = api.post(
        f"/api/v2/client-accounts/{ca}/accounts",
        json_body={"items": [{"code": "1921", "name": "Bank 2", "opening_balance": "5.00"}]},
    )
    assert added.status == 422
    assert Decimal(str(_accounts(api, ca)["1920"]["opening_balance"])) == Decimal("50000.00")
    assert "1921" not in _accounts(api, ca)
    # Renaming, or sending the same opening balance, is no change to balances.
    same = api.post(
        f"/api/v2/client-accounts/{ca}/accounts",
        json_body={
            "items": [
                {"code": "1920", "name": "Bank", "opening_balance": "50000.00"},
                {"code": "1922", "name": "Bank 3"},
            ]
        },
    )
    assert same.status == 200, same.text
    api.patch(f"/api/v2/client-accounts/{ca}", json_body={"locked_until": None})
    unlocked = api.post(
        f"/api/v2/client-accounts/{ca}/accounts",
        json_body={"items": [{"code": "1920", "name": "Bank", "opening_balance": "40000.00"}]},
    )
    assert unlocked.status == 200


def test_reconciling_lines_of_different_partners_is_refused(api):
    ca = make_client_account(api)
    api.post(
        f"/api/v2/client-accounts/{ca}/business-partners",
        json_body={"items": [{"id": 90, "name": "Beta AS", "kind": "customer"}]},
    )
    inv = post(api, ca, [sale("2025-01-10", "100.00", ca=ca)]).json()["entries"][0]["line_ids"][0]
    pay = post(api, ca, [_payment("2025-01-20", "100.00", 90)]).json()["entries"][0]["line_ids"][1]
    res = _reconcile(api, ca, inv, pay, "100.00")
    assert res.status == 422, res.text
    assert "different business partners [88, 90]" in res.json()["message"]


def test_cancelling_a_reconciled_entry_is_refused(api):
    ca = make_client_account(api)
    invoice = post(api, ca, [sale("2025-01-10", "100.00", ca=ca)]).json()["entries"][0]
    pay = post(api, ca, [_payment("2025-01-20", "100.00", 88)]).json()["entries"][0]["line_ids"][1]
    assert _reconcile(api, ca, invoice["line_ids"][0], pay, "100.00", reference="M-1").status == 200
    cancel = api.post(f"/api/v2/journal-entries/{invoice['id']}/cancel", json_body={"client_account_id": ca})
    assert cancel.status == 422
    assert "unreconcile reference M-1 first" in cancel.json()["message"]
    assert (
        api.post("/api/v2/reconciliations/M-1/unreconcile", json_body={"client_account_id": ca}).status == 200
    )
    cancel = api.post(f"/api/v2/journal-entries/{invoice['id']}/cancel", json_body={"client_account_id": ca})
    assert cancel.status == 200, cancel.text


def test_sequence_number_is_bounded(api):
    ca = make_client_account(api)
    for bad in (2**63 - 1, 10**12 + 1, 0):
        res = post(api, ca, [sale("2025-01-10", "1.00", ca=ca, sequence_number=bad)])
        assert res.status == 422, (bad, res.text)
        assert "sequence_number" in res.text
    top = post(api, ca, [sale("2025-01-10", "1.00", ca=ca, sequence_number=10**12)])
    assert top.status == 201, top.text
    nxt = post(api, ca, [sale("2025-01-11", "1.00", ca=ca)])
    assert nxt.status == 201, nxt.text
    assert nxt.json()["entries"][0]["sequence_number"] == 10**12 + 1


@pytest.mark.parametrize("reference", ["a/b", "../x", "会计😀", "?q=1", "a\x00b", "-x", "", "x" * 65])
def test_reconciliation_references_are_path_safe(api, reference):
    ca = make_client_account(api)
    inv = post(api, ca, [sale("2025-01-10", "100.00", ca=ca)]).json()["entries"][0]["line_ids"][0]
    pay = post(api, ca, [_payment("2025-01-20", "100.00", 88)]).json()["entries"][0]["line_ids"][1]
    res = _reconcile(api, ca, inv, pay, "100.00", reference=reference)
    assert res.status == 422, res.text
    assert "reference" in res.text
    ok = _reconcile(api, ca, inv, pay, "100.00", reference="M-2025.01_a")
    assert ok.status == 200, ok.text


@pytest.mark.parametrize(
    "amount", ["١٢٣", "１２", "1_000", "1e3", "+5", "1.", ".5", "12.345", "0x10", " 1 2"]
)
def test_amounts_are_plain_ascii_decimals(api, amount):
    ca = make_client_account(api)
    entry = {
        "posting_date": "2025-01-10",
        "lines": [{"account_code": "1920", "debit": amount}, {"account_code": "3000", "credit": amount}],
    }
    res = post(api, ca, [entry])
    assert res.status == 422, res.text
    assert "plain decimal amount" in res.text


@pytest.mark.parametrize("amount", ["123", "12.5", "12.50", 12.5, 7])
def test_plain_amounts_are_accepted(api, amount):
    ca = make_client_account(api)
    entry = {
        "posting_date": "2025-01-10",
        "lines": [{"account_code": "1920", "debit": amount}, {"account_code": "3000", "credit": amount}],
    }
    assert post(api, ca, [entry]).status == 201


def test_the_sequence_counter_never_overflows():
    from saldo.errors import Unprocessable
    from saldo.ledger.posting import BIGINT_MAX, Counters

    counters = Counters(next_sequence=5)
    assert counters.take_sequence(10**12) == 10**12 and counters.next_sequence == 10**12 + 1
    assert counters.take_sequence() == 10**12 + 1
    # A ledger that took BIGINT's largest number before the bound: a clear 422, never an overflow.
    legacy = Counters(next_sequence=BIGINT_MAX)
    with pytest.raises(Unprocessable, match="give sequence_number"):
        legacy.take_sequence()
    assert legacy.take_sequence(7) == 7 and legacy.next_sequence == BIGINT_MAX
