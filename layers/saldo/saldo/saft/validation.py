"""Checks beyond the XSD (research/saft.md §4), collected while a file streams.

Errors make the import refuse the whole file (nothing is written); warnings are accounting
discrepancies in an otherwise valid file, which is imported as it is and reported with the amounts.

Errors (structural, or data Saldo cannot hold faithfully):
  `company_mismatch`        split files of different companies in one import
  `split_set`               files named "_n_m" that do not make up one whole set (1..m)
  `duplicate_account`, `duplicate_customer`, `duplicate_supplier`   a master record twice
  `unknown_account`, `unknown_customer`, `unknown_supplier`, `unknown_tax_code`, `unknown_analysis`
                            a line refers to something neither the file nor the client account has
  `customer_and_supplier`   a line names both a customer and a supplier
  `unbalanced_voucher`      a transaction whose debits and credits differ
  `currency_mismatch`       the file's default currency is not the client account's
  `locked_period`           a transaction dated in the client account's locked period
  `out_of_bounds`           an amount of 10^15 or more, or a date outside 1900-01-01..2199-12-31: the JSON
                            API's bounds (saldo.ledger.models), which every stored entry must meet
Warnings (imported as is):
  `control_totals`          NumberOfEntries / TotalDebit / TotalCredit differ from the lines
  `opening_balance_sum`, `closing_balance_sum`   opening or closing balances do not sum to zero
  `closing_balance`         opening + movements ≠ closing for an account
  `subledger_total`         customers' or suppliers' balances ≠ their control account's balance
  `party_balance`           a customer's or supplier's opening + movements ≠ its closing balance
  `balance_account`         a customer's or supplier's BalanceAccount is not a general-ledger account
  `outside_selection`       entries dated outside the file's SelectionCriteria
  `duplicate_transaction_id`, `tax_code_date`, `multiple_tax_information`, `analysis_amount`,
  `transaction_id_renumbered`, `ledger_opening_balance`, `ledger_overlap`
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from saldo.ledger.models import AMOUNT_LIMIT, MAX_DATE, MIN_DATE
from saldo.saft.model import Account, AnalysisEntry, Header, Party, TaxCodeDetail, Totals, Transaction

ZERO = Decimal("0.00")
MAX_EXAMPLES = 20
MAX_WARNINGS = 200


def _m(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))


@dataclass
class Issue:
    code: str
    message: str
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.data}


@dataclass
class Report:
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    def error(self, code: str, message: str, **data: Any) -> None:
        self.errors.append(Issue(code, message, data))

    def warn(self, code: str, message: str, **data: Any) -> None:
        self.warnings.append(Issue(code, message, data))

    def warnings_out(self) -> list[dict[str, Any]]:
        out = [w.as_dict() for w in self.warnings[:MAX_WARNINGS]]
        if len(self.warnings) > MAX_WARNINGS:
            out.append(
                {
                    "code": "truncated",
                    "message": f"{len(self.warnings) - MAX_WARNINGS} more warnings not shown",
                }
            )
        return out


class _Refs:
    """First few places a missing reference is used, and how often."""

    def __init__(self) -> None:
        self.first: dict[str, str] = {}
        self.count: Counter[str] = Counter()

    def add(self, key: str, where: str, line: str | None = None) -> None:
        """Count a use; the first one's place is `where` (+ " line <line>", built only then)."""
        if key not in self.first:
            self.first[key] = where if line is None else f"{where} line {line}"
        self.count[key] += 1


@dataclass
class FileStats:
    name: str
    version: str | None = None
    header: Header | None = None
    totals: Totals | None = None
    entries: int = 0
    debit: Decimal = ZERO
    credit: Decimal = ZERO


