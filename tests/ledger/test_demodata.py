"""The demo year generator and its loader: deterministic, balanced, VAT-exact, and loadable as posted."""

from __future__ import annotations

import io
import itertools
import json
from collections import defaultdict
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from saldo.ledger import posting, regno
from saldo.ledger.masterdata import MasterData
from saldo.ledger.models import ClientAccount, JournalEntryIn
from saldo_tools import demodata
from saldo_tools.demodata import DemoLedger, DemoPlan, build_plan, generate

LINES = 3_000
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


@pytest.fixture(scope="module")
def plan() -> DemoPlan:
    return build_plan(LINES, 2025, 42)


@pytest.fixture(scope="module")
def ledger(plan: DemoPlan) -> DemoLedger:
    return plan.to_ledger()


def _amount(line: Any) -> Decimal:
    return line.debit - line.credit


def _master(plan: DemoPlan | DemoLedger) -> MasterData:
    master = MasterData()
    master.upsert_accounts(plan.accounts)
    master.upsert_tax_codes(plan.tax_codes)
    master.upsert_dimensions(plan.dimensions)
    master.upsert_business_partners(plan.business_partners)
    return master


def _client_account() -> ClientAccount:
    return ClientAccount(
        id=1,
        name=demodata.COMPANY_NAME,
        registration_number=demodata.COMPANY_REGNO,
        country="NO",
        currency="NOK",
        fiscal_year_start_month=1,
        vat_registered=True,
        created_at="2025-01-01T00:00:00+00:00",
    )


# ------------------------------------------------------------------ determinism and size
def test_same_seed_same_year_different_seed_different_year(ledger: DemoLedger) -> None:
    again = generate(LINES, 2025, 42)
    assert again.client_account == ledger.client_account
    assert again.accounts == ledger.accounts
    assert again.business_partners == ledger.business_partners
    assert [e.model_dump() for e in again.entries] == [e.model_dump() for e in ledger.entries]
    other = generate(LINES, 2025, 43)
    assert [e.model_dump() for e in other.entries] != [e.model_dump() for e in ledger.entries]
    assert other.business_partners != ledger.business_partners


@pytest.mark.parametrize("lines", [1_500, 3_000, 12_345, 20_000])
def test_line_count_follows_the_scale_parameter(lines: int) -> None:
    assert abs(build_plan(lines).line_count - lines) <= lines / 100


def test_too_few_lines_is_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        build_plan(10)


def test_generate_returns_the_ledger_models(ledger: DemoLedger) -> None:
    assert ledger.line_count == sum(len(e.lines) for e in ledger.entries)
    assert all(isinstance(e, JournalEntryIn) for e in ledger.entries)
    assert ledger.client_account.registration_number == demodata.COMPANY_REGNO
    codes = {a.code for a in ledger.accounts}
    assert {"1500", "1920", "2400", "2600", "2700", "2710", "2740", "2770", "5000", "5400"} <= codes
    assert {t.code for t in ledger.tax_codes} >= {"0", "1", "11", "13", "3", "31", "33", "5", "6"}
    dims = {(d.type, d.id) for d in ledger.dimensions}
    assert ("bankacc", 1) in dims and ("department", 1) in dims and ("project", 1) in dims


def test_entries_pass_the_ledgers_own_validation(plan: DemoPlan, ledger: DemoLedger) -> None:
    posting.validate_entries(ledger.entries, _client_account(), _master(plan))


# ------------------------------------------------------------------ bookkeeping invariants
def test_every_entry_balances(ledger: DemoLedger) -> None:
    for e in ledger.entries:
        assert sum(ln.debit for ln in e.lines) == sum(ln.credit for ln in e.lines), e.description


def test_opening_balances_sum_to_zero(ledger: DemoLedger) -> None:
    ob = {a.code: a.opening_balance for a in ledger.accounts}
    assert sum(ob.values()) == ZERO
    assert ob["1920"] > 0 and ob["1500"] > 0 and ob["2400"] < 0 and ob["2050"] < 0 and ob["2000"] < 0
    assert ob["2700"] == ob["2710"] == ZERO
    assert ob["1950"] == -ob["2600"]  # withheld tax is kept on the tax deduction account


