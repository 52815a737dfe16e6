"""The four company reports over the demo group: figures, owners and warnings in JSON, PDFs read back,
languages and number styles, key figures from a linked ledger, and a register import into the reports.

Every request names `as_of`, so the answers do not move with the calendar."""

from __future__ import annotations

import io
from decimal import Decimal as D

import pytest
from pypdf import PdfReader

from saldo_tools import demo_registry as d
from tests.conftest import ApiClient
from tests.ledger.helpers import make_client_account, post, sale

TYPES = ("Revision", "Finans", "ReelleEjere", "RevisionUdvidet")
DAY = "2026-06-30"


@pytest.fixture
def demo(api, tenant):
    ca = make_client_account(api)
    d.load_demo_registry(tenant["org_id"], ca)
    return api, ca


def get(api, number, kind, country="DK", as_of=DAY, **headers):
    return api.get(
        f"/api/v2/companies/{country}/{number}/reports/{kind}", params={"as_of": as_of}, headers=headers
    )


def pdf_text(res) -> str:
    assert res.status == 200, res.text
    assert res.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(res.body))
    return "\n".join(page.extract_text() for page in reader.pages)


def codes(body) -> list[str]:
    return [w["code"] for w in body["warnings"]]


def test_revision_names_owners_figures_and_warnings(demo):
    api, _ = demo
    body = get(api, d.NORDLYS_DRIFT, "Revision").json()
    assert body["type"] == "Revision" and body["as_of"] == DAY
    assert body["company"]["name"] == "Nordlys Drift A/S"
    assert [m["name"] for m in body["management"]] == ["Dina Eng"]
    assert [a["name"] for a in body["auditor"]] == ["Revisorerne P/S"]
    assert {o["name"] for o in body["legal_owners"]} == {"Nordlys Holding A/S", "Carl Dahl"}
    computed = {
        c["name"]: (c["capital"]["low"], c["capital"]["high"]) for c in body["computed_beneficial_owners"]
    }
    assert computed == {"Anna Holm": ("0.4500", "0.6666"), "Bo Berg": ("0.300060", "0.4999")}
    assert body["differences"] == [
        {"person_id": "bo-berg", "name": "Bo Berg", "difference": "not_registered"}
    ]
    figures = body["key_figures"]
    assert figures["source"] == "registered" and [y["year"] for y in figures["years"]] == [2025, 2024, 2023]
    assert figures["years"][0]["revenue"] == D("55120000.00")
    # 2025's report came in before 31 May 2026: only the owners' difference is a warning
    assert codes(body) == ["owners_disagree"]


def test_warnings_capital_loss_late_report_management_change_and_status(demo):
    api, _ = demo
    spredt = get(api, d.SPREDT, "Revision", as_of="2026-08-01").json()
    assert codes(spredt) == ["capital_loss", "annual_report_late", "owners_disagree"]
    loss = spredt["warnings"][0]
    assert (loss["year"], loss["equity"], loss["share_capital"]) == (2025, D("18000.00"), D("40000.00"))
    late = spredt["warnings"][1]
    assert (late["year"], late["approved"], late["deadline"]) == (2025, "2026-07-14", "2026-05-31")
    assert [c["basis"] for c in spredt["computed_beneficial_owners"]] == ["management"]
    # Before the 2025 deadline nothing is late yet; before 2025 ended, 2024's figures are the latest
    early = get(api, d.SPREDT, "Revision", as_of="2025-03-01").json()
    assert "annual_report_late" not in codes(early) and "capital_loss" not in codes(early)

    fjeldsted = get(api, d.FJELDSTED, "Revision").json()
    changed = next(w for w in fjeldsted["warnings"] if w["code"] == "management_changed")
    assert changed["dates"] == ["2026-03-01"] and "01.03.2026" in changed["message"]
    assert "management_changed" not in codes(get(api, d.FJELDSTED, "Revision", as_of="2027-06-30").json())

    kreds_b = get(api, d.KREDS_B, "Revision").json()
    assert {"code": "status", "status": "Under tvangsopløsning"}.items() <= kreds_b["warnings"][0].items()


def test_finans_ratios_and_trend(demo):
    api, _ = demo
    body = get(api, d.NORDLYS_DRIFT, "Finans").json()
    latest, previous = body["years"][0], body["years"][1]
    assert latest["year"] == 2025 and previous["year"] == 2024
    assert latest["ratios"] == {
        "gross_margin": D("0.4345"),  # 23,950,000 / 55,120,000
        "operating_margin": D("0.0903"),  # 4,980,000 / 55,120,000
        "return_on_equity": D("0.2169"),  # 3,710,000 / ((18,960,000 + 15,250,000) / 2)
        "solvency_ratio": D("0.4938"),  # 18,960,000 / 38,400,000 = 0.49375, half up
        "current_ratio": D("1.9276"),  # 21,300,000 / 11,050,000
    }
    assert latest["trend"]["gross_margin"] == "down"  # 2024: 0.4405
    assert latest["trend"]["solvency_ratio"] == "up"  # 2024: 0.4345
    # 2024: 3,250,000 / ((15,250,000 + 12,800,000) / 2) = 0.2317; 2025: 0.2169
    assert previous["ratios"]["return_on_equity"] == D("0.2317")
    assert latest["trend"]["return_on_equity"] == "down"
    assert latest["auditor_statement"] == "unqualified"
    spredt = get(api, d.SPREDT, "Finans", as_of="2026-08-01").json()
    assert spredt["years"][0]["ratios"]["operating_margin"] == D("-0.1442")  # -310,000 / 2,150,000


