"""A property-based run over the OpenAPI document: schemathesis against the served local stack.

Every check is on (tests/schemathesis.toml says what a schema cannot). The default run is small and
fixed (a seed, a few examples per operation, the fuzzing and stateful phases) so it belongs in
`make test`; `make fuzz` (FUZZ_EXAMPLES, FUZZ_PHASES, FUZZ_SEED) runs it longer. It must find nothing
but the failures recorded in tests/fuzz_baseline.json, each a known fault of the server with its
reproduction, to be removed when fixed (`--baseline-prune`). docs/API.md explains how.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.served import serve_env, served_stack

pytestmark = pytest.mark.e2e

CONFIG = ROOT / "tests" / "schemathesis.toml"
BASELINE = ROOT / "tests" / "fuzz_baseline.json"
#: Operations left out until their server-side fault is fixed, because one bad write breaks the demo
#: client account for every later request (docs/API.md, "Known server faults").
PENDING: dict[str, str] = {}


@pytest.fixture(scope="module")
def served_api() -> Iterator[str]:
    """The local stack with the demo tenant, as its own process on a free port."""
    with served_stack() as served:
        yield served.api_url


def schemathesis_command(api_url: str, key: str) -> list[str]:
    exe = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
    phases = os.environ.get("FUZZ_PHASES", "fuzzing,stateful")
    cmd = [
        exe,
        "--config-file",
        str(CONFIG),
        "run",
        f"{api_url}/openapi.json",
        "--checks",
        "all",
        "--header",
        f"Authorization: Bearer {key}",
        "--seed",
        os.environ.get("FUZZ_SEED", "20261202"),
        "--max-examples",
        os.environ.get("FUZZ_EXAMPLES", "3"),
        "--phases",
        phases,
        "--workers",
        "1",
        "--baseline",
        str(BASELINE),
        "--no-color",
    ]
    for label in PENDING:
        cmd += ["--exclude-name", label]
    return cmd


def test_the_api_keeps_the_contract_of_its_document(served_api: str, tmp_path: Path) -> None:
    from saldo_tools.demo import DEMO_KEY

    if shutil.which("schemathesis", path=str(Path(sys.executable).parent)) is None:
        pytest.fail("schemathesis is not installed: pip install -r requirements/dev.txt")
    run = subprocess.run(
        schemathesis_command(served_api, DEMO_KEY),
        cwd=tmp_path,  # schemathesis keeps its crash records under ./.schemathesis
        env=serve_env(),
        capture_output=True,
        text=True,
        timeout=int(os.environ.get("FUZZ_TIMEOUT", "600")),
    )
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-20_000:]
