"""Webhook calls of batch items: a real receiver on 127.0.0.1, retries at their scheduled times, the webhook
disabled after the last one, SSRF checks at send time, the test endpoints; and the pure parts."""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from saldo.batches import webhooks
from saldo_tools import demo_registry as d
from tests.batches.test_batches import BATCHES, items, wait
from tests.ledger.helpers import make_client_account

TEST = "/apps/reporting/webhooks/test"
FAILED_CVR = "10403782"  # valid, not in the registry: a Failed item


class Receiver:
    """An HTTP server that records every request and answers as told: `plan` is consumed one answer per
    request (an int status, or "sleep" to answer too late), then `default`."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.plan: list[int | str] = []
        self.default: int | str = 200
        self.sleep = 1.5
        self.location: str | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                parts = urlsplit(self.path)
                receiver.calls.append(
                    {
                        "method": self.command,
                        "path": parts.path,
                        "query": {k: v[0] for k, v in parse_qs(parts.query).items()},
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": json.loads(body) if body else None,
                    }
                )
                answer = receiver.plan.pop(0) if receiver.plan else receiver.default
                if answer == "sleep":
                    time.sleep(receiver.sleep)
                    answer = 200
                self.send_response(int(answer))
                if receiver.location and 300 <= int(answer) < 400:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "2")
                self.end_headers()
                with contextlib.suppress(OSError):  # the caller may have given up waiting
                    self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def demo(api, tenant):
    """The demo registry's companies in the test tenant (as tests/batches/test_batches.py has it)."""
    d.load_demo_registry(tenant["org_id"], make_client_account(api))
    return api


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def quick(monkeypatch):
    """A short send timeout, so a receiver that answers late fails the attempt quickly."""
    monkeypatch.setattr(webhooks, "TIMEOUT", 0.5)


def create(api, url: str, cvrs: list[str], **extra: Any) -> dict[str, Any]:
    body = {
        "batchName": "Hooks",
        "type": "Revision",
        "format": "{cvr}-{name}",
        "notificationWebhookUrl": url,
        "items": [{"cvr": c, "internalCustomerId": 10 + i} for i, c in enumerate(cvrs)],
        **extra,
    }
    res = api.post(BATCHES, json_body=body)
    assert res.status == 201, res.text
    return res.json()


def hook_state(api, batch_id: str) -> dict[str, dict[str, Any]]:
    return {i["cvr"]: i["webhook"] for i in items(api, batch_id)}


def org_of(api) -> str:
    from saldo.adapters.tenancy_store import TenancyStore

    return TenancyStore().caller_for_key(api.key).org_id


def schedules(stack) -> set[str]:
    return {s["Name"] for s in stack.client("scheduler").list_schedules()["Schedules"]}


def fire(stack, at: datetime) -> int:
    """Fire what is due at `at` and let it run; how many webhook retry schedules fired (the template's
    hourly rule may fire too)."""
    before = schedules(stack)
    stack.fire_due(at)
    stack.drain(timeout=60)
    return len(before - schedules(stack))


def warnings_in(stack) -> list[dict[str, Any]]:
    return [m for m in stack.outbox() if "webhook disabled" in str(m.get("subject"))]


