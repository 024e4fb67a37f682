"""The decisions as functions of plain values decide what the Member aggregate decides.

For any policy, member and sequence of requests, the pure functions (folding their own
plain state, as a bulk path would) and the aggregate's commands give the same events with
the same fields, or the same refusal (its class and message, and nothing recorded); the
aggregate's state stays equal to the plain one; and the annual cap is never exceeded.
"""

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import benefit_rules, cents

from domain.duties import POLICY
from domain.errors import LedgerError
from domain.member import (
    NOT_ATTESTED,
    Adjudication,
    Claim,
    Enrolment,
    Member,
    MemberDetails,
    Settlement,
    adjudicate,
    decide_approval,
    decide_enrolment,
    decide_premium,
    decide_rejection,
    decide_submission,
)
from domain.money import ZERO
from domain.policy import BenefitRule, Policy, cap_left
from domain.scheme import Period, Scheme

OpenScheme = Callable[..., Scheme]
D = Decimal
CLERK, CHECKER = "alice", "bob"
FUNDING = {"worker": D("1.00"), "union:city": D("49.00")}


class Refused(NamedTuple):
    error: type[LedgerError]
    message: str


def outcome(act: Callable[..., Any], *args: Any) -> Any:
    """What an act returns, or how it refused, to compare."""
    try:
        return act(*args)
    except LedgerError as e:
        return Refused(type(e), str(e))


def recorded(member: Member) -> list[tuple[str, dict[str, Any]]]:
    """The member's pending events, each as its name and its fields but the envelope."""
    envelope = {"originator_id", "originator_version", "timestamp"}
    return [
        (type(e).__name__, {k: v for k, v in vars(e).items() if k not in envelope})
        for e in member.collect_events()
    ]


