"""The local HTTP API and moto's server over real sockets: routes, authorizer, binary bodies, limits,
CORS, presigned S3 URLs, the SES outbox and a state machine started from a handler."""

from __future__ import annotations

import json
import urllib.parse

from tests.localstack.conftest import http, records

AUTH = {"Authorization": "Bearer letmein"}


def test_route_reaches_the_handler_with_status_headers_and_cookies(fx_server):
    res = http(f"{fx_server.api_url}/hello?a=1&b=x%20y", headers=AUTH)
    assert res.status == 200
    assert res.json() == {"hello": "tester", "query": {"a": "1", "b": "x y"}}
    assert res.headers["content-type"] == "application/json"
    assert res.headers["x-fixture"] == "yes"
    assert res.headers.get_all("set-cookie") == ["session=abc; Path=/; HttpOnly"]


def test_path_parameters_and_request_cookies(fx_server):
    res = http(f"{fx_server.api_url}/public/{urllib.parse.quote('Ærlig')}", headers={"Cookie": "a=1; b=2"})
    assert res.status == 200
    # HTTP APIs decode the path before the function sees it
    assert res.json() == {"name": "Ærlig", "cookies": ["a=1", "b=2"]}


def test_binary_response_is_decoded(fx_server):
    res = http(f"{fx_server.api_url}/binary")
    assert res.status == 200
    assert res.headers["content-type"] == "image/png"
    assert res.body == b"\x89PNG\r\n\x1a\n" + bytes(range(256))


def test_binary_request_body_reaches_the_handler_base64_encoded(fx_server):
    payload = bytes(range(256)) * 4
    res = http(
        f"{fx_server.api_url}/echo",
        "POST",
        body=payload,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert res.status == 200
    assert res.body == payload


def test_unknown_route_is_404(fx_server):
    res = http(f"{fx_server.api_url}/no/such/route", headers=AUTH)
    assert res.status == 404
    assert res.json() == {"message": "Not Found"}
    assert http(f"{fx_server.api_url}/hello", "POST", body=b"{}", headers=AUTH).status == 404


def test_missing_identity_is_401_without_calling_the_authorizer(fx_server):
    before = len(records(fx_server, "authorizer"))
    res = http(f"{fx_server.api_url}/hello")
    assert res.status == 401
    assert res.json() == {"message": "Unauthorized"}
    assert len(records(fx_server, "authorizer")) == before


def test_authorizer_denial_is_403_and_its_call_is_recorded(fx_server):
    before = len(records(fx_server, "authorizer"))
    res = http(f"{fx_server.api_url}/hello", headers={"Authorization": "Bearer wrong"})
    assert res.status == 403
    assert res.json() == {"message": "Forbidden"}
    calls = records(fx_server, "authorizer")
    assert len(calls) == before + 1
    assert calls[-1] == {"token": "Bearer wrong", "identitySource": ["Bearer wrong"]}


def test_handler_exception_is_500_and_printed_with_its_traceback(fx_server, capfd):
    res = http(f"{fx_server.api_url}/boom")
    assert res.status == 500
    assert res.json() == {"message": "Internal Server Error"}
    err = capfd.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "RuntimeError: boom" in err


def test_response_over_lambdas_6_mb_limit_is_500(fx_server, capfd):
    res = http(f"{fx_server.api_url}/too-big")
    assert res.status == 500
    assert "6 MB" in capfd.readouterr().err


def test_cors_preflight_and_response_headers(fx_server):
    origin = "https://app.fixture.example"
    pre = http(
        f"{fx_server.api_url}/hello",
        "OPTIONS",
        headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
    )
    assert pre.status == 204
    assert pre.headers["access-control-allow-origin"] == origin
    assert pre.headers["access-control-allow-methods"] == "GET,POST"
    assert pre.headers["access-control-max-age"] == "600"
    res = http(f"{fx_server.api_url}/hello", headers={**AUTH, "Origin": origin})
    assert res.headers["access-control-allow-origin"] == origin
    assert res.headers["access-control-expose-headers"] == "x-fixture"
    other = http(
        f"{fx_server.api_url}/hello",
        "OPTIONS",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in other.headers


def test_presigned_get_downloads_from_the_local_stack(fx_server, capfd):
    s3 = fx_server.client("s3")
    bucket = fx_server.resolver.refs["FileBucket"]
    s3.put_object(Bucket=bucket, Key="reports/å.pdf", Body=b"%PDF-1.7 fixture", ContentType="application/pdf")
    url = s3.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": bucket,
            "Key": "reports/å.pdf",
            "ResponseContentDisposition": 'attachment; filename="report.pdf"',
        },
        ExpiresIn=300,
    )
    assert url.startswith(fx_server.moto_url)
    res = http(url)
    assert res.status == 200
    assert res.body == b"%PDF-1.7 fixture"
    assert res.headers["content-type"] == "application/pdf"
    assert res.headers["content-disposition"] == 'attachment; filename="report.pdf"'
    assert ' HTTP/1.1" 200' not in capfd.readouterr().err  # moto's server keeps no access log


