"""Each function's IAM role allows exactly what its code calls (docs/SECURITY.md, "IAM").

moto ignores `Policies`, so a missing permission passes every other test and fails only on AWS. Here one
stack runs every function's paths end to end with a recorder on (tests/security/iam_recorder.py); each
AWS call is mapped to the IAM requests it makes and evaluated against the function's role as
aws-sam-translator writes it from template.yaml. Two checks:

- every request is allowed (a missing permission fails, naming function, action and resource);
- every (action, resource) an Allow statement grants is used by some request (a grant nothing uses
  fails, so policies shrink with the code, and the scenario must reach every path that needs one).
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import time
import urllib.parse
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, ApiClient
from tests.ledger.helpers import make_client_account, post, sale
from tests.security.iam_recorder import (
    Call,
    Policy,
    Recorder,
    Request,
    Statement,
    function_policies,
    requests_for,
    sam_python,
    translate,
)

IMPORTS = "/api/v2/client-accounts/imports"
REPORTS = "/api/v2/reports"
XML = {"content-type": "application/xml"}

# Grants the scenario cannot reach, each with its reason. Kept short: a grant here is not tested.
UNEXERCISED: dict[tuple[str, str, str], str] = {}


# ---------------------------------------------------------------- the scenario


def _saft(transactions: int, regno: str) -> bytes:
    from tests.saft.generate import generate

    buf = io.BytesIO()
    generate(buf, transactions, regno=regno)
    return buf.getvalue()


def _key_of(url: str, bucket: str) -> str:
    key = urllib.parse.unquote(urllib.parse.urlparse(url).path.lstrip("/"))
    return key.split("/", 1)[1] if key.startswith(bucket + "/") else key


def _wait(stack: Any, api: ApiClient, path: str, *, link: bool = False) -> dict[str, Any]:
    stack.drain(timeout=120)
    body: dict[str, Any] = (api.follow(path) if link else api.get(path)).json()  # a link has the stage
    assert body["status"] in ("SUCCEEDED", "FAILED"), body
    return body


def _wait_batch(api: ApiClient, batch_id: str) -> dict[str, Any]:
    deadline = time.time() + 60
    while time.time() < deadline:
        body: dict[str, Any] = api.get(f"/apps/reporting/batches/{batch_id}").json()
        if body["status"].startswith("Finished"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"batch {batch_id} did not finish: {body}")


def exercise(stack: Any, mp: pytest.MonkeyPatch) -> None:
    """Every function, every path that needs a permission; each step asserts it did what it should."""
    from saldo.adapters.jobstatus import JobStatusStore
    from saldo.adapters.tenancy_store import TenancyStore
    from saldo.ledger.store import COMPACT_AFTER
    from saldo.render import RenderedDocument
    from saldo.saft import importer
    from saldo.tenancy import new_key

    store = TenancyStore()  # the admin command's part: no function's role is involved
    org = store.create_org("IAM AS")["org_id"]
    api = ApiClient(stack, store.create_key(org, label="iam")["key"])
    docs = stack.env()["SALDO_DOCUMENT_BUCKET"]

    # PublicApiFunction; AuthorizerFunction for a known, an unknown and a malformed key
    assert api.get("/health").json()["status"] == "ok"
    assert api.get("/openapi.json").status == 200 and api.get("/docs").status == 200
    assert api.get("/api/v2/client-accounts", key=new_key()[1]).status == 401
    assert api.get("/api/v2/client-accounts", key="not-a-key").status == 401

    # LedgerApiFunction: client accounts, master data, entries (idempotent), drafts, cancel, reconcile
    ca = make_client_account(api)
    assert api.get("/api/v2/client-accounts").status == 200
    assert api.patch(f"/api/v2/client-accounts/{ca}", json_body={"name": "IAM Regnskap AS"}).status == 200
    assert api.get(f"/api/v2/client-accounts/{ca}/accounts").status == 200
    first = post(api, ca, [sale("2025-01-10", "800.00", ca=ca, vat="200.00")], key="iam-1")
    assert first.status == 201, first.text
    assert post(api, ca, [sale("2025-01-10", "800.00", ca=ca, vat="200.00")], key="iam-1").status == 201
    unknown_account = sale("2025-01-10", "1.00", ca=ca)
    unknown_account["lines"][0]["account_code"] = "9999"
    refused = post(api, ca, [unknown_account], key="iam-bad")
    assert refused.status == 422, refused.text  # the failed write releases its idempotency key
    with pytest.MonkeyPatch.context() as small:  # a reply too large for its record goes to S3
        small.setattr("saldo.api.idempotency.INLINE_REPLY_BYTES", 0)
        stored = post(api, ca, [sale("2025-01-11", "10.00", ca=ca)], key="iam-big")
        assert stored.status == 201, stored.text
        again = post(api, ca, [sale("2025-01-11", "10.00", ca=ca)], key="iam-big")
        assert again.status == 201 and again.headers.get("x-idempotency-replayed") == "true"
    invoice = first.json()["entries"][0]
    payment = post(
        api,
        ca,
        [
            {
                "posting_date": "2025-01-20",
                "description": "Innbetaling",
                "lines": [
                    {"account_code": "1920", "debit": "1000.00"},
                    {
                        "account_code": "1500",
                        "credit": "1000.00",
                        "relation_type": "businesspartner",
                        "relation_id": 88,
                    },
                ],
            }
        ],
    ).json()["entries"][0]
    rec = api.post(
        "/api/v2/reconciliations",
        json_body={
            "client_account_id": ca,
            "lines": [
                {"line_id": invoice["line_ids"][0], "amount": "1000.00"},
                {"line_id": payment["line_ids"][1], "amount": "1000.00"},
            ],
        },
    )
    assert rec.status == 200, rec.text
    draft = post(api, ca, [sale("2025-02-01", "50.00", ca=ca, is_draft=True)]).json()["entries"][0]
    edited = api.put(
        f"/api/v2/journal-entries/{draft['id']}",
        json_body={"client_account_id": ca, "entry": sale("2025-02-02", "75.00", ca=ca, is_draft=True)},
    )
    assert edited.status == 200, edited.text
    assert (
        api.delete(f"/api/v2/journal-entries/{draft['id']}", params={"client_account_id": ca}).status == 200
    )
    # A reconciled entry is cancelled once its reconciliation is undone.
    undo = api.post(
        f"/api/v2/reconciliations/{rec.json()['reference']}/unreconcile", json_body={"client_account_id": ca}
    )
    assert undo.status == 200, undo.text
    cancel = api.post(f"/api/v2/journal-entries/{payment['id']}/cancel", json_body={"client_account_id": ca})
    assert cancel.status == 200, cancel.text
    assert api.get(f"/api/v2/journal-entries/{invoice['id']}", params={"client_account_id": ca}).status == 200
    with _lose_one_race(mp):  # the write that loses deletes what it wrote, then tries again
        assert post(api, ca, [sale("2025-02-10", "5.00", ca=ca)]).status == 201
    # enough writes to queue a compaction; JobWorkerFunction merges, swaps and retires the segments
    with stack.hold_event_sources():
        for n in range(COMPACT_AFTER):
            assert post(api, ca, [sale("2025-03-01", f"{n + 1}.00", ca=ca)]).status == 201
    with _lose_one_race(mp):  # a compaction that loses deletes its merged objects, the next one wins
        stack.drain(timeout=120)
    from saldo.ledger.service import default_store

    assert len(default_store().manifest(org, ca).segments) < COMPACT_AFTER

    # ReportsApiFunction: JSON, a document too big to answer inline (303), a queued document
    period = {"client_account_id": ca, "date_from": "2025-01-01", "date_to": "2025-12-31"}
    for report in ("balance-sheet", "income-statement", "trial-balance", "general-ledger", "vat"):
        assert api.get(f"{REPORTS}/{report}", params=period).status == 200, report
    assert api.get(f"{REPORTS}/accounts-receivable", params={"client_account_id": ca}).status == 200
    with pytest.MonkeyPatch.context() as inline:
        inline.setattr(RenderedDocument, "fits_inline", lambda self, limit=0: False)
        big = api.get(f"{REPORTS}/general-ledger", params=period, headers={"accept": "application/pdf"})
        assert big.status == 303, big.text
    queued = api.get(
        f"{REPORTS}/general-ledger",
        params=period,
        headers={"accept": "application/pdf", "prefer": "respond-async"},
    )
    assert queued.status == 202, queued.text
    job = _wait(stack, api, queued.json()["status_url"], link=True)
    assert job["status"] == "SUCCEEDED" and job["download_url"], job

    # SaftApiFunction and the worker: an import in the request body, big enough that the worker
    # queues a compaction of the ledger it wrote
    mp.setattr(importer, "SEGMENT_LINES", 3)
    res = api.post(
        IMPORTS, body=_saft(COMPACT_AFTER + 2, "888888888"), headers=XML, params={"file_name": "a.xml"}
    )
    assert res.status == 202, res.text
    done = _wait(stack, api, f"{IMPORTS}/{res.json()['id']}")
    assert done["status"] == "SUCCEEDED", (done.get("errors"), done.get("warnings"))
    imported = done["client_account_id"]
    assert len(default_store().manifest(org, imported).segments) < COMPACT_AFTER  # compacted
    assert api.get(IMPORTS).status == 200
    assert api.get(f"/api/v2/client-accounts/{imported}/imports").status == 200
    assert api.get(f"/api/v2/client-accounts/{imported}/imports/{res.json()['id']}").status == 200
    # a presigned upload: started before the file is there (409), then after
    asked = api.post(IMPORTS, json_body={"file_names": ["b.xml"]})
    assert asked.status == 201, asked.text
    start = f"{IMPORTS}/{asked.json()['id']}/start"
    assert api.post(start).status == 409
    import requests

    put = requests.put(asked.json()["uploads"][0]["url"], data=_saft(5, "999999999"), timeout=10)
    assert put.status_code == 200
    assert api.post(start).status == 202
    assert _wait(stack, api, f"{IMPORTS}/{asked.json()['id']}")["status"] == "SUCCEEDED"
    # an upload that is gone by the time the worker runs fails the import (S3 says 404, not 403)
    with stack.hold_event_sources():
        gone = api.post(IMPORTS, body=_saft(3, "999999999"), headers=XML).json()["id"]
        s3 = stack.client("s3")
        for obj in s3.list_objects_v2(Bucket=docs, Prefix="uploads/").get("Contents", []):
            s3.delete_object(Bucket=docs, Key=obj["Key"])
    assert _wait(stack, api, f"{IMPORTS}/{gone}")["errors"][0]["code"] == "upload_missing"
    # exports: inline XML, stored with a 303, and a zip emailed by the worker
    export = f"{REPORTS}/data-export"
    params = {"client_account_id": imported}
    assert api.get(export, params=params, headers={"accept": "text/xml"}).status == 200
    assert api.get(f"{REPORTS}/saf-t-financial", params=params).status == 200
    with pytest.MonkeyPatch.context() as inline:
        inline.setattr("saldo.api.routes.saft.INLINE_LIMIT", 1000)
        assert api.get(export, params=params, headers={"accept": "text/xml"}).status == 303
    zipped = api.get(
        export, params={**params, "email": "revisor@example.no"}, headers={"accept": "application/zip"}
    )
    assert zipped.status == 202, zipped.text
    emailed = _wait(stack, api, zipped.json()["links"]["self"], link=True)
    assert emailed["status"] == "SUCCEEDED" and emailed["url"], emailed
    assert any("revisor@example.no" in str(m["destinations"]) for m in stack.outbox())
    with zipfile.ZipFile(io.BytesIO(_download(stack, docs, emailed["url"]))) as zf:
        assert len(zf.namelist()) == 1

    # RegistryApiFunction: companies, persons, history, ownership, a search, an import
    from tests.security.id_providers import cvr

    holding, opco = cvr(), cvr()
    assert api.request("PUT", "/api/v2/persons/anna", json_body={"name": "Anna"}).status == 201
    holder = {"party": {"person_id": "anna"}, "name": "Anna", "capital": {"low": "1", "high": "1"}}
    assert (
        api.request(
            "PUT", f"/api/v2/companies/DK/{holding}", json_body={"name": "H ApS", "owners": [holder]}
        ).status
        == 201
    )
    parent = {
        "party": {"country": "DK", "registration_number": holding},
        "name": "H ApS",
        "capital": {"low": "1", "high": "1"},
    }
    assert (
        api.request(
            "PUT", f"/api/v2/companies/DK/{opco}", json_body={"name": "O ApS", "owners": [parent]}
        ).status
        == 201
    )
    assert (
        api.get(f"/api/v2/companies/DK/{opco}/ownership").json()["computed_beneficial_owners"][0]["person_id"]
        == "anna"
    )
    assert api.get(f"/api/v2/companies/DK/{opco}/history").status == 200
    assert api.get("/api/v2/companies", params={"q": "ApS", "limit": 1}).json()["next_cursor"]
    assert api.get("/api/v2/persons/anna").json()["companies"]
    imported_doc = {"country": "DK", "registration_number": cvr(), "name": "I ApS"}
    assert api.post("/api/v2/companies/import", json_body={"documents": [imported_doc]}).status == 200
    # a company report whose key figures come from a linked client account's ledger (its segments)
    linked = {"effective_date": "2025-01-01", "name": "Ledger AS", "client_account_id": ca}
    assert api.request("PUT", "/api/v2/companies/NO/923609016", json_body=linked).status == 201
    with pytest.MonkeyPatch.context() as fresh:  # its own execution environment: no view or segment cached
        from collections import OrderedDict

        from saldo.ledger import query

        fresh.setattr(query, "CACHE_DIR", Path(tempfile.mkdtemp(prefix="registry-cache-")))
        fresh.setattr(query, "_views", OrderedDict())
        finans = api.get("/api/v2/companies/NO/923609016/reports/Finans", params={"as_of": "2026-06-30"})
    assert finans.json()["source"] == "ledger", finans.text
    pdf = api.get(f"/api/v2/companies/DK/{opco}/reports/3", headers={"Accept": "application/pdf"})
    assert pdf.status == 200 and pdf.body.startswith(b"%PDF")

    # Batch functions: a batch now (start queue, the state machine, each item's report with a ledger's key
    # figures and an email, the finalizer), a scheduled one, a listener stopped, lists, a download link
    relinked = {"name": "O ApS", "owners": [parent], "client_account_id": ca}
    assert api.request("PUT", f"/api/v2/companies/DK/{opco}", json_body=relinked).status == 200
    batch = {
        "batchName": "IAM",
        "type": "Finans",
        "format": "{cvr}-{name}",
        "notificationEmail": "revisor@example.dk",
        "items": [{"cvr": opco, "internalCustomerId": 1}, {"cvr": holding}],
    }
    with pytest.MonkeyPatch.context() as fresh:  # the run function's own execution environment
        from collections import OrderedDict

        from saldo.ledger import query

        fresh.setattr(query, "CACHE_DIR", Path(tempfile.mkdtemp(prefix="batch-cache-")))
        fresh.setattr(query, "_views", OrderedDict())
        created = api.post("/apps/reporting/batches", json_body=batch)
        assert created.status == 201, created.text
        done = _wait_batch(api, created.json()["id"])
    assert (done["status"], done["completed"], done["warnings"]) == ("FinishedWithWarning", 1, 1), done
    # a start message delivered again finds the batch finished and starts nothing
    queue = stack.client("sqs").get_queue_url(QueueName="saldo-batch-local")["QueueUrl"]
    again = {"org_id": org, "batch_id": done["id"]}
    stack.client("sqs").send_message(QueueUrl=queue, MessageBody=json.dumps(again))
    stack.drain(timeout=30)
    found = api.get(f"/apps/reporting/batches/{done['id']}/items").json()["results"]
    pdfurl = found[0]["pdfurl"]
    assert ApiClient(stack).get(pdfurl[pdfurl.index("/apps/") :]).status == 303
    # The batch's zip (BatchApiFunction queues it, JobWorkerFunction writes it): a first attempt whose
    # part upload fails is aborted; the next request starts it again and it is written
    from saldo.adapters.multipart import S3MultipartUpload

    zip_path = f"/apps/reporting/batches/{done['id']}/zip"
    with pytest.MonkeyPatch.context() as broken:

        def refuse(self: Any, number: int, data: bytes) -> None:
            raise OSError("part refused")

        broken.setattr(S3MultipartUpload, "upload_part", refuse)
        assert api.get(zip_path).status == 202
        stack.drain(timeout=60)
    assert api.get(zip_path).status == 202  # the failed job, queued again
    stack.drain(timeout=60)
    zipped = api.get(zip_path)
    assert zipped.status == 303, zipped.text
    with zipfile.ZipFile(io.BytesIO(_download(stack, docs, zipped.headers["location"]))) as zf:
        assert len(zf.namelist()) == 2
    assert api.get("/apps/reporting/batches", params={"limit": 1}).status == 200
    later = {**batch, "scheduledTime": "2099-01-01 06:00:00"}
    assert api.post("/apps/reporting/batches", json_body=later).json()["status"] == "Scheduled"
    listener = {**batch, "type": "ReelleEjere", "IsListener": True}
    listening = api.post("/apps/reporting/batches", json_body=listener).json()
    stopped = api.post(f"/apps/reporting/batches/{listening['id']}/stop")
    assert stopped.json()["status"] == "ListeningStopped", stopped.text

    # Webhooks: every call fails, so BatchRunFunction schedules the first retry and BatchWebhookFunction
    # the others, then disables the batch's webhook and sends the one warning; a test call (no AWS call)

    from tests.batches.test_webhooks import Receiver

    receiver = Receiver()
    receiver.default = 500
    try:
        start = datetime.now(UTC)
        hooked = {**batch, "items": [{"cvr": holding}], "notificationWebhookUrl": receiver.url()}
        created = api.post("/apps/reporting/batches", json_body=hooked)
        assert created.status == 201, created.text
        _wait_batch(api, created.json()["id"])
        stack.drain(timeout=30)
        for minutes in (6, 34, 131, 371, 731):  # the retries, jitter included
            stack.fire_due(start + timedelta(minutes=minutes))
            stack.drain(timeout=60)
        assert [c["body"]["attempt"] for c in receiver.calls] == [1, 2, 3, 4, 5, 6]
        assert api.get(f"/apps/reporting/batches/{created.json()['id']}").json()["webhookDisabledAt"]
        assert any("webhook disabled" in str(m.get("subject")) for m in stack.outbox())
        tested = api.get("/apps/reporting/webhooks/test", params={"url": receiver.url()})
        assert tested.json()["status"] == 500, tested.text
    finally:
        receiver.close()

    # HousekeepingFunction: a batch whose run died is finished by the sweep
    from saldo.adapters.jobstatus import BATCH
    from saldo.batches import service as batches

    with stack.hold_event_sources():
        stuck = api.post("/apps/reporting/batches", json_body={**batch, "notificationEmail": None}).json()[
            "id"
        ]
        past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        fields = {"status": batches.EXECUTING, "gsi1pk": batches.STUCK_INDEX, "gsi1sk": past}
        JobStatusStore(BATCH).update(org, stuck, fields)
        assert stack.runtime.invoke("HousekeepingFunction", {})["stuck_batches_finished"] == 1

    # HousekeepingFunction: an import whose worker died is failed by the sweep
    stuck = api.post(IMPORTS, json_body={"file_names": ["c.xml"]}).json()["id"]
    JobStatusStore("IMPORT").update(org, stuck, {"status": "RUNNING"}, running=True)
    with pytest.MonkeyPatch.context() as clock:
        clock.setattr("saldo.housekeeping.STUCK_AFTER", timedelta(seconds=-60))
        assert stack.runtime.invoke("HousekeepingFunction", {})["stuck_jobs_failed"] >= 1
    assert api.get(f"{IMPORTS}/{stuck}").json()["status"] == "FAILED"


@contextlib.contextmanager
def _lose_one_race(mp: pytest.MonkeyPatch) -> Iterator[None]:
    """The next manifest swap fails as if another writer got in first."""
    from saldo.adapters.ledger_aws import DynamoManifestStore
    from saldo.ledger.store import ManifestConflict

    save = DynamoManifestStore.save
    lost: list[bool] = []

    def lose_once(self: Any, manifest: Any, expected_version: int) -> None:
        if not lost:
            lost.append(True)
            raise ManifestConflict
        save(self, manifest, expected_version)

    mp.setattr(DynamoManifestStore, "save", lose_once)
    try:
        yield
    finally:
        mp.setattr(DynamoManifestStore, "save", save)
    assert lost, "no manifest swap happened"


def _download(stack: Any, bucket: str, url: str) -> bytes:
    return bytes(stack.client("s3").get_object(Bucket=bucket, Key=_key_of(url, bucket))["Body"].read())


@pytest.fixture(scope="module")
def run() -> Iterator[dict[str, Any]]:
    """One stack, every path, every call recorded; and the roles as SAM translates them."""
    python = sam_python(ROOT)
    if python is None:
        pytest.fail(
            "the IAM check needs aws-sam-translator: `make install` creates .venv-sam with it "
            "(or point SALDO_SAM_PYTHON at a Python that has it)"
        )
    from saldo_tools.localstack import LocalStack

    with Recorder() as recorder, LocalStack(ROOT, tick=3600) as stack, pytest.MonkeyPatch.context() as mp:
        exercise(stack, mp)
        stack.drain(timeout=120)
        assert not stack.async_errors, stack.async_errors
        translated = translate(ROOT / "template.yaml", python, stack.region)
        yield {
            "calls": list(recorder.calls),
            "policies": function_policies(translated, stack.resolver),
            "hash_keys": _hash_keys(stack),
            "functions": sorted(stack.runtime.specs),
            "table_arn": stack.resolver.attrs[("SaldoTable", "Arn")],
        }


def _hash_keys(stack: Any) -> dict[tuple[str, str | None], str]:
    """Partition key attribute of each table and index, for dynamodb:LeadingKeys."""
    out: dict[tuple[str, str | None], str] = {}
    for logical, res in stack.template["Resources"].items():
        if res["Type"] != "AWS::DynamoDB::Table":
            continue
        table = stack.resolver.refs[logical]
        props = res["Properties"]
        out[(table, None)] = _hash(props["KeySchema"])
        for index in props.get("GlobalSecondaryIndexes", []) + props.get("LocalSecondaryIndexes", []):
            out[(table, index["IndexName"])] = _hash(index["KeySchema"])
    return out


def _hash(schema: list[dict[str, str]]) -> str:
    return next(k["AttributeName"] for k in schema if k["KeyType"] == "HASH")


def _requests(run: dict[str, Any]) -> dict[str, list[tuple[Request, Call]]]:
    out: dict[str, list[tuple[Request, Call]]] = defaultdict(list)
    for call in run["calls"]:
        for request in requests_for(call, run["hash_keys"]):
            out[call.function].append((request, call))
    return out


# ---------------------------------------------------------------- the checks


def test_every_function_ran_and_was_recorded(run):
    seen = {c.function for c in run["calls"]}
    assert sorted(set(run["functions"]) - seen) == []
    assert sorted(run["policies"]) == run["functions"]


def test_every_aws_call_is_allowed_by_the_functions_role(run):
    refused = defaultdict(set)
    for function, requests in _requests(run).items():
        policy: Policy = run["policies"][function]
        for request, call in requests:
            decision = policy.decide(request)
            if decision != "Allow":
                refused[function].add(f"{decision}: {request} ({call.operation})")
    assert {f: sorted(r) for f, r in refused.items()} == {}, "add these to the function's Policies"


def test_every_granted_permission_is_used(run):
    from tests.security.iam_recorder import _glob

    requests = _requests(run)
    unused = []
    for function, policy in run["policies"].items():
        allowed = [r for r, _ in requests.get(function, []) if policy.decide(r) == "Allow"]
        for action, resource, statement in policy.grants():
            if (function, action, resource) in UNEXERCISED:
                continue
            if not any(
                _glob(r.action.lower(), action.lower())
                and _glob(r.resource, resource)
                and statement.matches(r)
                for r in allowed
            ):
                unused.append(f"{function}: {action} on {resource}")
    assert unused == [], "no call needs these: remove them from the Policies (or exercise the path here)"


def test_the_exemptions_name_real_grants(run):
    granted = {
        (function, action, resource)
        for function, policy in run["policies"].items()
        for action, resource, _ in policy.grants()
    }
    assert sorted(set(UNEXERCISED) - granted) == []


def test_no_function_but_the_authorizer_reaches_api_key_items(run):
    """A key item written by another function would let its caller act for any organization."""
    arn = run["table_arn"]
    key_item = ("APIKEY#" + "0" * 64,)
    for function, policy in run["policies"].items():
        for action in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "ConditionCheckItem"):
            decision = policy.decide(Request(f"dynamodb:{action}", arn, key_item))
            if (function, action) == ("AuthorizerFunction", "GetItem"):
                assert decision == "Allow"
            else:
                assert decision != "Allow", (function, action)
        assert policy.decide(Request("dynamodb:Scan", arn)) != "Allow", function
    authorizer = run["policies"]["AuthorizerFunction"]
    assert authorizer.decide(Request("dynamodb:GetItem", arn, ("ORG#org_1",))) != "Allow"


# ---------------------------------------------------------------- the evaluator, on a synthetic policy

TABLE = "arn:aws:dynamodb:eu-north-1:123456789012:table/t"
BUCKET = "arn:aws:s3:::b"


def _policy(*statements: dict[str, Any]) -> Policy:
    return Policy([Statement.parse(s) for s in statements])


def test_evaluator_allow_deny_and_wildcards():
    policy = _policy(
        {"Effect": "Allow", "Action": ["s3:Get*", "s3:PutObject"], "Resource": f"{BUCKET}/*"},
        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": [TABLE, f"{TABLE}/index/*"]},
        {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": TABLE},
    )
    assert policy.decide(Request("s3:GetObject", f"{BUCKET}/a/b.parquet")) == "Allow"
    assert policy.decide(Request("S3:getobjecttagging", f"{BUCKET}/k")) == "Allow"  # actions ignore case
    assert policy.decide(Request("s3:GetObject", "arn:aws:s3:::b2/k")) == "ImplicitDeny"
    assert policy.decide(Request("s3:ListBucket", BUCKET)) == "ImplicitDeny"
    assert policy.decide(Request("s3:DeleteObject", f"{BUCKET}/k")) == "ImplicitDeny"
    assert policy.decide(Request("dynamodb:Query", f"{TABLE}/index/gsi1")) == "Allow"
    assert policy.decide(Request("dynamodb:DeleteItem", TABLE)) == "Deny"  # an explicit deny wins
    assert policy.decide(Request("sqs:SendMessage", "arn:aws:sqs:eu-north-1:1:q")) == "ImplicitDeny"


def test_evaluator_leading_keys_conditions():
    only_keys = _policy(
        {
            "Effect": "Allow",
            "Action": "dynamodb:GetItem",
            "Resource": TABLE,
            "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["APIKEY#*"]}},
        }
    )
    assert only_keys.decide(Request("dynamodb:GetItem", TABLE, ("APIKEY#abc",))) == "Allow"
    assert only_keys.decide(Request("dynamodb:GetItem", TABLE, ("ORG#1",))) == "ImplicitDeny"
    no_keys = _policy(
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Scan"], "Resource": TABLE},
        {
            "Effect": "Deny",
            "Action": "dynamodb:*",
            "Resource": TABLE,
            "Condition": {"ForAnyValue:StringLike": {"dynamodb:LeadingKeys": ["APIKEY#*"]}},
        },
    )
    assert no_keys.decide(Request("dynamodb:GetItem", TABLE, ("ORG#1",))) == "Allow"
    assert no_keys.decide(Request("dynamodb:GetItem", TABLE, ("APIKEY#abc",))) == "Deny"
    assert no_keys.decide(Request("dynamodb:Scan", TABLE)) == "Allow"  # no leading keys: ForAnyValue is false
    with pytest.raises(ValueError, match="condition operator"):
        _policy(
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:X": "true"}}}
        ).decide(Request("s3:GetObject", BUCKET))


def test_calls_map_to_the_iam_requests_aws_authorizes():
    keys = {("t", None): "pk"}

    def call(service: str, operation: str, status: int | None = 200, **params: Any) -> list[Request]:
        return requests_for(Call("F", service, operation, params, "eu-north-1", status=status), keys)

    put = {"Put": {"TableName": "t", "Item": {"pk": {"S": "ORG#1"}, "sk": {"S": "A"}}}}
    check = {"ConditionCheck": {"TableName": "t", "Key": {"pk": {"S": "ORG#2"}, "sk": {"S": "B"}}}}
    assert call("dynamodb", "TransactWriteItems", TransactItems=[put, check]) == [
        Request("dynamodb:PutItem", TABLE, ("ORG#1",)),
        Request("dynamodb:ConditionCheckItem", TABLE, ("ORG#2",)),
    ]
    query = call(
        "dynamodb",
        "Query",
        TableName="t",
        KeyConditionExpression="#p = :p AND begins_with(sk, :s)",
        ExpressionAttributeNames={"#p": "pk"},
        ExpressionAttributeValues={":p": {"S": "ORG#1"}, ":s": {"S": "CA#"}},
    )
    assert query == [Request("dynamodb:Query", TABLE, ("ORG#1",))]
    assert call("s3", "HeadObject", Bucket="b", Key="k") == [Request("s3:GetObject", f"{BUCKET}/k")]
    assert call("s3", "HeadObject", status=404, Bucket="b", Key="k") == [
        Request("s3:GetObject", f"{BUCKET}/k"),
        Request("s3:ListBucket", BUCKET),  # without it S3 answers 403, not 404
    ]
    assert call("s3", "DeleteObjects", Bucket="b", Delete={"Objects": [{"Key": "x"}, {"Key": "y"}]}) == [
        Request("s3:DeleteObject", f"{BUCKET}/x"),
        Request("s3:DeleteObject", f"{BUCKET}/y"),
    ]
    url = "https://sqs.eu-north-1.amazonaws.com/123456789012/work"
    assert call("sqs", "SendMessage", QueueUrl=url, MessageBody="{}") == [
        Request("sqs:SendMessage", "arn:aws:sqs:eu-north-1:123456789012:work")
    ]
    assert call("events", "PutEvents", Entries=[{"EventBusName": "bus"}, {}]) == [
        Request("events:PutEvents", "arn:aws:events:eu-north-1:123456789012:event-bus/bus"),
        Request("events:PutEvents", "arn:aws:events:eu-north-1:123456789012:event-bus/default"),
    ]
    assert call("ses", "SendEmail", Source="Saldo <r@saldo.example>") == [
        Request("ses:SendEmail", "arn:aws:ses:eu-north-1:123456789012:identity/r@saldo.example")
    ]
