"""Streaming SAF-T Financial parser: lxml iterparse, validated against the file's XSD as it streams.

Memory stays bounded whatever the file size: each record (account, party, tax code, analysis entry,
transaction) is turned into a small Python object when its element ends, then the element is cleared and
detached, so the tree never holds more than one record. The version comes from `Header/AuditFileVersion`
(sniffed from the first bytes), which picks the schema: 1.0/1.10, 1.20 or 1.30. Schema errors abort the
parse at once (they are structural). DTDs are refused before parsing (`safety.check_prolog`) and the
parser never resolves entities, loads a DTD or touches the network.

    for kind, record in SaftParser(stream, name="file.xml"):
        kind in {"header", "account", "customer", "supplier", "tax_code", "analysis", "owner", "totals",
                 "transaction"}
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO

from lxml import etree

from saldo.saft import NS, SaftError, UnsafeFile
from saldo.saft.model import (
    Account,
    Analysis,
    AnalysisEntry,
    BalanceAccount,
    Header,
    Line,
    Party,
    TaxCodeDetail,
    TaxInfo,
    Totals,
    Transaction,
)
from saldo.saft.safety import DEFAULT_LIMITS, Limits, check_prolog
from saldo.saft.schemas import normalize_version, schema_for

NSLEN = len(NS)
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
MAX_SCHEMA_ERRORS = 20

_REPEATED = frozenset(
    {
        "Address",
        "Contact",
        "TaxRegistration",
        "BankAccount",
        "BalanceAccount",
        "Analysis",
        "OtherTitles",
        "BaseRate",
        "OtherCriteria",
        "TaxCodeDetails",
    }
)


def _q(name: str) -> str:
    return NS + name


T_AUDITFILE = _q("AuditFile")
T_HEADER = _q("Header")
T_ACCOUNT = _q("Account")
T_CUSTOMER = _q("Customer")
T_SUPPLIER = _q("Supplier")
T_TAXENTRY = _q("TaxTableEntry")
T_ANALYSISENTRY = _q("AnalysisTypeTableEntry")
T_OWNER = _q("Owner")
T_GLE = _q("GeneralLedgerEntries")
T_JOURNAL = _q("Journal")
T_TRANSACTION = _q("Transaction")
T_MASTERFILES = _q("MasterFiles")
T_SOURCEDOCS = _q("SourceDocuments")
T_NUMBER = _q("NumberOfEntries")
T_TOTALDEBIT = _q("TotalDebit")
T_TOTALCREDIT = _q("TotalCredit")


class _Prefixed(io.RawIOBase):
    """`prefix` then the rest of `stream`, counting the bytes handed to the parser."""

    def __init__(self, prefix: bytes, stream: BinaryIO) -> None:
        super().__init__()
        self._prefix = memoryview(prefix)
        self._stream = stream
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        if self._prefix:
            n = min(len(buffer), len(self._prefix))
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
        else:
            data = self._stream.read(len(buffer))
            n = len(data)
            buffer[:n] = data
        self.count += n
        return n


def _text(el: Any) -> str:
    return (el.text or "").strip()


def _dec(el: Any, what: str = "amount") -> Decimal:
    try:
        value = Decimal(_text(el))
    except InvalidOperation:
        raise SaftError("schema", f"{el.tag[NSLEN:]}: {_text(el)!r} is not a number") from None
    if not value.is_finite():
        raise SaftError("schema", f"{el.tag[NSLEN:]}: {_text(el)!r} is not a number")
    return value


def _money(el: Any) -> Decimal:
    value = _dec(el)
    q = value.quantize(CENT)
    if q != value:
        raise SaftError("schema", f"{el.tag[NSLEN:]}: {_text(el)!r} has more than two decimals")
    return q


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise SaftError("schema", f"{value!r} is not a date (YYYY-MM-DD)") from None


def to_dict(el: Any) -> dict[str, Any]:
    """A small subtree as nested dicts of local names (repeatable elements always as lists)."""
    out: dict[str, Any] = {}
    for child in el:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        name = tag[NSLEN:] if tag.startswith(NS) else tag
        value: Any = to_dict(child) if len(child) else _text(child)
        if name in _REPEATED:
            out.setdefault(name, []).append(value)
        else:
            out[name] = value
    return out


def _signed_balance(d: dict[str, Any], prefix: str) -> Decimal:
    debit, credit = d.get(f"{prefix}DebitBalance"), d.get(f"{prefix}CreditBalance")
    if debit is not None:
        return Decimal(debit).quantize(CENT)
    if credit is not None:
        return -Decimal(credit).quantize(CENT)
    return ZERO


def _detach(el: Any) -> None:
    """Free a processed element and whatever came before it under the same parent."""
    el.clear(keep_tail=False)
    parent = el.getparent()
    if parent is not None:
        while el.getprevious() is not None:
            del parent[0]


class SaftParser:
    """Iterate `(kind, record)` from one SAF-T Financial XML stream; see the module docstring."""

    def __init__(
        self,
        stream: BinaryIO,
        *,
        name: str = "file",
        validate: bool = True,
        limits: Limits = DEFAULT_LIMITS,
        reopen: Callable[[], BinaryIO] | None = None,
    ) -> None:
        self.stream = stream
        self.reopen = reopen
        self.name = name
        self.validate = validate
        self.limits = limits
        self.version: str | None = None
        self.raw_version: str | None = None
        self._reader: _Prefixed | None = None
        self._journal: tuple[Any, str | None] = (None, None)

    @property
    def bytes_read(self) -> int:
        return self._reader.count if self._reader else 0

    # ---------------------------------------------------------- sniffing
    def _sniff(self) -> bytes:
        prefix = b""
        want = self.limits.max_prolog_bytes
        while len(prefix) < want:
            chunk = self.stream.read(want - len(prefix))
            if not chunk:
                break
            prefix += chunk
        if not prefix.strip():
            raise SaftError("not_saft", f"{self.name} is empty")
        check_prolog(prefix, self.limits)
        pull = etree.XMLPullParser(
            events=("start", "end"), resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
        )
        root_tag = None
        try:
            pull.feed(prefix)
            for event, el in pull.read_events():
                if event == "start" and root_tag is None:
                    root_tag = el.tag
                    if el.getroottree().docinfo.internalDTD is not None:
                        raise UnsafeFile("The file has a document type declaration; DTDs are refused")
                elif event == "end" and el.tag == _q("AuditFileVersion"):
                    self.raw_version = _text(el)
                    break
                elif event == "end" and el.tag == T_HEADER:
                    break
        except etree.XMLSyntaxError as exc:
            raise SaftError("not_xml", f"{self.name} is not well-formed XML: {exc}") from None
        if root_tag != T_AUDITFILE:
            local = str(root_tag or "").rsplit("}", 1)[-1]
            if local == "AuditFile":
                raise SaftError(
                    "not_saft",
                    f"{self.name}: the AuditFile element is not in the SAF-T Financial namespace "
                    f'(expected xmlns="{NS[1:-1]}")',
                )
            raise SaftError("not_saft", f"{self.name} is not a SAF-T Financial file (root element {local!r})")
        if self.raw_version is None:
            raise SaftError(
                "not_saft", f"{self.name}: Header/AuditFileVersion not found at the start of the file"
            )
        self.version = normalize_version(self.raw_version)
        return prefix

    # ---------------------------------------------------------- iteration
    def __iter__(self) -> Iterator[tuple[str, Any]]:
        prefix = self._sniff()
        self._reader = _Prefixed(prefix, self.stream)
        kwargs: dict[str, Any] = {
            "events": ("end",),
            "resolve_entities": False,
            "no_network": True,
            "load_dtd": False,
            "huge_tree": False,
            "remove_comments": True,
            "remove_pis": True,
        }
        if self.validate:
            kwargs["schema"] = schema_for(self.version or "1.30")
        it = etree.iterparse(io.BufferedReader(self._reader, 256 * 1024), **kwargs)
        first = True
        closed = False
        totals: dict[str, Any] = {}
        try:
            for _event, el in it:
                if first:
                    first = False
                    if el.getroottree().docinfo.internalDTD is not None:
                        raise UnsafeFile("The file has a document type declaration; DTDs are refused")
                tag = el.tag
                if tag == T_TRANSACTION:
                    self._check_schema(it)
                    yield "transaction", self._transaction(el)
                    _detach(el)
                elif tag == T_ACCOUNT:
                    self._check_schema(it)
                    yield "account", self._account(el)
                    _detach(el)
                elif tag in (T_CUSTOMER, T_SUPPLIER):
                    self._check_schema(it)
                    yield ("customer" if tag == T_CUSTOMER else "supplier"), self._party(el)
                    _detach(el)
                elif tag == T_TAXENTRY:
                    self._check_schema(it)
                    for detail in self._tax_entry(el):
                        yield "tax_code", detail
                    _detach(el)
                elif tag == T_ANALYSISENTRY:
                    self._check_schema(it)
                    yield "analysis", self._analysis_entry(el)
                    _detach(el)
                elif tag == T_OWNER:
                    d = to_dict(el)
                    yield (
                        "owner",
                        {"id": d.get("OwnerID"), "name": d.get("Name"), "account_id": d.get("AccountID")},
                    )
                    _detach(el)
                elif tag == T_HEADER:
                    self._check_schema(it)
                    yield "header", self._header(el)
                    _detach(el)
                elif tag in (T_NUMBER, T_TOTALDEBIT, T_TOTALCREDIT) and el.getparent().tag == T_GLE:
                    totals[tag] = _text(el)
                    if tag == T_TOTALCREDIT:
                        self._check_schema(it)
                        yield "totals", self._totals(totals)
                elif tag in (T_MASTERFILES, T_GLE, T_JOURNAL):
                    _detach(el)
                elif tag == T_AUDITFILE:
                    closed = True
                elif el.getparent() is not None and el.getparent().tag == T_SOURCEDOCS:
                    _detach(el)  # not in use in 1.30; never let it pile up
        except etree.XMLSyntaxError as exc:
            raise self._syntax_error(it, exc) from None
        self._check_schema(it)
        if not closed:
            # libxml2 with a schema and resolve_entities=False may end early without an error: a truncated
            # file must never pass as a shorter one.
            raise self._diagnose() or SaftError(
                "not_xml", f"{self.name} ends before </AuditFile>: the file is truncated or not well-formed"
            )

    def _check_schema(self, it: Any) -> None:
        if not self.validate:
            return
        log = it.error_log
        if len(log):
            errors = [e for e in log if e.level >= etree.ErrorLevels.ERROR]
            if errors:
                raise self._schema_error(errors)

    def _schema_error(self, errors: list[Any]) -> SaftError:
        details = []
        for e in errors[:MAX_SCHEMA_ERRORS]:
            message = e.message.replace(NS, "")
            details.append({"file": self.name, "message": message})
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return SaftError(
            "schema",
            f"{self.name} does not validate against the SAF-T Financial {self.version} schema: "
            f"{details[0]['message']}{more}",
            details=details,
        )

    def _syntax_error(self, it: Any, exc: Exception) -> SaftError:
        errors = [e for e in it.error_log if e.level >= etree.ErrorLevels.ERROR]
        schema_errors = [e for e in errors if e.domain_name == "SCHEMASV"]
        if schema_errors:
            return self._schema_error(schema_errors)
        diagnosed = self._diagnose()
        if diagnosed is not None:
            return diagnosed
        text = str(exc).replace(NS, "")
        return SaftError("not_xml", f"{self.name} is not well-formed XML: {text}")

    def _diagnose(self) -> SaftError | None:
        """A precise well-formedness error from a second, non-validating pass (the validating parser's
        messages are poor); None when there is no way to read the file again or it finds nothing."""
        if self.reopen is None:
            return None
        try:
            with self.reopen() as fh:
                for _ in etree.iterparse(
                    fh,
                    events=("end",),
                    resolve_entities=False,
                    no_network=True,
                    load_dtd=False,
                    huge_tree=False,
                ):
                    pass
        except etree.XMLSyntaxError as exc:
            text = str(exc).replace(NS, "")
            if "entity" in text.lower():
                return UnsafeFile(f"{self.name}: entity references are refused ({text})")
            return SaftError("not_xml", f"{self.name} is not well-formed XML: {text}")
        return None

    # ---------------------------------------------------------- records
    def _header(self, el: Any) -> Header:
        d = to_dict(el)
        company = d.get("Company") or {}
        sel = d.get("SelectionCriteria") or {}
        h = Header(
            version=self.version or "",
            raw_version=self.raw_version or "",
            registration_number=str(company.get("RegistrationNumber", "")).strip(),
            company_name=str(company.get("Name", "")).strip(),
            default_currency=str(d.get("DefaultCurrencyCode", "NOK")).strip().upper(),
            software=" ".join(
                str(d.get(k, "")) for k in ("SoftwareCompanyName", "SoftwareID", "SoftwareVersion")
            ).strip(),
            header_comment=d.get("HeaderComment"),
            company={
                k: company[k]
                for k in ("Address", "Contact", "TaxRegistration", "BankAccount")
                if k in company
            },
        )
        if d.get("AuditFileDateCreated"):
            h.date_created = _date(d["AuditFileDateCreated"])
        if sel.get("SelectionStartDate"):
            h.selection_start = _date(sel["SelectionStartDate"])
        if sel.get("SelectionEndDate"):
            h.selection_end = _date(sel["SelectionEndDate"])
        try:
            if sel.get("PeriodStart") and sel.get("PeriodStartYear"):
                h.period_start = (int(sel["PeriodStart"]), int(sel["PeriodStartYear"]))
            if sel.get("PeriodEnd") and sel.get("PeriodEndYear"):
                h.period_end = (int(sel["PeriodEnd"]), int(sel["PeriodEndYear"]))
        except ValueError:
            raise SaftError("schema", "SelectionCriteria: periods must be numbers") from None
        return h

    def _account(self, el: Any) -> Account:
        d = to_dict(el)
        acc = Account(
            id=str(d.get("AccountID", "")).strip(),
            description=str(d.get("AccountDescription", "")).strip(),
            opening=_signed_balance(d, "Opening"),
            closing=_signed_balance(d, "Closing"),
            grouping_category=d.get("GroupingCategory") or None,
            grouping_code=d.get("GroupingCode") or None,
            standard_account_id=d.get("StandardAccountID") or None,
        )
        if d.get("AccountCreationDate"):
            acc.creation_date = _date(d["AccountCreationDate"])
        return acc

    def _party(self, el: Any) -> Party:
        d = to_dict(el)
        kind = "customer" if el.tag == T_CUSTOMER else "supplier"
        party = Party(
            kind=kind,
            id=str(d.get("CustomerID" if kind == "customer" else "SupplierID", "")).strip(),
            name=str(d.get("Name", "")).strip(),
            registration_number=d.get("RegistrationNumber") or None,
            addresses=d.get("Address", []),
            contacts=d.get("Contact", []),
            tax_registrations=d.get("TaxRegistration", []),
            party_info=d.get("PartyInfo") or {},
        )
        for ba in d.get("BalanceAccount", []):  # 1.30
            party.balances.append(
                BalanceAccount(
                    ba.get("AccountID"), _signed_balance(ba, "Opening"), _signed_balance(ba, "Closing")
                )
            )
        if not party.balances and any(k.startswith(("Opening", "Closing")) for k in d):  # 1.10/1.20
            party.balances.append(
                BalanceAccount(
                    d.get("AccountID"), _signed_balance(d, "Opening"), _signed_balance(d, "Closing")
                )
            )
        return party

    def _tax_entry(self, el: Any) -> list[TaxCodeDetail]:
        d = to_dict(el)
        out = []
        for tc in d.get("TaxCodeDetails", []):
            detail = TaxCodeDetail(
                code=str(tc.get("TaxCode", "")).strip(),
                standard_code=str(tc.get("StandardTaxCode", "")).strip(),
                description=tc.get("Description") or None,
                country=tc.get("Country") or None,
                base_rates=[Decimal(b) for b in tc.get("BaseRate", [])],
            )
            if tc.get("TaxPercentage"):
                detail.percentage = Decimal(tc["TaxPercentage"])
            if tc.get("FlatTaxRate"):
                flat = tc["FlatTaxRate"]
                detail.flat_rate = Decimal(flat["Amount"] if isinstance(flat, dict) else flat)
            if tc.get("EffectiveDate"):
                detail.effective_date = _date(tc["EffectiveDate"])
            if tc.get("ExpirationDate"):
                detail.expiration_date = _date(tc["ExpirationDate"])
            if tc.get("Compensation"):
                detail.compensation = tc["Compensation"].strip().lower() in ("true", "1")
            out.append(detail)
        return out

    def _analysis_entry(self, el: Any) -> AnalysisEntry:
        d = to_dict(el)
        entry = AnalysisEntry(
            type=str(d.get("AnalysisType", "")).strip(),
            type_description=str(d.get("AnalysisTypeDescription", "")).strip(),
            id=str(d.get("AnalysisID", "")).strip(),
            id_description=str(d.get("AnalysisIDDescription", "")).strip(),
            status=d.get("Status") or None,
        )
        if d.get("StartDate"):
            entry.start_date = _date(d["StartDate"])
        if d.get("EndDate"):
            entry.end_date = _date(d["EndDate"])
        return entry

    def _totals(self, raw: dict[str, str]) -> Totals:
        try:
            return Totals(
                number_of_entries=int(raw.get(T_NUMBER, "0")),
                total_debit=Decimal(raw.get(T_TOTALDEBIT, "0")).quantize(CENT),
                total_credit=Decimal(raw.get(T_TOTALCREDIT, "0")).quantize(CENT),
            )
        except (InvalidOperation, ValueError):
            raise SaftError(
                "schema", "GeneralLedgerEntries: NumberOfEntries/TotalDebit/TotalCredit"
            ) from None

    def _transaction(self, el: Any) -> Transaction:
        parent = el.getparent()
        if self._journal[0] is not parent:
            journal_id = None
            for child in parent:
                if child.tag == _q("JournalID"):
                    journal_id = _text(child)
                    break
            self._journal = (parent, journal_id)
        tx_id = ""
        tx_date: date | None = None
        period = period_year = None
        description = ""
        source_id = voucher_type = None
        lines: list[Line] = []
        for child in el:
            tag = child.tag
            if not isinstance(tag, str):
                continue
            name = tag[NSLEN:]
            if name == "Line":
                lines.append(self._line(child))
            elif name == "TransactionID":
                tx_id = _text(child)
            elif name == "TransactionDate":
                tx_date = _date(_text(child))
            elif name == "Period":
                period = int(_text(child))
            elif name == "PeriodYear":
                period_year = int(_text(child))
            elif name == "Description":
                description = _text(child)
            elif name == "SourceID":
                source_id = _text(child) or None
            elif name == "VoucherType":
                voucher_type = _text(child) or None
        if tx_date is None:
            raise SaftError("schema", f"Transaction {tx_id}: TransactionDate is missing")
        return Transaction(
            tx_id,
            tx_date,
            period,
            period_year,
            description,
            source_id,
            voucher_type,
            self._journal[1],
            tuple(lines),
        )

    def _amount(self, el: Any) -> tuple[Decimal, str | None, Decimal | None, Decimal | None]:
        amount = ZERO
        code = cur_amount = rate = None
        for c in el:
            name = c.tag[NSLEN:]
            if name == "Amount":
                amount = _money(c)
            elif name == "CurrencyCode":
                code = _text(c).upper()
            elif name == "CurrencyAmount":
                cur_amount = _money(c)
            elif name == "ExchangeRate":
                rate = _dec(c)
        return amount, code, cur_amount, rate

    def _line(self, el: Any) -> Line:
        record_id = account_id = description = ""
        amount = ZERO
        side = 1
        customer_id = supplier_id = reference = cid = None
        due: date | None = None
        currency_code = None
        currency_amount = rate = None
        analysis: list[Analysis] = []
        taxes: list[TaxInfo] = []
        for c in el:
            tag = c.tag
            if not isinstance(tag, str):
                continue
            name = tag[NSLEN:]
            if name == "AccountID":
                account_id = _text(c)
            elif name == "DebitAmount" or name == "CreditAmount":
                side = 1 if name == "DebitAmount" else -1
                value, currency_code, currency_amount, rate = self._amount(c)
                amount = value * side
                if currency_amount is not None:
                    currency_amount *= side
            elif name == "Description":
                description = _text(c)
            elif name == "Analysis":
                analysis.append(self._line_analysis(c))
            elif name == "TaxInformation":
                taxes.append(self._tax_info(c))
            elif name == "RecordID":
                record_id = _text(c)
            elif name == "CustomerID":
                customer_id = _text(c) or None
            elif name == "SupplierID":
                supplier_id = _text(c) or None
            elif name == "ReferenceNumber":
                reference = _text(c) or None
            elif name == "CID":
                cid = _text(c) or None
            elif name == "DueDate":
                due = _date(_text(c))
        # TaxBase is unsigned in every version and 1.10/1.20 TaxAmount/AnalysisAmount have no side of
        # their own: they take the line's side (Saldo keeps them signed, debit positive).
        taxes = [
            TaxInfo(
                t.code,
                t.percentage,
                t.base * side if t.base is not None else None,
                Decimal(t.amount) * side if isinstance(t.amount, _Unsided) else t.amount,
            )
            for t in taxes
        ]
        analysis = [
            a._replace(amount=Decimal(a.amount) * side) if isinstance(a.amount, _Unsided) else a
            for a in analysis
        ]
        return Line(
            record_id,
            account_id,
            amount,
            description,
            customer_id,
            supplier_id,
            tuple(analysis),
            tuple(taxes),
            currency_code,
            currency_amount,
            rate,
            reference,
            cid,
            due,
        )

    def _line_analysis(self, el: Any) -> Analysis:
        a_type = a_id = ""
        amount: Decimal | None = None
        for c in el:
            name = c.tag[NSLEN:]
            if name == "AnalysisType":
                a_type = _text(c)
            elif name == "AnalysisID":
                a_id = _text(c)
            elif name == "DebitAnalysisAmount":
                amount = self._amount(c)[0]
            elif name == "CreditAnalysisAmount":
                amount = -self._amount(c)[0]
            elif name == "AnalysisAmount":
                amount = _Unsided(self._amount(c)[0])
        return Analysis(a_type, a_id, amount)

    def _tax_info(self, el: Any) -> TaxInfo:
        code = None
        pct = base = amount = None
        for c in el:
            name = c.tag[NSLEN:]
            if name == "TaxCode":
                code = _text(c) or None
            elif name == "TaxPercentage":
                pct = _dec(c)
            elif name == "TaxBase":
                base = _dec(c)
            elif name == "DebitTaxAmount":
                amount = self._amount(c)[0]
            elif name == "CreditTaxAmount":
                amount = -self._amount(c)[0]
            elif name == "TaxAmount":
                amount = _Unsided(self._amount(c)[0])
        return TaxInfo(code, pct, base, amount)


class _Unsided(Decimal):
    """A 1.10/1.20 amount without its own debit/credit side: it takes the line's side."""
