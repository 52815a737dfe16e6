"""Streaming SAF-T Financial parser, validated against the file's XSD as it streams, on two cores.

The XML is parsed once, in a reader process (`python -c ... _reader_main`), while this process turns what
it sends into records, checks them and spills them:

- The reader runs lxml `iterparse` with the file's schema attached (the official XSD of its version, see
  `streaming_schema`), stopping at the first schema error. It sends each master record (header, account,
  customer, supplier, tax table entry, analysis type entry, owner) as the XML of its element, and
  transactions in batches, flattened by one XSLT into a compact text (`_FLATTEN_XSLT`) that this process
  splits into `Transaction` records. Everything leaves the reader in document order, and a record leaves
  only after the schema has been checked up to its end, so a schema error is reported exactly where the
  single-process parser reported it: nothing after it is ever seen.
- This process sniffs the version (and refuses a DTD) from the first bytes, feeds the bytes to the reader
  from a thread, and yields `(kind, record)` as before.

Memory stays bounded whatever the file size: the reader clears each record's element once it is sent (a
batch of transactions at most), and this process holds one batch. DTDs are refused before parsing
(`safety.check_prolog`); neither process resolves entities, loads a DTD or touches the network.

    for kind, record in SaftParser(stream, name="file.xml"):
        kind in {"header", "account", "customer", "supplier", "tax_code", "analysis", "owner", "totals",
                 "transaction"}
"""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

from lxml import etree

from saldo.saft import NAMESPACE, NS, SaftError, UnsafeFile
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
from saldo.saft.schemas import normalize_version, schema_path

NSLEN = len(NS)
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
MAX_SCHEMA_ERRORS = 20
#: Transactions flattened per XSLT call in the reader (one message to this process).
BATCH = 400
FEED_CHUNK = 1024 * 1024
PIPE_BYTES = 1024 * 1024

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
T_JOURNALID = _q("JournalID")
T_TRANSACTION = _q("Transaction")
T_MASTERFILES = _q("MasterFiles")
T_SOURCEDOCS = _q("SourceDocuments")
T_NUMBER = _q("NumberOfEntries")
T_TOTALDEBIT = _q("TotalDebit")
T_TOTALCREDIT = _q("TotalCredit")
#: The children of SourceDocuments in every supported version (not in use in 1.30; never let them pile up).
SOURCE_DOCUMENTS = tuple(
    _q(n) for n in ("SalesInvoices", "PurchaseInvoices", "Payments", "MovementOfGoods", "AssetTransactions")
)
_RECORD_KINDS = {
    T_ACCOUNT: "account",
    T_CUSTOMER: "customer",
    T_SUPPLIER: "supplier",
    T_TAXENTRY: "tax_entry",
    T_ANALYSISENTRY: "analysis",
    T_HEADER: "header",
}
_READER_TAGS = (
    T_TRANSACTION,
    T_JOURNAL,
    *_RECORD_KINDS,
    T_OWNER,
    T_NUMBER,
    T_TOTALDEBIT,
    T_TOTALCREDIT,
    T_MASTERFILES,
    T_GLE,
    T_AUDITFILE,
    *SOURCE_DOCUMENTS,
)
_PARSE_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}


# ------------------------------------------------------------------ the schema as it is checked
_XS = "{http://www.w3.org/2001/XMLSchema}"
_NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9._-]*$")


def _selects_nothing(selector: str) -> bool:
    """True when every path of an identity constraint's selector names an element in no namespace.

    XSD 1.0 reads an unprefixed name in a selector as a name in no namespace (there is no default
    namespace for these XPaths), and libxml2 does the same.
    """
    for path in selector.split("|"):
        steps = path.strip().removeprefix(".//").split("/")
        if not any(_NCNAME.match(step.strip().removeprefix("child::").strip()) for step in steps):
            return False
    return True


