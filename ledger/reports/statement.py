"""The period statement, of the city (every county, the city pool and the whole city) or of
one county: its figures beside the previous period's, the deficits shared, the adjustments,
the largest claims, claims by size and the reserve at the end of each period.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from domain.accounts import (
    BENEFIT_EXPENSE,
    CITY_POOL,
    COUNTY_CONTRIBUTIONS,
    DEFICIT_TRANSFERS_IN,
    DEFICIT_TRANSFERS_OUT,
    PREMIUM_INCOME,
    natural_balance,
    surplus,
)
from domain.errors import LedgerError
from domain.money import ZERO, fmt, from_fen, to_fen
from domain.policy import MAIN_ITEM, Policy
from ledger.application.books import Books
from ledger.reports.figures import (
    CountyChange,
    Figures,
    Provenance,
    Unit,
    by_group,
    by_unit,
    counties_in,
    county_changes,
    from_tallies,
    mask,
    period_dict,
    period_known,
    provenance,
    require_county_in,
    total,
)
from projections.balances import Filters
from projections.statements import (
    ADJUSTMENT,
    ADVANCE_REPAID,
    DEFICIT_CITY,
    DEFICIT_COUNTY,
    PAID_OUT,
    POOL_FUNDED,
    POOL_KINDS,
    PRO_RATED,
    PRO_RATING,
    RESERVE_RETAINED,
    Fact,
    PeriodKnown,
)

MAIN_TITLE = "住院补助 Inpatient (the main benefit)"
ITEM_FIGURES = (
    "claims",
    "claims_rejected",
    "benefits_approved",
    "benefits_paid",
    "members_helped",
    "average_benefit_per_claim",
)
"""The figures a benefit item has: its claims', not its members'."""
SIZE_BANDS = (Decimal(0), Decimal(1000), Decimal(5000), Decimal(10000), Decimal(50000))
"""Lower bounds of the claim size bands, in yuan of benefit; the last band is open above."""
LARGEST = 10


@dataclass(frozen=True)
class PeriodFigures:
    period: PeriodKnown
    counties: dict[str, Figures]
    """By county code: every county, or the one the statement is for."""
    city_pool: Figures | None
    city: Figures | None
    """The whole city (counties and pool); None in a county's statement."""
    units: dict[Unit, Figures]
    """Every unit with members enrolled (in the county, for a county's statement)."""

    @property
    def subject(self) -> Figures:
        """The city's figures, or the one county's."""
        return self.city if self.city is not None else next(iter(self.counties.values()))

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "period": period_dict(self.period),
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


@dataclass(frozen=True)
class DeficitShare:
    county: str
    city_share: Decimal
    county_share: Decimal
    shared_on: date
    advanced: bool
    """The city's share an advance the county owes, not a grant."""

    @property
    def deficit(self) -> Decimal:
        return self.city_share + self.county_share

    def as_dict(self) -> dict[str, Any]:
        return {
            "county": self.county,
            "deficit": fmt(self.deficit),
            "city_share": fmt(self.city_share),
            "county_share": fmt(self.county_share),
            "city_cover": "advance" if self.advanced else "grant",
            "shared_on": self.shared_on.isoformat(),
        }


