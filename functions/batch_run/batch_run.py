"""The steps of a batch's state machine (one item's report, an item given up after retries, the finalizer),
and company changes for listener batches (EventBridge)."""

from datetime import date
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from saldo.api.app import logger
from saldo.batches import listen, service
from saldo.observability import flushed


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    with flushed():
        if event.get("detail-type") == "CompanyChanged":  # EventBridge: regenerate listening batches
            return {"ran": listen.on_company_changed(event["detail"], str(event["id"]))}
        step, org_id, batch_id = event["step"], str(event["org_id"]), str(event["batch_id"])
        logger.append_keys(batch_id=batch_id, step=step)
        if step == "item":
            run_date = date.fromisoformat(event["run_date"])
            return service.run_item(org_id, batch_id, event["item"], run_date)
        if step == "crashed":
            return service.record_crash(org_id, batch_id, event["item"], event.get("error"))
        if step == "finalize":
            return service.finalize(org_id, batch_id)
        raise ValueError(f"unknown step {step!r}")
