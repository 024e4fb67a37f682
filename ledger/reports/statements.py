"""Period statements, screening slips and unit disclosures: the figures, as known at a log
position.

Each is produced from the log as it stood at a position P (default: its end) and names P
and the hash-chain digest at P, so anyone can produce it again later, with the same
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

from domain.accounts import (
    BENEFIT_EXPENSE,
    CITY_POOL,
    COUNTY_CONTRIBUTIONS,
    DEFICIT_TRANSFERS_IN,
    DEFICIT_TRANSFERS_OUT,
    PREMIUM_INCOME,
    kind_of,
    natural_balance,
)
from domain.errors import LedgerError
from domain.money import ZERO, fmt, from_fen, round_yuan, to_fen
from domain.scheme import Scheme
from ledger.application.books import Books
from ledger.store.chain import CHAIN_TABLE
from projections.balances import Filters
from projections.projector import Database
from projections.statements import (
    ADJUSTMENT,
    APPROVED,
    CLAIM_KINDS,
    DEFICIT_CITY,
    DEFICIT_COUNTY,
    ENROLLED,
    PAID,
    PREMIUM,
    REJECTED,
    RETURNED,
    SUBMITTED,
    Fact,
    PeriodKnown,
    Tally,
)

PERCENT_PLACES = Decimal("0.1")
SIZE_BANDS = (Decimal(0), Decimal(1000), Decimal(5000), Decimal(10000), Decimal(50000))
"""Lower bounds of the claim size bands, in yuan of benefit; the last band is open above."""
LARGEST = 10


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


@dataclass(frozen=True)
class Figures:
    """One fund entity's figures for a period: a county, the city pool, the whole city, or
    (from the facts alone, with no reserves) a unit."""

    members: int = 0
    units: int = 0
    premiums: dict[str, Decimal] = field(default_factory=dict)
    """Premium income by funding source (worker, union:<level>, employer, other)."""
    benefits_approved: Decimal = ZERO
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
        """Benefits approved as a percentage of premium income."""
        return percent(self.benefits_approved, self.premium_income)

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
        }


def total(figures: Iterable[Figures]) -> Figures:
    result = Figures()
    for f in figures:
        result = result.plus(f)
    return result


@dataclass(frozen=True)
class PeriodFigures:
    period: PeriodKnown
    counties: dict[str, Figures]
    """By county code: every county, or the one the statement is for."""
    city_pool: Figures | None
    city: Figures | None
    """The whole city (counties and pool); None in a county's statement."""

    @property
    def subject(self) -> Figures:
        """The city's figures, or the one county's."""
        return self.city if self.city is not None else next(iter(self.counties.values()))

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "period": _period_dict(self.period),
            "counties": {c: f.as_dict() for c, f in self.counties.items()},
        }
        if self.city is not None and self.city_pool is not None:
            data["city_pool"] = {
                "opening_reserve": fmt(self.city_pool.opening_reserve),
                "deficit_shares_paid": fmt(self.city_pool.deficit_city_share),
                "period_result": fmt(self.city_pool.period_result),
                "closing_reserve": fmt(self.city_pool.closing_reserve),
            }
            data["city"] = self.city.as_dict()
        return data


def _period_dict(period: PeriodKnown) -> dict[str, Any]:
    return {
        "number": period.number,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "policy_version": period.policy_version,
        "closed_on": None if period.closed_on is None else period.closed_on.isoformat(),
    }


@dataclass(frozen=True)
class DeficitShare:
    county: str
    city_share: Decimal
    county_share: Decimal
    shared_on: date

    @property
    def deficit(self) -> Decimal:
        return self.city_share + self.county_share

    def as_dict(self) -> dict[str, Any]:
        return {
            "county": self.county,
            "deficit": fmt(self.deficit),
            "city_share": fmt(self.city_share),
            "county_share": fmt(self.county_share),
            "shared_on": self.shared_on.isoformat(),
        }


@dataclass(frozen=True)
class Adjustment:
    entity: str
    debit: str
    credit: str
    amount: Decimal
    reason: str
    effective_date: date

    def as_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "debit": self.debit,
            "credit": self.credit,
            "amount": fmt(self.amount),
            "reason": self.reason,
            "effective_date": self.effective_date.isoformat(),
        }


