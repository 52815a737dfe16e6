"""Identical writes at once, over real sockets: one takes effect, the others get a clean 409 or 422.

Each test fires 20 identical requests from 20 clients in parallel at the local HTTP API (the template's
routes served on 127.0.0.1, moto's server behind them) and checks the exact state afterwards: one
effect, every figure right, the trial balance summing to zero.
"""

from __future__ import annotations

import io
import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from saldo.ledger.regno import valid_norwegian_orgnr
from tests.conftest import ROOT
from tests.ledger.helpers import CHART, DIMENSIONS, PARTNERS, TAX_CODES

pytestmark = pytest.mark.e2e

CLIENTS = 20
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1, never a proxy


class Api:
    """A client of the served API: JSON in and out over HTTP."""

    def __init__(self, url: str, key: str) -> None:
        self.url = url
        self.key = key

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> tuple[int, Any]:
        url = f"{self.url}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        hdrs = {"Authorization": f"Bearer {self.key}", **(headers or {})}
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=hdrs)
        try:
            with _opener.open(request, timeout=180) as res:
                status, text = res.status, res.read()
        except urllib.error.HTTPError as err:
            status, text = err.code, err.read()
        from saldo.jsonenc import loads

        return status, loads(text) if text else None


@pytest.fixture(scope="module")
def served() -> Iterator[Any]:
    from saldo_tools.localstack import LocalStack

    local = LocalStack(ROOT, server=True, tick=3600, sqs_retry_delay=0).start(api_port=0)
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="module")
def org(served: Any) -> dict[str, str]:
    from saldo.adapters.tenancy_store import TenancyStore

    store = TenancyStore()
    created = store.create_org("Samtidig AS")
    key = store.create_key(created["org_id"], label="concurrency")
    return {"org_id": created["org_id"], "key": key["key"]}


@pytest.fixture
def api(served: Any, org: dict[str, str]) -> Api:
    return Api(served.api_url, org["key"])


def orgnr() -> str:
    while True:
        number = str(random.randint(800_000_000, 999_999_999))
        if valid_norwegian_orgnr(number):
            return number


def client_account(api: Api, **extra: Any) -> int:
    status, body = api.call(
        "POST", "/api/v2/client-accounts", {"name": "Samtidig AS", "registration_number": orgnr(), **extra}
    )
    assert status == 201, body
    ca = body["id"]
    for path, items in (
        ("accounts", CHART),
        ("tax-codes", TAX_CODES),
        ("dimensions", DIMENSIONS),
        ("business-partners", PARTNERS),
    ):
        status, body = api.call("POST", f"/api/v2/client-accounts/{ca}/{path}", {"items": items})
        assert status == 200, body
    return ca


def entry(day: str, amount: str, debit: str = "1500", credit: str = "3000", **extra: Any) -> dict[str, Any]:
    return {
        "posting_date": day,
        "description": "Faktura",
        "lines": [
            {"account_code": debit, "debit": amount},
            {"account_code": credit, "credit": amount},
        ],
        **extra,
    }


def post(api: Api, ca: int, *entries: dict[str, Any]) -> tuple[int, Any]:
    return api.call(
        "POST",
        "/api/v2/journal-entries",
        {"client_account_id": ca, "entries": list(entries)},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )


def posted(api: Api, ca: int, *entries: dict[str, Any]) -> list[dict[str, Any]]:
    status, body = post(api, ca, *entries)
    assert status == 201, body
    return body["entries"]


def at_once(request: Callable[[], tuple[int, Any]], n: int = CLIENTS) -> list[tuple[int, Any]]:
    """`n` clients send the same request at the same moment."""
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(lambda _: request(), range(n)))


def one_wins(results: list[tuple[int, Any]], ok: int, loser: int, says: str) -> Any:
    """Exactly one `ok`; every other answer is `loser` in the error shape, saying `says`."""
    statuses = Counter(status for status, _ in results)
    assert statuses == {ok: 1, loser: len(results) - 1}, [r for r in results if r[0] != loser]
    for status, body in results:
        if status == loser:
            assert body["status"] == loser and body["error"] and says in body["message"], body
    return next(body for status, body in results if status == ok)


