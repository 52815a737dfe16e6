"""A client account with a big chart of accounts (20,000 by default), built in a scratch directory.

Every account has an opening balance (they sum to zero) and the year's postings touch each of them, so
the trial balance, balance sheet and income statement carry every account. Measured by the worker task
`big_chart` (`python -m bench.worker big_chart '{"accounts": 20000}'`): the master-data upsert and list,
the view build, each summary report (function + JSON) and the trial balance as PDF and Excel.
"""

from __future__ import annotations

import gzip
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

ORG = "bench-bigchart"
YEAR = 2025


def chart(n: int) -> list[dict[str, Any]]:
    """`n` six-digit accounts spread over classes 1-8, openings alternating +x/-x (summing to zero)."""
    step = 800_000 // n
    out = []
    for i in range(n):
        amount = (i // 2) % 997 + 1
        out.append(
            {
                "code": str(100_000 + i * step),
                "name": f"Konto {i:05d} {'eiendel' if i < n // 4 else 'drift'}",
                "opening_balance": f"{amount if i % 2 == 0 else -amount}.00" if i < n - n % 2 else "0.00",
            }
        )
    return out


def entries(codes: list[str], per_entry: int = 10) -> list[dict[str, Any]]:
    """Balanced entries through the year whose lines touch every account once (pairs of ±)."""
    out = []
    for j, start in enumerate(range(0, len(codes) - len(codes) % 2, per_entry)):
        lines = []
        for k, code in enumerate(codes[start : start + per_entry]):
            amount = f"{(start + k) % 500 + 10}.00"
            side = "debit" if k % 2 == 0 else "credit"
            lines.append({"account_code": code, side: amount if side == "debit" else lines[-1]["debit"]})
        if len(lines) % 2:
            lines.pop()
        out.append(
            {
                "posting_date": f"{YEAR}-{j % 12 + 1:02d}-{j % 28 + 1:02d}",
                "description": f"B{j}",
                "lines": lines,
            }
        )
    return out


def _median(fn: Callable[[], Any], runs: int) -> tuple[float, float, Any]:
    """Median wall and CPU seconds of `runs` calls (CPU: this process, DuckDB's threads included; on a
    shared machine the wall time also counts waiting for a core)."""
    walls, cpus, result = [], [], None
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return statistics.median(walls), statistics.median(cpus), result


def measure(n: int, runs: int = 5) -> dict[str, Any]:
    from bench.stores import DirBlobs, MemoryManifests, MemoryRepo
    from saldo import jsonenc
    from saldo.api.routes.ledger import AccountsIn
    from saldo.ledger.models import ClientAccountIn, JournalEntriesIn
    from saldo.ledger.query import build_view
    from saldo.ledger.service import LedgerService
    from saldo.ledger.store import LedgerStore
    from saldo.render import render
    from saldo.reports import documents
    from saldo.reports.balance_sheet import balance_sheet
    from saldo.reports.income_statement import income_statement
    from saldo.reports.trial_balance import trial_balance

    out: dict[str, Any] = {"accounts": n, "steps": {}}

    def step(name: str, fn: Callable[[], Any], n_runs: int = 1, **extra: Any) -> Any:
        wall, cpu, result = _median(fn, n_runs)
        out["steps"][name] = {"wall_s": wall, "cpu_s": cpu, "runs": n_runs, **extra}
        return result

    with tempfile.TemporaryDirectory(prefix="saldo-bench-bigchart-") as tmp:
        store = LedgerStore(DirBlobs(Path(tmp) / "objects"), MemoryManifests())
        svc = LedgerService(ORG, store, MemoryRepo(), publish=lambda *_: None, enqueue=lambda _: None)
        account = svc.create_client_account(
            ClientAccountIn(name="Storkonsern AS", registration_number="923609016")
        )
        items = chart(n)
        body = jsonenc.dumps({"items": items})

        def upsert() -> dict[str, int]:
            # As the route does it: the body validated, then one ledger commit.
            parsed = AccountsIn.model_validate_json(body)
            return svc.upsert_master(account.id, "accounts", parsed.items).as_dict()

        out["upsert_summary"] = step("upsert", upsert, request_bytes=len(body))
        out["upsert_again_summary"] = step("upsert_unchanged", upsert)

        batch = entries([a["code"] for a in items])

        def post() -> None:
            for i in range(0, len(batch), 500):
                chunk = batch[i : i + 500]
                svc.post_entries(
                    JournalEntriesIn.model_validate({"client_account_id": account.id, "entries": chunk})
                )

        step("post_entries", post, entries=len(batch))

        def list_all() -> int:
            master = svc.master(account.id)
            seen, page = 0, 1
            while page_items := master.page("accounts", page=page, per_page=1000):
                jsonenc.dumps({"data": page_items})
                seen += len(page_items)
                page += 1
            return seen

        out["listed"] = step("list_all_pages", list_all, runs, per_page=1000)
        manifest = store.manifest(ORG, account.id)
        view = step("view_build", lambda: build_view(store, manifest, account))
        out["lines"] = view.rows("SELECT count(*) FROM lines")[0][0]

        period = {"date_from": date(YEAR, 1, 1), "date_to": date(YEAR, 12, 31)}
        reports: dict[str, Callable[[], Any]] = {
            "trial_balance": lambda: trial_balance(view, **period),
            "balance_sheet": lambda: balance_sheet(view, report_date=date(YEAR, 12, 31)),
            "income_statement": lambda: income_statement(view, **period),
        }
        for name, fn in reports.items():
            # The report and its JSON: what the route does for a JSON answer.
            rows = step(name, lambda fn=fn: (r := fn(), jsonenc.dumps(r))[0], runs)
            out["steps"][name]["rows"] = len(rows)
            out["steps"][name]["bytes"] = len(jsonenc.dumps(rows))

        tb = trial_balance(view, **period)
        text = jsonenc.dumps(tb).encode()
        packed = step("trial_balance_gzip", lambda: gzip.compress(text, compresslevel=5), runs)
        out["steps"]["trial_balance_gzip"]["bytes"] = len(packed)
        for fmt in ("pdf", "xlsx"):

            def doc(fmt: str = fmt) -> int:
                document = documents.trial_balance_document(
                    view, tb, period["date_from"], period["date_to"], "nb", {}
                )
                rendered = render(document, fmt, tmp_dir=tmp)
                size = rendered.size
                rendered.cleanup()
                return size

            size = step(f"trial_balance_{fmt}", doc, rows=len(tb))
            out["steps"][f"trial_balance_{fmt}"]["bytes"] = size
    return out
