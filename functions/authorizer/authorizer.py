"""HTTP API Lambda authorizer (simple responses, cached per key by API Gateway).

Every request with an Authorization header is let through to its route with a context: the
organization and grants for a known key, `authenticated: false` for an unknown one. The routes answer
401 themselves in the seeds' error shape; HTTP APIs cannot turn an authorizer denial into a 401.
"""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from saldo.adapters.tenancy_store import TenancyStore
from saldo.tenancy import extract_key, key_id_of

logger = Logger(service="saldo")
store = TenancyStore()
MAX_KEY_LENGTH = 256


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    key = extract_key(event.get("headers") or {})
    # Only a well-formed key costs a table read; anything else is unknown without one.
    well_formed = bool(key) and len(key) <= MAX_KEY_LENGTH and key_id_of(key) is not None
    caller = store.caller_for_key(key) if well_formed else None
    if caller is None:
        logger.info("unknown API key", extra={"key_id": (key_id_of(key or "") or "malformed")[:32]})
        return {"isAuthorized": True, "context": {"authenticated": "false"}}
    logger.info("authorized", extra={"key_id": caller.key_id, "org_id": caller.org_id})
    return {"isAuthorized": True, "context": caller.to_context()}
