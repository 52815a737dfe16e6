"""export → XSD-valid 1.30 file → import gives back the same balances and entries (and the same file)."""

from __future__ import annotations

import io
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from lxml import etree

from saldo.ledger.models import (
    AccountIn,
    BusinessPartnerIn,
    CancelIn,
    ClientAccountIn,
    DimensionIn,
    JournalEntriesIn,
    TaxCodeIn,
)
from saldo.ledger.query import open_view
from saldo.ledger.service import LedgerService
from saldo.saft.exporter import export_saft, file_name, fiscal_period
from saldo.saft.importer import Importer, ImportRequest
from saldo.saft.safety import Source
from tests.saft.conftest import EXAMPLE_888, assert_valid_130
from tests.saft.stores import client_repo, ledger_store

START, END = date(2025, 1, 1), date(2025, 12, 31)
CREATED = datetime(2026, 1, 15, 8, 30, 0)


def _lines(*specs: tuple) -> list[dict[str, Any]]:
    out = []
    for spec in specs:
        code, amount, *extra = spec
        amount = Decimal(amount)
        line = {
            "account_code": code,
            "debit": amount if amount > 0 else 0,
            "credit": -amount if amount < 0 else 0,
        }
        for item in extra:
            line.update(item)
        out.append(line)
    return out


def build_ledger() -> tuple[LedgerService, Any]:
    service = LedgerService("org_a", ledger_store(), client_repo(), publish=lambda _t, _d: None)
    account = service.create_client_account(
        ClientAccountIn(name="Fjord Regnskap AS", registration_number="923609016", fiscal_year_start_month=1)
    )
    ca = account.id
    service.upsert_master(
        ca,
        "accounts",
        [
            AccountIn(code="1500", name="Kundefordringer"),
            AccountIn(code="1920", name="Bankinnskudd", opening_balance=Decimal("50000")),
            AccountIn(code="1930", name="Valutakonto EUR"),
            AccountIn(code="2050", name="Annen egenkapital", opening_balance=Decimal("-50000")),
            AccountIn(code="2400", name="Leverandørgjeld"),
            AccountIn(code="2700", name="Utgående merverdiavgift"),
            AccountIn(code="2710", name="Inngående merverdiavgift"),
            AccountIn(code="3000", name="Salgsinntekt, avgiftspliktig", saft_grouping_category="salgsinntekt",
                      saft_grouping_code="3000"),
            AccountIn(code="4000", name="Innkjøp av varer & <råvarer>"),
            AccountIn(code="6300", name="Leie lokaler"),
            AccountIn(code="9990", name="Internt"),
        ],
    )  # fmt: skip
    service.upsert_master(
        ca,
        "tax_codes",
        [
            TaxCodeIn(code="3", description="Utgående mva 25 %", rate=Decimal(25), standard_tax_code="3",
                      direction="output", account_code="2700"),
            TaxCodeIn(code="1", description="Inngående mva 25 %", rate=Decimal(25), standard_tax_code="1",
                      direction="input", account_code="2710"),
            TaxCodeIn(code="R-15", description="Inngående mva 15 %", rate=Decimal(15), standard_tax_code="11",
                      direction="input", valid_from=date(2020, 1, 1), valid_to=date(2030, 12, 31)),
        ],
    )  # fmt: skip
    service.upsert_master(
        ca,
        "dimensions",
        [
            DimensionIn(type="project", id=1, name="Fjordprosjektet"),
            DimensionIn(type="department", id=2, name="Bergen"),
            DimensionIn(type="bankacc", id=1, name="Driftskonto"),
            DimensionIn(type="tag", id=5, name="Kampanje"),
            DimensionIn(type="asset", id=3, name="Varebil"),
            DimensionIn(type="item", id=4, name="Tjeneste", active=False),
        ],
    )
    service.upsert_master(
        ca,
        "business_partners",
        [
            BusinessPartnerIn(id=88, name="Acme AS", kind="customer", registration_number="923609016",
                              country="NO", email="post@acme.example", address="Storgata 1, 0150 Oslo"),
            BusinessPartnerIn(id=89, name="Leverandøren AS", kind="supplier"),
            BusinessPartnerIn(id=90, name="Begge Deler AS", kind="both"),
        ],
    )  # fmt: skip
    project = {"dimensions": [{"type": "project", "id": 1}]}
    output_vat = {"tax_code": "3", "tax_base_amount": "-10000", "tax_amount": "-2500"}
    eur = {"currency_code": "EUR", "currency_amount": "1000", "exchange_rate": "11.45"}
    entries = [
        {  # last year: only in the opening balances
            "posting_date": "2024-11-02", "description": "Salg 2024",
            "lines": _lines(("1500", "1250", {"relation_type": "businesspartner", "relation_id": 88}),
                            ("3000", "-1000"), ("2700", "-250")),
        },
        {
            "posting_date": "2025-01-10", "description": "Faktura 1001 Acme", "voucher_id": 1001,
            "created_by": {"id": 7, "full_name": "Ola Nordmann"},
            "related_object": {"document_number": "1001", "due_date": "2025-02-09", "payment_ref": "10010012",
                               "business_partner_id": 88, "document_type": "OUTGOING_INVOICE"},
            "lines": _lines(
                ("1500", "12500", {"relation_type": "businesspartner", "relation_id": 88}),
                ("3000", "-10000", project, output_vat, {"description": "Konsulenttjenester"}),
                ("2700", "-2500"),
            ),
        },
        {
            "posting_date": "2025-02-03", "voucher_id": 5001,
            "lines": _lines(
                ("4000", "8000", {"dimensions": [{"type": "department", "id": 2}, {"type": "asset", "id": 3}],
                                  "tax_code": "1", "tax_base_amount": "8000", "tax_amount": "2000"}),
                ("2710", "2000"),
                ("2400", "-10000", {"relation_type": "businesspartner", "relation_id": 89}),
            ),
        },
        {
            "posting_date": "2025-02-09", "description": "Innbetaling Acme",
            "lines": _lines(
                ("1920", "12500", {"relation_type": "bankacc", "relation_id": 1,
                                   "dimensions": [{"type": "tag", "id": 5}]}),
                ("1500", "-12500", {"relation_type": "businesspartner", "relation_id": 88}),
            ),
        },
        {
            "posting_date": "2025-03-01", "description": "Valutakjøp",
            "lines": _lines(
                ("1930", "11450", eur),
                ("1920", "-11450"),
            ),
        },
        {
            "posting_date": "2025-03-15", "description": "Begge veier",
            "lines": _lines(
                ("1500", "500", {"relation_type": "businesspartner", "relation_id": 90}),
                ("2400", "-500", {"relation_type": "businesspartner", "relation_id": 90}),
                ("6300", "0", {"tax_code": "R-15", "tax_base_amount": "100", "description": "Kun grunnlag"}),
            ),
        },
        {
            "posting_date": "2025-04-01", "description": "Husleie april", "voucher_id": 1100,
            "lines": _lines(("6300", "9000", {"dimensions": [{"type": "item", "id": 4}]}), ("1920", "-9000")),
        },
        {
            "posting_date": "2025-05-01", "description": "Utkast", "is_draft": True,
            "lines": _lines(("6300", "1"), ("1920", "-1")),
        },
    ]  # fmt: skip
    result = service.post_entries(
        JournalEntriesIn.model_validate({"client_account_id": ca, "entries": entries})
    )
    rent = next(e for e in result["entries"] if e["voucher_id"] == 1100)
    service.cancel_entry(
        rent["id"], CancelIn(client_account_id=ca, cancel_date=date(2025, 4, 2), reason="Feil")
    )
    return service, service.client_account(ca)


