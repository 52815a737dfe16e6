"""Every HTTP router of the service, so one OpenAPI document can describe all functions' routes."""

from __future__ import annotations

import importlib

from aws_lambda_powertools.event_handler.api_gateway import Router

ROUTER_MODULES: tuple[str, ...] = (
    "saldo.api.routes.public",
    "saldo.api.routes.ledger",
    "saldo.api.routes.reports",
    "saldo.api.routes.saft",
    "saldo.api.routes.companies",
    "saldo.api.routes.batches",
    "saldo.api.routes.webhooks",
)


def all_routers() -> list[Router]:
    return [importlib.import_module(name).router for name in ROUTER_MODULES]