def refused_alike(pure: Any, member: Member, command: Callable[..., Any], *args: Any) -> bool:
    """Whether the command refused as the pure decision did (same error, same message,
    nothing recorded); False when both decided, and the caller compares what was recorded."""
    if isinstance(pure, Refused):
        assert outcome(command, *args) == pure
        assert recorded(member) == []
        return True
    command(*args)
    return False


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    rule = draw(benefit_rules())
    return Policy.model_validate(
        {
            "version": "drawn-1",
            "premium": "50.00",
            "funding": FUNDING,
            "benefit": rule.model_dump() | {"claim_deadline_days": draw(st.integers(0, 400))},
            "deficit_sharing": {"city_share": "0.50"},
        }
    )


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Good values four times in five, so that most requests get as far as a decision."""
    return st.integers(0, 4).flatmap(lambda n: bad if n == 0 else good)


groups = st.sampled_from([None, "group"])
standings = mostly(st.just("paid up"), st.sampled_from(["unpaid", "not enrolled"]))
claim_ids = st.sampled_from(["K1", "K2", "K3"])
eligible_amounts = mostly(
    cents(1, 300_000_00), cents(-100_00, 0) | st.sampled_from(["1.005", "x", ""])
)


def member_in(period: Period, standing: str, group: str | None) -> Member:
    member = Member.register("M1", CLERK, period.start)
    if standing != "not enrolled":
        member.enrol(period, "C1", "U1", group, CLERK, period.start)
    if standing == "paid up":
        member.pay_premium(1, dict(FUNDING), "R-1", CLERK, period.start)
    member.collect_events()
    return member


# Claims: submitted, then decided by the policy or by a person


submissions = st.tuples(
    eligible_amounts,
    st.integers(-3, 500),
    st.none() | st.integers(-2, 120),
    st.none() | st.tuples(st.integers(-1, 30), cents(-100_00, 50_000_00), cents(0, 50_000_00)),
)
decisions = st.tuples(
    st.sampled_from(["policy", "approve", "reject"]),
    mostly(st.integers(0, 30), st.integers(-3, -1)),
    st.sampled_from(["not covered", " duplicate bill ", "  "]),
)
steps = st.tuples(claim_ids, mostly(submissions, st.none()), mostly(decisions, st.none()))
"""A claim submitted, then decided (as a settlement is): either may be missing, so that
some claims are decided later or again, or never submitted."""


def settlement_of(
    claim_id: str, eligible: object, on: date, figures: tuple[int, Decimal, Decimal] | None
) -> Settlement | None:
    """A settlement whose costs are drawn around the eligible amount: some do not add up."""
    if figures is None:
        return None
    stay, over, insurance = figures
    base = eligible if isinstance(eligible, Decimal) else ZERO
    admitted = on - timedelta(days=stay)
    return Settlement(claim_id, admitted, on, base + insurance + over, insurance)


def submit(
    member: Member,
    period: Period,
    enrolment: Enrolment | None,
    claims: dict[str, Claim],
    claim_id: str,
    eligible: object,
    day: int,
    received: int | None,
    figures: tuple[int, Decimal, Decimal] | None,
) -> None:
    """A claim submitted both ways; the plain claims gain it where both accept it."""
    on = period.start + timedelta(days=day)
    received_on = None if received is None else on + timedelta(days=received)
    settlement = settlement_of(claim_id, eligible, on, figures)
    claim = outcome(
        decide_submission,
        *(claim_id, "M1", period, enrolment, eligible, CLERK, on, settlement, received_on),
        claims,
    )
    args = (claim_id, period, eligible, CLERK, on, settlement, received_on)
    if refused_alike(claim, member, member.submit_claim, *args):
        return
    assert enrolment is not None
    assert recorded(member) == [
        (
            "ClaimSubmitted",
            {
                "claim_id": claim_id,
                "period": 1,
                "county": enrolment.county,
                "eligible": claim.eligible,
                "actor": CLERK,
                "effective_date": on,
                "settlement": None if settlement is None else settlement.as_dict(),
                "received_on": received_on,
                "item": None,
                "days": None,
            },
        )
    ]
    claims[claim_id] = claim


def decide(
    member: Member,
    period: Period,
    enrolment: Enrolment,
    claims: dict[str, Claim],
    claim: Claim,
    how: str,
    days: int,
    reason: str,
) -> Enrolment:
    """A submitted claim decided both ways, by the policy or by a person; the plain claims
    and the enrolment (the cap used) after it."""
    on = claim.submitted_on + timedelta(days=days)
    rule, actor = period.policy.benefit, CHECKER
    command: Callable[..., Any]
    if how == "policy":
        decision, actor = outcome(adjudicate, claim, enrolment, rule, on), POLICY
        command, args = member.adjudicate_claim, (claim.claim_id, period, on)
    elif how == "approve":
        decision = outcome(decide_approval, claim, enrolment, rule, on)
        command, args = member.approve_claim, (claim.claim_id, period, CHECKER, on)
    else:
        decision = outcome(decide_rejection, claim, reason, on)
        command, args = member.reject_claim, (claim.claim_id, reason, CHECKER, on)
    if refused_alike(decision, member, command, *args):
        return enrolment
    if isinstance(decision, Adjudication):
        decision = decision.rejected_for or decision.calculation
    if isinstance(decision, str):  # the reason the rejection records
        assert recorded(member) == [
            (
                "ClaimRejected",
                {
                    "claim_id": claim.claim_id,
                    "period": 1,
                    "reason": decision,
                    "actor": actor,
                    "effective_date": on,
                },
            )
        ]
        claims[claim.claim_id] = replace(claim, status="rejected", decided_on=on, decided_by=actor)
        return enrolment
    assert recorded(member) == [
        (
            "ClaimApproved",
            {
                "claim_id": claim.claim_id,
                "period": 1,
                "county": enrolment.county,
                "amount": decision.benefit,
                "policy_version": "drawn-1",
                "breakdown": decision.as_dict(),
                "actor": actor,
                "effective_date": on,
            },
        )
    ]
    claims[claim.claim_id] = replace(
        claim, status="approved", decided_on=on, decided_by=actor, approved=decision.benefit
    )
    return enrolment.after_approval(decision.benefit)


@settings(max_examples=300, deadline=None)
@given(
    policies(),
    standings,
    groups,
    st.lists(steps, min_size=1, max_size=8),
)
def test_claims_are_decided_alike_by_the_pure_functions_and_the_aggregate(
    open_scheme: OpenScheme,
    policy: Policy,
    standing: str,
    group: str | None,
    steps: list[tuple[str, tuple[Any, ...] | None, tuple[Any, ...] | None]],
) -> None:
    """Submitted, then decided by the policy or by a person, with any dates and amounts,
    one claim after another; the plain state is folded as a bulk path would."""
    period = open_scheme(policy=policy).period(1)
    group = group if group in policy.benefit.groups else None
    member = member_in(period, standing, group)
    enrolment = member.enrolments.get(1)
    claims: dict[str, Claim] = {}
    for claim_id, submission, decision in steps:
        if submission is not None:
            submit(member, period, enrolment, claims, claim_id, *submission)
        if decision is not None and claim_id in claims:
            assert enrolment is not None
            enrolment = decide(member, period, enrolment, claims, claims[claim_id], *decision)
        assert member.enrolments.get(1) == enrolment
        assert member.claims == claims
    cap = policy.benefit.cap_for(group)
    if enrolment is not None and cap is not None:
        assert enrolment.approved <= cap


@settings(max_examples=300)
@given(benefit_rules(), groups, st.lists(cents(0, 300_000_00), max_size=12))
def test_the_annual_cap_is_never_exceeded_across_a_sequence_of_claims(
    rule: BenefitRule, group: str | None, amounts: list[Decimal]
) -> None:
    """Claims decided one after another, each against what the ones before used: every
    benefit is within what is left of the cap, and a capped one takes all that is left."""
    group = group if group in rule.groups else None
    cap = rule.group_caps.get(group, rule.annual_cap) if group else rule.annual_cap
    enrolment = Enrolment("C1", "U1", group, dict(FUNDING), date(2025, 1, 1), dict(FUNDING))
    on, total = date(2025, 6, 1), ZERO
    for n, amount in enumerate(amounts):
        claim = Claim(f"K{n}", 1, amount, CLERK, on)
        left = None if cap is None else max(ZERO, cap - enrolment.approved)
        assert cap_left(rule, group, enrolment.approved) == left
        decision = adjudicate(claim, enrolment, rule, on)
        benefit = decision.calculation.benefit
        assert decision.calculation.cap_remaining == left
        assert (decision.rejected_for is None) == (benefit > 0)
        if left is not None:
            assert benefit == min(decision.calculation.before_cap, left)
            if decision.calculation.cap_applied:
                assert enrolment.approved + benefit == cap
        enrolment, total = enrolment.after_approval(benefit), total + benefit
    assert enrolment.approved == total
    if cap is not None:
        assert enrolment.approved <= cap


# Premiums and enrolments


payments = st.tuples(
    mostly(
        st.fixed_dictionaries(
            {}, optional={"worker": cents(0, 1_00), "union:city": cents(0, 49_00)}
        ),
        st.dictionaries(
            st.sampled_from(["worker", "employer"]),
            cents(-1_00, 2_00) | st.sampled_from(["0.001", "x"]),
        ),
    ),
    mostly(st.sampled_from(["R-1", " R-2 ", "R-2", "R-3"]), st.sampled_from(["", "R\x01"])),
)


@settings(max_examples=300, deadline=None)
@given(mostly(st.just(True), st.just(False)), st.lists(payments, min_size=1, max_size=5))
def test_premiums_are_decided_alike_by_the_pure_function_and_the_aggregate(
    open_scheme: OpenScheme, enrolled: bool, steps: list[tuple[dict[str, object], str]]
) -> None:
    period = open_scheme("pinghu").period(1)
    member = member_in(period, "unpaid" if enrolled else "not enrolled", None)
    enrolment = member.enrolments.get(1)
    receipts: set[str] = set()
    for amounts, receipt in steps:
        pure = outcome(decide_premium, "M1", 1, enrolment, amounts, receipt, receipts)
        command = member.pay_premium
        if refused_alike(pure, member, command, 1, amounts, receipt, CLERK, period.start):
            continue
        assert enrolment is not None
        assert recorded(member) == [
            (
                "PremiumPaid",
                {
                    "period": 1,
                    "county": "C1",
                    "amounts": pure.amounts,
                    "receipt": pure.receipt,
                    "actor": CLERK,
                    "effective_date": period.start,
                },
            )
        ]
        enrolment = enrolment.after_premium(pure.amounts)
        receipts.add(pure.receipt)
        assert member.enrolments.get(1) == enrolment
        assert member.receipts == receipts


enrolments = st.tuples(
    st.sampled_from([1, 2]),
    mostly(st.sampled_from(["U1", " U1 "]), st.sampled_from(["  ", "U\x07"])),
    mostly(st.sampled_from([None, "hardship"]), st.just("nobody")),
    st.integers(-3, 1),
    mostly(st.sampled_from([None, "13800000000"]), st.just("555")),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(enrolments, min_size=1, max_size=4))
def test_enrolments_are_decided_alike_by_the_pure_function_and_the_aggregate(
    open_scheme: OpenScheme, steps: list[tuple[int, str, str | None, int, str | None]]
) -> None:
    scheme = open_scheme("beijing", periods=(1, 2))
    member = Member.register("M1", CLERK, scheme.period(1).start)
    member.collect_events()
    enrolled_in: dict[int, Enrolment] = {}
    for number, unit, group, days, phone in steps:
        period = scheme.period(number)
        on = period.end + timedelta(days=days)
        details = MemberDetails(phone=phone)
        args = (period, "C1", unit, group, on, details, NOT_ATTESTED)
        pure = outcome(decide_enrolment, "M1", *args, enrolled_in)
        command = member.enrol
        if refused_alike(pure, member, command, period, "C1", unit, group, CLERK, on, details):
            continue
        assert recorded(member) == [
            (
                "Enrolled",
                {
                    "period": number,
                    "county": "C1",
                    "unit": pure.unit,
                    "group": pure.group,
                    "premium_due": dict(pure.premium_due),
                    "actor": CLERK,
                    "effective_date": on,
                    **vars(details),
                    "roster_line": None,
                    **vars(NOT_ATTESTED),
                },
            )
        ]
        enrolled_in[number] = pure
        assert member.enrolments == enrolled_in