def export(service: LedgerService, account: Any) -> bytes:
    buf = io.BytesIO()
    export_saft(
        service.view(account), buf, date_from=START, date_to=END, created=CREATED, software_version="t"
    )
    return buf.getvalue()


def import_into_fresh(xml: bytes) -> tuple[LedgerService, Any, Any]:
    store, repo = ledger_store(), client_repo()
    outcome = Importer(store, repo).run(
        ImportRequest("org_b", "imp_rt", [Source("rt.xml", len(xml), lambda: io.BytesIO(xml))])
    )
    assert outcome.status == "SUCCEEDED", outcome.errors
    service = LedgerService("org_b", store, repo, publish=lambda _t, _d: None)
    return service, service.client_account(outcome.client_account_id), outcome


def balances(service: LedgerService, account: Any, on: date) -> dict[str, Decimal]:
    view = service.view(account)
    sql = "SELECT account_code, sum(amount) FROM lines WHERE NOT is_draft AND posting_date <= ? GROUP BY 1"
    moves = dict(view.rows(sql, [on]))
    codes = set(view.master.accounts) | set(moves)
    out = {
        c: Decimal(view.master.accounts.get(c, {}).get("opening_balance", 0)) + moves.get(c, 0) for c in codes
    }
    return {c: v for c, v in out.items() if v}


