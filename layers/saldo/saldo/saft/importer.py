"""Importing SAF-T Financial files into a client account: whole or not at all.

1. Every uploaded file (or zip member) streams through the parser once (parsed and validated in a reader
   process, see parser.py). Master data is collected in memory (it is small); transactions are checked as
   they arrive and spilled as staging rows to scratch files, so memory does not grow with the number of
   lines.
2. The checks run (validation.py) against the file and what the client account already has. Any error
   refuses the import before anything is written.
3. The client account is found by `RegistrationNumber` (or created), and master data and all entries land
   in ONE ledger commit (`LedgerStore.commit`): a new master data document and the segments of lines (one
   per `SEGMENT_LINES`), swapped in with the manifest. A crash or a lost race writes nothing visible.

Opening balances: a client account's opening balances apply before its first entry. They are taken from
the file when the ledger has no entries before the file's start; otherwise the ledger keeps its own and a
difference to the file's is reported as a warning.
"""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import ValidationError

from saldo.errors import Conflict
from saldo.ledger import regno as regnos
from saldo.ledger.masterdata import MasterData
from saldo.ledger.models import (
    AccountIn,
    BusinessPartnerIn,
    ClientAccount,
    ClientAccountIn,
    DimensionIn,
    GroupingIn,
    TaxCodeIn,
)
from saldo.ledger.schema import LINE_COLUMNS
from saldo.ledger.store import Change, LedgerStore, Manifest
from saldo.saft import SaftError
from saldo.saft.codes import STANDARD_TAX_CODES
from saldo.saft.mapping import (
    CODE_RE,
    DEFAULT_ANALYSIS_TYPES,
    SAFT_BATCH,
    extras_of,
    first,
    guess_dimension_type,
    is_130_category,
    natural_id,
    next_free,
    one_line_address,
    reverse,
    saldo_code,
)
from saldo.saft.model import Line, Party, TaxCodeDetail, Transaction
from saldo.saft.parser import SaftParser
from saldo.saft.safety import DEFAULT_LIMITS, Limits, Part, Source, expand
from saldo.saft.validation import Collector, Known, Report, check

ZERO = Decimal("0.00")
RATE_Q = Decimal("0.000001")
CENT = Decimal("0.01")
STANDARD_CODE_RE = re.compile(r"^[0-9anAN]{1,2}$")
DOC_TYPE_RE = re.compile(r"^[A-Z_]{1,40}$")
MAX_IMPORT_RECORDS = 100

Progress = Callable[[int, str], None]


@dataclass
class ImportRequest:
    org_id: str
    import_id: str
    sources: list[Source]
    #: When given, the file must be for this client account (its registration number).
    client_account_id: int | None = None
    #: The caller's grant (None: every client account of the organization; may create new ones).
    allowed: frozenset[int] | None = None
    validate_only: bool = False
    #: Add the file's entries even when the client account already has entries in the file's period.
    allow_overlap: bool = False


@dataclass
class ImportOutcome:
    status: str  # SUCCEEDED | FAILED
    client_account_id: int | None = None
    created_client_account: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    ledger_version: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "client_account_id": self.client_account_id,
            "created_client_account": self.created_client_account,
            "counts": self.counts,
            "summary": self.summary,
            "warnings": self.warnings,
            "errors": self.errors,
        }


class _LedgerMoved(Exception):
    """The ledger changed between inspecting it and committing; inspect again."""


# ------------------------------------------------------------------ the spill of transactions
#: Lines per ledger segment an import writes: several segments per import (one commit), so the memory of
#: writing one does not grow with the file. Compaction merges them later.
SEGMENT_LINES = 200_000

_TX_COLUMNS = {
    "tx": "BIGINT",
    "first_line": "BIGINT",
    "voucher": "BIGINT",
    "posting_date": "DATE",
    "entry_description": "VARCHAR",
    "user_ix": "INTEGER",
    "created_by_name": "VARCHAR",
    "doc_type": "VARCHAR",
    "partners_ix": "INTEGER",
    "voucher_type": "VARCHAR",
}
_LINE_COLUMNS = {
    "tx": "BIGINT",
    "n": "INTEGER",
    "account_ix": "INTEGER",
    "description": "VARCHAR",
    "amount": "DECIMAL(18,2)",
    "currency_code": "VARCHAR",
    "currency_amount": "DECIMAL(18,2)",
    "exchange_rate": "DECIMAL(18,6)",
    "tax_ix": "INTEGER",
    "tax_base": "DECIMAL(18,2)",
    "tax_amount": "DECIMAL(18,2)",
    "customer_ix": "INTEGER",
    "supplier_ix": "INTEGER",
    "dims_ix": "INTEGER",
    "ro_document_number": "VARCHAR",
    "ro_due_date": "DATE",
    "ro_payment_ref": "VARCHAR",
    "line_due_date": "DATE",
}


class _Ids(dict[Any, int]):
    """Distinct values in order of first use; a value's index is its position."""

    def ix(self, value: Any) -> int:
        found = self.get(value)
        if found is None:
            found = self[value] = len(self)
        return found


@dataclass
class _Chunk:
    lines_path: Path
    txs_path: Path
    lines: int = 0


