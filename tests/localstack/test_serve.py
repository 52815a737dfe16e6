"""`make run`: the local stack as its own process, reached over HTTP, stopped with SIGTERM."""

from __future__ import annotations

import os
import signal

import pytest

from tests.conftest import ROOT
from tests.localstack.conftest import http
from tests.served import served_stack

pytestmark = pytest.mark.e2e


def test_serve_starts_answers_and_stops_cleanly():
    with served_stack() as served:
        assert served.api_url.startswith("http://127.0.0.1:")

        health = http(f"{served.api_url}/health")
        assert health.status == 200, health.body
        assert health.json()["status"] == "ok"
        docs = http(f"{served.api_url}/docs")
        assert docs.status == 200
        assert "text/html" in docs.headers["content-type"]

        served.proc.send_signal(signal.SIGTERM)
        assert served.proc.wait(timeout=30) == 0, served.tail()


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
