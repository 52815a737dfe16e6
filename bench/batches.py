"""Batch reports on the local stack: one batch of N items from POST to its final status.

    .venv/bin/python -m bench.batches               # 1,000 items, ReelleEjere and Revision
    BENCH_QUICK=1 .venv/bin/python -m bench.batches # 200 items

The in-process local stack (moto S3, DynamoDB, SQS and Step Functions; the real handlers) as
tests/conftest.py builds it; an organization and key from `TenancyStore`; the demo registry plus N
generated Danish companies (valid CVR numbers, three or four owners each, in ownership chains of eight
with a parallel path, so the ownership graph is walked several levels up). The batch is POSTed to
/apps/reporting/batches through `stack.http.handle` (authorizer and handler, as the tests' `ApiClient`),
then GET is polled every POLL_S until a final status, recording completionPercentage as it moves.

Cost per item: the batch path's functions are wrapped with timers in this process (wall time and the
calling thread's CPU time, so 40 concurrent items contending for the GIL do not inflate the figures):
rendering = `produce_report` (data gathering = `company_report`, PDF = `render_section_pdf`); storage =
the S3 put of the PDF and the DynamoDB item, name and link writes; fan-out = everything else the process
spent on the batch (Step Functions' interpreter in moto, the Lambda bridge and handler wrapper, the item's
own batch-record read), i.e. the process CPU time of the run less rendering, storage and the poller.
The local stack is one process: its Python work is serialised by the GIL, so the process CPU time is
the floor of the wall time whatever MaxConcurrency says.
"""

from __future__ import annotations

import contextlib
import cProfile
import gc
import io
import json
import os
import pstats
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from bench.measure import OUT, ROOT, Sample, log, machine, reset_peak_rss, rss_mb, versions, vm_hwm_mb

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
ITEMS = 200 if QUICK else 1_000
KINDS = ("ReelleEjere", "Revision")
RUNS = 2 if QUICK else 1  # batches per report type (medians when more than one)
TARGET_S = 60.0  # the issue: 1,000 items in ≤ 60 s locally on 2 cores
TARGET_ITEMS = 1_000
POLL_S = 0.5
CHAIN = 8  # companies per ownership chain
PERSONS = 120
PROFILE_ITEMS = 60  # items rendered one after another under cProfile, per report type
FINAL = ("Finished", "FinishedWithWarning", "FinishedWithErrors")
BATCHES = "/apps/reporting/batches"


# ---------------------------------------------------------------------------------------------- data
def company_cvrs(n: int) -> list[str]:
    from saldo_tools.demo_registry import cvr

    return [cvr(5_000_000 + 10 * i) for i in range(n)]  # seeds ten apart: distinct numbers


