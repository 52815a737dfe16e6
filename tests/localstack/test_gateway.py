"""The served local stack behaves as API Gateway does for the real template: every URL under the stage,
events built as AWS builds them, links that work from where they are sent, non-UTF-8 bodies, no request
body in any log, and many clients at once."""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Iterator
from http.client import HTTPConnection
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from tests.conftest import ROOT
from tests.localstack.conftest import http
from tests.saft.conftest import EXAMPLE_888

IMPORTS = "/api/v2/client-accounts/imports"
REPORTS = "/api/v2/reports"


@pytest.fixture(scope="module")
def served() -> Iterator[Any]:
    """template.yaml behind real sockets, with an organization, a key and the 888888888 example ledger."""
    from saldo.adapters.tenancy_store import TenancyStore
    from saldo_tools.localstack import LocalStack

    local = LocalStack(ROOT, server=True, tick=3600).start(api_port=0)
    try:
        store = TenancyStore()
        org = store.create_org("Gateway Test AS")
        local.key = store.create_key(org["org_id"], label="gateway")["key"]
        local.auth = {"Authorization": f"Bearer {local.key}"}
        created = post_import(local, EXAMPLE_888.read_bytes())
        local.ca = wait_import(local, created["links"]["self"])["client_account_id"]
        yield local
    finally:
        local.stop()


def post_import(served: Any, data: bytes, query: str = "") -> dict[str, Any]:
    res = http(
        f"{served.api_url}{IMPORTS}{query}",
        "POST",
        body=data,
        headers={**served.auth, "Content-Type": "application/xml"},
    )
    assert res.status == 202, res.body
    return dict(res.json())


def origin(served: Any) -> str:
    return served.endpoint_url  # scheme://host:port: a link (a path) is requested against it