def test_trial_balance_sums_to_zero(ledger: DemoLedger) -> None:
    balances: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for a in ledger.accounts:
        balances[a.code] += a.opening_balance
    for e in ledger.entries:
        for ln in e.lines:
            balances[ln.account_code] += _amount(ln)
    assert sum(balances.values()) == ZERO
    # The VAT accounts are settled every second month; what is left is the last term's settlement.
    assert balances["2700"] == balances["2710"] == ZERO
    assert balances["2740"] < 0
    result = sum(v for k, v in balances.items() if k[0] in "345678")
    revenue = -sum(v for k, v in balances.items() if k[0] == "3")
    assert revenue > 0 and -revenue / 4 < result < 0  # a profit, and a plausible one


def test_vat_amounts_are_base_times_rate_to_the_ore(ledger: DemoLedger) -> None:
    rates = {t.code: t.rate for t in ledger.tax_codes}
    seen = set()
    for e in ledger.entries:
        for ln in e.lines:
            if ln.tax_code is None:
                continue
            seen.add(ln.tax_code)
            assert ln.tax_base_amount is not None and ln.tax_amount is not None
            assert ln.tax_base_amount == _amount(ln)
            expected = (abs(ln.tax_base_amount) * rates[ln.tax_code] / 100).quantize(CENT, ROUND_HALF_UP)
            assert abs(ln.tax_amount) == expected, (e.description, ln)
            if ln.tax_amount:
                assert (ln.tax_amount > 0) == (ln.tax_base_amount > 0)
    assert {"1", "11", "13", "3", "31", "33", "5", "6", "0", "86"} <= seen


def test_vat_lines_agree_with_the_tax_amounts(ledger: DemoLedger) -> None:
    """Per entry: 2710 has the input and reverse-charge VAT, 2700 the output VAT and the reverse charge."""
    accounts = {t.code: t.account_code for t in ledger.tax_codes}
    for e in ledger.entries:
        if e.related_object and e.related_object.document_type == "VAT_RETURN":
            continue
        on_2700 = sum((_amount(ln) for ln in e.lines if ln.account_code == "2700"), ZERO)
        on_2710 = sum((_amount(ln) for ln in e.lines if ln.account_code == "2710"), ZERO)
        output = input_ = reverse = ZERO
        for ln in e.lines:
            if ln.tax_code in demodata.REVERSE_CHARGE_CODES:
                reverse += ln.tax_amount
            elif ln.tax_code and accounts[ln.tax_code] == "2700":
                output += ln.tax_amount
            elif ln.tax_code and accounts[ln.tax_code] == "2710":
                input_ += ln.tax_amount
        assert on_2700 == output - reverse, e.description
        assert on_2710 == input_ + reverse, e.description


def test_vat_settlements_move_each_terms_vat_and_are_paid(ledger: DemoLedger) -> None:
    by_term: dict[int, Decimal] = defaultdict(lambda: ZERO)
    settled: dict[int, Decimal] = {}
    for e in ledger.entries:
        term = (e.posting_date.month + 1) // 2
        is_return = bool(e.related_object and e.related_object.document_type == "VAT_RETURN")
        for ln in e.lines:
            if ln.account_code in ("2700", "2710") and not is_return:
                by_term[term] += _amount(ln)
            if ln.account_code == "2740" and is_return:
                settled[term] = _amount(ln)
    assert sorted(settled) == [1, 2, 3, 4, 5, 6]
    for term, amount in settled.items():
        assert amount == by_term[term]  # 2740 takes exactly the term's net VAT
    paid = [e for e in ledger.entries if any(ln.account_code == "2740" for ln in e.lines)]
    assert len(paid) == 12  # six settlements, last year's sixth term and this year's first five paid