@dataclass(frozen=True)
class PoolMoney:
    """The city pool's own money in the period: its funding by source, the risk reserve
    it retained of each county's premiums, the advances each county repaid, and what each
    still owes of the pool's advances at the end of the period."""

    funding: dict[str, Decimal]
    retained: dict[str, Decimal]
    repaid: dict[str, Decimal]
    owed: dict[str, Decimal]

    def as_dict(self) -> dict[str, Any]:
        def amounts(by: dict[str, Decimal]) -> dict[str, str]:
            return {k: fmt(v) for k, v in sorted(by.items())}

        return {
            "funding": amounts(self.funding),
            "reserve_retained": amounts(self.retained),
            "advances_repaid": amounts(self.repaid),
            "advances_owed": amounts(self.owed),
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
class ProRating:
    """The period's benefits pro-rated, the city pool unable to cover them: the rate they
    were paid at, what was payable on how many claims, and what was held back of it,
    forfeited or carried (of the city, or of one county)."""

    rate: Decimal
    shortfall: str
    claims: int
    payable: Decimal
    held_back: Decimal
    declared_on: date

    def as_dict(self) -> dict[str, Any]:
        carried = self.held_back if self.shortfall == "carry" else ZERO
        return {
            "rate": str(self.rate),
            "shortfall": self.shortfall,
            "payable": fmt(self.payable),
            "paid_at_rate": fmt(self.payable - self.held_back),
            "forfeited": fmt(self.held_back - carried),
            "carried": fmt(carried),
            "claims": self.claims,
        }


@dataclass(frozen=True)
class Statement:
    scheme: str
    county: str | None
    county_names: dict[str, str]
    provenance: Provenance
    current: PeriodFigures
    previous: PeriodFigures | None
    deficits: list[DeficitShare]
    pool: PoolMoney
    adjustments: list[Adjustment]
    largest: list[LargeClaim]
    bands: list[Band]
    reserves: list[tuple[int, Decimal]]
    """The subject's closing reserve at the end of each period up to this one."""
    groups: dict[str | None, Figures]
    """The subject's figures by member group (None: members of no group)."""
    changes: list[CountyChange]
    """Counties that joined the city pool or left it, in this period or before."""
    pro_rating: ProRating | None
    """None: the period's benefits were not pro-rated."""
    items: dict[str | None, Figures]
    """The claims' figures by benefit item (None: the main benefit), where the period's
    policy has items besides the main one."""
    item_titles: dict[str | None, str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "scheme": self.scheme,
            "county": self.county,
            "county_names": self.county_names,
            "known_at": self.provenance.as_dict(),
            **self.current.as_dict(),
            "previous": None if self.previous is None else self.previous.as_dict(),
            "deficits": [d.as_dict() for d in self.deficits],
            "city_pool_money": self.pool.as_dict(),
            "adjustments": [a.as_dict() for a in self.adjustments],
            "largest_claims": [c.as_dict() for c in self.largest],
            "claims_by_size": [b.as_dict() for b in self.bands],
            "reserve_by_period": [
                {"period": p, "closing_reserve": fmt(r)} for p, r in self.reserves
            ],
            "by_group": [
                {"group": g, **{k: v for k, v in f.activity().items() if k != "units"}}
                for g, f in self.groups.items()
            ],
            "units": [
                {"county": u.county, "unit": u.name, **f.activity()}
                for u, f in self.current.units.items()
            ],
            "county_changes": [c.as_dict() for c in self.changes],
            "pro_rating": None if self.pro_rating is None else self.pro_rating.as_dict(),
            "by_item": [
                {
                    "item": item or MAIN_ITEM,
                    "title": self.item_titles[item],
                    **{k: v for k, v in f.activity().items() if k in ITEM_FIGURES},
                }
                for item, f in self.items.items()
            ],
        }


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
    current, known = period_known(books, period, at.position)
    policy = scheme.period(period).policy
    changes = county_changes(books, at.position)
    if county is not None:
        require_county_in(scheme, changes, county, period)
    counties = counties_in(scheme, changes, period)
    opening, reserves = opening_reserves(books, known, county, sorted(scheme.counties), at.position)
    figures = period_figures(books, current, opening[period], county, counties, at.position)
    previous = None
    if len(known) > 1:
        before = known[-2]
        earlier = counties_in(scheme, changes, before.number)
        if county is None or county in earlier:
            previous = period_figures(
                books, before, opening[before.number], county, earlier, at.position
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
        pool=_pool_money(books, known, county, at.position),
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
        groups=by_group(books.statements.group_tallies(period, at.position, county)),
        changes=[c for c in changes if c.period <= period and county in (None, c.county)],
        pro_rating=_pro_rating(books, period, at.position, county),
        items=_by_item(books, policy, period, at.position, county),
        item_titles={None: MAIN_TITLE} | {code: i.title for code, i in policy.items.items()},
    )


def opening_reserves(
    books: Books,
    periods: Sequence[PeriodKnown],
    county: str | None,
    counties: Sequence[str],
    at: int,
) -> tuple[dict[int, dict[str, Decimal]], list[tuple[int, Decimal]]]:
    """Each entity's reserve at the start of each period (the county's, or every county's
    and the pool's), and the subject's closing reserve at the end of each."""
    entities = [county] if county else [*counties, CITY_POOL]
    results = period_results(books, periods, entities, at)
    opening: dict[int, dict[str, Decimal]] = {}
    reserves, running = [], dict.fromkeys(entities, ZERO)
    for p in periods:
        opening[p.number] = dict(running)
        running = {e: running[e] + results[p.number][e] for e in entities}
        reserves.append((p.number, sum(running.values(), ZERO)))
    return opening, reserves


def period_results(
    books: Books, periods: Sequence[PeriodKnown], entities: Sequence[str], at: int
) -> dict[int, dict[str, Decimal]]:
    """Each entity's result (all income less all expense) in each period, as known at `at`:
    what the reserves are made of."""
    results = {}
    for p in periods:
        totals = books.balances.totals(Filters(period=p.number, known_at=at))
        results[p.number] = {e: surplus(_natural(totals, e)) for e in entities}
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
    received = _received_between(books, period.start, period.end, at)
    paid: dict[str, int] = {}
    for (entity, kind), fen in books.statements.paid_between(period.start, period.end, at).items():
        paid[entity] = paid.get(entity, 0) + PAID_OUT[kind] * fen

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
            period_result=surplus(accounts),
            paid_in_dates=from_fen(paid.get(entity, 0)),
            received_in_dates=received.get(entity, ZERO),
        )

    by_county = {c: figures(c, from_tallies(tallies, county=c)) for c in counties}
    pool = figures(CITY_POOL, Figures())
    units = by_unit([t for t in tallies if county in (None, t.county)])
    if county is not None:
        return PeriodFigures(period, {county: by_county[county]}, None, None, units)
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
        received_in_dates=city.received_in_dates + pool.received_in_dates,
    )
    return PeriodFigures(period, by_county, pool, city, units)