def entries(service: LedgerService, account: Any) -> list[tuple]:
    view = service.view(account)
    rows = view.dicts(
        "SELECT * FROM lines WHERE NOT is_draft AND posting_date BETWEEN ? AND ? "
        "ORDER BY posting_date, sequence_number, line_id",
        [START, END],
    )
    names = {code: a["name"] for code, a in view.master.accounts.items()}
    out: dict[int, list] = {}
    for r in rows:
        dims = set(r["dimensions"] or [])
        if r["relation_type"] and r["relation_type"] != "businesspartner":
            dims.add(f"{r['relation_type']}:{r['relation_id']}")
        line = (
            # SAF-T requires a line description: the entry's, else the account's name stands in.
            r["account_code"], r["debit"], r["credit"],
            r["description"] or r["entry_description"] or names[r["account_code"]],
            r["currency_code"], r["currency_amount"], r["exchange_rate"], r["tax_code"], r["tax_base_amount"],
            (r["tax_amount"] or Decimal("0.00")) if r["tax_code"] else None,  # SAF-T: 0.00 when not stored
            r["relation_id"] if r["relation_type"] == "businesspartner" else None, tuple(sorted(dims)),
            r["ro_document_number"], r["ro_due_date"], r["ro_payment_ref"], r["ro_business_partner_id"],
            r["ro_document_type"], r["created_by_name"],
        )  # fmt: skip
        out.setdefault(r["entry_id"], [r["posting_date"], r["voucher_id"], r["entry_description"], []])[
            3
        ].append(line)
    return [(d, v, desc or f"Bilag {v}", tuple(lines)) for d, v, desc, lines in out.values()]


@pytest.fixture
def original():
    return build_ledger()


def test_the_export_validates_and_follows_the_conventions(original, xsd130):
    service, account = original
    xml = export(service, account)
    doc = assert_valid_130(xsd130, xml)
    ns = {"s": "urn:StandardAuditFile-Taxation-Financial:NO"}
    assert doc.findtext("s:Header/s:AuditFileVersion", namespaces=ns) == "1.30"
    assert doc.findtext("s:Header/s:SelectionCriteria/s:SelectionStartDate", namespaces=ns) == "2025-01-01"
    assert doc.findtext("s:Header/s:Company/s:TaxRegistration/s:TaxRegistrationNumber", namespaces=ns) == (
        "923609016MVA"
    )
    gle = doc.find("s:GeneralLedgerEntries", ns)
    transactions = gle.findall("s:Journal/s:Transaction", ns)
    # 2025 only, no draft; the cancelled rent and its reversal are both posted entries.
    assert int(gle.findtext("s:NumberOfEntries", namespaces=ns)) == len(transactions) == 7
    debit = sum(Decimal(x.text) for x in gle.iterfind(".//s:Line/s:DebitAmount/s:Amount", ns))
    credit = sum(Decimal(x.text) for x in gle.iterfind(".//s:Line/s:CreditAmount/s:Amount", ns))
    assert Decimal(gle.findtext("s:TotalDebit", namespaces=ns)) == debit == credit
    acc1920 = next(
        a for a in doc.iterfind(".//s:Account", ns) if a.findtext("s:AccountID", namespaces=ns) == "1920"
    )
    assert acc1920.findtext("s:OpeningDebitBalance", namespaces=ns) == "50000.00"
    assert (
        acc1920.findtext("s:ClosingDebitBalance", namespaces=ns) == "51050.00"
    )  # 50000 + 12500 - 11450 - 9000 + 9000 (reversal)
    acc1500 = next(
        a for a in doc.iterfind(".//s:Account", ns) if a.findtext("s:AccountID", namespaces=ns) == "1500"
    )
    assert acc1500.findtext("s:OpeningDebitBalance", namespaces=ns) == "1250.00"  # the 2024 sale
    assert acc1500.findtext("s:GroupingCategory", namespaces=ns) == "balanseverdiForOmloepsmiddel"
    assert doc.findtext(
        ".//s:Customer[s:CustomerID='88']/s:BalanceAccount/s:OpeningDebitBalance", namespaces=ns
    ) == ("1250.00")
    assert doc.find(".//s:Supplier[s:SupplierID='90']", ns) is not None  # "both": a customer and a supplier
    sale = next(t for t in transactions if t.findtext("s:TransactionID", namespaces=ns) == "1001")
    assert sale.findtext("s:SourceID", namespaces=ns) == "Ola Nordmann"
    assert sale.findtext("s:Line[2]/s:TaxInformation/s:CreditTaxAmount/s:Amount", namespaces=ns) == "2500.00"
    assert sale.findtext("s:Line[2]/s:TaxInformation/s:TaxBase", namespaces=ns) == "10000.00"
    assert sale.findtext("s:Line[2]/s:Analysis/s:AnalysisType", namespaces=ns) == "PRO"
    assert sale.findtext("s:Line[1]/s:CustomerID", namespaces=ns) == "88"
    fx = next(t for t in transactions if t.findtext("s:Description", namespaces=ns) == "Valutakjøp")
    assert fx.findtext("s:Line[1]/s:DebitAmount/s:CurrencyAmount", namespaces=ns) == "1000.00"
    assert file_name("923609016", CREATED) == "SAF-T Financial_923609016_20260115083000_1_1.xml"


