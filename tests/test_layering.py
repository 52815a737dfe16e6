"""Layering: only `saldo/adapters/` talks to AWS (imports boto3/botocore or the shared boto3 clients)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "layers" / "saldo" / "saldo"
AWS_MODULES = ("boto3", "botocore")


def offences(source: str, label: str) -> list[str]:
    """Imports of boto3/botocore or `saldo.adapters.clients`, and uses of `<something>.clients`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            names = [module, *(f"{module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Attribute) and node.attr == "clients":
            found.append(f"{label}:{node.lineno} uses .clients")
            continue
        else:
            continue
        found += [
            f"{label}:{node.lineno} imports {name}"
            for name in names
            if name.split(".")[0] in AWS_MODULES or name.startswith("saldo.adapters.clients")
        ]
    return found


def test_only_adapters_talk_to_aws() -> None:
    adapters = PACKAGE / "adapters"
    found = [
        offence
        for path in sorted(PACKAGE.rglob("*.py"))
        if adapters not in path.parents
        for offence in offences(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE.parent)))
    ]
    assert found == []


def test_the_scan_catches_each_way_in() -> None:
    source = (
        "import boto3\n"
        "from botocore.config import Config\n"
        "from saldo.adapters.clients import client\n"
        "from saldo.adapters import clients\n"
        "import saldo.adapters.clients\n"
        "saldo.adapters.clients.client('s3')\n"
        "from saldo.adapters.documents import put_object\n"
    )
    lines = sorted({int(o.split(":")[1].split()[0]) for o in offences(source, "x.py")})
    assert lines == [1, 2, 3, 4, 5, 6]
