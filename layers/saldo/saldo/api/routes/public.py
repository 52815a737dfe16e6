"""Routes without authentication: health, the OpenAPI document and the docs page."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel, Field

from saldo import __version__
from saldo.adapters.health import check_dependencies
from saldo.api.app import json_response
from saldo.config import settings

router = Router()


class Dependency(BaseModel):
    ok: bool
    latency_ms: float
    error: str | None = None


class Health(BaseModel):
    status: str = Field(description="'ok' when every AWS dependency answers, else 'degraded' (HTTP 503)")
    version: str
    stage: str
    dependencies: dict[str, Dependency]


@router.get(
    "/health",
    summary="Service health: version and whether each AWS dependency answers",
    tags=["Service"],
    responses={
        200: {"description": "Healthy", "content": {"application/json": {"model": Health}}},
        503: {
            "description": "A dependency does not answer",
            "content": {"application/json": {"model": Health}},
        },
    },
)
def health():
    deps = check_dependencies()
    ok = all(d["ok"] for d in deps.values())
    body = {
        "status": "ok" if ok else "degraded",
        "version": __version__,
        "stage": settings().stage,
        "dependencies": deps,
    }
    return json_response(200 if ok else 503, body)


@router.get(
    "/openapi.json",
    summary="OpenAPI 3.1 document",
    tags=["Service"],
    responses={
        200: {"description": "The document", "content": {"application/json": {"schema": {"type": "object"}}}}
    },
)
def openapi():
    from saldo.api.auth import link
    from saldo.api.openapi import openapi_json

    return Response(status_code=200, content_type="application/json", body=openapi_json(link("")))


@router.get(
    "/docs",
    summary="API documentation page",
    tags=["Service"],
    responses={
        200: {
            "description": "A self-contained HTML page",
            "content": {"text/html": {"schema": {"type": "string"}}},
        }
    },
)
def docs():
    from saldo.api.openapi import docs_html
    from saldo.api.security import html_headers

    return Response(
        status_code=200, content_type="text/html; charset=utf-8", body=docs_html(), headers=html_headers()
    )