class Collector:
    """Everything the checks need, accumulated record by record (memory ~ master data, not lines)."""

    def __init__(self) -> None:
        self.files: list[FileStats] = []
        self.accounts: dict[str, Account] = {}
        self.parties: dict[tuple[str, str], Party] = {}
        self.tax_codes: dict[str, list[TaxCodeDetail]] = defaultdict(list)
        self.analysis: dict[tuple[str, str], AnalysisEntry] = {}
        self.analysis_types: dict[str, str] = {}
        self.report = Report()
        self.movements: dict[str, Decimal] = defaultdict(lambda: ZERO)
        self.party_movements: dict[tuple[str, str, str], Decimal] = defaultdict(lambda: ZERO)
        self.used_accounts = _Refs()
        self.used_customers = _Refs()
        self.used_suppliers = _Refs()
        self.used_tax: dict[str, list[date]] = {}  # code -> [first date, last date]
        self.used_tax_where = _Refs()
        self.used_analysis = _Refs()
        self.duplicate_tx: list[str] = []
        self.duplicate_tx_count = 0
        self.unbalanced: list[dict[str, Any]] = []
        self.unbalanced_count = 0
        self.both_parties: list[str] = []
        self.out_of_bounds: list[dict[str, Any]] = []
        self.out_of_bounds_count = 0
        self.transactions = 0
        self.lines = 0
        self.first_date: date | None = None
        self.last_date: date | None = None
        self.fiscal_votes: Counter[int] = Counter()
        self.multi_tax_lines = 0
        self.analysis_amount_lines = 0
        self.renumbered = 0
        self.renumbered_example: str | None = None
        self.owners = 0
        self.source_ids: set[str] = set()
        self.sequences: list[tuple[int, int] | None] = []
        self._account_file: dict[str, int] = {}
        self._party_file: dict[tuple[str, str], int] = {}
        self._tx_hashes: set[int] = set()

    # ---------------------------------------------------------- master records
    def file(self, name: str) -> FileStats:
        stats = FileStats(name)
        self.files.append(stats)
        return stats

    def add_account(self, acc: Account) -> None:
        if acc.id in self.accounts:
            if self._repeated_elsewhere(self._account_file.get(acc.id), self.accounts[acc.id] == acc):
                return
            self.report.error(
                "duplicate_account",
                f"Account {acc.id} appears twice in GeneralLedgerAccounts",
                account=acc.id,
            )
            return
        self.accounts[acc.id] = acc
        self._account_file[acc.id] = len(self.files)

    def add_party(self, party: Party) -> None:
        key = (party.kind, party.id)
        if key in self.parties:
            if self._repeated_elsewhere(self._party_file.get(key), self.parties[key] == party):
                return
            self.report.error(
                f"duplicate_{party.kind}",
                f"{party.kind.title()} {party.id} appears twice",
                **{f"{party.kind}_id": party.id},
            )
            return
        self.parties[key] = party
        self._party_file[key] = len(self.files)

    def _repeated_elsewhere(self, file_no: int | None, same: bool) -> bool:
        """A split file may repeat the first file's master records; identical repeats are fine."""
        return file_no is not None and file_no != len(self.files) and same

    def add_tax_code(self, detail: TaxCodeDetail) -> None:
        self.tax_codes[detail.code].append(detail)

    def add_analysis(self, entry: AnalysisEntry) -> None:
        self.analysis[(entry.type, entry.id)] = entry
        self.analysis_types.setdefault(entry.type, entry.type_description)

    # ---------------------------------------------------------- transactions
    def add_transaction(self, tx: Transaction, stats: FileStats) -> None:
        self.transactions += 1
        stats.entries += 1
        tx_hash = hash(tx.id)  # 64-bit hashes, not the ids: ~50 bytes per voucher whatever the id's length
        if tx_hash in self._tx_hashes:
            self.duplicate_tx_count += 1
            if len(self.duplicate_tx) < MAX_EXAMPLES:
                self.duplicate_tx.append(tx.id)
        else:
            self._tx_hashes.add(tx_hash)
        if not (tx.id.isdigit() and 0 < len(tx.id) <= 15 and int(tx.id) > 0):
            self.renumbered += 1
            self.renumbered_example = self.renumbered_example or tx.id
        if tx.source_id:
            self.source_ids.add(tx.source_id)
        if self.first_date is None or tx.date < self.first_date:
            self.first_date = tx.date
        if self.last_date is None or tx.date > self.last_date:
            self.last_date = tx.date
        if not MIN_DATE <= tx.date <= MAX_DATE:
            self._out_of_bounds(tx.id, None, "TransactionDate", tx.date)
        if tx.period is not None and 1 <= tx.period <= 12:
            self.fiscal_votes[(tx.date.month - tx.period) % 12 + 1] += 1
        total = ZERO
        debit = credit = ZERO
        where = f"transaction {tx.id}"
        movements, party_movements = self.movements, self.party_movements
        used_accounts, used_analysis = self.used_accounts.add, self.used_analysis.add
        for line in tx.lines:
            self.lines += 1
            amount = line.amount
            total += amount
            if amount > 0:
                debit += amount
            else:
                credit -= amount
            record_id = line.record_id
            if not -AMOUNT_LIMIT < amount < AMOUNT_LIMIT:
                self._out_of_bounds(tx.id, record_id, "Amount", amount)
            if line.currency_amount is not None and not -AMOUNT_LIMIT < line.currency_amount < AMOUNT_LIMIT:
                self._out_of_bounds(tx.id, record_id, "CurrencyAmount", line.currency_amount)
            if line.due_date is not None and not MIN_DATE <= line.due_date <= MAX_DATE:
                self._out_of_bounds(tx.id, record_id, "DueDate", line.due_date)
            movements[line.account_id] += amount
            used_accounts(line.account_id, where, record_id)
            if line.customer_id and line.supplier_id and len(self.both_parties) < MAX_EXAMPLES:
                self.both_parties.append(f"{where} line {record_id}")
            if line.customer_id:
                self.used_customers.add(line.customer_id, where, record_id)
                party_movements[("customer", line.customer_id, line.account_id)] += amount
            elif line.supplier_id:
                self.used_suppliers.add(line.supplier_id, where, record_id)
                party_movements[("supplier", line.supplier_id, line.account_id)] += amount
            if line.taxes:
                coded = [t for t in line.taxes if t.code]
                if len(coded) > 1:
                    self.multi_tax_lines += 1
                for tax in coded[:1]:
                    for what, value in (("TaxBase", tax.base), ("TaxAmount", tax.amount)):
                        if value is not None and not -AMOUNT_LIMIT < value < AMOUNT_LIMIT:
                            self._out_of_bounds(tx.id, record_id, what, value)
                    code = tax.code or ""
                    span = self.used_tax.get(code)
                    if span is None:
                        self.used_tax[code] = [tx.date, tx.date]
                    else:
                        span[0] = min(span[0], tx.date)
                        span[1] = max(span[1], tx.date)
                    self.used_tax_where.add(code, where, record_id)
            if line.analysis:
                partial = False
                for a in line.analysis:
                    used_analysis(f"{a.type}\x1f{a.id}", where, record_id)
                    if a.amount is not None and a.amount != amount:
                        partial = True
                if partial:
                    self.analysis_amount_lines += 1
        stats.debit += debit
        stats.credit += credit
        if total != 0:
            self.unbalanced_count += 1
            if len(self.unbalanced) < MAX_EXAMPLES:
                self.unbalanced.append(
                    {"transaction": tx.id, "debit": _m(debit), "credit": _m(credit), "difference": _m(total)}
                )

    def _out_of_bounds(self, tx_id: str, record_id: str | None, element: str, value: Any) -> None:
        self.out_of_bounds_count += 1
        if len(self.out_of_bounds) < MAX_EXAMPLES:
            where = {"transaction": tx_id} if record_id is None else {"transaction": tx_id, "line": record_id}
            self.out_of_bounds.append({**where, "element": element, "value": str(value)})

    # ---------------------------------------------------------- derived facts
    def header(self) -> Header | None:
        return next((f.header for f in self.files if f.header is not None), None)

    def fiscal_year_start_month(self) -> int:
        return self.fiscal_votes.most_common(1)[0][0] if self.fiscal_votes else 1

    def start_date(self) -> date | None:
        """Where the file's opening balances apply: SelectionStartDate, first period, or first entry."""
        h = self.header()
        if h and h.selection_start:
            return h.selection_start
        if h and h.period_start:
            period, year = h.period_start
            month = (self.fiscal_year_start_month() - 1 + max(period, 1) - 1) % 12 + 1
            start_month = self.fiscal_year_start_month()
            year_of = year if month >= start_month else year + 1
            try:
                return date(year_of, month, 1)
            except ValueError:
                return self.first_date
        return self.first_date

    def end_date(self) -> date | None:
        h = self.header()
        if h and h.selection_end:
            return h.selection_end
        if h and h.period_end:
            period, year = h.period_end
            start_month = self.fiscal_year_start_month()
            month = (start_month - 1 + min(max(period, 1), 12) - 1) % 12 + 1
            year_of = year if month >= start_month else year + 1
            nxt = date(year_of + (month == 12), month % 12 + 1, 1)
            return date.fromordinal(nxt.toordinal() - 1)
        return self.last_date