def company_body(i: int, numbers: list[str]) -> dict[str, Any]:
    """Company i: chain position i % CHAIN; from the second position on, owned 60 % by the previous company
    of its chain and (from the third) 10 % by the one before that too, the rest by persons."""
    pos = i % CHAIN

    def person(k: int, share: str) -> dict[str, Any]:
        pid = f"bench-{k % PERSONS:03d}"
        return {
            "party": {"person_id": pid},
            "name": f"Person {k % PERSONS:03d}",
            "capital": {"low": share, "high": share},
            "votes": {"low": share, "high": share},
        }

    def company(j: int, share: str) -> dict[str, Any]:
        return {
            "party": {"country": "DK", "registration_number": numbers[j]},
            "name": f"Bench Selskab {j:04d} ApS",
            "capital": {"low": share, "high": share},
            "votes": {"low": share, "high": share},
        }

    if pos == 0:
        owners = [person(i, "0.50"), person(i + 1, "0.30"), person(i + 2, "0.20")]
    elif pos == 1:
        owners = [company(i - 1, "0.60"), person(i, "0.25"), person(i + 1, "0.15")]
    else:
        owners = [company(i - 1, "0.60"), company(i - 2, "0.10"), person(i, "0.20"), person(i + 1, "0.10")]
    figures = [
        {
            "year": year,
            "revenue": f"{1_000_000 + 1_000 * i + 50_000 * (year - 2023)}.00",
            "gross_profit": f"{400_000 + 500 * i}.00",
            "operating_profit": f"{90_000 + 100 * i}.00",
            "profit": f"{70_000 + 80 * i}.00",
            "equity": f"{500_000 + 200 * i}.00",
            "share_capital": "40000.00",
            "total_assets": f"{1_500_000 + 900 * i}.00",
            "current_assets": f"{800_000 + 300 * i}.00",
            "current_liabilities": f"{400_000 + 100 * i}.00",
            "employees": 5 + i % 40,
            "auditor_statement": "unqualified",
            "annual_report_date": f"{year + 1}-05-20",
        }
        for year in (2023, 2024, 2025)
    ]
    return {
        "effective_date": "2024-01-01",
        "name": f"Bench Selskab {i:04d} ApS",
        "legal_form": "APS",
        "balance_day": "12-31",
        "address": {
            "street": f"Vestergade {1 + i % 90}",
            "postal_code": "8000",
            "city": "Aarhus C",
            "country": "DK",
        },
        "industry_codes": [{"code": "620100", "text": "Computerprogrammering", "primary": True}],
        "owners": owners,
        "roles": [
            {
                "role": "management",
                "party": {"person_id": f"bench-{(i + 7) % PERSONS:03d}"},
                "name": f"Person {(i + 7) % PERSONS:03d}",
                "title": "Direktør",
            }
        ],
        "key_figures": figures,
    }


def prepare(n: int) -> dict[str, Any]:
    """An organization with a key, the demo registry and n generated companies (written in-process)."""
    from saldo.adapters.tenancy_store import TenancyStore
    from saldo.registry.models import CompanyIn, PersonIn
    from saldo.registry.service import RegistryService
    from saldo_tools.demo_registry import load_demo_registry

    started = time.perf_counter()
    tenancy = TenancyStore()
    org = tenancy.create_org("Bench Revision ApS")
    key = tenancy.create_key(org["org_id"], label="bench")
    load_demo_registry(org["org_id"])
    # No CompanyChanged events: no listener batch exists, and 1,000 of them would only load the stack.
    service = RegistryService(org["org_id"], publish=lambda *_: None)
    for k in range(PERSONS):
        body = {"name": f"Person {k:03d}", "birth_year": 1950 + k % 50, "nationality": "DK"}
        service.put_person(f"bench-{k:03d}", PersonIn.model_validate(body))
    numbers = company_cvrs(n)
    for i, number in enumerate(numbers):
        service.put_company("DK", number, CompanyIn.model_validate(company_body(i, numbers)))
    seconds = time.perf_counter() - started
    log(f"  registry: demo group + {n:,} companies and {PERSONS} persons written in {seconds:.1f} s")
    return {"org_id": org["org_id"], "key": key["key"], "cvrs": numbers, "seconds": round(seconds, 2)}