def test_open_items_on_receivables_and_payables_at_year_end(plan: DemoPlan, ledger: DemoLedger) -> None:
    groups: dict[str, int] = defaultdict(int)
    for e in plan.entries:
        for ln in e.lines:
            if ln.match:
                assert ln.account in ("1500", "2400") and ln.rel and ln.rel[0] == "businesspartner"
                groups[ln.match] += ln.amount
    open_ar = [k for k, v in groups.items() if k.startswith("S") and v > 0]
    open_ap = [k for k, v in groups.items() if k.startswith("P") and v < 0]
    paid_ar = [k for k, v in groups.items() if k.startswith("S") and v == 0]
    paid_ap = [k for k, v in groups.items() if k.startswith("P") and v == 0]
    assert len(open_ar) >= 5 and len(open_ap) >= 5
    assert len(paid_ar) > 4 * len(open_ar) and len(paid_ap) > 4 * len(open_ap)  # most invoices are paid
    for e in ledger.entries:
        ro = e.related_object
        if ro and ro.document_type in ("SALES_INVOICE", "SUPPLIER_INVOICE"):
            assert ro.document_date and ro.due_date and ro.due_date >= ro.document_date
            assert ro.business_partner_id


def test_closing_receivables_are_the_open_invoice_remainders(plan: DemoPlan, ledger: DemoLedger) -> None:
    """Last year's items are paid in full, so 1500 closes at the sum of this year's open remainders."""
    groups: dict[str, int] = defaultdict(int)
    balance = {a.code: a.opening_balance for a in ledger.accounts}
    for e in plan.entries:
        for ln in e.lines:
            balance[ln.account] += Decimal(ln.amount).scaleb(-2)
            if ln.match:
                groups[ln.match] += ln.amount
    ar = sum(v for k, v in groups.items() if k.startswith("S"))
    ap = sum(v for k, v in groups.items() if k.startswith("P"))
    assert Decimal(ar).scaleb(-2) == balance["1500"]
    assert Decimal(ap).scaleb(-2) == balance["2400"]


def test_eur_lines_convert_to_the_ore(ledger: DemoLedger) -> None:
    eur = [ln for e in ledger.entries for ln in e.lines if ln.currency_code == "EUR"]
    assert len(eur) >= 48  # two monthly EUR suppliers at least, invoice and payment
    for ln in eur:
        assert ln.currency_amount is not None and ln.exchange_rate is not None
        assert (ln.currency_amount * ln.exchange_rate).quantize(CENT, ROUND_HALF_EVEN) == _amount(ln)
        assert Decimal("10") < ln.exchange_rate < Decimal("13")


def test_registration_numbers_are_valid_and_unique(ledger: DemoLedger) -> None:
    assert regno.valid_norwegian_orgnr(ledger.client_account.registration_number)
    norwegian = [bp.registration_number for bp in ledger.business_partners if bp.country == "NO"]
    assert len(norwegian) > 20
    assert all(n and regno.valid_norwegian_orgnr(n) for n in norwegian)
    assert len(set(norwegian)) == len(norwegian)
    assert len({bp.id for bp in ledger.business_partners}) == len(ledger.business_partners)
    assert {bp.country for bp in ledger.business_partners} >= {"NO", "IE", "NL", "DE"}


def test_kid_references_carry_a_mod10_check_digit(ledger: DemoLedger) -> None:
    kids = [
        e.related_object.payment_ref
        for e in ledger.entries
        if e.related_object and e.related_object.document_type == "SALES_INVOICE"
    ]
    assert kids and all(k and demodata.kid_mod10(k[:-1]) == k for k in kids)
    assert demodata.kid_mod10("1234567") == "12345674"  # the textbook example


def test_sequence_voucher_and_invoice_numbers_follow_the_dates(ledger: DemoLedger) -> None:
    entries = ledger.entries
    assert [e.sequence_number for e in entries] == list(range(1, len(entries) + 1))
    assert all(a.posting_date <= b.posting_date for a, b in itertools.pairwise(entries))
    assert len({e.voucher_id for e in entries}) == len(entries)
    assert all(date(2025, 1, 1) <= e.posting_date <= date(2025, 12, 31) for e in entries)
    assert all(e.created_by is not None for e in entries)
    invoices = [
        int(e.related_object.document_number or 0)
        for e in entries
        if e.related_object and e.related_object.document_type == "SALES_INVOICE"
    ]
    assert invoices == sorted(invoices) == list(range(10_001, 10_001 + len(invoices)))


