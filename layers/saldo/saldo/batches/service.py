"""Batch use cases: create, read, stop (the API) and start, run an item, finalize (the run).

Statuses (the seed's): Scheduled (waiting for scheduledTime), Initializing (queued), Executing, then
Finished, FinishedWithWarning (some report lacks data) or FinishedWithErrors (some item failed); a listener
batch is Listening (after its first run, if TriggerNow) until stopped: ListeningStopped.

Every step may run twice (SQS redelivers, Step Functions retries): the starter moves the status with a
condition and starts an execution named by the batch; an item is claimed, recorded and counted once in one
transaction; its notifications are flagged once-only before they are sent.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from saldo import tokens
from saldo.batches import names
from saldo.batches.models import BatchIn, parse_batch
from saldo.errors import BadRequest, Conflict, NotFound, SaldoError

SCHEDULED, INITIALIZING, EXECUTING = "Scheduled", "Initializing", "Executing"
FINISHED, FINISHED_WARNING, FINISHED_ERRORS = "Finished", "FinishedWithWarning", "FinishedWithErrors"
LISTENING, LISTENING_STOPPED = "Listening", "ListeningStopped"
ITEM_STATUS_CODES = {"Completed": 0, "Warning": 1, "Failed": 2}
#: How long a report's pdfurl works (the stored PDF is kept as long: the bucket's batches/ rule).
LINK_DAYS = 30
#: The presigned S3 URL a pdfurl redirects to: made fresh for each download, short-lived.
DOWNLOAD_SECONDS = 300
PAGE_SIZE = 100
#: A run still Executing this long after it started is finished by the housekeeping sweep.
RUN_DEADLINE_BASE = timedelta(hours=1)
RUN_DEADLINE_PER_ITEM = timedelta(seconds=2)
STUCK_INDEX = "BATCH_RUNNING"


def now() -> datetime:
    return datetime.now(UTC)


def _store() -> Any:
    from saldo.adapters.batch_store import BatchStore

    return BatchStore()


def _jobs() -> Any:
    from saldo.adapters.jobstatus import BATCH, JobStatusStore

    return JobStatusStore(BATCH)


def manifest_key(org_id: str, batch_id: str) -> str:
    return f"batches/{org_id}/{batch_id}/manifest.json"


def pdf_key(org_id: str, batch_id: str, index: int) -> str:
    return f"batches/{org_id}/{batch_id}/{index:07d}.pdf"


# ---------------------------------------------------------------------------------------------- API
class BatchService:
    def __init__(self, org_id: str, grants: list[int] | None = None) -> None:
        """`grants`: the client accounts the creating key may read (None: all), kept with the batch so
        its reports read no ledger the key could not."""
        self.org_id = org_id
        self.grants = grants

    def create(self, raw: Any, origin: str, at: datetime | None = None) -> dict[str, Any]:
        from saldo.adapters import batch_runs, documents
        from saldo.adapters.jobstatus import new_id

        moment = at or now()
        batch = parse_batch(raw, moment)
        batch_id = new_id("bat")
        manifest = [
            {"index": i, "cvr": it.cvr, "format": it.format, "internalCustomerId": it.internal_customer_id}
            for i, it in enumerate(batch.items)
        ]
        documents.put_object(
            documents.bucket(),
            manifest_key(self.org_id, batch_id),
            json.dumps(manifest).encode(),
            "application/json",
        )
        status = _first_status(batch)
        fields = {
            "batchName": batch.batch_name,
            "reportType": batch.type,
            "format": batch.format,
            # A listener that does not run at once has made no reports yet: its size grows with each one.
            "batchSize": 0 if status == LISTENING else len(batch.items),
            "companies": len(batch.items),
            "scheduledTime": batch.scheduled_time.isoformat() if batch.scheduled_time else None,
            "notificationEmail": batch.notification_email,
            "notificationWebhookUrl": batch.notification_webhook_url,
            "authConfig": json.dumps(vars(batch.auth_config)) if batch.auth_config else None,
            "errorAppend": batch.error_append,
            "isListener": batch.is_listener,
            "triggerNow": batch.trigger_now,
            "origin": origin,
            "grants": json.dumps(self.grants),
            "done": 0,
            "completed": 0,
            "warnings": 0,
            "failed": 0,
        }
        record = _jobs().create(self.org_id, batch_id, status, fields, running=False)
        if batch.is_listener:
            _store().add_listeners(self.org_id, batch_id, manifest)
        message = {"org_id": self.org_id, "batch_id": batch_id}
        if status == SCHEDULED:
            assert batch.scheduled_time is not None
            batch_runs.schedule_start(f"saldo-{batch_id}", batch.scheduled_time, message)
        elif status == INITIALIZING:
            batch_runs.queue_start(message)
        return public_batch(record)

    def get(self, batch_id: str) -> dict[str, Any]:
        return public_batch(self._record(batch_id))

    def _record(self, batch_id: str) -> dict[str, Any]:
        if not batch_id or len(batch_id) > 64:
            raise NotFound("No such batch")
        record = _jobs().get(self.org_id, batch_id)
        if record is None:
            raise NotFound(f"Batch {batch_id} is not in this organization")
        return record

    def list(self, limit: int, token: str | None) -> dict[str, Any]:
        start = None
        if token:
            data = _decode(token, self.org_id, "batches")
            start = {"pk": {"S": f"ORG#{self.org_id}"}, "sk": {"S": f"BATCH#{data['k']}"}}
        records, last = _jobs().page(self.org_id, limit, start)
        next_token = _encode(self.org_id, "batches", {"k": last["sk"]["S"][6:]}) if last else None
        return {"continuationToken": next_token, "results": [public_batch(r) for r in records]}

    def items(
        self, batch_id: str, status: str | None, token: str | None, limit: int = PAGE_SIZE
    ) -> dict[str, Any]:
        record = self._record(batch_id)
        after = None
        if token:
            data = _decode(token, self.org_id, batch_id)
            after = int(data["k"])
        found, last = _store().items(self.org_id, batch_id, status=status, limit=limit, after=after)
        results = [public_item(record, it) for it in found]
        next_token = _encode(self.org_id, batch_id, {"k": last}) if last is not None else None
        return {"continuationToken": next_token, "results": results}

    def zip(self, batch_id: str) -> Any:
        """The zip of the batch's finished reports: started, being written or ready (`zips.ZipAnswer`)."""
        from saldo.batches.zips import request_zip

        return request_zip(self.org_id, self._record(batch_id))

    def stop(self, batch_id: str) -> dict[str, Any]:
        record = self._record(batch_id)
        if not record.get("isListener"):
            raise Conflict(f"Batch {batch_id} is not a listener batch; only listener batches can be stopped")
        if not _jobs().update(
            self.org_id,
            batch_id,
            {"status": LISTENING_STOPPED},
            expect=(LISTENING, EXECUTING, INITIALIZING, SCHEDULED),
        ):
            current = self._record(batch_id)
            if current["status"] != LISTENING_STOPPED:
                raise Conflict(f"Batch {batch_id} is {current['status']}")
        return self.get(batch_id)


