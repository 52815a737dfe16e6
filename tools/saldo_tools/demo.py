"""The demo tenant the local stack starts with: one organization, one API key, and (when the ledger
package is present) a realistic year of bookkeeping for a Norwegian small company."""

from __future__ import annotations

from typing import Any

DEMO_ORG_ID = "org_demo"
DEMO_ORG_NAME = "Demo Regnskap AS"
DEMO_KEY = "sld_demo_local-demo-key-not-for-production"


def bootstrap(load_ledger: bool = True) -> dict[str, Any]:
    from saldo.adapters.tenancy_store import TenancyStore

    store = TenancyStore()
    store.create_org(DEMO_ORG_NAME, org_id=DEMO_ORG_ID)
    store.create_key(DEMO_ORG_ID, label="demo", key=DEMO_KEY)
    info: dict[str, Any] = {"org_id": DEMO_ORG_ID, "api_key": DEMO_KEY, "client_account_id": None}
    if load_ledger:
        try:
            from saldo_tools.demo_ledger import load_demo_ledger
        except ImportError:
            return info
        info.update(load_demo_ledger(DEMO_ORG_ID))
    from saldo_tools.demo_registry import load_demo_registry

    info.update(load_demo_registry(DEMO_ORG_ID, info.get("client_account_id")))
    return info