def inert_identity_constraints(schema_root: Any) -> list[Any]:
    """The schema's xs:key/xs:keyref/xs:unique, when none of them can ever select an element.

    That holds when every selector path names an element in no namespace while every element the schema
    allows is namespace-qualified: a target namespace, elementFormDefault="qualified", no local element
    with form="unqualified", no wildcard and nothing imported or included. An element in no namespace then
    fails the content model wherever it appears, so in a document that is valid otherwise each constraint
    has an empty selection and holds. All of them or none are returned.
    """
    root = schema_root
    if not root.get("targetNamespace") or root.get("elementFormDefault") != "qualified":
        return []
    if any(True for _ in root.iter(_XS + "any", _XS + "import", _XS + "include", _XS + "redefine")):
        return []
    if any(el.get("form") == "unqualified" for el in root.iter(_XS + "element")):
        return []
    constraints = list(root.iter(_XS + "key", _XS + "keyref", _XS + "unique"))
    for idc in constraints:
        selector = idc.find(_XS + "selector")
        if selector is None or not _selects_nothing(selector.get("xpath", "")):
            return []
    return constraints


@cache
def streaming_schema(version: str) -> etree.XMLSchema:
    """The official XSD of `version`, compiled for the streaming check.

    Skatteetaten's schemas declare 100 identity constraints on AuditFile whose selectors use unqualified
    paths (`MasterFiles/GeneralLedgerAccounts/Account`), which match no element of a SAF-T file (all are in
    the SAF-T namespace); the references they were meant to check are checked in validation.py. libxml2
    still evaluates every one of them on every element, which is three quarters of the validation time.
    They are left out after `inert_identity_constraints` has shown that none can select anything, so the
    schema accepts and refuses exactly the files the published one does (tests/saft/test_parser.py checks
    both against the same files).
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    doc = etree.parse(str(schema_path(version)), parser)
    for idc in inert_identity_constraints(doc.getroot()):
        idc.getparent().remove(idc)
    return etree.XMLSchema(doc)


# ------------------------------------------------------------------ flattening transactions
# Separators of the flattened text: private-use characters, which the reader checks its input for (a file
# that carries them is sent as XML instead, see `_Input`). Every item is `F` + a one-letter code + the
# element's text; a line starts with `L`, a transaction ends with `R`.
F, L, R = "\ue000", "\ue001", "\ue002"
_SEPARATOR_BYTES = b"\xee\x80"  # UTF-8 of U+E000..U+E03F
_CHAR_REF = re.compile(rb"&#([xX][0-9a-fA-F]+|[0-9]+);")
_FLAT_ENCODINGS = frozenset(
    {"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin1", "latin-1", "iso-8859-15", "windows-1252"}
)

_ITEMS = {
    # mode t: children of Transaction
    "t": {
        "TransactionID": "i",
        "TransactionDate": "d",
        "Period": "p",
        "PeriodYear": "y",
        "Description": "x",
        "SourceID": "u",
        "VoucherType": "v",
    },
    # mode l: children of Line
    "l": {
        "RecordID": "r",
        "AccountID": "a",
        "Description": "x",
        "CustomerID": "c",
        "SupplierID": "s",
        "ReferenceNumber": "n",
        "CID": "k",
        "DueDate": "e",
    },
    # mode m: children of a line's DebitAmount/CreditAmount
    "m": {"Amount": "m", "CurrencyCode": "C", "CurrencyAmount": "A", "ExchangeRate": "X"},
    # mode a: children of Analysis
    "a": {"AnalysisType": "t", "AnalysisID": "I"},
    # mode x: children of TaxInformation
    "x": {"TaxCode": "T", "TaxPercentage": "P", "TaxBase": "B"},
}
# Groups: a code, then the group's own items (mode), or the text of its Amount child (None).
_GROUPS = {
    "l": {"DebitAmount": ("D", "m"), "CreditAmount": ("K", "m"), "Analysis": ("Y", "a"),
          "TaxInformation": ("Z", "x")},
    "a": {"DebitAnalysisAmount": ("1", None), "CreditAnalysisAmount": ("2", None),
          "AnalysisAmount": ("3", None)},
    "x": {"DebitTaxAmount": ("4", None), "CreditTaxAmount": ("5", None), "TaxAmount": ("6", None)},
}  # fmt: skip


def _flatten_xslt() -> str:
    f, ln, r = (f"&#x{ord(c):X};" for c in (F, L, R))
    out = [
        '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" '
        f'xmlns:s="{NAMESPACE}">',
        '<xsl:output method="text" encoding="UTF-8"/>',
        '<xsl:param name="n" select="0"/>',
        '<xsl:template match="/*"><xsl:for-each select="s:Transaction[position() &lt;= $n]">'
        f'<xsl:apply-templates select="*" mode="t"/><xsl:text>{r}</xsl:text></xsl:for-each></xsl:template>',
        f'<xsl:template match="s:Line" mode="t"><xsl:text>{ln}</xsl:text>'
        '<xsl:apply-templates select="*" mode="l"/></xsl:template>',
    ]
    for mode, items in _ITEMS.items():
        for name, code in items.items():
            out.append(
                f'<xsl:template match="s:{name}" mode="{mode}"><xsl:text>{f}{code}</xsl:text>'
                '<xsl:value-of select="."/></xsl:template>'
            )
        out.append(f'<xsl:template match="*" mode="{mode}"/>')
    for mode, groups in _GROUPS.items():
        for name, (code, inner) in groups.items():
            body = (
                f'<xsl:apply-templates select="*" mode="{inner}"/>'
                if inner
                else '<xsl:value-of select="s:Amount"/>'
            )
            out.append(
                f'<xsl:template match="s:{name}" mode="{mode}"><xsl:text>{f}{code}</xsl:text>'
                f"{body}</xsl:template>"
            )
    out.append("</xsl:stylesheet>")
    return "\n".join(out)


_FLATTEN_XSLT = _flatten_xslt()


def flat_encoding_ok(prefix: bytes) -> bool:
    """Whether the flattened text can be used for a file starting with `prefix`: its encoding is one in
    which the reader can see every separator character in the raw bytes (UTF-8 and the Latin ones)."""
    if prefix.startswith(b"\xef\xbb\xbf"):
        prefix = prefix[3:]
    elif prefix[:2] in (b"\xff\xfe", b"\xfe\xff") or prefix[:1] == b"\x00" or prefix[1:2] == b"\x00":
        return False  # UTF-16/UTF-32
    m = re.match(rb"\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']", prefix)
    return m is None or m.group(1).decode("ascii").lower() in _FLAT_ENCODINGS


# ------------------------------------------------------------------ small helpers (both processes)
def _text(el: Any) -> str:
    return (el.text or "").strip()


def _dec_text(text: str, name: str) -> Decimal:
    value_text = text.strip()
    try:
        value = Decimal(value_text)
    except InvalidOperation:
        raise SaftError("schema", f"{name}: {value_text!r} is not a number") from None
    if not value.is_finite():
        raise SaftError("schema", f"{name}: {value_text!r} is not a number")
    return value


def _money_text(text: str, name: str) -> Decimal:
    value = _dec_text(text, name)
    q = value.quantize(CENT)
    if q != value:
        raise SaftError("schema", f"{name}: {text.strip()!r} has more than two decimals")
    return q


def _dec(el: Any) -> Decimal:
    return _dec_text(el.text or "", el.tag[NSLEN:])


def _money(el: Any) -> Decimal:
    return _money_text(el.text or "", el.tag[NSLEN:])


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


def _journal_id(journal: Any) -> str | None:
    for child in journal:
        if child.tag == T_JOURNALID:
            return _text(child)
    return None


# ------------------------------------------------------------------ the reader process
class _Input:
    """The reader's stdin. Watches the raw bytes for the flattening separators (as UTF-8 or as character
    references); once one is seen, `flat` stays False and transactions are sent as XML from then on. The
    check runs on each chunk before libxml2 sees it, so no element built from such bytes is flattened."""

    def __init__(self, fd: int, flat: bool) -> None:
        self.fd = fd
        self.flat = flat
        self._tail = b""

    def read(self, size: int = -1) -> bytes:
        # Whole chunks, as a file gives them: libxml2 then sees the same chunks (and reports a schema
        # error after the same records) whatever the pipe hands over at a time.
        want = size if size and size > 0 else FEED_CHUNK
        data = os.read(self.fd, want)
        if data and len(data) < want:
            parts = [data]
            got = len(data)
            while got < want:
                more = os.read(self.fd, want - got)
                if not more:
                    break
                parts.append(more)
                got += len(more)
            data = b"".join(parts)
        if data and self.flat:
            self._scan(data)
        return data

    def _scan(self, data: bytes) -> None:
        buf = self._tail + data
        if _SEPARATOR_BYTES in buf:
            self.flat = False
            return
        if b"&#" in buf:
            for m in _CHAR_REF.finditer(buf):
                ref = m.group(1)
                code = int(ref[1:], 16) if ref[:1] in (b"x", b"X") else int(ref)
                if 0xE000 <= code <= 0xE03F:
                    self.flat = False
                    return
        last = buf.rfind(b"&")
        if last >= 0 and b";" not in buf[last:]:
            if len(buf) - last > 64:  # a character reference this long: do not try to follow it
                self.flat = False
                return
            self._tail = buf[last:]  # a reference cut by the chunk boundary
        else:
            self._tail = buf[-1:]  # a separator cut after its first byte


class _Reader:
    """Parse (and validate) one file from stdin; send its records to stdout in document order."""

    def __init__(self, source: _Input, out: BinaryIO, version: str, xslt: Any) -> None:
        self.source = source
        self.out = out
        self.schema = streaming_schema(version)
        self.xslt = xslt
        self.journal: Any = None
        self.journal_id: str | None = None
        self.pending = 0
        self.last: Any = None

    def send(self, *message: Any) -> None:
        pickle.dump(message, self.out, protocol=pickle.HIGHEST_PROTOCOL)

    def run(self) -> None:
        it = etree.iterparse(
            self.source, events=("end",), tag=_READER_TAGS, schema=self.schema, **_PARSE_OPTIONS
        )
        first = True
        closed = False
        totals: dict[str, str] = {}
        try:
            for _event, el in it:
                if first:
                    first = False
                    if el.getroottree().docinfo.internalDTD is not None:
                        self.send("unsafe", "The file has a document type declaration; DTDs are refused")
                        return
                tag = el.tag
                if tag == T_TRANSACTION:
                    if self.failed(it):
                        return
                    parent = el.getparent()
                    if parent is not self.journal:
                        self.flush()
                        self.journal, self.journal_id = parent, _journal_id(parent)
                    self.pending += 1
                    self.last = el
                    if self.pending >= BATCH:
                        self.flush()
                    continue
                self.flush()
                if tag in _RECORD_KINDS:
                    if self.failed(it):
                        return
                    self.send(_RECORD_KINDS[tag], etree.tostring(el, with_tail=False))
                    _detach(el)
                elif tag == T_OWNER:
                    self.send("owner", etree.tostring(el, with_tail=False))
                    _detach(el)
                elif tag in (T_NUMBER, T_TOTALDEBIT, T_TOTALCREDIT):
                    if el.getparent().tag == T_GLE:
                        totals[tag] = _text(el)
                        if tag == T_TOTALCREDIT:
                            if self.failed(it):
                                return
                            self.send("totals", dict(totals))
                elif tag in (T_MASTERFILES, T_GLE, T_JOURNAL):
                    _detach(el)
                    self.journal = None
                elif tag == T_AUDITFILE:
                    closed = True
                elif el.getparent() is not None and el.getparent().tag == T_SOURCEDOCS:
                    _detach(el)
        except etree.XMLSyntaxError as exc:
            self.flush()
            errors = [(e.message, e.domain_name) for e in it.error_log if e.level >= etree.ErrorLevels.ERROR]
            self.send("syntax", str(exc), errors)
            return
        if self.failed(it):
            return
        self.send("end", closed)

    def failed(self, it: Any) -> bool:
        """Whether the schema check has failed so far; if so, what came before and the errors are sent."""
        log = it.error_log
        if len(log):
            errors = [e.message for e in log if e.level >= etree.ErrorLevels.ERROR]
            if errors:
                self.flush()
                self.send("schema", errors)
                return True
        return False

    def flush(self) -> None:
        """Send the pending transactions (flattened, or as XML) and drop them from the tree."""
        if not self.pending:
            return
        journal, count = self.journal, self.pending
        if self.source.flat:
            self.send("tx", self.journal_id, bytes(self.xslt(journal, n=str(count))))
        else:
            xml = []
            for tx in journal.iterchildren(T_TRANSACTION):
                xml.append(etree.tostring(tx, with_tail=False))
                if len(xml) == count:
                    break
            self.send("txx", self.journal_id, xml)
        del journal[: journal.index(self.last) + 1]
        self.pending = 0
        self.last = None


def _reader_main() -> None:
    """The reader process: on stdin a line `<version> <flat 1/0>`, then the XML; messages on stdout."""
    out = os.fdopen(os.dup(1), "wb", buffering=1 << 16)
    try:
        xslt = etree.XSLT(etree.XML(_FLATTEN_XSLT.encode()), access_control=etree.XSLTAccessControl.DENY_ALL)
        line = b""
        while not line.endswith(b"\n"):
            byte = os.read(0, 1)
            if not byte:
                return  # the parent gave up before sending anything
            line += byte
        version, flat = line.decode("ascii").split()
        _Reader(_Input(0, flat == "1"), out, version, xslt).run()
    except BaseException:  # reported to the parent, which raises it
        import traceback

        pickle.dump(("crash", traceback.format_exc()), out, protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        with contextlib.suppress(OSError):
            out.flush()


_READER_COMMAND = "from saldo.saft.parser import _reader_main; _reader_main()"


def _widen(pipe: Any) -> None:
    """A 1 MB pipe buffer (Linux): the feeding thread and the reader rarely wait for each other."""
    with contextlib.suppress(AttributeError, OSError):
        import fcntl

        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)


def _reader_env() -> dict[str, str]:
    root = str(Path(__file__).resolve().parents[2])  # the directory that holds the `saldo` package
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


# ------------------------------------------------------------------ this process
class SaftParser:
    """Iterate `(kind, record)` from one SAF-T Financial XML stream; see the module docstring.

    `flatten=False` has the reader send every transaction as XML, which this process walks element by
    element (what it does anyway for a file in another encoding or one that carries the separators); the
    records are the same either way.
    """

    def __init__(
        self,
        stream: BinaryIO,
        *,
        name: str = "file",
        limits: Limits = DEFAULT_LIMITS,
        reopen: Callable[[], BinaryIO] | None = None,
        flatten: bool = True,
    ) -> None:
        self.stream = stream
        self.reopen = reopen
        self.name = name
        self.limits = limits
        self.flatten = flatten
        self.version: str | None = None
        self.raw_version: str | None = None
        self._fed = 0
        self._feed_error: BaseException | None = None
        self._records = etree.XMLParser(**_PARSE_OPTIONS)

    @property
    def bytes_read(self) -> int:
        """Bytes handed to the reader so far."""
        return self._fed

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
        with tempfile.TemporaryFile(prefix="saldo-saft-reader-") as errors:
            # The reader starts (interpreter, lxml, the XSLT) while the first bytes are sniffed here.
            proc = subprocess.Popen(  # noqa: S603 - our own module, run by this interpreter
                [sys.executable, "-c", _READER_COMMAND],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                env=_reader_env(),
                bufsize=1 << 16,
            )
            feeder = None
            try:
                _widen(proc.stdin)
                _widen(proc.stdout)
                prefix = self._sniff()
                flat = self.flatten and flat_encoding_ok(prefix)
                start = f"{self.version} {int(flat)}\n".encode() + prefix
                feeder = threading.Thread(
                    target=self._feed, args=(proc, start), name="saft-feed", daemon=True
                )
                feeder.start()
                yield from self._messages(proc, feeder, errors)
            finally:
                if proc.poll() is None:
                    proc.kill()
                if feeder is not None:
                    feeder.join()
                else:
                    assert proc.stdin is not None
                    with contextlib.suppress(OSError):
                        proc.stdin.close()
                proc.wait()
                assert proc.stdout is not None
                proc.stdout.close()

    def _feed(self, proc: subprocess.Popen[bytes], start: bytes) -> None:
        """Hand the file to the reader (a thread: reading and hashing the stream overlap the parse)."""
        pipe = proc.stdin
        assert pipe is not None
        data = start
        try:
            while data:
                try:
                    pipe.write(data)
                except OSError:  # the reader has stopped (an error it reports, or a crash)
                    return
                self._fed += len(data)
                try:
                    data = self.stream.read(FEED_CHUNK)
                except BaseException as exc:  # raised in the parsing thread instead
                    self._feed_error = exc
                    return
        finally:
            with contextlib.suppress(OSError):
                pipe.close()

    def _messages(
        self, proc: subprocess.Popen[bytes], feeder: threading.Thread, errors: BinaryIO
    ) -> Iterator[tuple[str, Any]]:
        out = proc.stdout
        assert out is not None
        while True:
            try:
                message = pickle.load(out)  # noqa: S301 - our own reader process
            except EOFError:
                feeder.join()
                if self._feed_error is not None:
                    raise self._feed_error from None
                code = proc.wait()
                errors.seek(0)
                raise RuntimeError(
                    f"The SAF-T reader process ended without a result (exit {code}): "
                    f"{errors.read()[-2000:].decode(errors='replace')}"
                ) from None
            kind = message[0]
            if kind == "tx":
                for tx in self._decode(message[2], message[1]):
                    yield "transaction", tx
            elif kind == "txx":
                for xml in message[2]:
                    yield "transaction", self._transaction(self._element(xml), message[1])
            elif kind == "account":
                yield "account", self._account(self._element(message[1]))
            elif kind in ("customer", "supplier"):
                yield kind, self._party(self._element(message[1]))
            elif kind == "tax_entry":
                for detail in self._tax_entry(self._element(message[1])):
                    yield "tax_code", detail
            elif kind == "analysis":
                yield "analysis", self._analysis_entry(self._element(message[1]))
            elif kind == "owner":
                d = to_dict(self._element(message[1]))
                yield (
                    "owner",
                    {"id": d.get("OwnerID"), "name": d.get("Name"), "account_id": d.get("AccountID")},
                )
            elif kind == "header":
                yield "header", self._header(self._element(message[1]))
            elif kind == "totals":
                yield "totals", self._totals(message[1])
            elif kind == "schema":
                raise self._schema_error(message[1])
            elif kind == "unsafe":
                raise UnsafeFile(message[1])
            elif kind == "syntax":
                feeder.join()
                if self._feed_error is not None:
                    raise self._feed_error
                raise self._syntax_error(message[1], message[2])
            elif kind == "end":
                feeder.join()
                if self._feed_error is not None:
                    raise self._feed_error
                if not message[1]:
                    # libxml2 with a schema and resolve_entities=False may end early without an error: a
                    # truncated file must never pass as a shorter one.
                    raise self._diagnose() or SaftError(
                        "not_xml",
                        f"{self.name} ends before </AuditFile>: the file is truncated or not well-formed",
                    )
                return
            else:
                raise RuntimeError(f"The SAF-T reader process failed: {message[1]}")

    def _element(self, xml: bytes) -> Any:
        return etree.fromstring(xml, self._records)

    def _schema_error(self, messages: list[str]) -> SaftError:
        details = []
        for message in messages[:MAX_SCHEMA_ERRORS]:
            details.append({"file": self.name, "message": message.replace(NS, "")})
        more = f" (and {len(messages) - 1} more)" if len(messages) > 1 else ""
        return SaftError(
            "schema",
            f"{self.name} does not validate against the SAF-T Financial {self.version} schema: "
            f"{details[0]['message']}{more}",
            details=details,
        )

    def _syntax_error(self, text: str, errors: list[tuple[str, str]]) -> SaftError:
        schema_errors = [message for message, domain in errors if domain == "SCHEMASV"]
        if schema_errors:
            return self._schema_error(schema_errors)
        diagnosed = self._diagnose()
        if diagnosed is not None:
            return diagnosed
        return SaftError("not_xml", f"{self.name} is not well-formed XML: {text.replace(NS, '')}")

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

    # ---------------------------------------------------------- flattened transactions
    def _decode(self, data: bytes, journal_id: str | None) -> list[Transaction]:
        """The transactions of one flattened batch (see `_FLATTEN_XSLT`), as `_transaction` reads them."""
        out = []
        for block in data.decode("utf-8").split(R)[:-1]:
            parts = block.split(L)
            tx_id = description = ""
            tx_date: date | None = None
            period = period_year = None
            source_id = voucher_type = None
            for item in parts[0].split(F)[1:]:
                code, value = item[:1], item[1:]
                if code == "i":
                    tx_id = value.strip()
                elif code == "d":
                    tx_date = _date(value.strip())
                elif code == "p":
                    period = int(value.strip())
                elif code == "y":
                    period_year = int(value.strip())
                elif code == "x":
                    description = value.strip()
                elif code == "u":
                    source_id = value.strip() or None
                elif code == "v":
                    voucher_type = value.strip() or None
            lines = tuple([_flat_line(text) for text in parts[1:]])
            if tx_date is None:
                raise SaftError("schema", f"Transaction {tx_id}: TransactionDate is missing")
            out.append(
                Transaction(
                    tx_id,
                    tx_date,
                    period,
                    period_year,
                    description,
                    source_id,
                    voucher_type,
                    journal_id,
                    lines,
                )
            )
        return out

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

    def _transaction(self, el: Any, journal_id: str | None) -> Transaction:
        """A transaction from its element (the reference for `_decode`, and the path for XML batches)."""
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
            journal_id,
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


def _opt(code: str) -> str:
    return f"(?:{F}{code}([^{F}]*))?"


# A line as the 1.30 schema orders its children (1.10/1.20 too): RecordID, AccountID, Analysis*, CustomerID?,
# SupplierID?, Description, DebitAmount|CreditAmount, TaxInformation*, ReferenceNumber?, CID?, DueDate?.
# A line in any other shape is read item by item (`_flat_line_items`); both read it as `_line` does.
_LINE_RE = re.compile(
    f"{F}r([^{F}]*){F}a([^{F}]*)"
    f"((?:{F}[YtI123][^{F}]*)*)"
    f"{_opt('c')}{_opt('s')}"
    f"{F}x([^{F}]*)"
    f"(?:{F}([DK]){_opt('m')}((?:{F}[CAX][^{F}]*)*))?"
    f"((?:{F}[ZTPB456][^{F}]*)*)"
    f"{_opt('n')}{_opt('k')}{_opt('e')}\\Z"
)


def _flat_line(text: str) -> Line:
    """One line of a flattened transaction, exactly as `SaftParser._line` reads the element."""
    m = _LINE_RE.match(text)
    if m is None:
        return _flat_line_items(text)
    (
        record_id,
        account_id,
        analysis,
        customer,
        supplier,
        description,
        side_code,
        value,
        currency,
        taxes,
        ref,
        cid,
        due,
    ) = m.groups()
    side = -1 if side_code == "K" else 1
    amount = (_money_text(value, "Amount") if value is not None else ZERO) * side
    currency_code = currency_amount = rate = None
    if currency:
        for item in currency.split(F)[1:]:
            code, v = item[:1], item[1:]
            if code == "C":
                currency_code = v.strip().upper()
            elif code == "A":
                currency_amount = _money_text(v, "CurrencyAmount")
            else:
                rate = _dec_text(v, "ExchangeRate")
        if currency_amount is not None:
            currency_amount *= side
    return Line(
        record_id.strip(),
        account_id.strip(),
        amount,
        description.strip(),
        (customer or "").strip() or None,
        (supplier or "").strip() or None,
        _flat_analysis(analysis, side) if analysis else (),
        _flat_taxes(taxes, side) if taxes else (),
        currency_code,
        currency_amount,
        rate,
        (ref or "").strip() or None,
        (cid or "").strip() or None,
        _date(due.strip()) if due is not None else None,
    )


_ANALYSIS_RE = re.compile(f"{F}Y{_opt('t')}{_opt('I')}(?:{F}([123])([^{F}]*))?")
_TAX_RE = re.compile(f"{F}Z{_opt('T')}{_opt('P')}{_opt('B')}(?:{F}([456])([^{F}]*))?")


def _group_amount(kind: str, text: str, side: int) -> Decimal:
    amount = _money_text(text, "Amount") if text else ZERO
    k = "123456".index(kind) % 3
    return amount if k == 0 else -amount if k == 1 else amount * side


def _flat_analysis(block: str, side: int) -> tuple[Analysis, ...]:
    m = _ANALYSIS_RE.fullmatch(block)  # one Analysis: the usual case
    if m is None:
        return tuple([_sided_analysis(a, side) for a in _flat_items(block)])
    a_type, a_id, kind, amount = m.groups()
    return (
        Analysis(
            (a_type or "").strip(),
            (a_id or "").strip(),
            _group_amount(kind, amount, side) if kind is not None else None,
        ),
    )


def _flat_taxes(block: str, side: int) -> tuple[TaxInfo, ...]:
    m = _TAX_RE.fullmatch(block)  # one TaxInformation: the usual case
    if m is None:
        return tuple([_sided_tax(t, side) for t in _flat_items(block)])
    code, pct, base, kind, amount = m.groups()
    return (
        TaxInfo(
            (code or "").strip() or None,
            _dec_text(pct, "TaxPercentage") if pct is not None else None,
            _dec_text(base, "TaxBase") * side if base is not None else None,
            _group_amount(kind, amount, side) if kind is not None else None,
        ),
    )


def _flat_items(block: str) -> list[list[Any]]:
    """The Analysis or TaxInformation groups of a line: [type, id, amount] or [code, pct, base, amount]."""
    groups: list[list[Any]] = []
    for item in block.split(F)[1:]:
        _flat_group_item(groups, item[:1], item[1:])
    return groups


def _flat_group_item(groups: list[list[Any]], code: str, v: str) -> None:
    if code == "Y":
        groups.append(["", "", None])
    elif code == "t":
        groups[-1][0] = v.strip()
    elif code == "I":
        groups[-1][1] = v.strip()
    elif code == "Z":
        groups.append([None, None, None, None])
    elif code == "T":
        groups[-1][0] = v.strip() or None
    elif code == "P":
        groups[-1][1] = _dec_text(v, "TaxPercentage")
    elif code == "B":
        groups[-1][2] = _dec_text(v, "TaxBase")
    else:  # 1 2 3: Debit/Credit/AnalysisAmount; 4 5 6: Debit/Credit/TaxAmount (the text of its Amount)
        amount = _money_text(v, "Amount") if v else ZERO
        kind = "123456".index(code) % 3
        groups[-1][-1] = amount if kind == 0 else -amount if kind == 1 else _Unsided(amount)


def _flat_line_items(text: str) -> Line:
    record_id = account_id = description = ""
    value = ZERO
    side = 1
    customer_id = supplier_id = reference = cid = None
    due: date | None = None
    currency_code = None
    currency_amount = rate = None
    analysis: list[list[Any]] = []
    taxes: list[list[Any]] = []
    for item in text.split(F)[1:]:
        code, v = item[:1], item[1:]
        if code == "r":
            record_id = v.strip()
        elif code == "a":
            account_id = v.strip()
        elif code == "x":
            description = v.strip()
        elif code == "m":
            value = _money_text(v, "Amount")
        elif code == "D" or code == "K":
            side = 1 if code == "D" else -1
            value = ZERO
            currency_code = currency_amount = rate = None
        elif code in "YtI123":
            _flat_group_item(analysis, code, v)
        elif code in "ZTPB456":
            _flat_group_item(taxes, code, v)
        elif code == "c":
            customer_id = v.strip() or None
        elif code == "s":
            supplier_id = v.strip() or None
        elif code == "n":
            reference = v.strip() or None
        elif code == "k":
            cid = v.strip() or None
        elif code == "e":
            due = _date(v.strip())
        elif code == "C":
            currency_code = v.strip().upper()
        elif code == "A":
            currency_amount = _money_text(v, "CurrencyAmount")
        elif code == "X":
            rate = _dec_text(v, "ExchangeRate")
    amount = value * side
    if currency_amount is not None:
        currency_amount *= side
    return Line(
        record_id,
        account_id,
        amount,
        description,
        customer_id,
        supplier_id,
        tuple([_sided_analysis(a, side) for a in analysis]),
        tuple([_sided_tax(t, side) for t in taxes]),
        currency_code,
        currency_amount,
        rate,
        reference,
        cid,
        due,
    )


def _sided_analysis(a: list[Any], side: int) -> Analysis:
    amount = a[2]
    return Analysis(a[0], a[1], Decimal(amount) * side if isinstance(amount, _Unsided) else amount)


def _sided_tax(t: list[Any], side: int) -> TaxInfo:
    # TaxBase is unsigned in every version and 1.10/1.20 TaxAmount has no side of its own: both take the
    # line's side (Saldo keeps them signed, debit positive).
    code, pct, base, amount = t
    return TaxInfo(
        code,
        pct,
        base * side if base is not None else None,
        Decimal(amount) * side if isinstance(amount, _Unsided) else amount,
    )
