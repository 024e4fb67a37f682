"""The member aggregate: enrolment, premiums, claims within deadline and cap, payouts."""

import dataclasses
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import (
    AlreadyEnrolled,
    ClaimDeadlinePassed,
    ClaimError,
    DateOutOfOrder,
    FieldError,
    InvalidAmount,
    InvalidText,
    LedgerError,
    NotEnrolled,
    PayoutExceedsPayable,
    PremiumNotPaid,
    PremiumOverpaid,
)
from domain.member import ClaimIndex, Member, MemberDetails, claim_uuid, member_uuid
from domain.scheme import Period, Scheme

OpenScheme = Callable[..., Scheme]
PaidUpMember = Callable[..., Member]
D = Decimal
ON = date(2025, 6, 1)


def pending(aggregate: Member | ClaimIndex) -> list[Any]:
    return list(aggregate.collect_events())


def names(member: Member) -> list[str]:
    return [type(e).__name__ for e in member.collect_events()]


def replay(events: list[Any]) -> Member:
    """The member as the application loads it from its stored events."""
    member: Any = None
    for recorded in events:
        member = recorded.mutate(member)
    assert isinstance(member, Member)
    return member


@pytest.fixture
def period(open_scheme: OpenScheme) -> Period:
    """Pinghu period 1: 2025, premium 1 (worker) + 49 (union:city), claims until 2026-03-31."""
    return open_scheme("pinghu").period(1)


@pytest.fixture(scope="session")
def period_of(open_scheme: OpenScheme) -> Callable[[], Period]:
    """Pinghu period 1 of a new scheme at each call, for the Hypothesis tests."""
    return lambda: open_scheme("pinghu").period(1)


@pytest.fixture
def nanyang(open_scheme: OpenScheme) -> Period:
    """Nanyang period 1: 50% above 1000, capped at 100000 a year."""
    return open_scheme("nanyang").period(1)


@pytest.fixture
def enrolled(period: Period) -> Member:
    """A member enrolled in Pinghu period 1 who has paid nothing yet."""
    member = Member("M1", "alice", period.start)
    member.enrol(period, "C1", "U1", None, "alice", period.start)
    member.collect_events()
    return member


@pytest.fixture
def member(period: Period, paid_up_member: PaidUpMember) -> Member:
    return paid_up_member(period)


def approved(member: Member, period: Period, claim_id: str, eligible: str) -> Decimal:
    """Submit and approve a claim; the benefit approved."""
    member.submit_claim(claim_id, period, eligible, "alice", ON)
    return member.approve_claim(claim_id, period, "bob", ON).benefit


# Registration and enrolment


def test_registering_a_member_records_who_and_when() -> None:
    member = Member("M1", "alice", date(2025, 1, 1))
    [registered] = pending(member)
    assert type(registered).__name__ == "Registered"
    assert (registered.member_id, registered.actor) == ("M1", "alice")
    assert registered.effective_date == date(2025, 1, 1)
    assert member.id == member_uuid("M1") != member_uuid("M2")


def test_enrolling_records_the_county_unit_group_and_premium_due(open_scheme: OpenScheme) -> None:
    period = open_scheme("beijing").period(1)
    member = Member("M1", "alice", period.start)
    member.collect_events()
    member.enrol(period, "C2", "  Unit 7 ", "hardship", "alice", date(2025, 1, 3))
    [enrolled] = pending(member)
    assert type(enrolled).__name__ == "Enrolled"
    assert (enrolled.period, enrolled.county, enrolled.unit) == (1, "C2", "Unit 7")
    assert enrolled.group == "hardship"
    assert enrolled.premium_due == {"union:city": D("60.00")}
    assert (enrolled.actor, enrolled.effective_date) == ("alice", date(2025, 1, 3))


def test_enrolling_twice_in_a_period_is_refused(enrolled: Member, period: Period) -> None:
    with pytest.raises(AlreadyEnrolled, match="'M1' is already enrolled in period 1"):
        enrolled.enrol(period, "C2", "U2", None, "alice", ON)
    assert names(enrolled) == []
    assert enrolled.enrolment(1).county == "C1"


def test_a_member_may_enrol_again_in_the_next_period(
    open_scheme: OpenScheme, paid_up_member: PaidUpMember
) -> None:
    scheme = open_scheme(periods=(1, 2))
    member = paid_up_member(scheme.period(1))
    member.enrol(scheme.period(2), "C2", "U1", None, "alice", date(2026, 1, 1))
    assert names(member) == ["Enrolled"]
    assert (member.enrolment(1).county, member.enrolment(2).county) == ("C1", "C2")


def test_enrolling_needs_a_unit(period: Period) -> None:
    member = Member("M1", "alice", ON)
    with pytest.raises(LedgerError, match="unit is required"):
        member.enrol(period, "C1", "  ", None, "alice", ON)


