"""Hostile values in registry writes: refused with a 4xx naming the field, nothing stored."""

from __future__ import annotations

import pytest

from tests.registry.test_import import attr, cvr_document
from tests.security.id_providers import cvr


@pytest.mark.parametrize(
    "body",
    [
        {"effective_date": "0001-01-01", "name": "Y"},
        {"effective_date": "9999-12-31", "name": "Y"},
        {"name": "Y", "founded": "1899-12-31"},
        {"name": "Y", "balance_day": "02-30"},
        {"name": "Y", "balance_day": "04-31"},
        {"name": "Bad\u0000Name"},
        {"name": "Bad\u001b[31mName"},
        {"name": "Y", "legal_form": "A/S\r\nX-Evil: 1"},
        {"name": "Y", "roles": [{"role": "management", "party": {"person_id": "p"}, "name": "Line\nBreak"}]},
    ],
)
def test_refused_and_nothing_stored(api, body):
    number = cvr()
    res = api.request("PUT", f"/api/v2/companies/DK/{number}", json_body=body)
    assert res.status == 422, res.text
    assert api.get(f"/api/v2/companies/DK/{number}").status == 404


def test_a_leap_day_balance_day_and_a_purpose_with_line_breaks_are_fine(api):
    body = {"name": "Skud ApS", "balance_day": "02-29", "purpose": "At drive handel.\nOg andet."}
    assert api.request("PUT", f"/api/v2/companies/DK/{cvr()}", json_body=body).status == 201


def test_a_cvr_document_with_a_control_character_or_a_far_date_imports_nothing(api):
    number, holding = cvr(), cvr()
    bad = cvr_document(number, holding)
    bad["Vrvirksomhed"]["navne"][1]["navn"] = "Holm\u0007Drift ApS"
    far = cvr_document(cvr(), holding)
    far["Vrvirksomhed"]["attributter"] = [attr("FORMÅL", ("x", "0001-01-01", None))]
    for document in (bad, far):
        res = api.post("/api/v2/companies/import", json_body={"documents": [document]})
        assert res.status == 422, res.text
        assert res.json()["details"][0]["field"] == "documents[0]"
    assert api.get(f"/api/v2/companies/DK/{number}").status == 404
