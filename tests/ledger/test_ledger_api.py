"""Client accounts, master data and journal entries through the HTTP API (in-process local stack)."""

from __future__ import annotations

import json
import threading
import uuid
from decimal import Decimal

import pytest

from tests.ledger.helpers import make_client_account, post, sale

FULL_ENTRY = {
    "posting_date": "2025-03-14",
    "description": "Bank payment",
    "voucher_id": 771,
    "sequence_number": 42,
    "created_by": {"id": 7, "full_name": "Ola Nordmann"},
    "related_object": {
        "id": 9001,
        "document_number": "B-2025-014",
        "document_date": "2025-03-14",
        "due_date": "2025-03-28",
        "payment_ref": "1234567890",
        "document_type": "BANK_STATEMENT",
        "business_partner_id": 88,
    },
    "lines": [
        {
            "account_code": "1920",
            "description": "Payment received",
            "debit": "15000.00",
            "relation_type": "bankacc",
            "relation_id": 1,
            "dimensions": [{"type": "project", "id": 1}, {"type": "department", "id": 2}],
        },
        {
            "account_code": "1500",
            "description": "Acme AS",
            "credit": "15000.00",
            "relation_type": "businesspartner",
            "relation_id": 88,
        },
    ],
}


def ledger_version(stack, org_id: str, ca: int) -> int:
    from saldo.ledger.service import default_store

    return default_store().manifest(org_id, ca).version


def test_client_account_validation(api):
    bad = api.post("/api/v2/client-accounts", json_body={"name": "X", "registration_number": "923609017"})
    assert bad.status == 422
    assert "organization number" in bad.json()["message"]
    dk = api.post(
        "/api/v2/client-accounts",
        json_body={
            "name": "Dansk ApS",
            "registration_number": "25313763",
            "country": "DK",
            "currency": "DKK",
        },
    )
    assert dk.status == 201, dk.text
    assert dk.json()["registration_number"] == "25313763"
    dup = api.post(
        "/api/v2/client-accounts",
        json_body={"name": "Again", "registration_number": "25313763", "country": "DK"},
    )
    assert dup.status == 409


@pytest.mark.parametrize("name", ["Bell\u0007AS", "A\ufffeB", "Line\nbreak", "Tab\there", "\uffffX"])
def test_client_account_names_with_control_characters_are_refused(api, name):
    created = api.post(
        "/api/v2/client-accounts", json_body={"name": name, "registration_number": "923609016"}
    )
    assert created.status == 422, created.text
    assert "control characters" in created.json()["message"]
    ok = api.post(
        "/api/v2/client-accounts", json_body={"name": "Bell AS", "registration_number": "923609016"}
    )
    assert ok.status == 201, ok.text
    ca = ok.json()["id"]
    patched = api.patch(f"/api/v2/client-accounts/{ca}", json_body={"name": name})
    assert patched.status == 422, patched.text
    assert api.get(f"/api/v2/client-accounts/{ca}").json()["name"] == "Bell AS"


def test_entry_comes_back_exactly(api):
    ca = make_client_account(api)
    res = post(api, ca, [FULL_ENTRY])
    assert res.status == 201, res.text
    entry_id = res.json()["entries"][0]["id"]
    got = api.get(f"/api/v2/journal-entries/{entry_id}", params={"client_account_id": ca})
    assert got.status == 200
    e = got.json()
    for field in ("posting_date", "description", "voucher_id", "sequence_number", "created_by"):
        assert e[field] == FULL_ENTRY[field], field
    ro = dict(FULL_ENTRY["related_object"])
    assert ro.pop("business_partner_id") == e["related_object"]["business_partner"]["id"] == 88
    assert e["related_object"]["business_partner"]["name"] == "Acme AS"
    for k, v in ro.items():
        assert e["related_object"][k] == v, k
    assert e["is_draft"] is False and e["cancelled"] is False
    for sent, back in zip(FULL_ENTRY["lines"], e["lines"], strict=True):
        assert back["account_code"] == sent["account_code"]
        assert back["description"] == sent["description"]
        assert back["debit"] == Decimal(sent.get("debit", "0"))
        assert back["credit"] == Decimal(sent.get("credit", "0"))
        assert back["relation_type"] == sent["relation_type"] and back["relation_id"] == sent["relation_id"]
        assert back["dimensions"] == sent.get("dimensions", [])
        assert back["currency_code"] == "NOK" and back["exchange_rate"] == 1
    assert [line["line_id"] for line in e["lines"]] == [1, 2]
    assert '"debit": 15000.00' in got.text  # amounts are numbers with two decimals


