"""What the documents share: the log position each is produced at, an entity's figures from
the statement facts, units, a member's claims, and the rules for ratios, averages and masks.

Each document is produced from the log as it stood at a position P (default: its end) and
names P and the hash-chain digest at P, so anyone can produce it again later, with the same
figures whatever was recorded since, and check that the log it came from is the one
published. Money comes from the balances (so each figure equals `ledger balances`), and
counts, claims and units from the statement facts; both are read with
`notification_id <= P`.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

from domain.errors import CountyNotInPeriod, LedgerError, UnknownPeriod
from domain.money import ZERO, fmt, from_fen, round_yuan
from domain.scheme import PERIOD_NUMBERS, Scheme, in_pool
from ledger.application.books import Books
from projections.statements import (
    APPROVED,
    ENROLLED,
    JOINED,
    LEFT,
    PAID_OUT,
    PREMIUM,
    PRO_RATED,
    REASSESSED,
    REJECTED,
    RELEASED,
    SUBMITTED,
    Fact,
    PeriodKnown,
    Tally,
)

PERCENT_PLACES = Decimal("0.1")
NEVER = PERIOD_NUMBERS.stop
"""The period a county that joined after a document's position joins, as the document has it."""


# The log position a document is produced at


@dataclass(frozen=True)
class Provenance:
    """The log position a document was produced at, and the chain's digest there."""

    position: int
    hash: str
    recorded_at: str
    """When the event at the position was recorded (UTC, from the chain)."""

    @property
    def digest(self) -> str:
        """As `ledger audit digest` prints it and `ledger audit verify --digest` takes it."""
        return f"{self.position}:{self.hash}"

    def as_dict(self) -> dict[str, Any]:
        return {"position": self.position, "digest": self.digest, "recorded_at": self.recorded_at}


def provenance(
    books: Books,
    known_at: int | None,
    on_progress: Callable[[int], None] | None = None,
    option: str = "--as-known-at",
) -> Provenance:
    """Bring the read models up to the end of the log and pin the position to report at:
    `known_at` (asked for by `option`), or the end of the log; the digest is the chain's
    link there. `on_progress` is told the position reached, batch by batch, for a progress
    bar."""
    last = books.log.last_position()
    books.catch_up(on_batch=on_progress)
    if last == 0:
        raise LedgerError("the log is empty: there is nothing to report on yet")
    if known_at is not None and known_at > last:
        raise beyond_the_log(books, known_at, last, option)
    if known_at is not None and known_at < 1:
        raise LedgerError(f"{option}: position {known_at} is not in the log (1 to {last})")
    position = last if known_at is None else known_at
    found = books.log.link_as_of(position)
    if found is None:
        raise LedgerError(f"position {position} has no link in the hash chain")
    return Provenance(found.position, found.hash, found.recorded_at)


def beyond_the_log(
    books: Books, position: int, last: int, option: str = "--as-known-at"
) -> LedgerError:
    """A position asked for past the end of the log; on a replica, how far it has replayed."""
    lag = (
        f"; this is a replica, which has replayed the log to {last}: wait for it to catch up, "
        "or read the primary"
        if books.log.on_replica()
        else ""
    )
    return LedgerError(
        f"{option}: position {position} is beyond the end of the log (the last is {last})" + lag
    )


def period_known(books: Books, number: int, at: int) -> tuple[PeriodKnown, list[PeriodKnown]]:
    """The period as known at `at`, and every period up to it (the reserves run over them)."""
    periods = books.statements.periods(at)
    found = [p for p in periods if p.number == number]
    if not found:
        raise UnknownPeriod(number, at)
    return found[0], [p for p in periods if p.number <= number]


def period_dict(period: PeriodKnown) -> dict[str, Any]:
    """The period as a document's JSON names it."""
    return {
        "number": period.number,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "policy_version": period.policy_version,
        "closed_on": None if period.closed_on is None else period.closed_on.isoformat(),
    }


# The counties in the city pool


