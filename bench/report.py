"""docs/BENCHMARKS.md from the results of one run.

The harness owns the part between the `bench:begin` and `bench:end` markers and rewrites it on every run;
whatever stands before and after the markers (the analysis) is kept as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.measure import ROOT

DOC = ROOT / "docs" / "BENCHMARKS.md"
BEGIN = "<!-- bench:begin (written by `make bench`; edit outside the markers) -->"
END = "<!-- bench:end -->"

# DESIGN.md §7, research/peers.md §3 and research/feasibility.md §6 (1,000,000 postings).
ANCHORS = {
    "ledger_s": 4.1,
    "hledger_s": 30.7,
    "sqlite_s": 0.61,
    "lxml_mb_s": 36.0,
    "openpyxl_rows_s": 19_000.0,
    "fpdf_pages_s": 90.0,
    "duckdb_tb_s": 0.017,
    "duckdb_monthly_s": 0.013,
}
TARGETS = {
    "summary_s": 0.100,  # TB / BS / IS on 1M, warm
    "summary_goal_s": 0.050,  # DESIGN.md §7: "end-to-end goal for a summary report ... 50 ms at 1M lines"
    "gl_page_s": 0.050,
    "saft_mb_s": 25.0,
    "saft_peak_mb": 300.0,
    "render_share": 0.80,
    "import_s": 0.500,
}

ANALYSIS_PLACEHOLDER = """
## Analysis

(The reading of these numbers goes here; `make bench` keeps this part.)
"""


# ------------------------------------------------------------------ formatting
def ms(seconds: float | None) -> str:
    if seconds is None or seconds != seconds:
        return "–"
    if seconds >= 10:
        return f"{seconds:,.1f} s"
    if seconds >= 1:
        return f"{seconds:,.2f} s"
    return f"{seconds * 1000:,.1f} ms" if seconds < 0.1 else f"{seconds * 1000:,.0f} ms"


def mb(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f} MB"


def num(value: float, unit: str = "") -> str:
    text = f"{value:,.1f}" if value < 100 else f"{value:,.0f}"
    return f"{text} {unit}".strip()


def size_label(size: str) -> str:
    return "1M" if size == "1000000" else "100k"


def table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def by_size(mapping: dict[str, Any]) -> list[tuple[str, Any]]:
    return sorted(mapping.items(), key=lambda kv: int(kv[0]))


# ------------------------------------------------------------------ lookups
def lat(r: dict[str, Any], size: str, report: str, kind: str) -> float | None:
    entry = r["sizes"].get(size, {}).get("latency", {}).get(report)
    return entry[kind]["median_s"] if entry and kind in entry else None


def rate(entry: dict[str, Any] | None, key: str) -> float | None:
    """Units (`rows`, `pages`, `bytes`) per second of a task's median run."""
    if not entry or not entry.get(key):
        return None
    return entry[key] / entry["median_s"]


# ------------------------------------------------------------------ summary
def _time_target(label: str, measured: float | None, targets: list[tuple[float, str]]) -> list[str]:
    """A latency against budgets: ratio = measured / budget, met at ≤ 1."""
    if measured is None:
        return [label, "not measured", "", "", ""]
    return [
        label,
        ms(measured),
        "; ".join(f"≤ {ms(t)} ({what})" for t, what in targets),
        " / ".join(f"{measured / t:.2f}×" for t, _ in targets),
        " / ".join(verdict(measured <= t) for t, _ in targets),
    ]


def _floor_target(
    label: str, measured: float | None, floor: float, shown: str, floor_shown: str
) -> list[str]:
    """A rate against a floor: ratio = measured / floor, met at ≥ 1."""
    if measured is None:
        return [label, "not measured", floor_shown, "", ""]
    return [label, shown, floor_shown, f"{measured / floor:.2f}×", verdict(measured >= floor)]