# ------------------------------------------------------------------ the checks
@dataclass
class Known:
    """What the client account already has, by SAF-T id (so a file without master data can refer to it)."""

    accounts: set[str] = field(default_factory=set)
    customers: set[str] = field(default_factory=set)
    suppliers: set[str] = field(default_factory=set)
    tax_codes: set[str] = field(default_factory=set)
    analysis: set[tuple[str, str]] = field(default_factory=set)


def _examples(refs: _Refs, missing: list[str]) -> list[dict[str, Any]]:
    return [
        {"id": key, "first_used": refs.first[key], "uses": refs.count[key]} for key in missing[:MAX_EXAMPLES]
    ]


def check(c: Collector, known: Known | None = None) -> Report:
    """Run every check on a fully collected import; returns the collector's report, completed."""
    known = known or Known()
    r = c.report
    _check_files(c, r)
    _check_references(c, r, known)
    if c.unbalanced_count:
        first = c.unbalanced[0]
        r.error(
            "unbalanced_voucher",
            f"{c.unbalanced_count} transaction(s) do not balance; transaction {first['transaction']}: "
            f"debit {first['debit']} ≠ credit {first['credit']} (difference {first['difference']})",
            transactions=c.unbalanced,
            count=c.unbalanced_count,
        )
    if c.out_of_bounds_count:
        first = c.out_of_bounds[0]
        where = f"transaction {first['transaction']}" + (f" line {first['line']}" if "line" in first else "")
        rule = (
            f"amounts must be below {AMOUNT_LIMIT:,} in absolute value"
            if first["element"] not in ("TransactionDate", "DueDate")
            else f"dates must be within {MIN_DATE}..{MAX_DATE}"
        )
        r.error(
            "out_of_bounds",
            f"{c.out_of_bounds_count} value(s) outside what Saldo holds; {where}: {first['element']} "
            f"{first['value']} ({rule})",
            values=c.out_of_bounds,
            count=c.out_of_bounds_count,
        )
    if c.both_parties:
        r.error(
            "customer_and_supplier",
            f"A line names both a customer and a supplier ({c.both_parties[0]})",
            lines=c.both_parties,
        )
    _check_balances(c, r)
    _check_subledgers(c, r)
    _check_notes(c, r)
    return r


