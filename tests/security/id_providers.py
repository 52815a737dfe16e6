"""Test data for the isolation test: how to get a tenant's id for each path parameter, and request bodies.

When you add a route to template.yaml, the isolation test tries it with another organization's ids. It
needs, for every path parameter, a provider that creates something for the tenant and returns its id:

    @registry.id("/v1/templates/{id}")            # this prefix and every route under it
    def template(world: World, t: Tenant) -> str:
        res = t.api.post("/v1/templates", json_body={"name": t.named("template"), ...})
        ok(res, 201, "create a template")
        return res.json()["id"]

Register by parameter name (`"client_account_id"`: path and query parameters of any route) or by
route prefix ending in the parameter (`"/api/v2/client-accounts/{id}"`). Name what you create with
`t.named(...)` (it carries the tenant's token, which must never show up in another tenant's answer),
and `t.mark(...)` other identifying values. Routes with a request body need `@registry.body(...)`
returning a valid body that uses the owner's ids and the caller's names.
"""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

from saldo.ledger.regno import valid_norwegian_orgnr
from tests.security.isolation import Body, Registry, Tenant, World

registry = Registry()
registry.query_values.update({"date_from": "2025-01-01", "date_to": "2025-12-31"})


def ok(res: Any, status: int, what: str) -> Any:
    assert res.status == status, f"isolation test data: could not {what}: {res.status} {res.text[:500]}"
    return res.json()


def orgnr() -> str:
    """A fresh valid Norwegian organization number."""
    while True:
        number = str(random.randint(800_000_000, 999_999_999))
        if valid_norwegian_orgnr(number):
            return number


def _entry(t: Tenant, **extra: Any) -> dict[str, Any]:
    return {
        "posting_date": "2025-03-14",
        "description": t.named("isolation entry"),
        "is_draft": True,
        "lines": [
            {"account_code": "1920", "debit": "1250.00", "description": t.named("line")},
            {"account_code": "3000", "credit": "1250.00"},
        ],
        **extra,
    }


# ------------------------------------------------------------------ ids
@registry.id("client_account_id", "/api/v2/client-accounts/{id}")
def client_account(world: World, t: Tenant) -> int:
    body = ok(
        t.api.post(
            "/api/v2/client-accounts",
            json_body={"name": t.named("Klient AS"), "registration_number": t.regno, "vat_registered": False},
        ),
        201,
        "create a client account",
    )
    t.mark(t.regno)
    ca = int(body["id"])
    master = {
        "accounts": [
            {"code": "1920", "name": t.named("Bankinnskudd")},
            {"code": "3000", "name": t.named("Salgsinntekt")},
        ],
        "tax-codes": [{"code": "0", "description": t.named("Ingen mva"), "rate": "0", "direction": "none"}],
        "dimensions": [{"type": "project", "id": 1, "name": t.named("Prosjekt")}],
        "business-partners": [{"id": 1, "name": t.named("Kunde AS"), "kind": "customer"}],
    }
    for path, items in master.items():
        ok(t.api.post(f"/api/v2/client-accounts/{ca}/{path}", json_body={"items": items}), 200, f"add {path}")
    return ca


@registry.id("/api/v2/journal-entries/{entry_id}")
def journal_entry(world: World, t: Tenant) -> int:
    ca = int(world.id_of(t, "client_account_id"))
    body = ok(
        t.api.post(
            "/api/v2/journal-entries",
            json_body={"client_account_id": ca, "entries": [_entry(t)]},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        ),
        201,
        "post a journal entry",
    )
    return int(body["entries"][0]["id"])


