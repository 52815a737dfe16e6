"""Render the sample PDFs and save one page of each as a small PNG under docs/images/.

    .venv/bin/python -m tests.render.make_images [output-dir]

Needs `pdftoppm` (Debian package poppler-utils). With `chromium` on PATH it also saves a screenshot
of the HTML balance sheet.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

from saldo.render.html import render_html
from saldo.render.pdf import render_pdf
from tests.render import samples

ROOT = Path(__file__).resolve().parents[2]
DPI = 100

PAGES = [
    ("balance-sheet", samples.balance_sheet, 1),
    ("income-statement", samples.income_statement, 1),
    ("general-ledger-contents", lambda: samples.general_ledger(3_000), 1),
    ("general-ledger-page", lambda: samples.general_ledger(3_000), 4),
]


def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, build, page in PAGES:
            pdf = Path(tmp) / f"{name}.pdf"
            pdf.write_bytes(render_pdf(build()))
            prefix = Path(tmp) / name
            subprocess.run(
                [
                    "pdftoppm",
                    "-png",
                    "-r",
                    str(DPI),
                    "-f",
                    str(page),
                    "-l",
                    str(page),
                    "-singlefile",
                    pdf,
                    prefix,
                ],
                check=True,
            )
            _save(Image.open(f"{prefix}.png"), out_dir / f"{name}.png")
        browser = shutil.which("chromium") or shutil.which("chromium-browser")
        if browser:
            html = Path(tmp) / "balance-sheet.html"
            html.write_text(render_html(samples.balance_sheet()), encoding="utf-8")
            shot = Path(tmp) / "shot.png"
            subprocess.run(
                [
                    browser,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--hide-scrollbars",
                    "--window-size=1000,1250",
                    f"--screenshot={shot}",
                    html.as_uri(),
                ],
                check=True,
                capture_output=True,
            )
            _save(Image.open(shot), out_dir / "balance-sheet-html.png")


def _save(image: Image.Image, target: Path) -> None:
    # 64 colours keep text and shading crisp at a fraction of the size
    small = image.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    small.save(target, optimize=True)
    shown = target.relative_to(ROOT) if target.is_relative_to(ROOT) else target
    print(f"{shown}: {target.stat().st_size:,} bytes")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "images")