@dataclass(frozen=True)
class LargeClaim:
    member: str
    """Masked."""
    county: str
    unit: str
    approved_on: date
    self_paid: Decimal
    benefit: Decimal

    def as_dict(self) -> dict[str, Any]:
        return {
            "member": self.member,
            "county": self.county,
            "unit": self.unit,
            "approved_on": self.approved_on.isoformat(),
            "self_paid": fmt(self.self_paid),
            "benefit": fmt(self.benefit),
        }


@dataclass(frozen=True)
class Band:
    lower: Decimal
    upper: Decimal | None
    claims: int
    benefits: Decimal

    @property
    def label(self) -> str:
        if self.upper is None:
            return f"{self.lower:,.0f}+"
        return f"{self.lower:,.0f}-{self.upper:,.0f}"

    def as_dict(self) -> dict[str, Any]:
        return {"band": self.label, "claims": self.claims, "benefits": fmt(self.benefits)}


@dataclass(frozen=True)
class Statement:
    scheme: str
    county: str | None
    county_names: dict[str, str]
    provenance: Provenance
    current: PeriodFigures
    previous: PeriodFigures | None
    deficits: list[DeficitShare]
    adjustments: list[Adjustment]
    largest: list[LargeClaim]
    bands: list[Band]
    reserves: list[tuple[int, Decimal]]
    """The subject's closing reserve at the end of each period up to this one."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "scheme": self.scheme,
            "county": self.county,
            "county_names": self.county_names,
            "known_at": self.provenance.as_dict(),
            **self.current.as_dict(),
            "previous": None if self.previous is None else self.previous.as_dict(),
            "deficits": [d.as_dict() for d in self.deficits],
            "adjustments": [a.as_dict() for a in self.adjustments],
            "largest_claims": [c.as_dict() for c in self.largest],
            "claims_by_size": [b.as_dict() for b in self.bands],
            "reserve_by_period": [
                {"period": p, "closing_reserve": fmt(r)} for p, r in self.reserves
            ],
        }


# Assembly


def provenance(
    books: Books, known_at: int | None, on_progress: Callable[[int], None] | None = None
) -> Provenance:
    """Bring the read models up to the end of the log and pin the position to report at:
    `known_at`, or the end of the log; the digest is the chain's link there.
    `on_progress` is told the position reached, batch by batch, for a progress bar."""
    last = books.app.recorder.max_notification_id() or 0
    books.catch_up(on_batch=on_progress)
    if last == 0:
        raise LedgerError("the log is empty: there is nothing to report on yet")
    if known_at is not None and not 1 <= known_at <= last:
        raise LedgerError(f"--as-known-at: position {known_at} is not in the log (1 to {last})")
    position = last if known_at is None else known_at
    found = link_at(books.db, position)
    if found is None:
        raise LedgerError(f"position {position} has no link in the hash chain")
    return found


def link_at(db: Database, position: int) -> Provenance | None:
    """The chain's link at a position: the last one at or before it, where a position is a
    gap the database left in the numbering (the log there is the log at that link)."""
    with db.transaction(commit=False) as cursor:
        cursor.execute(
            db.sql(
                f"SELECT position, recorded_at, hash FROM {{{CHAIN_TABLE}}} "
                "WHERE position <= ? ORDER BY position DESC LIMIT 1"
            ),
            (position,),
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return Provenance(int(row["position"]), row["hash"], row["recorded_at"])


def _period_known(books: Books, number: int, at: int) -> tuple[PeriodKnown, list[PeriodKnown]]:
    periods = books.statements.periods(at)
    found = [p for p in periods if p.number == number]
    if not found:
        raise LedgerError(f"period {number} had not been opened at position {at}")
    return found[0], [p for p in periods if p.number <= number]


def _natural(totals: dict[tuple[str, str], int], entity: str) -> dict[str, Decimal]:
    """An entity's balances on their natural side (income and liabilities positive)."""
    return {
        account: from_fen(natural_balance(account, fen))
        for (e, account), fen in totals.items()
        if e == entity
    }


