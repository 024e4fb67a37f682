"""A refused duty is an event of the log, chained with the rest: listed oldest first after
those a ledger kept in `refused_commands` before refusals were events; and deleting one
is found by the chain, on both backends."""

from datetime import date

import pytest
from rawdb import raw

from domain.errors import DutyRefused
from ledger.application.app import MutualAidLedger
from ledger.application.books import Books
from ledger.reports.audit import check_chain

ON = date(2025, 3, 1)


def test_a_refusal_is_a_chained_event_and_deleting_it_is_found(db: str, books: Books) -> None:
    books.app.grant_role("wang", "cashier", "admin", date(2025, 4, 1))
    with pytest.raises(DutyRefused):
        books.app.approve_claim("S-1", "wang", ON)
    other = MutualAidLedger(db)
    try:
        [refusal] = other.refusals()
        assert (refusal.actor, refusal.command) == ("wang", "approve_claim")
        assert refusal.reason.startswith("wang may not approve claims")
        assert refusal.at.endswith("+00:00")  # UTC
    finally:
        other.close()
    assert check_chain(books.log).findings == []
    with raw(db) as r:
        r.unprotect()
        at = r.position_of("Refusal.Recorded")
        r.execute(f"DELETE FROM {{events}} WHERE {r.id_column} = ?", at)
    assert books.app.refusals() == []
    assert [(f.position, f.problem) for f in check_chain(books.log).findings] == [
        (at, "the event of this link is missing: deleted")
    ]


def test_refusals_kept_before_they_were_events_are_listed_first(db: str, books: Books) -> None:
    with raw(db) as r:
        r.execute(
            "INSERT INTO refused_commands (at, actor, command, reason) VALUES (?, ?, ?, ?)",
            "2024-12-01T08:00:00+00:00", "li", "close_period", "li may not close periods",
        )  # fmt: skip
    with pytest.raises(DutyRefused):
        books.app.grant_role("zhao", "clerk", "clerk", ON)
    assert [(r.actor, r.command) for r in books.app.refusals()] == [
        ("li", "close_period"),
        ("clerk", "grant_role"),
    ]
