"""Pictures of the demo company's reports for the README: page 1 of each report's PDF (pdftoppm) and the
trial balance as HTML (headless Chromium). `python -m saldo_tools.report_images [--out docs/images]`.
Needs Debian's poppler-utils (and chromium for the HTML picture)."""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

REPORTS = {
    "balance-sheet": {"report_date": "2025-12-31"},
    "income-statement": {"date_from": "2025-01-01", "date_to": "2025-12-31"},
    "trial-balance": {"date_from": "2025-01-01", "date_to": "2025-12-31", "include_dimensions": "false"},
    "general-ledger": {"date_from": "2025-01-01", "date_to": "2025-01-31"},
    "accounts-receivable": {"date_to": "2025-12-31", "include_reconciled": "false"},
    "accounts-payable": {"date_to": "2025-12-31", "include_reconciled": "false"},
    "vat": {"date_from": "2025-01-01", "date_to": "2025-02-28"},
}


def first_body_page(path: Path) -> int:
    """The page of the first bookmark (long reports open with a table of contents), else page 1."""
    from pypdf import PdfReader

    reader = PdfReader(path)
    pages = [
        reader.get_destination_page_number(item) + 1 for item in reader.outline if not isinstance(item, list)
    ]
    return min(pages) if pages else 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="docs/images")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from saldo_tools.demo import bootstrap
    from saldo_tools.localstack import LocalStack
    from tests.conftest import ROOT, ApiClient

    with LocalStack(ROOT, tick=3600) as stack, tempfile.TemporaryDirectory() as tmp:
        logging.getLogger("saldo").setLevel(logging.WARNING)
        info = bootstrap()
        api = ApiClient(stack, info["api_key"])
        for report, params in REPORTS.items():
            query = {"client_account_id": info["client_account_id"], **params}
            pdf = api.get(f"/api/v2/reports/{report}", params=query, headers={"Accept": "application/pdf"})
            path = Path(tmp) / f"{report}.pdf"
            path.write_bytes(pdf.body)
            page = first_body_page(path)
            subprocess.run(  # noqa: S603 - fixed arguments, our own temporary files
                [  # noqa: S607 - pdftoppm from poppler-utils on PATH
                    "pdftoppm",
                    "-r",
                    "70",
                    "-f",
                    str(page),
                    "-l",
                    str(page),
                    "-png",
                    "-singlefile",
                    str(path),
                    str(out / f"report-{report}"),
                ],
                check=True,
            )
        chromium = shutil.which("chromium")
        if chromium:
            html = api.get(
                "/api/v2/reports/trial-balance",
                params={"client_account_id": info["client_account_id"], **REPORTS["trial-balance"]},
                headers={"Accept": "text/html"},
            )
            page = Path(tmp) / "tb.html"
            page.write_bytes(html.body)
            subprocess.run(  # noqa: S603 - fixed arguments, our own temporary files
                [
                    chromium,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    f"--user-data-dir={tmp}/profile",
                    "--window-size=1000,1100",
                    "--hide-scrollbars",
                    f"--screenshot={out / 'report-trial-balance-html.png'}",
                    page.as_uri(),
                ],
                check=True,
                capture_output=True,
                timeout=120,
            )
    print(f"pictures written to {out}")


if __name__ == "__main__":
    main()
