"""The explanation of benefit for a member (补助说明): one claim, the bill as insurance
settled it, the bands the policy applied, the cap used before it and left after it, and
what has been paid; from the claim's own events as the log stood at a position."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from domain.member import Member
from domain.money import ZERO, fmt
from ledger.application.books import Books
from ledger.reports.figures import Provenance, provenance
from ledger.reports.trails import claim_events

SETTLEMENT_PARTS = (
    "total_cost",
    "insurance_paid",
    "policy_self_paid",
    "out_of_catalogue",
    "insurance_deductible",
    "above_ceiling",
)


class Decision(NamedTuple):
    """One decision on the claim: the first, and each that superseded it (both kept)."""

    on: date
    status: str
    benefit: Decimal
    reason: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "on": self.on.isoformat(),
            "status": self.status,
            "benefit": fmt(self.benefit),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class BenefitNotice:
    scheme: str
    claim_id: str
    member_id: str
    county: str
    period: int
    dated: date
    """The claim's date: the discharge, for a settlement."""
    settlement: dict[str, Decimal]
    """The bill's figures as insurance settled it (SETTLEMENT_PARTS it gives)."""
    eligible: Decimal
    """What the claim is decided on: the eligible self-paid amount, or an item's base."""
    item: str | None
    """The benefit item claimed (None: the main benefit), as the policy titles it."""
    days: int | None
    status: str
    """submitted, approved, rejected or reversed: as the last decision left it."""
    reason: str | None
    policy_version: str | None
    breakdown: dict[str, Any] | None
    """The last decision's calculation as recorded: bands, uplift, cap left before it."""
    cap: Decimal | None
    """The member's annual cap in the period; None: no cap."""
    paid: Decimal
    settled: Decimal
    """What of an overpayment the member paid back, or the fund wrote off (and did not take
    back since)."""
    decisions: tuple[Decision, ...]
    provenance: Provenance

    @property
    def benefit(self) -> Decimal:
        return ZERO if self.breakdown is None else Decimal(self.breakdown["benefit"])

    @property
    def payable(self) -> Decimal:
        return max(ZERO, self.benefit - self.paid + self.settled)

    @property
    def to_recover(self) -> Decimal:
        """What the member was paid beyond the benefit and has still to pay back."""
        return max(ZERO, self.paid - self.benefit - self.settled)

    @property
    def cap_left_before(self) -> Decimal | None:
        if self.breakdown is None or self.breakdown["cap_remaining"] is None:
            return None
        return Decimal(self.breakdown["cap_remaining"])

    @property
    def cap_left_after(self) -> Decimal | None:
        left = self.cap_left_before
        return None if left is None else left - self.benefit

    def as_dict(self) -> dict[str, Any]:
        def amount(value: Decimal | None) -> str | None:
            return None if value is None else fmt(value)

        return {
            "scheme": self.scheme,
            "claim_id": self.claim_id,
            "member_id": self.member_id,
            "county": self.county,
            "period": self.period,
            "dated": self.dated.isoformat(),
            "settlement": {part: fmt(a) for part, a in self.settlement.items()},
            "eligible": fmt(self.eligible),
            "item": self.item,
            "days": self.days,
            "status": self.status,
            "reason": self.reason,
            "policy_version": self.policy_version,
            "calculation": self.breakdown,
            "cap": amount(self.cap),
            "cap_left_before": amount(self.cap_left_before),
            "cap_left_after": amount(self.cap_left_after),
            "benefit": fmt(self.benefit),
            "paid": fmt(self.paid),
            "settled": fmt(self.settled),
            "payable": fmt(self.payable),
            "to_recover": fmt(self.to_recover),
            "decisions": [d.as_dict() for d in self.decisions],
            **self.provenance.as_dict(),
        }


def benefit_notice(books: Books, claim_id: str, known_at: int | None = None) -> BenefitNotice:
    """The explanation of benefit for a claim, as the log stood at `known_at` (default: its
    end)."""
    at = provenance(books, known_at)
    events = [r.event for r in claim_events(books.log, claim_id) if r.position <= at.position]
    submitted = next(e for e in events if isinstance(e, Member.ClaimSubmitted))
    history = [r.event for r in books.log.events_of([submitted.originator_id])]
    registered = next(e for e in history if isinstance(e, Member.Registered))
    enrolled = next(
        e for e in history if isinstance(e, Member.Enrolled) and e.period == submitted.period
    )
    status, reason, version, breakdown, paid, settled = "submitted", None, None, None, ZERO, ZERO
    eligible, decisions = submitted.eligible, []
    for e in events:
        if isinstance(e, Member.ClaimApproved):
            status, version, breakdown = "approved", e.policy_version, e.breakdown
            decisions.append(Decision(e.effective_date, status, e.amount, None))
        elif isinstance(e, Member.ClaimRejected):
            status, reason = "rejected", e.reason
            decisions.append(Decision(e.effective_date, status, ZERO, reason))
        elif isinstance(e, Member.ClaimReassessed):
            status, reason, eligible = e.status, e.reason, e.eligible
            version, breakdown = e.policy_version, e.breakdown
            settled -= e.reinstated
            decisions.append(Decision(e.effective_date, status, e.amount, reason))
        elif isinstance(e, Member.PayoutMade):
            paid += e.amount
        elif isinstance(e, Member.PayoutReturned):
            paid -= e.amount
            settled -= e.reinstated
        elif isinstance(e, Member.RecoveryCollected | Member.RecoveryWrittenOff):
            settled += e.amount
    policy = books.app.scheme().period(submitted.period).policy
    return BenefitNotice(
        scheme=books.app.scheme().name,
        claim_id=claim_id,
        member_id=registered.member_id,
        county=submitted.county,
        period=submitted.period,
        dated=submitted.effective_date,
        settlement={
            part: Decimal(submitted.settlement[part])
            for part in SETTLEMENT_PARTS
            if submitted.settlement and submitted.settlement.get(part) is not None
        },
        eligible=eligible,
        item=None if submitted.item is None else policy.items[submitted.item].title,
        days=submitted.days,
        status=status,
        reason=reason,
        policy_version=version,
        breakdown=breakdown,
        cap=policy.rule_for(submitted.item).cap_for(enrolled.group),
        paid=paid,
        settled=settled,
        decisions=tuple(decisions),
        provenance=at,
    )
