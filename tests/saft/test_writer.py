"""The streaming writer fits every value to the 1.30 schema, whatever the ledger holds."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from saldo.saft.mapping import derive_grouping, guess_dimension_type, saldo_code
from saldo.saft.writer import write_saft
from tests.saft.conftest import assert_valid_130

NS = {"s": "urn:StandardAuditFile-Taxation-Financial:NO"}
HEADER = {
    "date_created": date(2026, 1, 2),
    "company": {"registration_number": "923609016", "name": "Fjord AS"},
    "currency": "NOK",
    "selection_start": date(2025, 1, 1),
    "selection_end": date(2025, 12, 31),
}


def write(**parts) -> bytes:
    args = {
        "header": HEADER,
        "accounts": [],
        "customers": [],
        "suppliers": [],
        "tax_codes": [],
        "analysis": [],
        "totals": (0, Decimal(0), Decimal(0)),
        "journal": ("GL", "Hovedbok", "GL"),
        "transactions": [],
        **parts,
    }
    buf = io.BytesIO()
    write_saft(buf, **args)
    return buf.getvalue()


def test_an_empty_ledger_is_a_valid_file(xsd130):
    doc = assert_valid_130(xsd130, write())
    assert doc.find("s:MasterFiles/s:GeneralLedgerAccounts", NS) is None  # no empty 1..n sections
    assert doc.findtext("s:GeneralLedgerEntries/s:NumberOfEntries", namespaces=NS) == "0"
    # A header needs a contact person: "NotUsed" stands in, as Skatteetaten asks for unstructured names.
    assert (
        doc.findtext("s:Header/s:Company/s:Contact/s:ContactPerson/s:FirstName", namespaces=NS) == "NotUsed"
    )


def test_long_texts_control_characters_and_odd_values_still_validate(xsd130):
    long = "Æøå " * 200 + "\x01\x0b end"
    contact = {"ContactPerson": {"LastName": long}, "Website": "not a url"}
    line = {
        "record_id": "1",
        "account_id": "1920",
        "description": None,
        "amount": Decimal(0),
        "tax": {"code": "x", "percentage": None, "base": Decimal("-5"), "amount": None},
        "analysis": [("department", long)],
    }
    xml = write(
        header={**HEADER, "company": {**HEADER["company"], "name": long, "contacts": [contact]}},
        accounts=[
            {
                "id": "1920" * 30,
                "description": long,
                "grouping_category": None,
                "grouping_code": None,
                "opening": Decimal("-0.01"),
                "closing": Decimal("12345678901234.56"),
            }
        ],
        customers=[
            {
                "id": "K" * 60,
                "name": long,
                "addresses": [{"StreetName": long, "Country": "Norway"}],
                "balances": [{"account_id": "1500", "opening": Decimal(0), "closing": Decimal("-5")}],
            }
        ],
        tax_codes=[
            {"code": "x" * 90, "percentage": Decimal("11.11"), "standard_code": "123", "base_rates": [150]}
        ],
        analysis=[{"type": "department", "id": "1" * 50, "id_description": long, "status": "Unknown"}],
        totals=(1, Decimal("0.00"), Decimal("0.00")),
        transactions=[
            {
                "id": "1",
                "period": 1,
                "period_year": 2025,
                "date": date(2025, 1, 1),
                "description": "",
                "lines": [line],
            }
        ],
    )
    doc = assert_valid_130(xsd130, xml)
    assert len(doc.findtext(".//s:Account/s:AccountDescription", namespaces=NS)) <= 256
    assert "\x01" not in doc.findtext("s:Header/s:Company/s:Name", namespaces=NS)
    assert doc.findtext(".//s:Account/s:GroupingCategory", namespaces=NS) == "NA"
    assert doc.findtext(".//s:Account/s:OpeningCreditBalance", namespaces=NS) == "0.01"
    assert doc.findtext(".//s:TaxCodeDetails/s:StandardTaxCode", namespaces=NS) == "NA"
    assert doc.findtext(".//s:TaxCodeDetails/s:BaseRate", namespaces=NS) == "100"


def test_grouping_derivation_and_code_mapping():
    assert derive_grouping("1920") == ("balanseverdiForOmloepsmiddel", "1920")
    assert derive_grouping("2711") == ("kortsiktigGjeld", "2740")  # VAT accounts: the group's first code
    assert derive_grouping("8960") == ("resultatDisponeringForSAF-T", "8800")
    assert derive_grouping("9100") == ("NA", "NA")
    assert saldo_code("1920", set()) == "1920"
    odd = saldo_code("1920 Bank/Drift", set())
    assert len(odd) <= 20 and odd != saldo_code("1920 Bank-Drift", set())
    assert guess_dimension_type("A", "Avdeling") == "department"
    assert guess_dimension_type("K1", "Kostnadssted") == "department"
    assert guess_dimension_type("P", "") == "project"
    assert guess_dimension_type("B", "Bilagsart") == "tag"