def test_revenue_and_cost_lines_carry_departments_and_projects(ledger: DemoLedger) -> None:
    result_lines = [ln for e in ledger.entries for ln in e.lines if ln.account_code[0] in "34567"]
    with_dept = [ln for ln in result_lines if any(d.type == "department" for d in ln.dimensions)]
    with_project = [ln for ln in result_lines if any(d.type == "project" for d in ln.dimensions)]
    assert len(with_dept) == len(result_lines)
    assert len(with_project) > len(result_lines) / 5
    bank = [ln for e in ledger.entries for ln in e.lines if ln.account_code in ("1920", "1950")]
    assert all(ln.relation_type == "bankacc" for ln in bank)


# ------------------------------------------------------------------ fast path and exports
def test_storage_rows_are_what_posting_makes(plan: DemoPlan, ledger: DemoLedger) -> None:
    account = _client_account()
    created = datetime(2026, 1, 1, 12, 0)
    fast = list(plan.storage_rows(batch_id="b1", created_at=created))
    slow: list[dict[str, Any]] = []
    uid = 1
    for i, entry in enumerate(ledger.entries, start=1):
        rows = posting.entry_rows(
            entry,
            entry_id=i,
            version=1,
            sequence_number=entry.sequence_number or 0,
            first_line_uid=uid,
            account=account,
            batch_id="b1",
            created_at=created,
        )
        uid += len(rows)
        slow.extend(rows)
    assert len(fast) == len(slow) == plan.line_count
    for a, b in zip(fast, slow, strict=True):
        assert a == b
        assert {k: str(v) for k, v in a.items()} == {k: str(v) for k, v in b.items()}  # same exponents


def test_ledger_journal_export_balances_like_the_ledger(plan: DemoPlan, ledger: DemoLedger) -> None:
    buf = io.StringIO()
    postings = plan.write_journal(buf)
    text = buf.getvalue()
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    transactions = 0
    for block in text.strip().split("\n\n"):
        head, *lines = block.split("\n")
        assert head[:10].count("-") == 2 and " * " in head
        transactions += 1
        amounts = []
        for line in lines:
            account, amount = line.split()
            assert line.startswith("    ") and "  " in line.strip()
            assert amount.split(".")[1].isdigit() and len(amount.split(".")[1]) == 2
            amounts.append(Decimal(amount))
            totals[account] += Decimal(amount)
        assert sum(amounts) == ZERO
    assert transactions == len(ledger.entries) + 1
    opening = [a for a in ledger.accounts if a.opening_balance]
    assert postings == plan.line_count + len(opening)
    expected: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for a in ledger.accounts:
        expected[a.code] += a.opening_balance
    for e in ledger.entries:
        for ln in e.lines:
            expected[ln.account_code] += _amount(ln)
    assert {k: v for k, v in totals.items() if v} == {k: v for k, v in expected.items() if v}


def test_cli_writes_parquet_segments_master_data_and_journal(tmp_path: Path) -> None:
    import duckdb

    assert demodata.main(["--lines", "2000", "--out", str(tmp_path), "--segments", "2"]) == 0
    info = json.loads((tmp_path / "dataset.json").read_text())
    assert info["lines"] == build_plan(2000).line_count
    assert sorted(info["files"]) == sorted(
        ["master.json", "client_account.json", "lines-0001.parquet", "lines-0002.parquet", "journal.ledger"]
    )
    master = MasterData.from_json((tmp_path / "master.json").read_bytes())
    con = duckdb.connect()
    count, total, uids, first, last = con.execute(
        "SELECT count(*), sum(debit - credit), count(DISTINCT line_uid), min(line_uid), max(line_uid) "
        f"FROM read_parquet('{tmp_path}/lines-*.parquet')"
    ).fetchone()
    assert count == uids == last == info["lines"] and first == 1
    assert total + master.opening_balance_total() == 0
    assert master.opening_balance_total() == ZERO


