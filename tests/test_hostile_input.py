"""Nothing a client can send corrupts the books or gets a 500.

Each test sends what once broke the service (a null for a required field, amounts beyond what the books can
sum, bodies nested 1,000 deep, numbers of 5,000 digits, ...) and checks the answer is a 4xx in the one
error shape with nothing written, or, for what is accepted, that every report still reads.
"""

from __future__ import annotations

import base64
import json
import uuid
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from saldo import jsonenc
from tests.ledger.helpers import make_client_account, post, sale

TB = "/api/v2/reports/trial-balance"
YEAR = {"date_from": "2025-01-01", "date_to": "2025-12-31"}
MAX = "999999999999999.99"  # the largest amount accepted: |amount| < 10^15
REPORTS = [
    ("balance-sheet", {"report_date": "2025-12-31"}),
    ("income-statement", YEAR),
    ("trial-balance", YEAR),
    ("general-ledger", YEAR),
    ("accounts-payable", YEAR),
    ("accounts-receivable", YEAR),
    ("vat", YEAR),
]


def assert_error(res: Any, status: int) -> dict[str, Any]:
    """The service's one error shape: {status, error, message} (details optional)."""
    assert res.status == status, (res.status, res.text[:500])
    assert res.headers["content-type"].startswith("application/json")
    body = json.loads(res.body)
    assert body["status"] == status and isinstance(body["error"], str) and body["message"], body
    assert set(body) <= {"status", "error", "message", "details"}, body
    return body


def raw_post(api: Any, path: str, body: bytes, content_type: str = "application/json") -> Any:
    return api.post(
        path, body=body, headers={"content-type": content_type, "Idempotency-Key": uuid.uuid4().hex}
    )


def entry(lines: list[dict[str, Any]], day: str = "2025-03-01", **extra: Any) -> dict[str, Any]:
    return {"posting_date": day, "lines": lines, **extra}


def ledger_lines(api: Any, ca: int) -> list[dict[str, Any]]:
    res = api.get("/api/v2/reports/general-ledger", params={"client_account_id": ca, "per_page": 10_000})
    assert res.status == 200, res.text
    return res.json()["data"]


# ------------------------------------------------------------------ 1. PATCH can never break a record
@pytest.mark.parametrize("field", ["name", "fiscal_year_start_month", "vat_registered"])
def test_null_for_a_required_field_is_422_naming_it_and_nothing_is_stored(api, field):
    ca = make_client_account(api)
    before = api.get(f"/api/v2/client-accounts/{ca}").json()
    body = assert_error(api.patch(f"/api/v2/client-accounts/{ca}", json_body={field: None}), 422)
    assert field in body["message"] and body["details"][0]["field"] == field
    assert api.get(f"/api/v2/client-accounts/{ca}").json() == before
    assert api.get("/api/v2/client-accounts").status == 200
    assert api.get(TB, params={"client_account_id": ca, **YEAR}).status == 200
    assert post(api, ca, [sale("2025-02-01", "100", ca=ca)]).status == 201


def test_null_lock_date_removes_the_lock(api):
    ca = make_client_account(api)
    assert api.patch(f"/api/v2/client-accounts/{ca}", json_body={"locked_until": "2025-01-31"}).status == 200
    res = api.patch(f"/api/v2/client-accounts/{ca}", json_body={"locked_until": None, "name": "Ny AS"})
    assert res.status == 200 and res.json()["locked_until"] is None and res.json()["name"] == "Ny AS"


def test_a_record_that_does_not_load_is_skipped_and_a_patch_repairs_it(api, tenant):
    from saldo.adapters.clients import client
    from saldo.config import settings

    good = make_client_account(api)
    broken = make_client_account(api, regno="974760673")
    # A record stored before PATCH validated the merged record: its name was removed.
    client("dynamodb").update_item(
        TableName=settings().table_name,
        Key={"pk": {"S": f"ORG#{tenant['org_id']}"}, "sk": {"S": f"CA#{broken:012d}"}},
        UpdateExpression="REMOVE #n",
        ExpressionAttributeNames={"#n": "name"},
    )
    listed = api.get("/api/v2/client-accounts")
    assert listed.status == 200 and [a["id"] for a in listed.json()["data"]] == [good]
    assert api.get(TB, params={"client_account_id": good, **YEAR}).status == 200
    assert post(api, good, [sale("2025-02-01", "100", ca=good)]).status == 201
    assert "name" in assert_error(api.get(TB, params={"client_account_id": broken, **YEAR}), 409)["message"]
    # A PATCH without the missing field names it; with it, the record is whole again.
    body = assert_error(
        api.patch(f"/api/v2/client-accounts/{broken}", json_body={"vat_registered": False}), 422
    )
    assert body["details"][0]["field"] == "name"
    fixed = api.patch(f"/api/v2/client-accounts/{broken}", json_body={"name": "Reparert AS"})
    assert fixed.status == 200 and fixed.json()["name"] == "Reparert AS"
    assert {a["id"] for a in api.get("/api/v2/client-accounts").json()["data"]} == {good, broken}
    assert api.get(TB, params={"client_account_id": broken, **YEAR}).status == 200