@dataclass(frozen=True)
class CountyChange:
    """A county joining the city pool from a period, with the balance it brought, or leaving
    it after one, with the balance settled to it."""

    county: str
    change: str
    """JOINED or LEFT."""
    period: int
    amount: Decimal
    effective_date: date

    def as_dict(self) -> dict[str, Any]:
        return {
            "county": self.county,
            "change": self.change,
            "period": self.period,
            "amount": fmt(self.amount),
            "effective_date": self.effective_date.isoformat(),
        }


def county_changes(books: Books, at: int) -> list[CountyChange]:
    """The counties that joined or left the city pool, as known at `at`."""
    return [
        CountyChange(f.county, f.kind, f.period, from_fen(f.amount_fen), f.effective_date)
        for f in books.statements.county_changes(at)
    ]


def counties_in(scheme: Scheme, changes: Sequence[CountyChange], period: int) -> list[str]:
    """The counties in the city pool in the period as known at the changes' position: those
    in it from the start, those that had joined by then from a period up to this one, less
    those that had left before it."""
    joined = dict.fromkeys(scheme.joined, NEVER) | {
        c.county: c.period for c in changes if c.change == JOINED
    }
    left = {c.county: c.period for c in changes if c.change == LEFT}
    return sorted(c for c in scheme.counties if in_pool(c, period, joined, left))


def require_county_in(
    scheme: Scheme, changes: Sequence[CountyChange], county: str, period: int
) -> None:
    """Refuse a document of a county not in the city pool in the period."""
    scheme.require_county(county)
    if county not in counties_in(scheme, changes, period):
        said = [c for c in changes if c.county == county]
        why = "; ".join(
            f"it joined in period {c.period}"
            if c.change == JOINED
            else f"it left after period {c.period}"
            for c in said
        )
        raise CountyNotInPeriod(county, period, why or "it had not joined by then")


# Figures


def percent(part: Decimal, whole: Decimal) -> Decimal | None:
    """part / whole as a percentage to one decimal place, half up (the claims ratio, 赔付率);
    None when there is no whole to divide by."""
    if whole == 0:
        return None
    return (part * 100 / whole).quantize(PERCENT_PLACES, rounding=ROUND_HALF_UP)


def average(total: Decimal, count: int) -> Decimal | None:
    """An amount per item, to the fen; None when there are no items."""
    return None if count == 0 else round_yuan(total / count)


def mask(member_id: str) -> str:
    """A member's identity as statements show it: M001234 -> M00****34. Enough to tell the
    lines of a table apart, not to identify anyone; short ids keep only their first sign."""
    text = member_id.strip()
    if len(text) >= 7:
        return f"{text[:3]}****{text[-2:]}"
    return f"{text[:1]}****"


def _money(value: Decimal | None) -> str | None:
    return None if value is None else fmt(value)


def _ratio(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.1f}"


