"""Posting rules: each money-moving event makes a balanced entry on the documented
accounts; the others make none; and any valid history of a member keeps the books square."""

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import event as note_event
from hypothesis import given, settings
from hypothesis import strategies as st
from sample_policies import PINGHU

from domain.accounts import (
    BANK,
    BENEFIT_EXPENSE,
    BENEFITS_CARRIED,
    BENEFITS_DEFERRED,
    BENEFITS_PAYABLE,
    CITY_POOL,
    COUNTY_CONTRIBUTIONS,
    DEFICIT_TRANSFERS_IN,
    DEFICIT_TRANSFERS_OUT,
    RECOVERIES_WRITTEN_OFF,
    RECOVERY_RECEIVABLE,
    Posting,
    account_exists,
)
from domain.errors import ClaimError
from domain.member import ClaimIndex, Member
from domain.money import round_yuan
from domain.policy import Policy
from domain.postings import postings_for
from domain.scheme import CountyResult, Period, Scheme

OpenScheme = Callable[..., Scheme]
PaidUpMember = Callable[..., Member]
D = Decimal
ON = date(2025, 6, 1)
CLOSED_ON = date(2026, 1, 15)


def postings(events: Iterable[Any]) -> list[Posting]:
    """All the postings of the events, each event's entry checked to balance."""
    made = []
    for event in events:
        entry = postings_for(event)
        assert sum((p.amount for p in entry), D(0)) == 0, type(event).__name__
        assert all(p.amount != 0 for p in entry), type(event).__name__
        assert all(account_exists(p.account) for p in entry), type(event).__name__
        made.extend(entry)
    return made


def lines(events: Iterable[Any]) -> list[tuple[str, str, Decimal]]:
    return [(p.entity, p.account, p.amount) for p in postings(events)]


def balance(made: Iterable[Posting], entity: str, account: str) -> Decimal:
    return sum((p.amount for p in made if (p.entity, p.account) == (entity, account)), D(0))


@pytest.fixture
def period(open_scheme: OpenScheme) -> Period:
    return open_scheme("pinghu").period(1)


@pytest.fixture
def claim_of_100(period: Period, paid_up_member: PaidUpMember) -> Member:
    """A member in county C2 with claim K1 approved for 100.00 and no pending events."""
    member = paid_up_member(period, county="C2")
    member.submit_claim("K1", period, "1100", "alice", ON)
    member.approve_claim("K1", period, "bob", ON)
    member.collect_events()
    return member


# Each event's entry


def test_a_premium_payment_debits_the_bank_and_credits_income_by_funding_source(
    period: Period,
) -> None:
    member = Member("M1", "alice", ON)
    member.enrol(period, "C2", "U1", None, "alice", ON)
    member.collect_events()
    member.pay_premium(1, {"worker": "1", "union:city": "49"}, "R-1", "alice", ON)
    made = postings(member.collect_events())
    assert [(p.entity, p.account, p.amount) for p in made] == [
        ("C2", BANK, D("50.00")),
        ("C2", "premium_income:union:city", D("-49.00")),
        ("C2", "premium_income:worker", D("-1.00")),
    ]
    assert {(p.period, p.effective_date) for p in made} == {(1, ON)}


def test_an_approval_books_the_benefit_as_expense_and_payable(
    period: Period, paid_up_member: PaidUpMember
) -> None:
    member = paid_up_member(period, county="C2")
    member.submit_claim("K1", period, "20000", "alice", ON)
    member.collect_events()
    member.approve_claim("K1", period, "bob", date(2025, 6, 9))
    made = postings(member.collect_events())
    assert [(p.entity, p.account, p.amount) for p in made] == [
        ("C2", BENEFIT_EXPENSE, D("10380.00")),
        ("C2", BENEFITS_PAYABLE, D("-10380.00")),
    ]
    assert {(p.period, p.effective_date) for p in made} == {(1, date(2025, 6, 9))}


def test_an_approval_of_nothing_recorded_before_it_was_refused_makes_no_postings(
    period: Period, paid_up_member: PaidUpMember
) -> None:
    member = paid_up_member(period)
    member.submit_claim("K1", period, "500", "alice", ON)
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
    assert lines(member.collect_events()) == []


def test_a_payout_settles_the_payable_from_the_bank(claim_of_100: Member) -> None:
    claim_of_100.make_payout("K1", "40", "B-1", "carol", ON)
    assert lines(claim_of_100.collect_events()) == [
        ("C2", BENEFITS_PAYABLE, D("40.00")),
        ("C2", BANK, D("-40.00")),
    ]