# ------------------------------------------------------------------ 2. numbers are exact Decimals
def test_json_numbers_are_parsed_as_exact_decimals_and_integers_stay_integers():
    parsed = jsonenc.loads_request('{"a": 99999999999999.99, "b": 0.1, "c": 7, "d": [1e2, -0.0]}')
    assert parsed["a"] == Decimal("99999999999999.99") and type(parsed["a"]) is Decimal
    assert parsed["b"] == Decimal("0.1") and type(parsed["c"]) is int
    assert parsed["d"] == [Decimal("1e2"), Decimal("-0.0")]


def test_amounts_sent_as_json_numbers_are_stored_exactly(api):
    ca = make_client_account(api)
    text = (
        '{"client_account_id": CA, "entries": [{"posting_date": "2025-03-01", "lines": ['
        '{"account_code": "1920", "debit": 99999999999999.99, "currency_code": "EUR", '
        '"currency_amount": 199999999999999.98, "exchange_rate": 0.5},'
        '{"account_code": "3000", "credit": 99999999999999.99}]}]}'
    ).replace("CA", str(ca))
    assert raw_post(api, "/api/v2/journal-entries", text.encode()).status == 201
    line = next(r for r in ledger_lines(api, ca) if r["account_code"] == "1920")
    assert line["debit"] == Decimal("99999999999999.99")
    assert line["currency_amount"] == Decimal("199999999999999.98")
    assert Decimal(str(line["exchange_rate"])) == Decimal("0.5")


# ------------------------------------------------------------------ 3. amounts the books can always sum
def test_amounts_beyond_the_bound_are_422_and_nothing_is_written(api):
    ca = make_client_account(api)
    too_big = "1000000000000000.00"  # 10^15
    bad = entry([{"account_code": "1920", "debit": too_big}, {"account_code": "3000", "credit": too_big}])
    body = assert_error(post(api, ca, [bad, bad]), 422)
    assert body["details"][0]["field"] == "entries.0.lines.0.debit"
    worst = "9999999999999999.99"  # fits DECIMAL(18,2); two of them did not fit a sum
    body = assert_error(
        post(
            api,
            ca,
            [entry([{"account_code": "1920", "debit": worst}, {"account_code": "3000", "credit": worst}])],
        ),
        422,
    )
    for field, value in (
        ("currency_amount", "-" + too_big),
        ("tax_amount", too_big),
        ("tax_base_amount", too_big),
    ):
        line = {"account_code": "1920", "debit": "1", field: value}
        assert_error(post(api, ca, [entry([line, {"account_code": "3000", "credit": "1"}])]), 422)
    # The largest currency amount at the largest rate: refused as not matching, not a Decimal overflow.
    line = {"account_code": "1920", "debit": "1", "currency_amount": MAX, "exchange_rate": "999999999.999999"}
    assert_error(post(api, ca, [entry([line, {"account_code": "3000", "credit": "1"}])]), 422)
    line = {**line, "exchange_rate": "1000000000"}
    assert_error(post(api, ca, [entry([line, {"account_code": "3000", "credit": "1"}])]), 422)
    res = api.post(
        f"/api/v2/client-accounts/{ca}/accounts",
        json_body={"items": [{"code": "1930", "name": "Bank", "opening_balance": too_big}]},
    )
    assert assert_error(res, 422)["details"][0]["field"] == "items.0.opening_balance"
    assert ledger_lines(api, ca) == []
    assert api.get(TB, params={"client_account_id": ca, **YEAR}).status == 200


def test_the_amount_bound_is_in_the_openapi_document(stack):
    from saldo.api.openapi import openapi_document

    debit = openapi_document()["components"]["schemas"]["JournalLineIn"]["properties"]["debit"]
    number = next(s for s in debit["anyOf"] if s["type"] == "number")
    assert number["exclusiveMaximum"] == 10**15 and number["exclusiveMinimum"] == -(10**15)
    assert "10^15" in debit["description"]