class Spill:
    """The file's transactions as staging rows of ledger segments: CSV files in a scratch directory, a
    pair (lines, transactions) per segment of at most `SEGMENT_LINES` lines.

    A row carries everything that does not depend on the ledger the file goes into, computed here while
    the file streams (the entry-level related object, descriptions cut to size, signed amounts, the
    exchange rate, the first coded tax); what does depend on it (Saldo ids of accounts, tax codes,
    partners, dimensions and users; entry and line ids) is an index into the file's distinct SAF-T ids
    (`accounts`, `tax_codes`, ...), which `SegmentSource` resolves in SQL at commit.
    """

    def __init__(self, directory: str | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="saldo-saft-", suffix=".spill", dir=directory))
        self.transactions = 0
        self.lines = 0
        self.chunks: list[_Chunk] = []
        self.accounts = _Ids()
        self.tax_codes = _Ids()
        self.customers = _Ids()
        self.suppliers = _Ids()
        self.analysis = _Ids()  # (type, id)
        self.dims = _Ids()  # tuple of analysis indices, in order, without repeats
        self.users = _Ids()  # SourceID
        self.partners = _Ids()  # frozenset of ("c" | "s", index): a voucher's customers and suppliers
        self.dims.ix(())
        self._fhs: list[Any] = []
        self._lines_csv: Any = None
        self._txs_csv: Any = None

    def _next_chunk(self) -> None:
        self.close()
        k = len(self.chunks)
        chunk = _Chunk(self.dir / f"lines-{k}.csv", self.dir / f"txs-{k}.csv")
        self.chunks.append(chunk)
        self._fhs = [
            chunk.lines_path.open("w", newline="", encoding="utf-8", buffering=1 << 20),
            chunk.txs_path.open("w", newline="", encoding="utf-8", buffering=1 << 18),
        ]
        self._lines_csv = csv.writer(self._fhs[0], lineterminator="\n").writerows
        self._txs_csv = csv.writer(self._fhs[1], lineterminator="\n").writerow

    def add(self, tx: Transaction) -> None:
        if not self.chunks or self.chunks[-1].lines >= SEGMENT_LINES:
            self._next_chunk()
        lines = tx.lines
        tx_no = self.transactions
        # The entry-level related object: a value every line that has one agrees on applies to the others
        # too. The voucher's party becomes the related object's business partner when the voucher is a
        # document with one reference (an invoice or credit note); the party's own lines always carry it as
        # their relation. (Which Saldo partner a party is, is known at commit: `partners_ix`.)
        entry_ref = _unique([ln.reference_number for ln in lines])
        entry_due = _unique([ln.due_date for ln in lines])
        entry_cid = _unique([ln.cid for ln in lines])
        parties = set()
        rows = []
        ids_acc, ids_tax, ids_cust, ids_sup = self.accounts, self.tax_codes, self.customers, self.suppliers
        account_ix = ids_acc.get
        for n, line in enumerate(lines, start=1):
            customer_ix = supplier_ix = None
            if line.customer_id:
                customer_ix = ids_cust.ix(line.customer_id)
                parties.add(("c", customer_ix))
            elif line.supplier_id:
                supplier_ix = ids_sup.ix(line.supplier_id)
                parties.add(("s", supplier_ix))
            tax = None
            for t in line.taxes:
                if t.code:
                    tax = t
                    break
            dims_ix = 0
            if line.analysis:
                pairs: list[int] = []
                for a in line.analysis:
                    pair = self.analysis.ix((a.type, a.id))
                    if pair not in pairs:
                        pairs.append(pair)
                dims_ix = self.dims.ix(tuple(pairs))
            amount = line.amount
            code = line.currency_code or None
            acc = account_ix(line.account_id)
            rows.append(
                (
                    tx_no,
                    n,
                    acc if acc is not None else ids_acc.ix(line.account_id),
                    line.description[:512] or None,
                    amount,
                    code,
                    (line.currency_amount if line.currency_amount is not None else amount) if code else None,
                    _rate(line) if code else None,
                    ids_tax.ix(tax.code) if tax else None,
                    _cents(tax.base) if tax and tax.base is not None else None,
                    (tax.amount if tax.amount is not None else ZERO) if tax else None,
                    customer_ix,
                    supplier_ix,
                    dims_ix,
                    (line.reference_number or entry_ref or "")[:64] or None,
                    line.due_date or entry_due,
                    (line.cid or entry_cid or "")[:64] or None,
                    line.due_date,  # the line's own, as the file has it (the export writes it back)
                )
            )
        self._lines_csv(rows)
        source = tx.source_id
        self._txs_csv(
            (
                tx_no,
                self.lines,
                voucher_number(tx.id),
                tx.date,
                tx.description[:512] or None,
                self.users.ix(source) if source else None,
                source[:256] if source else None,
                tx.voucher_type if tx.voucher_type and DOC_TYPE_RE.match(tx.voucher_type) else None,
                self.partners.ix(frozenset(parties)) if entry_ref is not None else None,
                tx.voucher_type or None,  # as in the file, whatever its form (the export writes it back)
            )
        )
        self.transactions += 1
        self.lines += len(lines)
        self.chunks[-1].lines += len(lines)

    def close(self) -> None:
        for fh in self._fhs:
            fh.close()
        self._fhs = []

    def delete(self) -> None:
        self.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def _cents(value: Decimal) -> Decimal | str:
    try:
        return value.quantize(CENT)
    except InvalidOperation:  # beyond any amount the ledger holds: the segment write refuses it
        return str(value)


def _unique(values: list[Any]) -> Any:
    found = {v for v in values if v is not None}
    return found.pop() if len(found) == 1 else None


def _rate(line: Line) -> Decimal:
    """The line's exchange rate; derived from its two amounts when the file gives none."""
    rate = line.exchange_rate
    if rate is None and line.currency_amount:
        rate = line.amount / line.currency_amount
    return (rate or Decimal(1)).quantize(RATE_Q, ROUND_HALF_EVEN)


def voucher_number(tx_id: str) -> int | None:
    return natural_id(tx_id)


