"""The store's own guards, on both backends: a posting into a period closed meanwhile, a
close on figures the log has moved past, and the loser of a race between two writers are
each refused inside the inserting transaction."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from eventsourcing.persistence import IntegrityError
from races import lose_a_race

from domain.errors import PeriodNotOpen
from domain.scheme import CountyResult
from ledger.application.books import Books
from ledger.store.recorders import POSTS_INTO

ON = date(2025, 3, 1)
ON2 = date(2026, 1, 31)


def test_an_approval_racing_a_close_is_refused_by_the_store(
    books: Books, enrol: Callable[..., None]
) -> None:
    """The approver checked the period while it was open; the close commits first."""
    enrol("m1")
    claim = books.app.submit_claim("m1", 1, "20000.00", "clerk", ON)
    member = books.app.member("m1")
    member.approve_claim(claim, books.app.scheme().open_period_for_posting(1), "approver", ON)
    books.close_period(1, "approver", date(2026, 1, 31))
    before = books.app.recorder.max_notification_id()
    with pytest.raises(PeriodNotOpen):
        books.app.save(member, **{POSTS_INTO: 1})
    assert books.app.recorder.max_notification_id() == before
    assert books.app.member("m1").claim(claim).status == "submitted"


def test_a_close_on_figures_older_than_the_log_is_refused(
    books: Books, enrol: Callable[..., None]
) -> None:
    enrol("m1")
    books.balances.catch_up()
    stale = books.balances.position
    claim = books.app.submit_claim("m1", 1, "20000.00", "clerk", ON)
    books.app.approve_claim(claim, "approver", ON)
    before = books.app.recorder.max_notification_id()
    with pytest.raises(IntegrityError):
        nothing = CountyResult(Decimal("0.00"), Decimal("0.00"))
        books.app.close_period(1, dict.fromkeys(["C1", "C2"], nothing), stale, "approver", ON2)
    assert books.app.recorder.max_notification_id() == before
    results = books.close_period(1, "approver", ON2)
    assert results["C1"].result.expense == Decimal("10380.00")  # the late approval is counted


def test_a_lost_race_is_detected_by_the_store(
    db: str, books: Books, enrol: Callable[..., None]
) -> None:
    enrol("m1")
    lose_a_race(db, books, "m1")  # the loser's save raises IntegrityError