def _first_status(batch: BatchIn) -> str:
    if batch.trigger_now or (batch.scheduled_time is None and not batch.is_listener):
        return INITIALIZING
    if batch.scheduled_time is not None:
        return SCHEDULED
    return LISTENING


def _encode(org_id: str, scope: str, data: dict[str, Any]) -> str:
    return tokens.pack({"o": org_id, "s": scope, **data})


BATCH_ID = re.compile(r"^bat_[0-9]{14}_[0-9a-f]{12}$")


def _decode(token: str, org_id: str, scope: str) -> dict[str, Any]:
    """A continuation token this list gave out for this organization and batch, or 400. Its position is
    checked as strictly as it was written: a batch id for the batch list, an item index for items."""
    try:
        data = tokens.unpack(token)
        if data.get("o") != org_id or data.get("s") != scope:
            raise ValueError
        key = data.get("k")
        if scope == "batches":
            if not isinstance(key, str) or not BATCH_ID.match(key):
                raise ValueError
        elif type(key) is not int or not 0 <= key < 10_000_000:
            raise ValueError
        return data
    except ValueError:
        raise BadRequest("cToken: not a continuation token of this list; start again without it") from None


def public_batch(record: dict[str, Any]) -> dict[str, Any]:
    from saldo.registry.reports import REPORTS

    size = int(record.get("batchSize") or 0)
    done = int(record.get("done") or 0)
    auth = json.loads(record["authConfig"]) if record.get("authConfig") else None
    return {
        "id": record["id"],
        "batchName": record.get("batchName"),
        "name": record.get("batchName"),
        "type": record.get("reportType"),
        "printType": REPORTS[record["reportType"]][0] if record.get("reportType") in REPORTS else None,
        "format": record.get("format"),
        "status": record.get("status"),
        "batchSize": size,
        "companies": int(record.get("companies") or size),
        "completionPercentage": round(min(done, size) / size, 4) if size else 0.0,
        "completed": int(record.get("completed") or 0),
        "warnings": int(record.get("warnings") or 0),
        "failed": int(record.get("failed") or 0),
        "scheduledTime": record.get("scheduledTime"),
        "notificationEmail": record.get("notificationEmail"),
        "notificationWebhookUrl": record.get("notificationWebhookUrl"),
        # The secret stays with the service: the answer says which header or user, never the value.
        "authConfig": {"Method": auth["method"], "Key": auth["key"]} if auth else None,
        "webhookDisabledAt": record.get("webhook_disabled_at"),
        "webhookDisabledReason": record.get("webhook_disabled_reason"),
        "errorAppend": record.get("errorAppend") or "",
        "isListener": bool(record.get("isListener")),
        "triggerNow": bool(record.get("triggerNow")),
        "timestamp": record.get("created_at"),
        "createdAt": record.get("created_at"),
        "startedAt": record.get("started_at"),
        "finishedAt": record.get("finished_at"),
    }


