"""`make bench`: every benchmark of DESIGN.md §7 in one run; results in docs/BENCHMARKS.md.

    .venv/bin/python -m bench.run               # 100k and 1M postings (about 15 minutes on 2 cores)
    BENCH_QUICK=1 .venv/bin/python -m bench.run # 100k only (a few minutes)

Sections (each described in its module): report latency on the local stack, warm and cold, through the
API and the domain function alone (bench/latency.py); ledger-cli and hledger on the same postings,
checked against the trial balance (bench/tools.py); bare DuckDB and SQLite over the same lines
(bench/raw.py); rendering and SAF-T throughput with peak memory, each in a fresh interpreter next to the
raw library on the same work (bench/worker.py); a chart of 20,000 accounts (bench/bigchart.py); a batch
zip of 1,000 small PDFs (bench/worker.py); the import cost of every function (bench/imports.py); a batch
of company reports from POST to its final status on a fresh local stack (bench/batches.py: 1,000 items,
200 in the quick run).
Raw results also go to bench/out/results.json.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bench.measure import OUT, ROOT, Sample, log, machine, versions, worker

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
SIZES = [100_000] if QUICK else [100_000, 1_000_000]
RENDER_ROWS = {"xlsx": 20_000, "html": 50_000, "pdf": 5_000} if QUICK else {
    "xlsx": 50_000, "html": 100_000, "pdf": 10_000
}  # fmt: skip
RENDER_RUNS = 2 if QUICK else 3
WARM_N = 20
COLD_N = {100_000: 5, 1_000_000: 3}
TOOL_RUNS = {100_000: {"ledger": 5, "hledger": 3}, 1_000_000: {"ledger": 3, "hledger": 2}}
SAFT_RUNS = {100_000: 2 if QUICK else 3, 1_000_000: 2}
IMPORT_RUNS = 5 if QUICK else 9
BIG_CHART_ACCOUNTS = 20_000


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """The handlers log a JSON line per request to stdout (CloudWatch on AWS): send it to /dev/null here.

    Powertools' handler keeps a reference to the stdout stream it was created with, so this redirects
    file descriptor 1 itself; the benchmark's own messages go to stderr.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def _date_for_rows(target: Any, rows: int) -> date:
    """The last posting date such that the lines from 1 January up to it are about `rows` (at most)."""
    view = target.view()
    total = view.rows("SELECT count(*) FROM lines WHERE NOT is_draft")[0][0]
    if rows >= total:
        return date(2025, 12, 31)
    day = view.rows("SELECT posting_date FROM lines ORDER BY rn LIMIT 1 OFFSET ?", [rows])[0][0]
    return day - timedelta(days=1)


def in_stack(results: dict[str, Any]) -> dict[int, Any]:
    """Everything measured in this process against the local stack; returns the datasets."""
    from bench import latency, raw, tools
    from bench.data import prepare
    from bench.stores import line_segment_paths
    from saldo_tools.localstack import LocalStack

    found = tools.ensure_tools()
    results["tools"] = found
    datasets: dict[int, Any] = {}
    with LocalStack(ROOT, tick=3600) as stack, quiet_stdout():
        for size in SIZES:
            log(f"--- {size:,} postings: generate and load into the local stack")
            ds = prepare(size)
            datasets[size] = ds
            entry: dict[str, Any] = {"dataset": ds.as_dict()}
            target = latency.Target(stack, ds.org_id, ds.api_key, ds.client_account_id)
            if size == SIZES[0]:
                entry["render_dates"] = {fmt: _date_for_rows(target, n) for fmt, n in RENDER_ROWS.items()}
            log(f"--- {size:,}: report latency (median of up to {WARM_N} warm and {COLD_N[size]} cold runs)")
            gc.collect()
            entry["latency"] = latency.measure(target, warm_n=WARM_N, cold_n=COLD_N[size])
            log(f"--- {size:,}: ledger-cli and hledger on the journal export")
            tb = latency.trial_balance_by_account(target)
            entry["tools"] = tools.measure(ds.journal, tb, TOOL_RUNS[size], found)
            log(f"--- {size:,}: bare DuckDB and SQLite over the same lines")
            paths = line_segment_paths(ds.snapshot)
            entry["duckdb"] = raw.duckdb_alone(paths, n=WARM_N)
            entry["sqlite"] = raw.sqlite_alone(paths, n=5)
            latency.empty_caches()
            results["sizes"][str(size)] = entry
            gc.collect()
    return datasets


