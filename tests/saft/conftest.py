"""Fixtures for the SAF-T tests: the official examples, the 1.30 XSD, and helpers for the API."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from saldo.saft.schemas import XSD_DIR
from tests.conftest import ROOT

# Skatteetaten's published example files, copied unchanged (tests/fixtures/saft/SOURCES.md).
EXAMPLES = ROOT / "tests" / "fixtures" / "saft"
EXAMPLE_888 = EXAMPLES / "ExampleFile SAF-T Financial_888888888_20180228235959.xml"
EXAMPLE_999 = EXAMPLES / "ExampleFile SAF-T Financial_999999999_20161125213512.xml"
EXAMPLE_XMLSPY = EXAMPLES / "Eksempelfil fra xmlSpy.xml"
# The package's copy of the official 1.30 schema; test_published_schemas holds it to the published bytes.
XSD_130 = XSD_DIR / "Norwegian_SAF-T_Financial_Schema_v_1.30.xsd"


@pytest.fixture(scope="session")
def xsd130() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD_130)))


def assert_valid_130(schema: etree.XMLSchema, xml: bytes) -> etree._Element:
    """Validate against Skatteetaten's 1.30 XSD, as published (checked by its SHA-256)."""
    doc = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
    ok = schema.validate(etree.ElementTree(doc))
    assert ok, "\n".join(str(e) for e in list(schema.error_log)[:10])
    return doc


def wait_import(stack: Any, api: Any, import_id: str, timeout: float = 60) -> dict[str, Any]:
    """Let the worker run (the local stack polls the queue) until the import is finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.drain(timeout=timeout)
        body = api.get(f"/api/v2/client-accounts/imports/{import_id}").json()
        if body["status"] in ("SUCCEEDED", "FAILED"):
            return body
        time.sleep(0.1)
    raise AssertionError(f"import {import_id} did not finish")


def read(path: Path) -> bytes:
    return path.read_bytes()


@pytest.fixture(autouse=True)
def _aws(stack: Any) -> Any:
    """Every SAF-T test runs against the in-process moto stack: the real adapters, no stand-ins."""
    return stack
