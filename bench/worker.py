"""One measurement in a fresh interpreter: `python -m bench.worker <task> '<json args>'`.

Each task prints one JSON line `{"bench_result": {...}}` with its timings, the process's peak RSS (VmHWM
of its own address space) and the RSS before the measured work, so a figure's own memory can be told
from the interpreter's and the ledger view's. The tasks read a ledger snapshot (bench/stores.py), never
moto.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bench.measure import reset_peak_rss, rss_mb, vm_hwm_mb

TASKS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def task(fn: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    TASKS[fn.__name__] = fn
    return fn


def _view(snapshot: str) -> Any:
    from bench.stores import open_snapshot
    from saldo.ledger.query import build_view

    store, manifest, account = open_snapshot(Path(snapshot))
    return build_view(store, manifest, account)


class Mark:
    """Memory at the start of the measured work; VmHWM is reset so the work's own peak can be read."""

    def __init__(self) -> None:
        self.rss_before = rss_mb()
        self.hwm_before = vm_hwm_mb()  # the peak of everything before (imports, the ledger view)
        self.reset = reset_peak_rss()

    def peaks(self) -> dict[str, Any]:
        during = vm_hwm_mb()
        return {
            "rss_before_mb": round(self.rss_before, 1),
            # VmHWM is per address space: unlike ru_maxrss it does not inherit the parent's peak.
            "peak_rss_mb": round(max(self.hwm_before, during), 1),
            "peak_during_mb": round(during, 1) if self.reset else None,
        }


# ------------------------------------------------------------------ the ledger view
@task
def view_build(a: dict[str, Any]) -> dict[str, Any]:
    """Build the DuckDB view of a ledger from local segment files: time and memory (no S3, no moto)."""
    from bench.stores import open_snapshot
    from saldo.ledger.query import build_view

    store, manifest, account = open_snapshot(Path(a["snapshot"]))
    import duckdb  # noqa: F401 - imported before timing

    mark = Mark()
    start = time.perf_counter()
    view = build_view(store, manifest, account)
    seconds = time.perf_counter() - start
    lines = view.rows("SELECT count(*) FROM lines")[0][0]
    peaks = mark.peaks()
    rss_after = rss_mb()
    # DuckDB's allocator returns freed pages a second after the free, on its next allocations
    # (saldo/__init__.py): what a warm function carries is the RSS once a report has run after that.
    time.sleep(1.5)
    view.rows("SELECT account_code, relation_id, sum(amount) FROM lines GROUP BY ALL")
    return {
        "seconds": seconds,
        "lines": lines,
        "rss_after_mb": round(rss_after, 1),
        "rss_settled_mb": round(rss_mb(), 1),
        **peaks,
    }


# ------------------------------------------------------------------ rendering
@task
def render_saldo(a: dict[str, Any]) -> dict[str, Any]:
    """A general-ledger document of the real ledger (rows from DuckDB) rendered by saldo.render."""
    from saldo.render import render
    from saldo.reports.common import LineFilter
    from saldo.reports.documents import ledger_document
    from saldo.reports.general_ledger import count_rows

    if a["format"] == "pdf":
        import fpdf  # noqa: F401 - imported before timing, as a warm Lambda would have it
    elif a["format"] == "xlsx":
        import openpyxl  # noqa: F401
    view = _view(a["snapshot"])
    flt = LineFilter(date_from=date.fromisoformat(a["date_from"]), date_to=date.fromisoformat(a["date_to"]))
    rows = count_rows(view, flt)
    doc = ledger_document(view, "general-ledger", flt, a.get("lang", "nb"), {})
    mark = Mark()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        out = render(doc, a["format"], tmp_dir=tmp, memory_limit=0)
        seconds = time.perf_counter() - start
        size = out.size
        out.cleanup()
    return {"rows": rows, "pages": out.pages, "bytes": size, "seconds": seconds, **mark.peaks()}


@task
def raw_openpyxl(a: dict[str, Any]) -> dict[str, Any]:
    """openpyxl write-only alone: rows × 8 columns (date, int, str, str, str, str, float, float).

    `styled`: every value a `WriteOnlyCell`, the date and amount columns with a number format (one
    style per format, assigned the way saldo.render.excel does), as a formatted workbook needs.
    """
    import openpyxl

    rows = int(a["rows"])
    styled = bool(a.get("styled"))
    data = [
        (
            date(2025, 1 + i % 12, 1 + i % 28),
            2025000000 + i,
            "1920",
            f"Betaling faktura {i}",
            f"Kunde {i % 997} AS",
            "3" if i % 3 else None,
            float(i % 10000) + 0.25,
            0.0,
        )
        for i in range(min(rows, 5000))
    ]
    mark = Mark()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet("Hovedbok")
        if styled:
            from openpyxl.cell import WriteOnlyCell

            formats = ("dd.mm.yyyy", None, None, None, None, None, "#,##0.00", "#,##0.00")
            styles = []
            for fmt in formats:
                proto = WriteOnlyCell(ws, None)
                if fmt:
                    proto.number_format = fmt
                styles.append(proto._style)
            for i in range(rows):
                cells = []
                for value, style in zip(data[i % len(data)], styles, strict=True):
                    cell = WriteOnlyCell(ws, value)
                    cell._style = style
                    cells.append(cell)
                ws.append(cells)
        else:
            for i in range(rows):
                ws.append(data[i % len(data)])
        path = Path(tmp) / "raw.xlsx"
        wb.save(path)
        seconds = time.perf_counter() - start
        size = path.stat().st_size
    return {"rows": rows, "bytes": size, "seconds": seconds, "styled": styled, **mark.peaks()}