def public_item(record: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    doc = item["doc"]
    token = doc.get("link")
    return {
        "id": f"{record['id']}-{item['index']}",
        "batchId": record["id"],
        "cvr": doc["cvr"],
        "name": doc["name"],
        "format": doc["format"],
        "internalCustomerId": doc.get("internalCustomerId"),
        "createdOn": doc["createdOn"],
        "status": doc["status"],
        "statusCode": ITEM_STATUS_CODES[doc["status"]],
        "missing": doc.get("missing", []),
        "reason": doc.get("reason"),
        "printType": doc["printType"],
        "pdfurl": f"{record.get('origin', '')}/apps/reporting/files/{token}" if token else None,
        "webhook": _webhook_state(item),
    }


def _webhook_state(item: dict[str, Any]) -> dict[str, Any] | None:
    """Where the item's webhook call stands (saldo/batches/webhooks.py), or None before any attempt."""
    if not item.get("wh_attempts"):
        return None
    status, attempts = item.get("wh_status"), int(item["wh_attempts"])
    pending = int(item.get("wh_next") or 0) > attempts and not item.get("wh_delivered_at")
    return {
        "attempts": attempts,
        "lastStatus": int(status) if status is not None else None,
        "lastReason": item.get("wh_reason"),
        "deliveredAt": item.get("wh_delivered_at"),
        "nextAttempt": int(item["wh_next"]) if pending else None,
        "nextAttemptAt": item.get("wh_next_at") if pending else None,
    }


# ---------------------------------------------------------------------------------------------- run
def start(org_id: str, batch_id: str) -> str | None:
    """The starter: move the batch to Executing and start its state machine; None when there is nothing
    to start (a redelivered message, a stopped listener)."""
    from saldo.adapters import batch_runs, documents

    jobs = _jobs()
    if not jobs.update(
        org_id,
        batch_id,
        {"status": EXECUTING, "started_at": jobs.kind.now()},
        expect=(SCHEDULED, INITIALIZING),
    ):
        record = jobs.get(org_id, batch_id)
        if record is None or record["status"] != EXECUTING or record.get("execution"):
            return None  # already running (redelivery), finished, stopped, or unknown
    payload = {
        "org_id": org_id,
        "batch_id": batch_id,
        "bucket": documents.bucket(),
        "manifest": manifest_key(org_id, batch_id),
        "run_date": now().date().isoformat(),
    }
    arn = batch_runs.start_execution(batch_id, payload)
    record = jobs.get(org_id, batch_id) or {}
    deadline = now() + RUN_DEADLINE_BASE + RUN_DEADLINE_PER_ITEM * int(record.get("batchSize") or 0)
    # In the sweep's index until the finalizer takes it out: a run that dies is finished by housekeeping.
    jobs.update(org_id, batch_id, {"execution": arn, "gsi1pk": STUCK_INDEX, "gsi1sk": deadline.isoformat()})
    return arn


class Report:
    """What an item produced: the PDF, the company's name and balance day, what data was missing."""

    def __init__(self, pdf: bytes, name: str, balance_day: date | None, missing: list[str]) -> None:
        self.pdf, self.name, self.balance_day, self.missing = pdf, name, balance_day, missing


Producer = Callable[[str, str, str, date, list[int] | None], Report]


def run_item(
    org_id: str, batch_id: str, item: dict[str, Any], run_date: date, produce: Producer | None = None
) -> dict[str, Any]:
    """Produce one item's report, record it once and notify once. A company that cannot be reported on
    (not in the registry, ...) is a Failed item with the reason; anything else raises for a retry."""
    from saldo.adapters import documents
    from saldo.registry.reports import REPORTS

    store, index = _store(), int(item["index"])
    if store.claim_item(org_id, batch_id, index, now().isoformat()) is None:
        _notify_again(org_id, batch_id, index)
        return {"index": index, "skipped": "already recorded"}
    record = _jobs().get(org_id, batch_id)
    if record is None:
        return {"index": index, "skipped": "batch deleted"}
    kind = record["reportType"]
    pattern = item.get("format") or record["format"]
    cvr, customer = str(item["cvr"]), item.get("internalCustomerId")
    grants = json.loads(record.get("grants") or "null")
    doc: dict[str, Any] = {
        "cvr": cvr,
        "format": pattern,
        "internalCustomerId": customer,
        "createdOn": now().isoformat(timespec="seconds"),
        "printType": REPORTS[kind][0],
    }
    try:
        report = (produce or produce_report)(org_id, kind, cvr, run_date, grants)
    except SaldoError as exc:
        if exc.status >= 500:
            raise
        name = names.file_name(
            pattern,
            name=cvr,
            cvr=cvr,
            report_type=kind,
            run_date=run_date,
            balance_day=None,
            internal_customer_id=customer,
            error_append=record.get("errorAppend") or "",
        )
        doc.update(status="Failed", reason=exc.message, name=_unique(store, org_id, batch_id, name, index))
        if store.finish_item(org_id, batch_id, index, doc, "Failed"):
            notify(org_id, record, index, public_item(record, {"index": index, "doc": doc}))
        return {"index": index, "status": "Failed"}
    name = names.file_name(
        pattern,
        name=report.name,
        cvr=cvr,
        report_type=kind,
        run_date=run_date,
        balance_day=report.balance_day,
        internal_customer_id=customer,
    )
    name = _unique(store, org_id, batch_id, name, index)
    key = pdf_key(org_id, batch_id, index)
    documents.put_object(documents.bucket(), key, report.pdf, "application/pdf")
    token = secrets.token_urlsafe(32)
    expires = int(time.time()) + LINK_DAYS * 86400
    store.put_link(token, {"org_id": org_id, "key": key, "file_name": f"{name}.pdf"}, expires)
    status = "Warning" if report.missing else "Completed"
    doc.update(status=status, name=name, link=token, missing=report.missing)
    if store.finish_item(org_id, batch_id, index, doc, status):
        notify(org_id, record, index, public_item(record, {"index": index, "doc": doc}))
    return {"index": index, "status": status}


def _unique(store: Any, org_id: str, batch_id: str, name: str, index: int) -> str:
    n = 1
    while not store.claim_name(org_id, batch_id, names.numbered(name, n), index):
        n += 1
    return names.numbered(name, n)


def record_crash(
    org_id: str, batch_id: str, item: dict[str, Any], error: dict[str, Any] | None
) -> dict[str, Any]:
    """An item whose task failed for good (Step Functions' Catch): Failed, with what went wrong."""
    from saldo.registry.reports import REPORTS

    record = _jobs().get(org_id, batch_id) or {}
    index = int(item["index"])
    cause = (error or {}).get("Error") or "the report could not be produced"
    name = names.file_name(
        item.get("format") or record.get("format") or "{cvr}",
        name=str(item["cvr"]),
        cvr=str(item["cvr"]),
        report_type=record.get("reportType", ""),
        run_date=now().date(),
        balance_day=None,
        internal_customer_id=item.get("internalCustomerId"),
        error_append=record.get("errorAppend") or "",
    )
    doc = {
        "cvr": str(item["cvr"]),
        "format": item.get("format") or record.get("format"),
        "internalCustomerId": item.get("internalCustomerId"),
        "createdOn": now().isoformat(timespec="seconds"),
        "printType": REPORTS.get(record.get("reportType", ""), (None,))[0],
        "status": "Failed",
        "reason": f"The report could not be produced ({cause}); it was retried and then given up",
        "name": _unique(_store(), org_id, batch_id, name, index),
    }
    if _store().finish_item(org_id, batch_id, index, doc, "Failed") and record:
        notify(org_id, record, index, public_item(record, {"index": index, "doc": doc}))
    return {"index": index, "status": "Failed"}


def finalize(org_id: str, batch_id: str) -> dict[str, Any]:
    """After the map: items whose task died unrecorded fail; the batch gets its final status."""
    for index in _store().unfinished(org_id, batch_id):
        stored = _store().get_item(org_id, batch_id, index) or {}
        record_crash(
            org_id, batch_id, {"index": index, "cvr": stored.get("cvr", "?")}, {"Error": "no result"}
        )
    jobs = _jobs()
    record = jobs.get(org_id, batch_id) or {}
    if int(record.get("failed") or 0):
        status = FINISHED_ERRORS
    elif int(record.get("warnings") or 0):
        status = FINISHED_WARNING
    else:
        status = FINISHED
    if record.get("isListener"):
        status = LISTENING
    jobs.update(
        org_id,
        batch_id,
        {"status": status, "finished_at": jobs.kind.now(), "gsi1pk": None, "gsi1sk": None},
        expect=(EXECUTING,),
    )
    return {"batch_id": batch_id, "status": status}


def finish_stuck(org_id: str, batch_id: str) -> dict[str, Any]:
    """A run past its deadline (its execution died or hangs): every item without a result fails with the
    reason, and the batch gets its final status."""
    from saldo.adapters import documents

    stored = documents.get_object(documents.bucket(), manifest_key(org_id, batch_id))
    manifest = json.loads(stored) if stored else []
    store = _store()
    for item in manifest:
        found = store.get_item(org_id, batch_id, int(item["index"]))
        if found is None or found.get("state") != "DONE":
            record_crash(org_id, batch_id, item, {"Error": "the batch did not finish by its deadline"})
    return finalize(org_id, batch_id)


def notify(org_id: str, record: dict[str, Any], index: int, item: dict[str, Any]) -> None:
    """A recorded item's notifications, each once: an email per item to the batch's notificationEmail (a
    failed one with its reason), and the first webhook call of every item (saldo/batches/webhooks.py)."""
    _email(org_id, record, index, item)
    if record.get("notificationWebhookUrl"):
        from saldo.batches import webhooks

        webhooks.first_attempt(org_id, record["id"], index)


def _notify_again(org_id: str, batch_id: str, index: int) -> None:
    """A retried item task that finds its item recorded: the notifications its first run may not have
    reached (each is once-only, so nothing goes out twice)."""
    stored = _store().get_item(org_id, batch_id, index)
    record = _jobs().get(org_id, batch_id)
    if stored and stored.get("doc") and record:
        notify(org_id, record, index, public_item(record, stored))


def _email(org_id: str, record: dict[str, Any], index: int, item: dict[str, Any]) -> None:
    email = record.get("notificationEmail")
    if not email or not _store().mark_item(org_id, record["id"], index, "emailed"):
        return
    from saldo.adapters.email import send_email

    subject = f"{record.get('batchName')}: {item['name']} ({item['status']})"
    if item["pdfurl"]:
        text = f"{item['name']}.pdf\n{item['pdfurl']}\n\nThe link works for {LINK_DAYS} days."
        html = (
            f"<p>{_html(item['name'])}.pdf</p>"
            f'<p><a href="{_html(item["pdfurl"])}">Download the report</a></p>'
            f"<p>The link works for {LINK_DAYS} days.</p>"
        )
    else:  # a failed report: no file, the reason instead
        text = f"{item['name']}: the report could not be made.\n{item['reason']}"
        html = (
            f"<p>{_html(item['name'])}: the report could not be made.</p><p>{_html(item['reason'] or '')}</p>"
        )
    try:
        send_email(email, subject, text, html)
    except Exception as exc:  # SES refused: the report stands; the item says why no email came
        _store().set_item_fields(org_id, record["id"], index, {"email_error": str(exc)[:300]})


def _html(text: str) -> str:
    import html

    return html.escape(text, quote=True)


# ---------------------------------------------------------------------------------------------- reports
def produce_report(org_id: str, kind: str, cvr: str, run_date: date, grants: list[int] | None) -> Report:
    """The company report of the organization's registry, as of the run date."""
    from saldo.registry.reports import company_report
    from saldo.registry.reports.content import fiscal_year_end
    from saldo.registry.service import RegistryService

    def ledger_figures(client_account_id: int, day: date) -> list[dict[str, Any]]:
        if grants is not None and client_account_id not in grants:
            return []
        from saldo.errors import Forbidden
        from saldo.ledger.service import LedgerService
        from saldo.registry.ledger_figures import ledger_key_figures

        try:
            ledger = LedgerService(org_id)
            view = ledger.view(ledger.client_account(client_account_id))
        except Forbidden:
            return []
        return ledger_key_figures(view, today=day, years=6)

    report = company_report(RegistryService(org_id), kind, "DK", cvr, run_date, "da", ledger_figures)
    file = report.file
    figures = file.figures
    balance_day = fiscal_year_end(figures[0], file.view.get("balance_day")) if figures else None
    return Report(report.pdf(), file.view["name"] or cvr, balance_day, missing_data(kind, file))


def missing_data(kind: str, file: Any) -> list[str]:
    """What the report had to do without (a Warning item names it)."""
    view, out = file.view, []
    if kind in ("Revision", "RevisionUdvidet", "Finans") and not file.figures:
        out.append("key figures")
    if kind in ("Revision", "RevisionUdvidet"):
        if not any(r["role"] == "management" for r in view["roles"]):
            out.append("management")
        if not view["owners"] and not view["listed"]:
            out.append("legal owners")
    if file.ownership["missing_owners"]:
        shown = ", ".join(m["name"] for m in file.ownership["missing_owners"][:5])
        out.append(f"owners not in the registry: {shown}")
    if not file.ownership["complete"]:
        out.append("the whole ownership graph")
    return out
