"""The SAF-T Financial XSDs shipped with the package (see xsd/README.md), one per supported version."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lxml import etree

from saldo.saft import SaftError

XSD_DIR = Path(__file__).resolve().parent / "xsd"
SCHEMA_FILES = {
    "1.10": "Norwegian_SAF-T_Financial_Schema_v_1.10.xsd",
    "1.20": "Norwegian_SAF-T_Financial_Schema_v_1.20.xsd",
    "1.30": "Norwegian_SAF-T_Financial_Schema_v_1.30.xsd",
}
_VERSIONS = {
    "1": "1.10",
    "1.0": "1.10",
    "1.00": "1.10",
    "1.1": "1.10",
    "1.10": "1.10",
    "1.2": "1.20",
    "1.20": "1.20",
    "1.3": "1.30",
    "1.30": "1.30",
}


def normalize_version(raw: str) -> str:
    """`AuditFileVersion` as one of 1.10, 1.20, 1.30 (the official examples still say 1.0)."""
    version = _VERSIONS.get(raw.strip())
    if version is None:
        raise SaftError(
            "unsupported_version",
            f"AuditFileVersion {raw.strip()!r} is not supported; Saldo imports SAF-T Financial 1.10, 1.20 "
            "and 1.30",
        )
    return version


def schema_path(version: str) -> Path:
    return XSD_DIR / SCHEMA_FILES[version]


@cache
def schema_for(version: str) -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.parse(str(schema_path(version)), parser))
