"""Pro-rating on each backend: when even the city pool cannot cover a period, its benefits
still payable are paid at a declared rate before it is closed; the rest is forfeited, or
carried and released into a later period, as the policy says."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from feed_files import CLAIM_HEADER, claim
from rosters import import_roster, roster_line

from domain.errors import (
    DateOutOfOrder,
    DutyRefused,
    FieldError,
    LedgerError,
    PeriodError,
    PeriodNotOpen,
)
from domain.policy import Policy
from ledger.application.books import Books
from ledger.application.feeds import ImportRefused, import_feed, import_records
from ledger.application.policies import load_preset
from ledger.application.records import PayoutResultRecord
from ledger.reports.statement import statement

AFTER_END = date(2026, 1, 10)


def carrying_policy() -> Policy:
    data = load_preset("pinghu").policy_for(1).model_dump(mode="json")
    data["deficit_sharing"] = {"city_share": "0.5", "shortfall": "carry"}
    return Policy.model_validate({**data, "version": "carrying"})


def bank_says(books: Books, reference: str, status: str, on: date = date(2025, 3, 12)) -> None:
    result = PayoutResultRecord(
        bank_reference=reference, status=status, reason="closed", reported_on=on
    )
    import_records(books, "payout-results", [result], "cashier")


def two_claims(books: Books) -> tuple[str, str]:
    """M1's benefit of 280.00 paid in full (the bank confirmed it), M2's of 480.00 still
    payable; premiums 100.00."""
    import_roster(books, roster_line("M1"), roster_line("M2"))
    paid = books.app.submit_claim("M1", 1, "2000.00", "clerk", date(2025, 3, 1))
    owed = books.app.submit_claim("M2", 1, "3000.00", "clerk", date(2025, 3, 1))
    for decided in (paid, owed):
        books.app.approve_claim(decided, "approver", date(2025, 3, 2))
    books.app.make_payout(paid, None, "B-1", "cashier", date(2025, 3, 10))
    bank_says(books, "B-1", "paid")
    return paid, owed


def payable(books: Books) -> dict[str, Decimal]:
    books.catch_up()
    return {o.claim_id: o.amount for o in books.claims.payable()}


def test_a_pro_rated_period_pays_what_is_payable_at_the_rate_and_forfeits_the_rest(
    books: Books,
) -> None:
    _, owed = two_claims(books)
    done = books.pro_rate(1, Decimal("0.5"), "BOARD-2026-1", "approver", AFTER_END)
    assert (done.claims, done.payable, done.held_back, done.shortfall) == (
        1,
        Decimal("480.00"),
        Decimal("240.00"),
        "forfeit",
    )
    assert payable(books) == {owed: Decimal("240.00")}
    closes = books.close_period(1, "approver", date(2026, 1, 31))
    assert closes["C1"].deficit == Decimal("420.00")  # 280 + 240 against 100, not 660
    c1 = books.report(county="C1")["counties"]["C1"]["accounts"]
    assert (c1["benefit_expense"], c1["benefits_payable"]) == ("520.00", "240.00")
    assert books.report()["trial_balance"] == "0.00"
    books.app.make_payout(owed, None, "B-2", "cashier", date(2026, 2, 1))
    assert payable(books) == {}

    figures = statement(books, 1).as_dict()
    assert figures["pro_rating"] == {
        "rate": "0.5",
        "shortfall": "forfeit",
        "payable": "480.00",
        "paid_at_rate": "240.00",
        "forfeited": "240.00",
        "carried": "0.00",
        "claims": 1,
    }
    assert figures["counties"]["C1"]["benefits_approved"] == "520.00"


def test_a_period_is_pro_rated_only_once_every_claim_and_payout_is_settled(books: Books) -> None:
    """Claims undecided, appeals open and payouts the bank may still return are each named:
    a claim the pro-rating passed by would otherwise be paid in full."""
    _, owed = two_claims(books)
    late = books.app.submit_claim("M1", 1, "1000.00", "clerk", date(2025, 6, 1))
    with pytest.raises(LedgerError, match=rf"1 claim\(s\) not decided yet \({late}\)"):
        books.pro_rate(1, Decimal("0.5"), "BOARD-1", "approver", AFTER_END)
    books.app.reject_claim(late, "no receipt", "approver", date(2025, 6, 2))
    books.app.appeal_claim(late, "the receipt was sent", "clerk", date(2025, 6, 3))
    with pytest.raises(LedgerError, match=rf"1 claim\(s\) under appeal \({late}\)"):
        books.pro_rate(1, Decimal("0.5"), "BOARD-1", "approver", AFTER_END)
    books.app.grant_role("li", "approver", "admin", date(2025, 6, 4))
    books.app.reassess_claim(late, None, "the receipt came", "li", date(2025, 6, 5))  # 80.00
    books.app.make_payout(owed, "100.00", "B-2", "cashier", date(2025, 6, 6))
    with pytest.raises(LedgerError, match=rf"paid, awaiting the bank's result \({owed}\)"):
        books.pro_rate(1, Decimal("0.5"), "BOARD-1", "approver", AFTER_END)
    bank_says(books, "B-2", "returned", date(2025, 6, 9))
    books.pro_rate(1, Decimal("0.5"), "BOARD-1", "approver", AFTER_END)
    assert payable(books) == {owed: Decimal("240.00"), late: Decimal("40.00")}


def test_decisions_on_a_pro_rated_period_are_refused(books: Books, tmp_path: Path) -> None:
    _, owed = two_claims(books)
    books.app.grant_role("li", "approver", "admin", AFTER_END)
    books.pro_rate(1, Decimal("0.5"), "BOARD-1", "approver", AFTER_END)
    before = books.app.recorder.max_notification_id()
    refused = "pro-rated at 50%: its claims can no longer be submitted or decided"
    for act in (
        lambda: books.app.submit_claim("M2", 1, "900.00", "clerk", date(2025, 7, 1)),
        lambda: books.app.appeal_claim(owed, "more", "clerk", AFTER_END),
        lambda: books.app.correct_claim(owed, None, True, "duplicate", "li", AFTER_END),
        lambda: books.pro_rate(1, Decimal("0.8"), "BOARD-2", "approver", AFTER_END),
    ):
        with pytest.raises(PeriodError, match=refused):
            act()
    feed = tmp_path / "claims.csv"
    feed.write_text(f"{CLAIM_HEADER}\n{claim('K-1', 'M1', '900.00')}\n", encoding="utf-8")
    with pytest.raises(ImportRefused) as feed_refused:
        import_feed(books, "claims", feed, "clerk", received_on=date(2025, 3, 12))
    assert refused in str(feed_refused.value.summary.rejects[0])
    assert books.app.recorder.max_notification_id() == before


def test_nothing_payable_is_nothing_to_pro_rate(books: Books) -> None:
    import_roster(books, roster_line("M1"))
    with pytest.raises(PeriodError, match="nothing of period 1 is payable: nothing to pro-rate"):
        books.pro_rate(1, Decimal("0.5"), "BOARD-1", "approver", AFTER_END)
    assert books.app.scheme().period(1).pro_rated is None


def test_a_pro_rating_is_refused_before_the_end_at_full_rate_or_without_the_role(
    books: Books,
) -> None:
    two_claims(books)
    with pytest.raises(PeriodError, match="pro-rated from the day after"):
        books.pro_rate(1, Decimal("0.5"), "BOARD-1", "approver", date(2025, 12, 31))
    with pytest.raises(
        FieldError, match="percent 100% is not from 0% to below 100%: benefits need"
    ):
        books.pro_rate(1, Decimal("1"), "BOARD-1", "approver", AFTER_END)
    with pytest.raises(FieldError, match="-10% is not from 0% to below 100%: benefits cannot"):
        books.pro_rate(1, Decimal("-0.1"), "BOARD-1", "approver", AFTER_END)
    with pytest.raises(DutyRefused, match="pro-rate a period's benefits"):
        books.pro_rate(1, Decimal("0.5"), "BOARD-1", "clerk", AFTER_END)
    books.close_period(1, "approver", date(2026, 1, 31))
    with pytest.raises(PeriodNotOpen):
        books.pro_rate(1, Decimal("0.5"), "BOARD-1", "approver", date(2026, 2, 1))
    assert books.app.scheme().period(1).pro_rated is None


def test_what_is_carried_is_owed_held_and_charged_to_the_period_that_releases_it(
    under: Callable[[Policy], Books],
) -> None:
    books = under(carrying_policy())
    _, owed = two_claims(books)
    books.pro_rate(1, Decimal("0.5"), "BOARD-1", "approver", AFTER_END)
    assert payable(books) == {owed: Decimal("240.00")}
    assert books.close_period(1, "approver", date(2026, 1, 31))["C1"].deficit == Decimal("420.00")
    c1 = books.report(county="C1")["counties"]["C1"]["accounts"]
    assert (c1["benefits_carried"], c1["benefits_deferred"]) == ("240.00", "240.00")
    assert statement(books, 1).as_dict()["pro_rating"]["carried"] == "240.00"

    books.app.open_period(
        2, date(2026, 1, 1), date(2026, 12, 31), carrying_policy(), "approver", date(2026, 2, 1)
    )
    with pytest.raises(DateOutOfOrder, match="period 1 was pro-rated on 2026-01-10"):
        books.release_carried(1, 2, "BOARD-2", "approver", date(2026, 1, 9))
    assert books.release_carried(1, 2, "BOARD-2", "approver", date(2026, 2, 2)) == 240
    in_period = {
        p: books.report(county="C1", period=p)["counties"]["C1"]["accounts"] for p in (1, 2)
    }
    assert (in_period[1]["benefits_carried"], in_period[1]["benefits_payable"]) == (
        "0.00",
        "480.00",
    )
    assert (in_period[2]["benefit_expense"], in_period[2]["benefits_deferred"]) == (
        "240.00",
        "-240.00",
    )
    assert payable(books) == {owed: Decimal("480.00")}
    c1 = books.report(county="C1")["counties"]["C1"]["accounts"]
    assert (c1["benefits_carried"], c1["benefits_deferred"]) == ("0.00", "0.00")
    assert c1["benefits_payable"] == "480.00"
    second = statement(books, 2).as_dict()
    assert second["counties"]["C1"]["benefits_approved"] == "240.00"
    assert books.report()["trial_balance"] == "0.00"
    with pytest.raises(PeriodError, match="nothing carried of period 1 is left to release"):
        books.release_carried(1, 2, "BOARD-3", "approver", date(2026, 2, 3))


def test_the_read_models_rebuild_to_the_same_after_a_pro_rating(
    under: Callable[[Policy], Books],
) -> None:
    books = under(carrying_policy())
    two_claims(books)
    books.pro_rate(1, Decimal("0.25"), "BOARD-1", "approver", AFTER_END)
    before = (payable(books), statement(books, 1).as_dict(), books.report())
    for model in (books.claims, books.statements, books.balances):
        model.rebuild()
    assert (payable(books), statement(books, 1).as_dict(), books.report()) == before
