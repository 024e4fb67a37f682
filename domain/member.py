"""A member of the scheme: enrolments, premiums, claims and payouts.

Claims live on the member so that the annual cap is one aggregate's invariant: two
approvals racing for the same member conflict on its version, and the loser retries
against the new total. The member's state is plain values (`MemberState`, holding
`Enrolment`s and `Claim`s) and each decision on it a function of plain values
(`decide_submission()`, `adjudicate()`, ...); `MemberState` decides each command with them
and returns the fact to record, which the aggregate triggers and a bulk path builds into
an event directly.
"""

from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, NamedTuple
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.duties import POLICY
from domain.errors import (
    AlreadyEnrolled,
    ClaimDeadlinePassed,
    ClaimError,
    Conflict,
    DateOutOfOrder,
    DutyRefused,
    FieldError,
    InvalidSettlement,
    LedgerError,
    NotEnrolled,
    PayoutExceedsPayable,
    PremiumNotPaid,
    PremiumOverpaid,
)
from domain.money import ZERO, non_negative, positive, round_yuan
from domain.policy import (
    ELIGIBILITY,
    MAIN_ITEM,
    BenefitCalculation,
    BenefitRule,
    Policy,
    calculate_benefit,
    rejection_reason,
    why_no_benefit,
)
from domain.scheme import NAMESPACE, Period
from domain.text import bank_account, identifier, mobile_phone, plain_text


@dataclass(frozen=True)
class MemberDetails:
    """How a member is named, paid and told, as their roster gives it: each field is None
    where not given, and a later roster keeps the last given of each."""

    name: str | None = None
    bank_account: str | None = None
    bank: str | None = None
    phone: str | None = None

    def checked(self) -> "MemberDetails":
        """The details, once each given field is found fit to be recorded."""
        if self.name is not None:
            identifier(self.name, "name")
        if self.bank is not None:
            identifier(self.bank, "bank")
        if self.bank_account is not None:
            bank_account(self.bank_account, "bank_account")
        if self.phone is not None:
            mobile_phone(self.phone, "phone")
        return self

    def given(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v is not None}

    def then(self, later: "MemberDetails") -> "MemberDetails":
        """These details after `later` was given: what it gives replaces what was."""
        return MemberDetails(**(self.given() | later.given()))

    def changed_by(self, later: "MemberDetails") -> "MemberDetails":
        """What of `later` differs from these details: only that is a change to record."""
        mine = self.given()
        return MemberDetails(**{k: v for k, v in later.given().items() if mine.get(k) != v})


NO_DETAILS = MemberDetails()


@dataclass(frozen=True)
class Eligibility:
    """What a roster attests of a member at enrolment (None: it does not say), recorded
    with the enrolment; a period's policy may require some of it (`Policy.eligibility`)."""

    insured: bool | None = None
    union_member: bool | None = None
    unit_registered: bool | None = None

    def check(self, member_id: str, period: Period) -> "Eligibility":
        """The attestations, once they give all the period's policy requires."""
        for name in period.policy.eligibility:
            attested = getattr(self, name)
            if attested is not True:
                says = "does not say" if attested is None else "says no"
                raise FieldError(
                    f"member {member_id!r}",
                    name,
                    f"period {period.number} enrols only members {ELIGIBILITY[name]}: the "
                    f"roster {says}",
                )
        return self


NOT_ATTESTED = Eligibility()


@dataclass(frozen=True)
class Enrolment:
    """A member's standing in one period, as the rules read it: where they are enrolled, the
    premium due and paid by funding source, and the benefits approved so far (what the
    annual cap has used). A plain value that each fact replaces, the same whether the
    aggregate holds it or a bulk path folded it from the member's events."""

    county: str
    unit: str
    group: str | None
    premium_due: Mapping[str, Decimal]
    covered_from: date
    """The enrolment's date: a claim dated before it is not covered."""
    premium_paid: Mapping[str, Decimal] = field(default_factory=dict)
    approved: Decimal = ZERO
    """What the main benefit has had approved (its cap's use)."""
    approved_items: Mapping[str, Decimal] = field(default_factory=dict)
    """What each other benefit item has had approved (each item's cap's use)."""

    def outstanding(self) -> dict[str, object]:
        """What is still due, by funding source."""
        owed = {s: due - self.premium_paid.get(s, ZERO) for s, due in self.premium_due.items()}
        return {s: amount for s, amount in owed.items() if amount > 0}

    @property
    def paid_up(self) -> bool:
        return not self.outstanding()

    def after_premium(self, amounts: Mapping[str, Decimal]) -> "Enrolment":
        paid = dict(self.premium_paid)
        for source, amount in amounts.items():
            paid[source] = paid.get(source, ZERO) + amount
        return replace(self, premium_paid=paid)

    def used(self, item: str | None) -> Decimal:
        """What the item's cap (None: the main benefit's) has used."""
        return self.approved if item is None else self.approved_items.get(item, ZERO)

    def after_approval(self, amount: Decimal, item: str | None = None) -> "Enrolment":
        if item is None:
            return replace(self, approved=self.approved + amount)
        items = dict(self.approved_items)
        items[item] = items.get(item, ZERO) + amount
        return replace(self, approved_items=items)


SELF_PAID_PARTS = ("policy_self_paid", "out_of_catalogue", "above_ceiling")
"""A settlement's parts that, with what insurance paid, make up at most its total cost."""


@dataclass(frozen=True)
class Settlement:
    """A hospital stay as settled by basic medical insurance: its total cost, what the
    insurance fund paid, and, where the settlement reports them, the self-paid components
    the policy's eligible base is made of."""

    settlement_no: str
    admitted_on: date
    discharged_on: date
    total_cost: Decimal
    insurance_paid: Decimal
    policy_self_paid: Decimal | None = None
    """个人自付: the member's share of costs within the insurance catalogue."""
    out_of_catalogue: Decimal | None = None
    """自费: costs outside the catalogue, which insurance does not pay at all."""
    insurance_deductible: Decimal | None = None
    """起付线: the insurance's own deductible, a part of policy self-pay."""
    above_ceiling: Decimal | None = None
    """超限额: costs above the insurance's annual ceiling, which it pays none of."""

    @property
    def components(self) -> dict[str, Decimal]:
        """The self-paid components the settlement gives, by name."""
        parts = {
            "policy_self_paid": self.policy_self_paid,
            "out_of_catalogue": self.out_of_catalogue,
            "insurance_deductible": self.insurance_deductible,
            "above_ceiling": self.above_ceiling,
        }
        return {name: amount for name, amount in parts.items() if amount is not None}

    def eligible_under(self, claim_id: str, rule: BenefitRule) -> Decimal:
        """The eligible self-paid amount the rule counts of the components."""
        try:
            return rule.eligible_base(self.components)
        except KeyError as missing:
            raise InvalidSettlement(
                claim_id,
                str(missing.args[0]),
                "the policy counts this component of the settlement, and it is not given",
            ) from None

    def check(self, claim_id: str, eligible: Decimal) -> None:
        for name, amount in self.components.items():
            if amount < 0:
                raise InvalidSettlement(claim_id, name, f"{name} {amount} is negative")
        parts = self.insurance_paid + sum(
            (self.components.get(n, ZERO) for n in SELF_PAID_PARTS),
            ZERO,
        )
        given = [n for n in SELF_PAID_PARTS if n in self.components]
        if given and parts > self.total_cost:
            last = given[-1]
            raise InvalidSettlement(
                claim_id,
                last,
                f"insurance paid and self-paid parts add up to {parts}, more than the total "
                f"cost {self.total_cost}",
            )
        if self.insurance_deductible is not None and self.insurance_deductible > (
            self.policy_self_paid if self.policy_self_paid is not None else self.total_cost
        ):
            raise InvalidSettlement(
                claim_id,
                "insurance_deductible",
                f"the insurance deductible {self.insurance_deductible} exceeds the policy "
                f"self-pay it is part of ({self.policy_self_paid})",
            )
        if self.discharged_on < self.admitted_on:
            raise InvalidSettlement(
                claim_id,
                "discharged_on",
                f"discharged {self.discharged_on} before admitted {self.admitted_on}",
            )
        if self.insurance_paid > self.total_cost:
            raise InvalidSettlement(
                claim_id,
                "insurance_paid",
                f"insurance paid {self.insurance_paid} exceeds the total cost {self.total_cost}",
            )
        if eligible > self.total_cost - self.insurance_paid:
            raise InvalidSettlement(
                claim_id,
                "eligible_self_paid",
                f"eligible self-paid {eligible} exceeds what insurance left to pay "
                f"({self.total_cost - self.insurance_paid})",
            )

    def as_dict(self) -> dict[str, Any]:
        return {
            "settlement_no": self.settlement_no,
            "admitted_on": self.admitted_on,
            "discharged_on": self.discharged_on,
            "total_cost": self.total_cost,
            "insurance_paid": self.insurance_paid,
            **self.components,
        }


