"""Idempotency of POST /api/v2/journal-entries (Powertools' idempotency utility in the single table):
replays, canonical bodies, 422 for another body, 409 in flight, released keys, crashed requests, expiry,
organizations, large replies, and 20 parallel requests over real sockets."""

from __future__ import annotations

import datetime as real_dt
import json
import threading
import time
import types
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import ROOT, ApiClient
from tests.ledger.helpers import make_client_account, post, sale
from tests.localstack.conftest import http

TIMEOUT = 29  # Globals.Function.Timeout in template.yaml: the local stack's remaining time per call

_POWERTOOLS_CLOCKS = (
    "aws_lambda_powertools.utilities.idempotency.base",
    "aws_lambda_powertools.utilities.idempotency.persistence.base",
    "aws_lambda_powertools.utilities.idempotency.persistence.datarecord",
    "aws_lambda_powertools.utilities.idempotency.persistence.dynamodb",
)


def shift_clock(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Move the idempotency utility's clock forward (it reads `dt.datetime.now()`) instead of sleeping."""
    import importlib

    offset = real_dt.timedelta(seconds=seconds)

    class Later(real_dt.datetime):
        @classmethod
        def now(cls, tz: Any = None) -> real_dt.datetime:  # type: ignore[override]
            return real_dt.datetime.now(tz) + offset

    shim = types.SimpleNamespace(datetime=Later, timedelta=real_dt.timedelta)
    for name in _POWERTOOLS_CLOCKS:
        monkeypatch.setattr(importlib.import_module(name), "dt", shim)


def idempotency_items(org_id: str) -> list[dict[str, Any]]:
    from saldo.adapters.clients import client
    from saldo.config import settings

    return client("dynamodb").scan(
        TableName=settings().table_name,
        FilterExpression="begins_with(pk, :pk) AND sk = :sk",
        ExpressionAttributeValues={":pk": {"S": f"ORG#{org_id}#IDEMP#"}, ":sk": {"S": "IDEMP"}},
        ConsistentRead=True,
    )["Items"]


def version(org_id: str, ca: int) -> int:
    from saldo.ledger.service import default_store

    return default_store().manifest(org_id, ca).version


def raw_post(api: ApiClient, body: str, key: str) -> Any:
    return api.post(
        "/api/v2/journal-entries",
        body=body.encode(),
        headers={"Idempotency-Key": key, "Content-Type": "application/json"},
    )


def assert_error(res: Any, status: int) -> None:
    body = res.json()
    assert res.status == status, res.text
    assert body["status"] == status and body["error"] and body["message"]


def test_replay_returns_the_first_status_and_body_with_the_replay_header(api, tenant):
    ca = make_client_account(api)
    key = uuid.uuid4().hex
    first = post(api, ca, [sale("2025-01-10", "500.00", ca=ca)], key=key)
    assert first.status == 201, first.text
    assert first.headers["x-idempotency-replayed"] == "false"
    assert first.headers["idempotent-replayed"] == "false"
    after_first = version(tenant["org_id"], ca)
    again = post(api, ca, [sale("2025-01-10", "500.00", ca=ca)], key=key)
    assert again.status == 201
    assert again.body == first.body  # byte for byte, amounts with their two decimals
    assert again.headers["x-idempotency-replayed"] == "true"
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"] == "application/json"
    assert version(tenant["org_id"], ca) == after_first  # nothing posted again
    [item] = idempotency_items(tenant["org_id"])
    assert item["status"]["S"] == "COMPLETED"
    assert item["pk"]["S"].startswith(f"ORG#{tenant['org_id']}#IDEMP#journal-entries#")
    assert key not in json.dumps(item)  # the key is hashed into the record's key, never stored as sent
    ttl = int(item["expires_at"]["N"]) - time.time()
    assert 23 * 3600 < ttl <= 24 * 3600


def test_reordered_keys_and_equal_amounts_are_the_same_request(api):
    ca = make_client_account(api)
    key = uuid.uuid4().hex
    entry = sale("2025-01-10", "500.00", ca=ca)
    first = post(api, ca, [entry], key=key)
    assert first.status == 201
    reordered = {
        "entries": [
            {
                "lines": [dict(reversed(list(line.items()))) for line in entry["lines"]],
                "description": entry["description"],
                "posting_date": entry["posting_date"],
            }
        ],
        "client_account_id": ca,
    }
    reordered["entries"][0]["lines"][0]["debit"] = "500"  # 500 is 500.00
    res = raw_post(api, json.dumps(reordered, separators=(",", ":")), key)
    assert res.status == 201, res.text
    assert res.headers["x-idempotency-replayed"] == "true"
    assert res.body == first.body


def test_another_body_with_the_same_key_is_422(api, tenant):
    ca = make_client_account(api)
    key = uuid.uuid4().hex
    assert post(api, ca, [sale("2025-01-10", "500.00", ca=ca)], key=key).status == 201
    before = version(tenant["org_id"], ca)
    other = post(api, ca, [sale("2025-01-10", "600.00", ca=ca)], key=key)
    assert_error(other, 422)
    assert key in other.json()["message"] and "different request body" in other.json()["message"]
    assert version(tenant["org_id"], ca) == before


def test_a_retry_while_the_first_runs_is_409(api, tenant, monkeypatch):
    from saldo.ledger.service import LedgerService

    ca = make_client_account(api)
    key = uuid.uuid4().hex
    entries = [sale("2025-01-10", "500.00", ca=ca)]
    inside, release = threading.Event(), threading.Event()
    real = LedgerService.post_entries

    def slow(self: LedgerService, payload: Any) -> Any:
        inside.set()
        assert release.wait(30)
        return real(self, payload)

    monkeypatch.setattr(LedgerService, "post_entries", slow)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(post, api, ca, entries, key)
        assert inside.wait(30)
        during = post(api, ca, entries, key=key)
        assert_error(during, 409)
        assert "in progress" in during.json()["message"]
        # another body is still refused as such, even while the first runs
        assert_error(post(api, ca, [sale("2025-01-10", "1.00", ca=ca)], key=key), 422)
        release.set()
        assert first.result(30).status == 201
    replay = post(api, ca, entries, key=key)
    assert replay.status == 201 and replay.headers["x-idempotency-replayed"] == "true"


def test_a_failed_request_releases_its_key(api, tenant):
    ca = make_client_account(api)
    key = uuid.uuid4().hex
    entry = sale("2025-01-10", "500.00", ca=ca)
    unbalanced = {**entry, "lines": [{**entry["lines"][0], "debit": "499.99"}, entry["lines"][1]]}
    before = version(tenant["org_id"], ca)
    bad = post(api, ca, [unbalanced], key=key)
    assert_error(bad, 422)
    assert "balance" in bad.json()["message"]
    assert bad.headers.get("x-idempotency-replayed") is None  # an error from the work, not a reply
    assert idempotency_items(tenant["org_id"]) == []
    assert version(tenant["org_id"], ca) == before
    fixed = post(api, ca, [entry], key=key)
    assert fixed.status == 201, fixed.text
    assert fixed.headers["x-idempotency-replayed"] == "false"


def test_a_crashed_request_frees_its_key_when_its_invocation_would_have_timed_out(api, tenant, monkeypatch):
    from saldo.ledger.service import LedgerService

    class Killed(BaseException):  # what a timeout or an out-of-memory kill looks like: no except runs
        pass

    ca = make_client_account(api)
    key = uuid.uuid4().hex
    entries = [sale("2025-01-10", "500.00", ca=ca)]
    real = LedgerService.post_entries

    def die(self: LedgerService, payload: Any) -> Any:
        raise Killed

    monkeypatch.setattr(LedgerService, "post_entries", die)
    with pytest.raises(Killed):
        post(api, ca, entries, key=key)
    monkeypatch.setattr(LedgerService, "post_entries", real)
    [left] = idempotency_items(tenant["org_id"])
    assert left["status"]["S"] == "INPROGRESS"
    # the claim ends with the invocation's remaining time, not with the record's 24 hours
    claim = int(left["in_progress_expires_at"]["N"]) / 1000 - time.time()
    assert 0 < claim <= TIMEOUT
    assert_error(post(api, ca, entries, key=key), 409)

    shift_clock(monkeypatch, TIMEOUT // 2)
    assert_error(post(api, ca, entries, key=key), 409)
    shift_clock(monkeypatch, TIMEOUT + 1)
    retry = post(api, ca, entries, key=key)
    assert retry.status == 201, retry.text
    assert retry.headers["x-idempotency-replayed"] == "false"
    replay = post(api, ca, entries, key=key)
    assert replay.headers["x-idempotency-replayed"] == "true" and replay.body == retry.body
    entry_id = retry.json()["entries"][0]["id"]
    assert api.get(f"/api/v2/journal-entries/{entry_id + 1}", params={"client_account_id": ca}).status == 404


def test_a_key_expires_after_24_hours(api, tenant, monkeypatch):
    ca = make_client_account(api)
    key = uuid.uuid4().hex
    first = post(api, ca, [sale("2025-01-10", "500.00", ca=ca)], key=key)
    shift_clock(monkeypatch, 24 * 3600 - 60)
    still = post(api, ca, [sale("2025-01-10", "500.00", ca=ca)], key=key)
    assert still.headers["x-idempotency-replayed"] == "true"
    assert_error(post(api, ca, [sale("2025-01-10", "600.00", ca=ca)], key=key), 422)
    shift_clock(monkeypatch, 24 * 3600 + 1)
    later = post(api, ca, [sale("2025-01-10", "600.00", ca=ca)], key=key)
    assert later.status == 201, later.text
    assert later.headers["x-idempotency-replayed"] == "false"
    assert later.json()["entries"][0]["id"] == first.json()["entries"][0]["id"] + 1


def test_keys_of_another_organization_never_collide(stack, api, tenant):
    from saldo.adapters.tenancy_store import TenancyStore

    store = TenancyStore()
    other_org = store.create_org("Annen Org AS")
    other = ApiClient(stack, store.create_key(other_org["org_id"], label="tests")["key"])
    ca_a = make_client_account(api)
    ca_b = make_client_account(other)
    key = "shared-key-1"
    a = post(api, ca_a, [sale("2025-01-10", "500.00", ca=ca_a)], key=key)
    b = post(other, ca_b, [sale("2025-01-10", "500.00", ca=ca_b)], key=key)
    assert a.status == b.status == 201
    assert a.headers["x-idempotency-replayed"] == b.headers["x-idempotency-replayed"] == "false"
    # a different body in the other organization is not "another body for this key" either
    c = post(other, ca_b, [sale("2025-01-10", "9.00", ca=ca_b)], key="only-in-a")
    assert post(api, ca_a, [sale("2025-01-10", "1.00", ca=ca_a)], key="only-in-a").status == 201
    assert c.status == 201
    assert len(idempotency_items(tenant["org_id"])) == 2
    assert len(idempotency_items(other_org["org_id"])) == 2
    # the same scope, key and request in two organizations: each runs once, for itself
    runs: list[str] = []
    for org in (tenant["org_id"], other_org["org_id"], tenant["org_id"], other_org["org_id"]):
        res = _call(org, "same", {"x": 1}, lambda org=org: (runs.append(org) or 201, {"org": org}))
        assert json.loads(res.body) == {"org": org}
    assert runs == [tenant["org_id"], other_org["org_id"]]


# ------------------------------------------------------------------ the reusable piece, directly
def _call(org_id: str, key: str, request: Any, action: Any, context: Any = None) -> Any:
    from saldo.api.idempotency import idempotent_response

    return idempotent_response(
        scope="test", key=key, org_id=org_id, request=request, action=action, context=context
    )


def test_an_error_answered_by_the_work_releases_the_key(stack, tenant):
    calls: list[int] = []

    def refuse() -> tuple[int, Any]:
        calls.append(1)
        return (409, {"status": 409, "error": "Conflict", "message": "not now"})

    res = _call(tenant["org_id"], "k-1", {"a": 1}, refuse)
    assert res.status_code == 409 and json.loads(res.body)["message"] == "not now"
    assert idempotency_items(tenant["org_id"]) == []
    ok = _call(tenant["org_id"], "k-1", {"a": 1}, lambda: (202, {"ok": True}))
    assert ok.status_code == 202 and ok.headers["X-Idempotency-Replayed"] == "false"
    again = _call(tenant["org_id"], "k-1", {"a": 1}, refuse)
    assert again.status_code == 202 and again.headers["X-Idempotency-Replayed"] == "true"
    assert len(calls) == 1


def test_without_a_lambda_context_the_claim_lasts_the_longest_invocation(stack, tenant):
    from saldo.api.idempotency import FALLBACK_IN_PROGRESS_SECONDS

    seen: list[dict[str, Any]] = []

    def work() -> tuple[int, Any]:
        seen.extend(idempotency_items(tenant["org_id"]))
        return (201, {})

    _call(tenant["org_id"], "k-2", {}, work, context=None)
    claim = int(seen[0]["in_progress_expires_at"]["N"]) / 1000 - time.time()
    assert FALLBACK_IN_PROGRESS_SECONDS - 60 < claim <= FALLBACK_IN_PROGRESS_SECONDS


def test_a_large_reply_is_stored_gzipped_in_the_record_and_replayed_whole(stack, tenant):
    from saldo.api.idempotency import INLINE_REPLY_BYTES

    big = {"data": [{"id": i, "name": f"linje {i} – ø"} for i in range(30_000)], "total": Decimal("1.50")}
    first = _call(tenant["org_id"], "k-3", {"n": 1}, lambda: (201, big))
    assert len(first.body.encode()) > INLINE_REPLY_BYTES
    [item] = idempotency_items(tenant["org_id"])
    assert "body_gz" in json.loads(item["response"]["S"])
    replay = _call(tenant["org_id"], "k-3", {"n": 1}, lambda: (500, {}))
    assert replay.headers["X-Idempotency-Replayed"] == "true"
    assert replay.status_code == 201 and replay.body == first.body
    assert replay.body.endswith('"total": 1.50}')  # Decimal kept exact


def test_a_reply_too_large_even_gzipped_is_kept_in_s3_and_replayed_whole(stack, tenant):
    big = {"data": [uuid.uuid4().hex for _ in range(30_000)]}  # random: gzip cannot make it fit
    first = _call(tenant["org_id"], "k-4", {"n": 1}, lambda: (201, big))
    [item] = idempotency_items(tenant["org_id"])
    stored = json.loads(item["response"]["S"])
    assert stored["body_ref"].startswith(f"outputs/idempotency/{tenant['org_id']}/")
    replay = _call(tenant["org_id"], "k-4", {"n": 1}, lambda: (500, {}))
    assert replay.headers["X-Idempotency-Replayed"] == "true"
    assert replay.status_code == 201 and replay.body == first.body


def test_a_reply_that_cannot_be_stored_is_answered_and_keeps_its_claim(stack, tenant, monkeypatch):
    from saldo.adapters import idempotency as adapter

    def broken(org_id: str, body: str) -> str:
        raise OSError("S3 unavailable")

    monkeypatch.setattr(adapter, "put_large_reply", broken)
    big = {"data": [uuid.uuid4().hex for _ in range(30_000)]}
    done: list[int] = []
    first = _call(tenant["org_id"], "k-5", {}, lambda: (done.append(1) or 201, big))
    assert first.status_code == 201 and json.loads(first.body) == big  # the work was done: say so
    # the key is not released (a retry must not do the work again); it stays claimed until it expires
    from saldo.errors import Conflict

    with pytest.raises(Conflict):
        _call(tenant["org_id"], "k-5", {}, lambda: (done.append(1) or 201, {}))
    assert done == [1]


def test_a_record_that_cannot_be_completed_still_answers_the_work(stack, tenant, monkeypatch):
    from aws_lambda_powertools.utilities.idempotency.persistence.dynamodb import DynamoDBPersistenceLayer

    from saldo.errors import Conflict

    def broken(self: Any, data_record: Any) -> None:
        raise OSError("DynamoDB unavailable")

    monkeypatch.setattr(DynamoDBPersistenceLayer, "_update_record", broken)
    done: list[int] = []
    first = _call(tenant["org_id"], "k-6", {}, lambda: (done.append(1) or 201, {"id": 7}))
    assert first.status_code == 201 and json.loads(first.body) == {"id": 7}
    with pytest.raises(Conflict):
        _call(tenant["org_id"], "k-6", {}, lambda: (done.append(1) or 201, {}))
    assert done == [1]


# ------------------------------------------------------------------ 20 at once over real sockets
class _SocketApi:
    """The helpers' `api` interface over HTTP to the served stack."""

    def __init__(self, url: str, key: str) -> None:
        self.url, self.key = url, key

    def post(self, path: str, json_body: Any = None, headers: dict[str, str] | None = None) -> Any:
        res = http(
            self.url + path,
            "POST",
            body=json.dumps(json_body).encode(),
            headers={
                "Authorization": f"Bearer {self.key}",
                "Content-Type": "application/json",
                **(headers or {}),
            },
        )
        res.text = res.body.decode()  # type: ignore[attr-defined]
        return res

    def get(self, path: str) -> Any:
        return http(self.url + path, headers={"Authorization": f"Bearer {self.key}"})


@pytest.mark.e2e
def test_twenty_parallel_posts_with_one_key_post_once():
    from saldo.adapters.tenancy_store import TenancyStore
    from saldo_tools.localstack import LocalStack

    local = LocalStack(ROOT, server=True, tick=3600).start(api_port=0)
    try:
        store = TenancyStore()
        org = store.create_org("Parallell AS")
        api = _SocketApi(local.api_url, store.create_key(org["org_id"], label="tests")["key"])
        ca = make_client_account(api)
        body = {"client_account_id": ca, "entries": [sale("2025-03-10", "1234.56", ca=ca)]}
        key = uuid.uuid4().hex
        gate = threading.Barrier(20)

        def send(_: int) -> Any:
            gate.wait(30)
            return api.post("/api/v2/journal-entries", json_body=body, headers={"Idempotency-Key": key})

        with ThreadPoolExecutor(20) as pool:
            results = list(pool.map(send, range(20)))
        by_status: dict[int, list[Any]] = defaultdict(list)
        for res in results:
            by_status[res.status].append(res)
        assert set(by_status) <= {201, 409}, {s: r[0].body for s, r in by_status.items()}
        created = by_status[201]
        assert [r.headers["x-idempotency-replayed"] for r in created].count("false") == 1
        assert len({r.body for r in created}) == 1
        for res in by_status[409]:
            assert res.json()["status"] == 409 and res.json()["error"] == "Conflict"
        entry_id = json.loads(created[0].body)["entries"][0]["id"]
        # once everything has finished, a retry is a replay
        again = api.post("/api/v2/journal-entries", json_body=body, headers={"Idempotency-Key": key})
        assert again.status == 201 and again.headers["x-idempotency-replayed"] == "true"
        assert again.body == created[0].body
        assert api.get(f"/api/v2/journal-entries/{entry_id}?client_account_id={ca}").status == 200
        assert api.get(f"/api/v2/journal-entries/{entry_id + 1}?client_account_id={ca}").status == 404
        tb = api.get(
            f"/api/v2/reports/trial-balance?client_account_id={ca}"
            "&date_from=2025-01-01&date_to=2025-12-31&include_dimensions=false"
        )
        assert tb.status == 200, tb.body
        balances: dict[str, Decimal] = defaultdict(Decimal)
        for row in json.loads(tb.body, parse_float=Decimal):
            balances[row["account_code"]] += Decimal(str(row["outgoing_balance"]))
        assert balances["1500"] == Decimal("1234.56")
        assert balances["3000"] == Decimal("-1234.56")
        assert sum(balances.values()) == 0
    finally:
        local.stop()


def test_the_shared_dynamodb_client_gets_no_handler_per_request(stack, tenant, monkeypatch):
    # Each DynamoDBPersistenceLayer registers a user-agent handler on its client; one per request would
    # pile up on the process-wide client of warm functions.
    from aws_lambda_powertools.utilities.idempotency.persistence import dynamodb

    registered: list[Any] = []
    real = dynamodb.user_agent.register_feature_to_client
    monkeypatch.setattr(
        dynamodb.user_agent,
        "register_feature_to_client",
        lambda client, feature: registered.append(client) or real(client=client, feature=feature),
    )
    for n in range(3):
        _call(tenant["org_id"], f"ua-{n}", {}, lambda: (201, {}))
    assert len(registered) <= 1
