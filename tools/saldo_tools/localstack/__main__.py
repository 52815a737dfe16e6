"""`python -m saldo_tools.localstack serve`: the local stack on 127.0.0.1 with the demo tenant."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
from pathlib import Path

from saldo_tools.localstack.stack import LocalStack

STOP_SECONDS = 10  # then the process exits whatever is still running


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="saldo-local")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="start the local stack")
    serve.add_argument("--port", type=int, default=3000, help="HTTP API port (0 picks a free one)")
    serve.add_argument("--moto-port", type=int, default=0, help="moto server port (0 picks a free one)")
    serve.add_argument("--template", default="template.yaml")
    serve.add_argument("--root", default=str(Path.cwd()))
    serve.add_argument("--no-demo", action="store_true", help="start empty, without the demo tenant")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    stack = LocalStack(args.root, args.template, server=True, moto_port=args.moto_port)
    try:
        stack.start(api_port=args.port)
    except OSError as exc:  # typically the port is taken
        print(f"cannot start the local stack: {exc} (try another port: make run PORT=3001)", file=sys.stderr)
        return 1
    demo = None
    if not args.no_demo and args.template == "template.yaml":
        from saldo_tools.demo import bootstrap

        demo = bootstrap()
        # A request that came in while the demo key was being created was refused, and API Gateway's
        # authorizer cache would keep refusing that key for its TTL: forget it, the key exists now.
        stack.http.forget_authorizations()
    print(f"Saldo local stack ready in {time.perf_counter() - started:.1f} s", flush=True)
    # Every API URL starts with the stage, as on AWS (https://<api>.execute-api.<region>.amazonaws.com/<stage>).
    print(f"  API:       {stack.api_url}", flush=True)
    print(f"  Docs:      {stack.api_url}/docs", flush=True)
    print(f"  AWS (moto): {stack.moto_url}", flush=True)
    print(f"  Outbox:    {stack.endpoint_url}/local/outbox", flush=True)
    if demo:
        print(f"  Demo org:  {demo['org_id']}   API key: {demo['api_key']}", flush=True)
        if demo.get("client_account_id"):
            print(
                f"  Try: curl -H 'Authorization: Bearer {demo['api_key']}' "
                f"'{stack.api_url}/api/v2/reports/trial-balance?client_account_id={demo['client_account_id']}"
                f"&date_from=2025-01-01&date_to=2025-12-31'",
                flush=True,
            )
        else:
            print(f"  Try: curl {stack.api_url}/health", flush=True)
    print("READY", flush=True)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with contextlib.suppress(KeyboardInterrupt):
        done.wait()
    # A clean stop waits for work in flight; a developer who asked to stop should not wait long for it.
    watchdog = threading.Timer(STOP_SECONDS, lambda: os._exit(0))
    watchdog.daemon = True
    watchdog.start()
    stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
