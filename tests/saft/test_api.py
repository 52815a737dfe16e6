"""SAF-T through the HTTP API on the in-process local stack: upload, worker, status, export."""

from __future__ import annotations

import io
import re
import urllib.parse
import zipfile
from datetime import UTC, datetime, timedelta

from tests.conftest import ApiClient
from tests.saft.conftest import EXAMPLE_888, assert_valid_130, wait_import
from tests.saft.generate import generate
from tests.saft.test_safety import BILLION_LAUGHS

IMPORTS = "/api/v2/client-accounts/imports"
XML = {"content-type": "application/xml"}


def upload(api, data: bytes, **params):
    res = api.post(IMPORTS, body=data, headers=XML, params=params or None)
    assert res.status == 202, res.text
    return res.json()


def imported_888(stack, api) -> dict:
    return wait_import(stack, api, upload(api, EXAMPLE_888.read_bytes())["id"])


def test_body_upload_imports_the_official_example(stack, api):
    created = upload(api, EXAMPLE_888.read_bytes(), file_name="ExampleFile 888888888.xml")
    assert created["status"] == "QUEUED"
    assert created["links"]["self"] == api.path(f"{IMPORTS}/{created['id']}")
    done = wait_import(stack, api, created["id"])
    assert done["status"] == "SUCCEEDED" and done["progress"] == 100
    assert done["created_client_account"] is True
    assert done["counts"]["entries"] == 53
    assert {w["code"] for w in done["warnings"]} >= {
        "opening_balance_sum",
        "closing_balance",
        "subledger_total",
    }
    ca = done["client_account_id"]
    again = api.get(f"/api/v2/client-accounts/{ca}/imports/{created['id']}")
    assert again.status == 200 and again.json()["id"] == created["id"]
    listed = api.get(f"/api/v2/client-accounts/{ca}/imports").json()
    assert [i["id"] for i in listed["data"]] == [created["id"]]
    assert listed["data"][0]["warning_count"] == len(done["warnings"]) and "warnings" not in listed["data"][0]
    assert [i["id"] for i in api.get(IMPORTS).json()["data"]] == [created["id"]]
    assert api.get(f"/api/v2/client-accounts/{ca + 1}/imports/{created['id']}").status == 403
    from saldo.ledger.service import default_repo

    account = default_repo().get(_org(api), ca)
    assert account.registration_number == "888888888"


def _org(api) -> str:
    from saldo.adapters.tenancy_store import TenancyStore

    return TenancyStore().caller_for_key(api.key).org_id


def test_presigned_upload_of_a_split_set_in_a_zip(stack, api):
    buf = io.BytesIO()
    generate(buf, 10)
    whole = buf.getvalue()
    head_end = whole.index(b"</Header>") + len(b"</Header>")
    master_end = whole.index(b"</MasterFiles>") + len(b"</MasterFiles>")
    first = whole[:master_end] + b"</AuditFile>"
    second = whole[:head_end] + whole[whole.index(b"<GeneralLedgerEntries") :]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("SAF-T Financial_923609016_20260115000000_2_2.xml", second)
        zf.writestr("SAF-T Financial_923609016_20260115000000_1_2.xml", first)
    res = api.post(IMPORTS, json_body={"file_names": ["../../year 2025.zip"]})
    assert res.status == 201, res.text
    body = res.json()
    assert body["status"] == "AWAITING_UPLOAD" and body["files"] == ["year 2025.zip"]
    upload_url = body["uploads"][0]["url"]
    assert body["uploads"][0]["method"] == "PUT"
    start = f"{IMPORTS}/{body['id']}/start"
    not_yet = api.post(start)
    assert not_yet.status == 409 and "year 2025.zip" in not_yet.json()["message"]
    import requests

    put = requests.put(upload_url, data=archive.getvalue(), timeout=10)  # moto answers the presigned PUT
    assert put.status_code == 200
    started = api.post(start)
    assert started.status == 202 and started.json()["status"] == "QUEUED"
    assert api.post(start).status == 409
    done = wait_import(stack, api, body["id"])
    assert done["status"] == "SUCCEEDED", done["errors"]
    assert done["counts"]["files"] == 2 and done["counts"]["entries"] == 10
    assert [f["name"] for f in done["summary"]["files"]] == [
        "year 2025.zip!SAF-T Financial_923609016_20260115000000_1_2.xml",
        "year 2025.zip!SAF-T Financial_923609016_20260115000000_2_2.xml",
    ]