@dataclass(frozen=True)
class Claim:
    """A claim as the rules read it; a plain value that each fact replaces."""

    claim_id: str
    period: int
    eligible: Decimal
    submitted_by: str
    submitted_on: date
    status: str = "submitted"
    """submitted, approved, rejected, or reversed (approved, then reassessed to nothing)."""
    decided_on: date | None = None
    decided_by: str | None = None
    approved: Decimal = ZERO
    payouts: Mapping[str, Decimal] = field(default_factory=dict)
    paid_on: Mapping[str, date] = field(default_factory=dict)
    returned: frozenset[str] = frozenset()
    confirmed: frozenset[str] = frozenset()
    above_ceiling: Decimal = ZERO
    """The settlement's costs above the insurance's ceiling, which the policy may pay under
    bands of their own."""
    appeal: str | None = None
    """The grounds of the member's appeal while it awaits reassessment; None: no appeal open."""
    collected: Decimal = ZERO
    """What of an overpayment the member paid back."""
    written_off: Decimal = ZERO
    """What of an overpayment was given up, less what a later rise or return took back."""
    item: str | None = None
    """The benefit item claimed (Policy.items); None: the main benefit."""
    days: int | None = None
    """The days in hospital a per-day item's claim is for."""
    forfeited: Decimal = ZERO
    """What a pro-rating of the period held back for good."""
    carried: Decimal = ZERO
    """What a pro-rating held back to be paid later, until a later period releases it."""

    @property
    def paid(self) -> Decimal:
        return sum((a for ref, a in self.payouts.items() if ref not in self.returned), ZERO)

    @property
    def balance(self) -> Decimal:
        """What the fund owes the member on this claim (negative: what the member owes back):
        the benefit less what a pro-rating forfeited, less what was paid, plus what of an
        overpayment was paid back or written off."""
        return self.approved - self.forfeited - self.paid + self.collected + self.written_off

    @property
    def payable(self) -> Decimal:
        """What may be paid now: the balance, less what a pro-rating carried."""
        return max(ZERO, self.balance - self.carried)

    @property
    def receivable(self) -> Decimal:
        """An overpayment still to recover: paid beyond a benefit since reduced."""
        return max(ZERO, -self.balance)

    def split(self, change: Decimal) -> "Split":
        """How a change to what the claim is worth to the member (a benefit decided again,
        money the bank returned) is posted besides what is payable: a rise first takes
        back an overpayment written off (the member keeps no more than the claim is
        worth), then settles one still to recover; a fall takes what is payable first, and
        the rest becomes an overpayment to recover; what is left of the change is payable."""
        if change > 0:
            reinstated = min(change, self.written_off)
            return Split(reinstated, ZERO - min(change - reinstated, self.receivable))
        return Split(ZERO, ZERO - change - min(ZERO - change, self.payable))


class Split(NamedTuple):
    reinstated: Decimal
    """What of an overpayment written off the change takes back (a credit to the loss)."""
    recovery: Decimal
    """The change to the recovery receivable."""


# The decisions, as functions of plain values: `MemberState` calls them, for the Member
# aggregate's commands one at a time and for the bulk path alike, so each rule is written
# once. Each refuses with the error the command raises.


def not_before(fact: str, fact_on: date, act: str, on: date) -> None:
    """Refuse an act dated before the fact it follows: `fact` was on `fact_on`."""
    if on < fact_on:
        raise DateOutOfOrder(f"{fact} on {fact_on}: it cannot be {act} on {on}", on, fact_on)


def enrolled(member_id: str, period: int, enrolment: Enrolment | None) -> Enrolment:
    """The member's enrolment in the period (None where they have none), or NotEnrolled."""
    if enrolment is None:
        raise NotEnrolled(member_id, period)
    return enrolment


def decide_enrolment(
    member_id: str,
    period: Period,
    county: str,
    unit: str,
    group: str | None,
    effective_date: date,
    details: MemberDetails,
    eligibility: Eligibility,
    enrolled_in: Container[int],
) -> Enrolment:
    """The enrolment to record, given the periods the member is already enrolled in."""
    details.checked()
    if period.number in enrolled_in:
        raise AlreadyEnrolled(member_id, period.number)
    if effective_date > period.end:
        raise DateOutOfOrder(
            f"member {member_id!r} cannot be enrolled in period {period.number} on "
            f"{effective_date}: the period ended on {period.end}",
            effective_date,
            period.end,
        )
    if not unit.strip():
        raise LedgerError(f"member {member_id!r}: unit is required")
    plain_text(unit.strip(), "unit")
    if group is not None and group not in period.policy.benefit.groups:
        known = ", ".join(sorted(period.policy.benefit.groups)) or "none"
        raise FieldError(
            f"member {member_id!r}",
            "group",
            f"group {group!r} is no member group of period {period.number} (groups: {known})",
        )
    eligibility.check(member_id, period)
    return Enrolment(county, unit.strip(), group, dict(period.policy.funding), effective_date)


def new_receipt(
    member_id: str, receipt: str, receipts: Container[str], record: str, needs: str
) -> str:
    """A receipt of money the member paid (a premium, an overpayment back), as recorded:
    given (else `needs`, of `record`), and the member's once."""
    receipt = receipt.strip()
    if not receipt:
        raise FieldError(record, "receipt", needs)
    plain_text(receipt, "receipt")
    if receipt in receipts:
        raise Conflict(f"member {member_id!r}: receipt {receipt!r} already recorded")
    return receipt


class PremiumPayment(NamedTuple):
    receipt: str
    amounts: dict[str, Decimal]
    """Only the funding sources paid, each more than zero, in the order of their names."""


def decide_premium(
    member_id: str,
    period: int,
    enrolment: Enrolment | None,
    amounts: Mapping[str, object],
    receipt: str,
    receipts: Container[str],
) -> PremiumPayment:
    """The payment to record, given the receipts the member already has on record."""
    enrolment = enrolled(member_id, period, enrolment)
    receipt = new_receipt(
        member_id, receipt, receipts, f"member {member_id!r}", "a premium payment needs a receipt"
    )
    if enrolment.paid_up:
        raise LedgerError(
            f"member {member_id!r}: nothing is due for period {period}, the premium is paid in full"
        )
    parsed = {s: non_negative(a, f"premium from {s}") for s, a in sorted(amounts.items())}
    parsed = {s: a for s, a in parsed.items() if a > 0}
    if not parsed:
        raise LedgerError(f"member {member_id!r}: a premium payment needs an amount")
    for source, amount in parsed.items():
        due = enrolment.premium_due.get(source)
        if due is None:
            raise FieldError(
                f"member {member_id!r}",
                "source",
                f"{source!r} is not a funding source of period {period} "
                f"(sources: {', '.join(sorted(enrolment.premium_due))})",
            )
        paid = enrolment.premium_paid.get(source, ZERO) + amount
        if paid > due:
            raise PremiumOverpaid(member_id, period, paid, due)
    return PremiumPayment(receipt, parsed)


