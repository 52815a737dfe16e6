"""The schemas and examples the SAF-T code and tests rely on are Skatteetaten's published bytes."""

from __future__ import annotations

import hashlib

import pytest

from saldo.saft.schemas import XSD_DIR
from tests.saft.conftest import EXAMPLE_888, EXAMPLE_999, EXAMPLE_XMLSPY

PUBLISHED = {
    XSD_DIR / "Norwegian_SAF-T_Financial_Schema_v_1.10.xsd": (
        "ac62bb93eaf63b1244eafb3a61ff00d6e7442f82e55e1882715d08bfb7eddc18"
    ),
    XSD_DIR / "Norwegian_SAF-T_Financial_Schema_v_1.20.xsd": (
        "f2cd765c20e6f85a43cdc4ea439a676e59bdac78174a41937f85a2f8d3b66855"
    ),
    XSD_DIR / "Norwegian_SAF-T_Financial_Schema_v_1.30.xsd": (
        "2ddd358a13af0b2e19078650c8f00cc5d7a392926f6940818c1893cc9769a357"
    ),
    EXAMPLE_888: "6f0d189a5db1a78710ee54f751e4cf6700f0eb7b85a9638bb41d9e178ed72973",
    EXAMPLE_999: "028b3ca4ea0e6b70b432c8fcbccb6935ecce336e12898b33f08ad1f8160af4e6",
    EXAMPLE_XMLSPY: "e56522a49c147b59af5dc08e85d06f4a1607ed68c0192f3bd8a5ebead3a1d65a",
}


@pytest.mark.parametrize("path", sorted(PUBLISHED), ids=lambda p: p.name)
def test_file_is_the_published_one(path):
    assert hashlib.sha256(path.read_bytes()).hexdigest() == PUBLISHED[path]
