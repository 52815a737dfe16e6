"""Streaming SAF-T Financial 1.30 writer (lxml `etree.xmlfile`, incremental).

The writer takes plain records (dicts) and iterables; only one record's element exists at a time, so
memory does not depend on the number of transactions. Every value is fitted to its XSD type: texts are
cut to their maximum length and stripped of characters XML cannot hold, amounts get two decimals and
the Debit/Credit element pair carries the sign. The element order is the schema's; the tests validate
every file against `Norwegian_SAF-T_Financial_Schema_v_1.30.xsd`.

    write_saft(out, header=..., accounts=[...], customers=[...], suppliers=[...], tax_codes=[...],
               analysis=[...], totals=(entries, debit, credit), journal=("GL", "Hovedbok", "GL"),
               transactions=iter(...))
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, BinaryIO

from lxml import etree

from saldo.saft import EXPORT_VERSION, NAMESPACE, NS

NSMAP = {None: NAMESPACE}
CENT = Decimal("0.01")
RATE = Decimal("0.00000001")
CODE, SHORT, MIDDLE1, MIDDLE2, LONG = 9, 18, 35, 70, 256
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")

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


def _transaction(tx: Mapping[str, Any]) -> Any:
    el = etree.Element(NS + "Transaction", nsmap=NSMAP)
    _sub(el, "TransactionID", tx["id"], MIDDLE2)
    _sub(el, "Period", tx["period"])
    _sub(el, "PeriodYear", tx["period_year"])
    _sub(el, "TransactionDate", tx["date"])
    _sub(el, "SourceID", tx.get("source_id"), MIDDLE1)
    _sub(el, "VoucherType", tx.get("voucher_type"), MIDDLE2)
    _sub(el, "TransactionType", tx.get("transaction_type", "Normal"), SHORT)
    _sub(el, "Description", tx.get("description") or f"Bilag {tx['id']}", LONG)
    _sub(el, "BatchID", tx.get("batch_id"), MIDDLE1)
    _sub(el, "SystemEntryDate", tx.get("system_entry_date") or tx["date"])
    _sub(el, "GLPostingDate", tx.get("gl_posting_date") or tx["date"])
    _sub(el, "SystemID", tx.get("system_id"), SHORT)
    for line in tx["lines"]:
        _line(el, line)
    return el


def _line(parent: Any, ln: Mapping[str, Any]) -> None:
    el = etree.SubElement(parent, NS + "Line")
    _sub(el, "RecordID", ln["record_id"], SHORT)
    _sub(el, "AccountID", ln["account_id"], MIDDLE2)
    for a_type, a_id in ln.get("analysis") or ():
        an = etree.SubElement(el, NS + "Analysis")
        _sub(an, "AnalysisType", a_type, CODE)
        _sub(an, "AnalysisID", a_id, LONG)
    if ln.get("customer_id"):
        _sub(el, "CustomerID", ln["customer_id"], MIDDLE1)
    elif ln.get("supplier_id"):
        _sub(el, "SupplierID", ln["supplier_id"], MIDDLE1)
    _sub(el, "Description", ln.get("description") or "-", LONG)
    amount: Decimal = ln["amount"]
    debit = amount > 0 or (amount == 0 and not ln.get("credit_side"))
    currency = ln.get("currency")
    if currency:
        currency = {**currency, "amount": currency["amount"] if debit else -currency["amount"]}
    _amount(el, "DebitAmount" if debit else "CreditAmount", abs(amount), currency)
    tax = ln.get("tax")
    if tax:
        ti = etree.SubElement(el, NS + "TaxInformation")
        _sub(ti, "TaxType", "MVA")
        _sub(ti, "TaxCode", tax["code"], MIDDLE2)
        if tax.get("percentage") is not None:
            _sub(ti, "TaxPercentage", Decimal(tax["percentage"]).normalize())
        if tax.get("base") is not None:
            _sub(ti, "TaxBase", money(tax["base"] if debit else -tax["base"]))
        tax_amount = Decimal(tax.get("amount") or 0)
        _amount(ti, "DebitTaxAmount" if tax_amount >= 0 else "CreditTaxAmount", abs(tax_amount))
    _sub(el, "ReferenceNumber", ln.get("reference_number"), MIDDLE1)
    _sub(el, "CID", ln.get("cid"), MIDDLE1)
    _sub(el, "DueDate", ln.get("due_date"))


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
    transactions: Iterable[Mapping[str, Any]],
) -> int:
    """Write one SAF-T Financial 1.30 file to `out`; return the number of transactions written."""
    written = 0
    with etree.xmlfile(out, encoding="UTF-8", buffered=True) as xf:
        xf.write_declaration()
        with xf.element(NS + "AuditFile", nsmap=NSMAP):
            xf.write(_header(header))
            with xf.element(NS + "MasterFiles"):
                _section(xf, "GeneralLedgerAccounts", accounts, _account)
                _section(xf, "Customers", customers, lambda p: _party("customer", p))
                _section(xf, "Suppliers", suppliers, lambda p: _party("supplier", p))
                if tax_codes:
                    xf.write(_tax_table(tax_codes))
                _section(xf, "AnalysisTypeTable", analysis, _analysis_entry)
            with xf.element(NS + "GeneralLedgerEntries"):
                entries, debit, credit = totals
                xf.write(_leaf("NumberOfEntries", str(entries)))
                xf.write(_leaf("TotalDebit", money(debit)))
                xf.write(_leaf("TotalCredit", money(credit)))
                iterator = iter(transactions)
                first = next(iterator, None)
                if first is not None:
                    with xf.element(NS + "Journal"):
                        xf.write(_leaf("JournalID", text(journal[0], SHORT)))
                        xf.write(_leaf("Description", text(journal[1], LONG)))
                        xf.write(_leaf("Type", text(journal[2], CODE)))
                        for tx in itertools.chain((first,), iterator):
                            xf.write(_transaction(tx))
                            written += 1
                            if written % 512 == 0:
                                xf.flush()
    return written


def _section(xf: Any, tag: str, items: Iterable[Any], build: Any) -> None:
    """`<tag>` around the built items, or nothing at all when there are none (the XSD wants 1..n)."""
    iterator = iter(items)
    first = next(iterator, None)
    if first is None:
        return
    with xf.element(NS + tag):
        for item in itertools.chain((first,), iterator):
            xf.write(build(item))


def _leaf(name: str, value: str) -> Any:
    el = etree.Element(NS + name, nsmap=NSMAP)
    el.text = value
    return el