def _check_files(c: Collector, r: Report) -> None:
    seqs = [s for s in c.sequences if s is not None]
    if seqs and len(seqs) == len(c.sequences):
        totals = {m for _, m in seqs}
        numbers = sorted(n for n, _ in seqs)
        if len(totals) > 1:
            r.error("split_set", f"The files belong to different split sets (file n of {sorted(totals)})")
        elif numbers != list(range(1, max(totals) + 1)):
            missing = sorted(set(range(1, max(totals) + 1)) - set(numbers))
            r.error(
                "split_set",
                f"The split set is incomplete or repeats a file: got files {numbers} of {max(totals)}"
                + (f", missing {missing}" if missing else ""),
                files=numbers,
                of=max(totals),
            )
    regnos = {f.header.registration_number for f in c.files if f.header}
    if len(regnos) > 1:
        r.error(
            "company_mismatch",
            f"The files are for different companies: {', '.join(sorted(regnos))}",
            registration_numbers=sorted(regnos),
        )
    currencies = {f.header.default_currency for f in c.files if f.header}
    if len(currencies) > 1:
        r.error(
            "currency_mismatch",
            f"The files have different default currencies: {', '.join(sorted(currencies))}",
        )
    for f in c.files:
        t = f.totals
        if t is None:
            continue
        problems = {}
        if t.number_of_entries != f.entries:
            problems["number_of_entries"] = {"file": t.number_of_entries, "counted": f.entries}
        if t.total_debit != f.debit:
            problems["total_debit"] = {
                "file": t.total_debit,
                "counted": _m(f.debit),
                "difference": _m(t.total_debit - f.debit),
            }
        if t.total_credit != f.credit:
            problems["total_credit"] = {
                "file": t.total_credit,
                "counted": _m(f.credit),
                "difference": _m(t.total_credit - f.credit),
            }
        if problems:
            parts = []
            for key, p in problems.items():
                parts.append(f"{key} {p['file']} in the file, {p['counted']} in the entries")
            r.warn("control_totals", f"{f.name}: " + "; ".join(parts), file=f.name, **problems)