def test_enrolling_in_a_group_the_policy_gives_no_uplift_is_refused(period: Period) -> None:
    member = Member("M1", "alice", ON)
    member.collect_events()
    with pytest.raises(
        LedgerError, match=r"group 'hardship' is no member group .*\(groups: none\)"
    ):
        member.enrol(period, "C1", "U1", "hardship", "alice", ON)
    assert names(member) == []
    with pytest.raises(NotEnrolled):
        member.enrolment(1)


# Premiums


def test_paying_a_premium_records_the_amounts_by_source_and_the_county(enrolled: Member) -> None:
    enrolled.pay_premium(1, {"worker": "1", "union:city": D("49")}, "R-7", "alice", ON)
    [paid] = pending(enrolled)
    assert type(paid).__name__ == "PremiumPaid"
    assert (paid.period, paid.county, paid.receipt) == (1, "C1", "R-7")
    assert paid.amounts == {"worker": D("1.00"), "union:city": D("49.00")}
    assert (paid.actor, paid.effective_date) == ("alice", ON)
    assert enrolled.enrolment(1).paid_up


def test_premium_instalments_add_up_to_paid_up(enrolled: Member) -> None:
    enrolled.pay_premium(1, {"union:city": "49"}, "R-1", "alice", ON)
    enrolled.pay_premium(1, {"worker": "0.40"}, "R-2", "alice", ON)
    assert not enrolled.enrolment(1).paid_up
    enrolled.pay_premium(1, {"worker": "0.60", "union:city": "0"}, "R-3", "alice", ON)
    assert enrolled.enrolment(1).paid_up
    assert enrolled.enrolment(1).premium_paid == {"worker": D("1.00"), "union:city": D("49.00")}
    assert [e.amounts for e in pending(enrolled)][-1] == {"worker": D("0.60")}


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (None, {"worker": "1.01"}),
        (None, {"worker": "1", "union:city": "49.01"}),
        ({"worker": "0.50"}, {"worker": "0.51"}),
    ],
)
def test_paying_more_than_the_premium_due_from_a_source_is_refused(
    enrolled: Member, first: dict[str, object] | None, second: dict[str, object]
) -> None:
    if first:
        enrolled.pay_premium(1, first, "R-1", "alice", ON)
        enrolled.collect_events()
    with pytest.raises(PremiumOverpaid, match="more than the"):
        enrolled.pay_premium(1, second, "R-2", "alice", ON)
    assert names(enrolled) == []


def test_paying_from_a_source_that_does_not_fund_the_period_is_refused(enrolled: Member) -> None:
    with pytest.raises(LedgerError, match="'employer' is not a funding source of period 1"):
        enrolled.pay_premium(1, {"worker": "1", "employer": "49"}, "R-1", "alice", ON)
    assert names(enrolled) == []
    assert enrolled.enrolment(1).premium_paid == {}


@pytest.mark.parametrize(
    ("amounts", "error"),
    [
        ({}, LedgerError),
        ({"worker": "0"}, LedgerError),
        ({"worker": "-1"}, InvalidAmount),
        ({"worker": 1.0}, InvalidAmount),
    ],
)
def test_a_premium_payment_needs_a_positive_exact_amount(
    enrolled: Member, amounts: dict[str, object], error: type[Exception]
) -> None:
    with pytest.raises(error):
        enrolled.pay_premium(1, amounts, "R-1", "alice", ON)
    assert names(enrolled) == []


def test_paying_a_premium_for_a_period_not_enrolled_in_is_refused(enrolled: Member) -> None:
    with pytest.raises(NotEnrolled, match="not enrolled in period 2"):
        enrolled.pay_premium(2, {"worker": "1"}, "R-1", "alice", ON)


# Claims


def test_submitting_a_claim_records_its_period_county_and_eligible_amount(
    member: Member, period: Period
) -> None:
    member.submit_claim("K1", period, "1234.5", "alice", ON)
    [submitted] = pending(member)
    assert type(submitted).__name__ == "ClaimSubmitted"
    assert (submitted.claim_id, submitted.period, submitted.county) == ("K1", 1, "C1")
    assert submitted.eligible == D("1234.50")
    assert (submitted.actor, submitted.effective_date) == ("alice", ON)
    assert member.claim("K1").status == "submitted"


def test_a_claim_is_refused_for_a_member_not_enrolled_in_its_period(
    open_scheme: OpenScheme, paid_up_member: PaidUpMember
) -> None:
    scheme = open_scheme(periods=(1, 2))
    member = paid_up_member(scheme.period(1))
    with pytest.raises(NotEnrolled, match="'M1' is not enrolled in period 2"):
        member.submit_claim("K1", scheme.period(2), "1000", "alice", date(2026, 6, 1))
    assert names(member) == []


def test_a_claim_is_refused_for_a_member_not_paid_up(enrolled: Member, period: Period) -> None:
    enrolled.pay_premium(1, {"union:city": "49"}, "R-1", "alice", ON)
    enrolled.collect_events()
    with pytest.raises(PremiumNotPaid, match=r"has paid 49\.00 of the 50\.00 premium"):
        enrolled.submit_claim("K1", period, "1000", "alice", ON)
    assert names(enrolled) == []