@registry.id("/api/v2/reconciliations/{reference}")
def reconciliation(world: World, t: Tenant) -> str:
    ca = int(world.id_of(t, "client_account_id"))
    lines = [
        {"account_code": "1920", "debit": "100.00", "description": t.named("line")},
        {"account_code": "1920", "credit": "100.00"},
    ]
    posted = ok(
        t.api.post(
            "/api/v2/journal-entries",
            json_body={"client_account_id": ca, "entries": [_entry(t, is_draft=False, lines=lines)]},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        ),
        201,
        "post an entry to reconcile",
    )
    line_ids = posted["entries"][0]["line_ids"]
    reference = t.named("match").replace(" ", "-")[:64]  # a reference is [A-Za-z0-9._-]
    body = {
        "client_account_id": ca,
        "reference": reference,
        "lines": [{"line_id": uid, "amount": "100.00"} for uid in line_ids],
    }
    ok(t.api.post("/api/v2/reconciliations", json_body=body), 200, "reconcile two lines")
    return reference


@registry.id("business_partner_id")
def business_partner(world: World, t: Tenant) -> int:
    world.id_of(t, "client_account_id")  # the client account comes with business partner 1
    return 1


# ------------------------------------------------------------------ bodies (owner's ids, caller's names)
def _ca(world: World, owner: Tenant) -> int:
    return int(world.id_of(owner, "client_account_id"))


@registry.body("POST /api/v2/client-accounts")
def new_client_account(world: World, owner: Tenant, caller: Tenant) -> Body:
    return Body({"name": caller.named("Ny klient AS"), "registration_number": orgnr()})


@registry.body("PATCH /api/v2/client-accounts/{id}")
def rename_client_account(world: World, owner: Tenant, caller: Tenant) -> Body:
    return Body({"name": caller.named("renamed")})


@registry.body("POST /api/v2/client-accounts/{id}/accounts")
def accounts(world: World, owner: Tenant, caller: Tenant) -> Body:
    return Body({"items": [{"code": "1920", "name": caller.named("overwritten")}]})


@registry.body("POST /api/v2/client-accounts/{id}/tax-codes")
def tax_codes(world: World, owner: Tenant, caller: Tenant) -> Body:
    return Body(
        {
            "items": [
                {"code": "0", "description": caller.named("overwritten"), "rate": "0", "direction": "none"}
            ]
        }
    )


@registry.body("POST /api/v2/client-accounts/{id}/dimensions")
def dimensions(world: World, owner: Tenant, caller: Tenant) -> Body:
    return Body({"items": [{"type": "project", "id": 1, "name": caller.named("overwritten")}]})


@registry.body("POST /api/v2/client-accounts/{id}/business-partners")
def business_partners(world: World, owner: Tenant, caller: Tenant) -> Body:
    return Body({"items": [{"id": 1, "name": caller.named("overwritten"), "kind": "customer"}]})


@registry.body("POST /api/v2/journal-entries")
def journal_entries(world: World, owner: Tenant, caller: Tenant) -> Body:
    return Body(
        {"client_account_id": _ca(world, owner), "entries": [_entry(caller)]},
        {"Idempotency-Key": uuid.uuid4().hex},
    )


@registry.body("PUT /api/v2/journal-entries/{entry_id}")
def edit_draft(world: World, owner: Tenant, caller: Tenant) -> Body:
    return Body({"client_account_id": _ca(world, owner), "entry": _entry(caller)})


@registry.body("POST /api/v2/journal-entries/{entry_id}/cancel")
def cancel_entry(world: World, owner: Tenant, caller: Tenant) -> Body:
    return Body({"client_account_id": _ca(world, owner), "reason": caller.named("cancelled")})


@registry.body("POST /api/v2/reconciliations")
def reconcile(world: World, owner: Tenant, caller: Tenant) -> Body:
    return Body(
        {
            "client_account_id": _ca(world, owner),
            "lines": [{"line_id": 1, "amount": "1250.00"}, {"line_id": 2, "amount": "1250.00"}],
            "reference": caller.named("match").replace(" ", "-")[:64],
        }
    )


@registry.body("POST /api/v2/reconciliations/{reference}/unreconcile")
def unreconcile(world: World, owner: Tenant, caller: Tenant) -> Body:
    return Body({"client_account_id": _ca(world, owner)})