def _check_references(c: Collector, r: Report, known: Known) -> None:
    accounts = set(c.accounts) | known.accounts
    missing = sorted(k for k in c.used_accounts.first if k not in accounts)
    if missing:
        r.error(
            "unknown_account",
            f"Lines refer to {len(missing)} account(s) not in GeneralLedgerAccounts: "
            f"{', '.join(missing[:10])} (first in {c.used_accounts.first[missing[0]]})",
            references=_examples(c.used_accounts, missing),
        )
    for kind, refs, have in (
        ("customer", c.used_customers, known.customers),
        ("supplier", c.used_suppliers, known.suppliers),
    ):
        ids = {pid for (k, pid) in c.parties if k == kind} | have
        missing = sorted(k for k in refs.first if k not in ids)
        if missing:
            r.error(
                f"unknown_{kind}",
                f"Lines refer to {len(missing)} {kind}(s) not in the file's "
                f"{kind.title()}s: {', '.join(missing[:10])} (first in {refs.first[missing[0]]})",
                references=_examples(refs, missing),
            )
    taxes = set(c.tax_codes) | known.tax_codes
    missing = sorted(k for k in c.used_tax if k not in taxes)
    if missing:
        r.error(
            "unknown_tax_code",
            f"Lines use {len(missing)} tax code(s) not in the TaxTable: "
            f"{', '.join(missing[:10])} (first in {c.used_tax_where.first[missing[0]]})",
            references=_examples(c.used_tax_where, missing),
        )
    analysis = {f"{t}\x1f{i}" for (t, i) in c.analysis} | {f"{t}\x1f{i}" for (t, i) in known.analysis}
    missing = sorted(k for k in c.used_analysis.first if k not in analysis)
    if missing:
        shown = [m.replace("\x1f", ":") for m in missing[:10]]
        examples = _examples(c.used_analysis, missing)
        for e in examples:
            e["id"] = e["id"].replace("\x1f", ":")
        r.error(
            "unknown_analysis",
            f"Lines use {len(missing)} analysis value(s) not in the AnalysisTypeTable: "
            f"{', '.join(shown)} (first in {c.used_analysis.first[missing[0]]})",
            references=examples,
        )
    for code, span in c.used_tax.items():
        versions = c.tax_codes.get(code)
        if not versions:
            continue
        for day in span:
            if not any(_valid_on(v, day) for v in versions):
                r.warn(
                    "tax_code_date",
                    f"Tax code {code} is used on {day}, outside its validity in the TaxTable",
                    tax_code=code,
                    date=day,
                )
                break


def _valid_on(v: TaxCodeDetail, day: date) -> bool:
    return (v.effective_date is None or v.effective_date <= day) and (
        v.expiration_date is None or day <= v.expiration_date
    )


def _check_balances(c: Collector, r: Report) -> None:
    if not c.accounts:
        return
    opening_sum = sum((a.opening for a in c.accounts.values()), ZERO)
    closing_sum = sum((a.closing for a in c.accounts.values()), ZERO)
    if opening_sum != 0:
        r.warn(
            "opening_balance_sum", f"Opening balances sum to {_m(opening_sum)}, not 0.00", sum=_m(opening_sum)
        )
    if closing_sum != 0:
        r.warn(
            "closing_balance_sum", f"Closing balances sum to {_m(closing_sum)}, not 0.00", sum=_m(closing_sum)
        )
    for acc_id, acc in sorted(c.accounts.items()):
        movement = c.movements.get(acc_id, ZERO)
        expected = acc.opening + movement
        if expected != acc.closing:
            r.warn(
                "closing_balance",
                f"Account {acc_id}: opening {_m(acc.opening)} + movements {_m(movement)} = {_m(expected)}, "
                f"but the file's closing balance is {_m(acc.closing)} "
                f"(difference {_m(acc.closing - expected)})",
                account=acc_id,
                opening=_m(acc.opening),
                movements=_m(movement),
                expected=_m(expected),
                closing=_m(acc.closing),
                difference=_m(acc.closing - expected),
            )


