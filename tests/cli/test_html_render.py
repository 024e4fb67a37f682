"""The HTML statement as a browser draws it: headless Chromium renders it to an image.

Chromium comes from Debian (`.ci/run` installs it when missing); where it is missing the
test says so and is skipped, except in CI, where it fails."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cli_runner import Ledger
from PIL import Image, ImageChops

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(html: Path, png: Path) -> Image.Image:
    assert CHROMIUM is not None
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--screenshot={png}",
            "--window-size=1000,2000",
            html.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return Image.open(png).convert("L")


def test_the_html_statement_draws_its_charts_headless(ledger: Ledger, tmp_path: Path) -> None:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is needed to render the HTML statement (.ci/run installs it)")
        pytest.skip("no Chromium on this machine: the HTML statement is not rendered")
    db = str(tmp_path / "ledger.db")
    ledger.ok(db, "demo", "--members", "400", "--counties", "2")
    page = tmp_path / "statement.html"
    ledger.ok(db, "statement", "--period", "1", "--format", "html", "--out", str(page))
    without_charts = tmp_path / "no-charts.html"
    html = page.read_text(encoding="utf-8")
    without_charts.write_text(re.sub(r"<svg.*?</svg>", "", html, flags=re.S), encoding="utf-8")

    drawn = screenshot(page, tmp_path / "statement.png")
    bare = screenshot(without_charts, tmp_path / "no-charts.png")

    inked = sum(drawn.histogram()[:200])
    assert inked > drawn.width * drawn.height // 50, "the page is nearly blank"
    changed = sum(ImageChops.difference(drawn, bare).histogram()[32:])
    assert changed > drawn.width * drawn.height // 100, "the charts draw nothing"
