"""Refused commands are kept in the store's table `refused_commands`, beside the log and
not in it, on both backends."""

from datetime import date

import pytest

from domain.errors import DutyRefused
from ledger.application.app import MutualAidLedger
from ledger.application.books import Books

ON = date(2025, 3, 1)


def test_roles_and_refusals_are_kept_in_the_database(db: str, books: Books) -> None:
    books.app.grant_role("wang", "cashier", "admin", date(2025, 4, 1))
    with pytest.raises(DutyRefused):
        books.app.approve_claim("S-1", "wang", ON)
    other = MutualAidLedger(db)
    try:
        assert other.scheme().roles == {
            "admin": {"admin"},
            "clerk": {"clerk"},
            "approver": {"approver"},
            "cashier": {"cashier"},
            "wang": {"cashier"},
        }
        [refusal] = other.refusals.all()
        assert (refusal.actor, refusal.command) == ("wang", "approve_claim")
        assert refusal.at.endswith("+00:00")  # UTC
    finally:
        other.close()