def eligible_enrolment(member_id: str, period: Period, enrolment: Enrolment | None) -> Enrolment:
    """Eligibility: the member may claim in a period they are enrolled in and paid up for."""
    enrolment = enrolled(member_id, period.number, enrolment)
    if not enrolment.paid_up:
        paid = sum(enrolment.premium_paid.values(), ZERO)
        raise PremiumNotPaid(member_id, period.number, paid, period.policy.premium)
    return enrolment


def claim_in_time(
    claim_id: str, period: Period, effective_date: date, received_on: date | None
) -> None:
    """The deadline: a claim dated within its period, that reached the scheme by the period's
    claim deadline, counted to the day it was received (not before its own date) where it
    came later than its date, else to its date."""
    if received_on is not None:
        not_before(f"claim {claim_id!r} was discharged", effective_date, "received", received_on)
    arrived = effective_date if received_on is None else received_on
    deadline = period.claim_deadline(effective_date)
    if arrived > deadline:
        raise ClaimDeadlinePassed(claim_id, arrived, deadline, received=received_on is not None)
    if effective_date < period.start:
        raise ClaimError(
            f"claim {claim_id!r} dated {effective_date}, before period {period.number} "
            f"starts ({period.start})"
        )


def decide_submission(
    claim_id: str,
    member_id: str,
    period: Period,
    enrolment: Enrolment | None,
    eligible: object,
    actor: str,
    effective_date: date,
    settlement: Settlement | None,
    received_on: date | None,
    submitted: Container[str],
    item: str | None = None,
    days: int | None = None,
) -> Claim:
    """The claim to record, given the member's enrolment in the period (None where they have
    none) and the claim ids they have already submitted; of the main benefit, or of another
    benefit `item` of the policy's."""
    identifier(claim_id, "claim_id")
    item = None if item == MAIN_ITEM else item
    items = period.policy.items
    if days is not None and (item is None or (item in items and items[item].pays != "per_day")):
        raise FieldError(f"claim {claim_id!r}", "days", "only a per-day item's claim gives days")
    if claim_id in submitted:
        raise ClaimError(f"claim {claim_id!r} was already submitted")
    covered = eligible_enrolment(member_id, period, enrolment)
    claim_in_time(claim_id, period, effective_date, received_on)
    if effective_date < covered.covered_from:
        raise DateOutOfOrder(
            f"claim {claim_id!r} dated {effective_date}, before member {member_id!r} was "
            f"covered: enrolled on {covered.covered_from}",
            effective_date,
            covered.covered_from,
        )
    if item is None:
        amount = eligible_amount(claim_id, eligible, settlement, period.policy.benefit)
    else:
        amount, days = item_base(claim_id, period.policy, item, eligible, days, settlement)
    claim = Claim(claim_id, period.number, amount, actor, effective_date, item=item, days=days)
    if settlement is None:
        return claim
    if item is not None:
        banded = period.policy.items[item].pays == "bands"
        settlement.check(claim_id, amount if banded else ZERO)
        return claim
    settlement.check(claim_id, amount)
    return replace(claim, above_ceiling=settlement.above_ceiling or ZERO)


def item_base(
    claim_id: str,
    policy: Policy,
    item: str,
    eligible: object,
    days: int | None,
    settlement: Settlement | None,
) -> tuple[Decimal, int | None]:
    """What a claim of a benefit item besides the main one is decided on, and its days: the
    eligible amount given (an item paying by bands); the days in hospital given, else
    counted from the stay (discharge less admission, a day at least), at the item's rate
    (per day); or the item's lump sum."""
    what = f"claim {claim_id!r}"
    if item not in policy.items:
        known = ", ".join(sorted(policy.items)) or "none"
        raise FieldError(what, "item", f"{item!r} is no benefit item of the policy ({known})")
    rule = policy.items[item]
    if rule.pays == "bands":
        return eligible_amount(claim_id, eligible, settlement, rule.rule(policy.benefit)), None
    how = "a lump sum" if rule.pays == "lump_sum" else "by the day in hospital"
    if eligible is not None:
        raise FieldError(
            what, "eligible_self_paid", f"{item!r} pays {how}, on no eligible amount: give none"
        )
    if rule.pays == "lump_sum":
        return rule.base(None), None
    if days is None and settlement is not None:
        days = max(1, (settlement.discharged_on - settlement.admitted_on).days)
    if days is None or isinstance(days, bool) or not 1 <= days <= MAX_STAY:
        raise FieldError(
            what, "days", f"a claim of {item!r} needs the days in hospital, from 1 to {MAX_STAY}"
        )
    return rule.base(days), days


MAX_STAY = 366
"""The most days in hospital a claim is for: a period's."""


def eligible_amount(
    claim_id: str, eligible: object, settlement: Settlement | None, rule: BenefitRule
) -> Decimal:
    """The eligible self-paid amount of a claim: as given, or, for a settlement that gives
    its components, what the rule counts of them; given and counted, the two must agree."""
    counted = None
    if settlement is not None and settlement.components:
        counted = settlement.eligible_under(claim_id, rule)
    if eligible is None:
        if counted is None:
            raise InvalidSettlement(
                claim_id,
                "eligible_self_paid",
                "give the eligible self-paid amount, or the settlement's self-paid components",
            )
        eligible = counted
    amount = positive(eligible, "eligible self-paid amount")
    if counted is not None and amount != counted:
        raise InvalidSettlement(
            claim_id,
            "eligible_self_paid",
            f"eligible self-paid {amount} given, but the policy counts {counted} of the "
            "settlement's components",
        )
    return amount


def held_back(payable: Decimal, rate: Decimal) -> Decimal:
    """What pro-rating at `rate` holds back of a benefit still payable: the benefit is paid
    at the rate, half up to the fen, claim by claim, and the rest is held back."""
    return payable - round_yuan(payable * rate)


def in_status(claim: Claim, status: str) -> Claim:
    if claim.status != status:
        raise ClaimError(f"claim {claim.claim_id!r} is {claim.status}, not {status}")
    return claim


def assess(claim: Claim, enrolment: Enrolment, rule: BenefitRule) -> BenefitCalculation:
    """The benefit a submitted claim would get now: its bands and the member's uplift, within
    what is left of the annual cap after what the enrolment has had approved."""
    in_status(claim, "submitted")
    return calculate_benefit(
        rule, claim.eligible, enrolment.group, enrolment.used(claim.item), claim.above_ceiling
    )


def decide_approval(
    claim: Claim, enrolment: Enrolment, rule: BenefitRule, on: date
) -> BenefitCalculation:
    """The benefit approving the claim on that day records; refused where it gives nothing."""
    return _approvable(claim, assess(claim, enrolment, rule), rule, enrolment.group, on)


def _approvable(
    claim: Claim, calculation: BenefitCalculation, rule: BenefitRule, group: str | None, on: date
) -> BenefitCalculation:
    not_before(f"claim {claim.claim_id!r} was submitted", claim.submitted_on, "approved", on)
    if calculation.benefit <= 0:
        raise ClaimError(
            f"claim {claim.claim_id!r}: the policy gives no benefit for it "
            f"({why_no_benefit(calculation, rule, group)}): reject it instead"
        )
    return calculation


def stated(claim_id: str, text: str, field: str, needs: str) -> str:
    """A reason (or grounds) an act on a claim must give, as it is recorded; `needs` says
    so when it is missing ("a rejection needs a reason")."""
    if not text.strip():
        raise FieldError(f"claim {claim_id!r}", field, needs)
    return plain_text(text.strip(), field)


