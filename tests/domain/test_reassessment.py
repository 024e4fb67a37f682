"""Appeals, corrections and recoveries on the Member aggregate: a new decision supersedes the
last, the difference is posted, overpayments are recovered or written off, and the cap is
used by the corrected figures. Nanyang's rule: half of what exceeds 1,000, capped at
100,000 a year."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from domain.accounts import (
    BANK,
    BENEFIT_EXPENSE,
    BENEFITS_PAYABLE,
    RECOVERIES_WRITTEN_OFF,
    RECOVERY_RECEIVABLE,
)
from domain.errors import (
    ClaimError,
    Conflict,
    DateOutOfOrder,
    DutyRefused,
    FieldError,
    PayoutExceedsPayable,
)
from domain.member import Member, MemberState
from domain.postings import postings_for
from domain.scheme import Period, Scheme

D = Decimal
ON = date(2025, 6, 1)
LATER = date(2025, 7, 1)


@pytest.fixture
def nanyang(open_scheme: Callable[..., Scheme]) -> Period:
    return open_scheme("nanyang").period(1)


@pytest.fixture
def approved_1000(nanyang: Period, paid_up_member: Callable[..., Member]) -> Member:
    """Claim K1 for 3,000 self-paid, approved by bob for 1,000 and not yet paid."""
    member = paid_up_member(nanyang)
    member.submit_claim("K1", nanyang, "3000", "alice", ON)
    member.approve_claim("K1", nanyang, "bob", ON)
    member.collect_events()
    return member


def entries(member: Member) -> list[tuple[str, str, Decimal]]:
    """The postings of the member's pending events, as (type, account, amount)."""
    return [
        (type(e).__name__, p.account, p.amount)
        for e in member.collect_events()
        for p in postings_for(e)
    ]


def only(member: Member) -> Any:
    [event] = member.collect_events()
    return event


def test_an_appeal_is_decided_by_another_approver_and_the_difference_is_payable(
    approved_1000: Member, nanyang: Period
) -> None:
    member = approved_1000
    member.appeal_claim("K1", "the bill left out a stay", "alice", ON)
    assert only(member).grounds == "the bill left out a stay"
    with pytest.raises(DutyRefused, match="bob may not reassess claim K1: bob decided it"):
        member.reassess_claim("K1", nanyang, "5000", "second bill", "bob", LATER)
    with pytest.raises(DutyRefused, match="alice submitted it"):
        member.reassess_claim("K1", nanyang, "5000", "second bill", "alice", LATER)
    assert member.reassess_claim("K1", nanyang, "5000", "second bill", "carol", LATER) == D(2000)
    [reassessed] = member.collect_events()
    assert (reassessed.previous, reassessed.amount, reassessed.difference) == (
        D(1000),
        D(2000),
        D(1000),
    )
    assert (reassessed.eligible, reassessed.status, reassessed.on_appeal) == (
        D(5000),
        "approved",
        True,
    )
    assert reassessed.breakdown["benefit"] == "2000.00"
    assert [(p.account, p.amount) for p in postings_for(reassessed)] == [
        (BENEFIT_EXPENSE, D(1000)),
        (BENEFITS_PAYABLE, D(-1000)),
    ]
    claim = member.claim("K1")
    assert (claim.approved, claim.payable, claim.appeal, claim.decided_by) == (
        D(2000),
        D(2000),
        None,
        "carol",
    )
    assert member.enrolment(1).approved == D(2000)


def test_an_appeal_against_a_rejection_can_approve_the_claim(
    nanyang: Period, paid_up_member: Callable[..., Member]
) -> None:
    member = paid_up_member(nanyang)
    member.submit_claim("K1", nanyang, "3000", "alice", ON)
    member.reject_claim("K1", "not a covered illness", "bob", ON)
    member.appeal_claim("K1", "it is covered", "alice", ON)
    assert member.reassess_claim("K1", nanyang, D(3000), "covered after all", "carol", ON) == D(
        1000
    )
    assert member.claim("K1").status == "approved"
    member.collect_events()
    member.appeal_claim("K1", "more", "alice", ON)
    member.reassess_claim("K1", nanyang, D(3000), "upheld", "bob", ON)
    upheld = member.collect_events()[-1]
    assert (upheld.difference, upheld.status, postings_for(upheld)) == (D(0), "approved", [])


