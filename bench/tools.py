"""ledger-cli and hledger on the same postings (the journal export), checked against Saldo's trial balance."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.measure import OUT, Sample, log, run_measured

PACKAGES = {"ledger": "ledger", "hledger": "hledger"}


def ensure_tools() -> dict[str, Any]:
    """Find ledger and hledger; install the Debian packages when missing and we are root."""
    missing = [name for name in PACKAGES if shutil.which(name) is None]
    note = ""
    if missing:
        if os.geteuid() == 0 and shutil.which("apt-get"):
            log(f"installing {', '.join(missing)} with apt-get")
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, capture_output=True)
            done = subprocess.run(
                ["apt-get", "install", "-y", "-qq", *[PACKAGES[m] for m in missing]],
                check=False,
                env=env,
                capture_output=True,
                text=True,
            )
            note = (
                "installed with apt-get" if done.returncode == 0 else f"apt-get failed: {done.stderr[-300:]}"
            )
        else:
            note = "not installed and cannot install (needs root and apt-get)"
    found: dict[str, Any] = {"note": note}
    for name in PACKAGES:
        path = shutil.which(name)
        if path is None:
            found[name] = None
            continue
        out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False).stdout
        found[name] = {"path": path, "version": out.splitlines()[0].strip() if out else "?"}
    return found


def _ledger_cmd(journal: Path) -> list[str]:
    return [
        "ledger", "-f", str(journal), "--flat", "--no-total",
        "--balance-format", "%(account)\t%(quantity(scrub(display_total)))\n", "balance",
    ]  # fmt: skip


def _hledger_cmd(journal: Path) -> list[str]:
    return ["hledger", "-f", str(journal), "balance", "--flat", "-O", "csv"]


def _parse_ledger(text: str) -> dict[str, Decimal]:
    out = {}
    for line in text.splitlines():
        if "\t" in line:
            account, amount = line.split("\t", 1)
            out[account.strip()] = Decimal(amount.strip().replace(",", ""))
    return out


def _parse_hledger(text: str) -> dict[str, Decimal]:
    out = {}
    for row in csv.reader(io.StringIO(text)):
        if len(row) < 2 or row[0] in ("account", "total", "Total:"):
            continue
        out[row[0]] = Decimal(row[1].replace(",", "") or "0")
    return out


def compare(tool: dict[str, Decimal], saldo: dict[str, Decimal]) -> dict[str, Any]:
    """Accounts whose balances differ (zero balances count as absent on both sides)."""
    a = {k: v for k, v in tool.items() if v}
    b = {k: v for k, v in saldo.items() if v}
    diff = {k: (str(a.get(k)), str(b.get(k))) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}
    return {"accounts": len(b), "equal": not diff, "differences": dict(list(diff.items())[:10])}


def measure(
    journal: Path, saldo_tb: dict[str, Decimal], runs: dict[str, int], found: dict[str, Any]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, cmd, parse in (
        ("ledger", _ledger_cmd(journal), _parse_ledger),
        ("hledger", _hledger_cmd(journal), _parse_hledger),
    ):
        if not found.get(name):
            out[name] = {"skipped": f"{name} not available ({found.get('note') or 'not on PATH'})"}
            continue
        sample = Sample()
        peaks = []
        target = OUT / f"{name}-balance.out"
        for _ in range(runs[name]):
            res = run_measured(cmd, stdout_path=target, env={**os.environ, "LANG": "C.UTF-8"})
            if res.returncode != 0:
                raise RuntimeError(f"{name} failed: {res.stderr[-1000:]}")
            sample.times.append(res.seconds)
            peaks.append(res.max_rss_mb)
        balances = parse(target.read_text())
        check = compare(balances, saldo_tb)
        out[name] = {**sample.as_dict(), "max_rss_mb": max(peaks), "check": check}
        log(
            f"  {name:<8} balance {sample.median:7.2f} s  peak {max(peaks):7.0f} MB  "
            f"balances equal to Saldo's trial balance: {check['equal']} ({check['accounts']} accounts)"
        )
    return out