def test_reelle_ejere_reports_chains_cycles_and_exemptions(demo):
    api, _ = demo
    drift = get(api, d.NORDLYS_DRIFT, "ReelleEjere").json()
    anna = next(c for c in drift["computed_beneficial_owners"] if c["name"] == "Anna Holm")
    assert [step["name"] for step in anna["chains"][0]["path"]] == [
        "Anna Holm",
        "Holm Invest ApS",
        "Nordlys Holding A/S",
        "Nordlys Drift A/S",
    ]
    kreds = get(api, d.KREDS_A, "ReelleEjere").json()
    assert kreds["cycles"] and [c["name"] for c in kreds["computed_beneficial_owners"]] == ["Erik Fjeld"]
    datter = get(api, d.BORS_DATTER, "2").json()  # by number
    assert datter["type"] == "ReelleEjere" and datter["exempt_reason"].startswith("wholly owned by listed")


def test_revision_udvidet_draws_the_group_and_the_key_persons_other_companies(demo):
    api, _ = demo
    body = get(api, d.NORDLYS_DRIFT, "revisionudvidet").json()  # any case
    levels = {n["name"]: n["level"] for n in body["group"]["nodes"]}
    assert levels["Nordlys Drift A/S"] == 0 and levels["Nordlys Holding A/S"] == -1
    assert levels["Holm Invest ApS"] == -2 and levels["Anna Holm"] == -3 and levels["Bo Berg"] == -2
    assert levels["Fjord Regnskap AS"] == 1  # the demo ledger's Norwegian company, owned 100 %
    edges = {(e["owner"], e["owned"]) for e in body["group"]["edges"]}
    assert (f"C#DK#{d.NORDLYS_HOLDING}", f"C#DK#{d.NORDLYS_DRIFT}") in edges
    related = {p["name"]: {c["name"] for c in p["companies"]} for p in body["related_companies"]}
    assert related["Dina Eng"] >= {"Kreds B ApS", "Fjord Regnskap AS"}
    assert body["history"] and body["group"]["complete"] is True
    cycle = get(api, d.KREDS_A, "RevisionUdvidet").json()
    assert {n["name"] for n in cycle["group"]["nodes"]} >= {"Kreds A ApS", "Kreds B ApS"}


def test_every_report_renders_for_every_demo_company(demo):
    api, _ = demo
    companies = api.get("/api/v2/companies", params={"limit": 50}).json()["data"]
    assert len(companies) == 10
    for company in companies:
        for kind in TYPES:
            text = pdf_text(
                get(api, company["registration_number"], kind, company["country"], Accept="application/pdf")
            )
            assert company["name"] in text, (company["name"], kind)


def test_pdfs_read_back_with_the_owners_and_figures_in_danish_and_english(demo):
    api, _ = demo
    res = get(api, d.NORDLYS_DRIFT, "Revision", Accept="application/pdf")
    assert res.headers["content-language"] == "da"
    assert res.headers["content-disposition"].startswith("attachment;")
    text = pdf_text(res)
    for expected in (
        "Revisionsrapport",
        "Nordlys Drift A/S",
        "CVR-nr. 34120307",
        "Dina Eng",
        "Revisorerne P/S",
        "Nordlys Holding A/S",
        "Anna Holm",
        "Bo Berg",
        "55.120.000",  # Danish thousands
        "30.06.2026",
        "Beregnet, men ikke registreret",
    ):
        assert expected in text, expected
    english = pdf_text(
        get(api, d.NORDLYS_DRIFT, "Finans", Accept="application/pdf", **{"Accept-Language": "en"})
    )
    assert "Financial report" in english and "Return on equity" in english
    assert "55.120.000" in english  # a Danish company's figures keep Danish formats
    assert "43,5\u00a0%" in english  # gross margin 0.4345 as Danish writes it
    extended = pdf_text(get(api, d.NORDLYS_DRIFT, "RevisionUdvidet", Accept="application/pdf"))
    assert "Koncernstruktur" in extended and "Holm Invest ApS" in extended and "Fjord Regnskap AS" in extended
    owners = pdf_text(
        get(api, d.KREDS_A, "ReelleEjere", Accept="application/pdf", **{"Accept-Language": "en"})
    )
    assert "Erik Fjeld" in owners and "Circular ownership" in owners


