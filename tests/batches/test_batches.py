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
    assert len(mails) == 3 and any(link in str(m) for m in mails)  # the failed one too, with its reason
    assert any("not in this organization" in str(m) for m in mails)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "Aarsrapport"}, "type"),
        ({"type": 7}, "type"),
        ({"format": "{cvr}-{navn}"}, "format"),
        ({"format": "{cvr.__class__}"}, "format"),
        ({"items": [{"cvr": "34120308"}]}, "items[0].cvr"),  # check digit
        ({"items": [{"cvr": d.NORDLYS_DRIFT, "internalCustomerId": "12"}]}, "items[0].internalCustomerId"),
        ({"items": [{"cvr": d.NORDLYS_DRIFT, "internalCustomerId": 1.5}]}, "items[0].internalCustomerId"),
        ({"items": [{"cvr": d.NORDLYS_DRIFT, "format": "{rundate}{x}"}]}, "items[0].format"),
        ({"items": []}, "items"),
        ({"scheduledTime": "2020-01-01 01:00:00"}, "scheduledTime"),
        ({"scheduledTime": "tomorrow"}, "scheduledTime"),
        ({"IsListener": True}, "IsListener"),  # a Revision batch cannot listen
        ({"isListener": "yes", "type": "ReelleEjere"}, "IsListener"),
        ({"notificationWebhookUrl": "ftp://example.com/hook"}, "notificationWebhookUrl"),
        ({"notificationWebhookUrl": "https://169.254.169.254/latest"}, "notificationWebhookUrl"),
        ({"notificationEmail": "not an address"}, "notificationEmail"),
        ({"authConfig": {"Method": "Kerberos", "Key": "a", "Value": "b"}}, "authConfig.Method"),
        ({"batchName": "x\u0000y"}, "batchName"),
        ({"items": [{"cvr": -34120307}]}, "items[0].cvr"),
        ({"items": [{"cvr": "-34120307"}]}, "items[0].cvr"),
        ({"scheduledTime": "2200-01-01 00:00:00"}, "scheduledTime"),
        ({"scheduledTime": "2199-12-31T23:59:59-05:00"}, "scheduledTime"),  # 2200 in UTC
        (
            {
                "authConfig": {"Method": "Header", "Key": "Transfer-Encoding", "Value": "chunked"},
                "notificationWebhookUrl": "https://hooks.example.com/x",
            },
            "authConfig.Key",
        ),
        ({"scheduledTime": "2099-01-01"}, "scheduledTime"),  # a time is required
        ({"scheduledTime": "2099-01-01 06:00:00\n"}, "scheduledTime"),
        ({"notificationWebhookUrl": "https://2852039166/"}, "notificationWebhookUrl"),
        ({"notificationWebhookUrl": "https://0xA9FEA9FE/"}, "notificationWebhookUrl"),
        ({"notificationWebhookUrl": "https://0251.0376.0251.0376/"}, "notificationWebhookUrl"),
        ({"notificationWebhookUrl": "https://metadata.google.internal/"}, "notificationWebhookUrl"),
        ({"BatchName": "twice"}, "BatchName"),  # batchName given twice in two cases
    ],
)
def test_a_bad_request_names_the_field_and_stores_nothing(demo, change, field):
    api = demo
    body = {
        "batchName": "B",
        "type": "Revision",
        "format": "{cvr}",
        "items": [{"cvr": d.NORDLYS_DRIFT}],
        **change,
    }
    res = api.post(BATCHES, json_body=body)
    assert res.status == 400, res.text
    assert field in [p["field"] for p in res.json()["details"]], res.text
    assert api.get(BATCHES).json()["results"] == []


def test_too_many_items_states_the_limit(demo):
    res = demo.post(
        BATCHES,
        json_body={"batchName": "B", "type": 0, "format": "{cvr}", "items": [{"cvr": d.SPREDT}] * 10_001},
    )
    assert res.status == 400 and "at most 10,000" in res.text


def test_field_names_in_any_case_and_the_type_by_number(demo):
    body = {
        "BATCHNAME": "B",
        "Type": 2,
        "FORMAT": "{cvr}",
        "Items": [{"CVR": d.SPREDT, "InternalCustomerID": 9}],
    }
    res = demo.post(BATCHES, json_body=body)
    assert res.status == 201, res.text
    done, _ = wait(demo, res.json()["id"])
    (item,) = items(demo, done["id"])
    assert (done["type"], done["printType"], item["name"], item["printType"]) == (
        "ReelleEjere",
        2,
        f"9-{d.SPREDT}",
        2,
    )