# ---------------------------------------------------------------------------------------------- timers
class Timers:
    """Wall and thread-CPU time of wrapped functions, counted only inside an item's run (`scope`)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stats: dict[str, list[float]] = {}  # name -> [calls, wall, cpu]
        self.local = threading.local()

    def reset(self) -> None:
        with self.lock:
            self.stats = {}

    def add(self, name: str, wall: float, cpu: float) -> None:
        with self.lock:
            entry = self.stats.setdefault(name, [0, 0.0, 0.0])
            entry[0] += 1
            entry[1] += wall
            entry[2] += cpu

    def wrap(self, name: str, fn: Callable[..., Any], scope: bool = False) -> Callable[..., Any]:
        timers = self

        def timed(*args: Any, **kwargs: Any) -> Any:
            depth = getattr(timers.local, "depth", 0)
            if not scope and depth == 0:
                return fn(*args, **kwargs)
            timers.local.depth = depth + 1
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                timers.add(name, time.perf_counter() - wall, time.thread_time() - cpu)
                timers.local.depth = depth

        return timed

    def snapshot(self) -> dict[str, dict[str, float]]:
        with self.lock:
            return {k: {"calls": int(v[0]), "wall_s": v[1], "cpu_s": v[2]} for k, v in self.stats.items()}


@contextlib.contextmanager
def instrumented(stack: Any, timers: Timers) -> Iterator[None]:
    """Wrap the batch path's functions (module attributes, looked up at call time) with `timers`."""
    from saldo.adapters import batch_store, documents, jobstatus
    from saldo.batches import service
    from saldo.registry import reports
    from saldo.render import section_pdf

    runtime = stack.runtime
    original_invoke = runtime.invoke

    def invoke(name_or_arn: str, event: Any) -> Any:
        if isinstance(event, dict) and event.get("step") == "item":
            return timers.wrap("lambda_invoke", original_invoke, scope=True)(name_or_arn, event)
        return original_invoke(name_or_arn, event)

    patches: list[tuple[Any, str, Any]] = [
        (service, "run_item", timers.wrap("run_item", service.run_item)),
        (service, "produce_report", timers.wrap("produce_report", service.produce_report)),
        (reports, "company_report", timers.wrap("gather", reports.company_report)),
        (section_pdf, "render_section_pdf", timers.wrap("pdf", section_pdf.render_section_pdf)),
        (documents, "put_object", timers.wrap("s3_put_pdf", documents.put_object)),
        (jobstatus.JobStatusStore, "get", timers.wrap("batch_record_read", jobstatus.JobStatusStore.get)),
    ]
    for method in ("claim_item", "claim_name", "put_link", "finish_item", "mark_item"):
        original = getattr(batch_store.BatchStore, method)
        patches.append((batch_store.BatchStore, method, timers.wrap(f"ddb_{method}", original)))
    saved = [(obj, attr, getattr(obj, attr)) for obj, attr, _ in patches]
    try:
        runtime.invoke = invoke
        for obj, attr, new in patches:
            setattr(obj, attr, new)
        yield
    finally:
        runtime.invoke = original_invoke
        for obj, attr, old in saved:
            setattr(obj, attr, old)


# ---------------------------------------------------------------------------------------------- a batch
class Api:
    def __init__(self, stack: Any, key: str) -> None:
        self.stack, self.key = stack, key

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"host": "127.0.0.1", "authorization": f"Bearer {self.key}"}
        raw = b""
        if body is not None:
            raw = json.dumps(body).encode()
            headers["content-type"] = "application/json"
        response = self.stack.http.handle(method, self.stack.http.base_path + path, headers, raw)
        return response.status, json.loads(response.body) if response.body else None


def run_batch(stack: Any, api: Api, timers: Timers, kind: str, cvrs: list[str], label: str) -> dict[str, Any]:
    body = {
        "batchName": label,
        "type": kind,
        "format": "{cvr}-{name}-{type}",
        "items": [{"cvr": c, "internalCustomerId": i + 1} for i, c in enumerate(cvrs)],
    }
    gc.collect()
    timers.reset()
    reset_peak_rss()
    rss_start = rss_mb()
    poll_cpu = 0.0
    samples: list[dict[str, Any]] = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    status, created = api.call("POST", BATCHES, body)
    post_s = time.perf_counter() - wall0
    if status != 201:
        raise RuntimeError(f"POST {BATCHES}: HTTP {status}: {created}")
    batch_id = created["id"]
    deadline = wall0 + 1800
    while True:
        time.sleep(POLL_S)
        c = time.thread_time()
        status, got = api.call("GET", f"{BATCHES}/{batch_id}")
        poll_cpu += time.thread_time() - c
        t = time.perf_counter() - wall0
        samples.append({"t": round(t, 2), "pct": got["completionPercentage"], "status": got["status"],
                        "rss_mb": round(rss_mb())})  # fmt: skip
        if got["status"] in FINAL:
            break
        if time.perf_counter() > deadline:
            raise RuntimeError(f"batch {batch_id} still {got['status']} after 30 minutes")
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    stats = timers.snapshot()
    n = len(cvrs)
    first_item = next((s["t"] for s in samples if s["pct"] > 0), None)
    counts = {k: got[k] for k in ("completed", "warnings", "failed")}
    return {
        "kind": kind,
        "items": n,
        "batch_id": batch_id,
        "status": got["status"],
        "counts": counts,
        "seconds": wall,
        "post_s": post_s,
        "items_per_s": n / wall,
        "first_progress_s": first_item,
        "process_cpu_s": cpu,
        "poll_cpu_s": poll_cpu,
        "stats": stats,
        "split_cpu_per_item_s": split(stats, cpu - poll_cpu, n),
        "peak_rss_mb": vm_hwm_mb(),
        "rss_start_mb": rss_start,
        "progress": samples,
        "distinct_pcts": len({s["pct"] for s in samples}),
    }


