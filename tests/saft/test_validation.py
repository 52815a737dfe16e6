"""Checks beyond the XSD: structural problems refuse the file, accounting discrepancies are warnings."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from saldo.saft.importer import Importer, ImportRequest
from saldo.saft.safety import Source
from tests.saft.conftest import EXAMPLE_888, EXAMPLE_999
from tests.saft.generate import generate
from tests.saft.stores import client_accounts, client_repo, ledger_objects, ledger_store, nothing_written


def run(data: bytes | list[tuple[str, bytes]], *, store=None, repo=None, **request):
    store = store or ledger_store()
    repo = repo or client_repo()
    files = data if isinstance(data, list) else [("upload.xml", data)]
    sources = [Source(name, len(d), lambda d=d: io.BytesIO(d)) for name, d in files]
    outcome = Importer(store, repo).run(
        ImportRequest("org", request.pop("import_id", "imp_1"), sources, **request)
    )
    return outcome, store, repo


def by_code(issues: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for issue in issues:
        out.setdefault(issue["code"], []).append(issue)
    return out


def generated(transactions: int = 6) -> bytes:
    buf = io.BytesIO()
    generate(buf, transactions)
    return buf.getvalue()


def test_888888888_imports_with_its_discrepancies_as_warnings():
    outcome, _store, repo = run(EXAMPLE_888.read_bytes())
    assert outcome.status == "SUCCEEDED", outcome.errors
    assert outcome.errors == []
    w = by_code(outcome.warnings)
    assert w["opening_balance_sum"][0]["sum"] == Decimal("2545410.00")
    mismatched = {x["account"]: x for x in w["closing_balance"]}
    assert set(mismatched) == {"1920", "2711", "2740"}
    assert mismatched["1920"]["opening"] == Decimal("370000.00")
    assert mismatched["1920"]["closing"] == Decimal("670568.75")
    assert mismatched["1920"]["difference"] == mismatched["1920"]["closing"] - mismatched["1920"]["expected"]
    sub = {(x["kind"], x["balance"]): x for x in w["subledger_total"]}
    assert sub[("customer", "closing")]["subledger"] == Decimal("135500.00")
    assert sub[("customer", "closing")]["account_balance"] == Decimal("103700.00")
    assert sub[("supplier", "closing")]["subledger"] == Decimal("-62224.50")
    assert sub[("supplier", "closing")]["account_balance"] == Decimal("-212025.00")
    assert "control_totals" not in w  # NumberOfEntries/TotalDebit/TotalCredit do match
    assert outcome.counts["entries"] == 53 and outcome.counts["lines"] == 170
    account = repo.get("org", outcome.client_account_id)
    assert (account.registration_number, account.name) == ("888888888", "Tøyen Lekefabrikk AS")


def test_999999999_imports_with_its_warnings():
    outcome, _store, _repo = run(EXAMPLE_999.read_bytes())
    assert outcome.status == "SUCCEEDED", outcome.errors
    w = by_code(outcome.warnings)
    assert {x["account"] for x in w["closing_balance"]} >= {"1925", "4000"}
    assert w["balance_account"][0]["account"] == "1500"  # the customer's control account is not in the chart


def test_a_consistent_file_has_no_warnings():
    outcome, _store, _repo = run(generated())
    assert outcome.status == "SUCCEEDED"
    assert outcome.warnings == []


def _refused(data: bytes, code: str) -> dict:
    outcome, _store, _repo = run(data)
    assert outcome.status == "FAILED"
    errors = by_code(outcome.errors)
    assert code in errors, outcome.errors
    assert nothing_written()
    return errors[code][0]


def test_an_unbalanced_voucher_refuses_the_file_with_the_amounts():
    data = EXAMPLE_888.read_bytes().replace(
        b"<n1:Amount>12500</n1:Amount>", b"<n1:Amount>12400</n1:Amount>", 1
    )
    error = _refused(data, "unbalanced_voucher")
    first = error["transactions"][0]
    assert first["transaction"] == "1001"
    assert (first["debit"], first["credit"], first["difference"]) == (
        Decimal("12500.00"),
        Decimal("12400.00"),
        Decimal("100.00"),
    )


def in_entries(data: bytes, old: bytes, new: bytes) -> bytes:
    """Replace the first `old` among the entries (not the master files)."""
    at = data.index(old, data.index(b"<GeneralLedgerEntries"))
    return data[:at] + new + data[at + len(old) :]


@pytest.mark.parametrize(
    ("old", "new", "code", "named"),
    [
        (b"<AccountID>4000</AccountID>", b"<AccountID>6399</AccountID>", "unknown_account", "6399"),
        (b"<CustomerID>K2</CustomerID>", b"<CustomerID>K99</CustomerID>", "unknown_customer", "K99"),
        (b"<SupplierID>L3</SupplierID>", b"<SupplierID>L77</SupplierID>", "unknown_supplier", "L77"),
        (b"<TaxCode>3</TaxCode>", b"<TaxCode>33X</TaxCode>", "unknown_tax_code", "33X"),
        (b"<AnalysisID>2</AnalysisID>", b"<AnalysisID>42</AnalysisID>", "unknown_analysis", "AVD:42"),
    ],
    ids=["account", "customer", "supplier", "tax-code", "analysis"],
)
def test_references_must_resolve(old, new, code, named):
    error = _refused(in_entries(generated(), old, new), code)
    assert named in error["message"]
    assert error["references"][0]["first_used"].startswith("transaction ")


def test_a_duplicate_account_refuses_the_file():
    data = generated()
    start = data.index(b"<Account ")
    end = data.index(b"</Account>") + len(b"</Account>")
    _refused(data[:end] + data[start:end] + data[end:], "duplicate_account")


def test_control_totals_that_differ_are_a_warning_with_both_values():
    data = generated(6).replace(b">6</NumberOfEntries>", b">7</NumberOfEntries>")
    outcome, _store, _repo = run(data)
    assert outcome.status == "SUCCEEDED"
    totals = by_code(outcome.warnings)["control_totals"][0]
    assert totals["number_of_entries"] == {"file": 7, "counted": 6}


def test_validate_only_writes_nothing():
    outcome, _store, _repo = run(EXAMPLE_888.read_bytes(), validate_only=True)
    assert outcome.status == "SUCCEEDED"
    assert outcome.summary["validate_only"] is True
    assert outcome.warnings
    assert not ledger_objects() and not client_accounts()


def test_the_same_file_twice_is_refused_the_second_time():
    store, repo = ledger_store(), client_repo()
    first, _, _ = run(EXAMPLE_888.read_bytes(), store=store, repo=repo, import_id="imp_a")
    version = store.manifest("org", first.client_account_id).version
    second, _, _ = run(EXAMPLE_888.read_bytes(), store=store, repo=repo, import_id="imp_b")
    assert second.status == "FAILED"
    assert by_code(second.errors)["already_imported"][0]["import_id"] == "imp_a"
    assert store.manifest("org", first.client_account_id).version == version


def test_a_retried_import_that_already_committed_is_not_applied_twice():
    store, repo = ledger_store(), client_repo()
    first, _, _ = run(EXAMPLE_888.read_bytes(), store=store, repo=repo, import_id="imp_a")
    version = store.manifest("org", first.client_account_id).version
    again, _, _ = run(EXAMPLE_888.read_bytes(), store=store, repo=repo, import_id="imp_a")
    assert again.status == "SUCCEEDED"
    assert store.manifest("org", first.client_account_id).version == version


def test_split_files_import_as_one_and_an_incomplete_set_is_refused():
    whole = generated(8)
    gle = whole.index(b"<GeneralLedgerEntries>")
    master_end = whole.index(b"</MasterFiles>") + len(b"</MasterFiles>")
    header_end = whole.index(b"</Header>") + len(b"</Header>")
    first = whole[:master_end] + b"</AuditFile>"
    second = whole[:header_end] + whole[gle:]
    names = [
        "SAF-T Financial_923609016_20260115000000_1_2.xml",
        "SAF-T Financial_923609016_20260115000000_2_2.xml",
    ]
    outcome, _store, _repo = run([(names[1], second), (names[0], first)])
    assert outcome.status == "SUCCEEDED", outcome.errors
    assert outcome.counts["entries"] == 8 and outcome.counts["files"] == 2
    assert outcome.warnings == []
    before = set(ledger_objects())
    outcome, _store, _repo = run([(names[1], second)], import_id="imp_2")
    assert outcome.status == "FAILED"
    assert "split_set" in by_code(outcome.errors)
    assert set(ledger_objects()) == before


def test_a_file_for_another_company_than_the_expected_client_account_is_refused():
    store, repo = ledger_store(), client_repo()
    first, _, _ = run(generated(), store=store, repo=repo)
    outcome, _, _ = run(
        EXAMPLE_999.read_bytes(), store=store, repo=repo, client_account_id=first.client_account_id
    )
    assert outcome.status == "FAILED"
    assert outcome.errors[0]["code"] == "client_account_mismatch"
    assert len(client_accounts()) == 1


def test_a_restricted_key_cannot_create_a_client_account():
    outcome, _store, _repo = run(generated(), allowed=frozenset({5}))
    assert outcome.status == "FAILED"
    assert outcome.errors[0]["code"] == "forbidden"
    assert not client_accounts()


def test_entries_in_a_period_the_ledger_already_has_need_allow_overlap():
    store, repo = ledger_store(), client_repo()
    first, _, _ = run(generated(6), store=store, repo=repo, import_id="imp_a")
    other = io.BytesIO()
    generate(other, 4, seed=99)  # another file for the same company and year
    refused, _, _ = run(other.getvalue(), store=store, repo=repo, import_id="imp_b")
    assert refused.status == "FAILED"
    assert by_code(refused.errors)["ledger_overlap"][0]["existing_entries"] == 6
    added, _, _ = run(other.getvalue(), store=store, repo=repo, import_id="imp_c", allow_overlap=True)
    assert added.status == "SUCCEEDED"
    assert "ledger_overlap" in by_code(added.warnings)
    assert added.client_account_id == first.client_account_id


def test_a_later_year_keeps_the_ledgers_opening_balances_and_reports_differences():
    store, repo = ledger_store(), client_repo()
    first, _, _ = run(generated(6), store=store, repo=repo, import_id="imp_a")
    ca = first.client_account_id
    before = {c: a["opening_balance"] for c, a in store.master(store.manifest("org", ca)).accounts.items()}
    next_year = io.BytesIO()
    generate(next_year, 4, seed=5, year=2026)  # opens with 0.00 receivables, not 2025's closing balance
    outcome, _, _ = run(next_year.getvalue(), store=store, repo=repo, import_id="imp_b")
    assert outcome.status == "SUCCEEDED", outcome.errors
    differences = {w["account"]: w for w in by_code(outcome.warnings)["ledger_opening_balance"]}
    assert differences["1500"]["file"] == Decimal("0.00")
    assert differences["1500"]["ledger"] > 0
    assert "1920" not in differences  # no 2025 movements on the bank account: the balances agree
    after = {c: a["opening_balance"] for c, a in store.master(store.manifest("org", ca)).accounts.items()}
    assert after == before


def test_entries_outside_the_selection_and_a_missing_exchange_rate():
    data = generated(4)
    last = data.rindex(b"<TransactionDate>")
    data = data[:last] + b"<TransactionDate>2026-02-01</TransactionDate>" + data[last + 45 :]
    start = data.index(b"<DebitAmount><Amount>", data.index(b"<GeneralLedgerEntries")) + len(
        b"<DebitAmount><Amount>"
    )
    value = Decimal(data[start : data.index(b"</Amount>", start)].decode())
    insert_at = data.index(b"</Amount>", start) + len(b"</Amount>")
    euro = f"<CurrencyCode>EUR</CurrencyCode><CurrencyAmount>{value * 2}</CurrencyAmount>".encode()
    data = data[:insert_at] + euro + data[insert_at:]
    outcome, store, repo = run(data)
    assert outcome.status == "SUCCEEDED", outcome.errors
    outside = by_code(outcome.warnings)["outside_selection"][0]
    assert str(outside["last_entry"]) == "2026-02-01"
    from saldo.ledger.query import open_view

    view = open_view(store, "org", repo.get("org", outcome.client_account_id))
    (rate,) = view.rows("SELECT exchange_rate FROM lines WHERE currency_code = 'EUR'")[0]
    assert rate == Decimal("0.5")  # derived from the amounts when the file gives no ExchangeRate


def test_amounts_beyond_the_apis_bound_refuse_the_file():
    # A balanced voucher whose lines are 10^16: the JSON API refuses any amount of 10^15 or more.
    huge, rest = Decimal("9999999999999999.99"), Decimal("10636.30")
    data = in_entries(generated(2), b"<Amount>53181.49</Amount>", f"<Amount>{huge}</Amount>".encode())
    data = in_entries(
        data,
        b"<CreditAmount><Amount>42545.19</Amount>",
        f"<CreditAmount><Amount>{huge - rest}</Amount>".encode(),
    )
    error = _refused(data, "out_of_bounds")
    assert error["count"] == 2
    assert error["values"][0] == {"transaction": "1", "line": "1", "element": "Amount", "value": str(huge)}
    assert "transaction 1 line 1" in error["message"] and "1,000,000,000,000,000" in error["message"]


def test_the_largest_amount_the_api_takes_imports():
    top, rest = Decimal("999999999999999.99"), Decimal("10636.30")
    data = in_entries(generated(2), b"<Amount>53181.49</Amount>", f"<Amount>{top}</Amount>".encode())
    data = in_entries(
        data,
        b"<CreditAmount><Amount>42545.19</Amount>",
        f"<CreditAmount><Amount>{top - rest}</Amount>".encode(),
    )
    outcome, _store, _repo = run(data)
    assert outcome.status == "SUCCEEDED", outcome.errors


@pytest.mark.parametrize("day", ["0001-01-01", "1899-12-31", "2200-01-01", "9999-12-31"])
def test_dates_outside_the_apis_range_refuse_the_file(day):
    data = in_entries(generated(2), b"<TransactionDate>2025-01-01", f"<TransactionDate>{day}".encode())
    error = _refused(data, "out_of_bounds")
    assert error["values"] == [{"transaction": "1", "element": "TransactionDate", "value": day}]
    assert "1900-01-01..2199-12-31" in error["message"]