# ------------------------------------------------------------------ rows
class SegmentSource:
    """The ledger segments of an import, written from the spill at commit (`LedgerStore` calls
    `write_segments` once per attempt): one DuckDB query per chunk maps the file's ids to Saldo's and
    allocates entry and line ids from the counters, and writes the Parquet segment. The rows are the ones
    `saldo.ledger.posting.entry_rows` writes for an entry, one per line."""

    def __init__(
        self,
        spill: Spill,
        maps: Maps,
        account: ClientAccount,
        *,
        first_entry_id: int,
        first_line_uid: int,
        first_sequence: int,
        batch_id: str,
        created_at: datetime,
    ) -> None:
        self.spill = spill
        self.maps = maps
        self.account = account
        self.first_entry_id = first_entry_id
        self.first_line_uid = first_line_uid
        self.first_sequence = first_sequence
        self.batch_id = batch_id
        self.created_at = created_at

    def __len__(self) -> int:
        return self.spill.lines

    def __bool__(self) -> bool:
        return self.spill.lines > 0

    def _parameters(self) -> dict[str, Any]:
        m, s = self.maps, self.spill
        customers = [m.customers.get(k) for k in s.customers]
        suppliers = [m.suppliers.get(k) for k in s.suppliers]
        keys = [m.dimensions.get(pair) for pair in s.analysis]
        dims = []
        for combo in s.dims:
            out: list[str] = []
            for ix in combo:
                key = keys[ix]
                if key and key not in out:
                    out.append(key)
            dims.append(out)
        partners = []
        for combo in s.partners:
            found = {(customers if kind == "c" else suppliers)[ix] for kind, ix in combo}
            partners.append(_unique(list(found)))
        return {
            "accounts": [m.account(k) for k in s.accounts],
            "tax_codes": [m.tax_code(k) for k in s.tax_codes],
            "customers": customers,
            "suppliers": suppliers,
            "dims": dims,
            "users": [m.users.get(k) for k in s.users],
            "partners": partners,
            "currency": self.account.currency,
            "entry0": self.first_entry_id,
            "uid0": self.first_line_uid,
            "seq0": self.first_sequence,
            "batch_id": self.batch_id,
            "created_at": self.created_at,
        }

    def write_segments(self, directory: Path) -> Iterator[tuple[Path, int]]:
        import duckdb

        self.spill.close()
        params = self._parameters()
        con = duckdb.connect(config={"threads": SEGMENT_THREADS, "memory_limit": SEGMENT_MEMORY})
        try:
            con.execute(f"SET temp_directory = '{_sql_text(str(directory))}'")
            for k, chunk in enumerate(self.spill.chunks):
                if not chunk.lines:
                    continue
                target = directory / f"lines-{k}.parquet"
                con.execute(_segment_sql(chunk, target), params)
                yield target, chunk.lines
        finally:
            con.close()


#: One thread: the join keeps the lines' order (no sort needed).
SEGMENT_THREADS = 1
SEGMENT_MEMORY = "256MB"
#: DuckDB holds a row group in memory while it writes it: 30,720 rows is ~80 MB less than 122,880.
SEGMENT_ROW_GROUP = 30_720

# Each column of a segment row, from the staging rows `l` (lines) and `t` (transactions).
_FOREIGN = "(l.currency_code IS NOT NULL AND l.currency_code <> $currency)"
_SEGMENT_EXPRESSIONS = {
    "line_uid": "$uid0 + t.first_line + l.n - 1",
    "line_id": "l.n",
    "entry_id": "$entry0 + t.tx",
    "entry_version": "1",
    "sequence_number": "$seq0 + t.tx",
    "voucher_id": "coalesce(t.voucher, $seq0 + t.tx)",
    "posting_date": "t.posting_date",
    "account_code": "CAST($accounts AS VARCHAR[])[l.account_ix + 1]",
    "description": "l.description",
    "entry_description": "t.entry_description",
    "debit": "CASE WHEN l.amount > 0 THEN l.amount ELSE 0 END",
    "credit": "CASE WHEN l.amount < 0 THEN -l.amount ELSE 0 END",
    "currency_code": f"CASE WHEN {_FOREIGN} THEN l.currency_code ELSE $currency END",
    "currency_amount": f"CASE WHEN {_FOREIGN} THEN l.currency_amount ELSE l.amount END",
    "exchange_rate": f"CASE WHEN {_FOREIGN} THEN l.exchange_rate ELSE 1 END",
    "tax_code": "CAST($tax_codes AS VARCHAR[])[l.tax_ix + 1]",
    "tax_base_amount": "l.tax_base",
    "tax_amount": "l.tax_amount",
    "relation_type": "CASE WHEN l.partner IS NOT NULL THEN 'businesspartner' END",
    "relation_id": "l.partner",
    "dimensions": "CAST($dims AS VARCHAR[][])[l.dims_ix + 1]",
    "is_draft": "false",
    "created_by_id": "CAST($users AS BIGINT[])[t.user_ix + 1]",
    "created_by_name": "t.created_by_name",
    "ro_id": "NULL",
    "ro_document_number": "l.ro_document_number",
    "ro_document_date": "NULL",
    "ro_due_date": "l.ro_due_date",
    "ro_payment_ref": "l.ro_payment_ref",
    "ro_document_type": "t.doc_type",
    "ro_business_partner_id": "CAST($partners AS BIGINT[])[t.partners_ix + 1]",
    "reversal_of": "NULL",
    "batch_id": "$batch_id",
    "created_at": "$created_at",
    "voucher_type": "t.voucher_type",
    "line_due_date": "l.line_due_date",
}


def _sql_text(value: str) -> str:
    return value.replace("'", "''")