def test_key_figures_come_from_the_linked_ledger_when_the_key_may_read_it(demo, stack, tenant):
    api, ca = demo
    account = api.get(f"/api/v2/client-accounts/{ca}").json()
    number = account["registration_number"]
    assert post(api, ca, [sale("2025-03-10", "125000.00", ca=ca)]).status == 201
    body = get(api, number, "Finans", "NO").json()
    assert body["source"] == "ledger"
    year = body["years"][0]
    assert (year["year"], year["revenue"], year["period_from"], year["period_to"]) == (
        2025,
        D("125000.00"),
        "2025-01-01",
        "2025-12-31",
    )
    # the first year's return on equity averages the ledger's opening equity (the chart's opening
    # balances: 50,000 share capital) and the closing one (with the year's 125,000)
    assert (year["opening_equity"], year["equity"]) == (D("50000.00"), D("175000.00"))
    assert year["ratios"]["return_on_equity"] == D("1.1111")  # 125,000 / 112,500
    spredt = get(api, d.SPREDT, "Finans", as_of="2026-08-01").json()["years"]
    assert spredt[-1]["year"] == 2024 and spredt[-1]["ratios"]["return_on_equity"] is None  # no 2023 figures
    assert get(api, number, "Finans", "NO", as_of="2025-06-30").json()["source"] is None  # 2025 not ended
    pdf = pdf_text(get(api, number, "Finans", "NO", Accept="application/pdf"))
    assert "125\u202f000" in pdf  # a Norwegian company's figures in Norwegian style
    # A key whose grant does not reach the client account sees the report without the ledger's figures
    from saldo.adapters.tenancy_store import TenancyStore

    other = make_client_account(api, regno="974760673")
    narrow = ApiClient(stack, TenancyStore().create_key(tenant["org_id"], [other], label="narrow")["key"])
    assert get(narrow, number, "Finans", "NO").json()["source"] is None


def test_errors(demo):
    api, _ = demo
    res = get(api, d.NORDLYS_DRIFT, "Aarsrapport")
    assert res.status == 404 and "Revision" in res.json()["message"]
    assert get(api, d.NORDLYS_DRIFT, "Revision", Accept="text/html").status == 406
    assert get(api, "10403782", "Revision").status == 404  # valid number, not in the registry
    assert get(api, "10403783", "Revision").status == 400  # check digit
    assert get(api, d.NORDLYS_DRIFT, "Revision", as_of="2026-02-30").status == 400


def test_another_organization_cannot_read_the_reports(demo, stack):
    from saldo.adapters.tenancy_store import TenancyStore

    store = TenancyStore()
    org = store.create_org("Other ApS")
    other = ApiClient(stack, store.create_key(org["org_id"], label="other")["key"])
    assert get(other, d.NORDLYS_DRIFT, "Revision", Accept="application/pdf").status == 404


def test_imported_register_documents_round_trip_into_the_reports(api):
    from tests.registry.test_import import cvr_document, enhet_document
    from tests.security.id_providers import cvr

    number, holding = cvr(), cvr()
    res = api.post(
        "/api/v2/companies/import", json_body={"documents": [cvr_document(number, holding), enhet_document()]}
    )
    assert res.status == 200, res.text
    body = get(api, number, "Revision", as_of="2024-06-30").json()
    assert (
        body["company"]["name"] == "Holm Drift ApS" and "Gammel Drift ApS" in body["company"]["former_names"]
    )
    assert [b["name"] for b in body["registered_beneficial_owners"]] == ["Anna Holm"]
    owners = get(api, number, "ReelleEjere", as_of="2024-06-30").json()
    assert owners["missing_owners"] == [{"key": f"C#DK#{holding}", "name": "Holm Holding ApS"}]
    text = pdf_text(get(api, number, "RevisionUdvidet", as_of="2024-06-30", Accept="application/pdf"))
    assert "Holm Holding ApS" in text and "Gammel Drift ApS" in text
    unit = enhet_document()
    regno = unit.get("organisasjonsnummer") or unit["enhet"]["organisasjonsnummer"]
    text = pdf_text(get(api, regno, "Revision", "NO", Accept="application/pdf", **{"Accept-Language": "en"}))
    assert "Org. no." in text


def test_a_company_with_500_owners_draws_the_largest_and_counts_the_rest(api):
    from tests.security.id_providers import cvr

    number = cvr()
    owners = [
        {"party": {"person_id": f"o-{i}"}, "name": f"Ejer {i}", "capital": {"low": share, "high": share}}
        for i, share in enumerate(["0.10", "0.05"] + ["0.0017"] * 498)
    ]
    body = {"effective_date": "2024-01-01", "name": "Mange Ejere A/S", "owners": owners}
    assert api.request("PUT", f"/api/v2/companies/DK/{number}", json_body=body).status == 201
    group = get(api, number, "RevisionUdvidet").json()["group"]
    drawn = [n for n in group["nodes"] if n["level"] == -1]
    assert [n.get("name") for n in drawn[:2]] == ["Ejer 0", "Ejer 1"]  # the largest first
    assert len(drawn) == 8 and drawn[-1] == {
        "key": drawn[-1]["key"],
        "kind": "more",
        "level": -1,
        "count": 493,
    }
    text = pdf_text(get(api, number, "RevisionUdvidet", Accept="application/pdf"))
    assert "+ 493 ejere mere" in text and "Ejer 499" in text  # the owners table still names everyone