def decide_rejection(claim: Claim, reason: str, on: date) -> str:
    """The reason rejecting the claim on that day records."""
    in_status(claim, "submitted")
    not_before(f"claim {claim.claim_id!r} was submitted", claim.submitted_on, "rejected", on)
    return stated(claim.claim_id, reason, "reason", "a rejection needs a reason")


def decide_appeal(claim: Claim, grounds: str, on: date) -> str:
    """The grounds a member's appeal against the claim's decision records: one appeal open
    at a time, against an approval (its amount), a rejection or a reversal."""
    if claim.status == "submitted" or claim.decided_on is None:
        raise ClaimError(
            f"claim {claim.claim_id!r} is submitted: only a decision (an approval, a rejection "
            "or a reversal) can be appealed"
        )
    if claim.appeal is not None:
        raise Conflict(f"claim {claim.claim_id!r} is already under appeal: {claim.appeal}")
    not_before(f"claim {claim.claim_id!r} was decided", claim.decided_on, "appealed", on)
    return stated(claim.claim_id, grounds, "grounds", "an appeal needs its grounds")


class Reassessment(NamedTuple):
    """A decision that supersedes a claim's last one."""

    amount: Decimal
    eligible: Decimal
    calculation: BenefitCalculation | None
    """The policy's calculation on the eligible amount; None for a reversal."""
    status: str
    split: Split
    """How the change in the benefit is posted besides what is payable (`Claim.split`)."""


def decide_reassessment(
    claim: Claim, enrolment: Enrolment, rule: BenefitRule, eligible: object, on: date
) -> Reassessment:
    """The claim decided again: reversed to nothing (`eligible` None), or given the benefit
    the policy pays on its eligible amount (`eligible`, corrected, or the claim's own)
    within what the cap leaves besides this claim's own benefit, which the new one
    replaces: the member's cap is used by the corrected figure."""
    assert claim.decided_on is not None  # only decided claims are reassessed
    not_before(f"claim {claim.claim_id!r} was decided", claim.decided_on, "reassessed", on)
    if eligible is None:
        calculation, amount, base = None, ZERO, claim.eligible
    else:
        base = positive(eligible, "eligible self-paid amount")
        used = enrolment.used(claim.item) - claim.approved
        calculation = calculate_benefit(rule, base, enrolment.group, used, claim.above_ceiling)
        amount = calculation.benefit
    status = "approved" if amount > 0 else "rejected" if claim.status == "rejected" else "reversed"
    return Reassessment(amount, base, calculation, status, claim.split(amount - claim.approved))


class Adjudication(NamedTuple):
    calculation: BenefitCalculation
    rejected_for: str | None
    """The policy's reason to reject the claim; None: approved for calculation.benefit."""


def adjudicate(claim: Claim, enrolment: Enrolment, rule: BenefitRule, on: date) -> Adjudication:
    """The policy's own decision on a submitted claim: approved with its benefit, or rejected
    when the rule gives nothing (below the deductible, or the cap is used up)."""
    calculation = assess(claim, enrolment, rule)
    if calculation.benefit > 0:
        return Adjudication(_approvable(claim, calculation, rule, enrolment.group, on), None)
    return Adjudication(calculation, decide_rejection(claim, rejection_reason(calculation), on))


class Fact(NamedTuple):
    """An event a command decided to record, before it has its place in a history: the
    aggregate triggers it, a bulk path builds it with the member's next version."""

    kind: type[Aggregate.Event]
    fields: dict[str, Any]


