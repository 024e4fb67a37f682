"""bench/city_year.py runs a whole city year, each step through the application, and
writes its section of the benchmarks; a tiny city on SQLite, in a process of its own."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STEPS = (
    "scheme, roles, period",
    "roster",
    "premiums",
    "settlements",
    "payout batch",
    "bank results",
    "period close",
    "board statement",
    "statement drawn",
    "audit verify",
)


def test_a_tiny_city_year_runs_every_step_and_writes_its_section(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n\n## Another script's section\n\nkept\n", encoding="utf-8")
    scale = str(200 / 4_280_000)  # 200 members
    run = subprocess.run(
        [
            sys.executable,
            "bench/city_year.py",
            "--scale",
            scale,
            "--backend",
            "sqlite",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    text = out.read_text(encoding="utf-8")
    assert "## Another script's section\n\nkept" in text
    section = text.split("## City year at the scale of Beijing", 1)[1]
    rows = {line.split(" | ")[0].lstrip("| ") for line in section.splitlines() if "` |" in line}
    assert set(STEPS) <= rows
    assert "200 members" in section
    assert "audit verify` checked" in section
