"""Faults on the way of a batch, each on the local stack: the final state is right, nothing is lost and
nothing is done twice."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from saldo_tools import demo_registry as d
from tests.batches.test_batches import BATCHES, items, wait
from tests.batches.test_batches import demo as demo

ITEMS = [{"cvr": d.NORDLYS_DRIFT}, {"cvr": d.SPREDT}, {"cvr": d.KREDS_A}]


@pytest.fixture
def tenant_stack_short_timeout(monkeypatch) -> Iterator[tuple[Any, Any, str, list[str]]]:
    """A stack whose item tasks time out after 2 s, and a report that takes 5 s the first time."""
    from saldo.adapters.tenancy_store import TenancyStore
    from saldo.batches import service
    from saldo_tools.localstack import LocalStack
    from tests.conftest import ROOT, ApiClient
    from tests.ledger.helpers import make_client_account

    original, slow = service.produce_report, {d.SPREDT}
    calls: list[str] = []

    def produce(org_id, kind, cvr, run_date, grants):
        calls.append(cvr)
        if cvr in slow:
            slow.discard(cvr)
            time.sleep(5)
        return original(org_id, kind, cvr, run_date, grants)

    monkeypatch.setattr(service, "produce_report", produce)
    with LocalStack(ROOT, tick=3600, parameters={"BatchItemTimeoutSeconds": "2"}) as stack:
        store = TenancyStore()
        org = store.create_org("Timeout ApS")["org_id"]
        api = ApiClient(stack, store.create_key(org, label="t")["key"])
        d.load_demo_registry(org, make_client_account(api))
        yield stack, api, org, calls


def _batch(api, **extra):
    body = {
        "batchName": "F",
        "type": 2,
        "format": "{cvr}",
        "items": ITEMS,
        "notificationEmail": "f@example.dk",
    }
    res = api.post(BATCHES, json_body={**body, **extra})
    assert res.status == 201, res.text
    return res.json()["id"]


def _mails(stack, batch_id: str | None = None) -> list:
    return [m for m in stack.outbox() if "f@example.dk" in str(m["destinations"])]


def _fail_once(monkeypatch, target: str) -> list[int]:
    """Make `target` (module.attr) raise on its first call for each item."""
    import importlib

    module_name, attr = target.rsplit(".", 1)
    owner = importlib.import_module(module_name)
    original = getattr(owner, attr)
    calls: list[int] = []
    lock = threading.Lock()

    def flaky(*args, **kwargs):
        with lock:
            calls.append(1)
            first = len(calls) <= len(ITEMS)
        if first:
            raise RuntimeError("crashed before")
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, attr, flaky)
    return calls


def test_an_item_task_that_crashes_before_its_pdf_is_retried(demo, stack, monkeypatch):
    calls = _fail_once(monkeypatch, "saldo.batches.service.produce_report")
    done, _ = wait(demo, _batch(demo))
    assert (done["status"], done["completed"], done["failed"]) == ("Finished", 3, 0)
    assert len(calls) == 6 and len(items(demo, done["id"])) == 3 and len(_mails(stack)) == 3


def test_an_item_task_that_crashes_after_writing_its_pdf_is_counted_and_mailed_once(demo, stack, monkeypatch):
    from saldo.adapters import documents

    original, written = documents.put_object, set()

    def put(bucket, key, *args, **kwargs):
        original(bucket, key, *args, **kwargs)
        if key.endswith(".pdf") and key not in written:
            written.add(key)
            raise RuntimeError("crashed after writing the PDF")

    monkeypatch.setattr(documents, "put_object", put)
    done, _ = wait(demo, _batch(demo))
    assert (done["status"], done["completed"], done["batchSize"]) == ("Finished", 3, 3)
    found = items(demo, done["id"])
    assert sorted(i["cvr"] for i in found) == sorted(i["cvr"] for i in ITEMS)
    assert len(_mails(stack)) == 3


def test_a_put_that_keeps_failing_fails_the_item_not_the_batch(demo, monkeypatch):
    from saldo.adapters import documents

    original = documents.put_object

    def put(bucket, key, *args, **kwargs):
        if key.endswith(".pdf") and "0000001" in key:
            raise RuntimeError("S3 is down for this key")
        return original(bucket, key, *args, **kwargs)

    monkeypatch.setattr(documents, "put_object", put)
    done, _ = wait(demo, _batch(demo, errorAppend="#fejl"), timeout=90)
    assert (done["status"], done["completed"], done["failed"]) == ("FinishedWithErrors", 2, 1)
    (failed,) = items(demo, done["id"], status="Failed")
    assert failed["cvr"] == d.SPREDT and failed["name"].endswith("#fejl") and "retried" in failed["reason"]


def test_ses_rejecting_an_email_leaves_the_report_and_says_why(demo, stack, monkeypatch):
    from saldo.adapters import batch_store

    def refuse(*args, **kwargs):
        raise RuntimeError("MessageRejected: Email address is not verified")

    monkeypatch.setattr("saldo.adapters.email.send_email", refuse)
    done, _ = wait(demo, _batch(demo))
    assert (done["status"], done["completed"]) == ("Finished", 3)
    stored = batch_store.BatchStore().get_item(demo_org(demo), done["id"], 0)
    assert "not verified" in stored["email_error"]


def test_a_start_message_delivered_twice_runs_the_batch_once(demo, stack):
    from saldo.batches import service

    api = demo
    org = demo_org(api)
    with stack.hold_event_sources():  # the starter does not run while the message waits
        batch_id = _batch(api)
        first = service.start(org, batch_id)
        second = service.start(org, batch_id)
    assert first is not None and second is None
    done, _ = wait(api, batch_id)
    assert (done["completed"], done["batchSize"]) == (3, 3)
    assert len(items(api, batch_id)) == 3 and len(_mails(stack)) == 3


def demo_org(api) -> str:
    from saldo.adapters.tenancy_store import TenancyStore

    return TenancyStore().caller_for_key(api.key).org_id


def test_housekeeping_finishes_a_batch_stuck_past_its_deadline(demo, stack):
    from datetime import UTC, datetime, timedelta

    from saldo.adapters.jobstatus import BATCH, JobStatusStore
    from saldo.batches import service

    api = demo
    org = demo_org(api)
    with stack.hold_event_sources():
        batch_id = _batch(api)
        # the run started, then its execution died before any item: only the sweep can end it
        past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        fields = {"status": service.EXECUTING, "gsi1pk": service.STUCK_INDEX, "gsi1sk": past}
        JobStatusStore(BATCH).update(org, batch_id, fields)
        result = stack.runtime.invoke("HousekeepingFunction", {})
    assert result["stuck_batches_finished"] == 1
    done = api.get(f"{BATCHES}/{batch_id}").json()
    assert (done["status"], done["failed"], done["completionPercentage"]) == ("FinishedWithErrors", 3, 1.0)
    assert all("deadline" in i["reason"] for i in items(api, batch_id))
    assert stack.runtime.invoke("HousekeepingFunction", {})["stuck_batches_finished"] == 0


def test_an_item_task_that_times_out_is_retried_and_counted_once(tenant_stack_short_timeout):
    stack, api, _, calls = tenant_stack_short_timeout
    done, _ = wait(api, _batch(api), timeout=90)
    assert calls.count(d.SPREDT) == 2  # the first attempt timed out after 2 s; the retry made the report
    assert (done["status"], done["completed"], done["failed"], done["batchSize"]) == ("Finished", 3, 0, 3)
    time.sleep(4)  # the timed-out first attempt finishes late: it must record and send nothing
    again = api.get(f"{BATCHES}/{done['id']}").json()
    assert (again["completed"], again["failed"]) == (3, 0)
    assert len(items(api, done["id"])) == 3 and len(_mails(stack)) == 3
