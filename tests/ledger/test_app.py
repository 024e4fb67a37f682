"""The application on both backends: use cases, invariants across aggregates, concurrency."""

import json
import threading
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from feed_files import write_feed
from rosters import import_roster, roster_line

from domain.errors import (
    ClaimError,
    DateOutOfOrder,
    InvalidText,
    LedgerError,
    PeriodError,
    PeriodNotOpen,
    UnknownCounty,
)
from domain.member import Member
from ledger.application.app import MutualAidLedger
from ledger.application.books import Books
from ledger.application.feeds import ImportRefused, import_feed
from ledger.application.policies import load_preset

ON = date(2025, 3, 1)
ON2 = date(2026, 1, 31)


def test_a_claim_goes_from_submission_to_payout_and_back(
    books: Books, enrol: Callable[..., None]
) -> None:
    enrol("m1")
    claim = books.app.submit_claim("m1", 1, "20000.00", "clerk", ON, claim_id="S-1")
    calculation = books.app.approve_claim(claim, "approver", ON)
    assert calculation.benefit == Decimal("10380.00")
    assert books.app.make_payout(claim, "380.00", "B-1", "cashier", ON) == Decimal("380.00")
    assert books.app.make_payout(claim, None, "B-2", "cashier", ON) == Decimal("10000.00")
    books.app.return_payout(claim, "B-2", "account closed", "cashier", ON)
    assert books.app.member("m1").claim(claim).payable == Decimal("10000.00")


def test_events_carry_actor_and_effective_date(books: Books, enrol: Callable[..., None]) -> None:
    enrol("m1")
    claim = books.app.submit_claim("m1", 1, "900.00", "clerk", date(2025, 2, 3))
    books.app.approve_claim(claim, "approver", date(2025, 2, 9))
    events = list(books.app.events.get(books.app.member("m1").id))
    approved = next(e for e in events if isinstance(e, Member.ClaimApproved))
    assert (approved.actor, approved.effective_date) == ("approver", date(2025, 2, 9))
    assert approved.policy_version == "pinghu-1"
    assert approved.breakdown["bands"][0] == {
        "lower": "600.00",
        "upper": "5000.00",
        "base": "300.00",
        "rate": "0.20",
        "amount": "60.00",
    }


def test_a_claim_id_is_unique_across_members(books: Books, enrol: Callable[..., None]) -> None:
    enrol("m1")
    enrol("m2")
    books.app.submit_claim("m1", 1, "900.00", "clerk", ON, claim_id="S-1")
    with pytest.raises(ClaimError, match="already submitted"):
        books.app.submit_claim("m2", 1, "900.00", "clerk", ON, claim_id="S-1")
    assert books.app.member("m2").claims == {}


def test_enrolment_in_an_unknown_county_is_refused(books: Books) -> None:
    with pytest.raises(UnknownCounty, match="'C9'"):
        books.app.enrol("m1", 1, "C9", "U1", None, "clerk", ON)


def test_a_bulk_enrolment_with_one_bad_line_records_nothing(books: Books) -> None:
    before = books.app.recorder.max_notification_id()
    lines = [roster_line("m1", "C1", on=ON), roster_line("m2", "C9", on=ON)]
    with pytest.raises(ImportRefused) as refused:
        import_roster(books, *lines)
    [reject] = refused.value.summary.rejects
    assert (reject.line, lines[reject.line - 1].member_id) == (2, "m2")
    assert (
        str(reject)
        == "line 2: county = 'C9': county 'C9' is not part of this scheme (known: C1, C2)"
    )
    assert books.app.recorder.max_notification_id() == before