# ------------------------------------------------------------------ queued report documents
@registry.id("/api/v2/reports/jobs/{job_id}")
def report_job(world: World, t: Tenant) -> str:
    ca = int(world.id_of(t, "client_account_id"))
    res = t.api.get(
        "/api/v2/reports/general-ledger",
        params={"client_account_id": ca},
        headers={"accept": "application/pdf", "prefer": "respond-async"},
    )
    return ok(res, 202, "queue a general-ledger document")["job_id"]


# ------------------------------------------------------------------ SAF-T imports and exports
# seeds/003: a client account that cannot be found on the data-export endpoint is 400.
registry.denials["GET /api/v2/reports/data-export"] = frozenset({400, 403})


@registry.id(
    "/api/v2/client-accounts/imports/{import_id}", "/api/v2/client-accounts/{id}/imports/{import_id}"
)
def saft_import(world: World, t: Tenant) -> str:
    ca = int(world.id_of(t, "client_account_id"))
    body = ok(
        t.api.post(
            "/api/v2/client-accounts/imports",
            json_body={"file_names": [t.named("saft.xml")], "client_account_id": ca},
        ),
        201,
        "request a SAF-T upload",
    )
    return body["id"]


@registry.id("/api/v2/reports/data-export/{export_id}")
def saft_export(world: World, t: Tenant) -> str:
    ca = int(world.id_of(t, "client_account_id"))
    res = t.api.get(
        "/api/v2/reports/data-export",
        params={"client_account_id": ca, "email": f"{t.token.lower()}@example.no"},
        headers={"accept": "application/zip"},
    )
    return ok(res, 202, "start a zipped SAF-T export")["export_id"]


@registry.body("POST /api/v2/client-accounts/imports")
def saft_upload_request(world: World, owner: Tenant, caller: Tenant) -> Body:
    return Body({"file_names": [caller.named("saft.xml")], "client_account_id": _ca(world, owner)})


@registry.body("GET /api/v2/reports/data-export", "GET /api/v2/reports/saf-t-financial")
def saft_export_accept(world: World, owner: Tenant, caller: Tenant) -> Body:
    return Body(None, {"accept": "text/xml"})  # no body: the file is XML, not JSON


# ------------------------------------------------------------------ company registry
def cvr() -> str:
    """A fresh valid Danish CVR number."""
    weights = (2, 7, 6, 5, 4, 3, 2)
    while True:
        first = str(random.randint(1_000_000, 9_999_999))
        check = -sum(int(d) * w for d, w in zip(first, weights, strict=True)) % 11
        if check < 10:
            return f"{first}{check}"


@registry.id("country")
def company_country(world: World, t: Tenant) -> str:
    return "DK"


def _company(t: Tenant, person_id: str) -> dict[str, Any]:
    return {
        "name": t.named("Selskab ApS"),
        "roles": [{"role": "management", "party": {"person_id": person_id}, "name": t.named("Direktør")}],
        "owners": [
            {"party": {"person_id": person_id}, "name": t.named("Ejer"), "capital": {"low": "1", "high": "1"}}
        ],
    }


@registry.id("person_id")
def person(world: World, t: Tenant) -> str:
    person_id = f"p-{t.token.lower()}"
    ok(
        t.api.request("PUT", f"/api/v2/persons/{person_id}", json_body={"name": t.named("Person")}),
        201,
        "add a person",
    )
    return person_id


@registry.id("registration_number")
def company(world: World, t: Tenant) -> str:
    number = cvr()
    body = _company(t, world.id_of(t, "person_id"))
    ok(t.api.request("PUT", f"/api/v2/companies/DK/{number}", json_body=body), 201, "add a company")
    return number


# Registries are per organization and keyed by public registration numbers: another organization may
# record the same company in its own registry. So a write with the owner's number succeeds in the caller's
# registry, and a read answers the caller's own record (200) or 404; the leak checks prove that nothing of
# the owner's record shows, and the owner-control read that the owner's record did not change.
for _route in (
    "PUT /api/v2/companies/{country}/{registration_number}",
    "GET /api/v2/companies/{country}/{registration_number}",
    "GET /api/v2/companies/{country}/{registration_number}/reports/{report_type}",
    "GET /api/v2/companies/{country}/{registration_number}/history",
    "GET /api/v2/companies/{country}/{registration_number}/ownership",
    "PUT /api/v2/persons/{person_id}",
    "GET /api/v2/persons/{person_id}",
    "POST /api/v2/companies/import",
):
    registry.denials[_route] = frozenset({200, 201, 404})