def split(stats: dict[str, dict[str, float]], batch_cpu: float, n: int) -> dict[str, float]:
    """CPU seconds per item: rendering (gathering + PDF), storage, fan-out (the rest of the run's CPU)."""

    def cpu(name: str) -> float:
        return stats.get(name, {}).get("cpu_s", 0.0)

    storage = cpu("s3_put_pdf") + sum(v["cpu_s"] for k, v in stats.items() if k.startswith("ddb_"))
    rendering = cpu("produce_report")
    return {
        "gather": cpu("gather") / n,
        "pdf": cpu("pdf") / n,
        "rendering": rendering / n,
        "storage_s3": cpu("s3_put_pdf") / n,
        "storage_ddb": (storage - cpu("s3_put_pdf")) / n,
        "storage": storage / n,
        "batch_record_read": cpu("batch_record_read") / n,
        "handler_rest": (cpu("run_item") - rendering - storage - cpu("batch_record_read")) / n,
        "lambda_wrapper": (cpu("lambda_invoke") - cpu("run_item")) / n,
        "step_functions": (batch_cpu - cpu("lambda_invoke")) / n,
        "fan_out": (batch_cpu - cpu("run_item")) / n,
        "total": batch_cpu / n,
    }


def profile_items(org_id: str, kind: str, cvrs: list[str]) -> dict[str, Any]:
    """produce_report for PROFILE_ITEMS companies one after another in this thread, under cProfile."""
    from datetime import date

    from saldo.batches.service import produce_report

    produce_report(org_id, kind, cvrs[0], date.today(), None)  # imports and fonts loaded
    prof = cProfile.Profile()
    started = time.perf_counter()
    prof.enable()
    chosen = cvrs[1 : PROFILE_ITEMS + 1]
    for c in chosen:
        produce_report(org_id, kind, c, date.today(), None)
    prof.disable()
    wall = time.perf_counter() - started
    stats = pstats.Stats(prof, stream=io.StringIO())
    top = []
    for func, (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        filename, line, name = func
        short = filename.split("site-packages/")[-1].split("/layers/saldo/")[-1]
        top.append({"function": f"{short}:{line}({name})", "calls": nc, "tottime_s": tt, "cumtime_s": ct})
    by_cum = sorted(top, key=lambda r: -r["cumtime_s"])[:40]
    by_tot = sorted(top, key=lambda r: -r["tottime_s"])[:25]
    return {"items": len(chosen), "seconds": wall, "per_item_s": wall / len(chosen),
            "cumulative": by_cum, "own": by_tot}  # fmt: skip


def measure(n: int = ITEMS, runs: int = RUNS) -> dict[str, Any]:
    from bench.run import quiet_stdout
    from saldo_tools.localstack import LocalStack

    out: dict[str, Any] = {"items": n, "runs": runs, "target_s": TARGET_S, "target_items": TARGET_ITEMS}
    with LocalStack(ROOT, tick=3600) as stack, quiet_stdout():
        out["max_concurrency"] = stack.resolver.parameters.get("BatchMaxConcurrency")
        data = prepare(n)
        out["registry_s"] = data["seconds"]
        api = Api(stack, data["key"])
        timers = Timers()
        with instrumented(stack, timers):
            for kind in KINDS:
                results = []
                for r in range(runs):
                    log(f"--- batch of {n:,} {kind} items, run {r + 1} of {runs}")
                    res = run_batch(stack, api, timers, kind, data["cvrs"], f"bench {kind} {r}")
                    s = res["split_cpu_per_item_s"]
                    log(
                        f"  {res['status']} {res['counts']} in {res['seconds']:.1f} s = "
                        f"{res['items_per_s']:.1f} items/s; CPU {res['process_cpu_s']:.1f} s; per item "
                        f"render {s['rendering'] * 1000:.0f} ms (gather {s['gather'] * 1000:.0f}, pdf "
                        f"{s['pdf'] * 1000:.0f}), storage {s['storage'] * 1000:.0f} ms, fan-out "
                        f"{s['fan_out'] * 1000:.0f} ms; peak {res['peak_rss_mb']:.0f} MB; "
                        f"{res['distinct_pcts']} distinct completionPercentage values"
                    )
                    results.append(res)
                out[kind] = summarize(results)
        for kind in KINDS:
            log(f"--- {kind}: produce_report of {PROFILE_ITEMS} items in a row under cProfile")
            out[kind]["profile"] = profile_items(data["org_id"], kind, data["cvrs"])
            log(f"  {out[kind]['profile']['per_item_s'] * 1000:.0f} ms per item under the profiler")
    return out


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    wall = Sample([r["seconds"] for r in results])
    keys = results[0]["split_cpu_per_item_s"].keys()
    split_median = {k: Sample([r["split_cpu_per_item_s"][k] for r in results]).median for k in keys}
    med = sorted(results, key=lambda r: r["seconds"])[len(results) // 2]  # the median run's details
    return {
        **wall.as_dict(),
        "items_per_s": results[0]["items"] / wall.median,
        "process_cpu_s": Sample([r["process_cpu_s"] for r in results]).median,
        "split_cpu_per_item_s": split_median,
        "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
        "rss_start_mb": min(r["rss_start_mb"] for r in results),
        "status": med["status"],
        "counts": med["counts"],
        "first_progress_s": med["first_progress_s"],
        "progress": med["progress"],
        "runs": results,
    }


# ---------------------------------------------------------------------------------------------- doc
BEGIN = "<!-- bench:batches:begin (written by `python -m bench.batches` and `make bench`) -->"
END = "<!-- bench:batches:end -->"


def markdown(b: dict[str, Any], meta: dict[str, Any]) -> str:
    from bench.report import ms, table

    m = meta["machine"]
    n = b["items"]
    rows, split_rows, progress_rows = [], [], []
    for kind in KINDS:
        e = b[kind]
        projected = e["median_s"] * TARGET_ITEMS / n
        ratio = projected / TARGET_S
        rows.append([
            kind, f"{n:,}", ms(e["median_s"]), f"{e['items_per_s']:.1f}",
            f"{ms(projected)}{'' if n == TARGET_ITEMS else ' (projected)'}",
            f"{ratio:.2f}× ({'met' if ratio <= 1 else '**missed**'})",
            ms(e["first_progress_s"]), ms(e["process_cpu_s"]), f"{e['peak_rss_mb']:,.0f} MB",
            f"{e['status']} ({e['counts']['completed']}/{e['counts']['warnings']}/{e['counts']['failed']})",
            f"{e['n']}",
        ])  # fmt: skip
        s = e["split_cpu_per_item_s"]
        split_rows.append([
            kind, ms(s["total"]), ms(s["rendering"]), ms(s["gather"]), ms(s["pdf"]), ms(s["storage"]),
            f"{ms(s['storage_s3'])} / {ms(s['storage_ddb'])}", ms(s["fan_out"]), ms(s["step_functions"]),
            ms(s["lambda_wrapper"] + s["handler_rest"] + s["batch_record_read"]),
        ])  # fmt: skip
        prog = e["progress"]
        step = max(1, len(prog) // 8)
        shown = prog[::step] + ([prog[-1]] if (len(prog) - 1) % step else [])
        progress_rows.append([kind, ", ".join(f"{p['t']:.0f} s: {p['pct'] * 100:.0f} %" for p in shown)])
    prof_rows = []
    for kind in KINDS:
        p = b[kind]["profile"]
        for r in p["cumulative"][:14]:
            prof_rows.append([kind, f"`{r['function']}`", f"{r['calls']:,}",
                              ms(r["cumtime_s"] / p["items"]), ms(r["tottime_s"] / p["items"])])  # fmt: skip
    return f"""{BEGIN}

{"**quick run** (`BENCH_QUICK=1`)" if meta["quick"] else "full run"} of {meta["started_at"]}: batches of {n:,}
items, {b["runs"]} per report type, MaxConcurrency {b["max_concurrency"]} (template default);
{m["nproc"]} CPUs ({m["cpu"]}), load average {
        m["loadavg_at_start"][0]
    } at the start. Registry: the demo group plus {n:,}
generated companies (chains of {CHAIN}, 3–4 owners each, 3 years of key figures) written in
{b["registry_s"]:.0f} s. Reproduce with `python -m bench.batches` (`BENCH_QUICK=1`: 200 items).

Target of the issue: {TARGET_ITEMS:,} items in ≤ {TARGET_S:.0f} s locally on 2 cores; ratio = measured (or
projected linearly to {TARGET_ITEMS:,}) / target. Status counts: completed/warnings/failed.

{
        table(
            [
                "Report",
                "Items",
                "POST → final status (median)",
                "Items/s",
                f"{TARGET_ITEMS:,} items",
                "Ratio to 60 s",
                "First progress",
                "Process CPU",
                "Peak RSS",
                "Final status",
                "Runs",
            ],
            rows,
        )
    }

CPU time per item (median of the runs), in this one process. Rendering = `produce_report`: gathering
(`company_report`: registry reads, ownership, content) + PDF (`render_section_pdf`). Storage = the S3 put
of the PDF / the DynamoDB claim, name, link and finish writes. Fan-out = the rest of the run's CPU: Step
Functions (moto's interpreter of the Distributed Map, its S3 manifest read, the child executions) and the
Lambda side (moto's invoke bridge, Powertools' handler wrapper, the item's read of its batch record).

{
        table(
            [
                "Report",
                "Total",
                "Rendering",
                "Gather",
                "PDF",
                "Storage",
                "S3 / DynamoDB",
                "Fan-out",
                "Step Functions",
                "Lambda side",
            ],
            split_rows,
        )
    }

completionPercentage as the poller saw it (GET every {POLL_S} s, median run):

{table(["Report", "Elapsed: completionPercentage"], progress_rows)}

Where rendering goes: `produce_report` for {b[KINDS[0]]["profile"]["items"]} companies in a row under
cProfile (per item; the profiler's overhead included), heaviest by cumulative time:

{table(["Report", "Function", "Calls", "Cumulative / item", "Own / item"], prof_rows)}

{END}"""


def write_markdown(b: dict[str, Any], meta: dict[str, Any]) -> None:
    from bench.report import DOC

    body = markdown(b, meta)
    text = DOC.read_text()
    if BEGIN.split(" ")[1] in text and END in text:
        start = text.index("<!-- bench:batches:begin")
        text = text[:start] + body + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip("\n") + "\n\n## Batch reports: local fan-out\n\n" + body + "\n"
    DOC.write_text(text)


def main() -> int:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    import moto  # noqa: F401 - before any boto3 client exists

    n = int(sys.argv[1]) if len(sys.argv) > 1 else ITEMS
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else RUNS
    meta = {"started_at": datetime.now(UTC).isoformat(timespec="seconds"), "quick": QUICK,
            "machine": machine(), "versions": versions()}  # fmt: skip
    OUT.mkdir(parents=True, exist_ok=True)
    b = measure(n, runs)
    path = OUT / "results.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results["batches_quick" if QUICK else "batches"] = {**b, **meta}
    path.write_text(json.dumps(results, indent=1, default=str))
    write_markdown(b, meta)
    log("done: docs/BENCHMARKS.md (batch section), bench/out/results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