def test_a_claim_is_accepted_up_to_the_deadline_after_the_period_end(
    member: Member, period: Period
) -> None:
    deadline = period.end + timedelta(days=90)
    assert deadline == date(2026, 3, 31)
    member.submit_claim("K1", period, "1000", "alice", deadline)
    assert names(member) == ["ClaimSubmitted"]


def test_a_claim_is_refused_after_the_deadline(member: Member, period: Period) -> None:
    with pytest.raises(ClaimDeadlinePassed, match="on 2026-04-01 after the deadline 2026-03-31"):
        member.submit_claim("K1", period, "1000", "alice", date(2026, 4, 1))
    assert names(member) == []


def test_cover_starts_at_enrolment_not_at_the_period_start(period: Period) -> None:
    joined = date(2025, 6, 1)
    member = Member("M1", "alice", joined)
    member.enrol(period, "C1", "U1", None, "alice", joined)
    member.pay_premium(1, {"worker": "1", "union:city": "49"}, "R-1", "alice", joined)
    member.collect_events()
    with pytest.raises(
        DateOutOfOrder, match="before member 'M1' was covered: enrolled on 2025-06-01"
    ):
        member.submit_claim("K1", period, "1000", "alice", joined - timedelta(days=1))
    assert names(member) == []
    member.submit_claim("K1", period, "1000", "alice", joined)
    assert names(member) == ["ClaimSubmitted"]


def test_a_deadline_counted_from_discharge_runs_from_each_claims_own_date(
    open_scheme: OpenScheme, paid_up_member: PaidUpMember
) -> None:
    """Weihai: within 180 days of discharge, whatever the period's end."""
    period = open_scheme("weihai").period(1)
    member = paid_up_member(period)
    discharged = date(2025, 2, 1)
    last_day = discharged + timedelta(days=180)
    assert period.claim_deadline(discharged) == last_day < period.end
    member.submit_claim("K1", period, "9000", "alice", discharged, received_on=last_day)
    with pytest.raises(
        ClaimDeadlinePassed, match="received on 2025-08-01 after the deadline 2025-07-31"
    ):
        member.submit_claim(
            "K2", period, "9000", "alice", discharged, received_on=last_day + timedelta(days=1)
        )
    assert names(member) == ["ClaimSubmitted"]


@given(
    days=st.integers(min_value=0, max_value=3650),
    counted_from=st.sampled_from(["period_end", "discharge"]),
    dated=st.dates(min_value=date(2025, 1, 1), max_value=date(2025, 12, 31)),
)
def test_the_deadline_is_the_days_counted_from_what_the_policy_names(
    period_of: Callable[[], Period], days: int, counted_from: str, dated: date
) -> None:
    period = period_of()
    benefit = period.policy.benefit.model_copy(
        update={"claim_deadline_days": days, "claim_deadline_from": counted_from}
    )
    period.policy = period.policy.model_copy(update={"benefit": benefit})
    start = dated if counted_from == "discharge" else period.end
    assert period.claim_deadline(dated) == start + timedelta(days=days)


def test_a_claim_id_is_used_once(member: Member, period: Period) -> None:
    member.submit_claim("K1", period, "1000", "alice", ON)
    with pytest.raises(ClaimError, match="'K1' was already submitted"):
        member.submit_claim("K1", period, "2000", "alice", ON)


@pytest.mark.parametrize("eligible", ["0", "-10", 1000.0])
def test_a_claim_needs_a_positive_exact_eligible_amount(
    member: Member, period: Period, eligible: object
) -> None:
    with pytest.raises(InvalidAmount):
        member.submit_claim("K1", period, eligible, "alice", ON)
    assert names(member) == []


def test_a_claim_index_maps_a_claim_id_to_its_member_under_a_fixed_id() -> None:
    index = ClaimIndex("K1", "M1", "alice", ON)
    [indexed] = pending(index)
    assert type(indexed).__name__ == "Indexed"
    assert (indexed.claim_id, indexed.member_id) == ("K1", "M1")
    assert (indexed.actor, indexed.effective_date) == ("alice", ON)
    assert index.id == claim_uuid("K1") == ClaimIndex.create_id("K1")
    assert claim_uuid("K1") not in (claim_uuid("K2"), member_uuid("K1"))


# Approval


def test_approving_a_claim_records_the_benefit_policy_version_and_breakdown(
    member: Member, period: Period
) -> None:
    member.submit_claim("K1", period, "20000", "alice", ON)
    member.collect_events()
    calculation = member.approve_claim("K1", period, "bob", date(2025, 6, 2))
    [approval] = pending(member)
    assert type(approval).__name__ == "ClaimApproved"
    assert (approval.claim_id, approval.period, approval.county) == ("K1", 1, "C1")
    assert approval.amount == calculation.benefit == D("10380.00")
    assert approval.policy_version == "pinghu-1"
    assert approval.breakdown == calculation.as_dict()
    assert (approval.actor, approval.effective_date) == ("bob", date(2025, 6, 2))
    assert (member.claim("K1").status, member.claim("K1").payable) == ("approved", D("10380"))