def wait_import(served: Any, link: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        served.drain(timeout=60)
        body = http(origin(served) + link, headers=served.auth).json()
        if body["status"] in ("SUCCEEDED", "FAILED"):
            return dict(body)
        time.sleep(0.05)
    raise AssertionError(f"{link} did not finish")


def links(res: Any) -> list[str]:
    """Every link a response gives: its Location header and the paths among its body's links and URLs."""
    found = []
    location = res.headers.get("location")
    if location and not location.startswith("http"):
        found.append(location)
    try:
        body = res.json()
    except ValueError:
        return found
    if isinstance(body, dict):
        found += [v for v in (body.get("links") or {}).values() if isinstance(v, str)]
        found += [v for k, v in body.items() if k.endswith("_url") and isinstance(v, str) and v[:1] == "/"]
    return found


# ------------------------------------------------------------------ the stage prefix
def test_the_api_url_carries_the_stage_as_the_templates_ApiUrl_output(served):
    stage = served.resolver.parameters["Stage"]
    assert served.api_url == f"{served.endpoint_url}/{stage}"
    assert served.http.base_path == f"/{stage}"
    res = http(f"{served.api_url}/health")
    assert res.status == 200 and res.json()["status"] == "ok"


def test_a_path_without_the_stage_is_404_with_a_hint_naming_it(served):
    res = http(f"{served.endpoint_url}{REPORTS}/trial-balance?client_account_id=1", headers=served.auth)
    assert res.status == 404
    body = res.json()
    assert body["message"] == "Not Found"
    assert f"{served.http.base_path}{REPORTS}/trial-balance" in body["hint"]
    assert http(f"{served.api_url}/no/such/route").json() == {"message": "Not Found"}  # no hint to give


def test_events_are_built_as_api_gateway_builds_them_for_a_named_stage(served, monkeypatch):
    seen: list[dict[str, Any]] = []
    invoke = served.runtime.invoke

    def record(name: str, event: Any) -> Any:
        seen.append(event)
        return invoke(name, event)

    monkeypatch.setattr(served.runtime, "invoke", record)
    stage = served.resolver.parameters["Stage"]
    res = http(f"{served.api_url}{IMPORTS}/imp_20200101000000_000000000000", headers=served.auth)
    assert res.status == 404 and res.json()["status"] == 404  # the service's 404: the route was matched
    event = seen[-1]
    assert event["routeKey"] == "GET /api/v2/client-accounts/imports/{import_id}"
    assert event["rawPath"] == f"/{stage}{IMPORTS}/imp_20200101000000_000000000000"
    assert event["requestContext"]["http"]["path"] == event["rawPath"]
    assert event["requestContext"]["stage"] == stage
    assert event["requestContext"]["routeKey"] == event["routeKey"]
    assert event["pathParameters"] == {"import_id": "imp_20200101000000_000000000000"}


def test_the_docs_page_links_to_the_openapi_document_under_the_stage(served):
    page = http(f"{served.api_url}/docs")
    assert page.status == 200
    assert 'href="openapi.json"' in page.body.decode()  # relative: resolves to /<stage>/openapi.json
    assert http(f"{served.api_url}/openapi.json").json()["info"]["title"] == "Saldo API"


# ------------------------------------------------------------------ links and Location headers
def follow_all(served: Any, res: Any, method: str = "GET") -> list[str]:
    """Request every link of `res` as a client would (the path as given, on the API's host): none may be
    API Gateway's own 404 (a path the gateway has no route for); the service's answers are fine."""
    followed = []
    for link in links(res):
        if link.endswith("/start"):
            continue  # a POST: followed by its test
        assert link.startswith(served.http.base_path + "/"), link
        got = http(origin(served) + link, method, headers=served.auth)
        assert "status" in got.json(), f"{link}: {got.status} {got.body[:200]!r}"  # the service answered
        followed.append(link)
    return followed


def test_every_link_of_an_import_works_through_the_stage(served):
    res = http(
        f"{served.api_url}{IMPORTS}?validate_only=true",
        "POST",
        body=EXAMPLE_888.read_bytes(),
        headers={**served.auth, "Content-Type": "application/xml"},
    )
    assert res.status == 202
    assert res.headers["location"] == res.json()["links"]["self"]
    assert follow_all(served, res)
    done = wait_import(served, res.json()["links"]["self"])
    status = http(origin(served) + done["links"]["self"], headers=served.auth)
    assert set(follow_all(served, status)) == {done["links"]["self"], done["links"]["client_account"]}


def test_the_links_of_an_upload_url_request_work_through_the_stage(served):
    res = http(
        f"{served.api_url}{IMPORTS}",
        "POST",
        body=json.dumps({"file_names": ["a.xml"]}).encode(),
        headers={**served.auth, "Content-Type": "application/json"},
    )
    assert res.status == 201, res.body
    body = res.json()
    assert res.headers["location"] == body["links"]["self"]
    follow_all(served, res)
    start = http(origin(served) + body["links"]["start"], "POST", headers=served.auth)
    assert (
        start.status != 404 and start.json()["status"] == start.status
    )  # nothing uploaded: the service says so


def test_a_queued_report_documents_status_url_works_through_the_stage(served):
    query = urlencode({"client_account_id": served.ca})
    res = http(
        f"{served.api_url}{REPORTS}/general-ledger?{query}",
        headers={**served.auth, "Accept": "application/pdf", "Prefer": "respond-async"},
    )
    assert res.status == 202, res.body
    assert res.headers["location"] == res.json()["status_url"]
    served.drain(timeout=60)
    [status_url] = set(follow_all(served, res))
    job = http(origin(served) + status_url, headers=served.auth).json()
    assert job["status"] == "SUCCEEDED", job


def test_a_zip_exports_location_and_emailed_path_work_through_the_stage(served):
    query = urlencode({"client_account_id": served.ca, "email": "revisor@example.no"})
    res = http(
        f"{served.api_url}{REPORTS}/data-export?{query}",
        headers={**served.auth, "Accept": "application/zip"},
    )
    assert res.status == 202, res.body
    [location] = set(follow_all(served, res))
    served.drain(timeout=60)
    mail = [m for m in served.outbox() if "revisor@example.no" in str(m["destinations"])]
    assert f"GET {location}\n" in str(mail[-1]["body"]) or f"GET {location}" in str(mail[-1])


# ------------------------------------------------------------------ bodies that are not UTF-8
@pytest.mark.parametrize("encoding", ["UTF-16", "ISO-8859-1"])
def test_a_saft_file_in_another_encoding_is_accepted_and_imported(served, encoding):
    text = EXAMPLE_888.read_bytes().decode("utf-8-sig")
    declaration = text[: text.index("?>") + 2]
    assert 'encoding="UTF-8"' in declaration
    data = text.replace(declaration, declaration.replace("UTF-8", encoding), 1).encode(encoding)
    assert data.decode(encoding) != data.decode("utf-8", errors="replace")  # really not UTF-8
    # Checked in full, nothing written: the ledger holds these entries already.
    created = post_import(served, data, "?validate_only=true&allow_overlap=true")
    done = wait_import(served, created["links"]["self"])
    assert done["status"] == "SUCCEEDED", done.get("errors")
    assert done["client_account_id"] == served.ca
    assert done["counts"]["entries"] == 53 and done["counts"]["lines"] == 170
    assert done["summary"]["company"] == "Tøyen Lekefabrikk AS"  # read in the file's own encoding


def test_a_non_utf8_body_reaches_the_handler_base64_encoded(served, monkeypatch):
    seen: list[dict[str, Any]] = []
    invoke = served.runtime.invoke
    monkeypatch.setattr(served.runtime, "invoke", lambda n, e: (seen.append(e), invoke(n, e))[1])
    body = "<?xml version='1.0' encoding='ISO-8859-1'?><x>Ærlig</x>".encode("latin-1")
    http(
        f"{served.api_url}{IMPORTS}?validate_only=true",
        "POST",
        body=body,
        headers={**served.auth, "Content-Type": "application/xml"},
    )
    [event] = [e for e in seen if e.get("routeKey") == f"POST {IMPORTS}"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


# ------------------------------------------------------------------ request bodies are never logged
MARKER = "Hemmelig-kunde-7Q3X"


def _assert_not_logged(caplog: Any, capfd: Any) -> None:
    for record in caplog.records:
        assert MARKER not in record.getMessage(), record.getMessage()
        assert MARKER.encode() not in repr(record.__dict__).encode(), record.__dict__
    out = capfd.readouterr()
    assert MARKER not in out.out and MARKER not in out.err


def test_a_request_that_fails_in_the_gateway_does_not_log_its_body(served, monkeypatch, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    body = f"<x>{MARKER}</x>".encode("utf-16")

    def fail(*args: Any, **kw: Any) -> Any:
        raise UnicodeDecodeError("utf-8", body, 0, 1, "invalid start byte")  # its repr holds the body

    monkeypatch.setattr(served.http, "handle", fail)
    res = http(f"{served.api_url}{IMPORTS}", "POST", body=body, headers={"Content-Type": "application/xml"})
    assert res.status == 500
    assert MARKER not in res.body.decode()
    assert any("UnicodeDecodeError" in r.getMessage() for r in caplog.records)  # it is reported, without it
    _assert_not_logged(caplog, capfd)


def test_posted_bodies_do_not_appear_in_any_log(served, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    for content_type, body in (
        ("application/json", json.dumps({"client_account_id": served.ca, "note": MARKER}).encode()),
        ("application/xml", f"<?xml version='1.0' encoding='UTF-16'?><x>{MARKER}</x>".encode("utf-16")),
        ("application/xml", f"<x>{MARKER}</x>".encode("latin-1")),
    ):
        for path in (IMPORTS, "/api/v2/journal-entries"):
            http(
                f"{served.api_url}{path}",
                "POST",
                body=body,
                headers={**served.auth, "Content-Type": content_type},
            )
    served.drain(timeout=60)
    _assert_not_logged(caplog, capfd)


# ------------------------------------------------------------------ many clients at once
def test_fifty_keep_alive_clients_at_once_get_their_own_answers(served):
    host, port = urlsplit(served.api_url).netloc.split(":")
    base = served.http.base_path
    errors: list[str] = []
    start = threading.Barrier(50)

    def client(n: int) -> None:
        conn = HTTPConnection(host, int(port), timeout=60)
        try:
            start.wait()
            sock = None
            for i in range(4):
                day = f"2017-02-{(n + i) % 28 + 1:02d}"
                query = urlencode({"client_account_id": served.ca, "date_from": "2017-01-01", "date_to": day})
                path = f"{base}/health" if i % 2 == 0 else f"{base}{REPORTS}/trial-balance?{query}"
                conn.request("GET", path, headers=served.auth)
                res = conn.getresponse()
                body = res.read()
                if res.status != 200:
                    errors.append(f"{n}/{i}: {res.status} {body[:200]!r}")
                elif i % 2 and res.getheader("x-report-period") != f"2017-01-01/{day}":
                    errors.append(f"{n}/{i}: asked for {day}, got {res.getheader('x-report-period')}")
                if sock is not None and conn.sock is not sock:
                    errors.append(f"{n}/{i}: the connection was not kept alive")
                sock = conn.sock
        except Exception as exc:
            errors.append(f"{n}: {type(exc).__name__}: {exc}")
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