@dataclass(frozen=True)
class Figures:
    """One fund entity's figures for a period: a county, the city pool, the whole city, or
    (from the facts alone, with no reserves) a unit."""

    members: int = 0
    units: int = 0
    premiums: dict[str, Decimal] = field(default_factory=dict)
    """Premium income by funding source (FUNDING_SOURCES, or union:<level>)."""
    benefits_approved: Decimal = ZERO
    """As decided, less what a pro-rating held back, plus what one released into the
    period: the period's benefit expense."""
    benefits_paid: Decimal = ZERO
    """Payouts made less payouts returned, on the period's claims."""
    claims: int = 0
    """Claims approved with a benefit."""
    claims_rejected: int = 0
    members_helped: int = 0
    opening_reserve: Decimal = ZERO
    deficit_city_share: Decimal = ZERO
    """Of the entity's deficit, what the city pool bore (for the pool: what it paid out)."""
    deficit_county_share: Decimal = ZERO
    period_result: Decimal = ZERO
    """All income less all expense in the period, deficit sharing included (the balances'
    surplus)."""
    paid_in_dates: Decimal = ZERO
    """Payouts made within the period's dates, less those returned and paid back, on the
    claims of any period: the calendar ratio's claims."""
    received_in_dates: Decimal = ZERO
    """Premium income dated within the period's dates, of any period: the calendar ratio's
    premiums."""

    @property
    def premium_income(self) -> Decimal:
        return sum(self.premiums.values(), ZERO)

    @property
    def result_before_sharing(self) -> Decimal:
        """Premium income less benefits approved: a surplus, or (negative) a deficit."""
        return self.premium_income - self.benefits_approved

    @property
    def closing_reserve(self) -> Decimal:
        return self.opening_reserve + self.period_result

    @property
    def average_benefit(self) -> Decimal | None:
        return average(self.benefits_approved, self.claims)

    @property
    def claims_ratio(self) -> Decimal | None:
        """By cohort: the period's benefits approved as a percentage of its premium income."""
        return percent(self.benefits_approved, self.premium_income)

    @property
    def calendar_claims_ratio(self) -> Decimal | None:
        """By calendar: what was paid out within the period's dates as a percentage of the
        premiums received within them, whichever period either belongs to."""
        return percent(self.paid_in_dates, self.received_in_dates)

    def plus(self, other: "Figures") -> "Figures":
        sources = sorted(self.premiums.keys() | other.premiums.keys())
        return Figures(
            self.members + other.members,
            self.units + other.units,
            {s: self.premiums.get(s, ZERO) + other.premiums.get(s, ZERO) for s in sources},
            self.benefits_approved + other.benefits_approved,
            self.benefits_paid + other.benefits_paid,
            self.claims + other.claims,
            self.claims_rejected + other.claims_rejected,
            self.members_helped + other.members_helped,
            self.opening_reserve + other.opening_reserve,
            self.deficit_city_share + other.deficit_city_share,
            self.deficit_county_share + other.deficit_county_share,
            self.period_result + other.period_result,
            self.paid_in_dates + other.paid_in_dates,
            self.received_in_dates + other.received_in_dates,
        )

    def activity(self) -> dict[str, Any]:
        """What the entity's members did: the figures a unit also has."""
        return {
            "members": self.members,
            "units": self.units,
            "premium_income": {s: fmt(a) for s, a in sorted(self.premiums.items())},
            "premium_income_total": fmt(self.premium_income),
            "benefits_approved": fmt(self.benefits_approved),
            "benefits_paid": fmt(self.benefits_paid),
            "claims": self.claims,
            "claims_rejected": self.claims_rejected,
            "members_helped": self.members_helped,
            "average_benefit_per_claim": _money(self.average_benefit),
            "claims_ratio_percent": _ratio(self.claims_ratio),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.activity(),
            "opening_reserve": fmt(self.opening_reserve),
            "result_before_sharing": fmt(self.result_before_sharing),
            "deficit_city_share": fmt(self.deficit_city_share),
            "deficit_county_share": fmt(self.deficit_county_share),
            "period_result": fmt(self.period_result),
            "closing_reserve": fmt(self.closing_reserve),
            "claims_ratio_calendar": {
                "paid": fmt(self.paid_in_dates),
                "premiums_received": fmt(self.received_in_dates),
                "percent": _ratio(self.calendar_claims_ratio),
            },
        }


def total(figures: Iterable[Figures]) -> Figures:
    result = Figures()
    for f in figures:
        result = result.plus(f)
    return result


def from_tallies(
    tallies: Sequence[Tally], county: str | None = None, unit: str | None = None
) -> Figures:
    """What the facts say of a county, a unit or (neither given) the whole city."""
    mine = [
        t
        for t in tallies
        if (county is None or t.county == county) and (unit is None or t.unit == unit)
    ]

    def of(kind: str) -> list[Tally]:
        return [t for t in mine if t.kind == kind]

    def fen(kind: str) -> Decimal:
        return from_fen(sum(t.fen for t in of(kind)))

    def changed(into: str) -> int:
        """Claims a reassessment moved into the status (+) or out of it (-)."""
        moves = [(t.count, (t.source or ">").split(">")) for t in of(REASSESSED)]
        return sum(n if to == into else -n if was == into else 0 for n, (was, to) in moves)

    premiums: dict[str, Decimal] = {}
    for t in of(PREMIUM):
        source = t.source or "other"
        premiums[source] = premiums.get(source, ZERO) + from_fen(t.fen)
    return Figures(
        members=sum(t.count for t in of(ENROLLED)),
        units=len({(t.county, t.unit) for t in of(ENROLLED)}),
        premiums=premiums,
        benefits_approved=fen(APPROVED) + fen(REASSESSED) - fen(PRO_RATED) + fen(RELEASED),
        benefits_paid=from_fen(
            sum(sign * sum(t.fen for t in of(k)) for k, sign in PAID_OUT.items())
        ),
        claims=sum(t.count for t in of(APPROVED)) + changed(APPROVED),
        claims_rejected=sum(t.count for t in of(REJECTED)) + changed(REJECTED),
        members_helped=sum(t.members for t in of(APPROVED)),
    )


