"""Timing and memory helpers shared by the benchmark sections."""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Sample:
    """Repeated timings of one thing, in seconds."""

    times: list[float] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times) if self.times else float("nan")

    @property
    def low(self) -> float:
        return min(self.times) if self.times else float("nan")

    @property
    def high(self) -> float:
        return max(self.times) if self.times else float("nan")

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "median_s": self.median,
            "min_s": self.low,
            "max_s": self.high,
            "times_s": [round(t, 6) for t in self.times],
        }


def repeat(
    fn: Callable[[], Any],
    *,
    n: int,
    min_n: int = 3,
    budget: float = 5.0,
    before: Callable[[], Any] | None = None,
    warmup: int = 0,
) -> Sample:
    """Run `fn` up to `n` times (at least `min_n`, stopping once `budget` seconds have been spent).

    `before` runs untimed before each run (e.g. emptying caches for a cold run). The garbage collector
    runs between runs, never during one.
    """
    for _ in range(warmup):
        if before:
            before()
        fn()
    sample = Sample()
    spent = 0.0
    while sample.n < n and (sample.n < min_n or spent < budget):
        if before:
            before()
        gc.collect()
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
        sample.times.append(elapsed)
        spent += elapsed
    return sample


@dataclass
class ProcessResult:
    seconds: float
    max_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


def run_measured(
    cmd: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    stdout_path: Path | None = None,
) -> ProcessResult:
    """Run a command through bench.launch: its wall time and its own peak RSS (see launch.py)."""
    OUT.mkdir(parents=True, exist_ok=True)
    result_path = OUT / f".launch-{os.getpid()}.json"
    err_path = OUT / f".stderr-{os.getpid()}"
    launch_env = {**(env if env is not None else os.environ)}
    launch_env["BENCH_LAUNCH_STDOUT"] = str(stdout_path or "")
    launcher = [sys.executable, "-S", "-m", "bench.launch", str(result_path), *cmd]
    with open(err_path, "wb") as err_fh:
        proc = subprocess.run(launcher, stderr=err_fh, env=launch_env, cwd=cwd or ROOT, check=False)
    stderr = err_path.read_text(errors="replace")
    err_path.unlink(missing_ok=True)
    if proc.returncode != 0 or not result_path.exists():
        raise RuntimeError(f"launcher failed for {cmd}: {stderr[-1000:]}")
    res = json.loads(result_path.read_text())
    result_path.unlink(missing_ok=True)
    return ProcessResult(res["seconds"], res["max_rss_mb"], res["returncode"], "", stderr)


def worker(task: str, args: dict[str, Any], *, timeout: float = 1800.0) -> dict[str, Any]:
    """Run `python -m bench.worker <task> <json>` in a fresh interpreter; its JSON result (last line)."""
    cmd = [sys.executable, "-m", "bench.worker", task, json.dumps(args, default=str)]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"bench worker {task} failed:\n{proc.stderr[-4000:]}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{") and '"bench_result"' in ln]
    if not lines:
        raise RuntimeError(
            f"bench worker {task} printed no result:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        )
    return json.loads(lines[-1])["bench_result"]


def rss_mb() -> float:
    """Current resident set size of this process."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS (Linux ≥ 4.0: write 5 to /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def vm_hwm_mb() -> float:
    """Peak RSS since the last reset_peak_rss() (VmHWM)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = float("nan")
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    load = os.getloadavg()
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu or platform.processor(),
        "memory_gib": round(mem_gib, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_at_start": [round(x, 2) for x in load],
    }


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("duckdb", "lxml", "openpyxl", "fpdf2", "aws-lambda-powertools", "pydantic", "boto3", "moto"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "-"
    return out