def test_import_of_the_export_gives_back_the_same_balances_and_entries(original):
    service, account = original
    xml = export(service, account)
    copy, copied, outcome = import_into_fresh(xml)
    assert outcome.warnings == []  # the exported file reconciles
    assert copied.registration_number == account.registration_number and copied.name == account.name
    assert balances(copy, copied, END) == balances(service, account, END)
    assert balances(copy, copied, date(2024, 12, 31)) == balances(service, account, date(2024, 12, 31))
    assert entries(copy, copied) == entries(service, account)
    master, again = service.view(account).master, copy.view(copied).master
    assert {k: (v["name"], v["kind"], v.get("email"), v.get("address"), v.get("country"))
            for k, v in master.business_partners.items()} == {
        k: (v["name"], v["kind"], v.get("email"), v.get("address"), v.get("country"))
        for k, v in again.business_partners.items()}  # fmt: skip
    assert {k: (v["type"], v["id"], v["name"], v["active"]) for k, v in master.dimensions.items()} == {
        k: (v["type"], v["id"], v["name"], v["active"]) for k, v in again.dimensions.items()
    }
    keys = ("rate", "standard_tax_code", "direction", "valid_from", "valid_to", "description")
    assert {k: [v[x] for x in keys] for k, v in master.tax_codes.items()} == {
        k: [v[x] for x in keys] for k, v in again.tax_codes.items()
    }


def _stable(xml: bytes) -> bytes:
    """The file without what legitimately differs between two exports of the same books."""
    return re.sub(rb"<BatchID>[^<]*</BatchID>|<SystemID>[^<]*</SystemID>", b"", xml)


def test_exporting_the_imported_ledger_gives_the_same_file(original):
    service, account = original
    xml = export(service, account)
    copy, copied, _ = import_into_fresh(xml)
    assert _stable(export(copy, copied)) == _stable(xml)


def test_official_example_round_trip_keeps_the_saft_ids(xsd130):
    data = EXAMPLE_888.read_bytes()
    store, repo = ledger_store(), client_repo()
    outcome = Importer(store, repo).run(
        ImportRequest("o", "i", [Source("888", len(data), lambda: io.BytesIO(data))])
    )
    view = open_view(store, "o", repo.get("o", outcome.client_account_id))
    buf = io.BytesIO()
    export_saft(view, buf, date_from=date(2017, 1, 1), date_to=date(2017, 4, 30), created=CREATED,
                software_version="t")  # fmt: skip
    doc = assert_valid_130(xsd130, buf.getvalue())
    ns = {"s": "urn:StandardAuditFile-Taxation-Financial:NO"}
    original = etree.parse(str(EXAMPLE_888))
    ons = {"s": "urn:StandardAuditFile-Taxation-Financial:NO"}

    def ids(tree: Any, path: str, nsmap: dict) -> set[str]:
        return {x.text for x in tree.iterfind(path, nsmap)}

    for path in (".//s:Customer/s:CustomerID", ".//s:Supplier/s:SupplierID", ".//s:TaxCodeDetails/s:TaxCode",
                 ".//s:AnalysisTypeTableEntry/s:AnalysisType", ".//s:AnalysisTypeTableEntry/s:AnalysisID",
                 ".//s:Transaction/s:TransactionID", ".//s:Account/s:AccountID", ".//s:Line/s:CustomerID",
                 ".//s:Line/s:SupplierID"):  # fmt: skip
        assert ids(doc, path, ns) == ids(original, path, ons), path
    # Both versions of tax code 3 (2006-2007 at 14 %, from 2008 at 15 %) are kept.
    versions = {
        (d.findtext("s:EffectiveDate", namespaces=ns), d.findtext("s:TaxPercentage", namespaces=ns))
        for d in doc.iterfind(".//s:TaxCodeDetails", ns)
        if d.findtext("s:TaxCode", namespaces=ns) == "3"
    }
    assert versions == {("2008-01-01", "15"), ("2006-01-01", "14")}
    std = {d.findtext("s:TaxCode", namespaces=ns): d.findtext("s:StandardTaxCode", namespaces=ns)
           for d in doc.iterfind(".//s:TaxCodeDetails", ns)}  # fmt: skip
    assert std["1R"] == "11" and std["2"] == "3" and std["4"] == "21"
    # Analysis types map to dimension types: A (Avdeling) → department, P (Prosjekt) → project.
    master = view.master
    assert master.dimensions["department:102"]["name"] == "Produksjon"
    assert master.dimensions["project:202"]["name"] == "Søte kosebamser"
    assert master.dimensions["project:89"]["active"] is False


def test_fiscal_periods_follow_the_client_accounts_fiscal_year():
    assert fiscal_period(date(2025, 3, 1), 1) == (3, 2025)
    assert fiscal_period(date(2025, 3, 1), 7) == (9, 2024)
    assert fiscal_period(date(2025, 7, 1), 7) == (1, 2025)
