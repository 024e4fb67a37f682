"""On PostgreSQL the read models catch up in a second thread while a feed is saved, and are
at the end of the log when the import returns; on SQLite they catch up after the save."""

import time
from pathlib import Path

import pytest
from feed_files import ROSTER_HEADER, write_feed
from ledger_feeds import imported

from ledger.application import batch
from ledger.application.books import Books


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
