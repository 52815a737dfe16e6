"""Cold-start proxy: the cost of importing each function's handler module in a fresh interpreter.

For every `AWS::Serverless::Function` of template.yaml: `python -c "import <module>"` with the function's
CodeUri and the layer (layers/saldo) first on sys.path, the template's environment, and the bytecode
precompiled (compileall), median of several runs, less the median of `python -c pass` in the same
setting. One extra run with `-X importtime` names the heaviest top-level imports.
"""

from __future__ import annotations

import compileall
import os
import re
import sys
from typing import Any

from bench.measure import ROOT, Sample, log, run_measured

IMPORTTIME = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( +)(\S+)")


def functions() -> list[dict[str, str]]:
    from saldo_tools.localstack.template import load_template

    template = load_template(ROOT / "template.yaml")
    out = []
    for logical, res in template["Resources"].items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        props = res.get("Properties") or {}
        module = str(props["Handler"]).rsplit(".", 1)[0]
        out.append({"function": logical, "code_uri": str(props["CodeUri"]), "module": module})
    return out


def _env(code_uri: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SALDO_", "POWERTOOLS_", "PYTHON"))
    }
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(ROOT / code_uri), str(ROOT / "layers" / "saldo")]),
            "PYTHONDONTWRITEBYTECODE": "1",
            "AWS_REGION": "eu-north-1",
            "AWS_DEFAULT_REGION": "eu-north-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "SALDO_STAGE": "bench",
            "SALDO_TABLE": "saldo-bench",
            "SALDO_LEDGER_BUCKET": "saldo-bench-ledger",
            "SALDO_DOCUMENT_BUCKET": "saldo-bench-documents",
            "SALDO_WORK_QUEUE_URL": "https://sqs.eu-north-1.amazonaws.com/123456789012/saldo-bench-work",
            "SALDO_EVENT_BUS": "saldo-bench",
            "SALDO_SENDER_EMAIL": "reports@saldo.example",
            "POWERTOOLS_SERVICE_NAME": "saldo",
            "POWERTOOLS_METRICS_NAMESPACE": "Saldo",
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }
    )
    return env


def _top_imports(stderr: str, module: str, limit: int = 4) -> list[tuple[str, float]]:
    """The heaviest imports made directly by the handler module (cumulative ms).

    `-X importtime` prints a module after everything it imported, one level deeper (two spaces).
    """
    rows = []
    for line in stderr.splitlines():
        m = IMPORTTIME.match(line)
        if m:
            rows.append((len(m.group(3)), m.group(4), int(m.group(2)) / 1000))
    last = max((i for i, (_, name, _) in enumerate(rows) if name == module), default=None)
    if last is None:
        return []
    depth = rows[last][0]
    children = []
    for d, name, ms in reversed(rows[:last]):
        if d <= depth:
            break
        if d == depth + 2:
            children.append((name, ms))
    return sorted(children, key=lambda x: -x[1])[:limit]


# Modules a function imports lazily on its first real request (so they are not in the module import).
LAZY = {
    "LedgerApiFunction": ["duckdb"],
    "ReportsApiFunction": ["duckdb"],
    "SaftApiFunction": ["duckdb", "lxml.etree"],
    "JobWorkerFunction": ["duckdb", "lxml.etree", "openpyxl", "fpdf"],
}


def measure(*, runs: int) -> dict[str, Any]:
    compileall.compile_dir(str(ROOT / "functions"), quiet=1)
    compileall.compile_dir(str(ROOT / "layers" / "saldo" / "saldo"), quiet=1)
    out: dict[str, Any] = {}
    baseline = Sample()
    env0 = _env("functions")
    for _ in range(runs):
        baseline.times.append(run_measured([sys.executable, "-c", "pass"], env=env0).seconds)
    out["_baseline"] = baseline.as_dict()
    for fn in functions():
        env = _env(fn["code_uri"])
        cmd = [sys.executable, "-c", f"import {fn['module']}"]
        first = run_measured(cmd, env=env)  # also checks that it imports at all
        if first.returncode != 0:
            out[fn["function"]] = {"error": first.stderr[-500:]}
            log(f"  {fn['function']}: import failed")
            continue
        sample = Sample()
        peaks = []
        for _ in range(runs):
            res = run_measured(cmd, env=env)
            sample.times.append(res.seconds)
            peaks.append(res.max_rss_mb)
        traced = run_measured([sys.executable, "-X", "importtime", *cmd[1:]], env=env)
        top = _top_imports(traced.stderr, fn["module"])
        entry = {
            **fn,
            **sample.as_dict(),
            "import_s": sample.median - baseline.median,
            "max_rss_mb": max(peaks),
            "top_imports": top,
        }
        lazy = LAZY.get(fn["function"])
        if lazy:
            with_lazy = Sample()
            lazy_cmd = [sys.executable, "-c", f"import {fn['module']}, {', '.join(lazy)}"]
            for _ in range(runs):
                with_lazy.times.append(run_measured(lazy_cmd, env=env).seconds)
            entry["lazy"] = lazy
            entry["with_lazy_s"] = with_lazy.median - baseline.median
        out[fn["function"]] = entry
        log(
            f"  {fn['function']:<26} {(sample.median - baseline.median) * 1000:6.0f} ms over a "
            f"{baseline.median * 1000:.0f} ms interpreter start; heaviest: "
            + ", ".join(f"{n} {ms:.0f} ms" for n, ms in top[:3])
        )
    return out
