"""Runtime settings, read from the environment the template gives every function."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Settings:
    stage: str
    table_name: str
    ledger_bucket: str
    document_bucket: str
    work_queue_url: str
    event_bus_name: str
    sender_email: str
    region: str
    schedule_group: str = ""
    scheduler_role_arn: str = ""
    local: bool = False


@cache
def settings() -> Settings:
    env = os.environ
    return Settings(
        stage=env.get("SALDO_STAGE", "dev"),
        table_name=env.get("SALDO_TABLE", ""),
        ledger_bucket=env.get("SALDO_LEDGER_BUCKET", ""),
        document_bucket=env.get("SALDO_DOCUMENT_BUCKET", ""),
        work_queue_url=env.get("SALDO_WORK_QUEUE_URL", ""),
        event_bus_name=env.get("SALDO_EVENT_BUS", ""),
        sender_email=env.get("SALDO_SENDER_EMAIL", ""),
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "eu-north-1",
        schedule_group=env.get("SALDO_SCHEDULE_GROUP", ""),
        scheduler_role_arn=env.get("SALDO_SCHEDULER_ROLE_ARN", ""),
        local=env.get("SALDO_LOCAL", "") == "1",
    )
