"""A summary over several periods (Weihai reports fourteen at once): each period's figures of
the city, or of one county, in a column of its own, the totals over them, and per head
figures that say which funding sources they count.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from domain.errors import LedgerError, UnknownPeriod
from domain.money import ZERO, fmt
from domain.policy import is_funding_source
from domain.scheme import PERIOD_NUMBERS
from ledger.application.books import Books
from ledger.reports.figures import (
    Figures,
    Provenance,
    average,
    counties_in,
    county_changes,
    period_dict,
    provenance,
    require_county_in,
    total,
)
from ledger.reports.statement import opening_reserves, period_figures
from projections.statements import PeriodKnown

PERIODS = re.compile(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?")


def parse_periods(text: str) -> tuple[int, int]:
    """FIRST-LAST (say 1-14), or one period, as the first and last period numbers."""
    found = PERIODS.fullmatch(text)
    if found is None:
        raise LedgerError(f"--periods: {text!r} is not FIRST-LAST (say 1-14) or one period")
    first = int(found.group(1))
    last = first if found.group(2) is None else int(found.group(2))
    for number in (first, last):
        if number not in PERIOD_NUMBERS:
            raise LedgerError(
                f"period {number}: period numbers run from {PERIOD_NUMBERS[0]} to "
                f"{PERIOD_NUMBERS[-1]}"
            )
    return first, last


def parse_sources(text: str | None) -> list[str] | None:
    """Funding sources, comma-separated; None (all of them) for none given."""
    return None if text is None else [s.strip() for s in text.split(",") if s.strip()]


@dataclass(frozen=True)
class PerHead:
    """Premium income and benefits approved per member enrolled, to the fen."""

    sources: tuple[str, ...] | None
    """The funding sources the premium per head counts; None: all of them."""

    def premium(self, f: Figures) -> Decimal | None:
        counted = (
            f.premiums
            if self.sources is None
            else {s: f.premiums.get(s, ZERO) for s in self.sources}
        )
        return average(sum(counted.values(), ZERO), f.members)

    @staticmethod
    def benefit(f: Figures) -> Decimal | None:
        return average(f.benefits_approved, f.members)

    def as_dict(self, f: Figures) -> dict[str, Any]:
        premium, benefit = self.premium(f), self.benefit(f)
        return {
            "premium_per_member": None if premium is None else fmt(premium),
            "benefits_approved_per_member": None if benefit is None else fmt(benefit),
        }


@dataclass(frozen=True)
class Summary:
    scheme: str
    county: str | None
    county_names: dict[str, str]
    provenance: Provenance
    periods: list[tuple[PeriodKnown, Figures]]
    """The subject's figures in each period, in order."""
    per_head: PerHead

    @property
    def total(self) -> Figures:
        """Over the periods: flows summed, the reserve from the first opening to the last
        closing; members are enrolments (a member enrolled in two periods counts twice)."""
        summed = total(f for _, f in self.periods)
        return replace(summed, opening_reserve=self.periods[0][1].opening_reserve)

    def as_dict(self) -> dict[str, Any]:
        def column(f: Figures) -> dict[str, Any]:
            return {**f.as_dict(), **self.per_head.as_dict(f)}

        return {
            "scheme": self.scheme,
            "county": self.county,
            "county_names": self.county_names,
            "known_at": self.provenance.as_dict(),
            "per_head_sources": None
            if self.per_head.sources is None
            else list(self.per_head.sources),
            "periods": [{"period": period_dict(p), **column(f)} for p, f in self.periods],
            "total": column(self.total),
        }


def summary(
    books: Books,
    first: int,
    last: int,
    county: str | None = None,
    known_at: int | None = None,
    per_head_sources: Sequence[str] | None = None,
) -> Summary:
    """Periods `first` to `last` of the city, or of one county, as the log stood at
    `known_at` (default: its end)."""
    if first > last:
        raise LedgerError(f"--periods: {first}-{last} runs backwards: give FIRST-LAST")
    for source in per_head_sources or ():
        if not is_funding_source(source):
            raise LedgerError(f"--per-head-sources: {source!r} is not a funding source")
    at = provenance(books, known_at)
    scheme = books.app.scheme()
    known = [p for p in books.statements.periods(at.position) if p.number <= last]
    numbers = {p.number for p in known}
    for number in range(first, last + 1):
        if number not in numbers:
            raise UnknownPeriod(number, at.position)
    changes = county_changes(books, at.position)
    if county is not None:
        for number in range(first, last + 1):
            require_county_in(scheme, changes, county, number)
    opening, _ = opening_reserves(books, known, county, sorted(scheme.counties), at.position)
    periods = []
    for p in (p for p in known if p.number >= first):
        counties = counties_in(scheme, changes, p.number)
        figures = period_figures(books, p, opening[p.number], county, counties, at.position)
        periods.append((p, figures.subject))
    shown = sorted({c for n in range(first, last + 1) for c in counties_in(scheme, changes, n)})
    return Summary(
        scheme=scheme.name,
        county=county,
        county_names={c: scheme.counties[c] for c in ([county] if county else shown)},
        provenance=at,
        periods=periods,
        per_head=PerHead(None if per_head_sources is None else tuple(per_head_sources)),
    )
