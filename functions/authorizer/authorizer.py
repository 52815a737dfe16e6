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
BATCH_PREFIX = "/apps/reporting/"


def _batch_route(event: dict) -> bool:
    route = str(event.get("routeKey") or "")
    path = route.split(" ", 1)[1] if " " in route else str(event.get("rawPath") or "")
    return path.startswith(BATCH_PREFIX)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    # API Gateway caches the answer of the default authorizer by the Authorization header alone, so
    # the answer must depend on nothing else: `lasso-api-key` is read only for the batch routes, whose
    # authorizer (BatchApiKeyAuthorizer) has no cache.
    key = extract_key(event.get("headers") or {}, lasso=_batch_route(event))
    # Only a well-formed key costs a table read; anything else is unknown without one.
    well_formed = bool(key) and len(key) <= MAX_KEY_LENGTH and key_id_of(key) is not None
    caller = store.caller_for_key(key) if well_formed else None
    if caller is None:
        logger.info("unknown API key", extra={"key_id": (key_id_of(key or "") or "malformed")[:32]})
        return {"isAuthorized": True, "context": {"authenticated": "false"}}
    logger.info("authorized", extra={"key_id": caller.key_id, "org_id": caller.org_id})
    return {"isAuthorized": True, "context": caller.to_context()}