def test_a_group_uplift_applies_to_the_member_claims(
    open_scheme: OpenScheme, paid_up_member: PaidUpMember
) -> None:
    period = open_scheme("beijing").period(1)
    hardship = paid_up_member(period, "M1", group="hardship")
    other = paid_up_member(period, "M2")
    assert approved(hardship, period, "K1", "11300") == D("5500.00")
    assert approved(other, period, "K2", "11300") == D("5000.00")


def test_approvals_never_exceed_the_annual_cap_over_several_claims(
    nanyang: Period, paid_up_member: PaidUpMember
) -> None:
    member = paid_up_member(nanyang)
    assert approved(member, nanyang, "K1", "161000") == D("80000.00")
    assert approved(member, nanyang, "K2", "101000") == D("20000.00")  # 50000 before the cap
    with pytest.raises(ClaimError, match=r"annual cap of 100000\.00 is used up\): reject it"):
        approved(member, nanyang, "K3", "5000")  # 2000 before the cap
    breakdowns = [e.breakdown for e in pending(member) if type(e).__name__ == "ClaimApproved"]
    assert [(b["cap_remaining"], b["cap_applied"]) for b in breakdowns] == [
        ("100000.00", False),
        ("20000.00", True),
    ]
    assert member.enrolment(1).approved == D("100000.00")
    assert member.claim("K3").status == "submitted"


def test_the_cap_is_per_member_and_period(
    open_scheme: OpenScheme, paid_up_member: PaidUpMember
) -> None:
    scheme = open_scheme("nanyang", periods=(1, 2))
    first, second = scheme.period(1), scheme.period(2)
    member = paid_up_member(first)
    member.enrol(second, "C1", "U1", None, "alice", second.start)
    member.pay_premium(2, {"worker": "60", "union:city": "30"}, "R-2", "alice", second.start)
    neighbour = paid_up_member(first, "M2")
    assert approved(member, first, "K1", "300000") == D("100000.00")
    assert approved(neighbour, first, "K2", "300000") == D("100000.00")
    member.submit_claim("K3", second, "300000", "alice", date(2026, 6, 1))
    assert member.approve_claim("K3", second, "bob", date(2026, 6, 1)).benefit == D("100000")


def test_assessing_a_claim_shows_the_benefit_without_recording_anything(
    nanyang: Period, paid_up_member: PaidUpMember
) -> None:
    member = paid_up_member(nanyang)
    approved(member, nanyang, "K1", "161000")
    member.submit_claim("K2", nanyang, "101000", "alice", ON)
    member.collect_events()
    assert member.assess_claim("K2", nanyang.policy.benefit).benefit == D("20000.00")
    assert names(member) == []
    assert member.claim("K2").status == "submitted"


def test_approving_a_claim_that_is_not_submitted_is_refused(member: Member, period: Period) -> None:
    with pytest.raises(ClaimError, match="has no claim 'K9'"):
        member.approve_claim("K9", period, "bob", ON)
    approved(member, period, "K1", "1000")
    with pytest.raises(ClaimError, match="'K1' is approved, not submitted"):
        member.approve_claim("K1", period, "bob", ON)
    member.submit_claim("K2", period, "1000", "alice", ON)
    member.reject_claim("K2", "not eligible", "bob", ON)
    with pytest.raises(ClaimError, match="'K2' is rejected, not submitted"):
        member.approve_claim("K2", period, "bob", ON)
    assert member.enrolment(1).approved == D("80.00")


def test_rejecting_a_claim_needs_a_reason_and_records_it(member: Member, period: Period) -> None:
    member.submit_claim("K1", period, "1000", "alice", ON)
    member.collect_events()
    with pytest.raises(FieldError, match="needs a reason"):
        member.reject_claim("K1", " ", "bob", ON)
    member.reject_claim("K1", " duplicate bill ", "bob", ON)
    [rejected] = pending(member)
    assert type(rejected).__name__ == "ClaimRejected"
    assert (rejected.claim_id, rejected.period, rejected.reason) == ("K1", 1, "duplicate bill")
    with pytest.raises(ClaimError, match="is rejected, not approved"):
        member.make_payout("K1", None, "B-1", "carol", ON)


# Payouts


@pytest.fixture
def claim_of_100(member: Member, period: Period) -> Member:
    """The member with claim K1 approved for 100.00 (20% of 1100 - 600) and nothing paid."""
    assert approved(member, period, "K1", "1100") == D("100.00")
    member.collect_events()
    return member


def pay(member: Member, amount: str | None, reference: str) -> Decimal:
    return member.make_payout("K1", amount, reference, "carol", ON)