def targets_table(r: dict[str, Any]) -> str:
    big = "1000000" if "1000000" in r["sizes"] else "100000"
    n = size_label(big)
    rows: list[list[str]] = []
    for key, label in (
        ("trial_balance", "Trial balance"),
        ("balance_sheet", "Balance sheet"),
        ("income_statement", "Income statement"),
    ):
        rows.append(
            _time_target(
                f"{label}, {n}, warm, through the API",
                lat(r, big, key, "api_warm"),
                [(TARGETS["summary_s"], "target"), (TARGETS["summary_goal_s"], "§7 goal")],
            )
        )
    for key, label in (
        ("gl_first", "General ledger, first page of 1,000"),
        ("gl_last", "General ledger, last full page of 1,000"),
        ("gl_first_100", "General ledger, first page of 100 (default size)"),
        ("accounts_payable", "Accounts payable, page of 1,000 + ageing (GL page budget)"),
        ("accounts_receivable", "Accounts receivable, page of 1,000 + ageing (GL page budget)"),
    ):
        rows.append(
            _time_target(
                f"{label}, {n}, warm, API", lat(r, big, key, "api_warm"), [(TARGETS["gl_page_s"], "target")]
            )
        )
    rows.append(
        _time_target(
            f"VAT report (no target of its own: summary budgets), {n}, warm, API",
            lat(r, big, "vat", "api_warm"),
            [(TARGETS["summary_s"], "summary target"), (TARGETS["summary_goal_s"], "§7 goal")],
        )
    )
    for size, entry in by_size(r.get("saft", {})):
        for key in ("import", "export"):
            e = entry.get(key)
            if not e:
                continue
            failed = e.get("status") not in (None, "SUCCEEDED")
            mbs = e["bytes"] / 1e6 / e["median_s"]
            label = f"SAF-T {key}, {size_label(size)}" + (" (FAILED)" if failed else "")
            rows.append(_floor_target(label, mbs, TARGETS["saft_mb_s"], num(mbs, "MB/s"), "≥ 25 MB/s"))
            # An import also runs a reader process; both peaks are counted (an upper bound: they overlap).
            reader = e.get("children_peak_mb") or 0
            peak = e["peak_rss_mb"] + reader
            who = "the process and its reader process" if reader else "the process"
            rows.append(
                [
                    f"SAF-T {key}, {size_label(size)}: peak RSS of {who}",
                    mb(peak),
                    "< 300 MB",
                    f"{peak / TARGETS['saft_peak_mb']:.2f}×",
                    verdict(peak < TARGETS["saft_peak_mb"]),
                ]
            )
    rd = r.get("render", {})
    floor = TARGETS["render_share"] * 100
    for fmt, raw_key, what in (
        ("xlsx", "raw_openpyxl", "Excel rows/s vs bare openpyxl (plain values)"),
        ("xlsx", "raw_openpyxl_styled", "Excel rows/s vs bare openpyxl (number formats)"),
        ("pdf", "raw_fpdf_helvetica", "PDF rows/s vs bare fpdf2 (Helvetica)"),
        ("pdf", "raw_fpdf_dejavu", "PDF rows/s vs bare fpdf2 (DejaVu, as Saldo)"),
    ):
        ours, raw = rate(rd.get(fmt), "rows"), rate(rd.get(raw_key), "rows")
        if ours and raw:
            share = ours / raw * 100
            rows.append(_floor_target(what, share, floor, f"{share:.0f} %", "≥ 80 %"))
    ours, raw = rate(rd.get("pdf"), "pages"), rate(rd.get("raw_fpdf_dejavu"), "pages")
    if ours and raw:
        share = ours / raw * 100
        rows.append(
            _floor_target("PDF pages/s vs bare fpdf2 (DejaVu)", share, floor, f"{share:.0f} %", "≥ 80 %")
        )
    for name, v in r.get("imports", {}).items():
        if name.startswith("_") or "import_s" not in v:
            continue
        rows.append(_time_target(f"Import of {name}", v["import_s"], [(TARGETS["import_s"], "target")]))
    return table(["What", "Median", "Target", "Ratio", "Verdict"], rows)


