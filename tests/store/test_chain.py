"""The chain and the log as the store keeps them: append-only; no write onto events that
have no link (a chain emptied or cut); and a ledger older than the chain sealed only by an
explicit, recorded command (what the audit then finds, through check_chain)."""

import sqlite3
from collections.abc import Callable
from datetime import date

import psycopg
import pytest
from rawdb import raw

from domain.errors import DutyRefused, FieldError, LedgerError
from domain.scheme import Scheme
from ledger.application.books import Books
from ledger.reports.audit import check_chain
from ledger.store.recorders import UnlinkedLog

ON = date(2025, 3, 1)


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


def test_an_emptied_chain_is_never_resealed_by_opening_and_refuses_every_write(
    ledger_of_three: Books, db: str, enrol: Callable[..., None]
) -> None:
    """The attack: change an event, empty the chain, open the ledger to write. Opening
    seals nothing; verify names every event; no write lands on the unlinked log."""
    with raw(db) as r:
        r.unprotect()
        at = r.position_of("PremiumPaid", 1)
        r.execute(f"UPDATE {{events}} SET topic = topic || '' WHERE {r.id_column} = ?", at)
        r.execute("DELETE FROM event_chain")
        last = int(r.rows(f"SELECT MAX({r.id_column}) FROM {{events}}")[0][0])
    writer = Books(db)
    assert {p for p, problem in problems(writer) if "no link" in problem} == set(range(1, last + 1))
    with pytest.raises(UnlinkedLog) as refused:
        writer.app.grant_role("wang", "clerk", "admin", ON)
    assert str(refused.value).startswith(
        f"the log's events up to position {last} have no link in the hash chain: its chain "
        "was emptied, or the ledger was recorded before the chain existed. Nothing more is "
        "written until an auditor has looked"
    )
    with pytest.raises(LedgerError, match="have no link in the hash chain"):
        enrol("m4")  # the bulk path too
    assert int(writer.app.recorder.max_notification_id() or 0) == last  # nothing half-applied
    writer.close()


def test_a_cut_chain_refuses_writes_naming_where_it_ends(ledger_of_three: Books, db: str) -> None:
    with raw(db) as r:
        r.unprotect()
        last = int(r.rows("SELECT MAX(position) FROM event_chain")[0][0])
        r.execute("DELETE FROM event_chain WHERE position > ?", last - 2)
    with pytest.raises(UnlinkedLog, match=f"^the hash chain ends at position {last - 2} but the "
                       f"log at {last}: the events after it have no link"):  # fmt: skip
        ledger_of_three.app.grant_role("wang", "clerk", "admin", ON)


def test_a_ledger_from_before_the_chain_is_sealed_only_by_an_admin_with_a_reason(
    ledger_of_three: Books, db: str, enrol: Callable[..., None]
) -> None:
    with raw(db) as r:
        r.unprotect()
        r.execute("DELETE FROM event_chain")
        last = int(r.rows(f"SELECT MAX({r.id_column}) FROM {{events}}")[0][0])
    writer = Books(db)
    with pytest.raises(DutyRefused, match=r"^clerk may not seal the log's unlinked events"):
        writer.app.seal_history("looked", "clerk", ON)
    with pytest.raises(FieldError, match="say why the log may be sealed"):
        writer.app.seal_history("  ", "admin", ON)
    reason = "verified by auditor shen on 2025-03-01 against the board's copy"
    assert writer.app.seal_history(reason, "admin", ON) == (1, last)
    assert problems(writer) == []
    with raw(db) as r:
        sealed_at = r.rows("SELECT DISTINCT recorded_at FROM event_chain WHERE position <= ?",
                           last)  # fmt: skip
        assert len(sealed_at) == 1, "every earlier event is sealed at one moment"
        assert r.position_of("HistorySealed") == last + 1  # the seal is an event of its own
    [seal] = [
        e for _, e in writer.log.events_after(last, 10) if isinstance(e, Scheme.HistorySealed)
    ]
    assert (seal.first, seal.last, seal.reason, seal.actor) == (1, last, reason, "admin")
    enrol("m4")  # written again, chained on from the seal
    assert problems(writer) == []
    with pytest.raises(LedgerError, match="nothing to seal"):
        writer.app.seal_history(reason, "admin", ON)
    writer.close()