# ------------------------------------------------------------------ 4. pathological input is a 4xx
PATHOLOGICAL_BODIES = [
    ("nested 1,000 deep", b"[" * 1000 + b"]" * 1000),
    ("objects nested 1,000 deep", b'{"a":' * 1000 + b"1" + b"}" * 1000),
    ("1e999999999", b'{"client_account_id": 1e999999999, "entries": []}'),
    ("a 5,000-digit integer", b'{"client_account_id": ' + b"9" * 5000 + b', "entries": []}'),
    (
        "an integer beyond 64 bits",
        b'{"client_account_id": 1, "entries": [{"voucher_id": ' + b"9" * 30 + b"}]}",
    ),
    ("a decimal beyond 10^18", b'{"client_account_id": 1e30, "entries": []}'),
    ("NaN", b'{"client_account_id": NaN, "entries": []}'),
    ("Infinity", b'{"client_account_id": 1, "entries": [{"lines": [{"debit": -Infinity}]}]}'),
    ("not JSON", b"{abc"),
    ("empty", b""),
    ("null", b"null"),
    ("a list", b"[1, 2]"),
]


@pytest.mark.parametrize(("what", "body"), PATHOLOGICAL_BODIES, ids=[w for w, _ in PATHOLOGICAL_BODIES])
def test_pathological_bodies_are_4xx_in_the_error_shape(api, what, body):
    res = raw_post(api, "/api/v2/journal-entries", body)
    assert 400 <= res.status < 500, (what, res.status, res.text[:300])
    assert_error(res, res.status)


def test_a_deep_body_is_refused_on_every_json_route(api):
    ca = make_client_account(api)
    deep = b'{"items": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    for path in (
        f"/api/v2/client-accounts/{ca}/accounts",
        f"/api/v2/client-accounts/{ca}/business-partners",
        "/api/v2/client-accounts",
        "/api/v2/client-accounts/imports",
    ):
        assert_error(raw_post(api, path, deep), 422)
    assert_error(
        api.request(
            "PATCH", f"/api/v2/client-accounts/{ca}", body=deep, headers={"content-type": "application/json"}
        ),
        422,
    )


def test_base64_bodies_that_are_not_utf8_are_400(api):
    event_body = base64.b64encode(b'{"name": "\xff"}').decode()
    from saldo.api.auth import _check_text_body
    from saldo.errors import BadRequest

    with pytest.raises(BadRequest):
        _check_text_body({"body": event_body, "isBase64Encoded": True, "headers": {}})


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v2/reports/general-ledger", {"page": "1e40"}),
        ("/api/v2/reports/general-ledger", {"page": "1" + "0" * 40}),
        ("/api/v2/reports/accounts-receivable", {"page": "9" * 19}),
        ("/api/v2/reports/general-ledger", {"dimensions": "project:" + "1" * 40}),
        ("/api/v2/reports/general-ledger", {"date_from": "0001-01-01"}),
        ("/api/v2/reports/trial-balance", {"date_from": "0001-01-01", "date_to": "0001-12-31"}),
        ("/api/v2/journal-entries/" + "1" * 40, {}),
        ("/api/v2/reports/data-export", {"date_from": "9999-01-01", "date_to": "9999-12-31"}),
    ],
)
def test_pathological_query_and_path_values_are_400(api, path, params):
    ca = make_client_account(api, fiscal_year_start_month=7)
    assert post(api, ca, [sale("2025-02-01", "100", ca=ca)]).status == 201
    assert_error(api.get(path, params={"client_account_id": ca, **params}), 400)


def test_a_registration_number_of_1100_characters_is_422(api):
    for country in ("NO", "DK", "SE", "FI", "IS"):
        body = {"name": "X", "registration_number": "1" * 1100, "country": country}
        res = api.post("/api/v2/client-accounts", json_body=body)
        assert assert_error(res, 422)["details"][0]["field"] == "registration_number"
    assert api.get("/api/v2/client-accounts").json()["data"] == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("posting_date", "0001-01-01"),
        ("posting_date", "9999-12-31"),
        ("voucher_id", 2**63),
        ("sequence_number", 10**30),
    ],
)
def test_dates_and_ids_the_books_cannot_hold_are_422(api, field, value):
    ca = make_client_account(api, fiscal_year_start_month=7)
    bad = {**sale("2025-02-01", "100", ca=ca), field: value}
    assert_error(post(api, ca, [bad]), 422)
    assert ledger_lines(api, ca) == []