def test_the_lasso_key_header_works_and_batches_belong_to_the_organization(demo, stack, tenant):
    from saldo.adapters.tenancy_store import TenancyStore
    from tests.conftest import ApiClient

    created = demo.post(
        BATCHES, json_body={"batchName": "B", "type": 0, "format": "{cvr}", "items": [{"cvr": d.SPREDT}]}
    )
    batch_id = created.json()["id"]
    lasso = ApiClient(stack, None)
    res = lasso.get(f"{BATCHES}/{batch_id}", headers={"lasso-api-key": tenant["key"]})
    assert res.status == 200 and res.json()["id"] == batch_id
    store = TenancyStore()
    other = ApiClient(stack, store.create_key(store.create_org("Andet ApS")["org_id"], label="o")["key"])
    assert other.get(f"{BATCHES}/{batch_id}").status == 404
    assert other.get(f"{BATCHES}/{batch_id}/items").status == 404
    assert other.get(BATCHES).json()["results"] == []
    wait(demo, batch_id)
    token = demo.get(f"{BATCHES}/{batch_id}/items", params={}).json()["continuationToken"]
    assert token is None
    # a continuation token is bound to its organization and batch
    page = demo.get(BATCHES, params={"limit": 1})
    assert (
        other.get(BATCHES, params={"cToken": "eyJvIjoib3JnX3giLCJzIjoiYmF0Y2hlcyIsImsiOiJ4In0"}).status == 400
    )
    assert page.status == 200


def test_pages_of_items_and_of_batches(demo):
    api = demo
    numbers = [d.NORDLYS_DRIFT, d.SPREDT, d.FJELDSTED, d.KREDS_A, d.KREDS_B, d.HOLM_INVEST, d.NORDLYS_HOLDING]
    batch = api.post(
        BATCHES,
        json_body={"batchName": "P", "type": 2, "format": "{cvr}", "items": [{"cvr": n} for n in numbers]},
    ).json()
    wait(api, batch["id"])
    seen, token = [], None
    while True:
        params = {"cToken": token} if token else {}
        body = api.get(f"{BATCHES}/{batch['id']}/items", params=params).json()
        seen += [i["cvr"] for i in body["results"]]
        token = body["continuationToken"]
        if not token:
            break
    assert sorted(seen) == sorted(numbers)
    api.post(
        BATCHES, json_body={"batchName": "Q", "type": 2, "format": "{cvr}", "items": [{"cvr": d.SPREDT}]}
    )
    first = api.get(BATCHES, params={"limit": 1}).json()
    second = api.get(BATCHES, params={"limit": 1, "cToken": first["continuationToken"]}).json()
    assert [b["batchName"] for b in first["results"] + second["results"]] == ["Q", "P"]


def test_file_names_are_unique_within_the_batch(demo):
    api = demo
    body = {
        "batchName": "U",
        "type": 2,
        "format": "rapport",
        "items": [{"cvr": d.SPREDT}, {"cvr": d.KREDS_A}, {"cvr": d.KREDS_B}],
    }
    batch = api.post(BATCHES, json_body=body).json()
    wait(api, batch["id"])
    assert sorted(i["name"] for i in items(api, batch["id"])) == ["rapport", "rapport (2)", "rapport (3)"]


def test_a_scheduled_batch_runs_when_its_time_comes(demo, stack):
    from datetime import UTC, datetime, timedelta

    api = demo
    at = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    body = {
        "batchName": "S",
        "type": 2,
        "format": "{cvr}",
        "items": [{"cvr": d.SPREDT}],
        "scheduledTime": at.strftime("%Y-%m-%d %H:%M:%S"),
    }
    batch = api.post(BATCHES, json_body=body).json()
    assert batch["status"] == "Scheduled" and batch["scheduledTime"].startswith(
        at.strftime("%Y-%m-%dT%H:%M:%S")
    )
    stack.fire_due(datetime.now(UTC))
    time.sleep(0.5)
    assert api.get(f"{BATCHES}/{batch['id']}").json()["status"] == "Scheduled"
    assert stack.fire_due(at + timedelta(seconds=1)) >= 1
    done, _ = wait(api, batch["id"])
    assert done["status"] == "Finished" and done["completed"] == 1


