"""The ledger rows an import writes: value for value the rows of the reference builder below (the row
builder the import used before it wrote segments from SQL), in segments of bounded size, in one commit."""

from __future__ import annotations

import io
import tempfile
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from lxml import etree

from saldo.ledger.masterdata import MasterData
from saldo.ledger.schema import LINE_NAMES
from saldo.ledger.segments import write_lines
from saldo.saft import importer
from saldo.saft.importer import DOC_TYPE_RE, RATE_Q, Importer, ImportRequest, Maps, apply_master
from saldo.saft.mapping import natural_id
from saldo.saft.model import Line, Transaction
from saldo.saft.parser import SaftParser
from saldo.saft.safety import Source, expand
from tests.saft.conftest import EXAMPLE_888
from tests.saft.generate import generate
from tests.saft.stores import client_repo, ledger_objects, ledger_store

NS = "urn:StandardAuditFile-Taxation-Financial:NO"
S = {"s": NS}
ZERO = Decimal("0.00")

# Children in schema order (1.30), to insert elements where the XSD wants them.
LINE_ORDER = [
    "RecordID",
    "AccountID",
    "Analysis",
    "ValueDate",
    "SourceDocumentID",
    "CustomerID",
    "SupplierID",
    "Description",
    "DebitAmount",
    "CreditAmount",
    "TaxInformation",
    "ReferenceNumber",
    "CID",
    "DueDate",
    "Quantity",
    "CrossReference",
    "SystemEntryTime",
    "OwnerID",
]
TX_ORDER = [
    "TransactionID",
    "Period",
    "PeriodYear",
    "TransactionDate",
    "SourceID",
    "VoucherType",
    "VoucherDescription",
    "TransactionType",
    "Description",
    "BatchID",
    "SystemEntryDate",
    "GLPostingDate",
    "ModificationDate",
    "CustomerID",
    "SupplierID",
    "SystemID",
    "Line",
]


# ------------------------------------------------------------------ the reference rows
def _unique(values: list[Any]) -> Any:
    found = {v for v in values if v is not None}
    return found.pop() if len(found) == 1 else None


def _rate(line: Line) -> Decimal:
    rate = line.exchange_rate
    if rate is None and line.currency_amount:
        rate = line.amount / line.currency_amount
    return (rate or Decimal(1)).quantize(RATE_Q, ROUND_HALF_EVEN)


def reference_rows(
    tx: Transaction,
    maps: Maps,
    currency: str,
    *,
    entry_id: int,
    first_line_uid: int,
    sequence: int,
    batch_id: str,
    created_at: datetime,
) -> list[dict[str, Any]]:
    partners = []
    for line in tx.lines:
        if line.customer_id:
            partners.append(maps.customers.get(line.customer_id))
        elif line.supplier_id:
            partners.append(maps.suppliers.get(line.supplier_id))
        else:
            partners.append(None)
    entry_ref = _unique([ln.reference_number for ln in tx.lines])
    entry_partner = _unique(partners) if entry_ref is not None else None
    entry_due = _unique([ln.due_date for ln in tx.lines])
    entry_cid = _unique([ln.cid for ln in tx.lines])
    voucher = natural_id(tx.id)
    user_id = maps.users.get(tx.source_id) if tx.source_id else None
    doc_type = tx.voucher_type if tx.voucher_type and DOC_TYPE_RE.match(tx.voucher_type) else None
    rows = []
    for n, line in enumerate(tx.lines, start=1):
        amount = line.amount
        foreign = bool(line.currency_code) and line.currency_code != currency
        tax = next((t for t in line.taxes if t.code), None)
        partner = partners[n - 1]
        dims: list[str] = []
        for a in line.analysis:
            key = maps.dimensions.get((a.type, a.id))
            if key and key not in dims:
                dims.append(key)
        rows.append(
            {
                "line_uid": first_line_uid + n - 1,
                "line_id": n,
                "entry_id": entry_id,
                "entry_version": 1,
                "sequence_number": sequence,
                "voucher_id": voucher if voucher is not None else sequence,
                "posting_date": tx.date,
                "account_code": maps.account(line.account_id),
                "description": line.description[:512] or None,
                "entry_description": tx.description[:512] or None,
                "debit": amount if amount > 0 else ZERO,
                "credit": -amount if amount < 0 else ZERO,
                "currency_code": line.currency_code if foreign else currency,
                "currency_amount": (line.currency_amount if line.currency_amount is not None else amount)
                if foreign
                else amount,
                "exchange_rate": _rate(line) if foreign else Decimal(1),
                "tax_code": maps.tax_code(tax.code) if tax and tax.code else None,
                "tax_base_amount": tax.base.quantize(Decimal("0.01"))
                if tax and tax.base is not None
                else None,
                "tax_amount": tax.amount if tax and tax.amount is not None else (ZERO if tax else None),
                "relation_type": "businesspartner" if partner is not None else None,
                "relation_id": partner,
                "dimensions": dims,
                "is_draft": False,
                "created_by_id": user_id,
                "created_by_name": tx.source_id[:256] if tx.source_id else None,
                "ro_id": None,
                "ro_document_number": (line.reference_number or entry_ref or "")[:64] or None,
                "ro_document_date": None,
                "ro_due_date": line.due_date or entry_due,
                "ro_payment_ref": (line.cid or entry_cid or "")[:64] or None,
                "ro_document_type": doc_type,
                "ro_business_partner_id": entry_partner,
                "reversal_of": None,
                "batch_id": batch_id,
                "created_at": created_at,
                "voucher_type": tx.voucher_type or None,
                "line_due_date": line.due_date,
            }
        )
    return rows