def test_invalid_entries_are_refused_with_field_paths_and_nothing_written(api, tenant):
    ca = make_client_account(api, locked_until="2024-12-31")
    before = ledger_version(None, tenant["org_id"], ca)
    good = sale("2025-02-01", "100.00", ca=ca)
    cases = {
        "entries[1].lines": {
            **sale("2025-02-01", "100.00", ca=ca),
            "lines": [
                {"account_code": "1500", "debit": "100.00"},
                {"account_code": "3000", "credit": "99.99"},
            ],
        },
        "entries[1].lines[1].account_code": {
            "posting_date": "2025-02-01",
            "lines": [{"account_code": "1500", "debit": "1.00"}, {"account_code": "9999", "credit": "1.00"}],
        },
        "entries[1].posting_date": sale("2024-12-31", "100.00", ca=ca),
        "entries[1].lines[0].dimensions[0]": {
            "posting_date": "2025-02-01",
            "lines": [
                {"account_code": "1500", "debit": "1.00", "dimensions": [{"type": "project", "id": 77}]},
                {"account_code": "3000", "credit": "1.00"},
            ],
        },
        "entries[1].lines[0].exchange_rate": {
            "posting_date": "2025-02-01",
            "lines": [
                {
                    "account_code": "4000",
                    "debit": "1105.00",
                    "currency_code": "EUR",
                    "currency_amount": "100.00",
                    "exchange_rate": "11.04",
                },
                {"account_code": "2400", "credit": "1105.00"},
            ],
        },
    }
    for path, bad in cases.items():
        res = post(api, ca, [good, bad])
        assert res.status == 422, (path, res.text)
        body = res.json()
        assert body["status"] == 422 and body["error"] == "Unprocessable Entity"
        assert path in [d["field"] for d in body["details"]], (path, body)
    too_precise = post(
        api,
        ca,
        [
            {
                "posting_date": "2025-02-01",
                "lines": [
                    {"account_code": "1500", "debit": "1.005"},
                    {"account_code": "3000", "credit": "1.005"},
                ],
            }
        ],
    )
    assert too_precise.status == 422 and "two decimals" in too_precise.text
    bad_date = post(api, ca, [{"posting_date": "2025-02-30", "lines": good["lines"]}])
    assert bad_date.status == 422
    assert ledger_version(None, tenant["org_id"], ca) == before


def test_idempotency_key(api):
    ca = make_client_account(api)
    key = uuid.uuid4().hex
    first = post(api, ca, [sale("2025-01-10", "500.00", ca=ca)], key=key)
    again = post(api, ca, [sale("2025-01-10", "500.00", ca=ca)], key=key)
    assert first.status == again.status == 201
    assert first.json() == again.json()
    assert again.headers["idempotent-replayed"] == "true"
    other = post(api, ca, [sale("2025-01-10", "600.00", ca=ca)], key=key)
    assert other.status == 422
    missing = api.post(
        "/api/v2/journal-entries",
        json_body={"client_account_id": ca, "entries": [sale("2025-01-10", "1.00", ca=ca)]},
    )
    assert missing.status == 400
    entry_id = first.json()["entries"][0]["id"]
    assert api.get(f"/api/v2/journal-entries/{entry_id + 1}", params={"client_account_id": ca}).status == 404