def test_a_claim_the_policy_rejected_may_be_reassessed_by_any_approver_but_its_submitter(
    nanyang: Period, paid_up_member: Callable[..., Member]
) -> None:
    member = paid_up_member(nanyang)
    member.submit_claim("K1", nanyang, "800", "alice", ON)
    member.adjudicate_claim("K1", nanyang, ON)
    member.appeal_claim("K1", "the bill was 1,800", "alice", ON)
    member.reassess_claim("K1", nanyang, "1800", "bill corrected", "bob", ON)
    assert (member.claim("K1").status, member.claim("K1").approved) == ("approved", D(400))


def test_appeals_are_refused_on_claims_undecided_twice_open_or_without_grounds(
    approved_1000: Member, nanyang: Period
) -> None:
    member = approved_1000
    member.submit_claim("K2", nanyang, "3000", "alice", ON)
    with pytest.raises(ClaimError, match="'K2' is submitted: only a decision"):
        member.appeal_claim("K2", "why", "alice", ON)
    with pytest.raises(FieldError, match="an appeal needs its grounds") as missing:
        member.appeal_claim("K1", "  ", "alice", ON)
    assert missing.value.field == "grounds"
    with pytest.raises(DateOutOfOrder):
        member.appeal_claim("K1", "why", "alice", date(2025, 5, 1))
    with pytest.raises(ClaimError, match="'K1' has no appeal open"):
        member.reassess_claim("K1", nanyang, "5000", "why", "carol", ON)
    member.appeal_claim("K1", "why", "alice", ON)
    with pytest.raises(Conflict, match="already under appeal: why"):
        member.appeal_claim("K1", "again", "alice", ON)
    with pytest.raises(Conflict, match="under appeal: decide the appeal"):
        member.correct_claim("K1", nanyang, "2000", "duplicate", "carol", ON)
    with pytest.raises(FieldError, match="needs a reason"):
        member.reassess_claim("K1", nanyang, "5000", "", "carol", ON)
    assert [type(e).__name__ for e in member.collect_events()] == [
        "ClaimSubmitted",
        "ClaimAppealed",
    ]


def test_reducing_an_unpaid_approval_takes_it_off_what_is_payable(
    approved_1000: Member, nanyang: Period
) -> None:
    member = approved_1000
    assert member.correct_claim("K1", nanyang, "2000", "insurance re-settled", "carol", ON) == D(
        500
    )
    assert entries(member) == [
        ("ClaimReassessed", BENEFIT_EXPENSE, D(-500)),
        ("ClaimReassessed", BENEFITS_PAYABLE, D(500)),
    ]
    claim = member.claim("K1")
    assert (claim.approved, claim.payable, claim.receivable) == (D(500), D(500), D(0))


def test_reversing_a_paid_claim_leaves_the_payment_to_recover_then_collected(
    approved_1000: Member, nanyang: Period
) -> None:
    member = approved_1000
    member.make_payout("K1", "600", "B-1", "dan", ON)
    member.collect_events()
    assert member.correct_claim("K1", nanyang, None, "duplicate settlement", "carol", ON) == 0
    reversed_ = entries(member)
    assert reversed_ == [
        ("ClaimReassessed", BENEFIT_EXPENSE, D(-1000)),
        ("ClaimReassessed", RECOVERY_RECEIVABLE, D(600)),
        ("ClaimReassessed", BENEFITS_PAYABLE, D(400)),
    ]
    claim = member.claim("K1")
    assert (claim.status, claim.payable, claim.receivable) == ("reversed", D(0), D(600))
    assert member.enrolment(1).approved == 0
    with pytest.raises(ClaimError, match="'K1' is reversed, not approved"):
        member.make_payout("K1", None, "B-2", "dan", ON)
    with pytest.raises(Conflict, match=r"700\.00 collected, but 600\.00 is to be recovered"):
        member.collect_recovery("K1", "700", "RC-1", "dan", ON)
    with pytest.raises(Conflict, match="receipt 'R-M1' already recorded"):
        member.collect_recovery("K1", "100", "R-M1", "dan", ON)
    assert member.collect_recovery("K1", "250", "RC-1", "dan", ON) == D(250)
    assert member.collect_recovery("K1", None, "RC-2", "dan", ON) == D(350)
    assert entries(member) == [
        ("RecoveryCollected", BANK, D(250)),
        ("RecoveryCollected", RECOVERY_RECEIVABLE, D(-250)),
        ("RecoveryCollected", BANK, D(350)),
        ("RecoveryCollected", RECOVERY_RECEIVABLE, D(-350)),
    ]
    with pytest.raises(ClaimError, match="nothing is to be recovered"):
        member.collect_recovery("K1", None, "RC-3", "dan", ON)