def _read_csv(path: Path, columns: dict[str, str]) -> str:
    spec = ", ".join(f"'{name}': '{sql_type}'" for name, sql_type in columns.items())
    return (
        f"read_csv('{_sql_text(str(path))}', header=false, auto_detect=false, columns={{{spec}}}, "
        "delim=',', quote='\"', escape='\"', nullstr='')"
    )


def _segment_sql(chunk: _Chunk, target: Path) -> str:
    selects = ", ".join(
        f"CAST({_SEGMENT_EXPRESSIONS[name]} AS {sql_type}) AS {name}" for name, sql_type in LINE_COLUMNS
    )
    partner = (
        "CASE WHEN customer_ix IS NOT NULL THEN CAST($customers AS BIGINT[])[customer_ix + 1] "
        "WHEN supplier_ix IS NOT NULL THEN CAST($suppliers AS BIGINT[])[supplier_ix + 1] END AS partner"
    )
    lines = f"(SELECT *, {partner} FROM {_read_csv(chunk.lines_path, _LINE_COLUMNS)})"
    return (
        f"COPY (SELECT {selects} FROM {lines} l "
        f"JOIN {_read_csv(chunk.txs_path, _TX_COLUMNS)} t ON l.tx = t.tx) "
        f"TO '{_sql_text(str(target))}' "
        f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {SEGMENT_ROW_GROUP})"
    )


# ------------------------------------------------------------------ mapping file → Saldo records
@dataclass
class Maps:
    """SAF-T id → Saldo id for everything lines refer to (identity where nothing was remembered)."""

    accounts: dict[str, str]
    tax_codes: dict[str, str]
    customers: dict[str, int]
    suppliers: dict[str, int]
    dimensions: dict[tuple[str, str], str]
    users: dict[str, int]

    def account(self, saft_id: str) -> str:
        return self.accounts.get(saft_id, saft_id)

    def tax_code(self, saft_code: str) -> str:
        return self.tax_codes.get(saft_code, saft_code)


def _partner_rev(extras: dict[str, Any], kind: str) -> dict[str, int]:
    return {
        str(v[f"{kind}_id"]): int(k) for k, v in extras["partners"].items() if v.get(f"{kind}_id") is not None
    }


def known_in(master: MasterData) -> Known:
    """What a file without master data may refer to in this client account, by SAF-T id."""
    extras = extras_of(master.saft)
    known = Known()
    mapped_accounts = reverse(extras["accounts"], "id")
    known.accounts = set(mapped_accounts) | {
        c for c in master.accounts if c not in set(mapped_accounts.values())
    }
    mapped_tax = reverse(extras["tax_codes"], "id")
    known.tax_codes = set(mapped_tax) | {c for c in master.tax_codes if c not in set(mapped_tax.values())}
    for kind in ("customer", "supplier"):
        rev = _partner_rev(extras, kind)
        native = {
            str(pid)
            for pid, bp in master.business_partners.items()
            if bp.get("kind") in (kind, "both") and str(pid) not in extras["partners"]
        }
        getattr(known, f"{kind}s").update(set(rev) | native)
    for key, rec in extras["dimensions"].items():
        if key in master.dimensions:
            known.analysis.add((rec["type"], rec["id"]))
    for key, dim in master.dimensions.items():
        if key not in extras["dimensions"] and dim["type"] != "businesspartner":
            known.analysis.add((DEFAULT_ANALYSIS_TYPES[dim["type"]][0], str(dim["id"])))
    return known


def _choose_version(
    versions: list[TaxCodeDetail], day: date | None
) -> tuple[TaxCodeDetail, list[TaxCodeDetail]]:
    def valid(v: TaxCodeDetail) -> bool:
        return (
            day is not None
            and (v.effective_date is None or v.effective_date <= day)
            and (v.expiration_date is None or day <= v.expiration_date)
        )

    ranked = sorted(versions, key=lambda v: (valid(v), v.effective_date or date.min))
    chosen = ranked[-1]
    return chosen, [v for v in versions if v is not chosen]


def _tax_detail_dict(v: TaxCodeDetail) -> dict[str, Any]:
    return {
        "code": v.code,
        "standard_code": v.standard_code,
        "description": v.description,
        "percentage": str(v.percentage) if v.percentage is not None else None,
        "country": v.country,
        "effective_date": v.effective_date.isoformat() if v.effective_date else None,
        "expiration_date": v.expiration_date.isoformat() if v.expiration_date else None,
        "compensation": v.compensation,
        "base_rates": [str(b) for b in v.base_rates],
    }