def test_nothing_is_posted_into_a_closed_period(books: Books, enrol: Callable[..., None]) -> None:
    enrol("m1")
    claim = books.app.submit_claim("m1", 1, "900.00", "clerk", ON)
    books.close_period(1, "approver", date(2026, 1, 31))
    with pytest.raises(PeriodNotOpen):
        books.app.approve_claim(claim, "approver", ON)
    with pytest.raises(PeriodNotOpen):
        books.app.enrol("m2", 1, "C1", "U1", None, "clerk", ON)
    books.app.post_adjustment(
        1, "C1", "bank", "premium_income:other", "10.00", "late receipt", "approver", ON
    )
    assert books.report(period=1)["counties"]["C1"]["accounts"]["premium_income:other"] == "10.00"


def test_a_period_closes_once(books: Books) -> None:
    books.close_period(1, "approver", date(2026, 1, 31))
    with pytest.raises(PeriodNotOpen):
        books.close_period(1, "approver", date(2026, 2, 1))


def test_closing_shares_each_deficit_by_the_policy(
    books: Books, enrol: Callable[..., None]
) -> None:
    enrol("m1", "C1")
    enrol("m2", "C2")
    claim = books.app.submit_claim("m1", 1, "1101.00", "clerk", ON)
    books.app.approve_claim(claim, "approver", ON)  # benefit 100.20 against income 50.00
    results = books.close_period(1, "approver", date(2026, 1, 31))
    assert results["C1"].deficit == Decimal("50.20")
    assert results["C2"].deficit == Decimal("0.00")
    report = books.report(period=1)
    c1 = report["counties"]["C1"]["accounts"]
    assert c1["deficit_transfers_in"] == "25.10"
    assert c1["county_contributions"] == "25.10"
    assert report["city_pool"]["accounts"]["deficit_transfers_out"] == "25.10"
    assert report["counties"]["C1"]["surplus"] == "0.00"
    assert report["trial_balance"] == "0.00"


