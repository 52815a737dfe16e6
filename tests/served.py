"""The local stack as its own process (`make run`), for tests that reach it over real HTTP."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tests.conftest import ROOT

START_TIMEOUT = 120  # seconds; the demo ledger is generated at start


@dataclass
class Served:
    proc: subprocess.Popen[str]
    api_url: str = ""
    output: list[str] = field(default_factory=list)

    def tail(self) -> str:
        return "".join(self.output[-40:])


def serve_env() -> dict[str, str]:
    """The test process's environment without its moto endpoint: the served stack starts its own."""
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_ENDPOINT_URL", "MOTO_PORT")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@contextmanager
def served_stack() -> Iterator[Served]:
    """`serve --port 0` until its READY line; SIGTERM (then kill) when the block ends."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "saldo_tools.localstack", "serve", "--port", "0"],
        cwd=ROOT,
        env=serve_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    served = Served(proc)
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:  # keep reading, so the handlers' logs never fill the pipe
        assert proc.stdout is not None
        for line in proc.stdout:
            served.output.append(line)
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0 and proc.poll() is None, "no READY line:\n" + served.tail()
            try:
                line = lines.get(timeout=min(remaining, 1.0))
            except queue.Empty:
                continue
            if line.strip().startswith("API:"):
                served.api_url = line.split()[-1]
            if line.strip() == "READY":
                break
        yield served
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