def balances(api: Api, ca: int, *, drafts: bool = False) -> dict[str, Decimal]:
    """Outgoing balance per account for 2025; the trial balance must sum to zero."""
    status, rows = api.call(
        "GET",
        "/api/v2/reports/trial-balance",
        params={
            "client_account_id": ca,
            "date_from": "2025-01-01",
            "date_to": "2025-12-31",
            "include_dimensions": "false",
            "include_drafts": str(drafts).lower(),
        },
    )
    assert status == 200, rows
    assert sum(r["outgoing_balance"] for r in rows) == 0
    return {r["account_code"]: r["outgoing_balance"] for r in rows if r["outgoing_balance"]}


def get_entry(api: Api, ca: int, entry_id: int) -> tuple[int, Any]:
    return api.call("GET", f"/api/v2/journal-entries/{entry_id}", params={"client_account_id": ca})


def ledger_lines(org: dict[str, str], ca: int, sql: str, params: list[Any] | None = None) -> list[Any]:
    """A query over the ledger as stored now (the same view the reports read)."""
    from saldo.ledger.query import open_view
    from saldo.ledger.service import LedgerService

    service = LedgerService(org["org_id"])
    return open_view(service.store, org["org_id"], service.client_account(ca)).rows(sql, params)


# ------------------------------------------------------------------ cancel
def test_twenty_cancels_of_one_entry_post_one_reversal(api, org):
    ca = client_account(api)
    invoice = posted(api, ca, entry("2025-03-10", "1250.00"))[0]
    results = at_once(
        lambda: api.call(
            "POST",
            f"/api/v2/journal-entries/{invoice['id']}/cancel",
            {"client_account_id": ca, "reason": "Feilføring"},
        )
    )
    won = one_wins(results, 200, 422, f"Journal entry {invoice['id']} is already cancelled")
    assert won == {"cancelled_entry_id": invoice["id"], "reversal_entry_id": invoice["id"] + 1}
    reversals = ledger_lines(
        org, ca, "SELECT DISTINCT entry_id FROM lines WHERE reversal_of = ?", [invoice["id"]]
    )
    assert reversals == [(invoice["id"] + 1,)]
    assert get_entry(api, ca, invoice["id"] + 2)[0] == 404
    assert "1500" not in balances(api, ca)  # 1250.00 debited, 1250.00 reversed: nothing left
    assert "3000" not in balances(api, ca)


# ------------------------------------------------------------------ reconcile / unreconcile
def _invoice_and_payment(api: Api, ca: int) -> tuple[int, int]:
    invoice, payment = posted(
        api,
        ca,
        entry("2025-04-01", "100.00", "1500", "3000"),
        entry("2025-04-15", "100.00", "1920", "1500"),
    )
    return invoice["line_ids"][0], payment["line_ids"][1]  # both on 1500


@pytest.mark.parametrize("reference", [None, "M-1"])
def test_twenty_reconciliations_of_the_same_lines_reconcile_them_once(api, org, reference):
    ca = client_account(api)
    inv_line, pay_line = _invoice_and_payment(api, ca)
    body = {
        "client_account_id": ca,
        "lines": [{"line_id": inv_line, "amount": "100.00"}, {"line_id": pay_line, "amount": "100.00"}],
        **({"reference": reference} if reference else {}),
    }
    results = at_once(lambda: api.call("POST", "/api/v2/reconciliations", body))
    says = f"reconciliation {reference} already exists" if reference else "exceeds the open amount 0.00"
    won = one_wins(results, 200, 422, says)
    assert won["lines"] == 2
    reconciled = ledger_lines(
        org, ca, "SELECT line_uid, reconciled_amount FROM lines WHERE account_code = '1500' ORDER BY line_uid"
    )
    assert reconciled == [(inv_line, Decimal("100.00")), (pay_line, Decimal("100.00"))]
    facts = ledger_lines(org, ca, "SELECT count(*) FROM facts WHERE fact_type = 'reconcile'")
    assert facts == [(2,)]
    assert balances(api, ca) == {
        "1920": Decimal("50100.00"),
        "2050": Decimal("-50000.00"),
        "3000": Decimal("-100.00"),
    }