def _anchor(label: str, measured: float | None, anchor: float, unit: str) -> list[str]:
    """Measured against a published or research figure (ratio = measured / anchor)."""
    if measured is None:
        return [label, "not measured", "", "", ""]
    if unit == "s":
        shown, anchor_shown = ms(measured), ms(anchor)
        ratio = anchor / measured
        reading = f"{ratio:,.1f}× faster" if ratio >= 1 else f"{1 / ratio:,.1f}× slower"
    else:
        shown, anchor_shown = num(measured, unit), num(anchor, unit)
        reading = f"{measured / anchor * 100:.0f} % of the anchor"
    return [label, shown, anchor_shown, f"{measured / anchor:.3g}×", reading]


def anchors_table(r: dict[str, Any]) -> str:
    big = "1000000" if "1000000" in r["sizes"] else "100000"
    n = size_label(big)
    s = r["sizes"].get(big, {})
    tools = s.get("tools", {})
    tb_warm = lat(r, big, "trial_balance_accounts", "api_warm")
    tb_cold = lat(r, big, "trial_balance_accounts", "api_cold")
    rows = [
        _anchor(f"Saldo TB (accounts), {n}, warm API vs ledger-cli 4.1 s", tb_warm, ANCHORS["ledger_s"], "s"),
        _anchor(f"Saldo TB (accounts), {n}, cold API vs ledger-cli 4.1 s", tb_cold, ANCHORS["ledger_s"], "s"),
        _anchor(f"Saldo TB (accounts), {n}, warm API vs hledger 30.7 s", tb_warm, ANCHORS["hledger_s"], "s"),
        _anchor(f"Saldo TB (accounts), {n}, cold API vs hledger 30.7 s", tb_cold, ANCHORS["hledger_s"], "s"),
        _anchor(f"Saldo TB (accounts), {n}, warm API vs SQLite 0.61 s", tb_warm, ANCHORS["sqlite_s"], "s"),
        _anchor(
            f"Saldo TB (year, relations), {n}, warm domain vs DuckDB TB 17 ms",
            lat(r, big, "trial_balance", "domain_warm"),
            ANCHORS["duckdb_tb_s"],
            "s",
        ),
        _anchor(
            f"Saldo income statement (12 months), {n}, warm domain vs DuckDB monthly 13 ms",
            lat(r, big, "income_statement", "domain_warm"),
            ANCHORS["duckdb_monthly_s"],
            "s",
        ),
    ]
    if tools.get("ledger", {}).get("median_s"):
        rows.append(
            _anchor(f"ledger-cli `balance` here, {n}", tools["ledger"]["median_s"], ANCHORS["ledger_s"], "s")
        )
    if tools.get("hledger", {}).get("median_s"):
        rows.append(
            _anchor(f"hledger `balance` here, {n}", tools["hledger"]["median_s"], ANCHORS["hledger_s"], "s")
        )
    if s.get("sqlite"):
        rows.append(_anchor(f"SQLite TB here, {n}", s["sqlite"]["tb"]["median_s"], ANCHORS["sqlite_s"], "s"))
    if s.get("duckdb"):
        rows.append(
            _anchor(f"Bare DuckDB TB here, {n}", s["duckdb"]["tb"]["median_s"], ANCHORS["duckdb_tb_s"], "s")
        )
        rows.append(
            _anchor(
                f"Bare DuckDB monthly here, {n}",
                s["duckdb"]["monthly"]["median_s"],
                ANCHORS["duckdb_monthly_s"],
                "s",
            )
        )
    sf = r.get("saft", {}).get(big)
    if sf:
        for key, label in (
            ("iterparse", "Bare lxml iterparse of the exported SAF-T"),
            ("import", "Saldo SAF-T import"),
            ("export", "Saldo SAF-T export"),
        ):
            rows.append(_anchor(f"{label}, {n}", rate(sf[key], "bytes") / 1e6, ANCHORS["lxml_mb_s"], "MB/s"))
    rd = r.get("render", {})
    for key, label in (
        ("xlsx", "Saldo Excel"),
        ("raw_openpyxl", "Bare openpyxl here"),
        ("raw_openpyxl_styled", "Bare openpyxl with number formats here"),
    ):
        if rd.get(key):
            rows.append(_anchor(label, rate(rd[key], "rows"), ANCHORS["openpyxl_rows_s"], "rows/s"))
    for key, label in (
        ("pdf", "Saldo PDF"),
        ("raw_fpdf_helvetica", "Bare fpdf2 cell loop here (Helvetica)"),
        ("raw_fpdf_dejavu", "Bare fpdf2 cell loop here (DejaVu)"),
    ):
        if rd.get(key):
            rows.append(_anchor(label, rate(rd[key], "pages"), ANCHORS["fpdf_pages_s"], "pages/s"))
    return table(["What", "Median here", "Anchor", "Ratio", "Reading"], rows)


