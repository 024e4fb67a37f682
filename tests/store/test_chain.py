"""The chain and the log as the store keeps them: append-only, and a ledger older than the
chain sealed when next opened for writing (what the audit then finds, through check_chain)."""

import sqlite3

import psycopg
import pytest
from rawdb import raw

from ledger.application.books import Books
from ledger.reports.audit import check_chain


def problems(books: Books) -> list[tuple[int | None, str]]:
    return [(f.position, f.problem) for f in check_chain(books.log).findings]


def test_the_store_refuses_to_update_or_delete_an_event(ledger_of_three: Books, db: str) -> None:
    errors = (psycopg.Error, sqlite3.Error)
    with raw(db) as r:
        for statement in (
            "UPDATE {events} SET topic = topic",
            "DELETE FROM {events}",
            "UPDATE event_chain SET hash = hash",
            "DELETE FROM event_chain",
        ):
            with pytest.raises(errors, match="append-only"):
                r.execute(statement)
        assert len(r.rows("SELECT * FROM event_chain")) == r.position_of("PremiumPaid", 2)
    assert problems(ledger_of_three) == []


def test_a_ledger_from_before_the_chain_is_sealed_when_next_opened_for_writing(
    ledger_of_three: Books, db: str
) -> None:
    with raw(db) as r:
        r.unprotect()
        r.execute("DELETE FROM event_chain")
    reader = Books(db, read_only=True)
    assert {p for p, problem in problems(reader) if "no link" in problem} == set(
        range(1, ledger_of_three.app.recorder.max_notification_id() + 1)  # type: ignore[operator]
    )
    reader.close()
    writer = Books(db)
    assert problems(writer) == []
    with raw(db) as r:
        sealed_at = r.rows("SELECT DISTINCT recorded_at FROM event_chain")
    assert len(sealed_at) == 1, "every earlier event is sealed at one moment"
    writer.close()