def apply_master(
    c: Collector,
    master: MasterData,
    *,
    set_opening: bool,
    import_record: dict[str, Any],
) -> Maps:
    """Upsert the file's master data into `master` (in place) and return the id maps for its lines."""
    extras = extras_of(master.saft)
    header = c.header()
    if header is not None and header.company:
        extras["company"] = {k: v[:3] for k, v in header.company.items()}

    # ---- accounts
    account_rev = reverse(extras["accounts"], "id")
    taken = set(master.accounts) | set(account_rev.values())
    accounts: dict[str, str] = dict(account_rev)
    for saft_id in sorted(set(c.accounts) | set(c.used_accounts.first)):
        if saft_id in accounts:
            continue
        code = saft_id if CODE_RE.match(saft_id) else saldo_code(saft_id, taken)
        taken.add(code)
        accounts[saft_id] = code
    account_items = []
    for saft_id, acc in c.accounts.items():
        code = accounts[saft_id]
        existing = master.accounts.get(code) or {}
        ext = extras["accounts"].setdefault(code, {})
        if code != saft_id:
            ext["id"] = saft_id
        if acc.standard_account_id:
            ext["standard_account_id"] = acc.standard_account_id
        category, gcode = acc.grouping_category, acc.grouping_code
        if category and not is_130_category(category):
            ext["grouping_legacy"] = {"category": category, "code": gcode}  # a 1.20 form (RF-1167, ...)
            category = gcode = None
        if category and len(category) > 40:
            ext["grouping_category"] = category
            category = None
        if gcode and len(gcode) > 40:
            gcode = None
        if not ext:
            extras["accounts"].pop(code, None)
        account_items.append(
            AccountIn(
                code=code,
                name=(acc.description or saft_id)[:256],
                grouping=GroupingIn(**existing["grouping"]) if existing.get("grouping") else None,
                saft_grouping_category=category or existing.get("saft_grouping_category"),
                saft_grouping_code=gcode or existing.get("saft_grouping_code"),
                opening_balance=acc.opening if set_opening else existing.get("opening_balance", ZERO),
                active=True,
            )
        )
    master.upsert_accounts(account_items)

    # ---- tax codes
    tax_rev = reverse(extras["tax_codes"], "id")
    taken_tax = set(master.tax_codes) | set(tax_rev.values())
    tax_codes: dict[str, str] = dict(tax_rev)
    tax_items = []
    for saft_code in sorted(set(c.tax_codes) | set(c.used_tax)):
        if saft_code not in tax_codes:
            code = saft_code if CODE_RE.match(saft_code) else saldo_code(saft_code, taken_tax)
            taken_tax.add(code)
            tax_codes[saft_code] = code
        versions = c.tax_codes.get(saft_code)
        if not versions:
            continue
        code = tax_codes[saft_code]
        chosen, others = _choose_version(versions, c.last_date)
        std = (
            chosen.standard_code.strip().upper()
            if STANDARD_CODE_RE.match(chosen.standard_code.strip())
            else "NA"
        )
        direction, _rate_class, std_text = STANDARD_TAX_CODES.get(std, ("none", "", ""))
        existing = master.tax_codes.get(code) or {}
        rate = chosen.percentage if chosen.percentage is not None else ZERO
        tax_items.append(
            TaxCodeIn(
                code=code,
                description=(chosen.description or std_text or f"MVA {saft_code}")[:256],
                rate=min(max(rate, ZERO), Decimal(1000)).quantize(RATE_Q),
                standard_tax_code=std,
                direction=direction,  # type: ignore[arg-type]
                base_rate=(chosen.base_rates[0] if chosen.base_rates else Decimal(100)).quantize(RATE_Q),
                account_code=existing.get("account_code"),
                valid_from=chosen.effective_date,
                valid_to=chosen.expiration_date,
            )
        )
        ext: dict[str, Any] = {}
        if code != saft_code:
            ext["id"] = saft_code
        if len(chosen.base_rates) > 1:
            ext["base_rates"] = [str(b) for b in chosen.base_rates]
        if chosen.compensation is not None:
            ext["compensation"] = chosen.compensation
        if chosen.country and chosen.country != "NO":
            ext["country"] = chosen.country
        if chosen.flat_rate is not None:
            ext["flat_rate"] = str(chosen.flat_rate)
        if others:
            ext["versions"] = [_tax_detail_dict(v) for v in others]
        if ext:
            extras["tax_codes"][code] = ext
        else:
            extras["tax_codes"].pop(code, None)
    master.upsert_tax_codes(tax_items)

    # ---- analysis types and values → dimensions
    types = extras["analysis_types"]
    claimed = {v["dimension_type"] for v in types.values() if v.get("dimension_type") != "tag"}
    for saft_type, description in c.analysis_types.items():
        if saft_type in types:
            types[saft_type]["description"] = description or types[saft_type].get("description", "")
            continue
        guess = guess_dimension_type(saft_type, description)
        if guess != "tag" and guess in claimed:
            guess = "tag"
        claimed.add(guess)
        types[saft_type] = {"description": description, "dimension_type": guess}
    dim_rev = {(v["type"], v["id"]): k for k, v in extras["dimensions"].items()}
    dimensions: dict[tuple[str, str], str] = dict(dim_rev)
    used_ids: dict[str, set[int]] = {}
    for dim in master.dimensions.values():
        used_ids.setdefault(dim["type"], set()).add(int(dim["id"]))
    dim_items = []
    for (saft_type, saft_id), entry in c.analysis.items():
        key = dimensions.get((saft_type, saft_id))
        dim_type = types[saft_type]["dimension_type"]
        if key is None:
            used = used_ids.setdefault(dim_type, set())
            natural = natural_id(saft_id)
            if natural is not None and natural in used:
                current = master.dimensions.get(f"{dim_type}:{natural}") or {}
                same = f"{dim_type}:{natural}" not in extras["dimensions"] and (
                    current.get("code") == saft_id or current.get("name") == entry.id_description
                )
                dim_id = natural if same else next_free(None, used)
            else:
                dim_id = next_free(natural, used)
            used.add(dim_id)
            key = f"{dim_type}:{dim_id}"
            dimensions[(saft_type, saft_id)] = key
        dim_type, dim_id_text = key.split(":", 1)
        dim_items.append(
            DimensionIn(
                type=dim_type,  # type: ignore[arg-type]
                id=int(dim_id_text),
                name=(entry.id_description or saft_id)[:256],
                code=saft_id if len(saft_id) <= 40 else None,
                active=(entry.status or "Active") not in ("Closed", "Passive"),
            )
        )
        rec: dict[str, Any] = {"type": saft_type, "id": saft_id}
        for attr in ("start_date", "end_date"):
            value = getattr(entry, attr)
            if value:
                rec[attr] = value.isoformat()
        if entry.status:
            rec["status"] = entry.status
        extras["dimensions"][key] = rec
    master.upsert_dimensions(dim_items)
    # Native dimensions (no SAF-T origin) are referred to by their default type code and code/id.
    for key, dim in master.dimensions.items():
        if key not in extras["dimensions"] and dim["type"] != "businesspartner":
            dimensions.setdefault((DEFAULT_ANALYSIS_TYPES[dim["type"]][0], str(dim["id"])), key)

    # ---- customers and suppliers → business partners
    revs = {kind: _partner_rev(extras, kind) for kind in ("customer", "supplier")}
    used_partners = set(master.business_partners)
    partner_items = []
    names: dict[int, str] = {pid: str(bp.get("name", "")) for pid, bp in master.business_partners.items()}
    for (kind, saft_id), party in c.parties.items():
        pid = revs[kind].get(saft_id)
        if pid is None:
            natural = natural_id(saft_id)
            if natural is not None and natural in used_partners:
                ext = extras["partners"].get(str(natural))
                other = "supplier" if kind == "customer" else "customer"
                same_name = names.get(natural, "").casefold() == party.name.casefold()
                same = (ext is None and same_name) or (
                    ext is not None
                    and (
                        ext.get(f"{kind}_id") == saft_id or (ext.get(f"{other}_id") == saft_id and same_name)
                    )
                )
                pid = natural if same else next_free(None, used_partners)
            else:
                pid = next_free(natural, used_partners)
            used_partners.add(pid)
            revs[kind][saft_id] = pid
        names[pid] = party.name
        ext = extras["partners"].setdefault(str(pid), {})
        ext[f"{kind}_id"] = saft_id
        other = "supplier" if kind == "customer" else "customer"
        existing_kind = (master.business_partners.get(pid) or {}).get("kind")
        both = ext.get(f"{other}_id") is not None or existing_kind in (other, "both")
        partner_items.append(_partner_in(pid, party, "both" if both else kind))
        address = first(party.addresses)
        if address:
            ext["address"] = address
        if set_opening:
            opening = {b.account_id: str(b.opening) for b in party.balances if b.account_id}
            if opening:
                ext.setdefault("opening", {}).update({accounts.get(k, k): v for k, v in opening.items()})
    master.upsert_business_partners(partner_items)
    if set_opening and c.start_date() is not None:
        # The day the parties' opening balances are dated in open-item reports (MasterData.party_openings).
        extras["opening_date"] = c.start_date().isoformat()
    # Partners from the JSON API are referred to by their id.
    for pid, bp in master.business_partners.items():
        for kind in ("customer", "supplier"):
            if bp.get("kind") in (kind, "both") and str(pid) not in extras["partners"]:
                revs[kind].setdefault(str(pid), pid)

    # ---- users (SourceID) and the import itself
    users: dict[str, int] = {str(k): int(v) for k, v in extras["users"].items()}
    for source_id in sorted(c.source_ids):
        if source_id not in users:
            users[source_id] = max(users.values(), default=0) + 1
    extras["users"] = users
    extras["imports"] = (extras["imports"] + [import_record])[-MAX_IMPORT_RECORDS:]
    master.saft = extras
    return Maps(accounts, tax_codes, revs["customer"], revs["supplier"], dimensions, users)