def test_an_overpayment_not_recoverable_is_written_off_as_a_loss(
    approved_1000: Member, nanyang: Period
) -> None:
    member = approved_1000
    member.make_payout("K1", None, "B-1", "dan", ON)
    member.correct_claim("K1", nanyang, "2000", "fraud: a stay invented", "carol", ON)
    member.collect_recovery("K1", "100", "RC-1", "dan", ON)
    member.collect_events()
    with pytest.raises(FieldError, match="a write-off needs a reason"):
        member.write_off_recovery("K1", "", "carol", ON)
    assert member.write_off_recovery("K1", "member cannot be found", "carol", LATER) == D(400)
    assert entries(member) == [
        ("RecoveryWrittenOff", RECOVERIES_WRITTEN_OFF, D(400)),
        ("RecoveryWrittenOff", RECOVERY_RECEIVABLE, D(-400)),
    ]
    assert (member.claim("K1").receivable, member.claim("K1").payable) == (0, 0)


def test_money_the_bank_returns_after_a_reduction_settles_the_overpayment_first(
    approved_1000: Member, nanyang: Period
) -> None:
    member = approved_1000
    member.make_payout("K1", "300", "B-1", "dan", ON)
    member.make_payout("K1", "700", "B-2", "dan", ON)
    member.correct_claim("K1", nanyang, "2000", "insurance re-settled", "carol", ON)
    member.collect_events()
    assert member.claim("K1").receivable == D(500)
    member.return_payout("K1", "B-2", "account closed", "dan", LATER)
    assert entries(member) == [
        ("PayoutReturned", BANK, D(700)),
        ("PayoutReturned", RECOVERY_RECEIVABLE, D(-500)),
        ("PayoutReturned", BENEFITS_PAYABLE, D(-200)),
    ]
    assert (member.claim("K1").receivable, member.claim("K1").payable) == (0, D(200))


def test_a_rise_after_a_reduction_settles_the_overpayment_before_anything_is_payable(
    approved_1000: Member, nanyang: Period
) -> None:
    member = approved_1000
    member.make_payout("K1", None, "B-1", "dan", ON)
    member.correct_claim("K1", nanyang, "2000", "insurance re-settled", "carol", ON)
    member.appeal_claim("K1", "the first bill was right", "alice", ON)
    member.collect_events()
    member.reassess_claim("K1", nanyang, "4000", "a larger bill", "bob", ON)
    assert entries(member) == [
        ("ClaimReassessed", BENEFIT_EXPENSE, D(1000)),
        ("ClaimReassessed", RECOVERY_RECEIVABLE, D(-500)),
        ("ClaimReassessed", BENEFITS_PAYABLE, D(-500)),
    ]
    assert (member.claim("K1").receivable, member.claim("K1").payable) == (0, D(500))


def test_a_reduction_frees_the_cap_for_later_claims(
    nanyang: Period, paid_up_member: Callable[..., Member]
) -> None:
    member = paid_up_member(nanyang)
    member.submit_claim("K1", nanyang, "201000", "alice", ON)
    assert member.approve_claim("K1", nanyang, "bob", ON).benefit == D(100000)
    member.submit_claim("K2", nanyang, "3000", "alice", ON)
    assert member.assess_claim("K2", nanyang.policy.benefit).benefit == 0
    member.correct_claim("K1", nanyang, "101000", "duplicate stay", "carol", ON)
    assert member.enrolment(1).approved == D(50000)
    assert member.approve_claim("K2", nanyang, "bob", ON).benefit == D(1000)


def test_a_reassessment_uses_the_cap_left_besides_the_claim_itself(
    nanyang: Period, paid_up_member: Callable[..., Member]
) -> None:
    member = paid_up_member(nanyang)
    member.submit_claim("K1", nanyang, "101000", "alice", ON)
    member.approve_claim("K1", nanyang, "bob", ON)
    member.submit_claim("K2", nanyang, "81000", "alice", ON)
    member.approve_claim("K2", nanyang, "bob", ON)
    member.appeal_claim("K1", "a second stay", "alice", ON)
    assert member.reassess_claim("K1", nanyang, "201000", "both stays", "carol", ON) == D(60000)
    assert member.enrolment(1).approved == D(100000)


def test_a_correction_must_change_something_and_only_corrects_approvals(
    approved_1000: Member, nanyang: Period
) -> None:
    member = approved_1000
    with pytest.raises(ClaimError, match="the correction changes nothing"):
        member.correct_claim("K1", nanyang, "3000", "checked", "carol", ON)
    with pytest.raises(DutyRefused, match="alice submitted it"):
        member.correct_claim("K1", nanyang, None, "duplicate", "alice", ON)
    member.submit_claim("K2", nanyang, "3000", "alice", ON)
    with pytest.raises(ClaimError, match="'K2' is submitted, not approved"):
        member.correct_claim("K2", nanyang, None, "duplicate", "carol", ON)
    assert [type(e).__name__ for e in member.collect_events()] == ["ClaimSubmitted"]


