"""The batch reporting API (`/apps/reporting/...`, the Lasso shape): create, list and read batches, their
finished items, stop a listener; and `/apps/reporting/files/{token}`, the keyless download link of a report.

Batches belong to the organization: every key of it sees all of them (the portal lists them).
"""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from saldo.api.app import json_response
from saldo.api.auth import current_caller, link
from saldo.api.schemas import (
    LOCATION,
    Batch,
    BatchItemList,
    BatchList,
    BatchRequest,
    BatchZip,
    header,
    inline_schema,
    json_body,
    responses,
)
from saldo.batches import service
from saldo.batches.service import BatchService
from saldo.errors import NotFound

router = Router()
TAG = "Batch reports"
BatchId = Annotated[str, Path(pattern=service.BATCH_ID.pattern, description="Batch id")]
CToken = Annotated[str | None, Query(max_length=500, description="`continuationToken` of the previous page")]


def _service() -> BatchService:
    caller = current_caller()
    grants = None if caller.client_accounts is None else sorted(caller.client_accounts)
    return BatchService(caller.org_id, grants)


def _origin() -> str:
    """The scheme, host and stage this request came by: the base of the reports' download links."""
    event = router.current_event
    headers = event.headers or {}
    # domainName is the API's own (API Gateway's, or the local server's): never the client's Host header
    host = (event.request_context.domain_name or "").strip()
    proto = (headers.get("x-forwarded-proto") or "https").split(",")[0].strip()
    return f"{proto}://{host}{link('')}"


@router.post(
    "/apps/reporting/batches",
    summary="Create a batch of company reports: now, at scheduledTime, or listening for changes",
    tags=[TAG],
    responses=responses(
        {201: json_body(Batch, "The batch", {"Location": LOCATION})}, body=True, errors=(409,)
    ),
    # The body is read by saldo.batches.models (field names in any case, every problem a 400 naming its
    # field), so it is declared here rather than validated by a model parameter.
    openapi_extensions={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": inline_schema(BatchRequest)}},
        }
    },
)
def create_batch():
    raw = router.current_event.json_body if router.current_event.body else None
    batch = _service().create(raw, _origin())
    return json_response(201, batch, {"Location": link(f"/apps/reporting/batches/{batch['id']}")})


@router.get(
    "/apps/reporting/batches",
    summary="The organization's batches, newest first",
    tags=[TAG],
    responses=responses({200: json_body(BatchList, "A page of batches")}),
)
def list_batches(
    cToken: CToken = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Batches per page")] = 50,
):
    return json_response(200, _service().list(limit, cToken))


@router.get(
    "/apps/reporting/batches/<batch_id>",
    summary="A batch: its fields, status, counts and completionPercentage",
    tags=[TAG],
    responses=responses({200: json_body(Batch, "The batch")}, errors=(404,), e404="No such batch"),
)
def get_batch(batch_id: BatchId):
    return json_response(200, _service().get(batch_id))


@router.get(
    "/apps/reporting/batches/<batch_id>/items",
    summary="The batch's finished reports (Completed, Warning, Failed), a page at a time",
    tags=[TAG],
    responses=responses(
        {200: json_body(BatchItemList, "A page of items")}, errors=(404,), e404="No such batch"
    ),
)
def list_items(
    batch_id: BatchId,
    status: Annotated[
        Literal["Completed", "Warning", "Failed"] | None, Query(description="Only items of this status")
    ] = None,
    cToken: CToken = None,
):
    return json_response(200, _service().items(batch_id, status, cToken))


@router.get(
    "/apps/reporting/batches/<batch_id>/zip",
    summary="All finished reports of the batch in one zip: 202 while it is written, then 303 to it",
    description="The first request starts writing the zip (Completed and Warning reports, named as their "
    "items; failed reports have no PDF); poll the same URL (Location, Retry-After) until it answers 303 "
    "to a presigned download valid five minutes. A batch still running gets a zip of the reports finished "
    "so far (`itemsIncluded` of `batchSize`); ask again later for a fuller one.",
    tags=[TAG],
    responses=responses(
        {
            202: json_body(
                BatchZip,
                "The zip is being written: ask again after Retry-After seconds",
                {"Location": LOCATION, "Retry-After": header("Seconds to wait before asking again")},
            ),
            303: json_body(
                BatchZip,
                "The zip is ready: download it from Location (presigned, five minutes)",
                {"Location": LOCATION},
            ),
        },
        errors=(404, 409),
        e404="No such batch",
        e409="The batch has no finished report with a PDF yet, or the zip could not be written",
    ),
)
def batch_zip(batch_id: BatchId):
    answer = _service().zip(batch_id)
    if answer.url is None:
        headers = {"Location": link(f"/apps/reporting/batches/{batch_id}/zip"), **answer.headers}
        return json_response(202, answer.body, {**headers, "Cache-Control": "no-store"})
    return json_response(303, answer.body, {"Location": answer.url, "Cache-Control": "no-store"})


@router.post(
    "/apps/reporting/batches/<batch_id>/stop",
    summary="Stop a listener batch (ListeningStopped)",
    tags=[TAG],
    responses=responses({200: json_body(Batch, "The batch")}, errors=(404, 409), e404="No such batch"),
)
def stop_batch(batch_id: BatchId):
    return json_response(200, _service().stop(batch_id))


@router.get(
    "/apps/reporting/files/<token>",
    summary="A report's download link (pdfurl): 303 to a short-lived presigned URL; no key needed",
    tags=[TAG],
    responses=responses(
        {
            303: {
                "description": "The PDF, at a presigned URL valid five minutes",
                "headers": {"Location": LOCATION},
                "content": {"text/plain": {"schema": {"type": "string", "maxLength": 0}}},
            }
        },
        errors=(400, 404),
        public=True,
        e400="Not a link's token",
        e404="No such link, or it has expired",
    ),
)
def download(token: Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{43}$", description="The link's token")]):
    from saldo.adapters import documents
    from saldo.adapters.batch_store import BatchStore

    found = BatchStore().get_link(token)
    if found is None:
        raise NotFound("No such report link, or it has expired (links work for 30 days)")
    url = documents.presign_get(
        documents.bucket(), found["key"], service.DOWNLOAD_SECONDS, file_name=found["file_name"]
    )
    return Response(
        status_code=303,
        content_type="text/plain",
        headers={"Location": url, "Cache-Control": "no-store"},
        body="",
    )
