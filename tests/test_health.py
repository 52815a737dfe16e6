from saldo import __version__


def test_health_reports_every_dependency(stack):
    from tests.conftest import ApiClient

    res = ApiClient(stack).get("/health")
    assert res.status == 200
    body = res.json()
    assert body["status"] == "ok"
    assert body["version"] == __version__
    assert set(body["dependencies"]) == {"dynamodb", "s3_ledger", "s3_documents", "sqs", "eventbridge"}
    assert all(d["ok"] for d in body["dependencies"].values())


def test_health_degrades_when_a_dependency_is_gone(stack):
    from tests.conftest import ApiClient

    stack.client("sqs").delete_queue(QueueUrl=stack.env()["SALDO_WORK_QUEUE_URL"])
    res = ApiClient(stack).get("/health")
    assert res.status == 503
    assert res.json()["dependencies"]["sqs"]["ok"] is False


def test_openapi_and_docs_are_public(stack):
    from tests.conftest import ApiClient

    client = ApiClient(stack)
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert "/health" in doc["paths"]
    page = client.get("/docs")
    assert page.status == 200
    assert "text/html" in page.headers["content-type"]
    assert "content-security-policy" in page.headers
    assert "/health" in page.text
