"""The exporter's text path: the same file whatever the chunking, fallbacks and view, and exact escaping."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

import pytest
from lxml import etree

from saldo.errors import Unprocessable
from saldo.ledger.models import JournalEntriesIn
from saldo.ledger.query import stream_view
from saldo.saft import NAMESPACE, exporter
from saldo.saft.exporter import _date_ranges, export_saft
from saldo.saft.writer import LONG, MIDDLE1, TransactionText, element, neg, text
from tests.saft.conftest import assert_valid_130
from tests.saft.test_roundtrip import build_ledger

START, END = date(2025, 1, 1), date(2025, 12, 31)
NS = {"s": NAMESPACE}
ODD = [
    "a&b<c>d\"e'f\rg\nh\ti",
    "  lead and trail  ",
    " ",
    "\x01\x1f\x0b",
    "]]>",
    "\u2028\xa0nbsp\xa0",
    "Æøå " * 100,
    "\x85 y \x85",
    "&amp;",
    "x" * 300,
]


def _export(view: Any, start: date = START, end: date = END) -> bytes:
    buf = io.BytesIO()
    export_saft(view, buf, date_from=start, date_to=end, created=datetime(2026, 1, 15), software_version="t")
    return buf.getvalue()


@pytest.fixture
def ledger() -> tuple[Any, Any]:
    service, account = build_ledger()
    # Two more entries on one voucher number: the second gets `<voucher>-<entry id>`, and odd texts.
    entries = [
        {
            "posting_date": "2025-06-0" + str(n + 1),
            "voucher_id": 7,
            "description": text_,
            "related_object": {"document_number": text_[:64], "payment_ref": "<&>"},
            "lines": [
                {"account_code": "1920", "debit": "10.00", "description": text_},
                {"account_code": "3000", "credit": "10.00", "tax_code": "3", "tax_base_amount": "0.00"},
            ],
        }
        for n, text_ in enumerate(("a&b<c>d\"e'f g\nh\ti", "  lead and trail  "))  # (a CR cannot be stored)
    ]
    ca = account.id
    service.post_entries(JournalEntriesIn.model_validate({"client_account_id": ca, "entries": entries}))
    return service, service.client_account(ca)


def test_stream_view_chunks_and_fallbacks_give_the_same_file(ledger, xsd130, monkeypatch):
    service, account = ledger
    xml = _export(service.view(account))
    doc = assert_valid_130(xsd130, xml)
    ids = [t.text for t in doc.iterfind(".//s:Transaction/s:TransactionID", NS)]
    assert ids.count("7") == 1 and any(i.startswith("7-") for i in ids)
    assert b"<ReferenceNumber>a&amp;b&lt;c&gt;d\"e'f g\nh\ti</ReferenceNumber>" in xml
    assert b"<Description>lead and trail</Description>" in xml
    assert b"<TaxBase>0.00</TaxBase>" in xml  # a zero base on a credit line has no sign
    streamed = stream_view(service.store, service.store.manifest("org_a", account.id), account)
    assert _export(streamed) == xml
    # One sorted query per day and small fetches, and no head on line 1 (each entry's head looked up).
    monkeypatch.setattr(exporter, "SORT_LINES", 1)
    monkeypatch.setattr(exporter, "FETCH", 2)
    no_heads = exporter.LINE_SQL.replace("WHEN line_id = 1", "WHEN line_id = 0")
    monkeypatch.setattr(exporter, "LINE_SQL", no_heads)
    looked_up = []
    first_head = exporter._first_head
    monkeypatch.setattr(exporter, "_first_head", lambda *a: looked_up.append(a) or first_head(*a))
    assert _export(service.view(account)) == xml
    assert len(looked_up) == len(ids)


def test_an_empty_period_has_no_journal(ledger, xsd130):
    service, account = ledger
    doc = assert_valid_130(xsd130, _export(service.view(account), date(2030, 1, 1), date(2030, 12, 31)))
    assert doc.find(".//s:Journal", NS) is None
    assert doc.findtext("s:GeneralLedgerEntries/s:NumberOfEntries", namespaces=NS) == "0"


def test_date_ranges_hold_at_most_the_given_lines_and_never_split_a_day():
    d = [(date(2025, 1, n), c) for n, c in enumerate([3, 3, 9, 1, 1, 2], start=1)]
    assert _date_ranges(d, 6) == [
        (date(2025, 1, 1), date(2025, 1, 2)),
        (date(2025, 1, 3), date(2025, 1, 3)),
        (date(2025, 1, 4), date(2025, 1, 6)),
    ]
    assert _date_ranges(d, 100) == [(date(2025, 1, 1), date(2025, 1, 6))]
    assert _date_ranges([], 5) == []


@pytest.mark.parametrize("value", ODD)
def test_text_is_fitted_and_escaped_as_libxml2_writes_it(value):
    for max_len in (MIDDLE1, LONG):
        el = etree.Element("Description")
        el.text = text(value, max_len)
        assert element("Description", value, max_len) == etree.tostring(el, encoding="unicode")
    tt = TransactionText()
    line = tt.line("1", "<AccountID>1920</AccountID>", value, False, "5.00", reference=value, cid=value)
    parsed = etree.fromstring(line)
    assert parsed.findtext("Description") == text(value, LONG)
    assert parsed.findtext("ReferenceNumber") == parsed.findtext("CID") == text(value, MIDDLE1)
    assert parsed.findtext("CreditAmount/Amount") == "5.00"


def test_negation_of_amounts_written_as_text():
    assert [neg(x) for x in ("5.00", "-5.00", "0.00", "0", "-0.01")] == ["-5.00", "5.00", "0.00", "0", "0.01"]


def test_totals_beyond_the_schemas_18_digits_refuse_the_export_before_writing(ledger, xsd130):
    service, account = ledger
    top = "999999999999999.99"  # the largest amount the ledger takes; eleven of them sum to 19 digits
    entries = [
        {
            "posting_date": "2025-08-01",
            "lines": [{"account_code": "1920", "debit": top}, {"account_code": "2050", "credit": top}],
        }
        for _ in range(11)
    ]
    ca = account.id
    service.post_entries(JournalEntriesIn.model_validate({"client_account_id": ca, "entries": entries[:9]}))
    assert_valid_130(xsd130, _export(service.view(account)))  # nine (and the rest) fit in 18 digits
    service.post_entries(JournalEntriesIn.model_validate({"client_account_id": ca, "entries": entries[9:]}))
    buf = io.BytesIO()
    with pytest.raises(Unprocessable, match=r"TotalDebit would be 1\d{16}\.\d\d \(19 digits\).*at most 18"):
        export_saft(
            service.view(account), buf, date_from=START, date_to=END, created=datetime(2026, 1, 15),
            software_version="t",
        )  # fmt: skip
    assert buf.getvalue() == b""
    # A period after the big one: the totals are small, but the balances carried in are too long.
    with pytest.raises(Unprocessable, match="opening balance of account 1920"):
        _export(service.view(account), date(2026, 1, 1), date(2026, 12, 31))