def rendering(results: dict[str, Any], ds: Any) -> None:
    log(f"--- rendering the general ledger of the {ds.label} ledger (fresh interpreter per run)")
    dates = results["sizes"][str(ds.lines)]["render_dates"]
    out: dict[str, Any] = {}
    for fmt in ("xlsx", "html", "pdf"):
        args = {"snapshot": str(ds.snapshot), "format": fmt, "date_from": "2025-01-01",
                "date_to": str(dates[fmt])}  # fmt: skip
        runs = [worker("render_saldo", args) for _ in range(RENDER_RUNS)]
        out[fmt] = _summary(runs)
        log(
            f"  saldo {fmt:<4} {out[fmt]['rows']:,} rows in {out[fmt]['median_s']:.2f} s: "
            f"{out[fmt]['rows'] / out[fmt]['median_s']:,.0f} rows/s"
            + (f", {out[fmt]['pages'] / out[fmt]['median_s']:.1f} pages/s" if out[fmt].get("pages") else "")
            + f", peak {out[fmt]['peak_rss_mb']:.0f} MB"
        )
    xlsx_rows = out["xlsx"]["rows"]
    out["raw_openpyxl"] = _summary([worker("raw_openpyxl", {"rows": xlsx_rows}) for _ in range(RENDER_RUNS)])
    out["raw_openpyxl_styled"] = _summary(
        [worker("raw_openpyxl", {"rows": xlsx_rows, "styled": True}) for _ in range(RENDER_RUNS)]
    )
    pages = out["pdf"]["pages"]
    for font in ("helvetica", "dejavu"):
        out[f"raw_fpdf_{font}"] = _summary(
            [worker("raw_fpdf", {"pages": pages, "font": font}) for _ in range(RENDER_RUNS)]
        )
    log(
        f"  raw openpyxl {xlsx_rows / out['raw_openpyxl']['median_s']:,.0f} rows/s "
        f"({xlsx_rows / out['raw_openpyxl_styled']['median_s']:,.0f} with number formats); raw fpdf2 "
        f"{pages / out['raw_fpdf_helvetica']['median_s']:.1f} pages/s (helvetica), "
        f"{pages / out['raw_fpdf_dejavu']['median_s']:.1f} pages/s (DejaVu)"
    )
    results["render"] = out


def views(results: dict[str, Any], datasets: dict[int, Any]) -> None:
    """The ledger view alone, in a fresh interpreter: build time from local files and its memory."""
    out: dict[str, Any] = {}
    for size, ds in datasets.items():
        runs = [worker("view_build", {"snapshot": str(ds.snapshot)}) for _ in range(3)]
        out[str(size)] = _summary(runs)
        e = out[str(size)]
        log(
            f"  view of {ds.label}: built in {e['median_s']:.2f} s from local files, RSS "
            f"{e['rss_before_mb']:.0f} → {e['rss_after_mb']:.0f} MB, peak {e['peak_rss_mb']:.0f} MB"
        )
    results["views"] = out


def big_chart(results: dict[str, Any]) -> None:
    """A chart of 20,000 accounts (bench/bigchart.py), fresh interpreter: upsert, list, summary reports."""
    r = worker("big_chart", {"accounts": BIG_CHART_ACCOUNTS, "runs": 5})
    steps = r["steps"]
    log(
        "  "
        + ", ".join(
            f"{name} {steps[name]['wall_s']:.2f} s (CPU {steps[name]['cpu_s']:.2f} s)"
            for name in ("upsert", "trial_balance", "balance_sheet", "income_statement")
        )
    )
    results["big_chart"] = r


