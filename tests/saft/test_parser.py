"""The streaming parser: versions, sign conventions, schema errors, and memory that does not grow."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
from lxml import etree

from saldo.saft import SaftError
from saldo.saft.parser import SaftParser
from tests.conftest import ROOT
from tests.saft.conftest import EXAMPLE_888, EXAMPLE_999, EXAMPLE_XMLSPY, XSD_130
from tests.saft.generate import generate


def records(data: bytes) -> dict[str, list]:
    out: dict[str, list] = {}
    for kind, rec in SaftParser(io.BytesIO(data), name="t.xml"):
        out.setdefault(kind, []).append(rec)
    return out


def small_130(transactions: int = 4) -> bytes:
    buf = io.BytesIO()
    generate(buf, transactions)
    return buf.getvalue()


def test_official_example_888888888_as_version_110():
    parser = SaftParser(io.BytesIO(EXAMPLE_888.read_bytes()), name="888.xml")
    got = Counter(kind for kind, _ in parser)
    assert parser.raw_version == "1.0"
    assert parser.version == "1.10"
    assert got == {
        "header": 1, "account": 22, "customer": 6, "supplier": 6, "tax_code": 9, "analysis": 8,
        "totals": 1, "transaction": 53,
    }  # fmt: skip


def test_signs_follow_the_debit_and_credit_elements():
    rec = records(EXAMPLE_888.read_bytes())
    header = rec["header"][0]
    assert (header.registration_number, header.period_start, header.period_end) == (
        "888888888",
        (1, 2017),
        (4, 2017),
    )
    tx = rec["transaction"][0]
    assert (tx.id, tx.date, tx.journal_id) == ("1001", date(2017, 1, 4), "123ABC")
    cost, payable, vat = tx.lines
    assert cost.amount == Decimal("10000.00") and payable.amount == Decimal("-12500.00")
    assert payable.supplier_id == "2002" and vat.account_id == "2710"
    # 1.10/1.20 TaxAmount has no side of its own: it takes the line's (a debit line here).
    assert cost.taxes[0].code == "1" and cost.taxes[0].amount == Decimal("2500.00")
    assert cost.taxes[0].base == Decimal("10000")
    accounts = {a.id: a for a in rec["account"]}
    assert accounts["2000"].opening == Decimal("-225000.00")  # OpeningCreditBalance
    assert accounts["3000"].closing == Decimal("-2316338.00")
    assert accounts["1250"].standard_account_id == "12"
    customer = next(p for p in rec["customer"] if p.id == "1000")
    assert customer.balances[0].account_id == "1500" and customer.balances[0].opening == Decimal("32000.00")
    tax3 = [t for t in rec["tax_code"] if t.code == "3"]
    assert sorted(str(t.effective_date) for t in tax3) == ["2006-01-01", "2008-01-01"]


def test_version_130_balance_accounts_and_sided_tax_amounts():
    rec = records(small_130(4))
    assert rec["header"][0].version == "1.30"
    customer = rec["customer"][0]
    assert customer.balances[0].account_id == "1500"
    sale = rec["transaction"][0]
    revenue = sale.lines[1]
    assert revenue.amount < 0
    assert revenue.taxes[0].amount < 0  # CreditTaxAmount
    assert revenue.taxes[0].base == revenue.amount  # TaxBase takes the line's side
    assert revenue.analysis[0].type == "AVD"
    purchase = rec["transaction"][1]
    assert purchase.lines[0].taxes[0].amount > 0  # DebitTaxAmount


def test_999999999_flat_party_balances_and_owners():
    rec = records(EXAMPLE_999.read_bytes())
    supplier = rec["supplier"][0]
    assert supplier.balances[0].account_id == "2400"
    assert supplier.balances[0].closing == Decimal("-12345.67")
    assert len(rec["owner"]) == 2
    assert rec["transaction"][0].source_id == "1234"


def test_schema_errors_abort_with_the_element_named():
    data = small_130(2).replace(b"<AccountType>GL</AccountType>", b"<AccountType>XX</AccountType>", 1)
    with pytest.raises(SaftError) as err:
        records(data)
    assert err.value.code == "schema"
    assert "AccountType" in err.value.message
    assert "1.30 schema" in err.value.message


def test_a_130_file_must_not_use_120_elements():
    data = small_130(2).replace(
        b"<GroupingCategory>", b"<StandardAccountID>19</StandardAccountID><GroupingCategory>", 1
    )
    with pytest.raises(SaftError, match="StandardAccountID"):
        records(data)


def test_unsupported_version_and_missing_namespace():
    data = small_130(1).replace(b"<AuditFileVersion>1.30<", b"<AuditFileVersion>2.0<")
    with pytest.raises(SaftError) as err:
        records(data)
    assert err.value.code == "unsupported_version"
    with pytest.raises(SaftError, match="namespace"):
        records(EXAMPLE_XMLSPY.read_bytes())  # the official 1.30 dummy lacks the default namespace


@pytest.mark.parametrize("cut", ["truncated", "mismatched"])
def test_a_file_that_is_not_well_formed_never_passes_as_a_shorter_one(cut):
    data = small_130(3)
    bad = data[: len(data) - 200] if cut == "truncated" else data.replace(b"</RecordID>", b"</RecordIDx>", 2)
    with pytest.raises(SaftError) as err:
        for _ in SaftParser(io.BytesIO(bad), name="t.xml", reopen=lambda: io.BytesIO(bad)):
            pass
    assert err.value.code == "not_xml"
    assert ("Premature end" if cut == "truncated" else "tag mismatch") in err.value.message
    with pytest.raises(SaftError, match=r"ends before </AuditFile>|not well-formed"):
        records(data[: len(data) - 200])  # without a way to re-read the file the message is shorter


CHILD = """
import json, os, resource, sys, time
from saldo.saft import validation
from saldo.saft.importer import Importer
from saldo.saft.safety import Source, expand
from tests.saft.stores import client_repo, ledger_store