def test_a_malicious_upload_fails_with_a_clear_error_and_writes_nothing(stack, api):
    done = wait_import(stack, api, upload(api, BILLION_LAUGHS)["id"])
    assert done["status"] == "FAILED"
    assert done["errors"][0]["code"] == "unsafe_file"
    assert done["client_account_id"] is None
    assert api.get("/api/v2/client-accounts").json()["data"] == []
    ledger = stack.client("s3").list_objects_v2(Bucket=stack.env()["SALDO_LEDGER_BUCKET"])
    assert ledger.get("KeyCount", 0) == 0


def test_upload_requests_are_checked(stack, api):
    res = api.post(IMPORTS, body=b"hello", headers={"content-type": "text/plain"})
    assert res.status == 415
    assert "application/xml" in res.json()["message"] and "application/zip" in res.json()["message"]
    # A zip under its legacy name or bytes of no stated type are read as the file, as before.
    for other in ("application/x-zip-compressed", "application/octet-stream", "text/xml; charset=utf-8"):
        assert api.post(IMPORTS, body=b"", headers={"content-type": other}).status == 400
    assert api.post(IMPORTS, json_body={"file_names": []}).status == 422
    assert api.post(IMPORTS, body=b"", headers=XML).status == 400
    assert api.get(f"{IMPORTS}/imp_20260101000000_000000000000").status == 404
    assert api.get(f"{IMPORTS}/not-an-id").status == 400
    assert ApiClient(stack).get(IMPORTS).status == 401


def test_a_key_limited_to_other_client_accounts(stack, api, tenant):
    from saldo.adapters.tenancy_store import TenancyStore

    first = imported_888(stack, api)
    limited = TenancyStore().create_key(tenant["org_id"], client_accounts=[first["client_account_id"] + 100])
    other = ApiClient(stack, limited["key"])
    assert (
        other.post(IMPORTS, body=EXAMPLE_888.read_bytes(), headers=XML).status == 403
    )  # no client_account_id
    assert other.get(f"{IMPORTS}/{first['id']}").status == 404  # not its import
    res = other.post(
        IMPORTS,
        body=EXAMPLE_888.read_bytes(),
        headers=XML,
        params={"client_account_id": first["client_account_id"]},
    )
    assert res.status == 403
    assert (
        other.get(
            "/api/v2/reports/data-export", params={"client_account_id": first["client_account_id"]}
        ).status
        == 403
    )


def test_the_sweep_fails_an_import_that_stopped_making_progress(stack, api):
    from saldo.adapters.jobstatus import JobStatusStore
    from saldo.housekeeping import sweep

    created = upload(api, EXAMPLE_888.read_bytes())
    stack.drain()
    org = _org(api)
    statuses = JobStatusStore("IMPORT")
    statuses.update(org, created["id"], {"status": "RUNNING"}, running=True)  # as if a worker died mid-way
    assert sweep(now=datetime.now(UTC) + timedelta(hours=1))["stuck_jobs_failed"] == 1
    body = api.get(f"{IMPORTS}/{created['id']}").json()
    assert body["status"] == "FAILED"
    assert body["errors"][-1]["code"] == "timeout"