def by_group(tallies: Sequence[Tally]) -> dict[str | None, Figures]:
    """Each member group's figures (None: members of no group) from tallies by group."""
    groups: dict[str | None, list[Tally]] = {}
    for t in tallies:
        groups.setdefault(t.group, []).append(t)
    ordered = sorted(groups, key=lambda g: (g is not None, g or ""))
    return {g: from_tallies(groups[g]) for g in ordered}


# Units and their members' claims


class Unit(NamedTuple):
    """An employer unit: its name is its own only within its county, so two counties may
    each have a unit of the same name, and they are two units."""

    county: str
    name: str


def by_unit(tallies: Sequence[Tally]) -> dict[Unit, Figures]:
    """Every unit with members enrolled, by county and name, with its figures."""
    units: dict[Unit, list[Tally]] = {}
    for t in tallies:
        units.setdefault(Unit(t.county, t.unit or ""), []).append(t)
    return {
        unit: from_tallies(units[unit])
        for unit in sorted(units)
        if any(t.kind == ENROLLED for t in units[unit])
    }


def resolve_unit(
    books: Books, scheme: Scheme, period: int, at: int, name: str, county: str | None
) -> Unit:
    """The unit of this name with members enrolled in the period, as known at `at`: in
    `county` if given, else in the one county where a unit of that name has them. A name
    enrolled in several counties is refused, naming them, until the county is given."""
    if county is not None:
        scheme.require_county(county)
    enrolled = books.statements.facts(period, at, (ENROLLED,), county=county, unit=name)
    counties = sorted({f.county for f in enrolled})
    if not counties:
        where = "" if county is None else f" in county {county}"
        raise LedgerError(f"unit {name!r} had no members enrolled{where} in period {period}")
    if len(counties) > 1:
        named = _and([f"{c} ({scheme.counties.get(c, c)})" for c in counties])
        options = " or ".join(f"--county {c}" for c in counties)
        raise LedgerError(
            f"unit {name!r} is ambiguous: units of that name had members enrolled in period "
            f"{period} in counties {named}; say which with {options}"
        )
    return Unit(counties[0], name)


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


@dataclass(frozen=True)
class ClaimLine:
    claim_id: str
    submitted_on: date
    self_paid: Decimal
    status: str
    """submitted, approved, rejected or reversed."""
    benefit: Decimal
    paid: Decimal
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "claim_id": self.claim_id,
            "submitted_on": self.submitted_on.isoformat(),
            "self_paid": fmt(self.self_paid),
            "status": self.status,
            "benefit": fmt(self.benefit),
            "paid": fmt(self.paid),
            "reason": self.reason,
        }


def claim_lines(facts: Sequence[Fact]) -> list[ClaimLine]:
    """A member's claims from their facts, in the order submitted."""
    lines: dict[str, ClaimLine] = {}
    for f in facts:
        claim = f.claim_id or ""
        if f.kind == SUBMITTED:
            lines[claim] = ClaimLine(
                claim, f.effective_date, from_fen(f.eligible_fen or 0), SUBMITTED, ZERO, ZERO
            )
        elif claim in lines:
            line = lines[claim]
            amount = from_fen(f.amount_fen)
            if f.kind == APPROVED:
                lines[claim] = replace(line, status=APPROVED, benefit=amount)
            elif f.kind == REJECTED:
                lines[claim] = replace(line, status=REJECTED, reason=f.note)
            elif f.kind == REASSESSED:
                status = (f.source or line.status).rpartition(">")[2]
                benefit = line.benefit + amount
                lines[claim] = replace(line, status=status, benefit=benefit, reason=f.note)
            elif f.kind in PAID_OUT:
                lines[claim] = replace(line, paid=line.paid + PAID_OUT[f.kind] * amount)
    return list(lines.values())