def test_a_listener_batch_regenerates_exactly_the_changed_company(demo, tenant):
    from saldo.registry.models import CompanyIn
    from saldo.registry.service import RegistryService

    api = demo
    body = {
        "batchName": "L",
        "type": "ReelleEjere",
        "format": "{cvr}-{rundate}",
        "notificationEmail": "kyc@example.dk",
        "items": [
            {"cvr": d.NORDLYS_DRIFT, "internalCustomerId": 1},
            {"cvr": d.SPREDT, "internalCustomerId": 2},
        ],
        "IsListener": True,
    }
    batch = api.post(BATCHES, json_body=body).json()
    assert batch["status"] == "Listening" and items(api, batch["id"]) == []
    # Holm Invest (two levels above Nordlys Drift) gets a new owner: Nordlys Drift's owners change too
    registry = RegistryService(tenant["org_id"])
    holm = registry.company("DK", d.HOLM_INVEST)
    owners = [
        {"party": {"person_id": "frida-gran"}, "name": "Frida Gran", "capital": {"low": "1", "high": "1"}}
    ]
    registry.put_company(
        "DK", d.HOLM_INVEST, CompanyIn.model_validate({"name": holm["name"], "owners": owners})
    )
    deadline = time.time() + 30
    while time.time() < deadline and not items(api, batch["id"]):
        time.sleep(0.2)
    (item,) = items(api, batch["id"])
    assert (item["cvr"], item["status"], item["internalCustomerId"]) == (d.NORDLYS_DRIFT, "Completed", 1)
    got = api.get(f"{BATCHES}/{batch['id']}").json()
    assert (got["status"], got["batchSize"], got["completed"], got["companies"]) == ("Listening", 1, 1, 2)
    assert got["completionPercentage"] == 1.0
    # a change of master data only is not an ownership change; stopped batches listen no more
    assert api.post(f"{BATCHES}/{batch['id']}/stop").json()["status"] == "ListeningStopped"
    registry.put_company("DK", d.HOLM_INVEST, CompanyIn.model_validate({"name": holm["name"], "owners": []}))
    time.sleep(1.0)
    assert len(items(api, batch["id"])) == 1
    assert api.post(f"{BATCHES}/{batch['id']}/stop").status == 200  # stopping again changes nothing
    revision = api.post(
        BATCHES, json_body={"batchName": "R", "type": 0, "format": "{cvr}", "items": [{"cvr": d.SPREDT}]}
    ).json()
    assert api.post(f"{BATCHES}/{revision['id']}/stop").status == 409


def test_a_listener_handles_a_redelivered_event_once(demo, tenant):
    from saldo.batches import listen

    api = demo
    body = {"batchName": "L", "type": 2, "format": "{cvr}", "items": [{"cvr": d.SPREDT}], "IsListener": True}
    batch = api.post(BATCHES, json_body=body).json()
    detail = {
        "org_id": tenant["org_id"],
        "country": "DK",
        "registration_number": d.SPREDT,
        "changed": ["owners"],
    }
    assert len(listen.on_company_changed(detail, "event-1")) == 1
    assert listen.on_company_changed(detail, "event-1") == []
    assert listen.on_company_changed({**detail, "changed": ["master_data"]}, "event-2") == []
    assert len(items(api, batch["id"])) == 1


@pytest.mark.parametrize("key", [1e400, float("nan"), None, "5", True, -1, 10**22])
def test_a_forged_continuation_token_is_a_400(demo, key):
    import base64
    import json

    from saldo.adapters.tenancy_store import TenancyStore

    api = demo
    org = TenancyStore().caller_for_key(api.key).org_id
    batch = api.post(
        BATCHES, json_body={"batchName": "T", "type": 2, "format": "{cvr}", "items": [{"cvr": d.SPREDT}]}
    )
    batch_id = batch.json()["id"]
    for scope, path in ((batch_id, f"{BATCHES}/{batch_id}/items"), ("batches", BATCHES)):
        raw = json.dumps({"o": org, "s": scope, "k": key}).replace("Infinity", "1e400").encode()
        token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        res = api.get(path, params={"cToken": token})
        assert res.status == 400 and "cToken" in res.text, res.text


def test_links_point_at_the_api_whatever_the_host_header(demo, stack):
    api = demo
    body = {"batchName": "H", "type": 2, "format": "{cvr}", "items": [{"cvr": d.SPREDT}]}
    batch = api.post(
        BATCHES, json_body=body, headers={"Host": "evil.example.com", "X-Forwarded-Proto": "https"}
    )
    done, _ = wait(api, batch.json()["id"])
    (item,) = items(api, done["id"])
    assert item["pdfurl"].startswith(f"http://{stack.http.domain_name}/") and "evil" not in item["pdfurl"]
