"""The scheme: one city's pooled fund, its counties, periods, policies and deficit sharing."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.accounts import (
    BENEFIT_EXPENSE,
    CITY_POOL,
    FUND_INCOME_SOURCES,
    PREMIUM_INCOME,
    RECOVERIES_WRITTEN_OFF,
    account_exists,
)
from domain.duties import ADMIN, DUTIES, POLICY, ROLES
from domain.errors import (
    Conflict,
    CountyNotInPeriod,
    DateOutOfOrder,
    DeficitAlreadyShared,
    DutyRefused,
    FieldError,
    LedgerError,
    NoPeriodCovers,
    PeriodError,
    PeriodNotOpen,
    UnknownCounty,
    UnknownPeriod,
)
from domain.money import ZERO, fmt, non_negative, percent, positive, round_yuan
from domain.policy import DeficitSharing, Policy
from domain.text import FIRST_NOTICE, identifier, notice_template, plain_text

NAMESPACE = uuid5(NAMESPACE_URL, "https://mutual-aid-ledger/")
PERIOD_NUMBERS = range(1, 10_000)
"""Period numbers the ledger keeps: beyond them the databases' integer columns overflow."""
PERIOD_YEARS = range(1900, 9001)
"""Years a period may cover: its claim deadline (up to 3,650 days after its end) and every
date reckoned from it stay within what a date can hold."""


@dataclass(frozen=True)
class CountyResult:
    """A county's period figures at close: premium income and benefit expense."""

    income: Decimal
    expense: Decimal

    @property
    def deficit(self) -> Decimal:
        return max(ZERO, self.expense - self.income)

    @classmethod
    def from_accounts(cls, accounts: dict[str, Decimal]) -> "CountyResult":
        """A county's period result from its balances on their natural side: premiums
        (adjustments included) against benefits, overpayments written off with them;
        deficit sharing itself is left out."""
        return cls(
            income=sum((a for n, a in accounts.items() if n.startswith(PREMIUM_INCOME)), ZERO),
            expense=accounts.get(BENEFIT_EXPENSE, ZERO)
            + accounts.get(RECOVERIES_WRITTEN_OFF, ZERO),
        )


@dataclass(frozen=True)
class CountyClose:
    """How a county's period is settled with the city pool at close, under the period's
    deficit sharing: the risk reserve the pool retains of its premiums, then its deficit
    shared (the pool's share a grant or an advance), or of its surplus, an advance it owes
    repaid."""

    result: CountyResult
    retained: Decimal
    deficit: Decimal
    city_share: Decimal
    advanced: bool
    repaid: Decimal

    @property
    def county_share(self) -> Decimal:
        return self.deficit - self.city_share

    def as_dict(self) -> dict[str, Any]:
        return {
            "income": fmt(self.result.income),
            "benefits": fmt(self.result.expense),
            "retained": fmt(self.retained),
            "deficit": fmt(self.deficit),
            "city_share": fmt(self.city_share),
            "city_cover": "advance" if self.advanced else "grant",
            "repaid": fmt(self.repaid),
        }


def county_close(result: CountyResult, sharing: DeficitSharing, owed: Decimal) -> CountyClose:
    """The close of a county whose period result is `result` and which owes the city pool
    `owed` of earlier advances. The reserve is taken first, at `reserve_rate` of premium
    income, half up to the fen; a deficit left after it is shared at `city_share`; a
    surplus repays what is owed, as far as it goes."""
    retained = round_yuan(max(ZERO, result.income) * sharing.reserve_rate)
    net = result.income - retained - result.expense
    deficit = max(ZERO, -net)
    return CountyClose(
        result=result,
        retained=retained,
        deficit=deficit,
        city_share=round_yuan(deficit * sharing.city_share),
        advanced=sharing.city_cover == "advance",
        repaid=min(owed, max(ZERO, net)),
    )


