"""The HTML statement as a browser draws it: headless Chromium renders it to an image, or
prints it to a PDF.

Chromium comes from Debian (`.ci/run` installs it when missing); where it is missing the
test says so and is skipped, except in CI, where it fails."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pypdfium2
import pytest
from cli_runner import Ledger
from PIL import Image, ImageChops

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(*args: str) -> None:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is needed to render the HTML statement (.ci/run installs it)")
        pytest.skip("no Chromium on this machine: the HTML statement is not rendered")
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", *args],
        check=True,
        capture_output=True,
        timeout=120,
    )


def screenshot(html: Path, png: Path, size: str = "1000,2000") -> Image.Image:
    chromium(f"--screenshot={png}", f"--window-size={size}", html.as_uri())
    return Image.open(png).convert("L")


def printed(html: Path, pdf: Path) -> str:
    """The page as Chromium prints it (A4), read back as text, line by line."""
    chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf}", html.as_uri())
    document = pypdfium2.PdfDocument(pdf)
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


@pytest.fixture
def statement(ledger: Ledger, tmp_path: Path) -> Path:
    db = str(tmp_path / "ledger.db")
    ledger.ok(db, "demo", "--members", "400", "--counties", "2")
    page = tmp_path / "statement.html"
    ledger.ok(db, "statement", "--period", "1", "--format", "html", "--out", str(page))
    return page


def test_the_html_statement_draws_its_charts_headless(statement: Path, tmp_path: Path) -> None:
    page = statement
    without_charts = tmp_path / "no-charts.html"
    html = page.read_text(encoding="utf-8")
    without_charts.write_text(re.sub(r"<svg.*?</svg>", "", html, flags=re.S), encoding="utf-8")

    drawn = screenshot(page, tmp_path / "statement.png")
    bare = screenshot(without_charts, tmp_path / "no-charts.png")

    inked = sum(drawn.histogram()[:200])
    assert inked > drawn.width * drawn.height // 50, "the page is nearly blank"
    changed = sum(ImageChops.difference(drawn, bare).histogram()[32:])
    assert changed > drawn.width * drawn.height // 100, "the charts draw nothing"


def machine_has_cjk_font() -> bool:
    found = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False)
    return bool(found.stdout.strip())


def test_the_html_statement_draws_chinese_with_its_own_font(
    statement: Path, tmp_path: Path
) -> None:
    """Two headings of different characters must look different: without a font for them
    Chromium draws the same empty box for each (checked too, where the machine has no CJK
    font: the embedded font is what draws them)."""
    html = statement.read_text(encoding="utf-8")
    head = html[: html.index("<body>") + len("<body>")]
    assert "@font-face" in head
    without_font = re.sub(r"@font-face \{.*?\}\n", "", head, flags=re.S)

    def heading(head: str, words: str, name: str) -> Image.Image:
        probe = tmp_path / f"{name}.html"
        probe.write_text(f"{head}<h1>{words}</h1></body></html>", encoding="utf-8")
        return screenshot(probe, tmp_path / f"{name}.png", "300,120")

    period, report = heading(head, "期间", "period"), heading(head, "报告", "report")
    assert sum(period.histogram()[:128]) > 100, "the heading draws nothing"
    assert ImageChops.difference(period, report).getbbox() is not None, "tofu: boxes alike"
    if not machine_has_cjk_font():
        boxed = heading(without_font, "期间", "period-boxed")
        assert (
            ImageChops.difference(boxed, heading(without_font, "报告", "report-boxed")).getbbox()
            is None
        )
        assert ImageChops.difference(period, boxed).getbbox() is not None


def test_the_printed_html_statement_keeps_the_digest_whole(statement: Path, tmp_path: Path) -> None:
    """Whatever the width of the page, the digest moves to the next line whole."""
    html = statement.read_text(encoding="utf-8")
    digest = re.search(r"Chain digest: (\d+:[0-9a-f]{64})", html)
    assert digest is not None and "max-width: 60em" in html
    for width in (38, 44, 50, 56, 60):
        narrower = tmp_path / f"statement-{width}.html"
        narrower.write_text(html.replace("max-width: 60em", f"max-width: {width}em"), "utf-8")
        text = printed(narrower, tmp_path / f"printed-{width}.pdf")
        # the provenance line and the command that checks it
        assert text.count(digest[1]) == 2, width
    assert "赔付率" in text and "单位：元" in text
