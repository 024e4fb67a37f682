"""bench/contention.py at its smallest, on PostgreSQL: eight processes race for every
claim of a few members near their caps, beside an import and a rebuild; no cap exceeded,
nothing paid beyond its approval, verify passing, every loser told why in one line; its
section written, the other sections kept."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_eight_processes_racing_for_the_same_claims_keep_every_rule(tmp_path: Path) -> None:
    out = tmp_path / "reliability.md"
    out.write_text("# Reliability\n\n## Another section\n\nkept\n", encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "bench/contention.py", "--members", "12", "--claims", "3",
         "--workers", "8", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr + run.stdout
    text = out.read_text("utf-8")
    assert "## Another section\n\nkept" in text
    section = text.split("## Concurrency at volume")[1]
    assert "- over the cap: 0" in section and "- paid beyond approved: 0" in section
    assert "- verify: passes" in section and "- trial balance: 0.00" in section
    assert "| approve | 288 |" in section and "| pay | 288 |" in section
    assert section.count(": exit 0 (no error)") == 2
