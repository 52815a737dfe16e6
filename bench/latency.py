"""Report latency on the local stack: through the API route in-process and the domain function alone.

API: `stack.http.handle(...)` builds the HTTP API v2 event, runs the authorizer (API Gateway's 300 s
cache applies, as in production) and the real ReportsApiFunction handler, JSON serialisation included,
exactly like the `ApiClient` of tests/conftest.py. Domain: the report function on a `LedgerView`.

Warm: the view of this manifest version is cached (the usual case for a warm Lambda).
Cold: the view cache, the /tmp segment cache and the master data cache are emptied first, so the call
downloads the segments from (moto's) S3 and loads them into DuckDB, as the first call after a write or
in a new execution environment does.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from bench.measure import Sample, log, repeat

YEAR_FROM = date(2025, 1, 1)
YEAR_TO = date(2025, 12, 31)
GL_PAGE = 1000  # rows per page of the general-ledger measurements (the research's page size)
AGING = "0,30,60,90"


@dataclass
class Report:
    key: str
    label: str
    path: str
    params: dict[str, Any]
    domain: Callable[[Any], Any]


def reports(gl_pages: int) -> list[Report]:
    from saldo.reports.balance_sheet import balance_sheet
    from saldo.reports.common import LineFilter
    from saldo.reports.general_ledger import general_ledger
    from saldo.reports.income_statement import income_statement
    from saldo.reports.open_items import open_items_report
    from saldo.reports.trial_balance import trial_balance
    from saldo.reports.vat import vat_report

    period = {"date_from": YEAR_FROM.isoformat(), "date_to": YEAR_TO.isoformat()}

    def open_items(kind: str) -> Callable[[Any], Any]:
        return lambda v: open_items_report(
            v,
            kind,  # type: ignore[arg-type]
            date_from=None,
            date_to=YEAR_TO,
            business_partner_id=None,
            free_text=None,
            include_reconciled=True,
            include_drafts=False,
            include_cancelled=True,
            page_no=1,
            per_page=GL_PAGE,
            aging=AGING,
            aging_basis="due_date",
            today=YEAR_TO,
        )

    return [
        Report(
            "trial_balance",
            "Trial balance (year, one row per account and relation)",
            "/api/v2/reports/trial-balance",
            period,
            lambda v: trial_balance(v, date_from=YEAR_FROM, date_to=YEAR_TO),
        ),
        Report(
            "trial_balance_accounts",
            "Trial balance (year, accounts only: include_dimensions=false)",
            "/api/v2/reports/trial-balance",
            {**period, "include_dimensions": "false"},
            lambda v: trial_balance(v, date_from=YEAR_FROM, date_to=YEAR_TO, include_dimensions=False),
        ),
        Report(
            "balance_sheet",
            "Balance sheet (31 Dec)",
            "/api/v2/reports/balance-sheet",
            {"report_date": YEAR_TO.isoformat()},
            lambda v: balance_sheet(v, report_date=YEAR_TO),
        ),
        Report(
            "income_statement",
            "Income statement (year, 12 monthly columns)",
            "/api/v2/reports/income-statement",
            period,
            lambda v: income_statement(v, date_from=YEAR_FROM, date_to=YEAR_TO),
        ),
        Report(
            "gl_first_100",
            "General ledger, first page (100 rows, the default page size)",
            "/api/v2/reports/general-ledger",
            {"page": 1, "per_page": 100},
            lambda v: general_ledger(v, LineFilter(), page_no=1, per_page=100),
        ),
        Report(
            "gl_first",
            f"General ledger, first page ({GL_PAGE:,} rows)",
            "/api/v2/reports/general-ledger",
            {"page": 1, "per_page": GL_PAGE},
            lambda v: general_ledger(v, LineFilter(), page_no=1, per_page=GL_PAGE),
        ),
        Report(
            "gl_last",
            f"General ledger, last full page (page {gl_pages:,} of {GL_PAGE:,} rows)",
            "/api/v2/reports/general-ledger",
            {"page": gl_pages, "per_page": GL_PAGE},
            lambda v: general_ledger(v, LineFilter(), page_no=gl_pages, per_page=GL_PAGE),
        ),
        Report(
            "accounts_payable",
            f"Accounts payable (page 1 of {GL_PAGE:,}, ageing {AGING})",
            "/api/v2/reports/accounts-payable",
            {"date_to": YEAR_TO.isoformat(), "per_page": GL_PAGE, "aging": AGING},
            open_items("payable"),
        ),
        Report(
            "accounts_receivable",
            f"Accounts receivable (page 1 of {GL_PAGE:,}, ageing {AGING})",
            "/api/v2/reports/accounts-receivable",
            {"date_to": YEAR_TO.isoformat(), "per_page": GL_PAGE, "aging": AGING},
            open_items("receivable"),
        ),
        Report(
            "vat",
            "VAT report (year)",
            "/api/v2/reports/vat",
            period,
            lambda v: vat_report(v, date_from=YEAR_FROM, date_to=YEAR_TO),
        ),
    ]


def empty_caches() -> None:
    """What a new execution environment (or the first read of a new manifest version) starts with."""
    from saldo.ledger import query
    from saldo.ledger.service import default_store

    with query._views_lock:
        for view in query._views.values():
            view.con.close()
        query._views.clear()
    shutil.rmtree(query.CACHE_DIR, ignore_errors=True)
    default_store()._master_cache.clear()


class Target:
    """One client account on the running local stack, called through the API and directly."""

    def __init__(self, stack: Any, org_id: str, api_key: str, client_account_id: int) -> None:
        from saldo.ledger.service import LedgerService

        self.stack = stack
        self.org_id = org_id
        self.api_key = api_key
        self.client_account_id = client_account_id
        self.service = LedgerService(org_id)
        self.account = self.service.client_account(client_account_id)

    def api(self, report: Report) -> bytes:
        query = urlencode({"client_account_id": self.client_account_id, **report.params})
        headers = {"host": "127.0.0.1", "authorization": f"Bearer {self.api_key}"}
        path = f"{self.stack.http.base_path}{report.path}?{query}"  # behind the stage, as every URL on AWS
        response = self.stack.http.handle("GET", path, headers, b"")
        if response.status != 200:
            raise RuntimeError(f"{report.path}: HTTP {response.status}: {response.body[:500]!r}")
        return response.body

    def view(self) -> Any:
        return self.service.view(self.account)


def gl_pages(target: Target) -> int:
    """The last *full* page of GL_PAGE rows (the deepest offset that still returns a whole page)."""
    from saldo.reports.common import LineFilter
    from saldo.reports.general_ledger import count_rows

    return max(1, count_rows(target.view(), LineFilter()) // GL_PAGE)


def measure(
    target: Target, *, warm_n: int, cold_n: int, warm_budget: float = 3.0, cold_budget: float = 20.0
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for report in reports(gl_pages(target)):
        body = target.api(report)  # warm-up: handler imported, view cached
        view = target.view()
        report.domain(view)
        entry: dict[str, Any] = {"label": report.label, "response_bytes": len(body)}
        samples: dict[str, Sample] = {
            "api_warm": repeat(lambda r=report: target.api(r), n=warm_n, min_n=5, budget=warm_budget),
            "domain_warm": repeat(
                lambda r=report, v=view: r.domain(v), n=warm_n, min_n=5, budget=warm_budget
            ),
            "api_cold": repeat(
                lambda r=report: target.api(r), n=cold_n, min_n=3, budget=cold_budget, before=empty_caches
            ),
            "domain_cold": repeat(
                lambda r=report: r.domain(target.view()),
                n=cold_n,
                min_n=3,
                budget=cold_budget,
                before=empty_caches,
            ),
        }
        target.view()  # leave a warm view for the next report
        entry.update({k: s.as_dict() for k, s in samples.items()})
        out[report.key] = entry
        log(
            f"  {report.key:<24} api warm {samples['api_warm'].median * 1000:8.1f} ms  "
            f"domain warm {samples['domain_warm'].median * 1000:8.1f} ms  "
            f"api cold {samples['api_cold'].median * 1000:8.1f} ms  "
            f"domain cold {samples['domain_cold'].median * 1000:8.1f} ms"
        )
    # The view build alone (download + DuckDB load), the common part of every cold figure.
    build = repeat(lambda: target.view(), n=cold_n, min_n=3, budget=cold_budget, before=empty_caches)
    out["_view_build"] = {"label": "View build alone (download + load)", **build.as_dict()}
    return out


def trial_balance_by_account(target: Target) -> dict[str, Any]:
    """Outgoing balance per account of the year's trial balance (what ledger/hledger are checked against)."""
    from saldo.reports.trial_balance import trial_balance

    rows = trial_balance(target.view(), date_from=YEAR_FROM, date_to=YEAR_TO, include_dimensions=False)
    return {r["account_code"]: r["outgoing_balance"] for r in rows}
