"""The scheme: one city's pooled fund, its counties, periods, policies and deficit sharing."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.accounts import (
    BENEFIT_EXPENSE,
    CITY_POOL,
    PREMIUM_INCOME,
    RECOVERIES_WRITTEN_OFF,
    account_exists,
)
from domain.duties import ADMIN, DUTIES, POLICY, ROLES
from domain.errors import (
    Conflict,
    DeficitAlreadyShared,
    DutyRefused,
    LedgerError,
    NoPeriodCovers,
    PeriodError,
    PeriodNotOpen,
    UnknownCounty,
    UnknownPeriod,
)
from domain.money import ZERO, positive, round_yuan
from domain.policy import Policy
from domain.text import identifier, plain_text

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


@dataclass
class Period:
    number: int
    start: date
    end: date
    policy: Policy
    closed: bool = False

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
    ) -> None:
        """Close a period and share each county's deficit, once, under the period's policy."""
        period = self.open_period_for_posting(number)
        if effective_date <= period.end:
            raise PeriodError(
                f"period {number} ends {period.end}: it can be closed from the day after"
            )
        if sorted(results) != sorted(self.counties):
            raise LedgerError("closing needs the results of every county of the scheme")
        self._period_closed(
            number,
            {c: {"income": r.income, "expense": r.expense} for c, r in sorted(results.items())},
            actor,
            effective_date,
        )
        city_share_rate = period.policy.deficit_sharing.city_share
        for county, result in sorted(results.items()):
            if result.deficit > 0:
                city_share = round_yuan(result.deficit * city_share_rate)
                self.share_deficit(
                    number, county, result.deficit, city_share, actor, effective_date
                )

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
        self._deficit_shared(
            period, county, deficit, city_share, deficit - city_share, actor, effective_date
        )

    class DeficitShared(Aggregate.Event):
        period: int
        county: str
        deficit: Decimal
        city_share: Decimal
        county_share: Decimal
        actor: str
        effective_date: date

    @event(DeficitShared)
    def _deficit_shared(
        self,
        period: int,
        county: str,
        deficit: Decimal,
        city_share: Decimal,
        county_share: Decimal,
        actor: str,
        effective_date: date,
    ) -> None:
        self.deficits_shared.add((period, county))

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
        if entity != CITY_POOL:
            self.require_county(entity)
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