def test_twenty_unreconciles_undo_it_once(api, org):
    ca = client_account(api)
    inv_line, pay_line = _invoice_and_payment(api, ca)
    body = {
        "client_account_id": ca,
        "reference": "M-2",
        "date": "2025-04-20",
        "lines": [{"line_id": inv_line, "amount": "60.00"}, {"line_id": pay_line, "amount": "60.00"}],
    }
    assert api.call("POST", "/api/v2/reconciliations", body)[0] == 200
    path = "/api/v2/reconciliations/M-2/unreconcile"
    results = at_once(lambda: api.call("POST", path, {"client_account_id": ca}))
    assert one_wins(results, 200, 422, "Reconciliation M-2 is already undone") == {
        "reference": "M-2",
        "lines": 2,
    }
    reconciled = ledger_lines(org, ca, "SELECT sum(reconciled_amount) FROM lines WHERE account_code = '1500'")
    assert reconciled == [(Decimal("0.00"),)]
    facts = ledger_lines(org, ca, "SELECT fact_type, amount FROM facts WHERE ref = 'M-2' ORDER BY fact_type")
    assert facts == [("reconcile", Decimal("60.00"))] * 2 + [("unreconcile", Decimal("60.00"))] * 2
    # Undone on the day it counted from: as of every day, nothing of it is left.
    by_day = ledger_lines(org, ca, "SELECT reconciled_by_date FROM lines WHERE account_code = '1500'")
    assert by_day == [([{"d": date(2025, 4, 20), "a": Decimal("0.00")}],)] * 2
    # Undone, the reference and the open amounts can be used again; an unknown one is 404.
    assert api.call("POST", "/api/v2/reconciliations", body)[0] == 200
    assert api.call("POST", "/api/v2/reconciliations/M-9/unreconcile", {"client_account_id": ca})[0] == 404
    assert balances(api, ca)["1920"] == Decimal("50100.00")


# ------------------------------------------------------------------ drafts
def test_twenty_edits_of_one_draft_version_make_one_new_version(api, org):
    ca = client_account(api)
    draft = posted(api, ca, entry("2025-05-02", "50.00", is_draft=True))[0]
    body = {"client_account_id": ca, "entry": entry("2025-05-03", "75.00", is_draft=True)}
    results = at_once(
        lambda: api.call("PUT", f"/api/v2/journal-entries/{draft['id']}", body, headers={"If-Match": "1"})
    )
    won = one_wins(results, 200, 409, f"Journal entry {draft['id']} is at version 2, not 1")
    assert won == {"id": draft["id"], "version": 2, "is_draft": True}
    current = ledger_lines(org, ca, "SELECT entry_version, count(*) FROM lines GROUP BY ALL")
    assert current == [(2, 2)]  # one current version of the draft, two lines
    path = f"/api/v2/journal-entries/{draft['id']}"
    assert api.call("PUT", path, body, headers={"If-Match": "latest"})[0] == 400
    assert api.call("PUT", path, body, headers={"If-Match": '"2"'})[1]["version"] == 3
    assert ledger_lines(org, ca, "SELECT DISTINCT entry_version FROM lines") == [(3,)]
    assert balances(api, ca, drafts=True)["1500"] == Decimal("75.00")