# ------------------------------------------------------------------ sections
def latency_tables(r: dict[str, Any]) -> str:
    parts = []
    for size, entry in by_size(r["sizes"]):
        ds = entry["dataset"]
        rows = []
        for key, e in entry.get("latency", {}).items():
            if key.startswith("_"):
                continue
            rows.append(
                [
                    e["label"],
                    ms(e["api_warm"]["median_s"]),
                    ms(e["domain_warm"]["median_s"]),
                    ms(e["api_cold"]["median_s"]),
                    ms(e["domain_cold"]["median_s"]),
                    f"{e['response_bytes'] / 1000:,.0f} kB",
                    f"{e['api_warm']['n']} / {e['api_cold']['n']}",
                ]
            )
        vb = entry.get("latency", {}).get("_view_build")
        note = (
            f"\n\nCold view build alone (S3 download from moto + DuckDB load): median {ms(vb['median_s'])}, "
            f"range {ms(vb['min_s'])}–{ms(vb['max_s'])} ({vb['n']} runs)."
            if vb
            else ""
        )
        parts.append(
            f"### {size_label(size)}: {ds['stored_lines']:,} lines, {ds['entries']:,} entries, "
            f"{ds['segments']} segments ({ds['segment_bytes'] / 1e6:.1f} MB of Parquet)\n\n"
            + table(
                ["Report", "API warm", "Domain warm", "API cold", "Domain cold", "JSON", "Runs warm / cold"],
                rows,
            )
            + note
        )
    return "\n\n".join(parts)


def views_table(r: dict[str, Any]) -> str:
    rows = []
    for size, e in by_size(r.get("views", {})):
        rows.append(
            [
                size_label(size),
                f"{e['lines']:,}",
                ms(e["median_s"]),
                mb(e["rss_before_mb"]),
                mb(e["rss_after_mb"]),
                mb(e["rss_settled_mb"]) if e.get("rss_settled_mb") else "–",
                mb(e["peak_rss_mb"]),
                str(e["n"]),
            ]
        )
    header = ["Ledger", "Lines", "Build (local files)", "RSS before", "RSS right after the build"]
    return table([*header, "RSS 1.5 s and a query later", "Peak", "Runs"], rows)


def tools_table(r: dict[str, Any]) -> str:
    rows = []
    for size, entry in by_size(r["sizes"]):
        n = size_label(size)
        ds = entry["dataset"]
        warm = lat(r, size, "trial_balance_accounts", "api_warm")
        cold = lat(r, size, "trial_balance_accounts", "api_cold")
        rows.append(
            [
                "Saldo trial balance, accounts only, through the API",
                n,
                f"{ms(warm)} warm, {ms(cold)} cold",
                "",
                "",
            ]
        )
        for name in ("ledger", "hledger"):
            t = entry.get("tools", {}).get(name, {})
            if "skipped" in t or not t:
                rows.append([f"`{name} balance`", n, "skipped", "", t.get("skipped", "not run")])
                continue
            check = t["check"]
            same = "equal" if check["equal"] else f"**differ**: {check['differences']}"
            rows.append(
                [
                    f"`{name} balance` on the journal ({ds['journal_bytes'] / 1e6:.0f} MB, "
                    f"{ds['journal_postings']:,} postings)",
                    n,
                    f"{ms(t['median_s'])} (n={t['n']})",
                    mb(t["max_rss_mb"]),
                    f"{same}, {check['accounts']} accounts",
                ]
            )
        if entry.get("duckdb"):
            d = entry["duckdb"]
            rows.append(["Bare DuckDB over the Parquet segments: TB", n, ms(d["tb"]["median_s"]), "", ""])
            rows.append(
                [
                    "Bare DuckDB over the Parquet segments: monthly P&L",
                    n,
                    ms(d["monthly"]["median_s"]),
                    "",
                    "",
                ]
            )
        if entry.get("sqlite"):
            q = entry["sqlite"]
            rows.append(
                [
                    f"SQLite raw posting table: TB (table built in {q['build_s']:.1f} s)",
                    n,
                    ms(q["tb"]["median_s"]),
                    "",
                    "",
                ]
            )
    return table(
        ["The balance question", "Size", "Median", "Peak RSS", "Balances vs Saldo's trial balance"], rows
    )