PAGE = os.sysconf("SC_PAGE_SIZE")
samples = []
add = validation.Collector.add_transaction

def sampling_add(self, tx, stats):
    if self.transactions % 50 == 0:
        with open("/proc/self/statm") as fh:
            samples.append(int(fh.read().split()[1]) * PAGE)
    add(self, tx, stats)

validation.Collector.add_transaction = sampling_add
path = sys.argv[1]
size = os.path.getsize(path)
started = time.perf_counter()
collector, spill, _sha = Importer(ledger_store(), client_repo()).parse(
    expand([Source(path, size, lambda: open(path, "rb"))])
)
seconds = time.perf_counter() - started
spill.delete()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
reader = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the reader process (XML tree, XSD)
growth = max(samples) - samples[0]
count = collector.transactions
out = {"growth": growth, "rss_kb": peak, "reader_kb": reader, "seconds": seconds, "transactions": count}
print(json.dumps(out))
"""


def test_memory_stays_flat_as_the_file_grows(tmp_path):
    """The one larger file (a few MB): the parse phase (reader process with iterparse + XSD, checks and
    spill here) runs in a fresh process, sampling its resident memory every 50 vouchers; it stays flat,
    where keeping the tree would add several times the file's size, and so does the reader's peak."""

    def run(transactions: int) -> tuple[dict, int]:
        path = tmp_path / f"f{transactions}.xml"
        with path.open("wb") as fh:
            generate(fh, transactions)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "SALDO_CACHE_DIR": str(tmp_path / "cache")}
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(path)],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            check=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1]), path.stat().st_size

    small, _small_size = run(300)
    big, big_size = run(3000)
    assert big["transactions"] == 3000 and big_size > 3_000_000
    print(
        f"parse: {big_size / big['seconds'] / 1e6:.1f} MB/s, RSS growth while parsing "
        f"{big['growth'] / 1e6:.1f} MB ({small['growth'] / 1e6:.1f} MB for a file a tenth the size), "
        f"peak RSS {big['rss_kb'] // 1024} MB, reader {big['reader_kb'] // 1024} MB "
        f"({small['reader_kb'] // 1024} MB)"
    )
    assert big["growth"] < big_size  # keeping the tree: ~7x the file's size
    assert (big["reader_kb"] - small["reader_kb"]) * 1024 < big_size  # the reader's tree does not grow either


# ------------------------------------------------------------------ the reader process, the schema it checks
def test_the_streaming_schema_leaves_out_only_identity_constraints_that_select_nothing():
    from saldo.saft.parser import inert_identity_constraints
    from saldo.saft.schemas import SCHEMA_FILES, schema_path

    for version in SCHEMA_FILES:
        root = etree.parse(str(schema_path(version))).getroot()
        inert = inert_identity_constraints(root)
        assert len(inert) == 100  # every key/keyref of Skatteetaten's schemas
    # A constraint that could select something keeps them all: a wildcard, an unqualified local element,
    # or a selector that names a qualified element.
    root = etree.parse(str(schema_path("1.30"))).getroot()
    key = root.find(f".//{XS}key/{XS}selector")
    key.set("xpath", "saft:MasterFiles/saft:GeneralLedgerAccounts/saft:Account")
    assert inert_identity_constraints(root) == []
    key.set("xpath", ".//*")
    assert inert_identity_constraints(root) == []
    key.set("xpath", "MasterFiles/GeneralLedgerAccounts/Account")
    assert inert_identity_constraints(root)
    root.find(f".//{XS}element[@name='Header']").set("form", "unqualified")
    assert inert_identity_constraints(root) == []


XS = "{http://www.w3.org/2001/XMLSchema}"


def _verdicts(data: bytes) -> tuple[bool, bool]:
    """(the published 1.30 schema accepts the whole document, the streaming parse accepts it)."""
    official = etree.XMLSchema(etree.parse(str(XSD_130)))
    doc = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    whole = official.validate(etree.ElementTree(doc))
    try:
        records(data)
        streamed = True
    except SaftError as exc:
        assert exc.code == "schema", exc.message
        streamed = False
    return whole, streamed


def _mutations() -> list[bytes]:
    data = small_130(3)
    return [
        data,
        data.replace(b"<AccountType>GL</AccountType>", b"<AccountType>XX</AccountType>", 1),
        data.replace(b"</TransactionDate>", b"</TransactionDate><Bogus/>", 1),
        data.replace(b"<Amount>", b"<Amount>1", 1),
        data.replace(b"<Amount>", b"<Amount>-x", 1),
        data.replace(b"</RecordID>", b"</RecordID><Description>x</Description>", 1),
        # what the identity constraints were meant to refuse, and do not in the published schema either
        data.replace(b"<AccountID>1500</AccountID>", b"<AccountID>1920</AccountID>", 1),
        data.replace(
            b"<Line><RecordID>1</RecordID><AccountID>", b"<Line><RecordID>1</RecordID><AccountID>9", 1
        ),
        # an element in no namespace, where a selector would look
        data.replace(b"<MasterFiles>", b'<MasterFiles><GeneralLedgerAccounts xmlns=""/>', 1),
    ]


def test_the_streaming_check_accepts_and_refuses_what_the_published_schema_does():
    verdicts = [_verdicts(d) for d in _mutations()]
    assert [w for w, _ in verdicts] == [s for _, s in verdicts]
    assert verdicts[0] == (True, True) and verdicts[6] == (True, True) and verdicts[7] == (True, True)
    assert verdicts[1] == verdicts[5] == verdicts[8] == (False, False)


def test_flattened_transactions_are_the_transactions_of_the_elements():
    from tests.saft.test_rows import tricky_file

    for data in (tricky_file(), EXAMPLE_888.read_bytes(), EXAMPLE_999.read_bytes()):
        flat = list(SaftParser(io.BytesIO(data), name="t.xml"))
        walked = list(SaftParser(io.BytesIO(data), name="t.xml", flatten=False))
        assert flat == walked
        assert [repr(r) for _, r in flat] == [repr(r) for _, r in walked]  # Decimal exponents too


@pytest.mark.parametrize(
    "text", ["\ue000 raw", "as a reference &#xE001;", "&#57346; decimal", "&#x00000000000000000E000; padded"]
)
def test_a_file_that_carries_the_separators_is_read_as_xml(text):
    data = small_130(6)
    data = data.replace(
        b"<Description>Bilag 3 linje 2</Description>", f"<Description>{text}</Description>".encode()
    )
    recs = records(data)
    assert recs["transaction"] == [
        r for k, r in SaftParser(io.BytesIO(data), flatten=False) if k == "transaction"
    ]
    want = etree.fromstring(f"<a>{text}</a>".encode()).text.strip()
    assert recs["transaction"][2].lines[1].description == want


@pytest.mark.parametrize("encoding", ["UTF-16", "ISO-8859-1", "windows-1252"])
def test_other_encodings(encoding):
    data = small_130(4).decode().replace("Kunde 3 AS", "Kunde 3 Æøå AS")
    data = data.replace(
        "<?xml version='1.0' encoding='UTF-8'?>", f"<?xml version='1.0' encoding='{encoding}'?>"
    )
    assert encoding in data
    assert records(data.encode(encoding)) == records(data.replace(encoding, "UTF-8").encode())


def test_records_before_a_schema_error_come_first():
    data = small_130(30)
    bad = data.replace(b"<TransactionID>17</TransactionID>", b"<TransactionID>17</TransactionID><X/>", 1)
    runs = []
    for flatten in (True, False):
        seen = []
        with pytest.raises(SaftError) as err:
            for kind, rec in SaftParser(io.BytesIO(bad), name="t.xml", flatten=flatten):
                seen.append(rec.id if kind == "transaction" else kind)
        assert err.value.code == "schema" and "Element 'X'" in err.value.message
        runs.append(seen)
    # Transactions in order up to some point before the invalid one (libxml2 validates a chunk ahead of the
    # records read from it), and the same ones whether flattened or not.
    txs = [x for x in runs[0] if x.isdigit()]
    assert 0 < len(txs) < 17 and txs == [str(n) for n in range(1, len(txs) + 1)]
    assert runs[0] == runs[1]


def test_an_error_reading_the_upload_is_raised_as_it_is():
    data = small_130(200)

    class Failing(io.BytesIO):
        def read(self, n: int = -1) -> bytes:
            if self.tell() > len(data) // 2:
                raise OSError("connection reset")
            return super().read(min(n, 4096) if n and n > 0 else 4096)

    with pytest.raises(OSError, match="connection reset"):
        records_of = list(SaftParser(Failing(data), name="t.xml"))
        assert records_of is None


def test_a_reader_that_dies_is_an_error(monkeypatch):
    monkeypatch.setattr("saldo.saft.parser._READER_COMMAND", "import sys; sys.exit(3)")
    with pytest.raises(RuntimeError, match="exit 3"):
        records(small_130(2))


def test_an_error_in_a_valid_record_reads_the_same_flattened_or_not():
    # A negative year is a valid xs:date but not a date Python (or the ledger) can hold.
    data = small_130(5).replace(b"<TransactionDate>2025-01-01", b"<TransactionDate>-2025-01-01", 1)
    messages = []
    for flatten in (True, False):
        with pytest.raises(SaftError) as err:
            list(SaftParser(io.BytesIO(data), name="t.xml", flatten=flatten))
        messages.append((err.value.code, err.value.message))
    assert messages[0] == messages[1]
    assert messages[0] == ("schema", "'-2025-01-01' is not a date (YYYY-MM-DD)")