# ---------------------------------------------------------------------------------------------- the stack
def test_every_finished_item_calls_the_webhook_with_its_header(demo, stack, receiver):
    api = demo
    auth = {"Method": "Header", "Key": "X-API-KEY", "Value": "dm12d82mdlakd2"}
    batch = create(api, receiver.url("/hook?source=saldo"), [d.NORDLYS_DRIFT, FAILED_CVR], authConfig=auth)
    done, _ = wait(api, batch["id"])
    assert done["status"] == "FinishedWithErrors" and done["webhookDisabledAt"] is None
    stack.drain(timeout=30)
    calls = {c["body"]["cvr"]: c for c in receiver.calls}
    assert sorted(calls) == sorted([d.NORDLYS_DRIFT, FAILED_CVR]) and len(receiver.calls) == 2
    found = {i["cvr"]: i for i in items(api, batch["id"])}
    for cvr, call in calls.items():
        item = found[cvr]
        assert call["method"] == "POST" and call["path"] == "/hook"
        assert call["query"] == {
            "source": "saldo",
            "lassoId": f"CVR-1-{cvr}",
            "batchId": batch["id"],
            "reportType": "Revision",
        }
        assert call["headers"]["x-api-key"] == "dm12d82mdlakd2"
        assert call["headers"]["content-type"] == "application/json"
        body = call["body"]
        assert body == {
            "lassoId": f"CVR-1-{cvr}",
            "batchId": batch["id"],
            "itemId": item["id"],
            "reportType": "Revision",
            "printType": 0,
            "status": item["status"],
            "statusCode": item["statusCode"],
            "name": item["name"],
            "fileName": f"{item['name']}.pdf",
            "pdfurl": item["pdfurl"],
            "internalCustomerId": item["internalCustomerId"],
            "cvr": cvr,
            "createdOn": item["createdOn"],
            "attempt": 1,
        }
        hook = item["webhook"]
        assert hook["attempts"] == 1 and hook["lastStatus"] == 200 and hook["deliveredAt"], hook
        assert hook["nextAttempt"] is None
    assert calls[FAILED_CVR]["body"]["status"] == "Failed" and calls[FAILED_CVR]["body"]["pdfurl"] is None
    assert calls[d.NORDLYS_DRIFT]["body"]["pdfurl"].startswith("http")
    # A retried item task finds its item recorded: nothing is sent again
    from saldo.batches import service

    org = org_of(api)
    service.run_item(org, batch["id"], {"index": 0, "cvr": d.NORDLYS_DRIFT}, date.today())
    stack.drain(timeout=30)
    assert len(receiver.calls) == 2
    assert not stack.client("scheduler").list_schedules()["Schedules"]  # nothing to retry


def test_failed_calls_are_retried_at_their_times_until_one_succeeds(demo, stack, receiver, quick):
    api = demo
    receiver.plan = [500, "sleep"]  # then 200
    auth = {"Method": "BasicAuth", "Key": "lasso", "Value": "hemmelig:kode"}
    start = datetime.now(UTC)
    batch = create(api, receiver.url(), [d.NORDLYS_DRIFT], authConfig=auth)
    wait(api, batch["id"])
    stack.drain(timeout=30)
    basic = "Basic " + base64.b64encode(b"lasso:hemmelig:kode").decode()
    assert [c["headers"]["authorization"] for c in receiver.calls] == [basic]
    state = hook_state(api, batch["id"])[d.NORDLYS_DRIFT]
    assert (state["attempts"], state["lastStatus"], state["lastReason"]) == (1, 500, "HTTP 500")
    assert state["nextAttempt"] == 2 and state["deliveredAt"] is None
    due = datetime.fromisoformat(state["nextAttemptAt"]) - start
    assert timedelta(minutes=4) < due < timedelta(minutes=6)  # 5 minutes after the first, jitter aside
    (schedule,) = stack.client("scheduler").list_schedules()["Schedules"]
    assert schedule["Name"] == f"saldo-wh-{batch['id']}-0-2"

    # not before its time (5 minutes after the first attempt, plus at most 30 s of jitter)
    assert fire(stack, start + timedelta(minutes=4)) == 0 and len(receiver.calls) == 1
    assert fire(stack, start + timedelta(minutes=6)) == 1
    assert len(receiver.calls) == 2 and receiver.calls[1]["body"]["attempt"] == 2
    assert receiver.calls[1]["headers"]["authorization"] == basic
    state = hook_state(api, batch["id"])[d.NORDLYS_DRIFT]
    assert (state["attempts"], state["lastStatus"], state["nextAttempt"]) == (2, None, 3)
    assert state["lastReason"] == "No answer within 0.5 s"

    # the third at 30 minutes (+ at most 3) succeeds; nothing is scheduled after it
    assert fire(stack, start + timedelta(minutes=25)) == 0
    assert fire(stack, start + timedelta(minutes=34)) == 1
    assert len(receiver.calls) == 3 and receiver.calls[2]["body"]["attempt"] == 3
    state = hook_state(api, batch["id"])[d.NORDLYS_DRIFT]
    assert (state["attempts"], state["lastStatus"], state["nextAttempt"]) == (3, 200, None)
    assert state["deliveredAt"]
    assert fire(stack, start + timedelta(hours=25)) == 0 and len(receiver.calls) == 3

    # the retry message delivered again sends nothing twice
    message = {"org_id": org_of(api), "batch_id": batch["id"], "index": 0, "attempt": 3}
    sqs = stack.client("sqs")
    queue = sqs.get_queue_url(QueueName="saldo-webhook-local")["QueueUrl"]
    for number in (2, 3, 4):
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({**message, "attempt": number}))
    stack.drain(timeout=30)
    assert len(receiver.calls) == 3 and not stack.async_errors
    assert hook_state(api, batch["id"])[d.NORDLYS_DRIFT]["attempts"] == 3