def test_a_payout_records_the_amount_county_and_bank_reference(claim_of_100: Member) -> None:
    assert pay(claim_of_100, "30", "B-1") == D("30.00")
    [payout] = pending(claim_of_100)
    assert type(payout).__name__ == "PayoutMade"
    assert (payout.claim_id, payout.period, payout.county) == ("K1", 1, "C1")
    assert (payout.amount, payout.bank_reference) == (D("30.00"), "B-1")
    assert (payout.actor, payout.effective_date) == ("carol", ON)


def test_partial_payouts_add_up_to_the_approved_amount(claim_of_100: Member) -> None:
    assert pay(claim_of_100, "30", "B-1") == D("30.00")
    assert pay(claim_of_100, "45.50", "B-2") == D("45.50")
    assert pay(claim_of_100, None, "B-3") == D("24.50")
    claim = claim_of_100.claim("K1")
    assert (claim.paid, claim.payable) == (D("100.00"), D("0.00"))
    with pytest.raises(ClaimError, match="nothing is payable"):
        pay(claim_of_100, None, "B-4")


def test_a_payout_never_exceeds_the_approved_unpaid_amount(claim_of_100: Member) -> None:
    with pytest.raises(PayoutExceedsPayable, match=r"payout 100\.01 exceeds .* amount 100\.00"):
        pay(claim_of_100, "100.01", "B-1")
    pay(claim_of_100, "60", "B-1")
    with pytest.raises(PayoutExceedsPayable, match=r"payout 40\.01 exceeds .* amount 40\.00"):
        pay(claim_of_100, "40.01", "B-2")
    assert [e.amount for e in pending(claim_of_100)] == [D("60.00")]


@pytest.mark.parametrize("eligible", ["600", "100"])
def test_a_claim_the_policy_gives_nothing_cannot_be_approved_only_rejected(
    member: Member, period: Period, eligible: str
) -> None:
    member.submit_claim("K1", period, eligible, "alice", ON)
    member.collect_events()
    with pytest.raises(
        ClaimError,
        match=rf"'K1': the policy gives no benefit for it \(eligible self-paid {eligible}\.00 "
        r"is within the deductible of 600\.00\): reject it instead",
    ):
        member.approve_claim("K1", period, "bob", ON)
    assert names(member) == []
    member.reject_claim("K1", "below the deductible", "bob", ON)
    assert names(member) == ["ClaimRejected"]


def test_an_approval_of_nothing_recorded_before_it_was_refused_still_replays(
    period: Period,
) -> None:
    member = Member.register("M1", "alice", period.start)
    member.enrol(period, "C1", "U1", None, "alice", period.start)
    member.pay_premium(1, dict(period.policy.funding), "R-1", "alice", period.start)
    member.submit_claim("K1", period, "600", "alice", ON)
    member.trigger_event(
        Member.ClaimApproved,
        claim_id="K1",
        period=1,
        county="C1",
        amount=D("0.00"),
        policy_version="pinghu-1",
        breakdown={},
        actor="bob",
        effective_date=ON,
    )  # as of old
    replayed = replay(member.collect_events())
    assert (replayed.claim("K1").status, replayed.claim("K1").approved) == ("approved", D("0"))
    with pytest.raises(ClaimError, match="nothing is payable"):
        replayed.make_payout("K1", None, "B-1", "carol", ON)


def test_a_payout_of_a_claim_not_approved_is_refused(member: Member, period: Period) -> None:
    member.submit_claim("K1", period, "1100", "alice", ON)
    with pytest.raises(ClaimError, match="'K1' is submitted, not approved"):
        pay(member, "10", "B-1")


@pytest.mark.parametrize("amount", ["0", "-1", 10.0])
def test_a_payout_amount_must_be_positive_and_exact(claim_of_100: Member, amount: object) -> None:
    with pytest.raises(InvalidAmount):
        claim_of_100.make_payout("K1", amount, "B-1", "carol", ON)


def test_a_payout_needs_a_bank_reference_used_once(claim_of_100: Member) -> None:
    with pytest.raises(ClaimError, match="needs a bank reference"):
        pay(claim_of_100, "10", "  ")
    pay(claim_of_100, "10", "B-1")
    with pytest.raises(ClaimError, match="'B-1' already used"):
        pay(claim_of_100, "10", "B-1")


def test_a_bank_reference_differing_only_in_spaces_counts_as_used(claim_of_100: Member) -> None:
    pay(claim_of_100, "60", "B-1")
    with pytest.raises(ClaimError, match="already used"):
        pay(claim_of_100, "40", "B-1 ")
    claim = claim_of_100.claim("K1")
    assert (claim.paid, claim.payable) == (D("60.00"), D("40.00"))


# Returned payouts


def test_a_returned_payout_makes_its_amount_payable_again(claim_of_100: Member) -> None:
    pay(claim_of_100, "70", "B-1")
    pay(claim_of_100, "30", "B-2")
    claim_of_100.collect_events()
    claim_of_100.return_payout("K1", "B-1", " account closed ", "carol", ON)
    [returned] = pending(claim_of_100)
    assert type(returned).__name__ == "PayoutReturned"
    assert (returned.claim_id, returned.period, returned.county) == ("K1", 1, "C1")
    assert (returned.amount, returned.bank_reference) == (D("70.00"), "B-1")
    assert (returned.reason, returned.actor, returned.effective_date) == (
        "account closed",
        "carol",
        ON,
    )
    assert claim_of_100.claim("K1").payable == D("70.00")
    assert pay(claim_of_100, None, "B-3") == D("70.00")
    assert claim_of_100.claim("K1").payable == D("0.00")