def _result(accounts: dict[str, Decimal]) -> Decimal:
    income = sum((a for n, a in accounts.items() if kind_of(n) == "income"), ZERO)
    expense = sum((a for n, a in accounts.items() if kind_of(n) == "expense"), ZERO)
    return income - expense


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

    premiums: dict[str, Decimal] = {}
    for t in of(PREMIUM):
        source = t.source or "other"
        premiums[source] = premiums.get(source, ZERO) + from_fen(t.fen)
    return Figures(
        members=sum(t.count for t in of(ENROLLED)),
        units=len({(t.county, t.unit) for t in of(ENROLLED)}),
        premiums=premiums,
        benefits_approved=fen(APPROVED),
        benefits_paid=fen(PAID) - fen(RETURNED),
        claims=sum(t.count for t in of(APPROVED)),
        claims_rejected=sum(t.count for t in of(REJECTED)),
        members_helped=sum(t.members for t in of(APPROVED)),
    )


def period_results(
    books: Books, periods: Sequence[PeriodKnown], entities: Sequence[str], at: int
) -> dict[int, dict[str, Decimal]]:
    """Each entity's result (all income less all expense) in each period, as known at `at`:
    what the reserves are made of."""
    results = {}
    for p in periods:
        totals = books.balances.totals(Filters(period=p.number, known_at=at))
        results[p.number] = {e: _result(_natural(totals, e)) for e in entities}
    return results


def period_figures(
    books: Books,
    period: PeriodKnown,
    opening: dict[str, Decimal],
    county: str | None,
    counties: Sequence[str],
    at: int,
) -> PeriodFigures:
    """A period's figures as known at `at`, on the entities' opening reserves."""
    tallies = books.statements.tallies(period.number, at)
    totals = books.balances.totals(Filters(period=period.number, known_at=at))
    sources = sorted({a.split(":", 1)[1] for _, a in totals if a.startswith(PREMIUM_INCOME + ":")})

    def figures(entity: str, facts: Figures) -> Figures:
        accounts = _natural(totals, entity)
        return replace(
            facts,
            premiums={s: accounts.get(f"{PREMIUM_INCOME}:{s}", ZERO) for s in sources},
            benefits_approved=accounts.get(BENEFIT_EXPENSE, ZERO),
            opening_reserve=opening.get(entity, ZERO),
            deficit_city_share=accounts.get(DEFICIT_TRANSFERS_IN, ZERO)
            + accounts.get(DEFICIT_TRANSFERS_OUT, ZERO),
            deficit_county_share=accounts.get(COUNTY_CONTRIBUTIONS, ZERO),
            period_result=_result(accounts),
        )

    by_county = {c: figures(c, from_tallies(tallies, county=c)) for c in counties}
    pool = figures(CITY_POOL, Figures())
    if county is not None:
        return PeriodFigures(period, {county: by_county[county]}, None, None)
    city = total(by_county.values())
    # The city is the counties and the pool: the pool's own postings (adjustments to CITY)
    # count in its income, benefits and result alike, so the ratio and the result before
    # sharing agree with `ledger balances`. The deficit shares stay the counties': what
    # the pool pays them moves money within the city.
    city = replace(
        city,
        premiums={s: city.premiums.get(s, ZERO) + pool.premiums.get(s, ZERO) for s in sources},
        benefits_approved=city.benefits_approved + pool.benefits_approved,
        opening_reserve=city.opening_reserve + pool.opening_reserve,
        period_result=city.period_result + pool.period_result,
    )
    return PeriodFigures(period, by_county, pool, city)