def test_a_redelivered_retry_message_sends_once(demo, stack, receiver):
    api = demo
    receiver.plan = [500, 500]
    start = datetime.now(UTC)
    batch = create(api, receiver.url(), [d.NORDLYS_DRIFT])
    wait(api, batch["id"])
    stack.drain(timeout=30)
    message = json.dumps({"org_id": org_of(api), "batch_id": batch["id"], "index": 0, "attempt": 2})
    sqs = stack.client("sqs")
    queue = sqs.get_queue_url(QueueName="saldo-webhook-local")["QueueUrl"]
    with stack.hold_event_sources():  # the scheduled message and a copy arrive together
        stack.fire_due(start + timedelta(minutes=6))
        sqs.send_message(QueueUrl=queue, MessageBody=message)
        deadline = time.time() + 10
        while (
            stack.client("sqs").get_queue_attributes(
                QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]["ApproximateNumberOfMessages"]
            != "2"
            and time.time() < deadline
        ):
            time.sleep(0.05)
    stack.drain(timeout=30)
    sqs.send_message(QueueUrl=queue, MessageBody=message)  # and once more, later
    stack.drain(timeout=30)
    assert [c["body"]["attempt"] for c in receiver.calls] == [1, 2]
    state = hook_state(api, batch["id"])[d.NORDLYS_DRIFT]
    assert (state["attempts"], state["lastStatus"], state["nextAttempt"]) == (2, 500, 3)
    names = [s["Name"] for s in stack.client("scheduler").list_schedules()["Schedules"]]
    assert names == [f"saldo-wh-{batch['id']}-0-3"]


def test_after_five_failed_retries_the_webhook_is_disabled_and_one_warning_sent(demo, stack, receiver):
    api = demo
    receiver.default = 500
    start = datetime.now(UTC)
    email = "revisor@example.dk"
    batch = create(api, receiver.url(), [d.NORDLYS_DRIFT, FAILED_CVR], notificationEmail=email)
    wait(api, batch["id"])
    stack.drain(timeout=30)
    assert len(receiver.calls) == 2
    # the retries at 5 min, 30 min, 2 h, 6 h and 12 h (each with at most 10 % / 10 min of jitter)
    for n, after in enumerate((6, 34, 131, 371, 731), start=2):
        assert fire(stack, start + timedelta(minutes=after)) == 2, n
        if n < 6:
            assert len(receiver.calls) == 2 * n and not warnings_in(stack)
            assert {c["body"]["attempt"] for c in receiver.calls[-2:]} == {n}
    # The item whose last retry failed first disabled the webhook; the other's last retry, checked after
    # that, was not sent (here, where retries run one at a time; on AWS both may be sent).
    calls = len(receiver.calls)
    assert calls in (11, 12) and receiver.calls[-1]["body"]["attempt"] == 6
    assert fire(stack, start + timedelta(hours=30)) == 0 and len(receiver.calls) == calls
    states = hook_state(api, batch["id"])
    assert {s["attempts"] for s in states.values()} == {6}
    assert all(s["nextAttempt"] is None and s["deliveredAt"] is None for s in states.values())
    reasons = sorted(s["lastReason"] for s in states.values())
    assert reasons[0] == "HTTP 500"
    assert calls == 12 or reasons[1].startswith("Not sent: the webhook was disabled for this batch at")
    got = api.get(f"{BATCHES}/{batch['id']}").json()
    assert got["webhookDisabledAt"] and "6 calls failed" in got["webhookDisabledReason"]
    (warning,) = warnings_in(stack)  # exactly one, though both items gave up
    assert warning["destinations"]["ToAddresses"] == [email] and receiver.url() in warning["body"]

    # a later item of the batch does not call it
    from saldo.batches import service

    report = service.Report(b"%PDF-1.4\n%%EOF\n", "Sen A/S", None, [])
    later = {"index": 2, "cvr": d.SPREDT}
    service.run_item(org_of(api), batch["id"], later, date.today(), lambda *a: report)
    stack.drain(timeout=30)
    assert len(receiver.calls) == calls and len(warnings_in(stack)) == 1
    state = hook_state(api, batch["id"])[d.SPREDT]
    assert state["attempts"] == 1 and state["lastStatus"] is None
    assert state["lastReason"].startswith("Not sent: the webhook was disabled for this batch")


