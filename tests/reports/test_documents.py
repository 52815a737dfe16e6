"""Every report as Excel, HTML and PDF, read back with real readers and compared with its JSON."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from urllib.parse import unquote, urlsplit

import pytest

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
R = "/api/v2/reports"
REPORTS = {
    "balance-sheet": {"report_date": "2025-12-31"},
    "income-statement": {"date_from": "2025-01-01", "date_to": "2025-12-31"},
    "trial-balance": {"date_from": "2025-01-01", "date_to": "2025-12-31", "include_dimensions": "false"},
    "general-ledger": {"date_from": "2025-01-01", "date_to": "2025-12-31"},
    "accounts-receivable": {"date_to": "2025-12-31"},
    "accounts-payable": {"date_to": "2025-12-31"},
    "vat": {"date_from": "2025-01-01", "date_to": "2025-12-31"},
}


def nb_amount(value: Decimal) -> str:
    """1234567.89 → '1 234 567,89' with the narrow no-break space the renderers use."""
    sign = "-" if value < 0 else ""
    whole, frac = f"{abs(value):.2f}".split(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return sign + "\u202f".join(groups) + "," + frac


def fetch(api, report, accept, **extra):
    params = {"client_account_id": extra.pop("ca"), **REPORTS[report], **extra}
    return api.get(f"{R}/{report}", params=params, headers={"Accept": accept})


def expected_amounts(api, report, ca) -> list[Decimal]:
    """A few figures each document must show: totals from the report's JSON."""
    body = api.get(
        f"{R}/{report}", params={"client_account_id": ca, **REPORTS[report], "per_page": 10_000}
    ).json()
    if report == "balance-sheet":
        return [next(r["balance"] for r in body if r["account_code"] == "1920")]
    if report == "income-statement":
        return [sum(body[0]["period_debit_movements"].values())]
    if report == "trial-balance":
        return [sum(r["debit"] for r in body)]
    if report == "vat":
        return [body["totals"]["vat_payable"]]
    return [sum(r["debit"] for r in body["data"])]


@pytest.fixture
def api(shared):
    return shared[0]


@pytest.fixture
def ledger(shared):
    return shared[1]


@pytest.fixture
def stack(shared):
    return shared[2]


@pytest.mark.parametrize("report", sorted(REPORTS))
def test_excel_matches_json(api, ledger, report):
    from openpyxl import load_workbook

    ca = ledger["ca"]
    res = fetch(api, report, XLSX, ca=ca)
    assert res.status == 200, res.text[:500]
    assert res.headers["content-type"] == XLSX
    assert (
        "attachment" in res.headers["content-disposition"] and ".xlsx" in res.headers["content-disposition"]
    )
    wb = load_workbook(io.BytesIO(res.body), read_only=True)
    values = [
        c for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row if c is not None
    ]
    numbers = {Decimal(str(v)).quantize(Decimal("0.01")) for v in values if isinstance(v, int | float)}
    for amount in expected_amounts(api, report, ca):
        assert amount in numbers, (report, amount)
    if report == "general-ledger":
        assert any(isinstance(v, date) for v in values)  # dates are real dates


@pytest.mark.parametrize("report", sorted(REPORTS))
def test_html_matches_json(api, ledger, report):
    from lxml import html

    ca = ledger["ca"]
    res = fetch(api, report, "text/html", ca=ca)
    assert res.status == 200, res.text[:500]
    assert res.headers["content-type"].startswith("text/html")
    assert "content-security-policy" in res.headers
    tree = html.fromstring(res.body)
    text = tree.text_content()
    assert "Fjord Regnskap AS" in text and "923 609 016" in text.replace("\u00a0", " ")
    for amount in expected_amounts(api, report, ca):
        assert nb_amount(amount) in text, (report, amount)


@pytest.mark.parametrize("report", sorted(REPORTS))
def test_pdf_matches_json(api, ledger, report):
    from pypdf import PdfReader

    ca = ledger["ca"]
    res = fetch(api, report, "application/pdf", ca=ca)
    assert res.status == 200, res.text[:500]
    assert res.body.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(res.body))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Fjord Regnskap AS" in text
    assert f"Side 1 av {len(reader.pages)}" in text
    flat = text.replace("\u202f", " ").replace("\u00a0", " ")
    for amount in expected_amounts(api, report, ca):
        assert nb_amount(amount).replace("\u202f", " ") in flat, (report, amount)


