"""`make run`: the local stack as its own process, reached over HTTP, stopped with SIGTERM."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.conftest import ROOT
from tests.localstack.conftest import http

pytestmark = pytest.mark.e2e

START_TIMEOUT = 120  # seconds; the demo ledger is generated at start


def test_serve_starts_answers_and_stops_cleanly():
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_ENDPOINT_URL", "MOTO_PORT")}
    env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen(
        [sys.executable, "-m", "saldo_tools.localstack", "serve", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    output: list[str] = []

    def pump() -> None:  # keep reading, so the handlers' logs never fill the pipe
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line)
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    try:
        api_url = ""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0 and proc.poll() is None, "no READY line:\n" + "".join(output[-40:])
            try:
                line = lines.get(timeout=min(remaining, 1.0))
            except queue.Empty:
                continue
            if line.strip().startswith("API:"):
                api_url = line.split()[-1]
            if line.strip() == "READY":
                break
        assert api_url.startswith("http://127.0.0.1:")

        health = http(f"{api_url}/health")
        assert health.status == 200, health.body
        assert health.json()["status"] == "ok"
        docs = http(f"{api_url}/docs")
        assert docs.status == 200
        assert "text/html" in docs.headers["content-type"]

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, "".join(output[-40:])
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_a_taken_port_is_reported_and_nothing_is_left_running(capsys):
    import socket

    from saldo_tools.localstack.__main__ import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port), "--no-demo", "--root", str(ROOT)]) == 1
    assert "try another port" in capsys.readouterr().err
    assert "AWS_ENDPOINT_URL" not in os.environ
