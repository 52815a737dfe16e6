"""Domain events on the EventBridge bus (ledger changed, company changed)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger

from saldo.adapters.clients import client
from saldo.config import settings

logger = Logger(service="saldo")
SOURCE = "saldo.ledger"


def publish(detail_type: str, detail: dict[str, Any], source: str = SOURCE) -> None:
    """Publish one event. A failed publish is logged, not raised: the write it reports has landed."""
    try:
        res = client("events").put_events(
            Entries=[
                {
                    "Source": source,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail, default=str),
                    "EventBusName": settings().event_bus_name,
                }
            ]
        )
        if res.get("FailedEntryCount"):
            logger.warning(
                "event not published", extra={"detail_type": detail_type, "result": res["Entries"]}
            )
    except Exception:
        logger.exception("event not published", extra={"detail_type": detail_type})