# ------------------------------------------------------------------ export
def test_data_export_as_xml(stack, api, xsd130):
    ca = imported_888(stack, api)["client_account_id"]
    params = {"client_account_id": ca, "date_from": "2017-01-01", "date_to": "2017-04-30"}
    res = api.get("/api/v2/reports/data-export", params=params, headers={"accept": "text/xml"})
    assert res.status == 200, res.text
    assert res.headers["content-type"].startswith("text/xml")
    name = re.search(r'filename="([^"]+)"', res.headers["content-disposition"]).group(1)
    assert re.fullmatch(r"SAF-T Financial_888888888_\d{14}_1_1\.xml", name)
    doc = assert_valid_130(xsd130, res.body)
    ns = {"s": "urn:StandardAuditFile-Taxation-Financial:NO"}
    assert doc.findtext(".//s:NumberOfEntries", namespaces=ns) == "53"
    alias = api.get(
        "/api/v2/reports/saf-t-financial",
        params={"client_account_id": ca, "start_date": "2017-01-01", "end_date": "2017-04-30"},
    )
    assert alias.status == 200
    assert_valid_130(xsd130, alias.body)


def test_data_export_errors(stack, api):
    ca = imported_888(stack, api)["client_account_id"]
    export = "/api/v2/reports/data-export"
    assert api.get(export).status == 403  # client_account_id missing
    # An unknown client account is 403 on every route, as the reports answer it (docs/SECURITY.md).
    missing = api.get(export, params={"client_account_id": ca + 50})
    assert missing.status == 403 and missing.json()["error"] == "Forbidden"
    assert api.get("/api/v2/reports/saf-t-financial", params={"client_account_id": ca + 50}).status == 403
    assert (
        api.get(export, params={"client_account_id": ca}, headers={"accept": "application/json"}).status
        == 406
    )
    bad_range = api.get(
        export, params={"client_account_id": ca, "date_from": "2017-05-01", "date_to": "2017-01-01"}
    )
    assert bad_range.status == 422
    assert api.get(export, params={"client_account_id": ca, "date_from": "2017-13-01"}).status == 400
    no_email = api.get(export, params={"client_account_id": ca}, headers={"accept": "application/zip"})
    assert no_email.status == 400


def test_zip_export_is_emailed_with_a_link(stack, api, xsd130):
    ca = imported_888(stack, api)["client_account_id"]
    res = api.get(
        "/api/v2/reports/data-export",
        params={
            "client_account_id": ca,
            "date_from": "2017-01-01",
            "date_to": "2017-04-30",
            "email": "revisor@example.no",
        },
        headers={"accept": "application/zip"},
    )
    assert res.status == 202, res.text
    body = res.json()
    assert "emailed" in body["message"] or "email" in body["message"]
    stack.drain()
    mail = [m for m in stack.outbox() if "revisor@example.no" in str(m["destinations"])]
    assert len(mail) == 1 and "888888888" in mail[0]["subject"]
    status = api.follow(body["links"]["self"]).json()
    assert status["status"] == "SUCCEEDED" and status["entries"] == 53
    key = urllib.parse.unquote(urllib.parse.urlparse(status["url"]).path.lstrip("/"))
    bucket = stack.env()["SALDO_DOCUMENT_BUCKET"]
    key = key.split("/", 1)[1] if key.startswith(bucket) else key
    assert key.startswith("outputs/saft/")
    data = stack.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        (name,) = zf.namelist()
        assert re.fullmatch(r"SAF-T Financial_888888888_\d{14}_1_1\.xml", name)
        assert_valid_130(xsd130, zf.read(name))