def test_a_reversal_can_be_appealed_and_the_state_folded_from_the_events_agrees(
    nanyang: Period,
) -> None:
    member = Member.register("M1", "alice", ON)
    member.enrol(nanyang, "C1", "U1", None, "alice", nanyang.start)
    member.pay_premium(1, dict(nanyang.policy.funding), "R-1", "alice", ON)
    member.submit_claim("K1", nanyang, "3000", "alice", ON)
    member.approve_claim("K1", nanyang, "bob", ON)
    member.make_payout("K1", None, "B-1", "dan", ON)
    member.correct_claim("K1", nanyang, None, "fraud suspected", "carol", ON)
    member.collect_recovery("K1", "400", "RC-1", "dan", ON)
    member.appeal_claim("K1", "the stay was real", "alice", ON)
    member.reassess_claim("K1", nanyang, "3000", "the hospital confirmed it", "bob", LATER)
    claim = member.claim("K1")
    assert (claim.status, claim.approved, claim.receivable, claim.payable) == (
        "approved",
        D(1000),
        0,
        D(400),
    )
    folded = MemberState.folded(member.collect_events())
    assert (folded.claims, folded.enrolments) == (member.claims, member.enrolments)


def test_money_back_after_a_write_off_takes_the_write_off_back_before_anything_is_payable(
    approved_1000: Member, nanyang: Period
) -> None:
    member = approved_1000
    member.make_payout("K1", None, "B-1", "dan", ON)
    member.correct_claim("K1", nanyang, "1800", "insurance re-settled", "carol", ON)  # 400
    member.write_off_recovery("K1", "the member cannot pay", "carol", ON)
    member.collect_events()
    member.return_payout("K1", "B-1", "account closed", "dan", LATER)
    assert entries(member) == [
        ("PayoutReturned", BANK, D(1000)),
        ("PayoutReturned", RECOVERIES_WRITTEN_OFF, D(-600)),
        ("PayoutReturned", BENEFITS_PAYABLE, D(-400)),
    ]
    claim = member.claim("K1")
    assert (claim.payable, claim.written_off) == (D(400), 0)  # the benefit, not 1,000
    with pytest.raises(PayoutExceedsPayable):
        member.make_payout("K1", "1000", "B-2", "dan", LATER)


def test_a_rise_after_a_write_off_takes_the_write_off_back_first(
    approved_1000: Member, nanyang: Period
) -> None:
    member = approved_1000
    member.make_payout("K1", None, "B-1", "dan", ON)
    member.correct_claim("K1", nanyang, "1800", "insurance re-settled", "carol", ON)
    member.write_off_recovery("K1", "the member cannot pay", "carol", ON)
    member.appeal_claim("K1", "the first bill was right", "alice", ON)
    member.collect_events()
    member.reassess_claim("K1", nanyang, "3000", "the first bill holds", "bob", ON)
    assert entries(member) == [
        ("ClaimReassessed", BENEFIT_EXPENSE, D(600)),
        ("ClaimReassessed", RECOVERIES_WRITTEN_OFF, D(-600)),
    ]
    assert (member.claim("K1").payable, member.claim("K1").written_off) == (0, 0)


def test_what_the_fund_owes_back_on_a_reversed_claim_can_be_paid(
    approved_1000: Member, nanyang: Period
) -> None:
    member = approved_1000
    member.make_payout("K1", None, "B-1", "dan", ON)
    member.confirm_payout("K1", "B-1", "dan", ON)
    member.correct_claim("K1", nanyang, None, "fraud suspected", "carol", ON)
    member.collect_recovery("K1", None, "RC-1", "dan", ON)
    member.return_payout("K1", "B-1", "the bank reversed the credit", "dan", LATER)
    assert member.claim("K1").payable == D(1000)  # the money collected, owed back
    assert member.make_payout("K1", None, "B-2", "dan", LATER) == D(1000)


def test_a_correction_never_raises_a_benefit(approved_1000: Member, nanyang: Period) -> None:
    with pytest.raises(ClaimError, match=r"would raise it from 1000\.00 to 24500\.00"):
        approved_1000.correct_claim("K1", nanyang, "50000", "a bigger bill", "carol", ON)
    assert approved_1000.collect_events() == []