def test_a_returned_payout_cannot_be_paid_again_under_its_old_reference(
    claim_of_100: Member,
) -> None:
    pay(claim_of_100, None, "B-1")
    claim_of_100.return_payout("K1", "B-1", "bounced", "carol", ON)
    with pytest.raises(ClaimError, match="'B-1' already used"):
        pay(claim_of_100, None, "B-1")


def test_returning_a_payout_twice_is_refused(claim_of_100: Member) -> None:
    pay(claim_of_100, None, "B-1")
    claim_of_100.return_payout("K1", "B-1", "bounced", "carol", ON)
    claim_of_100.collect_events()
    with pytest.raises(ClaimError, match="'B-1' of claim 'K1' was already returned"):
        claim_of_100.return_payout("K1", "B-1", "bounced", "carol", ON)
    assert names(claim_of_100) == []
    assert claim_of_100.claim("K1").payable == D("100.00")


def test_returning_an_unknown_payout_or_without_a_reason_is_refused(claim_of_100: Member) -> None:
    pay(claim_of_100, None, "B-1")
    with pytest.raises(ClaimError, match="has no payout 'B-9'"):
        claim_of_100.return_payout("K1", "B-9", "bounced", "carol", ON)
    with pytest.raises(FieldError, match="needs a reason"):
        claim_of_100.return_payout("K1", "B-1", "", "carol", ON)
    with pytest.raises(ClaimError, match="has no claim 'K9'"):
        claim_of_100.return_payout("K9", "B-1", "bounced", "carol", ON)
    assert claim_of_100.claim("K1").payable == D("0.00")


# Dates in the order things happen


def test_an_enrolment_dated_after_its_period_ended_is_refused(period: Period) -> None:
    member = Member.register("M1", "alice", ON)
    member.collect_events()
    with pytest.raises(
        DateOutOfOrder,
        match="'M1' cannot be enrolled in period 1 on 2026-01-01: the period ended on 2025-12-31",
    ):
        member.enrol(period, "C1", "U1", None, "alice", date(2026, 1, 1))
    assert names(member) == []
    member.enrol(period, "C1", "U1", None, "alice", period.end)
    assert names(member) == ["Enrolled"]


def test_an_enrolment_before_its_period_starts_is_accepted(period: Period) -> None:
    member = Member.register("M1", "alice", date(2024, 11, 1))
    member.enrol(period, "C1", "U1", None, "alice", date(2024, 11, 1))
    assert names(member) == ["Registered", "Enrolled"]


@pytest.mark.parametrize(("verb", "decide"), [("approved", "approve"), ("rejected", "reject")])
def test_a_claim_cannot_be_decided_before_it_was_submitted(
    member: Member, period: Period, verb: str, decide: str
) -> None:
    member.submit_claim("K1", period, "20000", "alice", ON)
    member.collect_events()

    def decided(on: date) -> None:
        if decide == "approve":
            member.approve_claim("K1", period, "bob", on)
        else:
            member.reject_claim("K1", "not covered", "bob", on)

    with pytest.raises(
        DateOutOfOrder,
        match=f"claim 'K1' was submitted on 2025-06-01: it cannot be {verb} on 2025-05-31",
    ):
        decided(date(2025, 5, 31))
    assert names(member) == []
    assert member.claim("K1").status == "submitted"
    decided(ON)
    assert names(member) == [f"Claim{verb.title()}"]


def test_the_policy_decides_an_imported_claim_on_its_own_date(
    member: Member, period: Period
) -> None:
    member.submit_claim("K1", period, "20000", "alice", ON)
    with pytest.raises(DateOutOfOrder, match="submitted on 2025-06-01: it cannot be approved"):
        member.adjudicate_claim("K1", period, date(2025, 5, 1))
    assert member.adjudicate_claim("K1", period, ON).benefit == D("10380.00")


def test_a_payout_cannot_be_made_before_its_claim_was_approved(
    member: Member, period: Period
) -> None:
    member.submit_claim("K1", period, "1100", "alice", date(2025, 5, 1))
    member.approve_claim("K1", period, "bob", ON)
    member.collect_events()
    with pytest.raises(
        DateOutOfOrder,
        match="claim 'K1' was approved on 2025-06-01: it cannot be paid on 2025-05-20",
    ):
        member.make_payout("K1", None, "B-1", "carol", date(2025, 5, 20))
    assert names(member) == []
    assert member.claim("K1").payable == D("100.00")
    member.make_payout("K1", None, "B-1", "carol", ON)
    assert names(member) == ["PayoutMade"]