@task
def raw_fpdf(a: dict[str, Any]) -> dict[str, Any]:
    """fpdf2 `cell()` loop alone: A4, 8 bordered columns, 49 rows per page, header on every page."""
    from fpdf import FPDF

    pages = int(a["pages"])
    font = a.get("font", "helvetica")
    mark = Mark()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        pdf = FPDF(format="A4")
        pdf.set_auto_page_break(False)
        if font == "dejavu":
            from saldo.render.pdf import FONT_DIR

            pdf.add_font("DejaVuSans", "", str(FONT_DIR / "DejaVuSans.ttf"))
            pdf.add_font("DejaVuSans", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
            family = "DejaVuSans"
        else:
            family = "helvetica"
        widths = (20, 18, 14, 48, 30, 10, 22, 22)
        header = ("Dato", "Bilag", "Konto", "Tekst", "Kunde/leverandør", "Mva", "Debet", "Kredit")
        n = 0
        for _ in range(pages):
            pdf.add_page()
            pdf.set_font(family, "B", 8)
            for w, h in zip(widths, header, strict=True):
                pdf.cell(w, 5, h, border=1)
            pdf.ln()
            pdf.set_font(family, "", 8)
            for _ in range(49):
                n += 1
                cells = (
                    f"{1 + n % 28:02d}.03.2025",
                    str(2025000000 + n),
                    "1920",
                    f"Betaling faktura {n}",
                    f"Kunde {n % 997} AS",
                    "3",
                    f"{n % 100000:,}.25".replace(",", " "),
                    "",
                )
                for w, text in zip(widths, cells, strict=True):
                    pdf.cell(w, 5, text, border=1, align="R" if w == 22 else "L")
                pdf.ln()
        path = Path(tmp) / "raw.pdf"
        pdf.output(str(path))
        seconds = time.perf_counter() - start
        size = path.stat().st_size
    return {"pages": pages, "rows": n, "bytes": size, "seconds": seconds, "font": font, **mark.peaks()}


# ------------------------------------------------------------------ batch zips
@task
def batch_zip(a: dict[str, Any]) -> dict[str, Any]:
    """`batches.archive.write_zip` over `count` small PDFs read from files (as the job reads S3 objects),
    to an uploader that keeps only sizes: throughput, parts and peak memory of the writer alone."""
    from fpdf import FPDF

    from saldo.batches import archive

    count = int(a.get("count", 1000))
    with tempfile.TemporaryDirectory(prefix="saldo-bench-zip-") as tmp:
        paths = []
        for i in range(count):
            pdf = FPDF(format="A4")
            pdf.add_page()
            pdf.set_font("helvetica", "", 10)
            for line in range(40):
                pdf.cell(0, 6, f"Rapport {i} linje {line}: selskab {i * 7919 % 100_000:05d}")
                pdf.ln()
            path = Path(tmp) / f"{i:07d}.pdf"
            pdf.output(str(path))
            paths.append(path)
        size_in = sum(p.stat().st_size for p in paths)

        class Sizes:
            def __init__(self) -> None:
                self.parts: list[int] = []

            def upload_part(self, number: int, data: bytes) -> None:
                self.parts.append(len(data))

            def complete(self) -> None:
                pass

            def abort(self) -> None:
                pass

        entries = [archive.Entry(f"rapport {i}.pdf", lambda p=p: p.open("rb")) for i, p in enumerate(paths)]
        mark = Mark()
        start = time.perf_counter()
        summary = archive.write_zip(entries, Sizes())
        seconds = time.perf_counter() - start
    return {
        "pdfs": count,
        "bytes_in": size_in,
        "bytes_out": summary.bytes,
        "parts": summary.parts,
        "peak_buffer_mb": round(summary.peak_buffer / 1024**2, 2),
        "seconds": seconds,
        "pdfs_per_s": round(count / seconds),
        "mb_in_per_s": round(size_in / 1024**2 / seconds, 1),
        **mark.peaks(),
    }


# ------------------------------------------------------------------ big charts of accounts
@task
def big_chart(a: dict[str, Any]) -> dict[str, Any]:
    """A chart of `accounts` accounts (bench/bigchart.py): upsert, list, view build, summary reports."""
    import fpdf  # noqa: F401 - imported before timing, as a warm Lambda would have it
    import openpyxl  # noqa: F401

    from bench.bigchart import measure

    mark = Mark()
    start = time.perf_counter()
    result = measure(int(a.get("accounts", 20_000)), runs=int(a.get("runs", 5)))
    return {**result, "seconds": time.perf_counter() - start, **mark.peaks()}


# ------------------------------------------------------------------ SAF-T
@task
def saft_export(a: dict[str, Any]) -> dict[str, Any]:
    from bench.stores import open_snapshot
    from saldo.ledger.query import stream_view
    from saldo.saft.exporter import export_saft

    # As the export job reads the ledger: a streaming view over the segments, nothing resident.
    store, manifest, account = open_snapshot(Path(a["snapshot"]))
    view = stream_view(store, manifest, account)
    mark = Mark()
    target = Path(a["out"])
    start = time.perf_counter()
    with target.open("wb") as fh:
        summary = export_saft(
            view,
            fh,
            date_from=date.fromisoformat(a["date_from"]),
            date_to=date.fromisoformat(a["date_to"]),
            created=datetime(2026, 1, 15, 12, 0, 0),
            software_version="bench",
        )
    seconds = time.perf_counter() - start
    return {
        "bytes": target.stat().st_size,
        "seconds": seconds,
        "entries": summary.entries,
        "lines": summary.lines,
        **mark.peaks(),
    }


@task
def saft_import(a: dict[str, Any]) -> dict[str, Any]:
    """Import one SAF-T file into a fresh organization (ledger in a scratch directory)."""
    from bench.stores import DirBlobs, MemoryManifests, MemoryRepo
    from saldo.ledger.store import LedgerStore
    from saldo.saft.importer import Importer, ImportRequest
    from saldo.saft.safety import Source

    path = Path(a["file"])
    with tempfile.TemporaryDirectory(prefix="saldo-bench-import-") as tmp:
        store = LedgerStore(DirBlobs(Path(tmp) / "objects"), MemoryManifests())
        repo = MemoryRepo()
        phases: list[tuple[str, float]] = []
        start = time.perf_counter()

        def progress(pct: int, phase: str) -> None:
            if not phases or phases[-1][0] != phase:
                phases.append((phase, time.perf_counter() - start))

        importer = Importer(store, repo, progress=progress, workdir=tmp)
        req = ImportRequest(
            org_id="bench",
            import_id="bench-import",
            sources=[Source(path.name, path.stat().st_size, lambda: path.open("rb"))],
        )
        mark = Mark()
        start = time.perf_counter()
        outcome = importer.run(req)
        seconds = time.perf_counter() - start
        lines = 0
        if outcome.client_account_id:
            manifest = store.manifest("bench", outcome.client_account_id)
            lines = sum(s.rows for s in manifest.segments if s.kind == "lines")
    # The file is parsed in a reader process (saldo/saft/parser.py): its peak counts too. ru_maxrss of the
    # waited-for children is in KiB on Linux.
    children_peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "status": outcome.status,
        "errors": outcome.errors[:3],
        "children_peak_mb": round(children_peak_mb, 1),
        "bytes": path.stat().st_size,
        "seconds": seconds,
        "lines": lines,
        "phases": phases,
        **mark.peaks(),
    }


@task
def raw_iterparse(a: dict[str, Any]) -> dict[str, Any]:
    """lxml iterparse alone over the same SAF-T file: every Transaction, cleared and detached."""
    from lxml import etree

    path = Path(a["file"])
    tag = "{urn:StandardAuditFile-Taxation-Financial:NO}Transaction"
    mark = Mark()
    start = time.perf_counter()
    count = 0
    for _, el in etree.iterparse(
        str(path), events=("end",), tag=tag, resolve_entities=False, no_network=True
    ):
        count += 1
        el.clear()
        parent = el.getparent()
        while el.getprevious() is not None:
            del parent[0]
    seconds = time.perf_counter() - start
    return {"bytes": path.stat().st_size, "seconds": seconds, "transactions": count, **mark.peaks()}


def main(argv: list[str]) -> int:
    name, args = argv[0], json.loads(argv[1]) if len(argv) > 1 else {}
    with tempfile.TemporaryDirectory(prefix="saldo-bench-cache-") as cache:
        os.environ["SALDO_CACHE_DIR"] = cache  # read when saldo.ledger.query is first imported
        result = TASKS[name](args)
    print(json.dumps({"bench_result": result}, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
