"""The demo organization's group of companies shows every case of the ownership rules."""

from __future__ import annotations

import pytest

from saldo_tools import demo_registry as d


@pytest.fixture
def demo(api, tenant):
    from tests.ledger.helpers import make_client_account

    ca = make_client_account(api)
    assert d.load_demo_registry(tenant["org_id"], ca)["registry_companies"] == 10
    assert d.load_demo_registry(tenant["org_id"], ca)["registry_companies"] == 10  # idempotent
    return api, ca


def _owners(api, number, country="DK"):
    body = api.get(f"/api/v2/companies/{country}/{number}/ownership").json()
    return body, {
        o["person_id"]: (o["basis"], o["capital"]["low"], o["capital"]["high"])
        for o in body["computed_beneficial_owners"]
    }


def test_every_case_of_the_rules(demo):
    api, _ = demo
    _, drift = _owners(api, d.NORDLYS_DRIFT)  # three levels: Anna → Holm Invest → Nordlys Holding → Drift
    assert drift == {
        "anna-holm": ("qualifies", "0.4500", "0.6666"),
        "bo-berg": ("qualifies", "0.300060", "0.4999"),
    }
    _, fjeldsted = _owners(api, d.FJELDSTED)  # Bo directly and through Nordlys Holding
    assert fjeldsted["bo-berg"] == ("qualifies", "0.300020", "0.349970")
    kreds, owners = _owners(api, d.KREDS_A)  # a cycle; Dina's 25 % through Kreds B is not more than 25 %
    assert kreds["cycles"] and owners == {"erik-fjeld": ("qualifies", "0.50", "0.50")}
    _, owners = _owners(api, d.SPREDT)
    assert owners == {"frida-gran": ("management", "0", "0")}
    for number, reason in (
        (d.BORS, "listed company"),
        (d.BORS_DATTER, f"wholly owned by listed company Nordisk Børs A/S (DK {d.BORS})"),
    ):
        body, owners = _owners(api, number)
        assert body["exempt_reason"] == reason and all(v[0] == "management" for v in owners.values())


def test_the_demo_ledgers_company_sits_under_the_danish_group(demo, api):
    _, ca = demo
    account = api.get(f"/api/v2/client-accounts/{ca}").json()
    company = api.get(f"/api/v2/companies/NO/{account['registration_number']}").json()
    assert company["client_account_id"] == ca and company["owners"][0]["name"] == "Nordlys Drift A/S"
    _, owners = _owners(api, account["registration_number"], "NO")
    assert set(owners) == {"anna-holm", "bo-berg"}
