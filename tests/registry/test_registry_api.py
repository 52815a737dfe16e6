"""The company registry over the API: companies as of a date, persons, ownership, events, errors."""

from __future__ import annotations

import json

import pytest

from tests.security.id_providers import cvr

HOLDING, OPCO, OTHER = cvr(), cvr(), cvr()


def owner(person_or_company: dict, name: str, low: str, high: str | None = None, votes: str | None = None):
    out = {"party": person_or_company, "name": name, "capital": {"low": low, "high": high or low}}
    if votes:
        out["votes"] = {"low": votes, "high": votes}
    return out


def put(api, number: str, body: dict, country: str = "DK"):
    return api.request("PUT", f"/api/v2/companies/{country}/{number}", json_body=body)


@pytest.fixture
def group(api):
    """Anna owns 60 % of a holding that owns 70 % of an operating company; Bo owns 30 % of it directly."""
    for pid, name in (("anna", "Anna Holm"), ("bo", "Bo Berg"), ("ceo", "Cim Eng")):
        assert api.request("PUT", f"/api/v2/persons/{pid}", json_body={"name": name}).status == 201
    assert (
        put(
            api,
            HOLDING,
            {
                "name": "Holm Holding ApS",
                "effective_date": "2024-01-01",
                "owners": [
                    owner({"person_id": "anna"}, "Anna Holm", "0.6"),
                    owner({"person_id": "bo"}, "Bo Berg", "0.4"),
                ],
            },
        ).status
        == 201
    )
    res = put(
        api,
        OPCO,
        {
            "name": "Holm Drift A/S",
            "effective_date": "2024-01-01",
            "legal_form": "A/S",
            "balance_day": "12-31",
            "roles": [{"role": "management", "party": {"person_id": "ceo"}, "name": "Cim Eng"}],
            "owners": [
                owner({"country": "DK", "registration_number": HOLDING}, "Holm Holding ApS", "0.7"),
                owner({"person_id": "bo"}, "Bo Berg", "0.3"),
            ],
            "registered_beneficial_owners": [
                {"person_id": "anna", "name": "Anna Holm", "registered_on": "2024-01-05"}
            ],
        },
    )
    assert res.status == 201, res.text
    return api


def test_a_company_as_of_any_date(group):
    api = group
    res = put(
        api,
        OPCO,
        {
            "name": "Holm Drift A/S",
            "effective_date": "2025-06-01",
            "legal_form": "A/S",
            "owners": [owner({"country": "DK", "registration_number": HOLDING}, "Holm Holding ApS", "1")],
        },
    )
    assert res.status == 200
    before = api.get(f"/api/v2/companies/DK/{OPCO}", params={"as_of": "2025-05-31"}).json()
    after = api.get(f"/api/v2/companies/DK/{OPCO}", params={"as_of": "2025-06-01"}).json()
    assert [(o["name"], o["capital"]["low"]) for o in before["owners"]] == [
        ("Bo Berg", "0.3"),
        ("Holm Holding ApS", "0.7"),
    ]
    assert [(o["name"], o["capital"]["low"]) for o in after["owners"]] == [("Holm Holding ApS", "1")]
    assert before["roles"][0]["name"] == "Cim Eng" and after["roles"] == []  # the snapshot had no management
    history = api.get(f"/api/v2/companies/DK/{OPCO}/history").json()["data"]
    assert {(h["date"], h["change"], h["name"]) for h in history if h["date"] == "2025-06-01"} == {
        ("2025-06-01", "changed", "Holm Holding ApS"),
        ("2025-06-01", "left", "Bo Berg"),
        ("2025-06-01", "left", "Cim Eng"),
    }


def test_computed_ownership_beside_the_registered(group):
    body = group.get(f"/api/v2/companies/DK/{OPCO}/ownership", params={"as_of": "2024-06-30"}).json()
    owners = {o["person_id"]: o for o in body["computed_beneficial_owners"]}
    assert set(owners) == {"anna", "bo"}
    assert owners["anna"]["capital"]["low"] == "0.42" and owners["anna"]["basis"] == "qualifies"
    assert [n["name"] for n in owners["anna"]["chains"][0]["path"]] == [
        "Anna Holm",
        "Holm Holding ApS",
        "Holm Drift A/S",
    ]
    # Bo: 30 % directly plus 40 % of 70 % through the holding
    assert owners["bo"]["capital"]["low"] == "0.58" and len(owners["bo"]["chains"]) == 2
    assert body["differences"] == [{"person_id": "bo", "name": "Bo Berg", "difference": "not_registered"}]
    assert body["cycles"] == [] and body["missing_owners"] == [] and body["complete"]


def test_persons_see_their_companies(group):
    bo = group.get("/api/v2/persons/bo").json()
    assert bo["name"] == "Bo Berg"
    assert {(c["name"], r["relation"]) for c in bo["companies"] for r in c["relations"]} == {
        ("Holm Holding ApS", "owner"),
        ("Holm Drift A/S", "owner"),
    }


