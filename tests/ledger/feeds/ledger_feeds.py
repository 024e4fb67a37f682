"""What the ledger's feed tests share: the users and days of period 1, the headers of the
premium and bank-result files, and the ledger as a clerk sees it after an import."""

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from feed_files import CLAIM_HEADER, write_feed
from recorded import events_less_refusals
from rosters import import_roster, roster_line

from ledger.application.app import MutualAidLedger
from ledger.application.books import Books
from ledger.application.feeds import ImportRefused, ImportSummary, import_feed
from ledger.application.policies import load_preset

CLERK, APPROVER, CASHIER = "clerk", "approver", "cashier"
START, END = date(2025, 1, 1), date(2025, 12, 31)
RECEIVED = date(2026, 3, 31)
"""The day the tests' feeds reach the ledger: the last day of period 1's claim deadline."""

PREMIUM_HEADER = "receipt,member_id,period,source,amount,paid_on"
RESULT_HEADER = "bank_reference,status,return_reason,reported_on"


def claims_file(path: Path, *lines: str) -> Path:
    return write_feed(path, CLAIM_HEADER, *lines)


def imported(books: Books, kind: str, path: Path, **options: Any) -> ImportSummary:
    """Import a feed that should go in whole, received on RECEIVED unless told; a refusal
    fails the test with its rejects."""
    options.setdefault("received_on", RECEIVED)
    try:
        return import_feed(books, kind, path, importer(kind), **options)
    except ImportRefused as refused:
        pytest.fail("\n".join(map(str, [refused, *refused.summary.rejects])))


def importer(kind: str) -> str:
    """Bank results are the cashier's to import, the other feeds the clerk's."""
    return CASHIER if kind == "payout-results" else CLERK


def events(books: Books) -> int:
    return events_less_refusals(books.app)


def accounts(books: Books, county: str = "C1") -> dict[str, str]:
    accounts: dict[str, str] = books.report()["counties"][county]["accounts"]
    return accounts


def enrol_unpaid(books: Books, *members: str, period: int = 1) -> None:
    import_roster(books, *(roster_line(m, period=period) for m in members), paid=False)


def open_scheme(db: str, preset: str, staff: Callable[[MutualAidLedger], None]) -> Books:
    """A scheme under a preset with counties C1 and C2 and period 1 (2025) open."""
    books = Books(db)
    books.app.create_scheme(preset.title(), preset, {"C1": "Danghu", "C2": "Zhapu"}, "admin", START)
    staff(books.app)
    books.app.open_period(1, START, END, load_preset(preset).policy_for(1), APPROVER, START)
    return books
