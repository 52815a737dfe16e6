"""A ledger spanning two fiscal years with VAT, dimensions, drafts, a cancellation and a reconciliation,
posted through the API, with the oracle that knows the expected figures."""

from __future__ import annotations

import random
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from tests.ledger.helpers import CHART, make_client_account, post, sale
from tests.reports.oracle import Oracle


def purchase(day: str, net: str, vat: str, partner: int = 89) -> dict[str, Any]:
    n, v = Decimal(net), Decimal(vat)
    return {
        "posting_date": day,
        "description": "Varekjøp",
        "related_object": {
            "document_number": f"F-{day}",
            "document_date": day,
            "due_date": day,
            "business_partner_id": partner,
        },
        "lines": [
            {
                "account_code": "4000",
                "debit": net,
                "tax_code": "1",
                "tax_base_amount": net,
                "tax_amount": vat,
                "dimensions": [{"type": "department", "id": 2}],
            },
            {"account_code": "2710", "debit": vat},
            {
                "account_code": "2400",
                "credit": str(n + v),
                "relation_type": "businesspartner",
                "relation_id": partner,
            },
        ],
    }


def vat25(net: Decimal) -> str:
    """25 % VAT rounded to the øre the commercial way (half up), as the VAT report computes it."""
    return str((net * Decimal("0.25")).quantize(Decimal("0.01"), ROUND_HALF_UP))


def random_entries(rng: random.Random, count: int, year: int) -> list[dict[str, Any]]:
    out = []
    for _ in range(count):
        day = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        kind = rng.random()
        if kind < 0.4:
            net = Decimal(rng.randint(100, 500_000)) / 100
            out.append(sale(day, str(net), ca=0, vat=vat25(net)))
        elif kind < 0.7:
            net = Decimal(rng.randint(100, 200_000)) / 100
            out.append(purchase(day, str(net), vat25(net)))
        else:
            amount = str(Decimal(rng.randint(100, 100_000)) / 100)
            a, b = rng.sample(["1920", "6300", "1500", "2400", "2050"], 2)
            out.append(
                {
                    "posting_date": day,
                    "description": "Diverse",
                    "lines": [{"account_code": a, "debit": amount}, {"account_code": b, "credit": amount}],
                }
            )
    return out


@pytest.fixture
def ledger(api) -> dict[str, Any]:
    return build_ledger(api)


@pytest.fixture(scope="module")
def shared():
    """One stack and ledger for a module of read-only tests: (api, ledger, stack)."""
    from saldo.adapters.tenancy_store import TenancyStore
    from saldo_tools.localstack import LocalStack
    from tests.conftest import ROOT, ApiClient

    with LocalStack(ROOT, tick=3600) as local:
        store = TenancyStore()
        org = store.create_org("Shared Test Org AS")
        key = store.create_key(org["org_id"], label="tests")
        api = ApiClient(local, key["key"])
        yield api, build_ledger(api), local


def build_ledger(api) -> dict[str, Any]:
    ca = make_client_account(api)
    oracle = Oracle(CHART)
    rng = random.Random(7)
    entries = random_entries(rng, 60, 2024) + random_entries(rng, 90, 2025)
    for start in range(0, len(entries), 50):
        chunk = entries[start : start + 50]
        assert post(api, ca, chunk).status == 201
        for e in chunk:
            oracle.add(e)
    known = [
        sale(
            "2025-03-10",
            "1000.00",
            ca=ca,
            vat="250.00",
            description="Konsulenttimer Fjord",
            related_object={
                "document_number": "INV-1001",
                "document_date": "2025-03-10",
                "due_date": "2025-03-24",
                "business_partner_id": 88,
            },
        )
    ]
    res = post(api, ca, known).json()
    oracle.add(known[0])
    draft = sale("2025-04-01", "999.00", ca=ca, is_draft=True)
    post(api, ca, [draft])
    oracle.add(draft, draft=True)
    wrong = sale("2025-05-05", "123.45", ca=ca)
    wrong_id = post(api, ca, [wrong]).json()["entries"][0]["id"]
    cancel = api.post(f"/api/v2/journal-entries/{wrong_id}/cancel", json_body={"client_account_id": ca})
    assert cancel.status == 200
    oracle.add(wrong)
    reversed_lines = [
        {**ln, "debit": ln.get("credit", "0"), "credit": ln.get("debit", "0")} for ln in wrong["lines"]
    ]
    oracle.add({**wrong, "lines": reversed_lines})
    return {"ca": ca, "oracle": oracle, "invoice": res["entries"][0], "cancelled": wrong_id}