def test_presigned_put_uploads_to_the_local_stack(fx_server):
    s3 = fx_server.client("s3")
    bucket = fx_server.resolver.refs["FileBucket"]
    url = s3.generate_presigned_url(
        "put_object",
        Params={"Bucket": bucket, "Key": "uploads/ledger.xml", "ContentType": "application/octet-stream"},
        ExpiresIn=300,
    )
    payload = b"<AuditFile>" + bytes(range(256)) + b"</AuditFile>"
    res = http(url, "PUT", body=payload, headers={"Content-Type": "application/octet-stream"})
    assert res.status == 200
    assert s3.get_object(Bucket=bucket, Key="uploads/ledger.xml")["Body"].read() == payload


def test_outbox_shows_mail_sent_through_ses(fx_server):
    sent = http(
        f"{fx_server.api_url}/mail",
        "POST",
        body=json.dumps({"to": "ola@example.no", "subject": "Rapport klar", "text": "Hei!"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert sent.status == 202
    outbox = http(f"{fx_server.endpoint_url}/local/outbox")
    assert outbox.status == 200
    [message] = [m for m in outbox.json()["messages"] if m["id"] == sent.json()["messageId"]]
    assert message["subject"] == "Rapport klar"
    assert message["body"] == "Hei!"
    assert message["source"] == "sender@fixture.example"
    assert message["destinations"]["ToAddresses"] == ["ola@example.no"]


def test_state_machine_started_by_a_handler_runs_through_the_moto_server(fx_server):
    # The interpreter calls Lambda back through MOTO_PORT; the handlers reach moto via AWS_ENDPOINT_URL.
    res = http(
        f"{fx_server.api_url}/fanout",
        "POST",
        body=json.dumps({"items": [{"id": "s1"}, {"id": "s2", "fail": True}]}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert res.status == 202
    desc = fx_server.wait_for_execution(res.json()["executionArn"])
    assert desc["status"] == "SUCCEEDED", desc
    assert json.loads(desc["output"])["results"] == [
        {"id": "s1", "ok": True, "attempt": 1},
        {"id": "s2", "ok": False, "error": "ValueError"},
    ]


def test_a_response_over_6_mb_fails_every_kind_of_invocation(fx_server):
    """The limit lives in the runtime: `lambda:Invoke` (and Step Functions, SQS) see it as on AWS."""
    name = fx_server.runtime.specs["ApiFunction"].name
    answer = fx_server.client("lambda").invoke(
        FunctionName=name, Payload=json.dumps({"routeKey": "GET /too-big"}).encode()
    )
    assert answer["FunctionError"] == "Unhandled"
    error = json.loads(answer["Payload"].read())
    assert error["errorType"] == "Function.ResponseSizeTooLarge"
    assert "6 MB" in error["errorMessage"]


def test_a_path_without_the_stage_prefix_is_404_and_names_it(fx_server):
    stage = fx_server.resolver.parameters["Stage"]
    assert fx_server.api_url == f"{fx_server.endpoint_url}/{stage}"
    res = http(f"{fx_server.endpoint_url}/hello", headers=AUTH)
    assert res.status == 404
    assert res.json()["hint"] == f"the API is served under its stage: GET /{stage}/hello"
    assert http(f"{fx_server.api_url}/hello", headers=AUTH).status == 200