def in_pool(county: str, period: int, joined: Mapping[str, int], left: Mapping[str, int]) -> bool:
    """Whether a county is in the city pool in a period: from the period it joined (the
    first, for a county not in `joined`) to the last before it left (`left`)."""
    return joined.get(county, period) <= period <= left.get(county, period)


@dataclass
class Period:
    number: int
    start: date
    end: date
    policy: Policy
    closed: bool = False
    pro_rated: Decimal | None = None
    """The rate the period's benefits still payable were paid at, once pro-rated."""
    pro_rated_on: date | None = None

    def claim_deadline(self, dated: date) -> date:
        """The last day a claim dated `dated` (its discharge) is accepted, counted as the
        policy says; a period recorded before PERIOD_YEARS were enforced may end so late
        that its deadline falls beyond the calendar: then none."""
        benefit = self.policy.benefit
        counted_from = dated if benefit.claim_deadline_from == "discharge" else self.end
        try:
            return counted_from + timedelta(days=benefit.claim_deadline_days)
        except OverflowError:
            return date.max


class Scheme(Aggregate):
    """One scheme per ledger; its id is fixed so every command finds it without a lookup.

    It also keeps who holds which role: its creator is its first admin, and admins grant
    and revoke the rest, each by an event."""

    @staticmethod
    def create_id(**_: Any) -> UUID:
        return uuid5(NAMESPACE, "scheme")

    class Created(Aggregate.Created):
        name: str
        preset: str | None
        counties: dict[str, str]
        actor: str
        effective_date: date

    @classmethod
    def create(
        cls, name: str, preset: str | None, counties: dict[str, str], actor: str, on: date
    ) -> "Scheme":
        if not name.strip():
            raise LedgerError("a scheme needs a name")
        plain_text(name.strip(), "scheme_name")
        if not counties:
            raise LedgerError("a scheme needs at least one county")
        if not actor.strip() or actor == POLICY:
            raise LedgerError(f"the scheme's creator {actor!r} must be a named user")
        identifier(actor, "actor")
        for code, label in counties.items():
            if not code.strip() or not label.strip():
                raise LedgerError(f"county {code!r}: code and name are required")
            identifier(code, "county")
            plain_text(label, "county_name")
            if code.strip().upper() == CITY_POOL:
                raise LedgerError(f"county code {code!r} is reserved for the city pool")
        return cls(name.strip(), preset, counties, actor, on)

    @event(Created)
    def __init__(
        self,
        name: str,
        preset: str | None,
        counties: dict[str, str],
        actor: str,
        effective_date: date,
    ) -> None:
        self.name = name
        self.preset = preset
        self.counties = dict(counties)
        self.periods: dict[int, Period] = {}
        self.deficits_shared: set[tuple[int, str]] = set()
        self.advances: dict[str, Decimal] = {}
        """What each county owes the city pool of its deficits' advances."""
        self.joined: dict[str, int] = {}
        """The period each county that joined later is in from; the others, from the first."""
        self.left: dict[str, int] = {}
        """The last period of each county that left."""
        self.notice_template = FIRST_NOTICE
        """The SMS text each payout sends (domain.text.NOTICE_FIELDS)."""
        self.roles: dict[str, set[str]] = {actor: {ADMIN}}

    # Guards

    def require_duty(self, actor: str, command: str) -> None:
        """Refuse the command unless the actor holds the role it needs (domain.duties)."""
        duty = DUTIES[command]
        held = self.roles.get(actor, set())
        if duty.role not in held:
            has = f"{actor} has: {', '.join(sorted(held))}" if held else f"{actor} has no role"
            raise DutyRefused(
                actor, command, duty.action, f"that needs the {duty.role} role ({has})"
            )

    def require_county(self, county: str) -> None:
        if county not in self.counties:
            raise UnknownCounty(county, sorted(self.counties))

    def require_county_in(self, county: str, period: int) -> None:
        """Refuse a county that is not in the city pool in the period."""
        self.require_county(county)
        if period < self.joined.get(county, period):
            why = f"it joins in period {self.joined[county]}"
            raise CountyNotInPeriod(county, period, why)
        if period > self.left.get(county, period):
            raise CountyNotInPeriod(county, period, f"it left after period {self.left[county]}")

    def counties_in(self, period: int) -> list[str]:
        """The counties in the city pool in the period."""
        return sorted(c for c in self.counties if in_pool(c, period, self.joined, self.left))

    def period(self, number: int) -> Period:
        try:
            return self.periods[number]
        except KeyError:
            raise UnknownPeriod(number) from None

    def period_covering(self, day: date) -> Period:
        """The period whose dates include the day (periods never overlap), for a fact that
        names its date and not its period."""
        for period in self.periods.values():
            if period.start <= day <= period.end:
                return period
        raise NoPeriodCovers(day)

    def open_period_for_posting(self, number: int) -> Period:
        period = self.period(number)
        if period.closed:
            raise PeriodNotOpen(number)
        return period

    def open_period_for_claims(self, number: int) -> Period:
        """A period whose claims may still be submitted and decided: open, and not
        pro-rated (a benefit decided after pro-rating would be paid in full)."""
        period = self.open_period_for_posting(number)
        if period.pro_rated is not None:
            raise PeriodError(
                f"period {number}'s benefits were pro-rated at {percent(period.pro_rated)}: "
                "its claims can no longer be submitted or decided"
            )
        return period

    # Commands

    def grant_role(self, user: str, role: str, actor: str, effective_date: date) -> None:
        self.require_duty(actor, "grant_role")
        user = user.strip()
        _check_role(role)
        if not user:
            raise LedgerError("a role is granted to a named user")
        plain_text(user, "user")
        if user == POLICY:
            raise LedgerError(
                f"{POLICY!r} names the policy's own decisions: it cannot be given a role"
            )
        if role in self.roles.get(user, set()):
            raise Conflict(f"{user} already has the {role} role")
        self._role_granted(user, role, actor, effective_date)

    class RoleGranted(Aggregate.Event):
        user: str
        role: str
        actor: str
        effective_date: date

    @event(RoleGranted)
    def _role_granted(self, user: str, role: str, actor: str, effective_date: date) -> None:
        self.roles.setdefault(user, set()).add(role)

    def revoke_role(self, user: str, role: str, actor: str, effective_date: date) -> None:
        self.require_duty(actor, "revoke_role")
        user = user.strip()
        _check_role(role)
        if role not in self.roles.get(user, set()):
            raise LedgerError(f"{user} does not have the {role} role")
        if role == ADMIN and [u for u, r in self.roles.items() if ADMIN in r] == [user]:
            raise LedgerError(f"{user} is the only admin: grant admin to another user first")
        self._role_revoked(user, role, actor, effective_date)

    class RoleRevoked(Aggregate.Event):
        user: str
        role: str
        actor: str
        effective_date: date

    @event(RoleRevoked)
    def _role_revoked(self, user: str, role: str, actor: str, effective_date: date) -> None:
        self.roles[user].discard(role)
        if not self.roles[user]:
            del self.roles[user]

    def open_period(
        self, number: int, start: date, end: date, policy: Policy, actor: str, effective_date: date
    ) -> None:
        if number not in PERIOD_NUMBERS:
            raise PeriodError(
                f"period {number}: period numbers run from {PERIOD_NUMBERS[0]} to "
                f"{PERIOD_NUMBERS[-1]}"
            )
        if number in self.periods:
            raise PeriodError(f"period {number} is already open")
        for name, day in (("starts", start), ("ends", end)):
            if day.year not in PERIOD_YEARS:
                raise PeriodError(
                    f"period {number} {name} {day}: a period lies within the years "
                    f"{PERIOD_YEARS[0]} to {PERIOD_YEARS[-1]}, so that its claim deadline "
                    "can be reckoned"
                )
        if end <= start:
            raise PeriodError(f"period {number} ends {end}, not after its start {start}")
        for other in self.periods.values():
            if start <= other.end and other.start <= end:
                raise PeriodError(
                    f"period {number} ({start} to {end}) overlaps period {other.number} "
                    f"({other.start} to {other.end})"
                )
        self._period_opened(
            number, start, end, policy.model_dump(mode="json"), actor, effective_date
        )

    class PeriodOpened(Aggregate.Event):
        period: int
        start: date
        end: date
        policy: dict[str, Any]
        actor: str
        effective_date: date

    @event(PeriodOpened)
    def _period_opened(
        self,
        period: int,
        start: date,
        end: date,
        policy: dict[str, Any],
        actor: str,
        effective_date: date,
    ) -> None:
        self.periods[period] = Period(period, start, end, Policy.model_validate(policy))

    def close_period(
        self,
        number: int,
        results: dict[str, CountyResult],
        actor: str,
        effective_date: date,
    ) -> dict[str, CountyClose]:
        """Close a period and settle each county with the city pool, once, under the
        period's policy (`county_close`); returns each county's close."""
        period = self.open_period_for_posting(number)
        if effective_date <= period.end:
            raise PeriodError(
                f"period {number} ends {period.end}: it can be closed from the day after"
            )
        if sorted(results) != self.counties_in(number):
            raise LedgerError("closing needs the results of every county in the period")
        self._period_closed(
            number,
            {c: {"income": r.income, "expense": r.expense} for c, r in sorted(results.items())},
            actor,
            effective_date,
        )
        sharing = period.policy.deficit_sharing
        closes = {}
        for county, result in sorted(results.items()):
            close = closes[county] = county_close(result, sharing, self.advances.get(county, ZERO))
            if close.retained > 0:
                self._reserve_retained(number, county, close.retained, actor, effective_date)
            if close.deficit > 0:
                self.share_deficit(
                    number, county, close.deficit, close.city_share, actor, effective_date,
                    advanced=close.advanced,
                )  # fmt: skip
            if close.repaid > 0:
                self._advance_repaid(number, county, close.repaid, actor, effective_date)
        return closes

    def pro_rate(
        self,
        number: int,
        rate: Decimal,
        payable: Decimal,
        held_back: Decimal,
        reference: str,
        actor: str,
        effective_date: date,
    ) -> None:
        """Declare that the period's benefits still payable are paid at `rate`, the city pool
        being unable to cover them: once, after the period's end, before it is closed.
        `payable` and `held_back` are the totals of its claims' pro-ratings."""
        period = self.open_period_for_claims(number)
        if effective_date <= period.end:
            raise PeriodError(
                f"period {number} ends {period.end}: its benefits can be pro-rated from the "
                "day after"
            )
        if not ZERO <= rate < 1:
            why = "need no pro-rating" if rate >= 1 else "cannot be paid at less than nothing"
            raise FieldError(
                f"pro-rating of period {number}",
                "percent",
                f"percent {percent(rate)} is not from 0% to below 100%: benefits {why}",
            )
        self.trigger_event(
            self.BenefitsProRated,
            period=number,
            rate=rate,
            shortfall=period.policy.deficit_sharing.shortfall,
            payable=payable,
            held_back=held_back,
            reference=identifier(reference, "reference"),
            actor=actor,
            effective_date=effective_date,
        )

    def check_release(self, number: int, into_period: int, on: date) -> None:
        """A release of what a pro-rating of period `number` carried: into a later period
        whose claims are still decided (not pro-rated itself), on or after the pro-rating
        and that period's start."""
        pro_rated_on = self.period(number).pro_rated_on
        if pro_rated_on is None:
            raise PeriodError(f"period {number}'s benefits were not pro-rated: nothing is carried")
        if into_period <= number:
            raise FieldError(
                f"release of period {number}", "into", f"period {into_period} is not a later one"
            )
        into = self.open_period_for_claims(into_period)
        for fact, day in (
            (f"period {number} was pro-rated on {pro_rated_on}", pro_rated_on),
            (f"period {into_period} starts on {into.start}", into.start),
        ):
            if on < day:
                raise DateOutOfOrder(f"{fact}: a release cannot be dated {on}", on, day)

    class BenefitsProRated(Aggregate.Event):
        """The period's benefits still payable paid at `rate`: of `payable`, `held_back`
        forfeited or carried (`shortfall`), claim by claim (`Member.ClaimProRated`)."""

        period: int
        rate: Decimal
        shortfall: str
        payable: Decimal
        held_back: Decimal
        reference: str
        actor: str
        effective_date: date

        def apply(self, scheme: "Scheme") -> None:
            period = scheme.periods[self.period]
            period.pro_rated, period.pro_rated_on = self.rate, self.effective_date

    class ReserveRetained(Aggregate.Event):
        """The city pool's risk reserve, retained of a county's premium income at close."""

        period: int
        county: str
        amount: Decimal
        actor: str
        effective_date: date

    @event(ReserveRetained)
    def _reserve_retained(
        self, period: int, county: str, amount: Decimal, actor: str, effective_date: date
    ) -> None:
        pass

    class AdvanceRepaid(Aggregate.Event):
        """A county's surplus repaying, at close, what it owes of the city pool's advances."""

        period: int
        county: str
        amount: Decimal
        actor: str
        effective_date: date

    @event(AdvanceRepaid)
    def _advance_repaid(
        self, period: int, county: str, amount: Decimal, actor: str, effective_date: date
    ) -> None:
        self.advances[county] -= amount

    class PeriodClosed(Aggregate.Event):
        period: int
        results: dict[str, dict[str, Decimal]]
        actor: str
        effective_date: date

    @event(PeriodClosed)
    def _period_closed(
        self,
        period: int,
        results: dict[str, dict[str, Decimal]],
        actor: str,
        effective_date: date,
    ) -> None:
        self.periods[period].closed = True

    def share_deficit(
        self,
        period: int,
        county: str,
        deficit: Decimal,
        city_share: Decimal,
        actor: str,
        effective_date: date,
        advanced: bool = False,
    ) -> None:
        self.period(period)
        self.require_county(county)
        if (period, county) in self.deficits_shared:
            raise DeficitAlreadyShared(county, period)
        if deficit <= ZERO or not ZERO <= city_share <= deficit:
            raise LedgerError(
                f"deficit of {county!r}: a city share of {city_share} does not fit a deficit "
                f"of {deficit}"
            )
        shared = dict(
            period=period,
            county=county,
            deficit=deficit,
            city_share=city_share,
            county_share=deficit - city_share,
            actor=actor,
            effective_date=effective_date,
        )
        self.trigger_event(self.DeficitShared, **shared, advanced=advanced)

    class DeficitShared(Aggregate.Event):
        """`advanced`: the city's share is an advance the county owes (absent from the
        shares that are grants)."""

        added_later: ClassVar[tuple[str, ...]] = ("advanced",)

        period: int
        county: str
        deficit: Decimal
        city_share: Decimal
        county_share: Decimal
        actor: str
        effective_date: date
        advanced: bool = False

        def apply(self, scheme: "Scheme") -> None:
            scheme.deficits_shared.add((self.period, self.county))
            if self.advanced:
                scheme.advances[self.county] = (
                    scheme.advances.get(self.county, ZERO) + self.city_share
                )

    def fund_pool(
        self,
        period: int,
        source: str,
        amount: object,
        reference: str,
        actor: str,
        effective_date: date,
    ) -> None:
        """Money the city pool receives besides the counties' reserves: the city union's
        appropriations and backstop subsidies (Nanyang's city union put in over 900,000 yuan
        of 兜底 in its first season), and interest on its bank account."""
        self.open_period_for_posting(period)
        if source not in FUND_INCOME_SOURCES:
            known = ", ".join(FUND_INCOME_SOURCES)
            raise FieldError(
                "city pool funding", "source", f"unknown source {source!r} (sources: {known})"
            )
        reference = reference.strip()
        if not reference:
            raise FieldError(
                "city pool funding", "reference", "give the bank's reference of the receipt"
            )
        plain_text(reference, "reference")
        self._pool_funded(
            period, source, positive(amount, "amount"), reference, actor, effective_date
        )

    class PoolFunded(Aggregate.Event):
        period: int
        source: str
        amount: Decimal
        reference: str
        actor: str
        effective_date: date

    @event(PoolFunded)
    def _pool_funded(
        self,
        period: int,
        source: str,
        amount: Decimal,
        reference: str,
        actor: str,
        effective_date: date,
    ) -> None:
        pass

    def join_county(
        self,
        county: str,
        name: str,
        period: int,
        opening_balance: object,
        reference: str,
        actor: str,
        effective_date: date,
    ) -> None:
        """A county joins the city pool from an open period (Lishui's Yunhe joined years
        after the others), bringing its own fund's balance as an opening transfer."""
        record = f"county {county!r} joining"
        if not county.strip() or not name.strip():
            raise FieldError(record, "county", "code and name are required")
        identifier(county, "county")
        plain_text(name, "county_name")
        if county.strip().upper() == CITY_POOL:
            raise FieldError(record, "county", "the code is reserved for the city pool")
        if county in self.left:
            raise Conflict(f"county {county!r} left the city pool after period {self.left[county]}")
        if county in self.counties:
            raise Conflict(f"county {county!r} is already in the scheme")
        self.open_period_for_posting(period)
        balance = non_negative(opening_balance, "opening_balance")
        reference = reference.strip()
        if balance > 0 and not reference:
            raise FieldError(record, "reference", "give the bank's reference of the transfer")
        plain_text(reference, "reference")
        self._county_joined(county, name.strip(), period, balance, reference, actor, effective_date)

    class CountyJoined(Aggregate.Event):
        county: str
        name: str
        period: int
        opening_balance: Decimal
        reference: str
        actor: str
        effective_date: date

    @event(CountyJoined)
    def _county_joined(
        self,
        county: str,
        name: str,
        period: int,
        opening_balance: Decimal,
        reference: str,
        actor: str,
        effective_date: date,
    ) -> None:
        self.counties[county] = name
        self.joined[county] = period

    def leave_county(
        self,
        county: str,
        after_period: int,
        reserve: Decimal,
        later_periods: list[int],
        reference: str,
        actor: str,
        effective_date: date,
    ) -> Decimal:
        """A county leaves the city pool after a period, every period of its up to then
        closed, its balance settled: what it owes of the pool's advances repaid (its bank
        holds them: an advance is a liability, not income), and its whole reserve
        (`reserve`, all its income less all its expense, as read) transferred to it.
        `later_periods`: the periods after that one with facts of the county, as read; it
        must have none. Returns what is transferred."""
        if county in self.left:
            raise Conflict(f"county {county!r} left the city pool after period {self.left[county]}")
        self.require_county_in(county, after_period)
        self.period(after_period)
        still_open = sorted(
            p.number
            for p in self.periods.values()
            if p.number <= after_period
            and in_pool(county, p.number, self.joined, self.left)
            and not p.closed
        )
        if still_open:
            raise PeriodError(
                f"period {still_open[0]} is open: close it before county {county!r} leaves "
                f"after period {after_period}"
            )
        if later_periods:
            raise Conflict(
                f"county {county!r} has postings in period {later_periods[0]}, after period "
                f"{after_period}: it cannot leave before them"
            )
        if reserve < 0:
            raise Conflict(
                f"county {county!r} holds a reserve of {fmt(reserve)}: settle it by an "
                "adjustment before it leaves"
            )
        owed = self.advances.get(county, ZERO)
        transferred = reserve
        reference = reference.strip()
        if transferred > 0 and not reference:
            raise FieldError(
                f"county {county!r} leaving",
                "reference",
                "give the bank's reference of the transfer",
            )
        plain_text(reference, "reference")
        if owed > 0:
            self._advance_repaid(after_period, county, owed, actor, effective_date)
        self._county_left(county, after_period, transferred, reference, actor, effective_date)
        return transferred

    class CountyLeft(Aggregate.Event):
        """`transferred`: the county's reserve, paid to it."""

        county: str
        after_period: int
        transferred: Decimal
        reference: str
        actor: str
        effective_date: date

    @event(CountyLeft)
    def _county_left(
        self,
        county: str,
        after_period: int,
        transferred: Decimal,
        reference: str,
        actor: str,
        effective_date: date,
    ) -> None:
        self.left[county] = after_period

    def seal_history(
        self, first: int, last: int, reason: str, actor: str, effective_date: date
    ) -> None:
        """The record that the log's events `first` to `last`, which had no link in the hash
        chain, were linked as of now: a ledger recorded before the chain existed, sealed
        after an auditor looked. What happened to them before, the chain cannot say; the
        reason says who looked, and what they found."""
        text = plain_text(reason.strip(), "reason")
        if not text:
            raise FieldError(
                "seal", "reason", "say why the log may be sealed: who verified it, and when"
            )
        if not 1 <= first <= last:
            raise FieldError("seal", "positions", f"{first} to {last} are no positions to seal")
        self._history_sealed(first, last, text, actor, effective_date)

    class HistorySealed(Aggregate.Event):
        first: int
        last: int
        reason: str
        actor: str
        effective_date: date

    @event(HistorySealed)
    def _history_sealed(
        self, first: int, last: int, reason: str, actor: str, effective_date: date
    ) -> None:
        """Nothing of the scheme changes: the event is the record of the seal."""

    def change_notice_template(self, template: str, actor: str, effective_date: date) -> None:
        """The SMS text payouts send from now on: `{claim_id}` in it refers the member to
        the claim's explanation of benefit. Messages already in the outbox keep theirs."""
        text = notice_template(template)
        if text == self.notice_template:
            raise Conflict("the SMS template is already that text")
        self._notice_template_changed(text, actor, effective_date)

    class NoticeTemplateChanged(Aggregate.Event):
        template: str
        actor: str
        effective_date: date

    @event(NoticeTemplateChanged)
    def _notice_template_changed(self, template: str, actor: str, effective_date: date) -> None:
        self.notice_template = template

    def post_adjustment(
        self,
        period: int,
        entity: str,
        debit: str,
        credit: str,
        amount: object,
        reason: str,
        actor: str,
        effective_date: date,
    ) -> None:
        """The one way to change a period's figures after it closed: a new, explained entry."""
        self.period(period)
        if entity in self.left:
            raise Conflict(
                f"county {entity!r} left the city pool after period {self.left[entity]}: its "
                "books were settled"
            )
        if entity != CITY_POOL:
            self.require_county_in(entity, period)
        for account in (debit, credit):
            if not account_exists(account):
                raise LedgerError(f"adjustment: unknown account {account!r}")
        if debit == credit:
            raise LedgerError("adjustment: debit and credit accounts must differ")
        if not reason.strip():
            raise LedgerError("adjustment: a reason is required")
        plain_text(reason.strip(), "reason")
        self._adjustment_posted(
            period, entity, debit, credit, positive(amount), reason.strip(), actor, effective_date
        )

    class AdjustmentPosted(Aggregate.Event):
        period: int
        entity: str
        debit: str
        credit: str
        amount: Decimal
        reason: str
        actor: str
        effective_date: date

    @event(AdjustmentPosted)
    def _adjustment_posted(
        self,
        period: int,
        entity: str,
        debit: str,
        credit: str,
        amount: Decimal,
        reason: str,
        actor: str,
        effective_date: date,
    ) -> None:
        pass


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise LedgerError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