def test_twenty_unconditional_edits_leave_one_current_version(api, org):
    ca = client_account(api)
    draft = posted(api, ca, entry("2025-05-02", "50.00", is_draft=True))[0]
    body = {"client_account_id": ca, "entry": entry("2025-05-03", "75.00", is_draft=True)}
    results = at_once(lambda: api.call("PUT", f"/api/v2/journal-entries/{draft['id']}", body))
    assert {status for status, _ in results} == {200}
    # Without If-Match the edits apply one after the other, each to the version before it.
    assert sorted(b["version"] for _, b in results) == list(range(2, CLIENTS + 2))
    current = ledger_lines(org, ca, "SELECT entry_version, count(*) FROM lines GROUP BY ALL")
    assert current == [(CLIENTS + 1, 2)]
    assert balances(api, ca, drafts=True)["1500"] == Decimal("75.00")


def test_twenty_deletes_of_one_draft_delete_it_once(api, org):
    ca = client_account(api)
    kept, draft = posted(api, ca, entry("2025-06-01", "30.00"), entry("2025-06-02", "40.00", is_draft=True))
    results = at_once(
        lambda: api.call("DELETE", f"/api/v2/journal-entries/{draft['id']}", params={"client_account_id": ca})
    )
    one_wins(results, 200, 422, f"Journal entry {draft['id']} is already deleted")
    assert ledger_lines(org, ca, "SELECT count(*) FROM facts WHERE fact_type = 'delete'") == [(1,)]
    assert get_entry(api, ca, draft["id"])[0] == 404
    assert get_entry(api, ca, kept["id"])[0] == 200
    assert balances(api, ca, drafts=True)["1500"] == Decimal("30.00")


# ------------------------------------------------------------------ locked period
def test_posts_racing_a_lock_land_before_it_or_are_refused(api, org, tmp_path):
    ca = client_account(api)
    lock = {"locked_until": "2025-01-31"}

    def request(n: int) -> tuple[str, tuple[int, Any]]:
        if n % 2:
            return "lock", api.call("PATCH", f"/api/v2/client-accounts/{ca}", lock)
        return "post", post(api, ca, entry("2025-01-15", "100.00", "1920", "3000"))

    with ThreadPoolExecutor(max_workers=2 * CLIENTS) as pool:
        results = list(pool.map(request, range(2 * CLIENTS)))
    locks = [res for kind, res in results if kind == "lock"]
    posts = [res for kind, res in results if kind == "post"]
    assert all(status == 200 and body["locked_until"] == "2025-01-31" for status, body in locks), locks
    assert {status for status, _ in posts} <= {201, 422}
    for status, body in posts:
        if status == 422:
            assert "is in a locked period (locked until 2025-01-31)" in body["message"], body
    accepted = sum(1 for status, _ in posts if status == 201)

    # One effect: the lock was written into the ledger once, and every posting into the period that
    # was accepted was committed before it (segments are listed in commit order).
    lock_facts, late = _lock_history(org, ca, tmp_path)
    assert lock_facts == ["2025-01-31"]
    assert late == 0
    after = balances(api, ca)
    assert after.get("3000", Decimal("0.00")) == -Decimal("100.00") * accepted
    assert after["1920"] == Decimal("50000.00") + Decimal("100.00") * accepted
    refused = post(api, ca, entry("2025-01-31", "1.00", "1920", "3000"))
    assert refused[0] == 422
    assert post(api, ca, entry("2025-02-01", "1.00", "1920", "3000"))[0] == 201


def _lock_history(org: dict[str, str], ca: int, tmp: Path) -> tuple[list[str], int]:
    """The lock dates written into the ledger, and the lines committed after a lock inside its period."""
    import duckdb

    from saldo.ledger.service import default_store

    store = default_store()
    manifest = store.manifest(org["org_id"], ca)
    locks: list[str] = []
    late = 0
    con = duckdb.connect()
    for segment in manifest.segments:
        path = tmp / f"{uuid.uuid4().hex}.parquet"
        path.write_bytes(store.blobs.get_bytes(segment.key))
        if segment.kind == "facts":
            locks += [
                r[0] for r in con.execute(f"SELECT ref FROM '{path}' WHERE fact_type = 'lock'").fetchall()
            ]
        elif locks:
            (late,) = con.execute(
                f"SELECT {late} + count(*) FROM '{path}' WHERE posting_date <= ?",
                [date.fromisoformat(locks[-1])],
            ).fetchone()
    return locks, late