@pytest.mark.parametrize("returned", [True, False])
def test_a_payout_cannot_be_returned_or_confirmed_before_it_was_made(
    claim_of_100: Member, returned: bool
) -> None:
    claim_of_100.make_payout("K1", None, "B-1", "carol", date(2025, 6, 10))
    claim_of_100.collect_events()
    verb = "returned" if returned else "confirmed"
    with pytest.raises(
        DateOutOfOrder,
        match=f"payout 'B-1' of claim 'K1' was made on 2025-06-10: it cannot be {verb} on "
        "2025-06-09",
    ):
        if returned:
            claim_of_100.return_payout("K1", "B-1", "bounced", "carol", date(2025, 6, 9))
        else:
            claim_of_100.confirm_payout("K1", "B-1", "carol", date(2025, 6, 9))
    assert names(claim_of_100) == []
    assert claim_of_100.check_bank_result("K1", "B-1", returned, date(2025, 6, 10))


def test_dates_out_of_order_recorded_before_they_were_refused_still_replay(
    period: Period,
) -> None:
    member = Member.register("M1", "alice", period.start)
    member.enrol(period, "C1", "U1", None, "alice", period.start)
    member.pay_premium(1, dict(period.policy.funding), "R-1", "alice", period.start)
    member.submit_claim("K1", period, "1100", "alice", ON)
    member.trigger_event(
        Member.ClaimApproved,
        claim_id="K1",
        period=1,
        county="C1",
        amount=D("100.00"),
        policy_version="pinghu-1",
        breakdown={},
        actor="bob",
        effective_date=date(2025, 2, 1),
    )
    member.trigger_event(
        Member.PayoutMade,
        claim_id="K1",
        period=1,
        county="C1",
        amount=D("100.00"),
        bank_reference="B-1",
        actor="carol",
        effective_date=date(2025, 1, 1),
    )
    replayed = replay(member.collect_events())
    assert replayed.claim("K1").paid == D("100.00")


# Claims received later than their date: settlements imported from insurance


def test_a_settlement_received_after_the_deadline_is_refused_whatever_its_discharge(
    member: Member, period: Period
) -> None:
    with pytest.raises(
        ClaimDeadlinePassed, match="'K1' received on 2026-04-01 after the deadline 2026-03-31"
    ):
        member.submit_claim("K1", period, "1000", "alice", ON, received_on=date(2026, 4, 1))
    assert names(member) == []


def test_a_settlement_received_by_the_deadline_keeps_its_discharge_as_its_date(
    member: Member, period: Period
) -> None:
    member.submit_claim("K1", period, "1000", "alice", ON, received_on=period.claim_deadline(ON))
    [submitted] = pending(member)
    assert (submitted.effective_date, submitted.received_on) == (ON, date(2026, 3, 31))
    assert member.claim("K1").submitted_on == ON


def test_a_settlement_cannot_be_received_before_its_discharge(
    member: Member, period: Period
) -> None:
    with pytest.raises(
        DateOutOfOrder,
        match="claim 'K1' was discharged on 2025-06-01: it cannot be received on 2025-05-31",
    ):
        member.submit_claim("K1", period, "1000", "alice", ON, received_on=date(2025, 5, 31))
    assert names(member) == []


def test_a_claim_submitted_by_hand_records_no_received_date(member: Member, period: Period) -> None:
    member.submit_claim("K1", period, "1000", "alice", ON)
    [submitted] = pending(member)
    assert submitted.received_on is None


# Text recorded for good


@pytest.mark.parametrize(
    ("member_id", "reason"),
    [
        ("M001 ", "must not begin or end with spaces"),
        (" M001", "must not begin or end with spaces"),
        ("M001\t", "must not begin or end with spaces"),
        ("  ", "must not be blank"),
        ("", "must not be blank"),
        ("M0\x0701", r"contains a control character \(U\+0007\)"),
    ],
)
def test_a_new_member_needs_an_id_given_exactly(member_id: str, reason: str) -> None:
    with pytest.raises(InvalidText, match=rf"^member id .*: {reason}$") as refused:
        Member.register(member_id, "alice", ON)
    assert refused.value.field == "member_id"


def test_a_member_recorded_under_an_id_with_spaces_still_replays() -> None:
    legacy = Member("M001 ", "alice", ON)
    assert replay(legacy.collect_events()).member_id == "M001 "


