"""Trails: every event of a member, a claim or a county's period, in order, with who recorded
it, when, its amounts and its postings; and the postings behind any balance."""

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from domain.errors import ClaimError, LedgerError, PeriodError, UnknownCounty
from domain.member import member_uuid
from ledger.application.books import Books
from ledger.reports.trails import TrailPosting, explain, known_at_position, trail

MARCH, APRIL = date(2025, 3, 1), date(2025, 4, 1)


def claim_paid_and_one_rejected(books: Books, member: str = "m1") -> None:
    """A claim submitted, approved and paid (10380.00), and a second one rejected."""
    books.app.submit_claim(member, 1, "20000.00", "clerk", MARCH, claim_id="S-1")
    books.app.approve_claim("S-1", "approver", MARCH)
    books.app.make_payout("S-1", None, "B-1", "cashier", APRIL)
    books.app.submit_claim(member, 1, "700.00", "clerk", APRIL, claim_id="S-2")
    books.app.reject_claim("S-2", "not covered", "approver", APRIL)


def test_a_members_trail_holds_every_event_of_the_member_in_log_order(
    books: Books, enrol: Callable[..., None]
) -> None:
    enrol("m1")
    enrol("m2")
    claim_paid_and_one_rejected(books)
    entries = trail(books, member="m1")
    logged = [
        n.id
        for n in books.app.recorder.select_notifications(start=1, limit=1000)
        if n.originator_id == member_uuid("m1")
    ]
    assert [e.position for e in entries] == logged
    assert [(e.event, e.actor, e.claim) for e in entries] == [
        ("Registered", "clerk", None),
        ("Enrolled", "clerk", None),
        ("PremiumPaid", "clerk", None),
        ("ClaimSubmitted", "clerk", "S-1"),
        ("ClaimApproved", "approver", "S-1"),
        ("PayoutMade", "cashier", "S-1"),
        ("ClaimSubmitted", "clerk", "S-2"),
        ("ClaimRejected", "approver", "S-2"),
    ]
    assert {e.member for e in entries} == {"m1"}
    recorded = [e.recorded_at for e in entries]
    assert all(recorded) and recorded == sorted(recorded)  # type: ignore[type-var]
    premium = entries[2]
    assert premium.amounts == {
        "amounts.union:city": Decimal("49.00"),
        "amounts.worker": Decimal("1.00"),
    }
    assert premium.postings == (
        TrailPosting("C1", "bank", 1, Decimal("50.00")),
        TrailPosting("C1", "premium_income:union:city", 1, Decimal("-49.00")),
        TrailPosting("C1", "premium_income:worker", 1, Decimal("-1.00")),
    )
    approved = entries[4]
    assert approved.effective_date == MARCH
    assert approved.amounts == {"amount": Decimal("10380.00")}
    assert [(p.account, p.amount) for p in approved.postings] == [
        ("benefit_expense", Decimal("10380.00")),
        ("benefits_payable", Decimal("-10380.00")),
    ]
    assert entries[7].postings == ()
    assert entries[4].as_dict()["amounts"] == {"amount": "10380.00"}


def test_a_claims_trail_holds_the_events_of_that_claim_only(
    books: Books, enrol: Callable[..., None]
) -> None:
    enrol("m1")
    claim_paid_and_one_rejected(books)
    entries = trail(books, claim="S-1")
    assert [(e.event, e.actor) for e in entries] == [
        ("ClaimSubmitted", "clerk"),
        ("ClaimApproved", "approver"),
        ("PayoutMade", "cashier"),
    ]
    assert {(e.member, e.claim) for e in entries} == {("m1", "S-1")}
    assert entries[0].amounts == {"eligible": Decimal("20000.00")}
    assert entries[2].amounts == {"amount": Decimal("10380.00")}
    assert entries[2].effective_date == APRIL


def test_a_county_trail_holds_what_posted_into_its_period_and_the_deficit_sharing(
    books: Books, enrol: Callable[..., None]
) -> None:
    enrol("m1", "C1")
    enrol("m2", "C2")
    claim_paid_and_one_rejected(books)
    books.close_period(1, "approver", date(2026, 1, 31))
    entries = trail(books, county="C1", period=1)
    assert [(e.event, e.member) for e in entries] == [
        ("PeriodOpened", None),
        ("PremiumPaid", "m1"),
        ("ClaimApproved", "m1"),
        ("PayoutMade", "m1"),
        ("PeriodClosed", None),
        ("DeficitShared", None),
    ]
    shared = entries[-1]
    assert shared.actor == "approver"
    assert shared.amounts == {
        "deficit": Decimal("10330.00"),
        "city_share": Decimal("5165.00"),
        "county_share": Decimal("5165.00"),
    }
    assert ("CITY", "deficit_transfers_out", 1, Decimal("5165.00")) in [
        (p.entity, p.account, p.period, p.amount) for p in shared.postings
    ]
    assert entries[4].amounts["results.C1.expense"] == Decimal("10380.00")
    city = trail(books, county="CITY", period=1)
    assert [e.event for e in city] == ["PeriodOpened", "PeriodClosed", "DeficitShared"]
    assert [e.event for e in trail(books, county="C2", period=1)] == [
        "PeriodOpened",
        "PremiumPaid",
        "PeriodClosed",
    ]


def test_a_county_trail_is_complete_while_the_balances_lag_behind_the_log(
    books: Books, enrol: Callable[..., None]
) -> None:
    enrol("m1")
    books.balances.catch_up()
    claim_paid_and_one_rejected(books)  # not yet projected: a read-only auditor sees this
    events = [e.event for e in trail(books, county="C1", period=1)]
    assert events == ["PeriodOpened", "PremiumPaid", "ClaimApproved", "PayoutMade"]


