"""Streaming SAF-T Financial 1.30 writer: the file is written as text, in order, in chunks.

The header and the master files (a small part of any file) are built as lxml elements, one record at a
time, and serialized with `etree.tostring`. The transactions, nearly all of the file, are written as text
straight from fragments: `TransactionText` renders a transaction's head and lines from values already
formatted as text (the exporter formats numbers and dates in DuckDB) and keeps the fitted, escaped form of
recurring values (descriptions, references, ids) in small bounded caches. Plain records (dicts) are
accepted too and rendered the same way. Nothing depends on the number of transactions but the output,
which goes to `out` in UTF-8 chunks of about a megabyte.

Every value is fitted to its XSD type: texts are cut to their maximum length and stripped of characters
XML cannot hold, then escaped as libxml2 escapes character data (`&`, `<`, `>` and CR), amounts get two
decimals and the Debit/Credit element pair carries the sign. The element order is the schema's; the
tests validate every file against `Norwegian_SAF-T_Financial_Schema_v_1.30.xsd`.

    write_saft(out, header=..., accounts=[...], customers=[...], suppliers=[...], tax_codes=[...],
               analysis=[...], totals=(entries, debit, credit), journal=("GL", "Hovedbok", "GL"),
               transactions=iter(...))  # dicts, or Rendered chunks from TransactionText
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, BinaryIO

from lxml import etree

from saldo.errors import Unprocessable
from saldo.saft import EXPORT_VERSION, NAMESPACE, NS
from saldo.xmltext import MARKUP, NOT_XML, escape

NSMAP = {None: NAMESPACE}
CENT = Decimal("0.01")
#: SAFmonetaryType in the 1.30 XSD: totalDigits 18, fractionDigits 2, so every amount is below 10^16.
SAFT_AMOUNT_DIGITS = 18
SAFT_AMOUNT_LIMIT = Decimal(10) ** (SAFT_AMOUNT_DIGITS - 2)
RATE = Decimal("0.00000001")
CODE, SHORT, MIDDLE1, MIDDLE2, LONG = 9, 18, 35, 70, 256
_BAD_CHARS = NOT_XML
_SPECIAL = re.compile(NOT_XML.pattern[:-1] + MARKUP.pattern[1:])  # a character to remove or to escape
CHUNK = 1 << 20  # characters of text collected before a write to `out`
CACHE = 8192  # values remembered per field (a cache is emptied when full)

_ADDRESS_FIELDS = (
    ("StreetName", LONG),
    ("Number", MIDDLE2),
    ("AdditionalAddressDetail", LONG),
    ("Building", MIDDLE1),
    ("City", LONG),
    ("PostalCode", MIDDLE2),
    ("Region", LONG),
)
_ADDRESS_TYPES = {"StreetAddress", "PostalAddress", "BillingAddress", "ShipToAddress", "ShipFromAddress"}
_PERSON_FIELDS = (
    ("Title", CODE),
    ("FirstName", MIDDLE1),
    ("Initials", SHORT),
    ("LastNamePrefix", SHORT),
    ("LastName", MIDDLE2),
    ("BirthName", MIDDLE2),
    ("Salutation", SHORT),
)
_CONTACT_FIELDS = (("Telephone", SHORT), ("Fax", SHORT), ("Email", MIDDLE2), ("MobilePhone", SHORT))


def text(value: Any, max_len: int) -> str:
    """`value` as text an XSD string type of `max_len` accepts."""
    s = _BAD_CHARS.sub("", str(value)).strip()
    return s[:max_len].rstrip() if len(s) > max_len else s


def money(value: Decimal) -> str:
    return format(Decimal(value).quantize(CENT), "f")


def check_amount(value: Decimal, what: str) -> None:
    """Refuse (422) an amount the SAF-T schema cannot hold, before anything of the file is written.

    A single ledger amount is below 10^15; sums of them (the control totals, balances) can reach further.
    """
    if abs(value) >= SAFT_AMOUNT_LIMIT:
        digits = len(money(abs(value)).replace(".", ""))
        raise Unprocessable(
            f"{what} would be {money(value)} ({digits} digits); SAF-T Financial 1.30 amounts have at most "
            f"{SAFT_AMOUNT_DIGITS} digits (below {SAFT_AMOUNT_LIMIT:,.0f}). Export a shorter period."
        )


def neg(amount: str) -> str:
    """The negation of a decimal number written as text, as `Decimal` negation writes it (0.00 stays 0.00)."""
    if amount[:1] == "-":
        return amount[1:]
    return "-" + amount if amount.strip("0.") else amount


def xml_text(s: str, max_len: int) -> str:
    """`text(s, max_len)`, escaped; a text without characters to remove or escape is only fitted."""
    if _SPECIAL.search(s) is None:
        s = s.strip()
        return s[:max_len].rstrip() if len(s) > max_len else s
    return escape(text(s, max_len))


def value_text(value: Any, max_len: int | None = None) -> str:
    """The escaped text of an element holding `value` (dates in ISO form, Decimals as they are)."""
    if type(value) is str:
        if max_len:
            return xml_text(value, max_len)
        return value if _SPECIAL.search(value) is None else escape(_BAD_CHARS.sub("", value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bool):
        return "true" if value else "false"
    if max_len:
        return escape(text(value, max_len))
    return escape(_BAD_CHARS.sub("", str(value)))


def element(name: str, value: Any, max_len: int | None = None) -> str:
    """`<name>value</name>`, or nothing when `value` is None or empty (as `_sub` does for a tree)."""
    if value is None or value == "":
        return ""
    if max_len and type(value) is str:
        return f"<{name}>{xml_text(value, max_len)}</{name}>"
    return f"<{name}>{value_text(value, max_len)}</{name}>"


class Elements(dict[Any, str]):
    """`element(name, value, max_len)` per value, remembered: recurring values are fitted and escaped once.

    Bounded: the cache is emptied when it holds `limit` values.
    """

    __slots__ = ("limit", "max_len", "name")

    def __init__(self, name: str, max_len: int | None = None, limit: int = CACHE) -> None:
        super().__init__()
        self.name, self.max_len, self.limit = name, max_len, limit

    def __missing__(self, value: Any) -> str:
        if len(self) >= self.limit:
            self.clear()
        out = self[value] = element(self.name, value, self.max_len)
        return out


def _sub(parent: Any, name: str, value: Any, max_len: int | None = None) -> Any:
    if value is None or value == "":
        return None
    el = etree.SubElement(parent, NS + name)
    if isinstance(value, datetime):
        el.text = value.date().isoformat()
    elif isinstance(value, date):
        el.text = value.isoformat()
    elif isinstance(value, Decimal):
        el.text = format(value, "f")
    elif isinstance(value, bool):
        el.text = "true" if value else "false"
    else:
        el.text = text(value, max_len) if max_len else str(value)
    return el


def _balance(parent: Any, prefix: str, amount: Decimal) -> None:
    side = "Debit" if amount >= 0 else "Credit"
    _sub(parent, f"{prefix}{side}Balance", money(abs(amount)))


def _amount(parent: Any, name: str, amount: Decimal, currency: Mapping[str, Any] | None = None) -> None:
    el = etree.SubElement(parent, NS + name)
    _sub(el, "Amount", money(amount))
    if currency:
        _sub(el, "CurrencyCode", currency["code"])
        _sub(el, "CurrencyAmount", money(currency["amount"]))
        if currency.get("rate") is not None:
            _sub(el, "ExchangeRate", format(Decimal(currency["rate"]).quantize(RATE).normalize(), "f"))


def _address(parent: Any, address: Mapping[str, Any]) -> None:
    el = etree.SubElement(parent, NS + "Address")
    for name, max_len in _ADDRESS_FIELDS:
        _sub(el, name, address.get(name), max_len)
    country = str(address.get("Country") or "").strip().upper()
    if re.fullmatch(r"[A-Z]{2}", country):
        _sub(el, "Country", country)
    if address.get("AddressType") in _ADDRESS_TYPES:
        _sub(el, "AddressType", address["AddressType"])


def _contact(parent: Any, contact: Mapping[str, Any]) -> None:
    el = etree.SubElement(parent, NS + "Contact")
    person = etree.SubElement(el, NS + "ContactPerson")
    p = contact.get("ContactPerson") or {}
    for name, max_len in _PERSON_FIELDS:
        value = p.get(name)
        if name in ("FirstName", "LastName") and not (value and text(value, max_len)):
            value = "NotUsed"
        _sub(person, name, value, max_len)
    for title in p.get("OtherTitles") or []:
        _sub(person, "OtherTitles", title, SHORT)
    for name, max_len in _CONTACT_FIELDS[:3]:
        _sub(el, name, contact.get(name), max_len)
    website = str(contact.get("Website") or "").strip()
    if re.fullmatch(r"https?://[^\s<>\"]{1,250}", website):
        _sub(el, "Website", website)
    _sub(el, "MobilePhone", contact.get("MobilePhone"), SHORT)


def _tax_registration(parent: Any, reg: Mapping[str, Any]) -> None:
    number = reg.get("TaxRegistrationNumber")
    if not number:
        return
    el = etree.SubElement(parent, NS + "TaxRegistration")
    _sub(el, "TaxRegistrationNumber", number, MIDDLE1)
    _sub(el, "TaxType", reg.get("TaxType"), CODE)
    _sub(el, "TaxNumber", reg.get("TaxNumber"), MIDDLE1)
    if reg.get("TaxAuthority") == "Skatteetaten":
        _sub(el, "TaxAuthority", "Skatteetaten")
    if reg.get("TaxVerificationDate"):
        _sub(el, "TaxVerificationDate", str(reg["TaxVerificationDate"])[:10])


def _bank_account(parent: Any, bank: Mapping[str, Any]) -> None:
    if not (bank.get("IBANNumber") or bank.get("BankAccountNumber")):
        return
    el = etree.SubElement(parent, NS + "BankAccount")
    if bank.get("IBANNumber"):
        _sub(el, "IBANNumber", bank["IBANNumber"], MIDDLE1)
    else:
        _sub(el, "BankAccountNumber", bank["BankAccountNumber"], MIDDLE1)
        _sub(el, "BankAccountName", bank.get("BankAccountName"), MIDDLE2)
        _sub(el, "SortCode", bank.get("SortCode"), SHORT)
    _sub(el, "BIC", bank.get("BIC"), SHORT)
    currency = str(bank.get("CurrencyCode") or "")
    if re.fullmatch(r"[A-Z]{3}", currency):
        _sub(el, "CurrencyCode", currency)
    _sub(el, "GeneralLedgerAccountID", bank.get("GeneralLedgerAccountID"), MIDDLE2)


def _company(el: Any, company: Mapping[str, Any], *, header: bool) -> None:
    _sub(el, "RegistrationNumber", company.get("registration_number"), MIDDLE1)
    _sub(el, "Name", company.get("name") or "-", LONG)
    for address in company.get("addresses") or []:
        _address(el, address)
    contacts = list(company.get("contacts") or [])
    if header and not contacts:
        contacts = [{"ContactPerson": {"FirstName": "NotUsed", "LastName": "NotUsed"}}]
    for contact in contacts:
        _contact(el, contact)
    for reg in company.get("tax_registrations") or []:
        _tax_registration(el, reg)
    for bank in company.get("bank_accounts") or []:
        _bank_account(el, bank)


def _header(h: Mapping[str, Any]) -> Any:
    el = etree.Element(NS + "Header", nsmap=NSMAP)
    _sub(el, "AuditFileVersion", EXPORT_VERSION)
    _sub(el, "AuditFileCountry", "NO")
    _sub(el, "AuditFileDateCreated", h["date_created"])
    _sub(el, "SoftwareCompanyName", h.get("software_company", "Saldo"), MIDDLE2)
    _sub(el, "SoftwareID", h.get("software_id", "Saldo"), LONG)
    _sub(el, "SoftwareVersion", h.get("software_version", "1"), SHORT)
    _company(etree.SubElement(el, NS + "Company"), h["company"], header=True)
    _sub(el, "DefaultCurrencyCode", h["currency"])
    sel = etree.SubElement(el, NS + "SelectionCriteria")
    _sub(sel, "SelectionStartDate", h["selection_start"])
    _sub(sel, "SelectionEndDate", h["selection_end"])
    _sub(el, "HeaderComment", h.get("header_comment"), LONG)
    _sub(el, "TaxAccountingBasis", "A")
    _sub(el, "UserID", h.get("user_id"), LONG)
    return el


def _account(a: Mapping[str, Any]) -> Any:
    el = etree.Element(NS + "Account", nsmap=NSMAP)
    _sub(el, "AccountID", a["id"], MIDDLE2)
    _sub(el, "AccountDescription", a.get("description") or a["id"], LONG)
    _sub(el, "GroupingCategory", a.get("grouping_category") or "NA", LONG)
    _sub(el, "GroupingCode", a.get("grouping_code") or "NA", MIDDLE1)
    _sub(el, "AccountType", "GL")
    _sub(el, "AccountCreationDate", a.get("creation_date"))
    _balance(el, "Opening", a["opening"])
    _balance(el, "Closing", a["closing"])
    return el


def _party(kind: str, p: Mapping[str, Any]) -> Any:
    el = etree.Element(NS + ("Customer" if kind == "customer" else "Supplier"), nsmap=NSMAP)
    _company(el, p, header=False)
    _sub(el, "CustomerID" if kind == "customer" else "SupplierID", p["id"], MIDDLE1)
    for b in p.get("balances") or []:
        ba = etree.SubElement(el, NS + "BalanceAccount")
        _sub(ba, "AccountID", b.get("account_id"), MIDDLE2)
        _balance(ba, "Opening", b["opening"])
        _balance(ba, "Closing", b["closing"])
    return el


def _tax_table(codes: list[Mapping[str, Any]]) -> Any:
    table = etree.Element(NS + "TaxTable", nsmap=NSMAP)
    entry = etree.SubElement(table, NS + "TaxTableEntry")
    _sub(entry, "TaxType", "MVA")
    _sub(entry, "Description", "Merverdiavgift")
    for tc in codes:
        el = etree.SubElement(entry, NS + "TaxCodeDetails")
        _sub(el, "TaxCode", tc["code"], MIDDLE2)
        _sub(el, "EffectiveDate", tc.get("effective_date"))
        _sub(el, "ExpirationDate", tc.get("expiration_date"))
        _sub(el, "Description", tc.get("description"), LONG)
        _sub(el, "TaxPercentage", Decimal(tc.get("percentage") or 0).normalize())
        _sub(el, "Country", tc.get("country") or "NO")
        std = str(tc.get("standard_code") or "NA")
        _sub(el, "StandardTaxCode", std if re.fullmatch(r"[0-9anAN]{1,2}", std) else "NA")
        if tc.get("compensation") is not None:
            _sub(el, "Compensation", bool(tc["compensation"]))
        rates = [Decimal(r) for r in tc.get("base_rates") or [100]]
        for rate in rates:
            _sub(el, "BaseRate", min(max(rate, Decimal(0)), Decimal(100)).normalize())
    return table


def _analysis_entry(a: Mapping[str, Any]) -> Any:
    el = etree.Element(NS + "AnalysisTypeTableEntry", nsmap=NSMAP)
    _sub(el, "AnalysisType", a["type"], CODE)
    _sub(el, "AnalysisTypeDescription", a.get("type_description") or a["type"], LONG)
    _sub(el, "AnalysisID", a["id"], MIDDLE1)
    _sub(el, "AnalysisIDDescription", a.get("id_description") or a["id"], LONG)
    _sub(el, "StartDate", a.get("start_date"))
    _sub(el, "EndDate", a.get("end_date"))
    if a.get("status") in ("Active", "Closed", "Observation", "Passive"):
        _sub(el, "Status", a["status"])
    return el


_DEBIT = ("<DebitAmount><Amount>", "</DebitAmount>")
_CREDIT = ("<CreditAmount><Amount>", "</CreditAmount>")
_TRANSACTION = f'<Transaction xmlns="{NAMESPACE}">'  # as lxml wrote each record: with its namespace


@dataclass(frozen=True, slots=True)
class Rendered:
    """Transactions already written as XML text (`count` `<Transaction>` elements), for `write_saft`."""

    xml: str
    count: int


def parties_xml(
    account_id: Any,
    analysis: Iterable[tuple[Any, Any]] = (),
    customer_id: Any = None,
    supplier_id: Any = None,
) -> str:
    """A line's AccountID, Analysis elements and CustomerID or SupplierID, in the schema's order."""
    parts = [element("AccountID", account_id, MIDDLE2)]
    for a_type, a_id in analysis:
        inner = element("AnalysisType", a_type, CODE) + element("AnalysisID", a_id, LONG)
        parts.append(f"<Analysis>{inner}</Analysis>" if inner else "<Analysis/>")
    if customer_id:
        parts.append(element("CustomerID", customer_id, MIDDLE1))
    elif supplier_id:
        parts.append(element("SupplierID", supplier_id, MIDDLE1))
    return "".join(parts)


def tax_head_xml(code: Any, percentage: Any) -> str:
    """The start of a line's TaxInformation: type, code and percentage (the rest is `TransactionText.tax`)."""
    pct = "" if percentage is None else element("TaxPercentage", Decimal(percentage).normalize())
    return f"<TaxInformation><TaxType>MVA</TaxType>{element('TaxCode', code, MIDDLE2)}{pct}"