# ------------------------------------------------------------------ SAF-T import
def test_twenty_imports_of_one_file_land_once(api, org, served):
    from tests.saft.generate import generate

    out = io.BytesIO()
    regno = orgnr()
    facts = generate(out, 40, regno=regno, seed=3)
    raw = out.getvalue()
    results = at_once(
        lambda: api.call(
            "POST", "/api/v2/client-accounts/imports", raw=raw, headers={"Content-Type": "application/xml"}
        )
    )
    assert {status for status, _ in results} == {202}, results
    finished = [_wait_import(api, served, body["id"]) for _, body in results]
    statuses = Counter(f["status"] for f in finished)
    assert statuses == {"SUCCEEDED": 1, "FAILED": CLIENTS - 1}, finished
    for f in finished:
        if f["status"] == "FAILED":
            assert "already_imported" in [e["code"] for e in f["errors"]], f
    ca = next(f["client_account_id"] for f in finished if f["status"] == "SUCCEEDED")
    entries = ledger_lines(org, ca, "SELECT count(DISTINCT entry_id), count(*) FROM lines")
    assert entries == [(facts["transactions"], facts["lines"])]
    closing = {code: amount for code, amount in facts["closing"].items() if amount}
    assert balances(api, ca) == closing

    # The job redelivered (the queue gives a message again after a failure or a timeout): nothing more.
    from saldo.adapters.queue import enqueue

    winner = next(f["id"] for f in finished if f["status"] == "SUCCEEDED")
    for _ in range(CLIENTS):
        enqueue({"type": "saft_import", "org_id": org["org_id"], "import_id": winner})
    served.drain(timeout=120)
    assert ledger_lines(org, ca, "SELECT count(*) FROM lines") == [(facts["lines"],)]
    assert _wait_import(api, served, winner)["status"] == "SUCCEEDED"
    assert balances(api, ca) == closing


def _wait_import(api: Api, served: Any, import_id: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = api.call("GET", f"/api/v2/client-accounts/imports/{import_id}")
        assert status == 200, body
        if body["status"] in ("SUCCEEDED", "FAILED"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"import {import_id} did not finish")


def test_cancels_racing_reconciliations_of_its_line_have_one_winner(api, org):
    """A cancel and a reconciliation of the entry's line at once: the one that lands first wins, the
    other is refused (never a cancelled entry whose line stays reconciled)."""
    ca = client_account(api)
    inv_line, pay_line = _invoice_and_payment(api, ca)
    invoice_id = ledger_lines(org, ca, "SELECT entry_id FROM lines WHERE line_uid = ?", [inv_line])[0][0]
    body = {
        "client_account_id": ca,
        "reference": "M-1",
        "lines": [{"line_id": inv_line, "amount": "100.00"}, {"line_id": pay_line, "amount": "100.00"}],
    }
    requests = [
        lambda: api.call("POST", "/api/v2/reconciliations", body),
        lambda: api.call("POST", f"/api/v2/journal-entries/{invoice_id}/cancel", {"client_account_id": ca}),
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        (rec_status, rec), (cancel_status, cancel) = pool.map(lambda r: r(), requests)
    assert sorted([rec_status, cancel_status]) == [200, 422], (rec, cancel)
    if rec_status == 422:
        assert "cancelled" in rec["message"], rec
    else:
        assert "unreconcile reference M-1 first" in cancel["message"], cancel
    cancelled, reconciled = ledger_lines(
        org, ca, "SELECT bool_or(cancelled), sum(reconciled_amount) FROM lines WHERE line_uid = ?", [inv_line]
    )[0]
    assert not (cancelled and reconciled)