# ------------------------------------------------------------------ loading into the ledger
def _view_totals(view: Any) -> tuple[int, Decimal, Decimal]:
    count, total = view.rows("SELECT count(*), sum(amount) FROM lines")[0]
    (opening,) = view.rows("SELECT sum(opening_balance) FROM accounts")[0]
    return count, total, opening


def test_loaded_demo_ledger_reconciles(stack: Any, tenant: dict[str, str]) -> None:
    from saldo.ledger.service import LedgerService
    from saldo_tools.demo_ledger import load_demo_ledger

    info = load_demo_ledger(tenant["org_id"], LINES)
    expected = build_plan(LINES)
    assert info["lines"] == expected.line_count and info["entries"] == len(expected.entries)
    svc = LedgerService(tenant["org_id"])
    account = svc.client_account(info["client_account_id"])
    assert account.registration_number == demodata.COMPANY_REGNO
    view = svc.view(account)
    count, total, opening = _view_totals(view)
    assert count == expected.line_count
    assert total + opening == 0 and opening == 0
    # Matched debits and credits are equal on each control account, and open items remain on both.
    for code in ("1500", "2400"):
        matched, open_lines = view.rows(
            "SELECT sum(CASE WHEN amount > 0 THEN reconciled_amount ELSE -reconciled_amount END), "
            "count(*) FILTER (WHERE reconciled_amount < abs(amount)) FROM lines WHERE account_code = ?",
            [code],
        )[0]
        assert matched == 0 and open_lines > 0
    # An invoice that is fully paid is fully reconciled.
    (unmatched_paid,) = view.rows(
        """SELECT count(*) FROM lines l JOIN (
               SELECT ro_payment_ref FROM lines WHERE account_code = '1500' AND ro_payment_ref IS NOT NULL
               GROUP BY 1 HAVING sum(amount) = 0 AND count(*) FILTER (WHERE amount > 0) = 1
                  AND min(posting_date) >= DATE '2025-01-01'
                  AND count(*) FILTER (WHERE ro_document_type = 'SALES_INVOICE') = 1) p USING (ro_payment_ref)
           WHERE l.account_code = '1500' AND l.reconciled_amount <> abs(l.amount)"""
    )[0]
    assert unmatched_paid == 0
    again = load_demo_ledger(tenant["org_id"], LINES)
    assert again["already_loaded"] and again["client_account_id"] == account.id


def test_fast_path_loads_the_same_ledger_as_posting(stack: Any, tenant: dict[str, str]) -> None:
    from saldo.adapters.tenancy_store import TenancyStore
    from saldo.ledger.service import LedgerService
    from saldo_tools.demo_ledger import load_demo_ledger

    other = TenancyStore().create_org("Fast Path AS")["org_id"]
    slow_info = load_demo_ledger(tenant["org_id"], 2_000, fast=False)
    fast_info = load_demo_ledger(other, 2_000, fast=True, chunk=300)
    assert slow_info["reconciled_lines"] == fast_info["reconciled_lines"] > 0
    sql = "SELECT * EXCLUDE (batch_id, created_at) FROM lines ORDER BY line_uid"
    slow_svc, fast_svc = LedgerService(tenant["org_id"]), LedgerService(other)
    slow_view = slow_svc.view(slow_svc.client_account(slow_info["client_account_id"]))
    fast_view = fast_svc.view(fast_svc.client_account(fast_info["client_account_id"]))
    slow_rows, fast_rows = slow_view.rows(sql), fast_view.rows(sql)
    assert len(slow_rows) == build_plan(2_000).line_count
    assert slow_rows == fast_rows
    assert fast_svc.store.manifest(other, fast_info["client_account_id"]).counters == (
        slow_svc.store.manifest(tenant["org_id"], slow_info["client_account_id"]).counters
    )