def test_a_trail_as_known_at_a_position_leaves_out_what_was_recorded_later(
    books: Books, enrol: Callable[..., None]
) -> None:
    enrol("m1")
    books.app.submit_claim("m1", 1, "20000.00", "clerk", MARCH, claim_id="S-1")
    issued = books.app.recorder.max_notification_id() or 0
    books.app.approve_claim("S-1", "approver", MARCH)
    late = trail(books, member="m1", known_at=issued)
    assert [e.event for e in late][-1] == "ClaimSubmitted"
    assert all(e.position <= issued for e in late)
    assert len(trail(books, member="m1")) == len(late) + 1
    assert [e.event for e in trail(books, claim="S-1", known_at=issued)] == ["ClaimSubmitted"]
    county = trail(books, county="C1", period=1, known_at=issued)
    assert "ClaimApproved" not in [e.event for e in county]
    before_march = trail(books, member="m1", as_of=date(2025, 2, 28))
    assert "ClaimSubmitted" not in [e.event for e in before_march]


@pytest.mark.parametrize(
    ("selection", "error", "message"),
    [
        ({"member": "nobody"}, LedgerError, "unknown member 'nobody'"),
        ({"claim": "S-9"}, ClaimError, "unknown claim 'S-9'"),
        ({"county": "C9", "period": 1}, UnknownCounty, "county 'C9' is not part"),
        ({"county": "C1", "period": 2}, PeriodError, "period 2 has not been opened"),
        ({"member": "m1", "claim": "S-1"}, LedgerError, "give one of --member"),
        ({}, LedgerError, "give one of --member"),
        ({"county": "C1"}, LedgerError, "--county and --period go together"),
        ({"period": 1}, LedgerError, "--county and --period go together"),
    ],
)
def test_a_trail_of_something_unknown_or_ill_chosen_is_refused_naming_it(
    books: Books,
    enrol: Callable[..., None],
    selection: dict[str, object],
    error: type[Exception],
    message: str,
) -> None:
    enrol("m1")
    with pytest.raises(error, match=message):
        trail(books, **selection)  # type: ignore[arg-type]


def test_an_explanation_lists_the_postings_that_make_up_a_balance(
    books: Books, enrol: Callable[..., None]
) -> None:
    enrol("m1", "C1")
    enrol("m2", "C1")
    claim_paid_and_one_rejected(books)
    books.close_period(1, "approver", date(2026, 1, 31))
    report = books.report()
    for entity, account in [
        ("C1", "bank"),
        ("C1", "benefit_expense"),
        ("C1", "premium_income:union:city"),
        ("C1", "deficit_transfers_in"),
        ("CITY", "deficit_transfers_out"),
        ("C2", "bank"),
    ]:
        shown = report["city_pool"] if entity == "CITY" else report["counties"][entity]
        explanation = explain(books, entity, account)
        assert explanation.as_dict()["total"] == shown["accounts"][account], (entity, account)
    income = explain(books, "C1", "premium_income:union:city")
    assert [p.amount for p in income.postings] == [Decimal("49.00"), Decimal("49.00")]
    assert [p.event for p in income.postings] == ["PremiumPaid", "PremiumPaid"]
    assert all(p.recorded_at for p in income.postings)
    assert explain(books, "C2", "bank").postings == ()


def test_an_explanation_as_of_a_date_and_as_known_at_a_position_equals_those_balances(
    books: Books, enrol: Callable[..., None]
) -> None:
    enrol("m1")
    books.app.submit_claim("m1", 1, "20000.00", "clerk", date(2025, 1, 20), claim_id="S-1")
    books.app.approve_claim("S-1", "approver", date(2025, 1, 20))
    issued = books.app.recorder.max_notification_id()
    books.app.make_payout("S-1", "380.00", "B-1", "cashier", date(2025, 2, 1))
    books.app.make_payout("S-1", None, "B-2", "cashier", APRIL)
    for as_of, known_at in [(None, None), (MARCH, None), (None, issued), (MARCH, issued)]:
        shown = books.report("C1", as_of=as_of, known_at=known_at)
        explanation = explain(books, "C1", "bank", as_of=as_of, known_at=known_at)
        assert explanation.as_dict()["total"] == shown["counties"]["C1"]["accounts"]["bank"]
    assert explain(books, "C1", "bank", known_at=issued).total == Decimal("50.00")
    assert explain(books, "C1", "bank", as_of=MARCH).total == Decimal("-330.00")


def test_an_explanation_of_an_unknown_account_or_entity_is_refused(books: Books) -> None:
    with pytest.raises(LedgerError, match="unknown account 'cash'"):
        explain(books, "C1", "cash")
    with pytest.raises(UnknownCounty):
        explain(books, "C9", "bank")


def test_as_known_at_takes_a_position_or_a_recorded_time(
    books: Books, enrol: Callable[..., None]
) -> None:
    enrol("m1")
    issued = books.app.recorder.max_notification_id()
    between = datetime.now(UTC)
    enrol("m2")
    assert known_at_position(books, str(issued)) == issued
    assert known_at_position(books, between.isoformat()) == issued
    assert known_at_position(books, between.replace(tzinfo=None).isoformat()) == issued
    in_beijing = between.astimezone(datetime.fromisoformat("2025-01-01T00:00+08:00").tzinfo)
    assert known_at_position(books, in_beijing.isoformat()) == issued
    assert known_at_position(books, "2000-01-01T00:00:00Z") == 0
    for value, message in [
        ("yesterday", "'yesterday' is neither a log position nor a date and time"),
        ("2025-06-30", "'2025-06-30' is a date; give a date and time"),
        ("999999", "position 999999 is beyond the end of the log"),
        ("-1", "'-1' is neither"),
    ]:
        with pytest.raises(LedgerError, match=message):
            known_at_position(books, value)