def batch_zip(results: dict[str, Any]) -> None:
    """A batch's zip (saldo/batches/archive.py) of 1,000 small PDFs, fresh interpreter, no S3."""
    runs = [worker("batch_zip", {"count": 1000}) for _ in range(3)]
    best = min(runs, key=lambda r: r["seconds"])
    log(
        f"  {best['pdfs']} PDFs, {best['bytes_in'] / 1024**2:.1f} MB → {best['bytes_out'] / 1024**2:.1f} MB "
        f"in {best['seconds']:.2f} s ({best['pdfs_per_s']} PDFs/s), {best['parts']} part(s), part buffer "
        f"peak {best['peak_buffer_mb']} MB, RSS peak {best['peak_rss_mb']} MB"
    )
    results["batch_zip"] = {"runs": runs, "best": best}


def saft(results: dict[str, Any], datasets: dict[int, Any]) -> None:
    out: dict[str, Any] = {}
    for size, ds in datasets.items():
        runs = SAFT_RUNS[size]
        log(f"--- SAF-T export, import and bare iterparse of the {ds.label} ledger ({runs} run(s) each)")
        xml = OUT / "data" / str(size) / "saft.xml"
        export_args = {"snapshot": str(ds.snapshot), "out": str(xml), "date_from": "2025-01-01",
                       "date_to": "2025-12-31"}  # fmt: skip
        entry = {"export": _summary([worker("saft_export", export_args) for _ in range(runs)])}
        entry["import"] = _summary([worker("saft_import", {"file": str(xml)}) for _ in range(runs)])
        entry["iterparse"] = _summary(
            [worker("raw_iterparse", {"file": str(xml)}) for _ in range(max(runs, 3))]
        )
        for key in ("export", "import", "iterparse"):
            e = entry[key]
            log(
                f"  {key:<9} {e['bytes'] / 1e6:7.1f} MB in {e['median_s']:6.2f} s = "
                f"{e['bytes'] / 1e6 / e['median_s']:5.1f} MB/s, peak {e['peak_rss_mb']:.0f} MB"
                + (f" [{e.get('status')}]" if key == "import" else "")
            )
        out[str(size)] = entry
    results["saft"] = out


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median time of a task's runs, with the largest peak memory among them and the last run's details."""
    sample = Sample([r["seconds"] for r in runs])
    last = dict(runs[-1])
    last.pop("seconds", None)
    return {
        **last,
        **sample.as_dict(),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "peak_during_mb": max((r.get("peak_during_mb") or 0) for r in runs) or None,
        "rss_before_mb": min(r["rss_before_mb"] for r in runs),
    }


def main() -> int:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ["SALDO_CACHE_DIR"] = str(OUT / "cache")  # the /tmp segment cache of the benchmark's "Lambda"
    import moto  # noqa: F401 - before any boto3 client exists, so every client is mocked

    from bench import batches, imports
    from bench.report import write_markdown

    started = time.perf_counter()
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": QUICK,
        "machine": machine(),
        "versions": versions(),
        "sizes": {},
    }
    log(
        f"Saldo benchmark ({'quick: 100k only' if QUICK else '100k and 1M postings'}) on {results['machine']}"
    )
    datasets = in_stack(results)
    log("--- the ledger view alone (fresh interpreter, local files)")
    views(results, datasets)
    rendering(results, datasets[SIZES[0]])
    log(f"--- a chart of {BIG_CHART_ACCOUNTS:,} accounts (fresh interpreter, scratch directory)")
    big_chart(results)
    saft(results, datasets)
    log("--- a batch zip of 1,000 small PDFs (fresh interpreter, parts discarded)")
    batch_zip(results)
    log(f"--- function import cost (fresh interpreter, precompiled bytecode, median of {IMPORT_RUNS})")
    results["imports"] = imports.measure(runs=IMPORT_RUNS)
    log(f"--- batch reports: {batches.ITEMS:,} items per batch on a fresh local stack")
    results["batches"] = batches.measure()
    results["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["seconds_total"] = round(time.perf_counter() - started, 1)
    (OUT / "results.json").write_text(json.dumps(results, indent=1, default=str))
    path = write_markdown(results)
    batches.write_markdown(results["batches"], results)
    log(f"done in {results['seconds_total'] / 60:.1f} min: {path.relative_to(ROOT)}, bench/out/results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