def statement(
    books: Books,
    period: int,
    county: str | None = None,
    known_at: int | None = None,
    largest: int = LARGEST,
    on_progress: Callable[[int], None] | None = None,
) -> Statement:
    """The period statement of the city (every county, the city pool and the whole city),
    or of one county, as the log stood at `known_at` (default: its end)."""
    if largest < 0:
        raise LedgerError(f"--largest: {largest} is not a number of claims")
    at = provenance(books, known_at, on_progress)
    scheme = books.app.scheme()
    if county is not None:
        scheme.require_county(county)
    current, known = _period_known(books, period, at.position)
    counties = sorted(scheme.counties)
    entities = [county] if county else [*counties, CITY_POOL]
    results = period_results(books, known, entities, at.position)
    opening: dict[int, dict[str, Decimal]] = {}
    reserves, running = [], dict.fromkeys(entities, ZERO)
    for p in known:
        opening[p.number] = dict(running)
        running = {e: running[e] + results[p.number][e] for e in entities}
        reserves.append((p.number, sum(running.values(), ZERO)))
    figures = period_figures(books, current, opening[period], county, counties, at.position)
    previous = None
    if len(known) > 1:
        before = known[-2]
        previous = period_figures(
            books, before, opening[before.number], county, counties, at.position
        )
    facts = books.statements.facts(
        period, at.position, (DEFICIT_CITY, DEFICIT_COUNTY, ADJUSTMENT), county=county
    )
    return Statement(
        scheme=scheme.name,
        county=county,
        county_names={c: scheme.counties[c] for c in ([county] if county else counties)},
        provenance=at,
        current=figures,
        previous=previous,
        deficits=_deficits(facts),
        adjustments=[_adjustment(f) for f in facts if f.kind == ADJUSTMENT],
        largest=[
            LargeClaim(
                mask(f.member_id or ""),
                f.county,
                f.unit or "",
                f.effective_date,
                from_fen(f.eligible_fen or 0),
                from_fen(f.amount_fen),
            )
            for f in books.statements.largest(period, at.position, county, largest)
        ],
        bands=_bands(books, period, at.position, county),
        reserves=reserves,
    )


def _adjustment(f: Fact) -> Adjustment:
    debit, _, credit = (f.source or "").partition("/")
    return Adjustment(
        f.county, debit, credit, from_fen(f.amount_fen), f.note or "", f.effective_date
    )


def _deficits(facts: Sequence[Fact]) -> list[DeficitShare]:
    shares: dict[str, dict[str, Fact]] = {}
    for f in facts:
        if f.kind in (DEFICIT_CITY, DEFICIT_COUNTY):
            shares.setdefault(f.county, {})[f.kind] = f
    return [
        DeficitShare(
            county,
            from_fen(s[DEFICIT_CITY].amount_fen if DEFICIT_CITY in s else 0),
            from_fen(s[DEFICIT_COUNTY].amount_fen if DEFICIT_COUNTY in s else 0),
            next(iter(s.values())).effective_date,
        )
        for county, s in sorted(shares.items())
    ]


def _bands(books: Books, period: int, at: int, county: str | None) -> list[Band]:
    found = books.statements.benefits_by_band(period, at, county, [to_fen(b) for b in SIZE_BANDS])
    uppers: list[Decimal | None] = [*SIZE_BANDS[1:], None]
    return [
        Band(lower, upper, claims, from_fen(fen))
        for lower, upper, (claims, fen) in zip(SIZE_BANDS, uppers, found, strict=True)
    ]


# Units


class Unit(NamedTuple):
    """An employer unit: its name is its own only within its county, so two counties may
    each have a unit of the same name, and they are two units."""

    county: str
    name: str


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


# Screening and referral (主动发现)


@dataclass(frozen=True)
class ClaimLine:
    claim_id: str
    submitted_on: date
    self_paid: Decimal
    status: str
    """submitted, approved or rejected."""
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
    current, _ = _period_known(books, period, at.position)
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
        claims = _claim_lines(mine)
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


def _claim_lines(facts: Sequence[Fact]) -> list[ClaimLine]:
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
            elif f.kind == PAID:
                lines[claim] = replace(line, paid=line.paid + amount)
            elif f.kind == RETURNED:
                lines[claim] = replace(line, paid=line.paid - amount)
    return list(lines.values())


# Disclosure to units (信息公开)


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
            "period": _period_dict(self.period),
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
    current, _ = _period_known(books, period, at.position)
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
        for c in _claim_lines(member_facts)
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
