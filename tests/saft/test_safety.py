"""Malicious and malformed uploads are refused with a clear error, and nothing is written."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest

from saldo.saft import SaftError, UnsafeFile
from saldo.saft.importer import Importer, ImportRequest
from saldo.saft.parser import SaftParser
from saldo.saft.safety import Limits, Source, check_prolog, expand
from tests.saft.conftest import EXAMPLE_999
from tests.saft.stores import client_repo, ledger_store, nothing_written

NS = "urn:StandardAuditFile-Taxation-Financial:NO"

BILLION_LAUGHS = f"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<AuditFile xmlns="{NS}"><Header><AuditFileVersion>1.30</AuditFileVersion>
<Company><RegistrationNumber>999999999</RegistrationNumber><Name>&lol9;</Name></Company></Header></AuditFile>
""".encode()

EXTERNAL_ENTITY = f"""<?xml version="1.0"?>
<!DOCTYPE AuditFile [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<AuditFile xmlns="{NS}"><Header><AuditFileVersion>1.30</AuditFileVersion>
<Company><RegistrationNumber>999999999</RegistrationNumber><Name>&xxe;</Name></Company></Header></AuditFile>
""".encode()


def _source(data: bytes, name: str = "upload.xml") -> Source:
    return Source(name, len(data), lambda: io.BytesIO(data))


def _run(data: bytes, name: str = "upload.xml", limits: Limits | None = None):
    store, repo = ledger_store(), client_repo()
    importer = Importer(store, repo, limits=limits or Limits())
    outcome = importer.run(ImportRequest("org", "imp_1", [_source(data, name)]))
    return outcome, store, repo


def _nothing_written(store, repo) -> bool:
    return nothing_written()


@pytest.mark.parametrize(
    "payload", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion-laughs", "external-entity"]
)
def test_entity_attacks_are_refused_and_nothing_is_written(payload):
    outcome, store, repo = _run(payload)
    assert outcome.status == "FAILED"
    assert outcome.errors[0]["code"] == "unsafe_file"
    assert "DOCTYPE" in outcome.errors[0]["message"]
    assert _nothing_written(store, repo)


def test_doctype_is_found_behind_comments_and_in_utf16():
    hidden = b'<?xml version="1.0"?>\n<!-- a comment -->\n<?pi x?>\n<!doctype AuditFile SYSTEM "x.dtd">\n<a/>'
    with pytest.raises(UnsafeFile, match="DOCTYPE"):
        check_prolog(hidden)
    utf16 = BILLION_LAUGHS.decode().replace(
        '<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>'
    )
    with pytest.raises(UnsafeFile, match="DOCTYPE"):
        check_prolog(utf16.encode("utf-16"))
    check_prolog(b'\xef\xbb\xbf<?xml version="1.0"?><!-- ok --><AuditFile/>')  # BOM, comment: fine


def test_a_root_element_hidden_behind_a_long_prolog_is_refused():
    padded = b'<?xml version="1.0"?>' + b"<!--" + b"x" * 70_000 + b"-->" + b"<!DOCTYPE a []><a/>"
    with pytest.raises(UnsafeFile, match="No root element"):
        check_prolog(padded)


def test_the_parser_refuses_entities_even_without_the_prolog_check(monkeypatch):
    # Second line of defence: if the byte-level check were bypassed, the parser still has no DTD.
    monkeypatch.setattr("saldo.saft.parser.check_prolog", lambda data, limits=None: None)
    with pytest.raises(UnsafeFile):
        list(SaftParser(io.BytesIO(BILLION_LAUGHS)))


def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_zip_bomb_is_refused_before_decompressing():
    bomb = _zip({"SAF-T Financial_999999999_20250101000000_1_1.xml": b"\0" * (30 * 1024 * 1024)})
    assert len(bomb) < 100_000
    outcome, store, repo = _run(bomb, "bomb.zip")
    assert outcome.status == "FAILED"
    assert outcome.errors[0]["code"] == "unsafe_file"
    assert "zip bomb" in outcome.errors[0]["message"]
    assert _nothing_written(store, repo)


def test_oversized_member_is_refused_by_its_declared_size():
    data = _zip({"big.xml": EXAMPLE_999.read_bytes()})
    with pytest.raises(UnsafeFile, match="expands to"):
        expand([_source(data, "a.zip")], Limits(max_member_bytes=10_000))


def test_a_member_lying_about_its_size_cannot_yield_more_than_it_declared():
    real = EXAMPLE_999.read_bytes()
    data = bytearray(_zip({"a.xml": real}))
    # Patch the uncompressed size in the local header and the central directory to 1000 bytes.
    local = data.find(b"PK\x03\x04")
    struct.pack_into("<I", data, local + 22, 1000)
    central = data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 1000)
    outcome, store, repo = _run(bytes(data), "lying.zip")
    assert outcome.status == "FAILED"
    assert outcome.errors[0]["code"] == "unsafe_file"
    assert "CRC" in outcome.errors[0]["message"]
    assert _nothing_written(store, repo)


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"inner.zip": b"PK\x03\x04"}, "not an .xml file"),
        ({f"f{i}.xml": b"<a/>" for i in range(11)}, "at most 10"),
    ],
    ids=["nested-archive", "too-many-members"],
)
def test_zip_contents_are_checked(members, message):
    with pytest.raises(UnsafeFile, match=message):
        expand([_source(_zip(members), "a.zip")])


def test_zip_members_are_ordered_as_split_files_and_macos_entries_skipped():
    data = _zip({"x_2_2.xml": b"<b/>", "__MACOSX/._x_1_2.xml": b"junk", "x_1_2.xml": b"<a/>"})
    parts = expand([_source(data, "set.zip")])
    assert [p.name for p in parts] == ["set.zip!x_1_2.xml", "set.zip!x_2_2.xml"]
    assert [p.sequence for p in parts] == [(1, 2), (2, 2)]
    with parts[0].open() as fh:
        assert fh.read() == b"<a/>"


def test_not_xml_and_not_saft_are_clear_errors():
    with pytest.raises(UnsafeFile, match="not XML"):
        list(SaftParser(io.BytesIO(b"%PDF-1.4 hello")))
    with pytest.raises(SaftError, match="not a SAF-T Financial file"):
        list(SaftParser(io.BytesIO(b"<Invoice><Header/></Invoice>")))