def test_a_returned_payout_puts_the_money_back_and_the_benefit_payable_again(
    claim_of_100: Member,
) -> None:
    claim_of_100.make_payout("K1", "40", "B-1", "carol", ON)
    claim_of_100.collect_events()
    claim_of_100.return_payout("K1", "B-1", "bounced", "carol", ON)
    assert lines(claim_of_100.collect_events()) == [
        ("C2", BANK, D("40.00")),
        ("C2", BENEFITS_PAYABLE, D("-40.00")),
    ]


def close_period_1(scheme: Scheme, **deficits: str) -> list[Any]:
    """Close period 1 with the given county deficits (the other counties break even)."""
    figures = {c: CountyResult(D(0), D(deficits.get(c, "0"))) for c in scheme.counties}
    scheme.close_period(1, figures, "bob", CLOSED_ON)
    return list(scheme.collect_events())


def test_a_shared_deficit_moves_the_city_share_from_the_city_pool_and_the_rest_from_the_county(
    open_scheme: OpenScheme,
) -> None:
    events = close_period_1(open_scheme("pinghu"), C1="100.01")
    made = postings(events)
    assert [(p.entity, p.account, p.amount) for p in made] == [
        (CITY_POOL, DEFICIT_TRANSFERS_OUT, D("50.01")),
        (CITY_POOL, BANK, D("-50.01")),
        ("C1", BANK, D("50.01")),
        ("C1", DEFICIT_TRANSFERS_IN, D("-50.01")),
        ("C1", BANK, D("50.00")),
        ("C1", COUNTY_CONTRIBUTIONS, D("-50.00")),
    ]
    assert {(p.period, p.effective_date) for p in made} == {(1, CLOSED_ON)}
    assert balance(made, "C1", BANK) == D("100.01")


def test_a_deficit_the_city_bears_in_full_takes_no_county_contribution(
    open_scheme: OpenScheme,
) -> None:
    assert lines(close_period_1(open_scheme("nanyang"), C2="250.00")) == [
        (CITY_POOL, DEFICIT_TRANSFERS_OUT, D("250.00")),
        (CITY_POOL, BANK, D("-250.00")),
        ("C2", BANK, D("250.00")),
        ("C2", DEFICIT_TRANSFERS_IN, D("-250.00")),
    ]


def test_a_deficit_with_a_city_share_of_0_makes_no_zero_amount_postings(
    open_scheme: OpenScheme,
) -> None:
    data = PINGHU.model_dump(mode="json")
    data["deficit_sharing"]["city_share"] = "0"
    scheme = open_scheme(policy=Policy.model_validate(data))
    assert lines(close_period_1(scheme, C1="80.00")) == [
        ("C1", BANK, D("80.00")),
        ("C1", COUNTY_CONTRIBUTIONS, D("-80.00")),
    ]


def test_an_adjustment_debits_and_credits_the_named_accounts_of_the_entity(
    open_scheme: OpenScheme,
) -> None:
    scheme = open_scheme()
    scheme.post_adjustment(
        1, CITY_POOL, BANK, "premium_income:union:city", "9.99", "late", "carol", CLOSED_ON
    )
    made = postings(scheme.collect_events())
    assert [(p.entity, p.account, p.amount) for p in made] == [
        (CITY_POOL, BANK, D("9.99")),
        (CITY_POOL, "premium_income:union:city", D("-9.99")),
    ]
    assert {(p.period, p.effective_date) for p in made} == {(1, CLOSED_ON)}


def test_events_that_move_no_money_make_no_postings(paid_up_member: PaidUpMember) -> None:
    scheme = Scheme("Pinghu", "pinghu", {"C1": "A"}, "alice", date(2025, 1, 1))
    scheme.open_period(1, date(2025, 1, 1), date(2025, 12, 31), PINGHU, "alice", ON)
    scheme.close_period(1, {"C1": CountyResult(D("50"), D("10"))}, "bob", CLOSED_ON)
    member = Member("M1", "alice", ON)
    member.enrol(scheme.period(1), "C1", "U1", None, "alice", ON)
    member.pay_premium(1, {"worker": "1", "union:city": "49"}, "R-1", "alice", ON)
    member.submit_claim("K1", scheme.period(1), "900", "alice", ON)
    member.reject_claim("K1", "duplicate", "bob", ON)
    index = ClaimIndex("K1", "M1", "alice", ON)
    silent = [
        e
        for e in [*scheme.collect_events(), *member.collect_events(), *index.collect_events()]
        if type(e).__name__ != "PremiumPaid"
    ]
    assert [type(e).__name__ for e in silent] == [
        "Created",
        "PeriodOpened",
        "PeriodClosed",
        "Registered",
        "Enrolled",
        "ClaimSubmitted",
        "ClaimRejected",
        "Indexed",
    ]
    assert [postings_for(e) for e in silent] == [[]] * len(silent)


