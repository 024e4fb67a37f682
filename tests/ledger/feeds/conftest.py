"""Fixtures of the feed tests: members in the states the rejections need, and schemes under
the other presets."""

from collections.abc import Callable, Iterator
from datetime import date

import pytest
from ledger_feeds import APPROVER, START, enrol_unpaid, open_scheme
from rosters import import_roster, roster_line

from ledger.application.app import MutualAidLedger
from ledger.application.books import Books
from ledger.application.policies import load_preset


@pytest.fixture
def scheme(db: str, staff: Callable[[MutualAidLedger], None]) -> Iterator[Callable[[str], Books]]:
    """Opens a scheme under the preset asked for, on each backend."""
    opened: list[Books] = []

    def under(preset: str) -> Books:
        opened.append(open_scheme(db, preset, staff))
        return opened[-1]

    yield under
    for books in opened:
        books.close()


@pytest.fixture
def members(books: Books) -> Books:
    """M1 enrolled and paid up in C1; M2 enrolled without paying; M3 enrolled only in
    period 2 (2026)."""
    import_roster(books, roster_line("M1"))
    enrol_unpaid(books, "M2")
    books.app.open_period(
        2,
        date(2026, 1, 1),
        date(2026, 12, 31),
        load_preset("pinghu").policy_for(2),
        APPROVER,
        START,
    )
    enrol_unpaid(books, "M3", period=2)
    return books