def _partner_in(pid: int, party: Party, kind: str) -> BusinessPartnerIn:
    address = first(party.addresses) or {}
    contact = first(party.contacts) or {}
    country = str(address.get("Country") or "").strip().upper()
    regno = re.sub(r"\s+", "", str(party.registration_number or ""))
    email = str(contact.get("Email") or "").strip()
    return BusinessPartnerIn(
        id=pid,
        name=(party.name or f"{party.kind} {party.id}")[:256],
        kind=kind,  # type: ignore[arg-type]
        registration_number=regno[:20] or None,
        country=country if re.fullmatch(r"[A-Z]{2}", country) else None,
        email=email[:256] or None,
        address=one_line_address(address),
    )


# ------------------------------------------------------------------ the importer
@dataclass
class Existing:
    account: ClientAccount | None
    master: MasterData
    version: int
    balances_before: dict[str, Decimal] = field(default_factory=dict)
    lines_before: int = 0
    overlap_entries: int = 0


class Importer:
    def __init__(
        self,
        store: LedgerStore,
        repo: Any,
        *,
        publish: Callable[[str, dict[str, Any]], None] | None = None,
        progress: Progress | None = None,
        limits: Limits = DEFAULT_LIMITS,
        workdir: str | None = None,
    ) -> None:
        self.store = store
        self.repo = repo
        self.publish = publish or (lambda _t, _d: None)
        self.progress = progress or (lambda _p, _s: None)
        self.limits = limits
        self.workdir = workdir

    # ---------------------------------------------------------- parse
    def parse(self, parts: list[Part]) -> tuple[Collector, Spill, str]:
        collector = Collector()
        spill = Spill(self.workdir)
        digest = hashlib.sha256()
        total = sum(p.size for p in parts) or 1
        done = 0
        last = 0.0
        try:
            for part in parts:
                stats = collector.file(part.name)
                collector.sequences.append(part.sequence)
                with part.open() as raw:
                    stream = _Hashing(raw, digest)
                    parser = SaftParser(
                        stream, name=part.name.rsplit("!", 1)[-1], limits=self.limits, reopen=part.open
                    )
                    for kind, rec in parser:
                        if kind == "transaction":
                            collector.add_transaction(rec, stats)
                            spill.add(rec)
                            if time.monotonic() - last > 1.0:
                                last = time.monotonic()
                                pct = int(90 * (done + parser.bytes_read) / total)
                                self.progress(min(pct, 90), "parsing")
                        elif kind == "account":
                            collector.add_account(rec)
                        elif kind in ("customer", "supplier"):
                            collector.add_party(rec)
                        elif kind == "tax_code":
                            collector.add_tax_code(rec)
                        elif kind == "analysis":
                            collector.add_analysis(rec)
                        elif kind == "header":
                            stats.header = rec
                            import duckdb  # noqa: F401 - for the commit; loads while the reader parses
                        elif kind == "totals":
                            stats.totals = rec
                        elif kind == "owner":
                            collector.owners += 1
                    stats.version = parser.version
                done += part.size
            spill.close()
            return collector, spill, digest.hexdigest()
        except BaseException:
            spill.delete()
            raise

    # ---------------------------------------------------------- existing ledger
    def inspect(
        self, org_id: str, account: ClientAccount | None, start: date | None, end: date | None
    ) -> Existing:
        if account is None:
            return Existing(None, MasterData(), 0)
        manifest = self.store.manifest(org_id, account.id)
        master = self.store.master(manifest)
        existing = Existing(account, master, manifest.version)
        if manifest.segment_keys("lines") and start is not None:
            from saldo.ledger.query import build_view

            view = build_view(self.store, manifest, account)
            try:
                for code, total, count in view.rows(
                    "SELECT account_code, sum(amount), count(*) FROM lines "
                    "WHERE NOT is_draft AND posting_date < ? GROUP BY account_code",
                    [start],
                ):
                    existing.balances_before[code] = total
                    existing.lines_before += count
                (count,) = view.rows(
                    "SELECT count(DISTINCT entry_id) FROM lines WHERE NOT is_draft AND posting_date >= ? "
                    "AND posting_date <= ?",
                    [start, end or date.max],
                )[0]
                existing.overlap_entries = count
            finally:
                view.con.close()
        return existing

    # ---------------------------------------------------------- run
    def run(self, req: ImportRequest) -> ImportOutcome:
        outcome = ImportOutcome("FAILED")
        spill: Spill | None = None
        try:
            self.progress(0, "parsing")
            parts = expand(req.sources, self.limits)
            collector, spill, sha = self.parse(parts)
            outcome.summary = _summary(collector, parts)
            outcome.counts = _counts(collector)
            self.progress(90, "validating")
            for _attempt in range(3):
                try:
                    return self._validate_and_commit(req, collector, spill, sha, outcome)
                except _LedgerMoved:
                    continue
            raise Conflict("The client account's ledger kept changing during the import; retry it")
        except SaftError as exc:
            outcome.status = "FAILED"
            outcome.errors = [exc.as_issue()]
            return outcome
        finally:
            if spill is not None:
                spill.delete()

    def _validate_and_commit(
        self, req: ImportRequest, c: Collector, spill: Spill, sha: str, outcome: ImportOutcome
    ) -> ImportOutcome:
        header = c.header()
        if header is None:
            raise SaftError("not_saft", "No Header in the upload")
        regno = _registration_number(header.registration_number)
        account = self.repo.find_by_regno(req.org_id, "NO", regno)
        if req.client_account_id is not None and (account is None or account.id != req.client_account_id):
            raise SaftError(
                "client_account_mismatch",
                f"The file is for organization number {regno}, which is not client account "
                f"{req.client_account_id}",
            )
        if req.allowed is not None:
            if account is None:
                raise SaftError(
                    "forbidden",
                    f"No client account has organization number {regno}, and this API key is limited to "
                    "given client accounts, so it cannot create one",
                )
            if account.id not in req.allowed:
                raise SaftError("forbidden", f"No access to client account {account.id} ({regno})")
        start, end = c.start_date(), c.end_date()
        existing = self.inspect(req.org_id, account, start, end)
        done = [r for r in extras_of(existing.master.saft)["imports"] if r.get("import_id") == req.import_id]
        if done and account is not None:  # a retry of an import whose first attempt committed
            outcome.status = "SUCCEEDED"
            outcome.client_account_id = account.id
            outcome.ledger_version = existing.version
            return outcome
        report = check(c, known_in(existing.master))
        set_opening = existing.lines_before == 0
        _check_existing(c, existing, report, header.default_currency, sha, set_opening, req.allow_overlap)
        if not report.errors:
            try:  # the records must fit Saldo's models: try them on a copy before anything is written
                apply_master(c, existing.master.copy(), set_opening=set_opening, import_record={})
            except ValidationError as exc:
                first = exc.errors()[0]
                report.error(
                    "invalid_master_data",
                    f"A master record does not fit Saldo's model: {first.get('msg')} "
                    f"({exc.title}: {first.get('input')!r})",
                )
        outcome.client_account_id = account.id if account else None
        outcome.warnings = report.warnings_out()
        if report.errors:
            outcome.errors = [e.as_dict() for e in report.errors]
            return outcome
        if req.validate_only:
            outcome.status = "SUCCEEDED"
            outcome.summary["validate_only"] = True
            return outcome
        if account is None:
            account = self._create_account(req.org_id, header, regno, c)
            outcome.created_client_account = True
            outcome.client_account_id = account.id
        self.progress(92, "writing")
        now = datetime.now(UTC).replace(tzinfo=None)
        import_record = {
            "import_id": req.import_id,
            "sha256": sha,
            "at": now.isoformat(timespec="seconds"),
            "version": header.version,
            "start": start.isoformat() if start else None,
            "end": end.isoformat() if end else None,
            "entries": c.transactions,
        }
        target = account

        def build(manifest: Manifest, master: MasterData) -> Change:
            if manifest.version != existing.version:
                raise _LedgerMoved
            maps = apply_master(c, master, set_opening=set_opening, import_record=import_record)
            counters = manifest.counters
            rows = SegmentSource(
                spill,
                maps,
                target,
                first_entry_id=counters.next_entry_id,
                first_line_uid=counters.next_line_uid,
                first_sequence=counters.next_sequence,
                batch_id=f"{SAFT_BATCH}{req.import_id}"[:64],
                created_at=now,
            )
            counters.next_entry_id += c.transactions
            counters.next_line_uid += c.lines
            counters.next_sequence += c.transactions
            return Change(lines=rows, master=master, result={"maps": maps})

        self.store.commit(req.org_id, account.id, build)
        version = self.store.manifest(req.org_id, account.id).version
        outcome.ledger_version = version
        outcome.status = "SUCCEEDED"
        self.publish(
            "LedgerChanged",
            {
                "org_id": req.org_id,
                "client_account_id": account.id,
                "change": "saft_imported",
                "ledger_version": version,
                "import_id": req.import_id,
                "entries": c.transactions,
                "lines": c.lines,
            },
        )
        self.progress(100, "done")
        return outcome

    def _create_account(self, org_id: str, header: Any, regno: str, c: Collector) -> ClientAccount:
        vat = any(
            "MVA" in str(t.get("TaxRegistrationNumber", "")).upper()
            for t in header.company.get("TaxRegistration", [])
        )
        data = ClientAccountIn(
            name=(header.company_name or regno)[:256],
            registration_number=regno,
            country="NO",
            currency=header.default_currency,
            fiscal_year_start_month=c.fiscal_year_start_month(),
            vat_registered=vat or not header.company.get("TaxRegistration"),
        )
        try:
            account = self.repo.create(org_id, data)
        except Conflict:  # created by a concurrent import of the same company
            found = self.repo.find_by_regno(org_id, "NO", regno)
            if found is None:
                raise
            return found
        self.publish(
            "ClientAccountChanged", {"org_id": org_id, "client_account_id": account.id, "change": "created"}
        )
        return account


