"""Long work shows its progress, the time taken and the time left on a terminal, and
nothing in a pipe. (Imports and verification: test_feeds_cli.py, test_verify_cli.py.)"""

import re
from pathlib import Path

import pytest
from cli_runner import Ledger, console_script, create_scheme, events_in, on_a_terminal

CATCHING_UP = "catching up the read models"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")
# A bar's counts, then the time taken and the time left (-:--:-- while it cannot tell yet).
TIMED = r"\d+/\d+\s+\d+:\d\d:\d\d\s+(\d+:\d\d:\d\d|-:--:--)"


def shows_progress(drawn: str, *stages: str) -> None:
    screen = ANSI.sub(" ", drawn)
    for stage in stages:
        assert re.search(re.escape(stage) + r".*?" + TIMED, screen, re.DOTALL), (stage, screen)


@pytest.fixture
def books_with_a_claim(ledger: Ledger, tmp_path: Path) -> str:
    """A ledger of period 1 with two members in unit U and an approved claim of 9,000."""
    db = str(tmp_path / "ledger.db")
    create_scheme(ledger, db)
    for member in ("m1", "m2"):
        ledger.ok(
            db, "enrol", member, "--period", "1", "--county", "C1", "--unit", "U",
            "--date", "2025-01-02", "--bank-account", "6222021204001234567",
        )  # fmt: skip
        ledger.ok(db, "pay-premium", member, "--period", "1", "--receipt", f"R-{member}")
    ledger.ok(
        db, "claim", "submit", "m1", "--period", "1", "--self-paid", "9000",
        "--claim-id", "S1", "--date", "2025-03-01",
    )  # fmt: skip
    ledger.ok(db, "--actor", "approver", "claim", "approve", "S1", "--date", "2025-03-05")
    return db


def test_documents_exports_and_closing_show_their_progress_on_a_terminal(
    books_with_a_claim: str, tmp_path: Path
) -> None:
    db = books_with_a_claim
    drawn = on_a_terminal("--db", db, "statement", "--period", "1", "--format", "json",
                          "--out", str(tmp_path / "s.json"))  # fmt: skip
    shows_progress(drawn, CATCHING_UP)
    assert "Wrote the period 1 statement" in drawn
    slips = str(tmp_path / "slips")
    drawn = on_a_terminal("--db", db, "screening", "--period", "1", "--threshold", "100",
                          "--format", "html", "--out", slips)  # fmt: skip
    shows_progress(drawn, CATCHING_UP, "writing the units' slips")
    drawn = on_a_terminal("--db", db, "disclosure", "--period", "1", "--unit", "U",
                          "--format", "html", "--out", str(tmp_path / "u.html"))  # fmt: skip
    shows_progress(drawn, CATCHING_UP)
    drawn = on_a_terminal("--db", db, "payouts", "export", "--batch", "B1",
                          "--out", str(tmp_path / "bank.csv"), "--date", "2025-06-01")  # fmt: skip
    shows_progress(drawn, CATCHING_UP)
    assert "Batch B1: 1 payments" in drawn
    drawn = on_a_terminal("--db", db, "period", "close", "1", "--date", "2026-01-31")
    shows_progress(drawn, CATCHING_UP)
    assert "Closed period" in drawn and "deficit" in drawn
    drawn = on_a_terminal("--db", db, "projections", "rebuild")
    shows_progress(drawn, "rebuilding balances")


def test_a_read_only_reader_of_lagging_balances_sees_their_replay_from_the_start(
    ledger: Ledger, books_with_a_claim: str
) -> None:
    """The balances and a county's trail read the balances: a reader who cannot catch them
    up replays the log into memory, from its first event, and shows it."""
    db = books_with_a_claim
    ledger.ok(db, "balances")  # a writer's: the balances catch up
    ledger.ok(db, "--actor", "approver", "adjust", "--period", "1", "--entity", "C1",
              "--debit", "bank", "--credit", "premium_income:worker", "--amount", "1",
              "--reason", "a late receipt", "--date", "2025-03-06")  # fmt: skip
    end = events_in(db)
    from_the_start = re.compile(rf"{re.escape(CATCHING_UP)}.*?(?<!\d)0/{end}", re.DOTALL)

    drawn = on_a_terminal("--db", db, "--read-only", "balances")
    shows_progress(drawn, CATCHING_UP)
    assert from_the_start.search(ANSI.sub("", drawn)), drawn
    assert f"As known at log position {end}." in ANSI.sub("", drawn)
    drawn = on_a_terminal("--db", db, "audit", "trail", "--county", "C1", "--period", "1")
    shows_progress(drawn, CATCHING_UP)
    assert from_the_start.search(ANSI.sub("", drawn)), drawn
    assert re.search(rf"│ {end} .*Adjustme", ANSI.sub("", drawn)), drawn  # the latest event


def test_the_demo_shows_each_stage_on_a_terminal(tmp_path: Path) -> None:
    drawn = on_a_terminal("--db", str(tmp_path / "demo.db"), "demo", "--members", "200")
    shows_progress(drawn, "enrolling", "claims", "paying out", "closing")
    assert "Trial balance" in drawn


def test_long_work_draws_nothing_into_a_pipe(books_with_a_claim: str, tmp_path: Path) -> None:
    db = books_with_a_claim
    piped = console_script("--db", db, "statement", "--period", "1", "--format", "json")
    assert piped.returncode == 0 and piped.stdout.startswith("{") and piped.stderr == ""
    piped = console_script("--db", db, "screening", "--period", "1", "--threshold", "100",
                           "--format", "html", "--out", str(tmp_path / "slips"))  # fmt: skip
    assert piped.returncode == 0 and "1 member(s) in 1 unit(s)" in piped.stdout
    assert piped.stderr == ""
    piped = console_script("--db", str(tmp_path / "demo.db"), "demo", "--members", "200")
    assert piped.returncode == 0 and piped.stderr == ""
