"""On PostgreSQL the read models catch up in a second thread while a feed is saved, and are
at the end of the log when the import returns; on SQLite they catch up after the save."""

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent
from feed_files import ROSTER_HEADER, write_feed
from ledger_feeds import imported

from domain.errors import LedgerError
from ledger.application import batch
from ledger.application.books import Books
from projections import projector


def roster(tmp_path: Path, members: int) -> Path:
    lines = [f"{n},M{n:03},张{n},1,C1,平湖玻璃厂,,2025-01-06" for n in range(1, members + 1)]
    return write_feed(tmp_path / "roster.csv", ROSTER_HEADER, *lines)


def test_the_read_models_follow_a_save_while_it_runs_on_postgres_only(
    books: Books, db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch, "CHUNK", 10)
    followed_while_saving: list[int] = []

    def progress(stage: str, done: int) -> None:
        if stage == "saving" and done == 30:  # the save waits here, its last chunk to go
            deadline = time.monotonic() + 10
            while books.balances.position == 0 and time.monotonic() < deadline:
                time.sleep(0.02)
            followed_while_saving.append(books.balances.position)

    imported(books, "enrolments", roster(tmp_path, 40), progress=progress)
    if db.startswith("postgresql"):
        assert followed_while_saving[0] > 0
    else:
        assert followed_while_saving == [0]
    end = books.log.last_position()
    assert [p.position for p in books.live] == [end] * len(books.live)


def test_a_save_that_fails_is_the_error_raised_and_the_saved_chunks_stay_projectable(
    books: Books, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch, "CHUNK", 10)
    record = books.app.record
    saves: list[int] = []

    def failing_third(events: Sequence[StoredEvent], **kwargs: Any) -> None:
        saves.append(len(events))
        if len(saves) == 3:
            raise LedgerError("the disk is full")
        record(events, **kwargs)

    monkeypatch.setattr(books.app, "record", failing_third)
    with pytest.raises(LedgerError, match="the disk is full; the 20 members saved before it"):
        imported(books, "enrolments", roster(tmp_path, 40))
    books.catch_up()
    assert [p.position for p in books.live] == [books.log.last_position()] * len(books.live)
    assert books.app.member("M020").enrolments[1].county == "C1"
    with pytest.raises(LedgerError, match="unknown member 'M021'"):
        books.app.member("M021")


@pytest.mark.parametrize("db", ["postgres"], indirect=True)
def test_the_statistics_are_refreshed_once_for_a_save_followed_alongside(
    books: Books, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch, "CHUNK", 10)
    monkeypatch.setattr(projector, "STATISTICS_AFTER", 20)
    refreshed: list[int] = []
    refresh = books.db.refresh_statistics
    monkeypatch.setattr(
        books.db, "refresh_statistics", lambda *a: refreshed.append(1) or refresh(*a)
    )
    books.catch_up()
    imported(books, "enrolments", roster(tmp_path, 40))
    assert refreshed == [1]
