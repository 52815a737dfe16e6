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

from saldo.saft import SaftError
from saldo.saft.parser import SaftParser
from tests.conftest import ROOT
from tests.saft.conftest import EXAMPLE_888, EXAMPLE_999, EXAMPLE_XMLSPY
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
growth = max(samples) - samples[0]
count = collector.transactions
print(json.dumps({"growth": growth, "rss_kb": peak, "seconds": seconds, "transactions": count}))
"""


def test_memory_stays_flat_as_the_file_grows(tmp_path):
    """The one larger file (a few MB): the parse phase (iterparse + XSD + checks + spill) runs in a fresh
    process, sampling its resident memory every 50 vouchers; it stays flat, where keeping the tree would
    add several times the file's size."""

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
        f"peak RSS {big['rss_kb'] // 1024} MB"
    )
    assert big["growth"] < big_size  # keeping the tree: ~7x the file's size