class TransactionText:
    """Transactions as XML text, from values already written as text.

    Amounts are decimal numbers as text with two decimals, signed (debit positive); dates are ISO dates.
    Texts are fitted and escaped here; the recurring ones are kept in bounded caches, so one instance
    serves one file.
    """

    def __init__(self) -> None:
        self._dates: dict[tuple[int, int, str], str] = {}
        self._sources = Elements("SourceID", MIDDLE1)
        self._voucher_types = Elements("VoucherType", MIDDLE2)
        self._batches = Elements("BatchID", MIDDLE1)
        self._system_dates: dict[tuple[str, str], str] = {}
        self._transaction_types = Elements("TransactionType", SHORT)
        self._record_ids = Elements("RecordID", SHORT)
        self._descriptions = Elements("Description", LONG)
        self._references = Elements("ReferenceNumber", MIDDLE1)
        self._cids = Elements("CID", MIDDLE1)
        self._due_dates = Elements("DueDate")

    def head(
        self,
        tx_id: Any,
        period: int,
        period_year: int,
        day: str,
        source_id: str | None,
        voucher_type: str | None,
        description: str | None,
        batch_id: str | None,
        system_entry_date: str,
        gl_posting_date: str,
        system_id: Any,
        transaction_type: str | None = "Normal",
    ) -> str:
        """`<Transaction>` up to its first line. Dates are ISO dates as text."""
        key = (period, period_year, day)
        dates = self._dates.get(key)
        if dates is None:
            dates = self._dates[key] = (
                f"<Period>{period}</Period><PeriodYear>{period_year}</PeriodYear>"
                f"<TransactionDate>{escape(day)}</TransactionDate>"
            )
        posted = (system_entry_date, gl_posting_date)
        system = self._system_dates.get(posted)
        if system is None:
            system = self._system_dates[posted] = (
                f"<SystemEntryDate>{escape(system_entry_date)}</SystemEntryDate>"
                f"<GLPostingDate>{escape(gl_posting_date)}</GLPostingDate>"
            )
        return (
            f"{_TRANSACTION}{element('TransactionID', tx_id, MIDDLE2)}{dates}{self._sources[source_id]}"
            f"{self._voucher_types[voucher_type]}{self._transaction_types[transaction_type]}"
            f"{element('Description', description or f'Bilag {tx_id}', LONG)}{self._batches[batch_id]}"
            f"{system}{element('SystemID', system_id, SHORT)}"
        )

    def line(
        self,
        record_id: str,
        parties: str,
        description: str | None,
        debit: bool,
        amount: str,
        currency: str = "",
        tax: str = "",
        reference: str | None = None,
        cid: str | None = None,
        due_date: str | None = None,
    ) -> str:
        """One `<Line>`: `parties` from `parties_xml`, `amount` unsigned on the `debit` side, `currency` from
        `currency`, `tax` from `tax`."""
        side_open, side_close = _DEBIT if debit else _CREDIT
        return (
            f"<Line>{self._record_ids[record_id]}{parties}{self._descriptions[description or '-']}"
            f"{side_open}{amount}</Amount>{currency}{side_close}{tax}{self._references[reference]}"
            f"{self._cids[cid]}{self._due_dates[due_date]}</Line>"
        )

    @staticmethod
    def currency(code: Any, amount: str, rate: str | None) -> str:
        """CurrencyCode, CurrencyAmount (signed like the line) and ExchangeRate of a line's amount."""
        out = f"{element('CurrencyCode', code)}<CurrencyAmount>{amount}</CurrencyAmount>"
        return out if rate is None else f"{out}<ExchangeRate>{rate}</ExchangeRate>"

    @staticmethod
    def tax(head: str, base: str | None, amount: str) -> str:
        """The line's TaxInformation: `head` from `tax_head_xml`, `base` signed like the line, `amount`
        signed (the side of the tax amount is its own)."""
        base_el = "" if base is None else f"<TaxBase>{base}</TaxBase>"
        if amount[:1] == "-":
            side, amount = "Credit", amount[1:]
        else:
            side = "Debit"
        return f"{head}{base_el}<{side}TaxAmount><Amount>{amount}</Amount></{side}TaxAmount></TaxInformation>"

    def transaction(self, tx: Mapping[str, Any]) -> str:
        """A transaction given as a plain record (a dict with its lines)."""
        day = tx["date"]
        parts = [
            self.head(
                tx["id"],
                tx["period"],
                tx["period_year"],
                _iso(day),
                _plain(tx.get("source_id")),
                _plain(tx.get("voucher_type")),
                tx.get("description"),
                _plain(tx.get("batch_id")),
                _iso(tx.get("system_entry_date") or day),
                _iso(tx.get("gl_posting_date") or day),
                tx.get("system_id"),
                _plain(tx.get("transaction_type", "Normal")),
            )
        ]
        parts.extend(self._record_line(ln) for ln in tx["lines"])
        parts.append("</Transaction>")
        return "".join(parts)

    def _record_line(self, ln: Mapping[str, Any]) -> str:
        amount = Decimal(ln["amount"])
        debit = amount > 0 or (amount == 0 and not ln.get("credit_side"))
        currency = ln.get("currency")
        cur = ""
        if currency:
            rate = currency.get("rate")
            cur = self.currency(
                currency["code"],
                money(currency["amount"] if debit else -currency["amount"]),
                None if rate is None else format(Decimal(rate).quantize(RATE).normalize(), "f"),
            )
        tax = ln.get("tax")
        tax_xml = ""
        if tax:
            base = tax.get("base")
            tax_amount = Decimal(tax.get("amount") or 0)
            tax_xml = self.tax(
                tax_head_xml(tax["code"], tax.get("percentage")),
                None if base is None else money(base if debit else -base),
                money(abs(tax_amount)) if tax_amount >= 0 else "-" + money(abs(tax_amount)),
            )
        return self.line(
            _plain(ln["record_id"]),
            parties_xml(
                ln["account_id"], ln.get("analysis") or (), ln.get("customer_id"), ln.get("supplier_id")
            ),
            _plain(ln.get("description") or "-"),
            debit,
            money(abs(amount)),
            cur,
            tax_xml,
            _plain(ln.get("reference_number")),
            _plain(ln.get("cid")),
            _plain(ln.get("due_date")),
        )