# Any valid history keeps the books square


class History:
    """Valid operations on members of one period, with what they should do to the books
    kept apart from the aggregates: the events recorded and the amounts per county."""

    def __init__(self, period: Period) -> None:
        self.period = period
        self.events: list[Any] = []
        self.premiums: dict[str, Decimal] = defaultdict(Decimal)
        self.approved: dict[str, Decimal] = defaultdict(Decimal)
        self.paid: dict[str, Decimal] = defaultdict(Decimal)
        self.collected: dict[str, Decimal] = defaultdict(Decimal)
        self.written_off: dict[str, Decimal] = defaultdict(Decimal)

    def record(self, member: Member) -> None:
        self.events.extend(member.collect_events())

    def enrol_and_pay(self, member_id: str, county: str, instalments: int) -> Member:
        """Enrol a member and pay each funding source's premium in a few instalments."""
        member = Member(member_id, "a", ON)
        member.enrol(self.period, county, "U1", None, "a", ON)
        for n, (source, due) in enumerate(sorted(self.period.policy.funding.items())):
            first = (due / instalments).quantize(D("0.01")) if instalments > 1 else due
            for part, amount in enumerate([first, due - first]):
                if amount > 0:
                    member.pay_premium(1, {source: amount}, f"R-{member_id}-{n}-{part}", "a", ON)
            self.premiums[county] += due
        self.record(member)
        return member

    def submit(self, member: Member, reference: str, eligible: Decimal) -> None:
        member.submit_claim(reference, self.period, eligible, "a", ON)

    def approve(self, member: Member, claim_id: str) -> None:
        """Approve, or reject a claim the policy gives nothing: it may not be approved."""
        if member.assess_claim(claim_id, self.period.policy.benefit).benefit == 0:
            with pytest.raises(ClaimError, match="reject it instead"):
                member.approve_claim(claim_id, self.period, "b", ON)
            self.reject(member, claim_id)
            return
        benefit = member.approve_claim(claim_id, self.period, "b", ON).benefit
        self.approved[member.enrolment(1).county] += benefit

    def reject(self, member: Member, claim_id: str) -> None:
        member.reject_claim(claim_id, "not eligible", "b", ON)

    def pay(self, member: Member, claim_id: str, amount: Decimal | None, reference: str) -> None:
        payable = member.claim(claim_id).payable
        paid = member.make_payout(claim_id, amount, reference, "c", ON)
        assert paid == (payable if amount is None else amount)
        self.paid[member.enrolment(1).county] += paid

    def return_payout(self, member: Member, claim_id: str, reference: str) -> None:
        before = member.claim(claim_id).written_off
        member.return_payout(claim_id, reference, "bounced", "c", ON)
        county = member.enrolment(1).county
        self.paid[county] -= member.claim(claim_id).payouts[reference]
        self.written_off[county] += member.claim(claim_id).written_off - before

    def appeal(self, member: Member, claim_id: str) -> None:
        member.appeal_claim(claim_id, "the member disagrees", "a", ON)

    def reassess(self, member: Member, claim_id: str, eligible: Decimal | None) -> None:
        """Decide the appeal (on a corrected eligible amount, or the claim's own), by an
        approver who did not decide the claim last."""
        claim = member.claim(claim_id)
        before, own = claim.approved, claim.eligible
        approver = "e" if claim.decided_by == "d" else "d"
        after = member.reassess_claim(
            claim_id, self.period, own if eligible is None else eligible, "again", approver, ON
        )
        county = member.enrolment(1).county
        self.approved[county] += after - before
        self.written_off[county] += member.claim(claim_id).written_off - claim.written_off

    def correct(self, member: Member, claim_id: str, eligible: Decimal | None) -> None:
        """Reverse the claim (eligible None) or decide it on a corrected amount."""
        before = member.claim(claim_id)
        try:
            after = member.correct_claim(claim_id, self.period, eligible, "wrong bill", "d", ON)
        except ClaimError as refused:
            assert "changes nothing" in str(refused) or "would raise it" in str(refused)
            return
        self.approved[member.enrolment(1).county] += after - before.approved

    def collect(self, member: Member, claim_id: str, amount: Decimal | None, receipt: str) -> None:
        owed = member.claim(claim_id).receivable
        collected = member.collect_recovery(claim_id, amount, receipt, "c", ON)
        assert collected == (owed if amount is None else amount)
        self.collected[member.enrolment(1).county] += collected

    def write_off(self, member: Member, claim_id: str) -> None:
        owed = member.claim(claim_id).receivable
        assert member.write_off_recovery(claim_id, "cannot be found", "d", ON) == owed
        self.written_off[member.enrolment(1).county] += owed


