"""bench/faults.py at its smallest: a tiny city period on both backends, three of its steps
SIGKILLed at a random moment and rerun, the results equal to a run with no kill, verify
passing; a connection cut and a full disk beside them; its section written, the other
sections kept."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_killed_steps_rerun_to_the_results_of_a_run_with_no_kill(tmp_path: Path) -> None:
    out = tmp_path / "reliability.md"
    out.write_text("# Reliability\n\n## Another section\n\nkept\n", encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "bench/faults.py", "--members", "60", "--kills", "1", "--big", "2500",
         "--only", "import claims,payouts export,period close", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr + run.stdout
    text = out.read_text("utf-8")
    assert "## Another section\n\nkept" in text
    section = text.split("## Faults at volume")[1]
    assert "| sqlite | 3 |" in section and "| postgres | 3 |" in section
    assert "| yes | passes | 0 |" in section
    assert "NO" not in section and "HALF" not in section
    assert "connection cut mid-import:** exit" in section
    assert "Traceback" not in run.stderr