class MemberState:
    """A member as the rules read it, in plain values: the Member aggregate is one, and a
    bulk path keeps one a member without the aggregate, folding its stored events with the
    events' own `apply`. Each `..._fact` method decides a command on this state with the
    decisions above and returns the fact to record, so a command is decided in one place
    whichever path records it."""

    def __init__(self, member_id: str) -> None:
        self.member_id = member_id
        self.enrolments: dict[int, Enrolment] = {}
        self.details = MemberDetails()
        self.roster_lines: set[str] = set()
        self.claims: dict[str, Claim] = {}
        self.receipts: set[str] = set()

    @staticmethod
    def folded(history: Iterable[Aggregate.Event]) -> "MemberState":
        """The state a member's events leave, as the aggregate's replay would."""
        events = iter(history)
        first = next(events)
        assert isinstance(first, Member.Registered)
        state = MemberState(first.member_id)
        for later in events:
            later.apply(state)
        return state

    def details_given(self, details: MemberDetails, roster_line: str | None) -> None:
        """The details a roster line gave (an enrolment's, or a change's), kept as the last
        given of each, and the line remembered."""
        self.details = self.details.then(details)
        if roster_line is not None:
            self.roster_lines.add(roster_line)

    # Guards

    def enrolment(self, period: int) -> Enrolment:
        return enrolled(self.member_id, period, self.enrolments.get(period))

    def claim(self, claim_id: str) -> Claim:
        try:
            return self.claims[claim_id]
        except KeyError:
            raise ClaimError(f"member {self.member_id!r} has no claim {claim_id!r}") from None

    def _require_not_submitter(self, claim_id: str, actor: str, command: str, verb: str) -> None:
        """Four eyes: whoever submitted a claim does not decide it."""
        if self.claim(claim_id).submitted_by == actor:
            raise DutyRefused(actor, command, f"{verb} claim {claim_id}", f"{actor} submitted it")

    def check_bank_result(
        self, claim_id: str, bank_reference: str, returned: bool, effective_date: date
    ) -> Claim:
        """Whether the bank can report this payout paid (or returned) on that day, without
        recording it: a bank line covering several claims is checked whole before any is."""
        claim = self.claim(claim_id)
        reference = bank_reference.strip()
        if reference not in claim.payouts:
            raise ClaimError(f"claim {claim_id!r} has no payout {reference!r}")
        if reference in claim.returned:
            raise ClaimError(f"payout {reference!r} of claim {claim_id!r} was already returned")
        if not returned and reference in claim.confirmed:
            raise ClaimError(f"payout {reference!r} of claim {claim_id!r} is confirmed")
        not_before(
            f"payout {reference!r} of claim {claim_id!r} was made",
            claim.paid_on[reference],
            "returned" if returned else "confirmed",
            effective_date,
        )
        return claim

    # What each command records

    def enrolment_fact(
        self,
        period: Period,
        county: str,
        unit: str,
        group: str | None,
        actor: str,
        effective_date: date,
        details: MemberDetails = NO_DETAILS,
        roster_line: str | None = None,
        eligibility: Eligibility = NOT_ATTESTED,
    ) -> Fact:
        """Enrolment for a period, with the details the roster gives and what it attests of
        the member's eligibility (recorded with the enrolment, as given) and the roster
        line it came from."""
        enrolment = decide_enrolment(
            self.member_id,
            period,
            county,
            unit,
            group,
            effective_date,
            details,
            eligibility,
            self.enrolments,
        )
        return Fact(
            Member.Enrolled,
            {
                "period": period.number,
                "county": enrolment.county,
                "unit": enrolment.unit,
                "group": enrolment.group,
                "premium_due": dict(enrolment.premium_due),
                "actor": actor,
                "effective_date": effective_date,
                **details.given(),
                "roster_line": roster_line,
                **vars(eligibility),
            },
        )

    def details_fact(
        self,
        details: MemberDetails,
        actor: str,
        effective_date: date,
        roster_line: str | None = None,
    ) -> Fact | None:
        """The details that differ from those on record (a corrected account, a new phone),
        as a new fact; None if none does. A detail not given is kept, never cleared; a
        roster line already recorded changes nothing, so an old roster imported again
        cannot undo a later correction."""
        changed = self.details.changed_by(details.checked())
        if roster_line in self.roster_lines or not changed.given():
            return None
        return Fact(
            Member.DetailsChanged,
            {
                "actor": actor,
                "effective_date": effective_date,
                **changed.given(),
                "roster_line": roster_line,
            },
        )

    def premium_fact(
        self,
        period: int,
        amounts: Mapping[str, object],
        receipt: str,
        actor: str,
        effective_date: date,
    ) -> Fact:
        payment = decide_premium(
            self.member_id, period, self.enrolments.get(period), amounts, receipt, self.receipts
        )
        return Fact(
            Member.PremiumPaid,
            {
                "period": period,
                "county": self.enrolments[period].county,
                "amounts": payment.amounts,
                "receipt": payment.receipt,
                "actor": actor,
                "effective_date": effective_date,
            },
        )

    def submission_fact(
        self,
        claim_id: str,
        period: Period,
        eligible: object,
        actor: str,
        effective_date: date,
        settlement: Settlement | None = None,
        received_on: date | None = None,
        item: str | None = None,
        days: int | None = None,
    ) -> Fact:
        """A claim for eligible self-paid costs (or of another benefit `item`, by its days or
        as its lump sum: `item_base()`); from the insurance settlement system it comes
        with the settlement, whose figures must account for the eligible amount, and with the
        day it was received (`received_on`): the deadline counts to that day, while the claim
        keeps its discharge as its effective date."""
        return self._submission(
            claim_id, period, eligible, actor, effective_date, settlement, received_on, item, days
        )[1]

    def settlement_facts(
        self,
        claim_id: str,
        period: Period,
        eligible: object,
        actor: str,
        effective_date: date,
        settlement: Settlement,
        received_on: date,
        item: str | None = None,
    ) -> tuple[Fact, Fact, BenefitCalculation]:
        """A settlement's claim (of the main benefit, or of another `item`) submitted and
        decided by the period's rule, both decided before either is recorded, so that a
        feed records a settlement whole or not at all; with the decision's calculation."""
        claim, submitted = self._submission(
            claim_id, period, eligible, actor, effective_date, settlement, received_on, item
        )
        decided, calculation = self._adjudicated(claim, period, effective_date)
        return submitted, decided, calculation

    def _submission(
        self,
        claim_id: str,
        period: Period,
        eligible: object,
        actor: str,
        effective_date: date,
        settlement: Settlement | None,
        received_on: date | None,
        item: str | None = None,
        days: int | None = None,
    ) -> tuple[Claim, Fact]:
        claim = decide_submission(
            claim_id,
            self.member_id,
            period,
            self.enrolments.get(period.number),
            eligible,
            actor,
            effective_date,
            settlement,
            received_on,
            self.claims,
            item,
            days,
        )
        return claim, Fact(
            Member.ClaimSubmitted,
            {
                "claim_id": claim_id,
                "period": period.number,
                "county": self.enrolments[period.number].county,
                "eligible": claim.eligible,
                "actor": actor,
                "effective_date": effective_date,
                "settlement": None if settlement is None else settlement.as_dict(),
                "received_on": received_on,
                "item": claim.item,
                "days": claim.days,
            },
        )

    def adjudication_fact(
        self, claim_id: str, period: Period, effective_date: date
    ) -> tuple[Fact, BenefitCalculation]:
        """A claim decided by the period's rule (`adjudicate()`), with its calculation. The
        decision is the policy's, recorded with the actor POLICY, not a person's."""
        return self._adjudicated(self.claim(claim_id), period, effective_date)

    def _adjudicated(
        self, claim: Claim, period: Period, effective_date: date
    ) -> tuple[Fact, BenefitCalculation]:
        enrolment = self.enrolments[claim.period]
        decision = adjudicate(claim, enrolment, period.policy.rule_for(claim.item), effective_date)
        if decision.rejected_for is None:
            fact = self.approval_fact(claim, period, decision.calculation, POLICY, effective_date)
        else:
            fact = self.rejection_fact(claim, decision.rejected_for, POLICY, effective_date)
        return fact, decision.calculation

    def approval_fact(
        self,
        claim: Claim,
        period: Period,
        calculation: BenefitCalculation,
        actor: str,
        effective_date: date,
    ) -> Fact:
        return Fact(
            Member.ClaimApproved,
            {
                "claim_id": claim.claim_id,
                "period": claim.period,
                "county": self.enrolments[claim.period].county,
                "amount": calculation.benefit,
                "policy_version": period.policy.version,
                "breakdown": calculation.as_dict(),
                "actor": actor,
                "effective_date": effective_date,
            },
        )

    def rejection_fact(self, claim: Claim, reason: str, actor: str, effective_date: date) -> Fact:
        return Fact(
            Member.ClaimRejected,
            {
                "claim_id": claim.claim_id,
                "period": claim.period,
                "reason": reason,
                "actor": actor,
                "effective_date": effective_date,
            },
        )

    def payout_fact(
        self,
        claim_id: str,
        amount: object | None,
        bank_reference: str,
        actor: str,
        effective_date: date,
    ) -> Fact:
        """All or part of what is approved and unpaid, paid to the payee on record; or, of
        a claim reversed, what the fund owes back (collected, and then the bank returned
        the payment it was collected for)."""
        claim = self.claim(claim_id)
        if claim.payable <= 0:
            in_status(claim, "approved")
        assert claim.decided_on is not None  # what is payable was decided on a day
        not_before(f"claim {claim_id!r} was approved", claim.decided_on, "paid", effective_date)
        if claim.payable <= 0:
            raise ClaimError(f"claim {claim_id!r}: nothing is payable, all is paid")
        reference = bank_reference.strip()
        value = claim.payable if amount is None else positive(amount, "payout amount")
        if value > claim.payable:
            raise PayoutExceedsPayable(claim_id, value, claim.payable)
        if not reference:
            raise ClaimError(f"claim {claim_id!r}: a payout needs a bank reference")
        plain_text(reference, "bank_reference")
        if reference in claim.payouts:
            raise ClaimError(f"claim {claim_id!r}: bank reference {reference!r} already used")
        return Fact(
            Member.PayoutMade,
            {
                "claim_id": claim_id,
                "period": claim.period,
                "county": self.enrolments[claim.period].county,
                "amount": value,
                "bank_reference": reference,
                "actor": actor,
                "effective_date": effective_date,
                "payee_name": self.details.name,
                "bank_account": self.details.bank_account,
                "bank": self.details.bank,
            },
        )

    def confirmation_fact(
        self, claim_id: str, bank_reference: str, actor: str, effective_date: date
    ) -> Fact:
        """The bank reports the payment credited to the member."""
        claim = self.check_bank_result(claim_id, bank_reference, False, effective_date)
        return Fact(
            Member.PayoutConfirmed,
            {
                "claim_id": claim_id,
                "period": claim.period,
                "bank_reference": bank_reference.strip(),
                "actor": actor,
                "effective_date": effective_date,
            },
        )

    def return_fact(
        self, claim_id: str, bank_reference: str, reason: str, actor: str, effective_date: date
    ) -> Fact:
        """A bounced payment: the money is back in the bank and the benefit payable again."""
        claim = self.check_bank_result(claim_id, bank_reference, True, effective_date)
        bank_reference = bank_reference.strip()
        amount = claim.payouts[bank_reference]
        split = claim.split(amount)
        return Fact(
            Member.PayoutReturned,
            {
                "claim_id": claim_id,
                "period": claim.period,
                "county": self.enrolments[claim.period].county,
                "amount": amount,
                "bank_reference": bank_reference,
                "reason": stated(claim_id, reason, "reason", "a returned payout needs a reason"),
                "actor": actor,
                "effective_date": effective_date,
                "recovered": ZERO - split.recovery,
                "reinstated": split.reinstated,
            },
        )

    def appeal_fact(self, claim_id: str, grounds: str, actor: str, effective_date: date) -> Fact:
        """The member appeals the claim's decision: its rejection, or its amount."""
        claim = self.claim(claim_id)
        return Fact(
            Member.ClaimAppealed,
            {
                "claim_id": claim_id,
                "period": claim.period,
                "grounds": decide_appeal(claim, grounds, effective_date),
                "actor": actor,
                "effective_date": effective_date,
            },
        )

    def reassessment_fact(
        self,
        claim_id: str,
        period: Period,
        eligible: object,
        reason: str,
        actor: str,
        effective_date: date,
        on_appeal: bool,
    ) -> Fact:
        """A new decision on a decided claim, superseding the last: on the member's appeal
        (`on_appeal`), or as a correction of an approval found wrong (a duplicate
        settlement, a bill insurance settled again, fraud). `eligible` is the eligible
        amount to decide on (the claim's own, or a corrected one); None reverses the
        claim. The difference from the last decision is posted: more is payable, less is
        no longer payable, and what was paid beyond the new benefit is to be recovered."""
        claim = self.claim(claim_id)
        if on_appeal and claim.appeal is None:
            raise ClaimError(
                f"claim {claim_id!r} has no appeal open: record the member's appeal first"
            )
        if not on_appeal:
            if claim.appeal is not None:
                raise Conflict(f"claim {claim_id!r} is under appeal: decide the appeal instead")
            in_status(claim, "approved")
        why = stated(claim_id, reason, "reason", "a reassessment needs a reason")
        item = None if claim.item is None else period.policy.items[claim.item]
        if item is not None and item.pays != "bands" and eligible not in (None, claim.eligible):
            raise FieldError(
                f"claim {claim_id!r}",
                "eligible_self_paid",
                f"{claim.item!r} pays {'a lump sum' if item.pays == 'lump_sum' else 'by the day'}:"
                " it is decided again on its own base, or reversed",
            )
        decision = decide_reassessment(
            claim,
            self.enrolments[claim.period],
            period.policy.rule_for(claim.item),
            eligible,
            effective_date,
        )
        if not on_appeal and decision.amount > claim.approved:
            raise ClaimError(
                f"claim {claim_id!r}: a correction reduces or reverses a benefit, and this "
                f"one would raise it from {claim.approved} to {decision.amount}: that is "
                "for an appeal, decided by another approver"
            )
        if not on_appeal and (decision.amount, decision.eligible) == (
            claim.approved,
            claim.eligible,
        ):
            raise ClaimError(
                f"claim {claim_id!r}: the correction changes nothing, the benefit stays "
                f"{claim.approved}"
            )
        return Fact(
            Member.ClaimReassessed,
            {
                "claim_id": claim_id,
                "period": claim.period,
                "county": self.enrolments[claim.period].county,
                "amount": decision.amount,
                "previous": claim.approved,
                "eligible": decision.eligible,
                "status": decision.status,
                "superseded": claim.status,
                "policy_version": period.policy.version,
                "breakdown": None
                if decision.calculation is None
                else decision.calculation.as_dict(),
                "reason": why,
                "on_appeal": on_appeal,
                "recovery": decision.split.recovery,
                "reinstated": decision.split.reinstated,
                "actor": actor,
                "effective_date": effective_date,
            },
        )

    def recovery_fact(
        self, claim_id: str, amount: object, receipt: str, actor: str, effective_date: date
    ) -> Fact:
        """All or part of an overpayment collected back from the member, under a receipt."""
        claim = self.claim(claim_id)
        owed = self._to_recover(claim, "collected", effective_date)
        value = owed if amount is None else positive(amount, "recovered amount")
        if value > owed:
            raise Conflict(f"claim {claim_id!r}: {value} collected, but {owed} is to be recovered")
        needs = "a recovery needs a receipt"
        receipt = new_receipt(self.member_id, receipt, self.receipts, f"claim {claim_id!r}", needs)
        return Fact(
            Member.RecoveryCollected,
            {
                "claim_id": claim_id,
                "period": claim.period,
                "county": self.enrolments[claim.period].county,
                "amount": value,
                "receipt": receipt,
                "actor": actor,
                "effective_date": effective_date,
            },
        )

    def write_off_fact(self, claim_id: str, reason: str, actor: str, effective_date: date) -> Fact:
        """What is still to be recovered on the claim, given up: a loss to the fund."""
        claim = self.claim(claim_id)
        owed = self._to_recover(claim, "written off", effective_date)
        return Fact(
            Member.RecoveryWrittenOff,
            {
                "claim_id": claim_id,
                "period": claim.period,
                "county": self.enrolments[claim.period].county,
                "amount": owed,
                "reason": stated(claim_id, reason, "reason", "a write-off needs a reason"),
                "actor": actor,
                "effective_date": effective_date,
            },
        )

    def pro_rating_fact(
        self, claim_id: str, period: Period, rate: Decimal, reference: str, actor: str, on: date
    ) -> Fact:
        """The benefit still payable on a claim of a period pro-rated at `rate`, paid at that
        rate: the rest held back (`held_back`), forfeited or carried as the period's
        policy says."""
        claim = self.claim(claim_id)
        if claim.payable <= 0:
            raise ClaimError(f"claim {claim_id!r}: nothing is payable to pro-rate")
        assert claim.decided_on is not None  # a claim with anything payable was decided
        not_before(f"claim {claim_id!r} was decided", claim.decided_on, "pro-rated", on)
        return Fact(
            Member.ClaimProRated,
            {
                "claim_id": claim_id,
                "period": claim.period,
                "county": self.enrolments[claim.period].county,
                "rate": rate,
                "payable": claim.payable,
                "held_back": held_back(claim.payable, rate),
                "carried": period.policy.deficit_sharing.shortfall == "carry",
                "reference": reference,
                "actor": actor,
                "effective_date": on,
            },
        )

    def release_fact(
        self, claim_id: str, into_period: int, reference: str, actor: str, on: date
    ) -> Fact:
        """What a pro-rating carried on a claim, made payable again and charged to a later
        period's benefit expense."""
        claim = self.claim(claim_id)
        if claim.carried <= 0:
            raise ClaimError(f"claim {claim_id!r}: nothing was carried to release")
        return Fact(
            Member.CarriedReleased,
            {
                "claim_id": claim_id,
                "period": claim.period,
                "county": self.enrolments[claim.period].county,
                "amount": claim.carried,
                "into_period": into_period,
                "reference": reference,
                "actor": actor,
                "effective_date": on,
            },
        )

    def _to_recover(self, claim: Claim, act: str, on: date) -> Decimal:
        if claim.receivable <= 0:
            raise ClaimError(f"claim {claim.claim_id!r}: nothing is to be recovered")
        assert claim.decided_on is not None  # an overpayment follows a reassessment
        not_before(f"claim {claim.claim_id!r} was reassessed", claim.decided_on, act, on)
        return claim.receivable