def render_table(r: dict[str, Any]) -> str:
    rd = r.get("render")
    if not rd:
        return "(not measured)"
    names = {
        "xlsx": "Saldo Excel (general ledger)",
        "html": "Saldo HTML (general ledger)",
        "pdf": "Saldo PDF (general ledger)",
        "raw_openpyxl": "Bare openpyxl write-only, 8 columns, plain values",
        "raw_openpyxl_styled": "Bare openpyxl write-only, 8 columns, date and amount formats",
        "raw_fpdf_helvetica": "Bare fpdf2 cell loop, Helvetica, 49 rows/page",
        "raw_fpdf_dejavu": "Bare fpdf2 cell loop, DejaVu Sans embedded, 49 rows/page",
    }
    rows = []
    for key, label in names.items():
        e = rd.get(key)
        if not e:
            continue
        pages = e.get("pages")
        rows.append(
            [
                label,
                f"{e['rows']:,}",
                f"{pages:,}" if pages else "–",
                ms(e["median_s"]),
                f"{e['rows'] / e['median_s']:,.0f}",
                f"{pages / e['median_s']:,.1f}" if pages else "–",
                f"{e['bytes'] / 1e6:,.1f} MB",
                mb(e["peak_rss_mb"]),
                mb(e["rss_before_mb"]),
                str(e["n"]),
            ]
        )
    header = [
        "Renderer",
        "Rows",
        "Pages",
        "Median",
        "Rows/s",
        "Pages/s",
        "Output",
        "Peak RSS",
        "RSS before",
        "Runs",
    ]
    return table(header, rows)


BIG_CHART_STEPS = {
    "upsert": "Upsert of every account (one request: validation + one commit)",
    "upsert_unchanged": "The same upsert again (all unchanged: nothing rewritten)",
    "list_all_pages": "List every account, page by page (1,000 a page, JSON included)",
    "view_build": "Ledger view build (master data included)",
    "trial_balance": "Trial balance of the year, JSON included",
    "balance_sheet": "Balance sheet, JSON included",
    "income_statement": "Income statement of the year, JSON included",
    "trial_balance_gzip": "Trial balance JSON gzipped (level 5, as the route sends it)",
    "trial_balance_pdf": "Trial balance as PDF",
    "trial_balance_xlsx": "Trial balance as Excel",
}


def big_chart_table(r: dict[str, Any]) -> str:
    b = r.get("big_chart")
    if not b:
        return "Not measured in this run."
    rows = []
    for key, label in BIG_CHART_STEPS.items():
        e = b["steps"].get(key)
        if not e:
            continue
        size = f"{e['bytes'] / 1e6:.1f} MB" if e.get("bytes") else ""
        detail = f"{e['rows']:,} rows" if e.get("rows") else ""
        rows.append([label, ms(e["wall_s"]), ms(e["cpu_s"]), detail, size, str(e["runs"])])
    return (
        f"{b['accounts']:,} accounts with opening balances, {b['lines']:,} lines touching each of them once; "
        f"peak RSS {mb(b['peak_rss_mb'])}.\n\n"
        + table(["Step", "Wall (median)", "CPU (median)", "Rows", "JSON / document", "Runs"], rows)
    )