def _plain(value: Any) -> str | None:
    """A record's value as the text an element of it holds (before fitting), so caches see only text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return _iso(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _iso(value: Any) -> str:
    """A date's ISO text (a datetime's date); anything else as text (escaped where it is written)."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return _BAD_CHARS.sub("", str(value))


class _Output:
    """Text collected and written to `out` as UTF-8 in chunks of about `CHUNK` characters."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.parts: list[str] = []
        self.size = 0

    def write(self, s: str) -> None:
        self.parts.append(s)
        self.size += len(s)
        if self.size >= CHUNK:
            self.flush()

    def element(self, el: Any) -> None:
        self.write(etree.tostring(el, encoding="unicode"))

    def leaf(self, name: str, value: str) -> None:
        self.write(f'<{name} xmlns="{NAMESPACE}">{escape(value)}</{name}>')

    def flush(self) -> None:
        if self.parts:
            self.out.write("".join(self.parts).encode("utf-8"))
            self.parts.clear()
            self.size = 0


def write_saft(
    out: BinaryIO,
    *,
    header: Mapping[str, Any],
    accounts: Iterable[Mapping[str, Any]],
    customers: Iterable[Mapping[str, Any]],
    suppliers: Iterable[Mapping[str, Any]],
    tax_codes: list[Mapping[str, Any]],
    analysis: Iterable[Mapping[str, Any]],
    totals: tuple[int, Decimal, Decimal],
    journal: tuple[str, str, str],
    transactions: Iterable[Mapping[str, Any] | Rendered],
) -> int:
    """Write one SAF-T Financial 1.30 file to `out`; return the number of transactions written.

    `transactions` holds plain records (dicts) or `Rendered` chunks of XML text from `TransactionText`.
    """
    written = 0
    w = _Output(out)
    w.write(f"<?xml version='1.0' encoding='UTF-8'?>\n<AuditFile xmlns=\"{NAMESPACE}\">")
    w.element(_header(header))
    w.write("<MasterFiles>")
    _section(w, "GeneralLedgerAccounts", accounts, _account)
    _section(w, "Customers", customers, lambda p: _party("customer", p))
    _section(w, "Suppliers", suppliers, lambda p: _party("supplier", p))
    if tax_codes:
        w.element(_tax_table(tax_codes))
    _section(w, "AnalysisTypeTable", analysis, _analysis_entry)
    w.write("</MasterFiles><GeneralLedgerEntries>")
    entries, debit, credit = totals
    # Checked by the exporter before the first byte; here for any other caller (w has flushed nothing
    # but the master files' chunks, which a refusal discards with the response).
    check_amount(debit, "TotalDebit")
    check_amount(credit, "TotalCredit")
    w.leaf("NumberOfEntries", str(entries))
    w.leaf("TotalDebit", money(debit))
    w.leaf("TotalCredit", money(credit))
    iterator = iter(transactions)
    first = next(iterator, None)
    if first is not None:
        w.write("<Journal>")
        w.leaf("JournalID", text(journal[0], SHORT))
        w.leaf("Description", text(journal[1], LONG))
        w.leaf("Type", text(journal[2], CODE))
        records = TransactionText()
        for tx in itertools.chain((first,), iterator):
            if isinstance(tx, Rendered):
                w.write(tx.xml)
                written += tx.count
            else:
                w.write(records.transaction(tx))
                written += 1
        w.write("</Journal>")
    w.write("</GeneralLedgerEntries></AuditFile>")
    w.flush()
    return written


def _section(w: _Output, tag: str, items: Iterable[Any], build: Any) -> None:
    """`<tag>` around the built items, or nothing at all when there are none (the XSD wants 1..n)."""
    iterator = iter(items)
    first = next(iterator, None)
    if first is None:
        return
    w.write(f"<{tag}>")
    for item in itertools.chain((first,), iterator):
        w.element(build(item))
    w.write(f"</{tag}>")
