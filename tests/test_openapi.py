"""The OpenAPI document is the API's contract: every route of the template is in it with its statuses,
response schemas and media types, and /docs renders it without loading anything from elsewhere."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import ApiClient

PUBLIC = {
    ("GET", "/health"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/apps/reporting/files/{token}"),
}
REPORTS = (
    "balance-sheet",
    "income-statement",
    "trial-balance",
    "general-ledger",
    "accounts-payable",
    "accounts-receivable",
    "vat",
)
DOCUMENT_TYPES = {
    "application/json",
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "text/html",
}
ERROR = "#/components/schemas/ErrorBody"


@pytest.fixture
def doc(stack: Any) -> dict[str, Any]:
    return ApiClient(stack).get("/openapi.json").json()


def _schema_ref(response: dict[str, Any], media: str = "application/json") -> str | None:
    return response.get("content", {}).get(media, {}).get("schema", {}).get("$ref")


def test_the_document_is_valid_openapi_3_1(doc: dict[str, Any]) -> None:
    from openapi_spec_validator import validate

    assert doc["openapi"].startswith("3.1")
    validate(doc)


def test_openapi_documents_every_route_of_the_template_with_its_statuses(
    stack: Any, doc: dict[str, Any]
) -> None:
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for route in stack.http.routes:
        op = doc["paths"].get(route.path, {}).get(route.method.lower())
        assert op is not None, f"{route.method} {route.path} is not in the OpenAPI document"
        statuses = {int(code) for code in op["responses"]}
        label = f"{route.method} {route.path}"
        # A download link answers only with a redirect to the file.
        assert statuses & (set(range(200, 300)) | {303}), f"{label} documents no success"
        for code in statuses:
            response = op["responses"][str(code)]
            assert response.get("content"), f"{label} {code} has no body schema"
            if 400 <= code < 500 and code != 401:
                assert _schema_ref(response) == ERROR, f"{label} {code} is not the error body"
        if (route.method, route.path) in PUBLIC:
            assert op["security"] == []
            continue
        assert {400, 401, 403} <= statuses, f"{label}: {sorted(statuses)}"
        assert 500 not in statuses, f"{label}: a 5xx is a fault, not part of the contract"
        if "requestBody" in op:
            assert {413, 415, 422} <= statuses, f"{label}: {sorted(statuses)}"
        if "{" in route.path:  # not found, or no route when a segment is empty
            assert 404 in statuses, f"{label} has an id but no 404"
        success = [op["responses"][str(c)] for c in statuses if 200 <= c < 300]
        assert all(_schema_ref(r) or r["content"].keys() - {"application/json"} for r in success), label


def test_the_error_body_is_the_services_shape(doc: dict[str, Any]) -> None:
    error = doc["components"]["schemas"]["ErrorBody"]
    assert set(error["required"]) == {"status", "error", "message"}
    unauthorized = doc["paths"]["/api/v2/client-accounts"]["get"]["responses"]["401"]
    branches = doc["components"]["schemas"][_schema_ref(unauthorized).rsplit("/", 1)[-1]]["anyOf"]
    assert {"$ref": ERROR} in branches  # or API Gateway's {"message"} when no key was sent at all


@pytest.mark.parametrize("report", REPORTS)
def test_reports_declare_their_model_media_types_and_required_client_account(
    doc: dict[str, Any], report: str
) -> None:
    op = doc["paths"][f"/api/v2/reports/{report}"]["get"]
    ok = op["responses"]["200"]
    assert set(ok["content"]) == DOCUMENT_TYPES
    model = _schema_ref(ok).rsplit("/", 1)[-1]
    assert model in doc["components"]["schemas"]
    assert {"303", "406"} <= set(op["responses"])
    params = {p["name"]: p for p in op["parameters"]}
    assert params["client_account_id"]["required"] is True
    assert params["client_account_id"]["schema"]["type"] == "integer"


def test_ledger_reports_may_queue_their_document(doc: dict[str, Any]) -> None:
    for report in ("general-ledger", "accounts-payable", "accounts-receivable"):
        queued = doc["paths"][f"/api/v2/reports/{report}"]["get"]["responses"]["202"]
        assert _schema_ref(queued) == "#/components/schemas/ReportJobQueued"
        assert "Location" in queued["headers"]


def test_idempotency_key_is_a_required_header_of_posting(doc: dict[str, Any]) -> None:
    op = doc["paths"]["/api/v2/journal-entries"]["post"]
    (key,) = [p for p in op["parameters"] if p["name"].lower() == "idempotency-key"]
    assert key["in"] == "header" and key["required"] is True
    assert key["schema"]["type"] == "string"
    assert {"201", "409", "422"} <= set(op["responses"])


def test_saft_routes_declare_files_and_uploads(doc: dict[str, Any]) -> None:
    export = doc["paths"]["/api/v2/reports/data-export"]["get"]["responses"]
    assert {"text/xml", "application/xml"} <= set(export["200"]["content"])
    assert _schema_ref(export["202"]) == "#/components/schemas/ExportQueued"
    imports = doc["paths"]["/api/v2/client-accounts/imports"]["post"]
    assert set(imports["requestBody"]["content"]) == {
        "application/json",
        "application/xml",
        "application/zip",
    }
    assert {"201", "202"} <= set(imports["responses"])


def test_no_powertools_default_bodies_remain(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    assert not {"HTTPValidationError", "ValidationError", "ResponseValidationError"} & set(schemas)


def test_a_required_parameter_is_refused_as_documented(api: ApiClient) -> None:
    """The document marks client_account_id required; without it the seeds' 403 is the answer."""
    res = api.get("/api/v2/reports/balance-sheet")
    assert res.status == 403
    assert set(res.json()) >= {"status", "error", "message"}