def test_english_labels_and_formats(api, ledger):
    from lxml import html

    res = api.get(
        f"{R}/trial-balance",
        params={"client_account_id": ledger["ca"], **REPORTS["trial-balance"]},
        headers={"Accept": "text/html", "Accept-Language": "en-GB,en;q=0.9"},
    )
    text = html.fromstring(res.body).text_content()
    assert "Trial balance" in text and "Saldobalanse" not in text
    assert "2025-01-01" in text


def test_negotiation(api, ledger):
    ca = ledger["ca"]
    params = {"client_account_id": ca, "report_date": "2025-12-31"}
    assert (
        api.get(f"{R}/balance-sheet", params=params, headers={"Accept": "*/*"})
        .headers["content-type"]
        .startswith("application/json")
    )
    pdf = api.get(f"{R}/balance-sheet", params=params, headers={"Accept": "text/html;q=0.5, application/pdf"})
    assert pdf.headers["content-type"] == "application/pdf"
    refused = api.get(f"{R}/balance-sheet", params=params, headers={"Accept": "image/png"})
    assert refused.status == 406
    assert "application/pdf" in refused.json()["message"]
    assert refused.json()["status"] == 406


def test_large_documents_go_to_s3_with_a_redirect(api, ledger, stack, monkeypatch):
    from saldo.render import RenderedDocument

    monkeypatch.setattr(RenderedDocument, "fits_inline", lambda self, limit=0: False)
    res = fetch(api, "general-ledger", "application/pdf", ca=ledger["ca"])
    assert res.status == 303
    location = res.headers["location"]
    assert "X-Amz-Expires=300" in location or "Expires=" in location
    parts = urlsplit(location)
    host_bucket = parts.netloc.split(".")[0]
    key = unquote(parts.path.lstrip("/"))
    if not key.startswith("outputs/"):
        host_bucket, key = key.split("/", 1)
    obj = stack.client("s3").get_object(Bucket=host_bucket, Key=key)
    assert obj["Body"].read().startswith(b"%PDF")
    assert obj["ContentType"] == "application/pdf"
    assert "Hovedbok" in obj["ContentDisposition"] or "general" in obj["ContentDisposition"].lower()


def _download(stack, url: str) -> bytes:
    parts = urlsplit(url)
    bucket, key = parts.netloc.split(".")[0], unquote(parts.path.lstrip("/"))
    if not key.startswith("outputs/"):
        bucket, key = key.split("/", 1)
    return stack.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def test_big_ledger_documents_are_queued_with_progress_and_a_download(api, ledger, stack, monkeypatch):
    from pypdf import PdfReader

    from saldo.render import Format
    from saldo.reports import jobs

    monkeypatch.setitem(jobs.ASYNC_ABOVE, Format.PDF, 10)
    res = fetch(api, "general-ledger", "application/pdf", ca=ledger["ca"])
    assert res.status == 202, res.text
    body = res.json()
    assert body["status"] == "QUEUED" and body["estimated_rows"] > 10
    assert res.headers["location"] == body["status_url"]
    stack.drain()
    job = api.follow(body["status_url"]).json()
    assert job["status"] == "SUCCEEDED" and job["progress"] == 100, job
    assert job["report"] == "general-ledger" and job["format"] == "pdf" and job["pages"] >= 1
    pdf = _download(stack, job["download_url"])
    assert len(PdfReader(io.BytesIO(pdf)).pages) == job["pages"]
    assert job["size_bytes"] == len(pdf)


def test_prefer_respond_async_queues_any_ledger_document(api, ledger, stack):
    from openpyxl import load_workbook

    res = api.get(
        f"{R}/accounts-receivable",
        params={"client_account_id": ledger["ca"]},
        headers={"Accept": XLSX, "Prefer": "respond-async"},
    )
    assert res.status == 202, res.text
    stack.drain()
    job = api.follow(res.json()["status_url"]).json()
    assert job["status"] == "SUCCEEDED"
    wb = load_workbook(io.BytesIO(_download(stack, job["download_url"])), read_only=True)
    assert sum(1 for _ in wb.worksheets[0].iter_rows(values_only=True)) > 3
    assert api.get("/api/v2/reports/jobs/rj_0000000000000000").status == 404
    assert api.get("/api/v2/reports/jobs/not-a-job").status == 400
