"""Time the renderers on the general-ledger sample; one fresh process per run so peak RSS is its own.

    .venv/bin/python -m tests.render.bench_render [rows ...]     (default: 20000 100000)

Prints rows/s, pages/s (PDF), output size and the process's peak RSS. Not part of the test suite.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time


def _one(rows: int, fmt: str) -> dict[str, object]:
    from saldo.render import render
    from tests.render import samples

    doc = samples.general_ledger(rows)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        out = render(doc, fmt, tmp_dir=tmp, memory_limit=0)
        seconds = time.perf_counter() - start
        out.cleanup()
    return {
        "format": fmt,
        "rows": rows,
        "pages": out.pages,
        "mb": round(out.size / 1e6, 2),
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "pages_per_s": round(out.pages / seconds, 1) if out.pages else None,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main(argv: list[str]) -> None:
    if argv and argv[0] == "--one":
        print(json.dumps(_one(int(argv[1]), argv[2])))
        return
    sizes = [int(a) for a in argv] or [20_000, 100_000]
    for rows in sizes:
        for fmt in ("html", "xlsx", "pdf"):
            result = subprocess.run(
                [sys.executable, "-m", "tests.render.bench_render", "--one", str(rows), fmt],
                check=True,
                capture_output=True,
                text=True,
            )
            print(result.stdout.strip(), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
