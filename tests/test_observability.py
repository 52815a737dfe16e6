"""Each API call and job leaves CloudWatch metrics (EMF) in the function's log."""

from __future__ import annotations

import importlib.util
import json
import types
from typing import Any

import pytest

from tests.conftest import ROOT


def _handler(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"_obs_{name}", ROOT / "functions" / name / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lambda_handler


@pytest.fixture
def lambda_context() -> Any:
    return types.SimpleNamespace(
        aws_request_id="req-1",
        function_name="saldo-test",
        function_version="$LATEST",
        invoked_function_arn="arn:aws:lambda:eu-north-1:123456789012:function:saldo-test",
        memory_limit_in_mb=512,
        log_group_name="/aws/lambda/saldo-test",
        log_stream_name="local",
        get_remaining_time_in_millis=lambda: 29_000,
    )


@pytest.fixture
def emf(monkeypatch, capsys):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Saldo")

    def documents() -> list[dict]:
        out = capsys.readouterr().out
        return [json.loads(line) for line in out.splitlines() if line.startswith("{") and '"_aws"' in line]

    return documents


OPENAPI_EVENT = {
    "version": "2.0",
    "routeKey": "GET /openapi.json",
    "rawPath": "/openapi.json",
    "rawQueryString": "",
    "headers": {},
    "requestContext": {"http": {"method": "GET", "path": "/openapi.json"}, "stage": "$default"},
    "isBase64Encoded": False,
}


def _value(doc: dict, name: str) -> float:
    value = doc[name]
    return value[0] if isinstance(value, list) else value


def _metric_names(doc: dict) -> set[str]:
    return {m["Name"] for d in doc["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}


def test_an_api_call_records_latency_bytes_and_status_by_route(emf, lambda_context):
    lambda_handler = _handler("public_api")
    event = OPENAPI_EVENT
    response = lambda_handler(event, lambda_context)
    (doc,) = emf()
    assert {"Latency", "ResponseBytes", f"Responses{response['statusCode'] // 100}xx"} <= _metric_names(doc)
    assert response["statusCode"] == 200 and doc["route"] == "GET /openapi.json"
    assert _value(doc, "ResponseBytes") == len(response["body"])
    assert doc["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Saldo"


def test_a_job_records_its_duration_and_failure(emf, lambda_context):
    lambda_handler = _handler("job_worker")
    event = {
        "Records": [
            {
                "messageId": "1",
                "receiptHandle": "r",
                "body": json.dumps({"type": "no_such_job"}),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-north-1:123456789012:q",
                "awsRegion": "eu-north-1",
            }
        ]
    }
    result = lambda_handler(event, lambda_context)
    assert result["batchItemFailures"] == [{"itemIdentifier": "1"}]
    (doc,) = emf()
    assert {"JobDuration", "JobFailures"} <= _metric_names(doc)
    assert doc["job_type"] == "no_such_job" and _value(doc, "JobFailures") == 1


def test_with_metrics_disabled_nothing_is_written_or_kept(monkeypatch, capsys, lambda_context):
    from saldo.observability import metrics

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    lambda_handler = _handler("public_api")
    event = OPENAPI_EVENT
    for _ in range(3):
        assert lambda_handler(event, lambda_context)["statusCode"] == 200
    assert '"_aws"' not in capsys.readouterr().out
    assert not metrics.metric_set