def test_ids_the_books_cannot_hold_in_master_data_are_422(api):
    ca = make_client_account(api)
    for path, item in (
        ("business-partners", {"id": 10**30, "name": "X", "kind": "customer"}),
        ("dimensions", {"type": "project", "id": 10**20, "name": "X"}),
    ):
        assert_error(api.post(f"/api/v2/client-accounts/{ca}/{path}", json_body={"items": [item]}), 422)
    assert api.get(TB, params={"client_account_id": ca, **YEAR}).status == 200


# ------------------------------------------------------------------ 6. Content-Disposition is ASCII-safe
NAME = "株式会社 Ølstue — Ärzte"


def test_content_disposition_of_a_non_latin1_name_is_ascii_with_an_rfc5987_name():
    from saldo.render.negotiation import content_disposition

    value = content_disposition(f"{NAME}.pdf")
    value.encode("ascii")
    assert value.startswith('attachment; filename="') and "filename*=UTF-8''" in value
    assert unquote(value.split("filename*=UTF-8''")[1]) == f"{NAME}.pdf"
    assert content_disposition("SAF-T Financial_923609016_20250101120000_1_1.xml") == (
        'attachment; filename="SAF-T Financial_923609016_20250101120000_1_1.xml"'
    )


def test_presigned_download_links_carry_an_ascii_content_disposition(stack):
    from saldo.adapters import documents
    from saldo.config import settings

    url = documents.presign_get(settings().document_bucket, "outputs/x.zip", file_name=f"{NAME}.zip")
    value = parse_qs(urlsplit(url).query)["response-content-disposition"][0]
    value.encode("ascii")
    assert unquote(value.split("filename*=UTF-8''")[1]) == f"{NAME}.zip"


