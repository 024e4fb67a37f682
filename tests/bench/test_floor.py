"""bench/floor.py imports each feed, takes it through the bare stages, and writes its
section of the benchmarks; a small run on this run's PostgreSQL, in a process of its own."""

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROWS = [
    "the import end to end (`import_feed`)",
    "floor, one core",
    "floor, the server on the other core",
    "floor, both cores fully used",
    "floor without the read models' own work, one core",
]


def test_the_floor_measures_each_feed_on_the_rows_its_import_wrote(
    tmp_path: Path, postgres_server: str
) -> None:
    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n\n## Another script's section\n\nkept\n", encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "bench/floor.py", "--records", "300", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "LEDGER_TEST_POSTGRES": postgres_server},
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    text = out.read_text(encoding="utf-8")
    assert "## Another script's section\n\nkept" in text
    section = text.partition("## Issue 12: the floor of an import")[2]
    # one event per fact: an enrolment and its details, a premium, a claim's three events
    for feed, records, events in (
        ("roster", 300, 600),
        ("premiums", 600, 600),
        ("claims", 300, 900),
    ):
        part = section.partition(f"**{feed}**: {records} records; rows written: ")[2]
        assert re.match(rf".*ledger_events {events}\b", part.splitlines()[0]), feed
        assert re.match(rf".*event_chain {events}\b", part.splitlines()[0]), feed
        figures = re.findall(r"^\| (floor[^|]*|the import[^|]*) \| ([\d,]+) \|", part, re.M)
        assert [name for name, _ in figures[:5]] == ROWS, part
        assert all(int(rate.replace(",", "")) > 0 for _, rate in figures[:5])
