"""Batches through the local stack: SQS start, the Step Functions Distributed Map, items, links, email."""

from __future__ import annotations

import io
import time
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from pypdf import PdfReader

from saldo_tools import demo_registry as d
from tests.ledger.helpers import make_client_account

BATCHES = "/apps/reporting/batches"


@pytest.fixture
def demo(api, tenant):
    ca = make_client_account(api)
    d.load_demo_registry(tenant["org_id"], ca)
    return api


def wait(
    api, batch_id, statuses=("Finished", "FinishedWithWarning", "FinishedWithErrors", "Listening"), timeout=60
):
    seen = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        body = api.get(f"{BATCHES}/{batch_id}").json()
        seen.append(body["completionPercentage"])
        if body["status"] in statuses:
            return body, seen
        time.sleep(0.2)
    raise AssertionError(f"batch {batch_id} still {body['status']} after {timeout} s")


def presigned(stack, url: str) -> bytes:
    """The object a presigned URL names (the in-process stack serves no S3 over HTTP), after checking the
    URL is short-lived and names the file."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert query["X-Amz-Expires"] == ["300"] and "attachment" in query["response-content-disposition"][0]
    bucket, key = parts.netloc.split(".")[0], unquote(parts.path.lstrip("/"))
    if not key.startswith("batches/"):
        bucket, key = key.split("/", 1)
    return stack.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def items(api, batch_id, **params):
    out, token = [], None
    while True:
        page = api.get(
            f"{BATCHES}/{batch_id}/items", params={**params, **({"cToken": token} if token else {})}
        )
        assert page.status == 200, page.text
        body = page.json()
        out += body["results"]
        token = body["continuationToken"]
        if not token:
            return out


def test_a_batch_runs_every_item_and_links_download_without_a_key(demo, stack):
    api = demo
    body = {
        "batchName": "Kunder Q4",
        "type": "Revision",
        "format": "{cvr}-{name}-{type}",
        "notificationEmail": "revisor@example.dk",
        "errorAppend": "#error",
        "items": [
            {"cvr": int(d.NORDLYS_DRIFT), "format": "1234-{cvr}-{name}", "internalCustomerId": 1234},
            {"cvr": d.SPREDT, "internalCustomerId": 4321},
            {"cvr": "10403782"},  # valid, but not in the registry: Failed
        ],
    }
    res = api.post(BATCHES, json_body=body)
    assert res.status == 201, res.text
    batch = res.json()
    assert batch["status"] == "Initializing" and batch["batchSize"] == 3 and batch["printType"] == 0
    done, _ = wait(api, batch["id"])
    assert done["status"] == "FinishedWithErrors", done
    assert (done["completed"] + done["warnings"], done["failed"], done["completionPercentage"]) == (2, 1, 1.0)
    found = {i["cvr"]: i for i in items(api, batch["id"])}
    drift = found[d.NORDLYS_DRIFT]
    assert (
        drift["name"] == f"1234-1234-{d.NORDLYS_DRIFT}-Nordlys Drift A_S" and drift["status"] == "Completed"
    )
    failed = found["10403782"]
    assert failed["status"] == "Failed" and failed["name"].endswith("#error") and failed["pdfurl"] is None
    assert "not in this organization's registry" in failed["reason"]
    assert [i["cvr"] for i in items(api, batch["id"], status="Failed")] == ["10403782"]
    # The link works without a key: 303 to a presigned URL that serves the PDF
    link = drift["pdfurl"]
    path = link[link.index("/apps/") :]
    unauth = type(api)(stack, None)
    redirect = unauth.get(path)
    assert redirect.status == 303, redirect.text
    pdf = presigned(stack, redirect.headers["location"])
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Nordlys Drift A/S" in text and "Anna Holm" in text
    assert unauth.get(path[:-3] + "AAA").status == 404
    mails = [m for m in stack.outbox() if "revisor@example.dk" in str(m["destinations"])]
    assert len(mails) == 2 and any(link in str(m) for m in mails)
