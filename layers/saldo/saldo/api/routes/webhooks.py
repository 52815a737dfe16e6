"""Webhook test calls of the batch API (`/apps/reporting/webhooks/test`): one dummy call, shaped as a report's
call (status "Test"), to a URL, without auth (GET) or with an authConfig (POST), as Lasso offers them.

The URL passes the same checks as a real call (saldo.net, resolved at send time); one the rules refuse is a
400 naming the field. The ids sent are only echoed into the dummy call: nothing of the organization is read.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from saldo.api.app import json_response
from saldo.api.schemas import WebhookTestRequest, WebhookTestResult, inline_schema, json_body, responses
from saldo.batches import webhooks
from saldo.batches.models import MAX_TEXT, SameFieldTwice, lower_keys, parse_auth
from saldo.errors import BadRequest
from saldo.net import MAX_URL_LENGTH, UnsafeUrl
from saldo.registry.reports import find_report_type

router = Router()
TAG = "Batch reports"
PATH = "/apps/reporting/webhooks/test"
_BATCH_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _checked(raw: dict[str, Any]) -> dict[str, Any]:
    """The call's parameters, or 400 naming every field that is wrong."""
    problems: list[dict[str, str]] = []
    url = raw.get("url")
    if not isinstance(url, str) or not url:
        problems.append({"field": "url", "message": "required: the webhook URL"})
    lasso = raw.get("lassoid")
    if lasso is not None and (not isinstance(lasso, str) or not webhooks.valid_lasso_id(lasso)):
        problems.append({"field": "lassoId", "message": "a Lasso id such as CVR-1-34580820"})
    batch_id = raw.get("batchid")
    if batch_id is not None and (not isinstance(batch_id, str) or not _BATCH_ID.match(batch_id)):
        problems.append({"field": "batchId", "message": "letters, digits, _ and -, at most 64"})
    kind = raw.get("reporttype")
    report_type = None
    if kind is not None:
        report_type = find_report_type(kind) if isinstance(kind, str) and len(kind) <= MAX_TEXT else None
        if report_type is None:
            choices = "Revision, Finans, ReelleEjere or RevisionUdvidet"
            problems.append({"field": "reportType", "message": choices})
    auth = parse_auth(raw.get("authconfig"), problems)
    if problems:
        first = problems[0]
        raise BadRequest(f"{first['field']}: {first['message']}", details=problems)
    return {
        "url": url,
        "auth": vars(auth) if auth else None,
        "lasso": lasso,
        "batch_id": batch_id,
        "report_type": report_type,
    }


def _call(params: dict[str, Any]) -> Any:
    try:
        result = webhooks.dummy_call(
            params["url"], params["auth"], params["lasso"], params["batch_id"], params["report_type"]
        )
    except UnsafeUrl as exc:
        raise BadRequest(f"url: {exc.message}", details=[{"field": "url", "message": exc.message}]) from None
    return json_response(200, result)


RESULT = {200: json_body(WebhookTestResult, "The receiver's answer (or why there was none)")}


@router.get(
    PATH,
    summary="Send a dummy report call (status Test) to a webhook URL that needs no authentication",
    tags=[TAG],
    responses=responses(RESULT, e400="A parameter is invalid, or the URL may not be called (SSRF rules)"),
)
def test_webhook(
    url: Annotated[str, Query(min_length=1, max_length=MAX_URL_LENGTH, description="The webhook URL")],
    lassoId: Annotated[str | None, Query(max_length=40, description="e.g. CVR-1-34580820")] = None,
    batchId: Annotated[str | None, Query(max_length=64, description="Echoed in the call")] = None,
    reportType: Annotated[str | None, Query(max_length=40, description="Revision, Finans, ...")] = None,
):
    raw = {"url": url, "lassoid": lassoId, "batchid": batchId, "reporttype": reportType}
    return _call(_checked(raw))


@router.post(
    PATH,
    summary="Send a dummy report call (status Test) to a webhook URL with its authConfig",
    tags=[TAG],
    responses=responses(
        RESULT, body=True, e400="A field is invalid, or the URL may not be called (SSRF rules)"
    ),
    # Read by `_checked` (field names in any case, every problem a 400 naming its field), as a batch is.
    openapi_extensions={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": inline_schema(WebhookTestRequest)}},
        }
    },
)
def test_webhook_with_auth():
    body = router.current_event.json_body if router.current_event.body else None
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object with url and authConfig")
    try:
        raw = lower_keys(body)
        lower_keys(raw.get("authconfig"))
    except SameFieldTwice as exc:
        message = "given twice (names are read in any case)"
        raise BadRequest(f"{exc}: {message}", details=[{"field": str(exc), "message": message}]) from None
    return _call(_checked(raw))