def cents(low: int, high: int) -> st.SearchStrategy[Decimal]:
    return st.integers(low, high).map(lambda n: D(n).scaleb(-2))


def take_a_step(history: History, member: Member, step: int, data: st.DataObject) -> None:
    """One valid operation on the member, drawn among those its state allows."""
    claims = list(member.claims.values())
    submitted = [c.claim_id for c in claims if c.status == "submitted"]
    payable = [c.claim_id for c in claims if c.payable > 0]
    returnable = [(c.claim_id, r) for c in claims for r in c.payouts if r not in c.returned]
    appealable = [c.claim_id for c in claims if c.status != "submitted" and c.appeal is None]
    appealed = [c.claim_id for c in claims if c.appeal is not None]
    correctable = [c.claim_id for c in claims if c.status == "approved" and c.appeal is None]
    owing = [c.claim_id for c in claims if c.receivable > 0]
    actions = ["submit"]
    actions += ["approve", "reject"] if submitted else []
    actions += ["pay"] if payable else []
    actions += ["return"] if returnable else []
    actions += ["appeal"] if appealable else []
    actions += ["reassess"] if appealed else []
    actions += ["correct"] if correctable else []
    actions += ["collect", "write off"] if owing else []
    action = data.draw(st.sampled_from(actions), label="action")
    note_event(action)
    if action == "submit":
        eligible = data.draw(cents(1, 300_000_00), label="eligible")
        history.submit(member, f"{member.member_id}-K{step}", eligible)
    elif action in ("approve", "reject"):
        claim_id = data.draw(st.sampled_from(submitted), label="claim")
        (history.approve if action == "approve" else history.reject)(member, claim_id)
    elif action == "pay":
        claim_id = data.draw(st.sampled_from(payable), label="claim")
        whole = int(member.claim(claim_id).payable * 100)
        amount = data.draw(st.none() | cents(1, whole), label="payout")
        history.pay(member, claim_id, amount, f"B{step}")
    elif action == "return":
        claim_id, reference = data.draw(st.sampled_from(returnable), label="payout")
        history.return_payout(member, claim_id, reference)
    elif action == "appeal":
        history.appeal(member, data.draw(st.sampled_from(appealable), label="claim"))
    elif action in ("reassess", "correct"):
        claim_id = data.draw(st.sampled_from(appealed if action == "reassess" else correctable))
        eligible = data.draw(st.none() | cents(1, 300_000_00), label="eligible")
        (history.reassess if action == "reassess" else history.correct)(member, claim_id, eligible)
    else:
        claim_id = data.draw(st.sampled_from(owing), label="claim")
        if action == "write off":
            history.write_off(member, claim_id)
        else:
            whole = int(member.claim(claim_id).receivable * 100)
            amount = data.draw(st.none() | cents(1, whole), label="recovered")
            history.collect(member, claim_id, amount, f"RC{step}")
    history.record(member)