def test_cancel_reconcile_and_drafts(api):
    ca = make_client_account(api)
    invoice = post(api, ca, [sale("2025-01-10", "800.00", ca=ca, vat="200.00")]).json()["entries"][0]
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
    ).json()
    inv_line, pay_line = invoice["line_ids"][0], payment["entries"][0]["line_ids"][1]
    over = api.post(
        "/api/v2/reconciliations",
        json_body={
            "client_account_id": ca,
            "lines": [{"line_id": inv_line, "amount": "1000.01"}, {"line_id": pay_line, "amount": "1000.01"}],
        },
    )
    assert over.status == 422
    rec = api.post(
        "/api/v2/reconciliations",
        json_body={
            "client_account_id": ca,
            "reference": "M1",
            "lines": [{"line_id": inv_line, "amount": "1000.00"}, {"line_id": pay_line, "amount": "1000.00"}],
        },
    )
    assert rec.status == 200, rec.text
    got = api.get(f"/api/v2/journal-entries/{invoice['id']}", params={"client_account_id": ca}).json()
    assert got["lines"][0]["reconciled_amount"] == Decimal("1000.00")

    # A reconciled entry is not cancelled until its reconciliation is undone.
    refused = api.post(
        f"/api/v2/journal-entries/{invoice['id']}/cancel",
        json_body={"client_account_id": ca, "reason": "Feilføring"},
    )
    assert refused.status == 422 and "unreconcile reference M1 first" in refused.json()["message"]
    undo = api.post("/api/v2/reconciliations/M1/unreconcile", json_body={"client_account_id": ca})
    assert undo.status == 200, undo.text
    cancelled = api.post(
        f"/api/v2/journal-entries/{invoice['id']}/cancel",
        json_body={"client_account_id": ca, "reason": "Feilføring"},
    )
    assert cancelled.status == 200, cancelled.text
    reversal = api.get(
        f"/api/v2/journal-entries/{cancelled.json()['reversal_entry_id']}", params={"client_account_id": ca}
    ).json()
    assert reversal["reversal_of"] == invoice["id"] and reversal["cancelled"] is True
    assert reversal["lines"][0]["credit"] == Decimal("1000.00")
    twice = api.post(f"/api/v2/journal-entries/{invoice['id']}/cancel", json_body={"client_account_id": ca})
    assert twice.status == 422

    draft = post(api, ca, [sale("2025-02-01", "50.00", ca=ca, is_draft=True)]).json()["entries"][0]
    edited = api.put(
        f"/api/v2/journal-entries/{draft['id']}",
        json_body={"client_account_id": ca, "entry": sale("2025-02-02", "75.00", ca=ca, is_draft=True)},
    )
    assert edited.status == 200, edited.text
    now = api.get(f"/api/v2/journal-entries/{draft['id']}", params={"client_account_id": ca}).json()
    assert now["version"] == 2 and now["lines"][0]["debit"] == Decimal("75.00")
    assert now["posting_date"] == "2025-02-02"
    deleted = api.delete(f"/api/v2/journal-entries/{draft['id']}", params={"client_account_id": ca})
    assert deleted.status == 200
    assert api.get(f"/api/v2/journal-entries/{draft['id']}", params={"client_account_id": ca}).status == 404
    posted_edit = api.put(
        f"/api/v2/journal-entries/{payment['entries'][0]['id']}",
        json_body={"client_account_id": ca, "entry": sale("2025-02-02", "75.00", ca=ca)},
    )
    assert posted_edit.status == 422


def test_concurrent_posts_never_lose_a_write(api, tenant):
    from saldo.ledger.query import open_view
    from saldo.ledger.service import LedgerService

    ca = make_client_account(api)
    results, errors = [], []

    def worker(n: int) -> None:
        try:
            res = post(api, ca, [sale("2025-03-01", f"{n}.00", ca=ca) for _ in range(3)])
            results.append(res)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(1, 13)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(r.status == 201 for r in results), [r.text for r in results if r.status != 201]
    ids = [e["id"] for r in results for e in r.json()["entries"]]
    assert len(ids) == len(set(ids)) == 36
    svc = LedgerService(tenant["org_id"])
    view = open_view(svc.store, tenant["org_id"], svc.client_account(ca))
    count, total = view.rows("SELECT count(DISTINCT entry_id), sum(debit) FROM lines")[0]
    assert count == 36
    assert total == 3 * sum(Decimal(n) for n in range(1, 13))  # each sale debits its amount once
    assert view.rows("SELECT count(DISTINCT line_uid) FROM lines")[0][0] == 72