class _Hashing:
    def __init__(self, raw: BinaryIO, digest: Any) -> None:
        self.raw = raw
        self.digest = digest

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.digest.update(data)
        return data


def _registration_number(raw: str) -> str:
    number = regnos.normalize(raw)
    if not regnos.valid_norwegian_orgnr(number):
        raise SaftError(
            "registration_number",
            f"Header/Company/RegistrationNumber {raw!r} is not a valid Norwegian organization number",
        )
    return number


def _check_existing(
    c: Collector,
    existing: Existing,
    report: Report,
    currency: str,
    sha: str,
    set_opening: bool,
    allow_overlap: bool = False,
) -> None:
    account = existing.account
    if account is None:
        return
    if account.currency != currency:
        report.error(
            "currency_mismatch",
            f"The file's default currency is {currency}; client account {account.id} keeps its books in "
            f"{account.currency}",
        )
    if account.locked_until and c.first_date and c.first_date <= account.locked_until:
        report.error(
            "locked_period",
            f"The file has entries from {c.first_date}; client account {account.id} is locked until "
            f"{account.locked_until}",
        )
    extras = extras_of(existing.master.saft)
    for rec in extras["imports"]:
        if rec.get("sha256") == sha:
            report.error(
                "already_imported",
                f"This file was already imported into client account {account.id} (import "
                f"{rec.get('import_id')} at {rec.get('at')})",
                import_id=rec.get("import_id"),
            )
    if existing.overlap_entries and c.transactions:
        message = (
            f"Client account {account.id} already has {existing.overlap_entries} entries in the file's "
            f"period ({c.start_date()} to {c.end_date()})"
        )
        if allow_overlap:
            report.warn(
                "ledger_overlap",
                f"{message}; the file's {c.transactions} entries were added to them",
                existing_entries=existing.overlap_entries,
            )
        else:
            report.error(
                "ledger_overlap",
                f"{message}; importing would add the file's {c.transactions} entries "
                "to them. Import with allow_overlap=true if that is what you want",
                existing_entries=existing.overlap_entries,
            )
    if not set_opening and c.accounts:
        mapped = reverse(extras["accounts"], "id")
        for saft_id, acc in sorted(c.accounts.items()):
            code = mapped.get(saft_id, saft_id)
            current = existing.master.accounts.get(code)
            ledger = (current["opening_balance"] if current else ZERO) + existing.balances_before.get(
                code, ZERO
            )
            if ledger != acc.opening:
                report.warn(
                    "ledger_opening_balance",
                    f"Account {saft_id}: the file's opening balance {acc.opening} differs from the ledger's "
                    f"balance {ledger} on {c.start_date()}; the ledger's is kept",
                    account=saft_id,
                    file=acc.opening,
                    ledger=ledger,
                    difference=acc.opening - ledger,
                )


def _summary(c: Collector, parts: list[Part]) -> dict[str, Any]:
    h = c.header()
    return {
        "files": [{"name": f.name, "version": f.version, "entries": f.entries} for f in c.files],
        "version": h.version if h else None,
        "audit_file_version": h.raw_version if h else None,
        "registration_number": h.registration_number if h else None,
        "company": h.company_name if h else None,
        "software": h.software if h else None,
        "period": {
            "start": c.start_date(),
            "end": c.end_date(),
            "first_entry": c.first_date,
            "last_entry": c.last_date,
        },
        "bytes": sum(p.size for p in parts),
    }


def _counts(c: Collector) -> dict[str, int]:
    return {
        "files": len(c.files),
        "accounts": len(c.accounts),
        "customers": sum(1 for k, _ in c.parties if k == "customer"),
        "suppliers": sum(1 for k, _ in c.parties if k == "supplier"),
        "tax_codes": len(c.tax_codes),
        "analysis_values": len(c.analysis),
        "entries": c.transactions,
        "lines": c.lines,
    }
