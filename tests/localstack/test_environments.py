"""Concurrent handlers in one process each see their own request, as separate environments would."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.conftest import ROOT

# Two requests to one resolver; the first waits inside its route until the second has started its own.
SCRIPT = textwrap.dedent(
    """
    import json, sys, threading
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    if sys.argv[1] == "isolated":
        from saldo_tools.localstack import environments
        environments.install()

    app = APIGatewayHttpResolver()
    second_started = threading.Event()
    seen = {}

    @app.get("/who")
    def who():
        me = app.current_event.get_query_string_value("me")
        if me == "first":
            second_started.wait(5)
        else:
            second_started.set()
        route = app.context.get("_route_args")
        seen[me] = [app.current_event.get_query_string_value("me"), app.lambda_context, route]
        return {"me": me}

    def event(me):
        return {"version": "2.0", "routeKey": "GET /who", "rawPath": "/who", "rawQueryString": f"me={me}",
                "queryStringParameters": {"me": me}, "headers": {},
                "requestContext": {"http": {"method": "GET", "path": "/who"}, "stage": "$default"}}

    threads = [threading.Thread(target=app.resolve, args=(event(me), me)) for me in ("first", "second")]
    threads[0].start()
    threads[1].start()
    for t in threads:
        t.join()
    print(json.dumps(seen))
    """
)


def _run(mode: str) -> dict:
    import json

    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, timeout=60, cwd=ROOT, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_each_handler_thread_sees_its_own_event_and_context():
    seen = _run("isolated")
    assert seen["first"] == ["first", "first", {}]
    assert seen["second"] == ["second", "second", {}]


def test_without_it_a_waiting_handler_reads_the_other_request():
    """The race the local stack guards against is real in Powertools as it is."""
    seen = _run("shared")
    assert seen["first"][:2] == ["second", "second"]