@registry.body("PUT /api/v2/companies/{country}/{registration_number}")
def company_body(world: World, owner: Tenant, caller: Tenant) -> Body:
    return Body(_company(caller, "someone"))


@registry.body("PUT /api/v2/persons/{person_id}")
def person_body(world: World, owner: Tenant, caller: Tenant) -> Body:
    return Body({"name": caller.named("Person")})


@registry.body("POST /api/v2/companies/import")
def company_import(world: World, owner: Tenant, caller: Tenant) -> Body:
    return Body(
        {"documents": [{"country": "DK", "registration_number": cvr(), **_company(caller, "someone")}]}
    )


@registry.id("report_type")
def report_type(world: World, t: Tenant) -> str:
    return "RevisionUdvidet"


# ------------------------------------------------------------------ batch reports
@registry.id("/apps/reporting/batches/{batch_id}")
def batch(world: World, t: Tenant) -> str:
    number = world.id_of(t, "registration_number")
    body = {
        "batchName": t.named("Batch"),
        "type": "ReelleEjere",
        "format": "{cvr}-{name}",
        "items": [{"cvr": number, "internalCustomerId": 7}],
        # A listener that runs once at once and then stays Listening: the stop route has work to do and
        # the zip route a finished report.
        "IsListener": True,
        "TriggerNow": True,
    }
    batch_id = str(ok(t.api.post("/apps/reporting/batches", json_body=body), 201, "create a batch")["id"])
    deadline = time.time() + 60
    while time.time() < deadline:
        found = ok(t.api.get(f"/apps/reporting/batches/{batch_id}"), 200, "read a batch")
        if found["status"] == "Listening" and found["completed"] + found["warnings"] == 1:
            return batch_id
        time.sleep(0.1)
    raise AssertionError(f"isolation test data: batch {batch_id} did not run its report: {found}")


# CVR numbers are public: a batch of another organization's companies is the caller's own batch, run on
# the caller's registry (its items fail: the companies are not there).
registry.denials["POST /apps/reporting/batches"] = frozenset({201})


# The webhook test call: its ids are only echoed into one dummy call to the caller's own URL (nothing of the
# organization is read), so another organization's ids are no denial. The URL refuses connections.
registry.query_values["url"] = "http://127.0.0.1:9/hook"
registry.denials["GET /apps/reporting/webhooks/test"] = frozenset({200})
registry.denials["POST /apps/reporting/webhooks/test"] = frozenset({200})


@registry.id("batchId")
def batch_id_query(world: World, t: Tenant) -> str:
    return world.id_of(t, "/apps/reporting/batches/{batch_id}")


@registry.id("lassoId")
def lasso_id(world: World, t: Tenant) -> str:
    return f"CVR-1-{world.id_of(t, 'registration_number')}"


@registry.body("POST /apps/reporting/webhooks/test")
def webhook_test_body(world: World, owner: Tenant, caller: Tenant) -> Body:
    return Body(
        {
            "url": "http://127.0.0.1:9/hook",
            "authConfig": {"Method": "Header", "Key": "X-Hook", "Value": caller.named("secret")},
            "batchId": world.id_of(owner, "/apps/reporting/batches/{batch_id}"),
            "lassoId": f"CVR-1-{world.id_of(owner, 'registration_number')}",
        }
    )


@registry.body("POST /apps/reporting/batches")
def batch_body(world: World, owner: Tenant, caller: Tenant) -> Body:
    return Body(
        {
            "batchName": caller.named("Batch"),
            "type": "Revision",
            "format": "{cvr}",
            "items": [{"cvr": world.id_of(owner, "registration_number")}],
        }
    )