def _received_between(books: Books, start: date, end: date, at: int) -> dict[str, Decimal]:
    """By entity, the premium income dated from `start` to `end`, of any period."""
    within = books.balances.totals(Filters(as_of=end, known_at=at, since=start))
    found: dict[str, Decimal] = {}
    for (entity, account), fen in within.items():
        if account.startswith(PREMIUM_INCOME + ":"):
            found[entity] = found.get(entity, ZERO) + from_fen(natural_balance(account, fen))
    return found


def _natural(totals: dict[tuple[str, str], int], entity: str) -> dict[str, Decimal]:
    """An entity's balances on their natural side (income and liabilities positive)."""
    return {
        account: from_fen(natural_balance(account, fen))
        for (e, account), fen in totals.items()
        if e == entity
    }


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
            DEFICIT_CITY in s and s[DEFICIT_CITY].source == "advance",
        )
        for county, s in sorted(shares.items())
    ]


def _pool_money(
    books: Books, periods: Sequence[PeriodKnown], county: str | None, at: int
) -> PoolMoney:
    """The pool's money in the last of `periods`, and the advances owed at its end, of one
    county or (None) all."""
    owed: dict[str, Decimal] = {}
    current: list[Fact] = []
    for p in periods:
        current = books.statements.facts(p.number, at, POOL_KINDS)
        for f in current:
            if county in (None, f.county) and f.kind in (DEFICIT_CITY, ADVANCE_REPAID):
                sign = -1 if f.kind == ADVANCE_REPAID else int(f.source == "advance")
                owed[f.county] = owed.get(f.county, ZERO) + sign * from_fen(f.amount_fen)

    def summed(kind: str, key: Callable[[Fact], str]) -> dict[str, Decimal]:
        found: dict[str, Decimal] = {}
        for f in current:
            if f.kind == kind and (county is None or f.county == county):
                found[key(f)] = found.get(key(f), ZERO) + from_fen(f.amount_fen)
        return found

    return PoolMoney(
        funding=summed(POOL_FUNDED, lambda f: f.source or ""),
        retained=summed(RESERVE_RETAINED, lambda f: f.county),
        repaid=summed(ADVANCE_REPAID, lambda f: f.county),
        owed={c: amount for c, amount in owed.items() if amount},
    )


def _by_item(
    books: Books, policy: Policy, period: int, at: int, county: str | None
) -> dict[str | None, Figures]:
    """The main benefit's figures and each item's, every item of the policy's, in that
    order; none for a policy without items."""
    if not policy.items:
        return {}
    found = by_group(books.statements.item_tallies(period, at, county))
    return {item: found.get(item, Figures()) for item in (None, *policy.items)}


def _pro_rating(books: Books, period: int, at: int, county: str | None) -> ProRating | None:
    declared = books.statements.facts(period, at, (PRO_RATING,))
    if not declared:
        return None
    claims = books.statements.facts(period, at, (PRO_RATED,), county=county)
    return ProRating(
        rate=Decimal(declared[0].note or "0"),
        shortfall=declared[0].source or "",
        claims=len(claims),
        payable=from_fen(sum(f.eligible_fen or 0 for f in claims)),
        held_back=from_fen(sum(f.amount_fen for f in claims)),
        declared_on=declared[0].effective_date,
    )


def _bands(books: Books, period: int, at: int, county: str | None) -> list[Band]:
    found = books.statements.benefits_by_band(period, at, county, [to_fen(b) for b in SIZE_BANDS])
    uppers: list[Decimal | None] = [*SIZE_BANDS[1:], None]
    return [
        Band(lower, upper, claims, from_fen(fen))
        for lower, upper, (claims, fen) in zip(SIZE_BANDS, uppers, found, strict=True)
    ]
