"""A chart of 20,000 accounts through the HTTP API: the upsert answers a summary, the list pages through
every account once, and every report answers 200 (the summary reports' JSON gzipped or, without gzip,
stored and answered with 303, since it is larger than a Lambda response may be)."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from typing import Any

import pytest

from tests.ledger.helpers import CHART, make_client_account

N = 20_000
YEAR_PARAMS = {"date_from": "2025-01-01", "date_to": "2025-12-31"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def big_chart(n: int = N) -> list[dict[str, Any]]:
    """Six-digit codes over classes 1-8; openings in ± pairs, so they sum to zero."""
    out = []
    for i in range(n):
        amount = (i // 2) % 997 + 1
        out.append(
            {
                "code": str(100_000 + i * 40),
                "name": f"Konto {i:05d}",
                "opening_balance": f"{amount if i % 2 == 0 else -amount}.00",
            }
        )
    return out


def entries(codes: list[str]) -> list[dict[str, Any]]:
    """Entries whose lines touch every 10th account, balance sheet and result accounts alike."""
    touched = codes[::10]
    out = []
    for j in range(0, len(touched) - 1, 10):
        lines = []
        for k, code in enumerate(touched[j : j + 10]):
            lines.append({"account_code": code, "debit" if k % 2 == 0 else "credit": "100.00"})
        if len(lines) % 2:
            lines.pop()
        out.append(
            {"posting_date": f"2025-{j // 10 % 12 + 1:02d}-10", "description": f"B{j}", "lines": lines}
        )
    return out


@pytest.fixture
def big(api: Any) -> dict[str, Any]:
    ca = make_client_account(api)
    chart = big_chart()
    res = api.post(f"/api/v2/client-accounts/{ca}/accounts", json_body={"items": chart})
    assert res.status == 200, res.text
    assert res.json() == {"created": N, "updated": 0, "unchanged": 0, "meta": {"records": N}}
    assert len(res.body) < 200  # a summary, not the 20,000 records
    posted = api.post(
        "/api/v2/journal-entries",
        json_body={"client_account_id": ca, "entries": entries([a["code"] for a in chart])},
        headers={"Idempotency-Key": "big-chart-1"},
    )
    assert posted.status == 201, posted.text
    return {"ca": ca, "chart": chart}


def _gunzip_json(res: Any) -> Any:
    assert res.headers.get("content-encoding") == "gzip"
    return json.loads(gzip.decompress(res.body), parse_float=Decimal)


def test_a_big_chart_upserts_lists_and_reports(api: Any, big: dict[str, Any]) -> None:
    ca, chart = big["ca"], big["chart"]
    all_codes = {a["code"] for a in chart} | {a["code"] for a in CHART}

    # Upserting again: counted, nothing rewritten; a mixed batch counts each kind.
    again = api.post(f"/api/v2/client-accounts/{ca}/accounts", json_body={"items": chart[:3000]})
    assert again.json() == {"created": 0, "updated": 0, "unchanged": 3000, "meta": {"records": 3000}}
    mixed = [
        chart[0],
        {**chart[1], "name": "Omdøpt konto"},
        {"code": "999999", "name": "Ny konto"},
    ]
    res = api.post(f"/api/v2/client-accounts/{ca}/accounts", json_body={"items": mixed})
    assert res.json() == {"created": 1, "updated": 1, "unchanged": 1, "meta": {"records": 3}}
    all_codes.add("999999")

    # Page by page: every account exactly once, in code order, with its grouping.
    seen: list[str] = []
    page = 1
    while True:
        res = api.get(f"/api/v2/client-accounts/{ca}/accounts", params={"page": page, "per_page": 5000})
        assert res.status == 200, res.text
        body = res.json()
        assert body["meta"] == {"records": len(all_codes), "per_page": 5000, "page": page, "pages": 5}
        seen += [a["code"] for a in body["data"]]
        if page == body["meta"]["pages"]:
            break
        page += 1
    assert seen == sorted(all_codes)
    assert (
        api.get(f"/api/v2/client-accounts/{ca}/accounts", params={"page": 6, "per_page": 5000}).json()["data"]
        == []
    )
    first = api.get(f"/api/v2/client-accounts/{ca}/accounts").json()  # default page: 1,000 by code
    assert len(first["data"]) == 1000 and first["meta"]["pages"] == 21
    assert first["data"][0]["code"] == "100000" and first["data"][0]["grouping"]["level_1_code"] == "1000"
    assert first["data"][1]["name"] == "Omdøpt konto"
    too_big = api.get(f"/api/v2/client-accounts/{ca}/accounts", params={"per_page": 5001})
    assert too_big.status == 400

    # The trial balance of every account: gzipped for a client that accepts it (sums to zero) ...
    tb = api.get(
        "/api/v2/reports/trial-balance",
        params={"client_account_id": ca, **YEAR_PARAMS},
        headers={"accept-encoding": "gzip, deflate"},
    )
    assert tb.status == 200, tb.text
    rows = _gunzip_json(tb)
    assert {r["account_code"] for r in rows} >= all_codes
    assert sum(r["outgoing_balance"] for r in rows) == 0
    # ... else stored and answered with 303 to it (never the 500 of a response over 6 MB).
    plain = api.get("/api/v2/reports/trial-balance", params={"client_account_id": ca, **YEAR_PARAMS})
    assert plain.status == 303, plain.text[:300]
    assert plain.headers["location"] == plain.json()["location"]

    bs = api.get(
        "/api/v2/reports/balance-sheet",
        params={"client_account_id": ca, "report_date": "2025-12-31"},
        headers={"accept-encoding": "gzip"},
    )
    assert bs.status == 200, bs.text
    bs_rows = (
        json.loads(bs.body, parse_float=Decimal) if "content-encoding" not in bs.headers else _gunzip_json(bs)
    )
    assert sum(r["balance"] for r in bs_rows) == 0
    for path, params in (
        ("income-statement", YEAR_PARAMS),
        ("general-ledger", {**YEAR_PARAMS, "per_page": 1000}),
        ("accounts-receivable", YEAR_PARAMS),
        ("accounts-payable", YEAR_PARAMS),
        ("vat", YEAR_PARAMS),
    ):
        res = api.get(
            f"/api/v2/reports/{path}",
            params={"client_account_id": ca, **params},
            headers={"accept-encoding": "gzip"},
        )
        assert res.status == 200, (path, res.text[:300])

    for accept, magic in (("application/pdf", b"%PDF"), (XLSX, b"PK")):
        doc = api.get(
            "/api/v2/reports/trial-balance",
            params={"client_account_id": ca, **YEAR_PARAMS},
            headers={"accept": accept},
        )
        assert doc.status == 200, doc.text[:300]
        assert doc.body.startswith(magic)


def test_a_request_over_the_item_limit_is_refused_whole(api: Any) -> None:
    ca = make_client_account(api)
    items = [{"code": str(100_000 + i), "name": "K"} for i in range(50_001)]
    res = api.post(f"/api/v2/client-accounts/{ca}/accounts", json_body={"items": items})
    assert res.status == 422, res.text[:300]
    assert res.json()["message"].startswith(
        "Invalid value for 'items': 50001 items in one request; at most 50,000"
    )
    listed = api.get(f"/api/v2/client-accounts/{ca}/accounts").json()
    assert listed["meta"]["records"] == len(CHART)  # nothing written


def test_the_local_stack_answers_500_for_a_response_over_lambdas_6_mb() -> None:
    """As on AWS (Function.ResponseSizeTooLarge), so a test sees a response that could not be delivered."""
    from saldo_tools.localstack.httpapi import HttpApi, Route

    class Runtime:
        size = 0

        def invoke(self, function: str, event: dict[str, Any]) -> dict[str, Any]:
            return {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": "x" * self.size}

    runtime = Runtime()
    http = HttpApi(runtime, "eu-north-1")  # type: ignore[arg-type]
    http.routes.append(Route("GET", "/big", "Fn", None))
    runtime.size = 6 * 1024 * 1024 - 1024
    assert http.handle("GET", "/big", {}, b"").status == 200
    runtime.size = 6 * 1024 * 1024 + 1
    assert http.handle("GET", "/big", {}, b"").status == 500