def test_docs_page_renders_markdown_bodies_and_stays_self_contained(stack: Any) -> None:
    page = ApiClient(stack).get("/docs")
    assert page.status == 200
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    text = page.text
    assert "<code>Authorization: Bearer &lt;api key&gt;</code>" in text  # markdown, escaped
    assert "`" not in re.sub(r"<code>.*?</code>", "", text)
    assert "<h4>Request body (required)</h4>" in text
    assert 'href="#schema-ErrorBody"' in text and 'id="schema-ErrorBody"' in text
    assert 'id="schema-BalanceSheetRow"' in text
    # Nothing from another origin: no scripts, no external links, styles inline.
    assert "<script" not in text and "<link" not in text
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", text)


def test_markdown_escapes_before_formatting() -> None:
    from saldo.api.openapi import markdown

    assert markdown("a <b> `x*y*` **bold**") == ("<p>a &lt;b&gt; <code>x*y*</code> <strong>bold</strong></p>")
    assert markdown("- one\n- two") == "<ul><li>one</li><li>two</li></ul>"


def test_headers_read_from_the_request_are_declared(doc: dict[str, Any]) -> None:
    def headers(path: str, method: str = "get") -> set[str]:
        return {p["name"] for p in doc["paths"][path][method]["parameters"] if p["in"] == "header"}

    assert (
        "X-Organization-Id" in doc["info"]["description"]
    )  # in the text: as a parameter it misleads fuzzers
    assert {"Accept-Language", "Prefer"} <= headers("/api/v2/reports/general-ledger")
    assert "Prefer" not in headers("/api/v2/reports/balance-sheet")
    assert "parameters" not in doc["paths"]["/health"]["get"]


def test_a_query_date_is_iso_only(api: ApiClient) -> None:
    """pydantic alone would read a number as a Unix time; the document says format: date."""
    res = api.get("/api/v2/reports/vat", params={"client_account_id": 1, "date_from": "1700000000"})
    assert res.status == 400
    assert res.json()["details"][0]["field"] == "date_from"


def test_the_documents_server_is_the_stage_it_was_requested_by(stack: Any, doc: dict[str, Any]) -> None:
    """A client (or a fuzzer) resolving paths against `servers` lands under the stage, as on AWS."""
    assert doc["servers"][0]["url"] == stack.http.base_path == "/local"