class Member(Aggregate, MemberState):
    """The aggregate: its commands record the facts its state decides (`MemberState`), and
    each event's `apply` is the change that fact makes to the state."""

    @staticmethod
    def create_id(member_id: str, **_: Any) -> UUID:
        return member_uuid(member_id)

    class Registered(Aggregate.Created):
        member_id: str
        actor: str
        effective_date: date

    @classmethod
    def register(cls, member_id: str, actor: str, effective_date: date) -> "Member":
        return cls(**registration(member_id, actor, effective_date).fields)

    @event(Registered)
    def __init__(self, member_id: str, actor: str, effective_date: date) -> None:
        MemberState.__init__(self, member_id)

    class Enrolled(Aggregate.Event):
        """The details (name to phone) are absent from enrolments recorded before the
        roster carried them; what the roster attests of eligibility (insured to
        unit_registered), where it attests nothing."""

        added_later: ClassVar[tuple[str, ...]] = ("insured", "union_member", "unit_registered")

        period: int
        county: str
        unit: str
        group: str | None
        premium_due: dict[str, Decimal]
        actor: str
        effective_date: date
        name: str | None = None
        bank_account: str | None = None
        bank: str | None = None
        phone: str | None = None
        roster_line: str | None = None
        insured: bool | None = None
        union_member: bool | None = None
        unit_registered: bool | None = None

        def apply(self, member: MemberState) -> None:
            member.enrolments[self.period] = Enrolment(
                self.county, self.unit, self.group, self.premium_due, self.effective_date
            )
            member.details_given(
                MemberDetails(self.name, self.bank_account, self.bank, self.phone),
                self.roster_line,
            )

    class DetailsChanged(Aggregate.Event):
        """Only the details that changed; the others are None."""

        actor: str
        effective_date: date
        name: str | None = None
        bank_account: str | None = None
        bank: str | None = None
        phone: str | None = None
        roster_line: str | None = None

        def apply(self, member: MemberState) -> None:
            member.details_given(
                MemberDetails(self.name, self.bank_account, self.bank, self.phone),
                self.roster_line,
            )

    class PremiumPaid(Aggregate.Event):
        period: int
        county: str
        amounts: dict[str, Decimal]
        receipt: str
        actor: str
        effective_date: date

        def apply(self, member: MemberState) -> None:
            member.receipts.add(self.receipt)
            member.enrolments[self.period] = member.enrolments[self.period].after_premium(
                self.amounts
            )

    class ClaimSubmitted(Aggregate.Event):
        """`item`: the benefit item claimed, None for the main one; `days`, a per-day item's;
        `eligible`, what the claim is decided on (a per-day or lump-sum item's base)."""

        added_later: ClassVar[tuple[str, ...]] = ("item", "days")

        claim_id: str
        period: int
        county: str
        eligible: Decimal
        actor: str
        effective_date: date
        settlement: dict[str, Any] | None = None
        received_on: date | None = None
        item: str | None = None
        days: int | None = None

        def apply(self, member: MemberState) -> None:
            beyond = (self.settlement or {}).get("above_ceiling")
            member.claims[self.claim_id] = Claim(
                self.claim_id,
                self.period,
                self.eligible,
                self.actor,
                self.effective_date,
                above_ceiling=ZERO if beyond is None or self.item else Decimal(beyond),
                item=self.item,
                days=self.days,
            )

    class ClaimApproved(Aggregate.Event):
        claim_id: str
        period: int
        county: str
        amount: Decimal
        policy_version: str
        breakdown: dict[str, Any]
        actor: str
        effective_date: date

        def apply(self, member: MemberState) -> None:
            member.claims[self.claim_id] = replace(
                member.claims[self.claim_id],
                status="approved",
                decided_on=self.effective_date,
                decided_by=self.actor,
                approved=self.amount,
            )
            member.enrolments[self.period] = member.enrolments[self.period].after_approval(
                self.amount, member.claims[self.claim_id].item
            )

    class ClaimRejected(Aggregate.Event):
        claim_id: str
        period: int
        reason: str
        actor: str
        effective_date: date

        def apply(self, member: MemberState) -> None:
            member.claims[self.claim_id] = replace(
                member.claims[self.claim_id],
                status="rejected",
                decided_on=self.effective_date,
                decided_by=self.actor,
            )

    class PayoutMade(Aggregate.Event):
        """With the payee as on record when paid (None where not known): the account the
        money went to is part of the fact."""

        claim_id: str
        period: int
        county: str
        amount: Decimal
        bank_reference: str
        actor: str
        effective_date: date
        payee_name: str | None = None
        bank_account: str | None = None
        bank: str | None = None

        def apply(self, member: MemberState) -> None:
            claim = member.claims[self.claim_id]
            member.claims[self.claim_id] = replace(
                claim,
                payouts={**claim.payouts, self.bank_reference: self.amount},
                paid_on={**claim.paid_on, self.bank_reference: self.effective_date},
            )

    class PayoutConfirmed(Aggregate.Event):
        claim_id: str
        period: int
        bank_reference: str
        actor: str
        effective_date: date

        def apply(self, member: MemberState) -> None:
            claim = member.claims[self.claim_id]
            member.claims[self.claim_id] = replace(
                claim, confirmed=claim.confirmed | {self.bank_reference}
            )

    class PayoutReturned(Aggregate.Event):
        """`reinstated`: the part of the money back that takes back an overpayment
        written off, `recovered`: the part that settles one still to recover (the rest is
        payable again); absent from returns that do neither."""

        added_later: ClassVar[tuple[str, ...]] = ("recovered", "reinstated")

        claim_id: str
        period: int
        county: str
        amount: Decimal
        bank_reference: str
        reason: str
        actor: str
        effective_date: date
        recovered: Decimal = ZERO
        reinstated: Decimal = ZERO

        def apply(self, member: MemberState) -> None:
            claim = member.claims[self.claim_id]
            member.claims[self.claim_id] = replace(
                claim,
                returned=claim.returned | {self.bank_reference},
                written_off=claim.written_off - self.reinstated,
            )

    class ClaimAppealed(Aggregate.Event):
        claim_id: str
        period: int
        grounds: str
        actor: str
        effective_date: date

        def apply(self, member: MemberState) -> None:
            member.claims[self.claim_id] = replace(
                member.claims[self.claim_id], appeal=self.grounds
            )

    class ClaimReassessed(Aggregate.Event):
        """A decision superseding the claim's last (`previous` its benefit, `superseded` its
        status): `amount` is the benefit now, `recovery` the change to what is to be
        recovered from the member, `reinstated` what of an overpayment written off the
        rise takes back; `breakdown` None for a reversal."""

        claim_id: str
        period: int
        county: str
        amount: Decimal
        previous: Decimal
        eligible: Decimal
        status: str
        superseded: str
        policy_version: str
        breakdown: dict[str, Any] | None
        reason: str
        on_appeal: bool
        recovery: Decimal
        reinstated: Decimal
        actor: str
        effective_date: date

        @property
        def difference(self) -> Decimal:
            return self.amount - self.previous

        def apply(self, member: MemberState) -> None:
            member.claims[self.claim_id] = replace(
                member.claims[self.claim_id],
                status=self.status,
                eligible=self.eligible,
                approved=self.amount,
                decided_on=self.effective_date,
                decided_by=self.actor,
                appeal=None,
                written_off=member.claims[self.claim_id].written_off - self.reinstated,
            )
            member.enrolments[self.period] = member.enrolments[self.period].after_approval(
                self.difference, member.claims[self.claim_id].item
            )

    class RecoveryCollected(Aggregate.Event):
        claim_id: str
        period: int
        county: str
        amount: Decimal
        receipt: str
        actor: str
        effective_date: date

        def apply(self, member: MemberState) -> None:
            member.receipts.add(self.receipt)
            claim = member.claims[self.claim_id]
            member.claims[self.claim_id] = replace(claim, collected=claim.collected + self.amount)

    class RecoveryWrittenOff(Aggregate.Event):
        claim_id: str
        period: int
        county: str
        amount: Decimal
        reason: str
        actor: str
        effective_date: date

        def apply(self, member: MemberState) -> None:
            claim = member.claims[self.claim_id]
            member.claims[self.claim_id] = replace(
                claim, written_off=claim.written_off + self.amount
            )

    class ClaimProRated(Aggregate.Event):
        """The period's benefits pro-rated at `rate` (the city pool could not cover them):
        of what was `payable` on the claim, `held_back` is not paid now, forfeited or
        (`carried`) owed until a later period releases it."""

        claim_id: str
        period: int
        county: str
        rate: Decimal
        payable: Decimal
        held_back: Decimal
        carried: bool
        reference: str
        actor: str
        effective_date: date

        def apply(self, member: MemberState) -> None:
            claim = member.claims[self.claim_id]
            if self.carried:
                claim = replace(claim, carried=claim.carried + self.held_back)
            else:
                claim = replace(claim, forfeited=claim.forfeited + self.held_back)
            member.claims[self.claim_id] = claim

    class CarriedReleased(Aggregate.Event):
        """What a pro-rating carried on the claim, payable again, charged to `into_period`."""

        claim_id: str
        period: int
        county: str
        amount: Decimal
        into_period: int
        reference: str
        actor: str
        effective_date: date

        def apply(self, member: MemberState) -> None:
            claim = member.claims[self.claim_id]
            member.claims[self.claim_id] = replace(claim, carried=claim.carried - self.amount)

    def _record(self, fact: Fact) -> None:
        self.trigger_event(fact.kind, **fact.fields)

    # Commands

    def enrol(
        self,
        period: Period,
        county: str,
        unit: str,
        group: str | None,
        actor: str,
        effective_date: date,
        details: MemberDetails = NO_DETAILS,
        roster_line: str | None = None,
        eligibility: Eligibility = NOT_ATTESTED,
    ) -> None:
        fact = self.enrolment_fact(
            period, county, unit, group, actor, effective_date, details, roster_line, eligibility
        )
        self._record(fact)

    def change_details(
        self,
        details: MemberDetails,
        actor: str,
        effective_date: date,
        roster_line: str | None = None,
    ) -> MemberDetails:
        """Record the details that differ from those on record; returns what changed."""
        fact = self.details_fact(details, actor, effective_date, roster_line)
        if fact is None:
            return NO_DETAILS
        self._record(fact)
        return MemberDetails(
            *(fact.fields.get(k) for k in ("name", "bank_account", "bank", "phone"))
        )

    def pay_premium(
        self,
        period: int,
        amounts: dict[str, object],
        receipt: str,
        actor: str,
        effective_date: date,
    ) -> None:
        self._record(self.premium_fact(period, amounts, receipt, actor, effective_date))

    def submit_claim(
        self,
        claim_id: str,
        period: Period,
        eligible: object,
        actor: str,
        effective_date: date,
        settlement: Settlement | None = None,
        received_on: date | None = None,
        item: str | None = None,
        days: int | None = None,
    ) -> None:
        fact = self.submission_fact(
            claim_id, period, eligible, actor, effective_date, settlement, received_on, item, days
        )
        self._record(fact)

    def adjudicate_claim(
        self, claim_id: str, period: Period, effective_date: date
    ) -> BenefitCalculation:
        fact, calculation = self.adjudication_fact(claim_id, period, effective_date)
        self._record(fact)
        return calculation

    def assess_claim(self, claim_id: str, rule: BenefitRule) -> BenefitCalculation:
        """The benefit this claim would get now, within what is left of the member's cap."""
        claim = self.claim(claim_id)
        return assess(claim, self.enrolments[claim.period], rule)

    def approve_claim(
        self, claim_id: str, period: Period, actor: str, effective_date: date
    ) -> BenefitCalculation:
        self._require_not_submitter(claim_id, actor, "approve_claim", "approve")
        claim = self.claims[claim_id]
        enrolment = self.enrolments[claim.period]
        rule = period.policy.rule_for(claim.item)
        calculation = decide_approval(claim, enrolment, rule, effective_date)
        self._record(self.approval_fact(claim, period, calculation, actor, effective_date))
        return calculation

    def reject_claim(self, claim_id: str, reason: str, actor: str, effective_date: date) -> None:
        self._require_not_submitter(claim_id, actor, "reject_claim", "reject")
        claim = self.claims[claim_id]
        reason = decide_rejection(claim, reason, effective_date)
        self._record(self.rejection_fact(claim, reason, actor, effective_date))

    def make_payout(
        self,
        claim_id: str,
        amount: object | None,
        bank_reference: str,
        actor: str,
        effective_date: date,
    ) -> Decimal:
        """Pay all or part of what is approved and unpaid; returns the amount paid."""
        fact = self.payout_fact(claim_id, amount, bank_reference, actor, effective_date)
        self._record(fact)
        paid: Decimal = fact.fields["amount"]
        return paid

    def confirm_payout(
        self, claim_id: str, bank_reference: str, actor: str, effective_date: date
    ) -> None:
        self._record(self.confirmation_fact(claim_id, bank_reference, actor, effective_date))

    def return_payout(
        self, claim_id: str, bank_reference: str, reason: str, actor: str, effective_date: date
    ) -> None:
        self._record(self.return_fact(claim_id, bank_reference, reason, actor, effective_date))

    def appeal_claim(self, claim_id: str, grounds: str, actor: str, effective_date: date) -> None:
        self._record(self.appeal_fact(claim_id, grounds, actor, effective_date))

    def reassess_claim(
        self,
        claim_id: str,
        period: Period,
        eligible: object,
        reason: str,
        actor: str,
        effective_date: date,
    ) -> Decimal:
        """Decide the member's appeal: by an approver other than whoever decided the claim
        (the policy's own decisions excepted) or submitted it. Returns the new benefit."""
        claim = self.claim(claim_id)
        if claim.decided_by == actor:
            raise DutyRefused(
                actor, "reassess_claim", f"reassess claim {claim_id}", f"{actor} decided it"
            )
        self._require_not_submitter(claim_id, actor, "reassess_claim", "reassess")
        fact = self.reassessment_fact(
            claim_id, period, eligible, reason, actor, effective_date, on_appeal=True
        )
        self._record(fact)
        amount: Decimal = fact.fields["amount"]
        return amount

    def correct_claim(
        self,
        claim_id: str,
        period: Period,
        eligible: object,
        reason: str,
        actor: str,
        effective_date: date,
    ) -> Decimal:
        """Reverse (`eligible` None) or reduce an approval found wrong. Returns the new
        benefit."""
        self._require_not_submitter(claim_id, actor, "correct_claim", "correct")
        fact = self.reassessment_fact(
            claim_id, period, eligible, reason, actor, effective_date, on_appeal=False
        )
        self._record(fact)
        amount: Decimal = fact.fields["amount"]
        return amount

    def collect_recovery(
        self, claim_id: str, amount: object, receipt: str, actor: str, effective_date: date
    ) -> Decimal:
        """Record an overpayment (all that is owed, for `amount` None) paid back."""
        fact = self.recovery_fact(claim_id, amount, receipt, actor, effective_date)
        self._record(fact)
        collected: Decimal = fact.fields["amount"]
        return collected

    def write_off_recovery(
        self, claim_id: str, reason: str, actor: str, effective_date: date
    ) -> Decimal:
        fact = self.write_off_fact(claim_id, reason, actor, effective_date)
        self._record(fact)
        written_off: Decimal = fact.fields["amount"]
        return written_off