def test_a_large_export_goes_to_s3_with_a_303(stack, api, monkeypatch, xsd130):
    ca = imported_888(stack, api)["client_account_id"]
    monkeypatch.setattr("saldo.api.routes.saft.INLINE_LIMIT", 10_000)  # the 888888888 export is ~150 KB
    res = api.get(
        "/api/v2/reports/data-export",
        params={"client_account_id": ca, "date_from": "2017-01-01", "date_to": "2017-04-30"},
    )
    assert res.status == 303, res.text
    location = res.headers["location"]
    assert "X-Amz-Expires=600" in location
    key = urllib.parse.unquote(urllib.parse.urlparse(location).path.lstrip("/"))
    bucket = stack.env()["SALDO_DOCUMENT_BUCKET"]
    key = key.split("/", 1)[1] if key.startswith(bucket) else key
    assert key.startswith("outputs/saft/")
    assert_valid_130(xsd130, stack.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())


def test_validate_only_through_the_api(stack, api):
    done = wait_import(stack, api, upload(api, EXAMPLE_888.read_bytes(), validate_only="true")["id"])
    assert done["status"] == "SUCCEEDED" and done["validate_only"] is True
    assert done["warnings"]
    assert api.get("/api/v2/client-accounts").json()["data"] == []


def test_an_upload_that_is_gone_fails_the_import_instead_of_retrying(stack, api):
    bucket = stack.env()["SALDO_DOCUMENT_BUCKET"]
    with stack.hold_event_sources():
        created = upload(api, EXAMPLE_888.read_bytes())
        s3 = stack.client("s3")
        for obj in s3.list_objects_v2(Bucket=bucket, Prefix="uploads/saft/").get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=obj["Key"])
    done = wait_import(stack, api, created["id"])
    assert done["status"] == "FAILED"
    assert done["errors"][0]["code"] == "upload_missing"


def test_an_import_that_leaves_many_segments_queues_a_compaction(stack, api, monkeypatch):
    from saldo.ledger.service import default_store
    from saldo.ledger.store import COMPACT_AFTER
    from saldo.saft import importer

    monkeypatch.setattr(importer, "SEGMENT_LINES", 3)  # one segment per voucher of three lines
    buf = io.BytesIO()
    generate(buf, COMPACT_AFTER + 4)
    done = wait_import(stack, api, upload(api, buf.getvalue())["id"])
    assert done["status"] == "SUCCEEDED", done["errors"]
    stack.drain()  # the compaction job the import queued
    manifest = default_store().manifest(_org(api), done["client_account_id"])
    assert [s.kind for s in manifest.segments] == ["lines"]
    assert manifest.segments[0].rows == done["counts"]["lines"] == 3 * (COMPACT_AFTER + 4)


def test_an_export_whose_totals_exceed_the_schemas_18_digits_is_a_422(stack, api):
    from tests.ledger.helpers import make_client_account, post

    ca = make_client_account(api)
    top = "999999999999999.99"  # each within the API's bound; eleven sum to 19 digits
    entry = {
        "posting_date": "2025-03-01",
        "lines": [{"account_code": "1920", "debit": top}, {"account_code": "3000", "credit": top}],
    }
    assert post(api, ca, [entry] * 11).status == 201
    params = {"client_account_id": ca, "date_from": "2025-01-01", "date_to": "2025-12-31"}
    res = api.get("/api/v2/reports/data-export", params=params, headers={"accept": "text/xml"})
    assert res.status == 422, res.text
    body = res.json()
    assert body["error"] == "Unprocessable Entity"
    assert "TotalDebit would be 10999999999999999.89 (19 digits)" in body["message"]
    assert "at most 18 digits" in body["message"]
    zipped = api.get(
        "/api/v2/reports/data-export",
        params={**params, "email": "revisor@example.no"},
        headers={"accept": "application/zip"},
    )
    assert zipped.status == 202, zipped.text
    stack.drain()
    status = api.follow(zipped.json()["links"]["self"]).json()
    assert status["status"] == "FAILED", status  # at once, with the reason: retrying cannot help
    assert status["errors"][0]["code"] == "saft_limit" and "18 digits" in status["errors"][0]["message"]
    assert not [m for m in stack.outbox() if "revisor@example.no" in str(m["destinations"])]
