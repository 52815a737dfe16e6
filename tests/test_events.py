"""The sample events in events/: one per function in template.yaml, each run through its real handler."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlencode

import pytest

from saldo_tools.localstack.template import load_template
from tests.conftest import ROOT

EVENTS = ROOT / "events"
FUNCTIONS = {
    lid: res["Properties"]
    for lid, res in load_template(ROOT / "template.yaml")["Resources"].items()
    if res["Type"] == "AWS::Serverless::Function"
}
HTTP_FUNCTIONS = sorted(
    lid
    for lid, props in FUNCTIONS.items()
    if any(e["Type"] == "HttpApi" for e in (props.get("Events") or {}).values())
)


def sample(logical: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{logical}.json").read_text())


def test_every_function_has_exactly_one_sample_event():
    files = {p.stem for p in EVENTS.glob("*.json")}
    assert sorted(set(FUNCTIONS) - files) == [], "add events/<LogicalId>.json for these functions"
    assert sorted(files - set(FUNCTIONS)) == [], "these sample events name no function in template.yaml"


@pytest.fixture
def caller_context(stack, tenant) -> dict[str, str]:
    """What the real authorizer hands the routes for the test tenant's key."""
    event = sample("AuthorizerFunction")
    event["headers"]["authorization"] = f"Bearer {tenant['key']}"
    event["identitySource"] = [f"Bearer {tenant['key']}"]
    result = stack.runtime.invoke("AuthorizerFunction", event)
    assert result["isAuthorized"] is True
    return result["context"]


def test_authorizer_sample(stack, tenant, caller_context):
    # as shipped it carries the demo key, which this stack does not know
    assert stack.runtime.invoke("AuthorizerFunction", sample("AuthorizerFunction")) == {
        "isAuthorized": True,
        "context": {"authenticated": "false"},
    }
    assert caller_context["authenticated"] == "true"
    assert caller_context["org_id"] == tenant["org_id"]
    assert caller_context["key_id"] == tenant["key_id"]


def client_account(api) -> int:
    res = api.post(
        "/api/v2/client-accounts", json_body={"name": "Fjord AS", "registration_number": "923609016"}
    )
    assert res.status == 201, res.text
    return int(res.json()["id"])


@pytest.mark.parametrize("logical", HTTP_FUNCTIONS)
def test_http_sample(logical, stack, api, caller_context):
    event = sample(logical)
    routes = {r.key for r in stack.http.routes if r.function == logical}
    assert event["routeKey"] in routes, f"{logical}'s sample is for a route it does not serve"
    assert event["version"] == "2.0"
    context = event["requestContext"]
    if "authorizer" in context:
        context["authorizer"] = {"lambda": caller_context}
    query = event.get("queryStringParameters") or {}
    if "client_account_id" in query:
        query["client_account_id"] = str(client_account(api))
        event["rawQueryString"] = urlencode(query)

    result = stack.runtime.invoke(logical, event)

    assert isinstance(result["statusCode"], int)
    assert 200 <= result["statusCode"] < 300, result
    headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
    assert headers.get("content-type"), result
    body = result.get("body") or ""
    assert isinstance(body, str)
    raw = base64.b64decode(body, validate=True) if result.get("isBase64Encoded") else body.encode()
    if headers["content-type"].startswith("application/json"):
        json.loads(raw)


def test_job_worker_sample(stack, api, tenant):
    ca = client_account(api)
    event = sample("JobWorkerFunction")
    for record in event["Records"]:
        assert record["eventSource"] == "aws:sqs"
        body = json.loads(record["body"])
        body.update({"org_id": tenant["org_id"], "client_account_id": ca})
        record["body"] = json.dumps(body)
    assert stack.runtime.invoke("JobWorkerFunction", event) == {"batchItemFailures": []}


def test_housekeeping_sample(stack):
    event = sample("HousekeepingFunction")
    assert event["detail-type"] == "Scheduled Event"
    result = stack.runtime.invoke("HousekeepingFunction", event)
    assert isinstance(result, dict)
    json.dumps(result)


def test_batch_starter_sample(stack, api):
    created = api.post(
        "/apps/reporting/batches",
        json_body={
            "batchName": "S",
            "type": "ReelleEjere",
            "format": "{cvr}",
            "items": [{"cvr": "10403782"}],
            "IsListener": True,
        },
    ).json()
    event = sample("BatchStarterFunction")
    for record in event["Records"]:
        assert record["eventSource"] == "aws:sqs"
        body = json.loads(record["body"])
        assert set(body) == {"org_id", "batch_id"}
        record["body"] = json.dumps({"org_id": api_org(api), "batch_id": created["id"]})
    # a listener that was not triggered has nothing to start: the record succeeds, nothing runs
    assert stack.runtime.invoke("BatchStarterFunction", event) == {"batchItemFailures": []}


def api_org(api) -> str:
    from saldo.adapters.tenancy_store import TenancyStore

    return TenancyStore().caller_for_key(api.key).org_id


def test_batch_run_sample(stack, api):
    event = sample("BatchRunFunction")
    assert event["step"] == "finalize"
    event["org_id"] = api_org(api)
    result = stack.runtime.invoke("BatchRunFunction", event)
    assert result["batch_id"] == event["batch_id"]


def test_batch_webhook_sample(stack, api):
    event = sample("BatchWebhookFunction")
    for record in event["Records"]:
        assert record["eventSource"] == "aws:sqs"
        body = json.loads(record["body"])
        assert set(body) == {"org_id", "batch_id", "index", "attempt"}
        body["org_id"] = api_org(api)
        record["body"] = json.dumps(body)
    # the sample's batch is not this organization's: nothing to call, the record succeeds
    assert stack.runtime.invoke("BatchWebhookFunction", event) == {"batchItemFailures": []}


KNOWN_KINDS = {
    "AuthorizerFunction",
    "JobWorkerFunction",
    "HousekeepingFunction",
    "BatchStarterFunction",
    "BatchRunFunction",
    "BatchWebhookFunction",
    *HTTP_FUNCTIONS,
}


def test_every_function_sample_is_exercised_here():
    """A new kind of function needs its own sample test above, not just a sample file."""
    assert sorted(set(FUNCTIONS) - KNOWN_KINDS) == []