def test_ledger_changed_event_published(api, stack):
    events = stack.client("events")
    sqs = stack.client("sqs")
    queue = sqs.create_queue(QueueName="ledger-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = stack.env()["SALDO_EVENT_BUS"]
    events.put_rule(Name="capture", EventBusName=bus, EventPattern=json.dumps({"source": ["saldo.ledger"]}))
    events.put_targets(Rule="capture", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    ca = make_client_account(api)
    post(api, ca, [sale("2025-01-10", "10.00", ca=ca)])
    bodies = [
        json.loads(m["Body"])
        for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    ]
    kinds = [(b["detail-type"], b["detail"].get("change")) for b in bodies]
    assert ("LedgerChanged", "entries_posted") in kinds
    posted = next(b["detail"] for b in bodies if b["detail"].get("change") == "entries_posted")
    assert posted["client_account_id"] == ca and posted["entries"] == 1


def test_compaction_merges_segments_and_keeps_every_figure(api, tenant, stack):
    from saldo.ledger.query import open_view
    from saldo.ledger.service import LedgerService
    from saldo.ledger.store import COMPACT_AFTER

    ca = make_client_account(api)
    svc = LedgerService(tenant["org_id"])
    post(api, ca, [sale("2025-04-01", "1.00", ca=ca)])
    first_segment = svc.store.manifest(tenant["org_id"], ca).segments[0].key
    for n in range(2, COMPACT_AFTER + 1):
        post(api, ca, [sale("2025-04-01", f"{n}.00", ca=ca)])
    entry = post(api, ca, [sale("2025-04-02", "9.00", ca=ca)]).json()["entries"][0]
    api.post(f"/api/v2/journal-entries/{entry['id']}/cancel", json_body={"client_account_id": ca})
    stack.drain()  # the compaction job queued by the writes runs on the worker
    manifest = svc.store.manifest(tenant["org_id"], ca)
    assert len(manifest.segments) < COMPACT_AFTER
    assert manifest.counters.next_entry_id == COMPACT_AFTER + 3  # 16 sales, one cancelled sale, its reversal
    view = open_view(svc.store, tenant["org_id"], svc.client_account(ca))
    count, total, debit, cancelled = view.rows(
        "SELECT count(*), sum(amount), sum(debit), count(*) FILTER (WHERE cancelled) FROM lines"
    )[0]
    assert (count, total, cancelled) == (2 * (COMPACT_AFTER + 2), 0, 4)
    assert debit == sum(Decimal(n) for n in range(1, COMPACT_AFTER + 1)) + 2 * Decimal(9)
    assert view.rows("SELECT count(DISTINCT line_uid) FROM lines")[0][0] == count
    tags = stack.client("s3").get_object_tagging(Bucket=stack.env()["SALDO_LEDGER_BUCKET"], Key=first_segment)
    assert {"Key": "saldo-retired", "Value": "true"} in tags["TagSet"]
    assert first_segment not in {s.key for s in manifest.segments}
    assert post(api, ca, [sale("2025-04-03", "1.00", ca=ca)]).status == 201


def test_tax_and_currency_fields_come_back_exactly(api):
    ca = make_client_account(api)
    entry = {
        "posting_date": "2025-06-30",
        "description": "EUR-faktura",
        "is_draft": False,
        "lines": [
            {
                "account_code": "4000",
                "debit": "1104.00",
                "currency_code": "EUR",
                "currency_amount": "100.00",
                "exchange_rate": "11.04",
                "tax_code": "1",
                "tax_base_amount": "1104.00",
                "tax_amount": "276.00",
                "description": "Varekjøp EUR",
            },
            {"account_code": "2710", "debit": "276.00"},
            {
                "account_code": "2400",
                "credit": "1380.00",
                "currency_code": "EUR",
                "currency_amount": "-125.00",
                "exchange_rate": "11.04",
                "relation_type": "businesspartner",
                "relation_id": 89,
            },
        ],
    }
    res = post(api, ca, [entry])
    assert res.status == 201, res.text
    back = api.get(
        f"/api/v2/journal-entries/{res.json()['entries'][0]['id']}", params={"client_account_id": ca}
    ).json()
    for sent, got in zip(entry["lines"], back["lines"], strict=True):
        for field in ("currency_code", "relation_type", "relation_id", "tax_code", "description"):
            assert got[field] == sent.get(field, got[field] if field == "currency_code" else None), field
        for field in ("debit", "credit", "currency_amount", "exchange_rate", "tax_base_amount", "tax_amount"):
            if field in sent:
                assert got[field] == Decimal(sent[field]), field
    assert back["lines"][1]["currency_code"] == "NOK" and back["lines"][1]["tax_code"] is None


def test_texts_with_carriage_returns_quotes_and_null_markers_come_back(api):
    ca = make_client_account(api)
    texts = ["Linje 1\r\nLinje 2", "\\N", 'Sitat "her", komma', "", "cr\ralone"]
    entry = {
        "posting_date": "2025-02-01",
        "description": texts[0],
        "lines": [
            {"account_code": "1920", "debit": "10.00", "description": texts[1]},
            {"account_code": "3000", "credit": "4.00", "description": texts[2]},
            {"account_code": "3000", "credit": "3.00", "description": texts[3]},
            {"account_code": "3000", "credit": "3.00", "description": texts[4]},
        ],
    }
    res = post(api, ca, [entry])
    assert res.status == 201, res.text
    entry_id = res.json()["entries"][0]["id"]
    e = api.get(f"/api/v2/journal-entries/{entry_id}", params={"client_account_id": ca}).json()
    assert e["description"] == texts[0]
    assert [line["description"] for line in e["lines"]] == texts[1:]
