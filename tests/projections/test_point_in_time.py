"""Balances at a point in time: as of a business date (what had happened by then, as known
now) and as known at a point of the log (what the books said then, whatever was later
entered with an earlier effective date)."""

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from ledger.application.books import Books

MARCH, MAY, JUNE_30 = date(2025, 3, 1), date(2025, 5, 20), date(2025, 6, 30)


def without_filters(report: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in report.items() if key != "filters"}


def test_a_late_entry_dated_back_changes_balances_as_of_but_not_as_known_at(
    books: Books, enrol: Callable[..., None]
) -> None:
    enrol("m1", "C1")
    enrol("m2", "C2")
    books.app.submit_claim("m1", 1, "20000.00", "clerk", MARCH, claim_id="S-1")
    books.app.approve_claim("S-1", "approver", MARCH)
    statement = books.report(as_of=JUNE_30)
    issued = books.app.recorder.max_notification_id()
    issued_at = datetime.now(UTC)

    books.app.submit_claim("m2", 1, "8000.00", "clerk", MAY, claim_id="S-2")  # entered late
    books.app.approve_claim("S-2", "approver", MAY)

    now = books.report(as_of=JUNE_30)
    assert now["counties"]["C2"]["accounts"]["benefit_expense"] == "2380.00"
    assert now["city"]["accounts"]["benefit_expense"] == "12760.00"
    then = books.report(as_of=JUNE_30, known_at=issued)
    assert then["filters"] == {
        "county": None,
        "period": None,
        "as_of": "2025-06-30",
        "known_at": issued,
    }
    assert without_filters(then) == without_filters(statement)
    assert then["counties"]["C2"]["accounts"]["benefit_expense"] == "0.00"
    assert then["city"]["accounts"]["benefit_expense"] == "10380.00"

    recorded_then = books.log.position_recorded_by(issued_at)
    assert recorded_then == issued
    assert books.report(as_of=JUNE_30, known_at=recorded_then) == then

    county_then = books.report("C2", as_of=JUNE_30, known_at=issued)
    assert county_then["counties"]["C2"] == statement["counties"]["C2"]
    assert books.report("C2", as_of=JUNE_30)["counties"]["C2"] == now["counties"]["C2"]
    assert books.report("C1", known_at=issued)["counties"]["C1"] == now["counties"]["C1"]


def test_a_board_statement_of_a_closed_period_can_be_reproduced_after_an_adjustment(
    books: Books, enrol: Callable[..., None]
) -> None:
    enrol("m1", "C1")
    books.app.submit_claim("m1", 1, "900.00", "clerk", MARCH, claim_id="S-1")
    books.app.approve_claim("S-1", "approver", MARCH)
    books.close_period(1, "approver", date(2026, 1, 31))
    statement = books.report(period=1)
    issued = books.app.recorder.max_notification_id()

    books.app.post_adjustment(
        1, "C1", "bank", "premium_income:other", "10.00", "late receipt", "approver", JUNE_30
    )

    assert books.report(period=1)["counties"]["C1"]["accounts"]["premium_income:other"] == "10.00"
    then = books.report(period=1, known_at=issued)
    assert without_filters(then) == without_filters(statement)
    assert books.report(period=1, as_of=JUNE_30, known_at=issued)["trial_balance"] == "0.00"


def test_before_the_first_event_the_books_are_empty(books: Books) -> None:
    nothing = books.report(known_at=0)
    assert set(nothing["city"]["accounts"].values()) == {"0.00"}
