"""A request body is read only as a media type its route takes, and only as the JSON types its document
states: anything else is a 4xx in the error shape, never a 500 and never a guess."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from tests.ledger.helpers import make_client_account, post, sale

K = "sld_demo_local-demo-key-not-for-production"


def _body_routes(api: Any) -> list[tuple[str, str, tuple[str, ...]]]:
    # Read from the served document, inside a test: importing the functions' code at collection time
    # would set up their metrics before a test's environment does.
    out = []
    for path, item in api.get("/openapi.json").json()["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and "requestBody" in op:
                types = tuple(op["requestBody"]["content"])
                out.append((method.upper(), re.sub(r"\{[^}]+\}", "1", path), types))
    return out


def test_every_family_of_routes_with_a_body_is_covered(api) -> None:
    paths = {p for _m, p, _t in _body_routes(api)}
    for family in ("/journal-entries", "/reconciliations", "/companies", "/persons", "/imports"):
        assert any(family in p for p in paths), family


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
        "text/plain",
        "garbage",
        "application/jsonx",
    ],
)
def test_a_content_type_the_route_does_not_take_is_a_415_naming_the_types_it_does(api, content_type):
    for method, path, accepted in _body_routes(api):
        headers = {"content-type": content_type, "Idempotency-Key": uuid.uuid4().hex}
        res = api.request(method, path, body=b"{}", headers=headers)
        assert res.status == 415, (method, path, res.status, res.text[:300])
        body = res.json()
        assert set(body) == {"status", "error", "message"} and body["status"] == 415
        assert all(t in body["message"] for t in accepted), body


def test_json_is_still_json_with_parameters_or_without_a_header(api):
    for content_type in ("application/json; charset=utf-8", "Application/JSON"):
        res = api.post("/api/v2/client-accounts", body=b"{}", headers={"content-type": content_type})
        assert res.status == 422 and "name" in res.json()["message"], res.text
    assert api.post("/api/v2/client-accounts", body=b"{}").status == 422


def _post(api: Any, method: str, path: str, body: Any) -> Any:
    return api.request(method, path, json_body=body, headers={"Idempotency-Key": uuid.uuid4().hex})


def _refused(res: Any, field: str) -> None:
    assert res.status == 422, res.text[:300]
    body = res.json()
    assert body["details"][0]["field"] == field, body


@pytest.mark.parametrize("wrong", [0, 1, "true", "false", None])
def test_booleans_are_json_booleans_only(api, wrong):
    ca = make_client_account(api)
    base = f"/api/v2/client-accounts/{ca}"
    cases = [
        (
            "POST",
            f"{base}/dimensions",
            {"items": [{"type": "tag", "id": 1, "name": "x", "active": wrong}]},
            "items.0.active",
        ),
        (
            "POST",
            f"{base}/accounts",
            {"items": [{"code": "9", "name": "x", "active": wrong}]},
            "items.0.active",
        ),
        ("PATCH", base, {"vat_registered": wrong}, "vat_registered"),
        ("PUT", "/api/v2/persons/p1", {"name": "x", "pep": wrong}, "pep"),
        ("PUT", "/api/v2/companies/DK/12345674", {"name": "x", "listed": wrong}, "listed"),
    ]
    for method, path, body, field in cases:
        _refused(_post(api, method, path, body), field)
    # Nothing was written: the account's flag is as created.
    assert api.get(base).json()["vat_registered"] is True


@pytest.mark.parametrize("wrong", [0, 20250301, "0", "1700000000", "2025-03-01T00:00:00", "20250301"])
def test_dates_are_iso_strings_only(api, wrong):
    ca = make_client_account(api)
    cases = [
        (
            "POST",
            "/api/v2/journal-entries/1/cancel",
            {"client_account_id": ca, "cancel_date": wrong},
            "cancel_date",
        ),
        ("PATCH", f"/api/v2/client-accounts/{ca}", {"locked_until": wrong}, "locked_until"),
        ("PUT", "/api/v2/companies/DK/12345674", {"name": "x", "founded": wrong}, "founded"),
    ]
    for method, path, body, field in cases:
        _refused(_post(api, method, path, body), field)


def test_valid_booleans_dates_and_amounts_as_numbers_or_strings_are_taken(api):
    ca = make_client_account(api)
    res = _post(
        api, "PATCH", f"/api/v2/client-accounts/{ca}", {"vat_registered": False, "locked_until": "2020-12-31"}
    )
    assert res.status == 200, res.text
    assert res.json()["vat_registered"] is False and res.json()["locked_until"] == "2020-12-31"
    res = _post(
        api, "PUT", "/api/v2/companies/DK/12345674", {"name": "x", "listed": True, "founded": "2001-02-03"}
    )
    assert res.status in (200, 201), res.text


def test_the_document_still_says_boolean_and_date(api) -> None:
    schemas = api.get("/openapi.json").json()["components"]["schemas"]
    patch = schemas["ClientAccountPatch"]["properties"]
    assert {"type": "boolean"} in patch["vat_registered"]["anyOf"]
    assert any(s.get("format") == "date" for s in patch["locked_until"]["anyOf"])
    assert schemas["PersonIn"]["properties"]["pep"]["type"] == "boolean"


def test_amounts_stay_json_numbers_or_strings_exactly(api):

    ca = make_client_account(api)
    as_number = sale("2025-03-01", "100.10", ca=ca)
    as_number["lines"][0]["debit"] = 100.1  # a JSON number, read as an exact Decimal
    res = post(api, ca, [as_number, sale("2025-03-02", "100.10", ca=ca)])
    assert res.status in (200, 201), res.text
    rows = api.get("/api/v2/reports/general-ledger", params={"client_account_id": ca}).json()["data"]
    assert sorted(str(r["debit"]) for r in rows if r["account_code"] == "1500") == ["100.10", "100.10"]
