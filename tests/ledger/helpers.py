"""Small ledgers for tests: a client account with a chart, tax codes, dimensions and partners."""

from __future__ import annotations

import uuid
from typing import Any

CHART = [
    {"code": "1500", "name": "Kundefordringer"},
    {"code": "1920", "name": "Bankinnskudd", "opening_balance": "50000.00"},
    {"code": "2050", "name": "Annen egenkapital", "opening_balance": "-50000.00"},
    {"code": "2400", "name": "Leverandørgjeld"},
    {"code": "2700", "name": "Utgående merverdiavgift"},
    {"code": "2710", "name": "Inngående merverdiavgift"},
    {"code": "3000", "name": "Salgsinntekt, avgiftspliktig"},
    {"code": "4000", "name": "Innkjøp av varer"},
    {"code": "6300", "name": "Leie lokaler"},
]
TAX_CODES = [
    {
        "code": "3",
        "description": "Utgående mva 25 %",
        "rate": "25",
        "standard_tax_code": "3",
        "direction": "output",
        "account_code": "2700",
    },
    {
        "code": "1",
        "description": "Inngående mva 25 %",
        "rate": "25",
        "standard_tax_code": "1",
        "direction": "input",
        "account_code": "2710",
    },
    {
        "code": "86",
        "description": "Tjenester kjøpt fra utlandet, med fradrag",
        "rate": "25",
        "standard_tax_code": "86",
        "direction": "input",
        "account_code": "2710",
    },
]
DIMENSIONS = [
    {"type": "project", "id": 1, "name": "Fjordprosjektet"},
    {"type": "department", "id": 2, "name": "Bergen"},
    {"type": "bankacc", "id": 1, "name": "Driftskonto"},
]
PARTNERS = [
    {"id": 88, "name": "Acme AS", "kind": "customer", "registration_number": "923609016"},
    {"id": 89, "name": "Leverandøren AS", "kind": "supplier"},
]


def make_client_account(api: Any, regno: str = "923609016", **extra: Any) -> int:
    # The lock comes after the chart: while a period is locked, opening balances cannot change.
    locked_until = extra.pop("locked_until", None)
    res = api.post(
        "/api/v2/client-accounts",
        json_body={"name": "Fjord Regnskap AS", "registration_number": regno, **extra},
    )
    assert res.status == 201, res.text
    ca = res.json()["id"]
    for path, items in (
        ("accounts", CHART),
        ("tax-codes", TAX_CODES),
        ("dimensions", DIMENSIONS),
        ("business-partners", PARTNERS),
    ):
        r = api.post(f"/api/v2/client-accounts/{ca}/{path}", json_body={"items": items})
        assert r.status == 200, r.text
    if locked_until is not None:
        r = api.patch(f"/api/v2/client-accounts/{ca}", json_body={"locked_until": locked_until})
        assert r.status == 200, r.text
    return ca


def sale(day: str, amount: str, *, ca: int, vat: str | None = None, **entry: Any) -> dict[str, Any]:
    """A sales invoice: receivable against revenue (and output VAT when `vat` is given)."""
    from decimal import Decimal

    net = Decimal(amount)
    tax = Decimal(vat) if vat else Decimal(0)
    lines = [
        {
            "account_code": "1500",
            "debit": str(net + tax),
            "relation_type": "businesspartner",
            "relation_id": 88,
        },
        {
            "account_code": "3000",
            "credit": str(net),
            "dimensions": [{"type": "project", "id": 1}],
            **({"tax_code": "3", "tax_base_amount": str(-net), "tax_amount": str(-tax)} if vat else {}),
        },
    ]
    if vat:
        lines.append({"account_code": "2700", "credit": str(tax)})
    return {"posting_date": day, "description": "Salg", "lines": lines, **entry}


def post(api: Any, ca: int, entries: list[dict[str, Any]], key: str | None = None) -> Any:
    return api.post(
        "/api/v2/journal-entries",
        json_body={"client_account_id": ca, "entries": entries},
        headers={"Idempotency-Key": key or uuid.uuid4().hex},
    )
