"""After a bulk load (a catch-up of many events) the ledger refreshes PostgreSQL's
statistics of the tables it filled: these servers run without autovacuum, so nothing else
would, and later plans go wrong."""

from pathlib import Path

import psycopg
import pytest
from feed_files import ROSTER_HEADER, write_feed
from ledger_feeds import imported

from ledger.application.books import Books
from projections import projector


def analysed(db: str) -> set[str]:
    """The tables of the ledger's schema that have been analysed."""
    url, _, schema = db.partition("?schema=")
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT relname FROM pg_stat_user_tables WHERE schemaname = %s "
            "AND last_analyze IS NOT NULL",
            (schema,),
        ).fetchall()
    return {name for (name,) in rows}


def roster(tmp_path: Path, members: int) -> Path:
    lines = [f"{n},M{n:03},张{n},1,C1,平湖玻璃厂,,2025-01-06" for n in range(1, members + 1)]
    return write_feed(tmp_path / "roster.csv", ROSTER_HEADER, *lines)


@pytest.mark.parametrize("db", ["postgres"], indirect=True)
def test_a_bulk_load_analyses_the_log_and_the_read_models(
    books: Books, db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(projector, "STATISTICS_AFTER", 20)
    books.catch_up()  # the scheme's own events: the import's catch-up reads only its own
    imported(books, "enrolments", roster(tmp_path, 10))  # 20 events: Registered, Enrolled
    names = analysed(db)
    assert {books.log.recorder.events_table_name, "event_chain"} <= names
    assert "postings" in names and "claims" in names


@pytest.mark.parametrize("db", ["postgres"], indirect=True)
def test_a_small_load_leaves_the_statistics_alone(
    books: Books, db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(projector, "STATISTICS_AFTER", 21)
    books.catch_up()
    imported(books, "enrolments", roster(tmp_path, 10))
    assert analysed(db) == set()


@pytest.mark.parametrize("db", ["postgres"], indirect=True)
def test_a_rebuild_analyses_the_tables_it_filled(
    books: Books, db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not only imports: any catch-up that applies that many events, a rebuild too."""
    imported(books, "enrolments", roster(tmp_path, 10))
    assert analysed(db) == set()
    monkeypatch.setattr(projector, "STATISTICS_AFTER", 20)
    books.balances.rebuild()
    assert "postings" in analysed(db)
