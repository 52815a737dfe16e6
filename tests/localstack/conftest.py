"""Fixtures for testing the local stack itself, on the fixture template in tests/fixtures/localstack."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "localstack"

# Plain urllib, never through a proxy: the requests must reach 127.0.0.1 over a real socket.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class HttpResult:
    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)


def http(
    url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None
) -> HttpResult:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with _opener.open(request, timeout=30) as res:
            return HttpResult(res.status, res.headers, res.read())
    except urllib.error.HTTPError as err:
        return HttpResult(err.code, err.headers, err.read())


def records(stack: Any, kind: str) -> list[Any]:
    """What the fixture handlers recorded under `kind` (a label or a function's name), oldest first."""
    ddb = stack.client("dynamodb")
    items = ddb.query(
        TableName=stack.resolver.refs["RecordTable"],
        KeyConditionExpression="pk = :k",
        ExpressionAttributeValues={":k": {"S": kind}},
    )["Items"]
    return [json.loads(i["data"]["S"]) for i in sorted(items, key=lambda i: i["sk"]["S"])]


def function_name(stack: Any, logical: str) -> str:
    return str(stack.runtime.specs[logical].name)


@pytest.fixture
def fx() -> Iterator[Any]:
    """The fixture template in-process (mock_aws); failed SQS messages come back at once."""
    from saldo_tools.localstack import LocalStack

    with LocalStack(FIXTURE, tick=3600, sqs_retry_delay=0) as local:
        yield local


@pytest.fixture(scope="module")
def fx_server() -> Iterator[Any]:
    """The fixture template behind real sockets: the HTTP API and moto's server on free ports."""
    from saldo_tools.localstack import LocalStack

    local = LocalStack(FIXTURE, server=True, tick=3600, sqs_retry_delay=0).start(api_port=0)
    try:
        yield local
    finally:
        local.stop()