# ------------------------------------------------------------------ a file with the unusual cases
def _el(name: str, text: str | None = None, *children: Any) -> Any:
    el = etree.Element(f"{{{NS}}}{name}")
    el.text = text
    for child in children:
        el.append(child)
    return el


def _put(parent: Any, child: Any, order: list[str]) -> None:
    """Insert `child` after the last sibling that comes before it in the schema's order."""
    rank = order.index(etree.QName(child).localname)
    at = 0
    for i, sibling in enumerate(parent):
        if order.index(etree.QName(sibling).localname) <= rank:
            at = i + 1
    parent.insert(at, child)


def _amount_el(line: Any) -> Any:
    debit = line.find("s:DebitAmount", S)
    return debit if debit is not None else line.find("s:CreditAmount", S)


def tricky_file(transactions: int = 40, regno: str = "923609016", first_id: int = 1) -> bytes:
    """A generated 1.30 file with what the common files lack: foreign currencies (with and without a rate,
    lower case, the client account's own), several taxes and analyses on a line, repeated analyses, text
    that needs quoting, surrounding blanks, non-numeric and lower-case codes, references, CIDs and due
    dates shared or not by a voucher's lines, a voucher with a customer and a supplier."""
    buf = io.BytesIO()
    generate(buf, transactions, regno=regno)
    root = etree.fromstring(buf.getvalue())
    txs = root.findall(".//s:Transaction", S)
    for k, tx in enumerate(txs):
        tx.find("s:TransactionID", S).text = str(first_id + k)
    lines = [tx.findall("s:Line", S) for tx in txs]
    # currencies
    amount = _amount_el(lines[0][0])
    value = Decimal(amount.findtext("s:Amount", namespaces=S))
    amount.extend(
        [_el("CurrencyCode", "eur"), _el("CurrencyAmount", str((value / Decimal("11.5")).quantize(ZERO)))]
    )
    amount.append(_el("ExchangeRate", "11.51234567"))
    amount = _amount_el(lines[1][0])
    value = Decimal(amount.findtext("s:Amount", namespaces=S))
    amount.extend([_el("CurrencyCode", "USD"), _el("CurrencyAmount", str((value / 3).quantize(ZERO)))])
    amount = _amount_el(lines[2][1])
    amount.extend(
        [_el("CurrencyCode", "NOK"), _el("CurrencyAmount", amount.findtext("s:Amount", namespaces=S))]
    )
    # taxes: a second TaxInformation, a base with three decimals, one without a code
    tax = lines[3][0].find("s:TaxInformation", S)
    if tax is None:
        tax = lines[3][1].find("s:TaxInformation", S)
    line = tax.getparent()
    tax.find("s:TaxBase", S).text = "100.005"
    second = etree.fromstring(etree.tostring(tax))
    second.find("s:TaxCode", S).text = "1"
    _put(line, second, LINE_ORDER)
    nocode = etree.fromstring(etree.tostring(tax))
    nocode.remove(nocode.find("s:TaxCode", S))
    _put(lines[5][2], nocode, LINE_ORDER)
    # analyses: the same one twice, and two types on one line
    for line in (lines[6][0], lines[7][1]):
        for a_type, a_id in (("AVD", "2"), ("AVD", "2"), ("PRO", "3")):
            _put(
                line, _el("Analysis", None, _el("AnalysisType", a_type), _el("AnalysisID", a_id)), LINE_ORDER
            )
    # text that needs quoting, blanks around ids, a newline
    lines[8][0].find("s:Description", S).text = ' Kjøp, "diverse";\nlinje | to \t'
    txs[8].find("s:Description", S).text = 'Bilag, med "sitat"\r\nog linjeskift'
    lines[9][0].find("s:AccountID", S).text = " 1500 "
    lines[9][0].find("s:RecordID", S).text = " 1 "
    # ids and codes
    txs[10].find("s:TransactionID", S).text = f"A-{first_id + 10}"
    for tx, (source, voucher_type) in zip(
        txs[11:16],
        [("Kari", "invoice"), ("Ola Nordmann", "CREDIT_NOTE"), (" ", "X"), ("Kari", None), ("Per", "BANK")],
        strict=True,
    ):
        _put(tx, _el("SourceID", source), TX_ORDER)
        if voucher_type:
            _put(tx, _el("VoucherType", voucher_type), TX_ORDER)
    # references, CIDs and due dates: shared by a voucher's lines, or not
    for line in lines[16]:
        _put(line, _el("CID", "12345678903"), LINE_ORDER)
        _put(line, _el("DueDate", "2025-03-01"), LINE_ORDER)
    _put(lines[17][0], _el("CID", "111"), LINE_ORDER)
    _put(lines[17][1], _el("CID", "222"), LINE_ORDER)
    _put(lines[17][2], _el("DueDate", "2025-04-01"), LINE_ORDER)
    # a voucher with a customer and a supplier and one reference
    first, _, last = lines[18]
    for el in first.findall("s:CustomerID", S) + first.findall("s:SupplierID", S):
        first.remove(el)
    _put(first, _el("CustomerID", "K1"), LINE_ORDER)
    if last.find("s:SupplierID", S) is None:
        _put(last, _el("SupplierID", "L1"), LINE_ORDER)
    for line in lines[18]:
        ref = line.find("s:ReferenceNumber", S)
        if ref is None:
            _put(line, _el("ReferenceNumber", "R-18"), LINE_ORDER)
        else:
            ref.text = "R-18"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# ------------------------------------------------------------------ helpers