def test_a_host_that_now_resolves_to_a_metadata_address_is_not_called(demo, stack, receiver, monkeypatch):
    api = demo
    url = f"http://hooks.example.com:{receiver.port}/hook"
    batch = create(api, url, [d.NORDLYS_DRIFT])  # accepted: the name is checked at send time
    asked: list[str] = []

    def rebound(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["169.254.169.254"]

    monkeypatch.setattr("saldo.net._system_resolver", rebound)
    wait(api, batch["id"])
    stack.drain(timeout=30)
    assert receiver.calls == [] and asked == ["hooks.example.com"]
    state = hook_state(api, batch["id"])[d.NORDLYS_DRIFT]
    assert state["attempts"] == 1 and state["lastStatus"] is None and state["nextAttempt"] == 2
    assert state["lastReason"] == (
        "Not sent: The webhook host hooks.example.com resolves to a cloud metadata address"
    )


def test_the_test_endpoints_call_the_url_once(stack, api, receiver):
    res = api.get(TEST, params={"url": receiver.url(), "lassoId": "CVR-1-34580820", "batchId": "b1"})
    assert res.status == 200, res.text
    body = res.json()
    assert (body["url"], body["status"], body["ok"]) == (receiver.url(), 200, True)
    assert body["reason"] == "HTTP 200"
    assert isinstance(body["elapsedMs"], int)
    (call,) = receiver.calls
    assert call["query"] == {"lassoId": "CVR-1-34580820", "batchId": "b1", "reportType": "Revision"}
    assert call["body"]["status"] == "Test" and call["body"]["cvr"] == "34580820"
    assert "authorization" not in call["headers"]

    receiver.plan = [500]
    auth = {"Method": "BasicAuth", "Key": "u", "Value": "p"}
    res = api.post(TEST, json_body={"url": receiver.url("/x"), "authConfig": auth, "reportType": "Finans"})
    assert res.status == 200, res.text
    assert (res.json()["status"], res.json()["ok"], res.json()["reason"]) == (500, False, "HTTP 500")
    assert receiver.calls[1]["headers"]["authorization"] == "Basic " + base64.b64encode(b"u:p").decode()
    assert receiver.calls[1]["query"]["reportType"] == "Finans"
    assert receiver.calls[1]["body"]["printType"] == 1
    header = {"Method": "Header", "Key": "X-Hook", "Value": "v"}
    assert api.post(TEST, json_body={"url": receiver.url(), "authConfig": header}).status == 200
    assert receiver.calls[2]["headers"]["x-hook"] == "v"

    for sent in (
        api.get(TEST, params={"url": "http://169.254.169.254/latest/meta-data"}),
        api.post(TEST, json_body={"url": "http://169.254.169.254/", "authConfig": auth}),
    ):
        assert sent.status == 400, sent.text
        assert sent.json()["details"][0]["field"] == "url" and "metadata" in sent.json()["message"]
    bad = api.post(TEST, json_body={"url": receiver.url(), "authConfig": {"Method": "Kerberos", "Key": "k"}})
    assert bad.status in (400, 422)
    assert api.get(TEST, params={"url": receiver.url(), "lassoId": "34580820"}).status == 400
    assert len(receiver.calls) == 3
    # no answer at all: 200 with the reason
    closed = receiver.url().replace(str(receiver.port), "9")
    res = api.get(TEST, params={"url": closed})
    assert res.status == 200 and res.json()["status"] is None and not res.json()["ok"]
    assert res.json()["reason"].startswith("Connection failed")


def test_redirects_are_not_followed(stack, receiver):
    receiver.default = 302
    receiver.location = "http://169.254.169.254/latest/meta-data"
    outcome = webhooks.send(receiver.url(), {"a": 1})
    assert (outcome.status, outcome.ok) == (302, False)
    assert outcome.reason == "HTTP 302: redirect to http://169.254.169.254/latest/meta-data not followed"
    assert len(receiver.calls) == 1


# ---------------------------------------------------------------------------------------------- pure parts
def test_payload_and_call_url():
    record = {"id": "bat_1", "reportType": "ReelleEjere"}
    item = {
        "id": "bat_1-4",
        "cvr": "34580820",
        "name": "7-34580820-Firma",
        "status": "Warning",
        "statusCode": 1,
        "printType": 2,
        "pdfurl": "https://x/apps/reporting/files/t",
        "internalCustomerId": 7,
        "createdOn": "2026-01-02T03:04:05+00:00",
        "missing": ["management"],
    }
    assert webhooks.payload(record, item, 3) == {
        "lassoId": "CVR-1-34580820",
        "batchId": "bat_1",
        "itemId": "bat_1-4",
        "reportType": "ReelleEjere",
        "printType": 2,
        "status": "Warning",
        "statusCode": 1,
        "name": "7-34580820-Firma",
        "fileName": "7-34580820-Firma.pdf",
        "pdfurl": "https://x/apps/reporting/files/t",
        "internalCustomerId": 7,
        "cvr": "34580820",
        "createdOn": "2026-01-02T03:04:05+00:00",
        "attempt": 3,
    }
    assert webhooks.call_url("https://h.example/p#f", "CVR-1-1", "b", "Revision") == (
        "https://h.example/p?lassoId=CVR-1-1&batchId=b&reportType=Revision"
    )
    assert webhooks.call_url("https://h.example/p?a=1&b=%20", "CVR-1-1", "b", "Finans") == (
        "https://h.example/p?a=1&b=%20&lassoId=CVR-1-1&batchId=b&reportType=Finans"
    )


def test_auth_headers():
    assert webhooks.auth_headers(None) == {}
    assert webhooks.auth_headers({"method": "Header", "key": "X-Key", "value": "v"}) == {"X-Key": "v"}
    assert webhooks.auth_headers({"Method": "BasicAuth", "Key": "Aladdin", "Value": "open sesame"}) == {
        "Authorization": "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
    }
    with pytest.raises(ValueError):
        webhooks.auth_headers({"method": "Kerberos", "key": "a", "value": "b"})


def test_retry_schedule_grows_and_stays_within_a_day():
    first = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    earliest = [webhooks.retry_at(first, n, lambda: 0.0) - first for n in range(1, 6)]
    latest = [webhooks.retry_at(first, n, lambda: 1.0) - first for n in range(1, 6)]
    minutes = [timedelta(minutes=m) for m in (5, 30, 120, 360, 720)]
    assert earliest == minutes and webhooks.ATTEMPTS == 6
    assert latest == [
        timedelta(minutes=5, seconds=30),
        timedelta(minutes=33),
        timedelta(minutes=130),
        timedelta(minutes=370),
        timedelta(minutes=730),
    ]
    assert all(a < b for a, b in zip(latest, earliest[1:], strict=False))  # in order, whatever the jitter
    assert latest[-1] < timedelta(hours=24) and earliest[1] > timedelta(minutes=15)  # beyond SQS's delays
    name = webhooks.schedule_name("bat_20261121081542_0123456789ab", 9999, 6)
    assert len(name) <= 64 and name == "saldo-wh-bat_20261121081542_0123456789ab-9999-6"


def test_the_test_endpoint_reads_names_in_any_case_and_refuses_a_field_twice(stack, api, receiver):
    url = receiver.url()
    res = api.post(
        "/apps/reporting/webhooks/test",
        json_body={"URL": url, "AuthConfig": {"method": "header", "key": "X-Token", "value": "t"}},
    )
    assert res.status == 200, res.text
    assert receiver.calls[-1]["headers"]["x-token"] == "t"
    for body, field in (
        ({"url": url, "URL": url}, "URL"),
        (
            {"url": url, "authConfig": {"Method": "Header", "Key": "X", "Value": "v"}, "AuthConfig": None},
            "AuthConfig",
        ),
        ({"url": url, "authConfig": {"Method": "Kerberos", "Key": "a", "Value": "b"}}, "authConfig.Method"),
        ({"url": url, "authConfig": "Bearer x"}, "authConfig"),
    ):
        res = api.post("/apps/reporting/webhooks/test", json_body=body)
        assert res.status == 400 and field in [p["field"] for p in res.json()["details"]], res.text


@pytest.mark.parametrize(
    "header",
    ["Transfer-Encoding", "te", "Connection", "Upgrade", "Expect", "Content-Type", "Host", "Content-Length"],
)
def test_an_auth_header_may_not_frame_or_route_the_request(stack, api, receiver, header):
    auth = {"Method": "Header", "Key": header, "Value": "chunked"}
    res = api.post("/apps/reporting/webhooks/test", json_body={"url": receiver.url(), "authConfig": auth})
    assert res.status == 400 and "authConfig.Key" in res.text, res.text
    assert receiver.calls == []
