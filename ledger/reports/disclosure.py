"""Disclosure to units (信息公开): a unit's members enrolled, premiums, claims and benefits
beside the whole city's, with its members masked.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from domain.money import fmt
from ledger.application.books import Books
from ledger.reports.figures import (
    Figures,
    Provenance,
    Unit,
    claim_lines,
    from_tallies,
    mask,
    period_dict,
    period_known,
    provenance,
    resolve_unit,
)
from projections.statements import CLAIM_KINDS, Fact, PeriodKnown


@dataclass(frozen=True)
class DisclosedClaim:
    member: str
    """Masked."""
    submitted_on: date
    self_paid: Decimal
    status: str
    benefit: Decimal
    paid: Decimal

    def as_dict(self) -> dict[str, Any]:
        return {
            "member": self.member,
            "submitted_on": self.submitted_on.isoformat(),
            "self_paid": fmt(self.self_paid),
            "status": self.status,
            "benefit": fmt(self.benefit),
            "paid": fmt(self.paid),
        }


@dataclass(frozen=True)
class Disclosure:
    scheme: str
    period: PeriodKnown
    provenance: Provenance
    unit: Unit
    county_name: str
    """The unit's county's name (unit.county is its code)."""
    unit_figures: Figures
    city_figures: Figures
    claims: list[DisclosedClaim]

    def as_dict(self) -> dict[str, Any]:
        return {
            "scheme": self.scheme,
            "period": period_dict(self.period),
            "known_at": self.provenance.as_dict(),
            "county": self.unit.county,
            "county_name": self.county_name,
            "unit": self.unit.name,
            "unit_figures": self.unit_figures.activity(),
            "city_figures": self.city_figures.activity(),
            "claims": [c.as_dict() for c in self.claims],
        }


def disclosure(
    books: Books,
    period: int,
    unit: str,
    known_at: int | None = None,
    county: str | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> Disclosure:
    """A unit's members enrolled, premiums paid, claims and benefits, beside the whole
    city's, all from the facts recorded for members (adjustments are the fund's, not a
    unit's); members masked. The unit is the one of that name in `county`, which is needed
    only when units of that name are enrolled in several counties."""
    at = provenance(books, known_at, on_progress)
    current, _ = period_known(books, period, at.position)
    scheme = books.app.scheme()
    found = resolve_unit(books, scheme, period, at.position, unit, county)
    tallies = books.statements.tallies(period, at.position)
    mine = from_tallies(tallies, county=found.county, unit=found.name)
    facts = books.statements.facts(
        period, at.position, CLAIM_KINDS, county=found.county, unit=found.name
    )
    by_member: dict[str, list[Fact]] = {}
    for f in facts:
        by_member.setdefault(f.member_id or "", []).append(f)
    claims = [
        DisclosedClaim(mask(m), c.submitted_on, c.self_paid, c.status, c.benefit, c.paid)
        for m, member_facts in by_member.items()
        for c in claim_lines(member_facts)
    ]
    claims.sort(key=lambda c: (c.submitted_on, -c.self_paid))
    return Disclosure(
        scheme.name,
        current,
        at,
        found,
        scheme.counties.get(found.county, found.county),
        mine,
        from_tallies(tallies),
        claims,
    )