def test_text_with_control_characters_is_refused_before_it_is_recorded(
    member: Member, period: Period
) -> None:
    bell = "Glass\x07Works"
    newcomer = Member.register("M2", "alice", ON)
    newcomer.collect_events()
    with pytest.raises(InvalidText, match=r"unit 'Glass\\x07Works': contains a control"):
        newcomer.enrol(period, "C1", bell, None, "alice", ON)
    with pytest.raises(InvalidText, match=r"^receipt"):
        member.pay_premium(1, {"worker": "1"}, "R\x1b9", "alice", ON)
    with pytest.raises(InvalidText, match=r"^claim id 'K 1 '"):
        member.submit_claim("K 1 ", period, "1000", "alice", ON)
    member.submit_claim("K1", period, "1100", "alice", ON)
    member.collect_events()
    with pytest.raises(InvalidText, match=r"^reason"):
        member.reject_claim("K1", "not\x00covered", "bob", ON)
    member.approve_claim("K1", period, "bob", ON)
    member.collect_events()
    with pytest.raises(InvalidText, match=r"^bank reference"):
        member.make_payout("K1", None, "B\x7f1", "carol", ON)
    member.make_payout("K1", None, "B-1", "carol", ON)
    member.collect_events()
    with pytest.raises(InvalidText, match=r"^reason"):
        member.return_payout("K1", "B-1", "closed\r\nagain", "carol", ON)
    assert names(member) == names(newcomer) == []


def test_the_policy_says_why_it_gives_nothing_for_a_claim(
    period: Period, paid_up_member: PaidUpMember
) -> None:
    """A band may pay nothing (rate 0): a claim within it is above the deductible, and the
    recorded reason must not say it is below."""
    rule = period.policy.benefit
    unpaid_band = rule.model_validate(
        {
            **rule.model_dump(),
            "bands": [
                {"lower": rule.deductible, "upper": rule.deductible + 1000, "rate": "0"},
                {"lower": rule.deductible + 1000, "rate": "0.5"},
            ],
        }
    )
    rated = dataclasses.replace(
        period, policy=period.policy.model_copy(update={"benefit": unpaid_band})
    )
    member = paid_up_member(rated)
    member.submit_claim("K1", rated, str(rule.deductible + 500), "clerk", ON)
    member.submit_claim("K2", rated, str(rule.deductible - 1), "clerk", ON)
    for claim_id in ("K1", "K2"):
        assert member.adjudicate_claim(claim_id, rated, ON).benefit == 0
    reasons = [e.reason for e in member.collect_events() if isinstance(e, Member.ClaimRejected)]
    assert reasons == ["no band pays for this amount", "below the deductible"]


# Payee details

DETAIL_VALUES = {
    "name": st.sampled_from(["张三", "张三丰", "李四"]),
    "bank_account": st.sampled_from(["6222021204001234567", "6217001630009876543"]),
    "bank": st.sampled_from(["工行", "建行"]),
    "phone": st.sampled_from(["13857301234", "18600001111"]),
}
SOME_DETAILS = st.builds(MemberDetails, **{k: st.none() | v for k, v in DETAIL_VALUES.items()})


@settings(max_examples=60, deadline=None)
@given(first=SOME_DETAILS, later=st.lists(SOME_DETAILS, max_size=5))
def test_each_detail_on_record_is_the_last_given_and_a_replay_agrees(
    period_of: Callable[[], Period], first: MemberDetails, later: list[MemberDetails]
) -> None:
    member = Member.register("M1", "alice", ON)
    member.enrol(period_of(), "C1", "U1", None, "alice", ON, first)
    for line, details in enumerate(later):
        member.change_details(details, "alice", ON, roster_line=f"L{line}")

    expected = {
        field: next(
            (getattr(d, field) for d in reversed([first, *later]) if getattr(d, field)), None
        )
        for field in DETAIL_VALUES
    }
    assert vars(member.details) == expected
    assert replay(pending(member)).details == member.details


def test_a_change_records_only_the_details_that_differ(period: Period) -> None:
    member = Member.register("M1", "alice", ON)
    member.enrol(
        period, "C1", "U1", None, "alice", ON, MemberDetails("张三", "6222021204001234567")
    )
    member.collect_events()

    changed = member.change_details(
        MemberDetails("张三", "6217001630009876543", phone="13857301234"), "bob", ON, "L2"
    )

    [recorded] = pending(member)
    assert changed == MemberDetails(bank_account="6217001630009876543", phone="13857301234")
    assert isinstance(recorded, Member.DetailsChanged)
    assert (recorded.name, recorded.bank_account, recorded.phone, recorded.actor) == (
        None, "6217001630009876543", "13857301234", "bob",
    )  # fmt: skip


def test_details_the_roster_already_gave_record_nothing(period: Period) -> None:
    member = Member.register("M1", "alice", ON)
    member.enrol(period, "C1", "U1", None, "alice", ON, MemberDetails("张三"), roster_line="L1")
    member.collect_events()

    assert member.change_details(MemberDetails("张三"), "alice", ON, "L2") == MemberDetails()
    assert member.change_details(MemberDetails("李四"), "alice", ON, "L1") == MemberDetails()
    assert pending(member) == []


def test_a_bad_detail_refuses_the_enrolment_whole(period: Period) -> None:
    member = Member.register("M1", "alice", ON)
    member.collect_events()
    with pytest.raises(FieldError) as refused:
        member.enrol(period, "C1", "U1", None, "alice", ON, MemberDetails(" 张三"))
    assert refused.value.field == "name"
    assert (pending(member), member.enrolments) == ([], {})