# ------------------------------------------------------------------ 7. one error shape, one answer
def test_415_413_422_and_500_are_in_the_error_shape(api, monkeypatch):
    from saldo.api import auth
    from saldo.ledger.service import LedgerService

    ca = make_client_account(api)
    body = assert_error(raw_post(api, "/api/v2/journal-entries", b"a=1", "text/plain"), 415)
    assert "text/plain" in body["message"]
    assert_error(
        api.post(
            "/api/v2/journal-entries", json_body={"client_account_id": ca}, headers={"Idempotency-Key": "k"}
        ),
        422,
    )
    monkeypatch.setitem(auth._body_limits, "POST /api/v2/journal-entries", 64)
    assert_error(raw_post(api, "/api/v2/journal-entries", b"{" + b" " * 100 + b"}"), 413)

    def explode(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(LedgerService, "list_client_accounts", explode)
    body = assert_error(api.get("/api/v2/client-accounts"), 500)
    assert "bug" not in body["message"]


def test_an_unknown_client_account_is_403_on_every_route_family(api):
    ca = make_client_account(api)
    unknown = ca + 1000
    answers = {
        "GET client account": api.get(f"/api/v2/client-accounts/{unknown}"),
        "PATCH client account": api.patch(f"/api/v2/client-accounts/{unknown}", json_body={"name": "X"}),
        "chart": api.get(f"/api/v2/client-accounts/{unknown}/accounts"),
        "post entries": post(api, unknown, [sale("2025-02-01", "100", ca=unknown)]),
        "get entry": api.get("/api/v2/journal-entries/1", params={"client_account_id": unknown}),
        "trial balance": api.get(TB, params={"client_account_id": unknown, **YEAR}),
        "general ledger": api.get("/api/v2/reports/general-ledger", params={"client_account_id": unknown}),
        "data export": api.get("/api/v2/reports/data-export", params={"client_account_id": unknown}),
        "saf-t financial": api.get("/api/v2/reports/saf-t-financial", params={"client_account_id": unknown}),
    }
    assert {k: r.status for k, r in answers.items()} == {k: 403 for k in answers}
    for res in answers.values():
        assert_error(res, 403)


# ------------------------------------------------------------------ what is accepted reads back everywhere
def test_the_most_hostile_accepted_values_still_read_in_every_report(api):
    ca = make_client_account(api, regno="974760673")
    assert api.patch(f"/api/v2/client-accounts/{ca}", json_body={"name": NAME}).status == 200
    arabic = make_client_account(api, regno="DK 24 25 67 90", country="DK", currency="DKK")
    assert (
        api.patch(f"/api/v2/client-accounts/{arabic}", json_body={"name": "شركة المحاسبة ذ.م.م"}).status
        == 200
    )
    api.post(
        f"/api/v2/client-accounts/{ca}/accounts",
        json_body={
            "items": [
                {"code": "1920", "name": "Bank 銀行", "opening_balance": MAX},
                {"code": "2050", "name": "Egenkapital حقوق", "opening_balance": "-" + MAX},
            ]
        },
    )
    partner = {"id": 2**63 - 1, "name": "株式会社 取引先 " + "ش" * 200, "kind": "customer"}
    assert (
        api.post(f"/api/v2/client-accounts/{ca}/business-partners", json_body={"items": [partner]}).status
        == 200
    )
    # 2 x 40 lines of the largest amount on one account and day: each day's sum is far beyond DECIMAL(18,2).
    many = [
        {"account_code": "1500", "debit": MAX, "relation_type": "businesspartner", "relation_id": 2**63 - 1}
    ] * 20
    many += [
        {
            "account_code": "3000",
            "credit": MAX,
            "description": "売上 مبيعات — Ærø " + "x" * 480,
            "currency_code": "JPY",
            "currency_amount": "-" + MAX,
            "exchange_rate": "1.000000",
        }
    ] * 20
    big = entry(many, day="2025-06-30", description="株式会社 " * 50, voucher_id=2**63 - 1)
    vat_line = {
        "account_code": "3000",
        "credit": MAX,
        "tax_code": "3",
        "tax_base_amount": "-" + MAX,
        "tax_amount": "-" + MAX,
    }
    vat = entry(
        [
            {"account_code": "1500", "debit": MAX, "relation_type": "businesspartner", "relation_id": 88},
            vat_line,
        ],
        day="2025-12-31",
    )
    rate = {
        "account_code": "1920",
        "debit": "1000000000.00",
        "currency_code": "BTC",
        "currency_amount": "1.00",
        "exchange_rate": "999999999.999999",
    }
    edges = [
        entry([rate, {"account_code": "3000", "credit": "1000000000.00"}]),
        entry(
            [{"account_code": "1920", "debit": "0.01"}, {"account_code": "3000", "credit": "0.01"}],
            day="1900-01-01",
        ),
        entry(
            [{"account_code": "1920", "debit": MAX}, {"account_code": "3000", "credit": MAX}],
            day="2199-12-31",
        ),
    ]
    payment = entry(
        [
            {"account_code": "1920", "debit": MAX},
            {
                "account_code": "1500",
                "credit": MAX,
                "relation_type": "businesspartner",
                "relation_id": 2**63 - 1,
            },
        ],
        day="2025-07-01",
    )
    res = post(api, ca, [big, big, vat, *edges, payment])
    assert res.status == 201, res.text
    receivables = [r for r in ledger_lines(api, ca) if r["account_code"] == "1500"]
    invoice = next(r for r in receivables if r["debit"] > 0)
    paid = next(r for r in receivables if r["credit"] > 0)
    matched = api.post(
        "/api/v2/reconciliations",
        json_body={
            "client_account_id": ca,
            "lines": [{"line_id": invoice["id"], "amount": MAX}, {"line_id": paid["id"], "amount": MAX}],
        },
    )
    assert matched.status == 200, matched.text

    total = Decimal(MAX) * 41  # 2 x 20 debit lines and the VAT entry's one on 1500
    for report, params in REPORTS:
        res = api.get(f"/api/v2/reports/{report}", params={"client_account_id": ca, **params})
        assert res.status == 200, (report, res.text[:500])
        for value in res.headers.values():
            value.encode("ascii")
    tb = api.get(TB, params={"client_account_id": ca, **YEAR}).json()
    assert sum(Decimal(str(r["debit"])) for r in tb if r["account_code"] == "1500") == total
    assert sum(Decimal(str(r["outgoing_balance"])) for r in tb) == 0
    for accept in ("application/pdf", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"):
        res = api.get(TB, params={"client_account_id": ca, **YEAR}, headers={"accept": accept})
        assert res.status == 200 and res.headers["content-type"].startswith(accept), res.text[:300]
        res.headers["content-disposition"].encode("ascii")
    res = api.get("/api/v2/reports/data-export", params={"client_account_id": arabic, **YEAR})
    assert res.status == 200, res.text[:500]
    res.headers["content-disposition"].encode("ascii")
    # 41 x 10^15 is past SAF-T's 18 digits: refused with the reason rather than an invalid file.
    res = api.get("/api/v2/reports/data-export", params={"client_account_id": ca, **YEAR})
    assert res.status == 422 and "at most 18 digits" in res.json()["message"], res.text[:500]
    listed = api.get("/api/v2/client-accounts").json()["data"]
    assert {a["name"] for a in listed} == {NAME, "شركة المحاسبة ذ.م.م"}
