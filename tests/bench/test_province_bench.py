"""bench/province.py makes a few tiny cities, rolls them up and writes its section of the
benchmarks, the other sections kept; on SQLite, in a process of its own."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_tiny_province_is_rolled_up_and_its_section_written(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n\n## Another script's section\n\nkept\n", encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "bench/province.py", "--members", "100", "--cities", "1", "2",
         "--backend", "sqlite", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    text = out.read_text("utf-8")
    assert "## Another script's section\n\nkept" in text
    section = text.split("## Province: cities rolled up (`bench/province.py`)")[1]
    rows = [
        line
        for line in section.splitlines()
        if line.startswith("| 1 |") or line.startswith("| 2 |")
    ]
    assert len(rows) == 2
