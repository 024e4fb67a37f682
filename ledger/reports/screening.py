"""Screening and referral (主动发现): a slip (反馈单) for each member whose eligible self-paid
costs or number of claims in a period call for a visit, grouped by unit; a unit's slips go
to its union only, so they name members in full.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from domain.errors import LedgerError
from domain.money import ZERO
from ledger.application.books import Books
from ledger.reports.figures import (
    ClaimLine,
    Provenance,
    Unit,
    claim_lines,
    period_known,
    provenance,
    resolve_unit,
)
from projections.statements import CLAIM_KINDS, SUBMITTED, Fact, PeriodKnown


@dataclass(frozen=True)
class Slip:
    """A referral slip (反馈单): one member whose costs or claims call for a visit."""

    member_id: str
    """In full: a slip goes only to the member's own unit union."""
    county: str
    unit: str
    claims: list[ClaimLine]
    reasons: list[str]
    name: str | None = None
    """As the roster last gave it by the slip's log position; None if it never did."""

    @property
    def self_paid(self) -> Decimal:
        return sum((c.self_paid for c in self.claims), ZERO)

    @property
    def benefits(self) -> Decimal:
        return sum((c.benefit for c in self.claims), ZERO)

    @property
    def paid(self) -> Decimal:
        return sum((c.paid for c in self.claims), ZERO)


@dataclass(frozen=True)
class Screening:
    scheme: str
    county_names: dict[str, str]
    period: PeriodKnown
    provenance: Provenance
    threshold: Decimal
    frequent: int | None
    slips: dict[Unit, list[Slip]]
    """By unit (county, name), in that order; each unit's members in id order."""
    unit: Unit | None = None
    """The one unit asked for, if one was."""


def screening(
    books: Books,
    period: int,
    threshold: Decimal,
    frequent: int | None = None,
    unit: str | None = None,
    known_at: int | None = None,
    county: str | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> Screening:
    """Members whose eligible self-paid costs in the period exceed `threshold`, or who made
    at least `frequent` claims, grouped by unit (county, name). Only the unit named `unit`
    if given (in `county`, which it needs when units of that name are enrolled in several
    counties), or only the units of `county` if that alone is given."""
    if frequent is not None and frequent < 1:
        raise LedgerError(f"--frequent: {frequent} is not a number of claims (1 or more)")
    at = provenance(books, known_at, on_progress)
    current, _ = period_known(books, period, at.position)
    scheme = books.app.scheme()
    asked = None
    if unit is not None:
        asked = resolve_unit(books, scheme, period, at.position, unit, county)
        county = asked.county
    elif county is not None:
        scheme.require_county(county)
    facts = books.statements.facts(period, at.position, CLAIM_KINDS, county=county, unit=unit)
    by_member: dict[str, list[Fact]] = {}
    for f in facts:
        by_member.setdefault(f.member_id or "", []).append(f)
    slips: dict[Unit, list[Slip]] = {}
    names = books.statements.names(by_member, at.position)
    for member_id, mine in sorted(by_member.items()):
        claims = claim_lines(mine)
        if not claims:
            continue
        self_paid = sum((c.self_paid for c in claims), ZERO)
        reasons = []
        if self_paid > threshold:
            reasons.append(
                f"自付费用 {self_paid:,.2f} 超过 {threshold:,.2f} "
                f"self-paid costs {self_paid:,.2f} exceed {threshold:,.2f}"
            )
        if frequent is not None and len(claims) >= frequent:
            reasons.append(
                f"本期申请 {len(claims)} 次（不少于 {frequent} 次） "
                f"{len(claims)} claims in the period (at least {frequent})"
            )
        if reasons:
            first = next(f for f in mine if f.kind == SUBMITTED)
            slip = Slip(
                member_id, first.county, first.unit or "", claims, reasons, names.get(member_id)
            )
            slips.setdefault(Unit(slip.county, slip.unit), []).append(slip)
    return Screening(
        scheme.name,
        dict(scheme.counties),
        current,
        at,
        threshold,
        frequent,
        dict(sorted(slips.items())),
        asked,
    )
