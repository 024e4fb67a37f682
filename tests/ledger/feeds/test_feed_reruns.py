"""Importing a feed again on both backends: the same file adds nothing, an overlapping one
only its new records, and an import killed while saving, run again, ends as if never
interrupted."""

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from feed_files import ROSTER_HEADER, claim, write_feed
from ledger_feeds import (
    PREMIUM_HEADER,
    accounts,
    claims_file,
    enrol_unpaid,
    events,
    imported,
    open_scheme,
)
from rosters import import_roster, roster_line

from ledger.application.app import MutualAidLedger
from ledger.application.books import Books


def roster(path: Path, *members: str) -> Path:
    lines = [f"{n},{m},某,1,C1,U1,,2025-01-06" for n, m in enumerate(members, 1)]
    return write_feed(path, ROSTER_HEADER, *lines)


def premiums(path: Path, *members: str) -> Path:
    lines = [f"P-{m},{m},1,union:city,49.00,2025-01-06" for m in members]
    return write_feed(path, PREMIUM_HEADER, *lines)


def claims(path: Path, *numbers: int) -> Path:
    return claims_file(path, *(claim(f"S{n}", "M1", f"{1000 * n}.00") for n in numbers))


FEEDS = {
    "enrolments": lambda path: roster(path, "M1", "M2", "M3"),
    "premiums": lambda path: premiums(path, "M1", "M2", "M3"),
    "claims": lambda path: claims(path, 1, 2, 3),
}


@pytest.mark.parametrize("kind", FEEDS)
def test_importing_the_same_file_twice_adds_nothing_the_second_time(
    books: Books, tmp_path: Path, kind: str
) -> None:
    if kind == "premiums":
        enrol_unpaid(books, "M1", "M2", "M3")
    if kind == "claims":
        import_roster(books, roster_line("M1"))
    feed = FEEDS[kind](tmp_path / "feed.csv")
    first = imported(books, kind, feed)
    after_first = events(books), books.report()

    again = imported(books, kind, feed)

    assert first.imported == 3
    assert (again.read, again.already_present, again.imported) == (3, 3, 0)
    assert again.amounts == {}
    assert (events(books), books.report()) == after_first


def test_an_overlapping_file_imports_only_its_new_records(
    books: Books, enrol: Callable[..., None], tmp_path: Path
) -> None:
    enrol("M1")
    imported(books, "claims", claims(tmp_path / "march.csv", 1, 2, 3, 4))
    payable = accounts(books)["benefits_payable"]

    summary = imported(books, "claims", claims(tmp_path / "march-april.csv", 3, 4, 5, 6))

    assert (summary.read, summary.already_present, summary.imported) == (4, 2, 2)
    assert sorted(books.app.member("M1").claims) == ["S1", "S2", "S3", "S4", "S5", "S6"]
    # S5 (5,000) gets 880, S6 (6,000) gets 880 + 500: 2,260 more is payable.
    assert Decimal(accounts(books)["benefits_payable"]) == Decimal(payable) + Decimal("2260.00")


KILL_WHILE_SAVING = textwrap.dedent(
    """
    import os, signal, sys
    from datetime import date
    from pathlib import Path

    import ledger.application.feeds
    import ledger.application.batch
    from ledger.application.books import Books

    def die_once_ten_are_saved(stage, done):
        if stage == "saving" and done >= 10:
            os.kill(os.getpid(), signal.SIGKILL)

    ledger.application.batch.CHUNK = 5
    books = Books(sys.argv[1])
    ledger.application.feeds.import_feed(
        books,
        "claims",
        Path(sys.argv[2]),
        "clerk",
        progress=die_once_ten_are_saved,
        received_on=date(2026, 3, 31),
    )
    """
)


MEMBERS = [f"M{n:02}" for n in range(1, 31)]


def enrol_thirty(books: Books) -> None:
    import_roster(books, *(roster_line(m, "C1" if n % 2 else "C2") for n, m in enumerate(MEMBERS)))


def sixty_settlements(path: Path) -> Path:
    lines = [
        claim(f"S{m}-{k}", m, f"{(n * 997 + k * 3001) % 25000 + 100}.00")
        for n, m in enumerate(MEMBERS)
        for k in (1, 2)
    ]
    return claims_file(path, *lines)


def claims_stored(books: Books) -> int:
    return sum(len(books.app.member(m).claims) for m in MEMBERS)


def test_a_killed_import_run_again_ends_as_if_never_interrupted(
    db: str, books: Books, tmp_path: Path, staff: Callable[[MutualAidLedger], None]
) -> None:
    enrol_thirty(books)
    feed = sixty_settlements(tmp_path / "settlements.csv")

    killed = subprocess.run(
        [sys.executable, "-c", KILL_WHILE_SAVING, db, str(feed)],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )

    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()
    assert 0 < claims_stored(books) < 60
    resumed = imported(books, "claims", feed)
    assert resumed.already_present > 0
    assert resumed.imported + resumed.already_present == 60
    assert claims_stored(books) == 60

    uninterrupted = open_scheme(str(tmp_path / "uninterrupted.db"), "pinghu", staff)
    try:
        enrol_thirty(uninterrupted)
        imported(uninterrupted, "claims", feed)
        assert books.report() == uninterrupted.report()
    finally:
        uninterrupted.close()