CREATED_AT = LINE_NAMES.index("created_at")


def segment_rows(store: Any, keys: list[str]) -> tuple[list[tuple], list[tuple]]:
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, key in enumerate(keys):
            path = Path(tmp) / f"{i}.parquet"
            store.blobs.download(key, path)
            paths.append(str(path))
        con = duckdb.connect()
        rows = con.execute("SELECT * FROM read_parquet(?) ORDER BY line_uid", [paths]).fetchall()
        schema = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [paths]).fetchall()
        con.close()
    return rows, schema


def written_reference(rows: list[dict[str, Any]]) -> tuple[list[tuple], list[tuple]]:
    """The reference rows as the dict writer stores them (the same types and scales as a segment)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ref.parquet"
        write_lines(rows, path)
        con = duckdb.connect()
        out = con.execute("SELECT * FROM read_parquet(?) ORDER BY line_uid", [str(path)]).fetchall()
        schema = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
        con.close()
    return out, schema


def run(store: Any, repo: Any, data: bytes, import_id: str = "imp_1", **request: Any) -> Any:
    source = Source("upload.xml", len(data), lambda: io.BytesIO(data))
    return Importer(store, repo).run(ImportRequest("org", import_id, [source], **request))


def expected_rows(
    data: bytes, master: MasterData, counters: Any, currency: str, import_id: str, created_at: datetime
) -> list[dict[str, Any]]:
    parts = expand([Source("upload.xml", len(data), lambda: io.BytesIO(data))])
    collector, spill, _sha = Importer(ledger_store(), client_repo()).parse(parts)
    spill.delete()
    maps = apply_master(collector, master.copy(), set_opening=True, import_record={})
    entry, uid, seq = counters.next_entry_id, counters.next_line_uid, counters.next_sequence
    out: list[dict[str, Any]] = []
    for kind, tx in SaftParser(io.BytesIO(data), name="upload.xml", flatten=False):
        if kind != "transaction":
            continue
        out += reference_rows(
            tx,
            maps,
            currency,
            entry_id=entry,
            first_line_uid=uid,
            sequence=seq,
            batch_id=f"saft:{import_id}",
            created_at=created_at,
        )
        entry, seq, uid = entry + 1, seq + 1, uid + len(tx.lines)
    return out


# ------------------------------------------------------------------ tests
@pytest.mark.parametrize("segment_lines", [importer.SEGMENT_LINES, 7])
def test_the_rows_are_the_reference_rows_in_segments_of_bounded_size(monkeypatch, segment_lines):
    monkeypatch.setattr(importer, "SEGMENT_LINES", segment_lines)
    data = tricky_file()
    store, repo = ledger_store(), client_repo()
    outcome = run(store, repo, data)
    assert outcome.status == "SUCCEEDED", outcome.errors
    manifest = store.manifest("org", outcome.client_account_id)
    assert manifest.version == 1  # one commit
    keys = manifest.segment_keys("lines")
    segments = [s for s in manifest.segments if s.kind == "lines"]
    assert sum(s.rows for s in segments) == outcome.counts["lines"] == 120
    if segment_lines == 7:
        assert len(keys) > 10  # a chunk ends at the voucher that reaches 7 lines
        assert all(s.rows <= 7 + 2 for s in segments)
    else:
        assert len(keys) == 1
    rows, schema = segment_rows(store, keys)
    account = repo.get("org", outcome.client_account_id)
    reference = expected_rows(
        data, MasterData(), type(manifest.counters)(), account.currency, "imp_1", rows[0][CREATED_AT]
    )
    want, want_schema = written_reference(reference)
    assert schema == want_schema
    assert rows == want
    # the unusual cases are there
    by_column = {name: [r[i] for r in rows] for i, (name, *_rest) in enumerate(schema)}
    assert {"EUR", "USD", "NOK"} <= set(by_column["currency_code"])
    assert Decimal("11.512346") in by_column["exchange_rate"]
    assert Decimal("100.00") in by_column["tax_base_amount"]
    assert any(len(d) == 2 for d in by_column["dimensions"])
    assert any(r and "\n" in r for r in by_column["description"])
    assert "INVOICE" not in by_column["ro_document_type"] and "CREDIT_NOTE" in by_column["ro_document_type"]


def test_a_second_import_continues_the_counters_and_the_saft_ids(monkeypatch):
    monkeypatch.setattr(importer, "SEGMENT_LINES", 25)
    store, repo = ledger_store(), client_repo()
    first = run(store, repo, tricky_file(20))
    assert first.status == "SUCCEEDED", first.errors
    before = store.manifest("org", first.client_account_id)
    data = tricky_file(30, first_id=1001)
    second = run(store, repo, data, import_id="imp_2", allow_overlap=True)
    assert second.status == "SUCCEEDED", second.errors
    after = store.manifest("org", first.client_account_id)
    assert after.version == before.version + 1
    new = [s.key for s in after.segments if s.key not in {b.key for b in before.segments}]
    assert len(new) > 1
    rows, _schema = segment_rows(store, new)
    account = repo.get("org", first.client_account_id)
    reference = expected_rows(
        data, store.master(before), before.counters, account.currency, "imp_2", rows[0][CREATED_AT]
    )
    want, _ = written_reference(reference)
    assert rows == want
    assert rows[0][0] == before.counters.next_line_uid and rows[0][2] == before.counters.next_entry_id


def test_the_official_example_rows():
    data = EXAMPLE_888.read_bytes()  # 1.10: unsided tax amounts, flat party balances
    store, repo = ledger_store(), client_repo()
    outcome = run(store, repo, data)
    assert outcome.status == "SUCCEEDED", outcome.errors
    manifest = store.manifest("org", outcome.client_account_id)
    rows, _schema = segment_rows(store, manifest.segment_keys("lines"))
    account = repo.get("org", outcome.client_account_id)
    reference = expected_rows(
        data, MasterData(), type(manifest.counters)(), account.currency, "imp_1", rows[0][CREATED_AT]
    )
    want, _ = written_reference(reference)
    assert rows == want


def test_a_commit_that_fails_leaves_no_segment_behind(monkeypatch):
    monkeypatch.setattr(importer, "SEGMENT_LINES", 7)
    store, repo = ledger_store(), client_repo()

    def refuse(manifest: Any, expected_version: int) -> None:
        raise RuntimeError("the manifest table is unavailable")

    monkeypatch.setattr(store.manifests, "save", refuse)
    with pytest.raises(RuntimeError, match="unavailable"):
        run(store, repo, tricky_file())
    assert not [k for k in ledger_objects() if "/lines/" in k or "/master/" in k]