def test_list_search_and_pages(group):
    api = group
    assert put(api, OTHER, {"name": "Fjordlys ApS"}).status == 201
    names = []
    cursor = None
    while True:
        page = api.get("/api/v2/companies", params={"limit": 2, "cursor": cursor}).json()
        names += [c["name"] for c in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(names) == ["Fjordlys ApS", "Holm Drift A/S", "Holm Holding ApS"]
    found = api.get("/api/v2/companies", params={"q": "holm"}).json()["data"]
    assert sorted(c["name"] for c in found) == ["Holm Drift A/S", "Holm Holding ApS"]
    assert api.get("/api/v2/companies", params={"cursor": "bm90LWEtY3Vyc29y"}).status == 400


def test_bad_input_is_refused_with_the_reason(api):
    bad_cvr = "12345678"
    res = put(api, bad_cvr, {"name": "X ApS"})
    assert res.status == 400 and "CVR" in res.json()["message"]
    assert api.get(f"/api/v2/companies/DK/{cvr()}").status == 404
    res = put(api, cvr(), {"name": "X ApS", "owners": [owner({"person_id": "a"}, "A", "0.6", "0.5")]})
    assert res.status == 422  # low above high
    res = put(
        api,
        cvr(),
        {
            "name": "X ApS",
            "owners": [owner({"person_id": "a"}, "A", "0.2"), owner({"person_id": "a"}, "A", "0.3")],
        },
    )
    assert res.status == 422 and api.get("/api/v2/companies").json()["data"] == []


def test_changes_publish_company_changed_events(api, stack):
    sqs, events = stack.client("sqs"), stack.client("events")
    queue = sqs.create_queue(QueueName="registry-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = stack.env()["SALDO_EVENT_BUS"]
    events.put_rule(
        Name="registry", EventBusName=bus, EventPattern=json.dumps({"source": ["saldo.registry"]})
    )
    events.put_targets(Rule="registry", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    number = cvr()
    put(api, number, {"name": "A ApS", "effective_date": "2025-01-01"})
    put(api, number, {"name": "A ApS", "effective_date": "2025-01-01"})  # no change, no event
    put(
        api,
        number,
        {"name": "A ApS", "effective_date": "2025-02-01", "owners": [owner({"person_id": "x"}, "X", "1")]},
    )
    bodies = [
        json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    ]
    details = sorted((b["detail"]["effective_date"], b["detail"]["changed"]) for b in bodies)
    assert details == [
        ("2025-01-01", ["master_data", "owners", "beneficial_owners", "management", "key_figures"]),
        ("2025-02-01", ["owners"]),
    ]
    assert all(
        b["detail-type"] == "CompanyChanged" and b["detail"]["registration_number"] == number for b in bodies
    )


def test_owning_companies_need_valid_numbers(api):
    res = put(
        api,
        cvr(),
        {"name": "X ApS", "owners": [owner({"country": "DK", "registration_number": "1234"}, "Y", "1")]},
    )
    assert res.status == 422 and res.json()["details"][0]["field"] == "owners[0].party.registration_number"
    spaced = cvr()
    res = put(
        api,
        cvr(),
        {
            "name": "X ApS",
            "owners": [
                owner({"country": "DK", "registration_number": f"DK {spaced[:4]} {spaced[4:]}"}, "Y", "1")
            ],
        },
    )
    assert res.status == 201 and res.json()["owners"][0]["party"]["registration_number"] == spaced


def test_a_company_links_only_a_client_account_the_caller_reaches(stack, api, tenant):
    from saldo.adapters.tenancy_store import TenancyStore
    from tests.conftest import ApiClient

    def client_account(client, regno: str) -> int:
        res = client.post(
            "/api/v2/client-accounts", json_body={"name": "Fjord AS", "registration_number": regno}
        )
        assert res.status == 201, res.text
        return res.json()["id"]

    store = TenancyStore()
    other_org = store.create_org("Other Org AS")
    other = ApiClient(stack, store.create_key(other_org["org_id"], label="other")["key"])
    theirs = client_account(other, "923609016")
    ours, second = client_account(api, "923609016"), client_account(api, "888888888")
    limited = ApiClient(stack, store.create_key(tenant["org_id"], client_accounts=[second])["key"])

    def put_link(client, ca: int):
        return put(client, "923609016", {"name": "x", "client_account_id": ca}, country="NO")

    for client, ca in (
        (api, theirs),
        (api, 999_999),
        (limited, ours),
    ):  # another org's, none, outside the grant
        refused = put_link(client, ca)
        assert refused.status == 403, refused.text
        assert refused.json()["error"] == "Forbidden"
        doc = {"country": "NO", "registration_number": "923609016", "name": "x", "client_account_id": ca}
        res = client.post("/api/v2/companies/import", json_body={"documents": [doc]})
        assert res.status == 403, res.text
    assert api.get("/api/v2/companies/NO/923609016").status == 404  # nothing written
    assert put_link(api, ours).status == 201
    assert put_link(limited, second).status == 200
    assert api.get("/api/v2/companies/NO/923609016").json()["client_account_id"] == second


@pytest.mark.parametrize(
    ("country", "zeros"), [("NO", "000000000"), ("SE", "0000000000"), ("IS", "0000000000")]
)
def test_all_zero_registration_numbers_are_refused(api, country, zeros):
    res = put(api, zeros, {"name": "Nobody AS"}, country=country)
    assert res.status == 400, res.text
    assert "is not a valid" in res.json()["message"]
