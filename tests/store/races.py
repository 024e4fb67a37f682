"""Two writers racing for one member, as the store tests need them."""

from datetime import date

import pytest
from eventsourcing.persistence import IntegrityError

from ledger.application.app import MutualAidLedger
from ledger.application.books import Books

ON = date(2025, 3, 1)


def lose_a_race(db: str, books: Books, member: str) -> tuple[str, int]:
    """Two claims of `member` approved at once by `books` and a second application on `db`:
    the second save must be refused by the store. Returns the losing claim and the log's
    last position after the winner's save."""
    first = books.app.submit_claim(member, 1, "900.00", "clerk", ON)
    second = books.app.submit_claim(member, 1, "900.00", "clerk", ON)
    other = MutualAidLedger(db)
    try:
        period = books.app.scheme().period(1)
        mine, theirs = books.app.member(member), other.member(member)
        mine.approve_claim(first, period, "a", ON)
        theirs.approve_claim(second, period, "b", ON)
        books.app.save(mine)
        after_winner = books.log.last_position()
        with pytest.raises(IntegrityError):
            other.save(theirs)
    finally:
        other.close()
    return second, after_winner