def test_racing_approvals_never_exceed_the_cap(
    db: str, staff: Callable[[MutualAidLedger], None]
) -> None:
    """Eight writers approve eight claims of one member at once under a 100,000 cap."""
    setup = Books(db)
    nanyang = load_preset("nanyang").policy_for(1)
    setup.app.create_scheme("Nanyang", "nanyang", {"C1": "Wolong"}, "admin", ON)
    staff(setup.app)
    setup.app.open_period(1, date(2025, 1, 1), date(2025, 12, 31), nanyang, "approver", ON)
    import_roster(setup, roster_line("m1", on=ON))
    claims = [setup.app.submit_claim("m1", 1, "41000.00", "clerk", ON) for _ in range(8)]
    apps = [MutualAidLedger(db) for _ in claims]
    barrier = threading.Barrier(len(claims))
    errors: list[BaseException] = []

    def approve(app: MutualAidLedger, claim: str) -> None:
        barrier.wait()
        try:
            app.approve_claim(claim, "approver", ON)
        except BaseException as e:  # collected and asserted below
            errors.append(e)

    threads = [
        threading.Thread(target=approve, args=pair) for pair in zip(apps, claims, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for app in apps:
        app.close()
    assert [type(e) for e in errors] == [ClaimError] * 3  # the cap used up: reject them
    assert all("annual cap of 100000.00 is used up" in str(e) for e in errors)
    member = setup.app.member("m1")
    approved = sorted(member.claims[c].approved for c in claims)
    assert sum(approved) == Decimal("100000.00")  # each claim alone would get 20,000
    assert approved == [0] * 3 + [Decimal("20000.00")] * 5
    assert sorted(member.claims[c].status for c in claims) == ["approved"] * 5 + ["submitted"] * 3
    setup.close()


def test_the_city_pool_code_cannot_be_a_county(db: str) -> None:
    app = MutualAidLedger(db)
    with pytest.raises(LedgerError, match="reserved for the city pool"):
        app.create_scheme("X", "pinghu", {"city": "Downtown"}, "clerk", ON)
    app.close()


def test_periods_may_not_overlap_nor_close_before_they_end(books: Books) -> None:
    policy = load_preset("pinghu").policy_for(2)
    with pytest.raises(PeriodError, match="overlaps period 1"):
        books.app.open_period(2, date(2025, 12, 1), date(2026, 11, 30), policy, "approver", ON)
    with pytest.raises(PeriodError, match="closed from the day after"):
        books.close_period(1, "approver", date(2025, 12, 31))


def test_claim_ids_generated_never_collide_with_ids_given_by_hand(
    books: Books, enrol: Callable[..., None]
) -> None:
    enrol("m1")
    enrol("m2")
    books.app.submit_claim("m1", 1, "900.00", "clerk", ON, claim_id="m2-1-1")
    assert books.app.submit_claim("m2", 1, "900.00", "clerk", ON) == "m2-1-2"
    with pytest.raises(InvalidText, match="blank"):
        books.app.submit_claim("m2", 1, "900.00", "clerk", ON, claim_id="  ")


def test_a_receipt_is_recorded_once(books: Books) -> None:
    books.app.enrol("m1", 1, "C1", "U1", None, "clerk", ON)
    books.app.pay_premium("m1", 1, {"worker": "1.00"}, "R-1", "clerk", ON)
    with pytest.raises(LedgerError, match="receipt 'R-1' already recorded"):
        books.app.pay_premium("m1", 1, {"union:city": "49.00"}, "R-1", "clerk", ON)
    books.app.pay_premium("m1", 1, {"union:city": "49.00"}, "R-2", "clerk", ON)
    with pytest.raises(LedgerError, match="nothing is due"):
        books.app.pay_premium("m1", 1, {"worker": "1.00"}, "R-3", "clerk", ON)


def test_a_premium_paid_without_amounts_is_all_that_is_still_due(books: Books) -> None:
    books.app.enrol("m1", 1, "C1", "U1", None, "clerk", ON)
    books.app.pay_premium("m1", 1, {"worker": "1.00"}, "R-1", "clerk", ON)
    books.app.pay_premium("m1", 1, None, "R-2", "clerk", ON)
    enrolment = books.app.member("m1").enrolment(1)
    assert enrolment.premium_paid == {"worker": Decimal("1.00"), "union:city": Decimal("49.00")}
    with pytest.raises(LedgerError, match="nothing is due for period 1"):
        books.app.pay_premium("m1", 1, None, "R-3", "clerk", ON)
    with pytest.raises(LedgerError, match="unknown member 'm2'"):
        books.app.pay_premium("m2", 1, None, "R-4", "clerk", ON)


def test_a_period_opened_without_a_policy_takes_the_schemes_preset(books: Books) -> None:
    preset = load_preset("pinghu").policy_for(2)
    opened = books.app.open_period(2, date(2026, 1, 1), date(2026, 12, 31), None, "approver", ON)
    assert opened == preset
    assert books.app.scheme().periods[2].policy == preset


def test_a_period_opened_without_a_policy_needs_a_preset(
    db: str, staff: Callable[[MutualAidLedger], None]
) -> None:
    app = MutualAidLedger(db)
    app.create_scheme("X", None, {"C1": "A"}, "admin", ON)
    staff(app)
    before = app.recorder.max_notification_id()
    with pytest.raises(LedgerError, match=r"^the scheme has no preset: give --policy-file$"):
        app.open_period(1, date(2025, 1, 1), date(2025, 12, 31), None, "approver", ON)
    assert app.recorder.max_notification_id() == before
    assert app.scheme().periods == {}
    app.close()


def test_a_member_id_with_spaces_around_it_is_no_second_member(
    books: Books, enrol: Callable[..., None], tmp_path: Path
) -> None:
    """One at a time the id is refused; a roster's cells are read without the spaces around
    them, so there it is the member already enrolled, and a control character is refused."""
    enrol("M001")
    before = books.app.recorder.max_notification_id()
    given = ("M001 ", " M001", "M\x07001")
    for member_id in given:
        with pytest.raises(InvalidText, match=r"^member id"):
            books.app.enrol(member_id, 1, "C1", "U1", None, "clerk", ON)
    lines = [
        {"roster_line": f"R-{n}", "member_id": member_id, "period": 1, "county": "C1",
         "unit": "U1", "enrolled_on": ON.isoformat()}
        for n, member_id in enumerate(given, start=1)
    ]  # fmt: skip
    roster = write_feed(tmp_path / "roster.jsonl", *map(json.dumps, lines))
    with pytest.raises(ImportRefused) as refused:
        import_feed(books, "enrolments", roster, "clerk")
    summary = refused.value.summary
    assert (summary.already_present, summary.imported) == (2, 0)
    [reject] = summary.rejects
    assert (reject.line, reject.field, reject.value) == (3, "member_id", "M\x07001")
    assert reject.reason == "contains a control character (U+0007)"
    assert books.app.recorder.max_notification_id() == before


def test_the_last_period_number_and_year_are_kept_by_either_database(books: Books) -> None:
    """Period 9999 in the year 9000: the bounds the domain keeps fit every column."""
    policy = load_preset("pinghu").policy_for(1)
    start, end = date(9000, 1, 1), date(9000, 12, 31)
    books.app.open_period(9999, start, end, policy, "approver", ON)
    import_roster(books, roster_line("m1", period=9999, on=start))
    claim = books.app.submit_claim("m1", 9999, "20000.00", "clerk", date(9001, 3, 31))
    books.app.approve_claim(claim, "approver", date(9001, 3, 31))
    books.catch_up()
    assert books.report(period=9999)["counties"]["C1"]["accounts"]["benefits_payable"] == (
        "10380.00"
    )
    results = books.close_period(9999, "approver", date(9001, 4, 1))
    assert results["C1"].result.expense == Decimal("10380.00")


def test_a_period_number_too_large_for_the_database_records_nothing(books: Books) -> None:
    policy = load_preset("pinghu").policy_for(1)
    before = books.app.recorder.max_notification_id()
    with pytest.raises(PeriodError, match="period numbers run from 1 to 9999"):
        books.app.open_period(3_000_000_000, ON, ON2, policy, "approver", ON)
    assert books.app.recorder.max_notification_id() == before
    assert "C1" in books.report()["counties"]


def test_decisions_and_payouts_dated_before_what_they_follow_record_nothing(
    books: Books, enrol: Callable[..., None]
) -> None:
    enrol("m1")
    claim = books.app.submit_claim("m1", 1, "20000.00", "clerk", ON)
    before = books.app.recorder.max_notification_id()
    with pytest.raises(DateOutOfOrder, match="submitted on 2025-03-01: it cannot be approved"):
        books.app.approve_claim(claim, "approver", date(2025, 2, 28))
    with pytest.raises(DateOutOfOrder, match="submitted on 2025-03-01: it cannot be rejected"):
        books.app.reject_claim(claim, "not covered", "approver", date(2025, 2, 28))
    assert books.app.recorder.max_notification_id() == before
    books.app.approve_claim(claim, "approver", date(2025, 3, 5))
    with pytest.raises(DateOutOfOrder, match="approved on 2025-03-05: it cannot be paid"):
        books.app.make_payout(claim, None, "B-1", "cashier", date(2025, 3, 4))
    books.app.make_payout(claim, None, "B-1", "cashier", date(2025, 3, 10))
    with pytest.raises(DateOutOfOrder, match="made on 2025-03-10: it cannot be returned"):
        books.app.return_payout(claim, "B-1", "account closed", "cashier", date(2025, 3, 9))
    with pytest.raises(
        DateOutOfOrder, match="approved on 2025-03-05: it cannot be paid on 2025-03-01"
    ):
        books.app.pay_out_batch({"m1": [claim]}, "2025-03/", "cashier", date(2025, 3, 1))
    with pytest.raises(DateOutOfOrder, match="ended on 2025-12-31"):
        books.app.enrol("m2", 1, "C1", "U1", None, "clerk", date(2026, 1, 1))