def registration(member_id: str, actor: str, effective_date: date) -> Fact:
    """A new member, under an id given exactly: "M001 " would be another member."""
    return Fact(
        Member.Registered,
        {
            "member_id": identifier(member_id, "member_id"),
            "actor": actor,
            "effective_date": effective_date,
        },
    )


def member_uuid(member_id: str) -> UUID:
    return uuid5(NAMESPACE, f"member:{member_id}")


class ClaimIndex(Aggregate):
    """Maps a claim id to its member; its fixed id makes a claim id unique across the scheme."""

    @staticmethod
    def create_id(claim_id: str, **_: Any) -> UUID:
        return claim_uuid(claim_id)

    class Indexed(Aggregate.Created):
        claim_id: str
        member_id: str
        actor: str
        effective_date: date

    @event(Indexed)
    def __init__(self, claim_id: str, member_id: str, actor: str, effective_date: date) -> None:
        self.claim_id = claim_id
        self.member_id = member_id


def claim_indexed(claim_id: str, member_id: str, actor: str, effective_date: date) -> Fact:
    """The claim id taken for the member: the one event of its claim index."""
    return Fact(
        ClaimIndex.Indexed,
        {
            "claim_id": claim_id,
            "member_id": member_id,
            "actor": actor,
            "effective_date": effective_date,
        },
    )


def claim_uuid(claim_id: str) -> UUID:
    return uuid5(NAMESPACE, f"claim:{claim_id}")