def saft_table(r: dict[str, Any]) -> str:
    rows = []
    for size, entry in by_size(r.get("saft", {})):
        for key, name in (
            ("export", "Export: view → SAF-T 1.30 XML"),
            ("import", "Import: checks, XSD-validating parse, validation, one commit"),
            ("iterparse", "Bare lxml iterparse of the same file"),
        ):
            e = entry[key]
            status = e.get("status")
            split = ""
            phases = dict(e.get("phases") or [])
            if "writing" in phases and "done" in phases:
                parse, write = phases["writing"], phases["done"] - phases["writing"]
                split = f" (parse + validate {parse:.1f} s, write {write:.1f} s)"
            rows.append(
                [
                    name + (f" [{status}]" if status and status != "SUCCEEDED" else ""),
                    size_label(size),
                    f"{e['bytes'] / 1e6:,.0f} MB",
                    ms(e["median_s"]) + split,
                    num(e["bytes"] / 1e6 / e["median_s"]),
                    mb(e["peak_rss_mb"])
                    + (f" + {mb(e['children_peak_mb'])} reader" if e.get("children_peak_mb") else ""),
                    mb(e["rss_before_mb"]),
                    mb(e["peak_during_mb"] - e["rss_before_mb"]) if e.get("peak_during_mb") else "–",
                    str(e["n"]),
                ]
            )
    if not rows:
        return "(not measured)"
    header = ["Work", "Ledger", "XML", "Median", "MB/s", "Peak RSS", "RSS before", "Own peak", "Runs"]
    return table(header, rows)


def imports_table(r: dict[str, Any]) -> str:
    imp = r.get("imports", {})
    rows = []
    for name, v in imp.items():
        if name.startswith("_"):
            continue
        if "error" in v:
            rows.append([name, "import failed", "", "", ""])
            continue
        lazy = (
            f"{ms(v['with_lazy_s'])} (+ {', '.join(v['lazy'])})" if v.get("with_lazy_s") is not None else "–"
        )
        rows.append(
            [
                f"{name} (`{v['module']}`)",
                ms(v["import_s"]),
                lazy,
                mb(v["max_rss_mb"]),
                ", ".join(f"{m} {t:.0f} ms" for m, t in v["top_imports"][:3]),
            ]
        )
    base = imp.get("_baseline")
    note = (
        f"Interpreter start (`python -c pass`, subtracted): median {ms(base['median_s'])}.\n\n"
        if base
        else ""
    )
    header = [
        "Function",
        "Module import",
        "With first-request imports",
        "Peak RSS",
        "Heaviest direct imports",
    ]
    return note + table(header, rows)