@settings(max_examples=150, deadline=None)
@given(
    preset=st.sampled_from(["pinghu", "nanyang", "beijing"]),
    counties=st.lists(st.sampled_from(["C1", "C2"]), min_size=1, max_size=3),
    instalments=st.integers(1, 3),
    data=st.data(),
)
def test_any_history_of_members_balances_and_leaves_payable_what_is_owed_either_way(
    open_scheme: OpenScheme,
    preset: str,
    counties: list[str],
    instalments: int,
    data: st.DataObject,
) -> None:
    history = History(open_scheme(preset).period(1))
    members = [
        history.enrol_and_pay(f"M{n}", county, instalments) for n, county in enumerate(counties)
    ]
    for step in range(data.draw(st.integers(1, 40), label="steps")):
        which = data.draw(st.integers(0, len(members) - 1), label="member")
        take_a_step(history, members[which], step, data)

    made = postings(history.events)
    assert sum((p.amount for p in made), D(0)) == 0
    for county in ("C1", "C2"):
        approved, paid = history.approved[county], history.paid[county]
        collected, written_off = history.collected[county], history.written_off[county]
        payable = -balance(made, county, BENEFITS_PAYABLE)
        receivable = balance(made, county, RECOVERY_RECEIVABLE)
        assert payable - receivable == approved - paid + collected + written_off
        mine = [c for m in members if m.enrolment(1).county == county for c in m.claims.values()]
        assert payable == sum((c.payable for c in mine), D(0))
        assert receivable == sum((c.receivable for c in mine), D(0))
        assert balance(made, county, BENEFIT_EXPENSE) == approved
        assert balance(made, county, RECOVERIES_WRITTEN_OFF) == written_off
        assert balance(made, county, BANK) == history.premiums[county] - paid + collected
    cap = history.period.policy.benefit.annual_cap
    for member in members:
        for c in member.claims.values():  # nobody keeps more than a claim is worth
            assert c.written_off <= max(D(0), c.paid - c.collected - c.approved)
        used = sum((c.approved for c in member.claims.values()), D(0))
        assert member.enrolment(1).approved == used
        assert cap is None or used <= cap


@settings(max_examples=100, deadline=None)
@given(
    counties=st.lists(st.sampled_from(["C1", "C2"]), min_size=1, max_size=3),
    shortfall=st.sampled_from(["forfeit", "carry"]),
    rate=st.integers(0, 99).map(lambda n: D(n) / 100),
    release=st.booleans(),
    data=st.data(),
)
def test_a_pro_rating_pays_each_claim_at_the_rate_and_keeps_the_books_square(
    open_scheme: OpenScheme,
    counties: list[str],
    shortfall: str,
    rate: Decimal,
    release: bool,
    data: st.DataObject,
) -> None:
    """After any history, every claim still payable is paid at the rate, half up to the fen:
    what is held back leaves the period's benefit expense and is no longer payable; carried,
    it stays owed apart, until a later period releases it and bears its expense."""
    period = open_scheme("pinghu").period(1)
    sharing = period.policy.deficit_sharing.model_copy(update={"shortfall": shortfall})
    period.policy = period.policy.model_copy(update={"deficit_sharing": sharing})
    history = History(period)
    members = [history.enrol_and_pay(f"M{n}", c, 1) for n, c in enumerate(counties)]
    for step in range(data.draw(st.integers(1, 25), label="steps")):
        which = data.draw(st.integers(0, len(members) - 1), label="member")
        take_a_step(history, members[which], step, data)
    before = {(m.member_id, c.claim_id): c.payable for m in members for c in m.claims.values()}

    for member in members:
        for claim in [c for c in member.claims.values() if c.payable > 0]:
            member._record(member.pro_rating_fact(claim.claim_id, period, rate, "B", "d", ON))
            after = member.claim(claim.claim_id)
            paid_now = before[(member.member_id, claim.claim_id)] * rate
            assert abs(after.payable - paid_now) <= D("0.005")
            assert after.payable == round_yuan(paid_now)
        if release and shortfall == "carry":
            for claim in [c for c in member.claims.values() if c.carried > 0]:
                member._record(member.release_fact(claim.claim_id, 2, "B2", "d", ON))
        history.record(member)

    made = postings(history.events)
    assert sum((p.amount for p in made), D(0)) == 0
    for county in ("C1", "C2"):
        mine = [c for m in members if m.enrolment(1).county == county for c in m.claims.values()]
        held = sum((c.forfeited + c.carried for c in mine), D(0))
        released = sum(
            (e.amount for e in history.events if isinstance(e, Member.CarriedReleased)
             and e.county == county),
            D(0),
        )  # fmt: skip
        assert -balance(made, county, BENEFITS_PAYABLE) == sum((c.payable for c in mine), D(0))
        assert -balance(made, county, BENEFITS_CARRIED) == sum((c.carried for c in mine), D(0))
        assert balance(made, county, BENEFITS_DEFERRED) == sum((c.carried for c in mine), D(0))
        in_period_1 = [p for p in made if p.period == 1]
        assert balance(in_period_1, county, BENEFIT_EXPENSE) == history.approved[county] - (
            held + released
        )
        assert balance([p for p in made if p.period == 2], county, BENEFIT_EXPENSE) == released
