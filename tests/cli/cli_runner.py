"""Running `ledger` as a user would: in this process through its entry point, or as a
separate process through the console script."""

import json
import os
import pty
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from recorded import events_less_refusals

from ledger.application.app import MutualAidLedger
from ledger.cli.main import main

LEDGER = [sys.executable, "-m", "ledger"]


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


class Ledger:
    """Runs `ledger --db DB ...` in this process, as the console script does, and captures
    what the user would see."""

    def __init__(self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
        self.capsys = capsys
        monkeypatch.setenv("LEDGER_ACTOR", "tester")
        monkeypatch.delenv("LEDGER_DB", raising=False)

    def __call__(self, db: str | None, *args: str) -> Result:
        """`db` None: no --db, for a command that names its ledger otherwise (--city)."""
        self.capsys.readouterr()
        try:
            main([*([] if db is None else ["--db", db]), *args])
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def ok(self, db: str | None, *args: str) -> str:
        result = self(db, *args)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def json(self, db: str | None, *args: str) -> dict[str, object]:
        data: dict[str, object] = json.loads(self.ok(db, *args, "--json"))
        return data

    def refused(self, db: str | None, *args: str) -> str:
        """A user error: exit status 1 and exactly one line on stderr, no traceback."""
        return one_line_error(self(db, *args))


def one_line_error(result: Result | subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def console_script(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The installed entry point in a separate process, for what only a process shows."""
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    env.pop("LEDGER_DB", None)
    return subprocess.run([*LEDGER, *args], capture_output=True, text=True, env=env, cwd=cwd)


def on_a_terminal(*args: str) -> str:
    """`ledger` in a separate process whose output goes to a pseudo-terminal, as at a clerk's
    shell: everything it drew there, progress bars included."""
    env = {**os.environ, "PYTHONPATH": str(Path.cwd()), "TERM": "xterm", "COLUMNS": "100"}
    env.pop("LEDGER_DB", None)
    terminal, its_end = pty.openpty()
    process = subprocess.Popen([*LEDGER, *args], stdout=its_end, stderr=its_end, env=env)
    os.close(its_end)
    drawn = bytearray()
    while True:
        try:
            chunk = os.read(terminal, 65536)
        except OSError:  # EIO: the process has closed its end
            break
        if not chunk:
            break
        drawn += chunk
    os.close(terminal)
    assert process.wait(timeout=60) == 0, drawn.decode("utf-8", "replace")
    return drawn.decode("utf-8", "replace")


def events_in(db: str) -> int:
    """How many events the ledger holds, its refusals aside: the measure of 'nothing was
    recorded'."""
    app = MutualAidLedger(db)
    try:
        return events_less_refusals(app)
    finally:
        app.close()


def create_scheme(ledger: Ledger, db: str) -> None:
    """The Pinghu scheme with counties C1 and C2 and period 1 (2025) open. "tester", who
    created it, holds every duty; "approver" decides the claims tester submits."""
    ledger.ok(
        db,
        "scheme",
        "create",
        "--name",
        "Pinghu",
        "--preset",
        "pinghu",
        "--county",
        "C1=Danghu",
        "--county",
        "C2=Zhapu",
        "--date",
        "2025-01-01",
    )
    for role in ("clerk", "approver", "cashier"):
        ledger.ok(db, "users", "grant", "tester", role)
    ledger.ok(db, "users", "grant", "approver", "approver")
    ledger.ok(db, "period", "open", "1", "--start", "2025-01-01", "--end", "2025-12-31")