def generated(r: dict[str, Any]) -> str:
    m, v = r["machine"], r["versions"]
    tools = r.get("tools", {})
    tool_versions = ", ".join(
        tools[name]["version"].split(",")[0].replace("Ledger", "ledger")
        if tools.get(name)
        else f"{name} missing"
        for name in ("ledger", "hledger")
    )
    data = "; ".join(
        f"{size_label(s)}: {e['dataset']['stored_lines']:,} lines in {e['dataset']['entries']:,} entries, "
        f"loaded in {e['dataset']['seconds']['load_total']:.0f} s"
        for s, e in by_size(r["sizes"])
    )
    run = "**quick run** (`BENCH_QUICK=1`: 100k only)" if r["quick"] else "full run"
    return f"""{BEGIN}

{run} of {r["started_at"]}, {r["seconds_total"] / 60:.1f} minutes. Reproduce with `make bench`
(`BENCH_QUICK=1 make bench`: 100k only, about 4 minutes); every figure is also in `bench/out/results.json`.

- Machine: {m["nproc"]} CPUs ({m["cpu"]}), {m["memory_gib"]} GiB RAM, Linux {m["kernel"]}; load
  average {m["loadavg_at_start"][0]} at the start and {m.get("loadavg_at_end", ["?"])[0]} at the end (a shared
  machine: read differences under 10–20 % as noise).
- Versions: Python {m["python"]}, duckdb {v["duckdb"]}, lxml {v["lxml"]}, openpyxl {v["openpyxl"]},
  fpdf2 {v["fpdf2"]}, aws-lambda-powertools {v["aws-lambda-powertools"]}, pydantic {v["pydantic"]},
  moto {v["moto"]}; {tool_versions}.
- Data: the demo generator's year (tools/saldo_tools/demodata.py, seed 42, storage-row fast path) loaded
  through the ledger store into the local stack (moto S3 and DynamoDB), open-item reconciliations
  included. {data}.
- Medians. Warm: the view of the manifest version is cached. Cold: the view cache, the /tmp segment
  cache and the master data cache are empty, so the call downloads the segments and loads them.

## Summary

### Targets

Ratio = measured / target: a time meets its budget at ≤ 1.00×, a rate its floor at ≥ 1.00×.

{targets_table(r)}

### Anchors of DESIGN.md §7

Ratio = measured / anchor. The anchors were measured on another 2-vCPU VM with a different journal
(393k vouchers, hierarchical account names, tags); the lines marked "here" re-measure them on this machine.

{anchors_table(r)}

## Report latency

API: `stack.http.handle(...)` in-process, as the tests' `ApiClient` does: HTTP API v2 event, the
authorizer (its 300 s cache applies, as on API Gateway), the ReportsApiFunction handler with Powertools
validation, the client account and manifest read from moto's DynamoDB, JSON serialisation. Domain: the
report function on the `LedgerView` (cold: `open_view` + the function).

{latency_tables(r)}

### The ledger view alone

Built from local segment files in a fresh interpreter (no S3): the in-memory DuckDB tables every report
reads. The RSS a second and a query after the build is what a warm function carries per cached client
account (DuckDB's allocator returns the build's freed pages after a second; see docs/ARCHITECTURE.md).

{views_table(r)}

## The balance question: ledger-cli, hledger and bare engines

The same postings as the ledger (the generator's journal export, opening balances included), `balance`
per account, compared account by account with Saldo's trial balance of the year (outgoing balance).

{tools_table(r)}

## Rendering

The general ledger of the 100k ledger as a document (rows streamed from DuckDB, grouped by account with
subtotals) rendered by `saldo.render`, each run in a fresh interpreter: peak RSS is that process's,
ledger view included; "RSS before" is with the view built. The bare-library runs write the same number
of rows (Excel, 8 columns) or pages (PDF, 8 columns).

{render_table(r)}

## Big charts of accounts

A client account whose chart holds 20,000 accounts (bench/bigchart.py), built through `LedgerService` in
a fresh interpreter with a scratch directory as the blob store. Budget: each summary report ≤ 1 s. CPU is
the process's own (DuckDB's threads included); on a busy shared machine the wall time also counts the wait
for a core.

{big_chart_table(r)}

## SAF-T Financial

Export: `export_saft` of the whole year to a 1.30 XML file, reading the ledger as the export job does,
through `stream_view` (DuckDB over the segment files with a memory limit, nothing resident). Import: that
file into a fresh organization with `Importer.run` (upload checks, XSD-validating streaming parse, spill,
validation, one ledger commit; the blob store is a scratch directory). Each run in a fresh interpreter;
"own peak" is the peak above "RSS before". MB = 10⁶ bytes of XML.

{saft_table(r)}

## Function import cost (cold-start proxy)

`python -c "import <handler module>"` with the function's CodeUri and the layer first on `sys.path`, the
template's environment, bytecode precompiled; "with first-request imports" adds the modules the handler
imports lazily on its first real request.

{imports_table(r)}

{END}"""


def write_markdown(results: dict[str, Any]) -> Path:
    body = generated(results)
    if DOC.exists():
        text = DOC.read_text()
        begin = text.find("<!-- bench:begin")
        if begin >= 0 and END in text:
            DOC.write_text(text[:begin] + body + text[text.index(END) + len(END) :])
            return DOC
    DOC.write_text("# Benchmarks\n\n" + body + "\n" + ANALYSIS_PLACEHOLDER)
    return DOC


if __name__ == "__main__":  # rewrite the document from bench/out/results.json without measuring again
    import json

    from bench.measure import OUT

    print(write_markdown(json.loads((OUT / "results.json").read_text())))