def _check_subledgers(c: Collector, r: Report) -> None:
    for kind in ("customer", "supplier"):
        opening: dict[str, Decimal] = defaultdict(lambda: ZERO)
        closing: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for (k, pid), party in sorted(c.parties.items()):
            if k != kind:
                continue
            for ba in party.balances:
                if not ba.account_id:
                    continue
                opening[ba.account_id] += ba.opening
                closing[ba.account_id] += ba.closing
                movement = c.party_movements.get((kind, pid, ba.account_id), ZERO)
                if ba.opening + movement != ba.closing:
                    r.warn(
                        "party_balance",
                        f"{kind.title()} {pid} on {ba.account_id}: opening {_m(ba.opening)} + movements "
                        f"{_m(movement)} = {_m(ba.opening + movement)}, but its closing balance is "
                        f"{_m(ba.closing)}",
                        kind=kind,
                        party=pid,
                        account=ba.account_id,
                        opening=_m(ba.opening),
                        movements=_m(movement),
                        expected=_m(ba.opening + movement),
                        closing=_m(ba.closing),
                        difference=_m(ba.closing - ba.opening - movement),
                    )
        for acc_id in sorted(closing):
            gl = c.accounts.get(acc_id)
            if gl is None:
                if c.accounts:
                    r.warn(
                        "balance_account",
                        f"{kind.title()} balances are kept on account {acc_id}, which is not in "
                        "GeneralLedgerAccounts",
                        kind=kind,
                        account=acc_id,
                    )
                continue
            for what, sub, gl_value in (
                ("opening", opening[acc_id], gl.opening),
                ("closing", closing[acc_id], gl.closing),
            ):
                if sub != gl_value:
                    r.warn(
                        "subledger_total",
                        f"{kind.title()}s' {what} balances on {acc_id} sum to {_m(sub)}, but the account's "
                        f"{what} balance is {_m(gl_value)} (difference {_m(gl_value - sub)})",
                        kind=kind,
                        account=acc_id,
                        balance=what,
                        subledger=_m(sub),
                        account_balance=_m(gl_value),
                        difference=_m(gl_value - sub),
                    )


def _check_notes(c: Collector, r: Report) -> None:
    h = c.header()
    start, end = c.start_date(), c.end_date()
    if h and (h.selection_start or h.period_start) and c.first_date and start and c.first_date < start:
        r.warn(
            "outside_selection",
            f"Entries from {c.first_date}, before the file's selection starts ({start})",
            first_entry=c.first_date,
            selection_start=start,
        )
    if h and (h.selection_end or h.period_end) and c.last_date and end and c.last_date > end:
        r.warn(
            "outside_selection",
            f"Entries until {c.last_date}, after the file's selection ends ({end})",
            last_entry=c.last_date,
            selection_end=end,
        )
    if c.duplicate_tx_count:
        r.warn(
            "duplicate_transaction_id",
            f"{c.duplicate_tx_count} transaction(s) reuse a TransactionID (e.g. {c.duplicate_tx[0]}); "
            "they are imported as separate entries with the same voucher number",
            examples=c.duplicate_tx,
            count=c.duplicate_tx_count,
        )
    if c.renumbered:
        r.warn(
            "transaction_id_renumbered",
            f"{c.renumbered} TransactionID(s) are not numbers (e.g. {c.renumbered_example!r}); Saldo voucher "
            "numbers are integers, so these entries are numbered by their sequence",
            count=c.renumbered,
        )
    if c.multi_tax_lines:
        r.warn(
            "multiple_tax_information",
            f"{c.multi_tax_lines} line(s) carry more than one TaxInformation; the first is kept",
            count=c.multi_tax_lines,
        )
    if c.analysis_amount_lines:
        r.warn(
            "analysis_amount",
            f"{c.analysis_amount_lines} line(s) split their amount across analysis values; Saldo tags the "
            "whole line with each value (the partial amounts are not kept)",
            count=c.analysis_amount_lines,
        )
