"""Posting rules: the double entries each event makes. Events that move no money make none."""

from datetime import date
from decimal import Decimal
from functools import singledispatch

from domain.accounts import (
    ADVANCES_FROM_CITY,
    ADVANCES_TO_COUNTIES,
    BANK,
    BENEFIT_EXPENSE,
    BENEFITS_CARRIED,
    BENEFITS_DEFERRED,
    BENEFITS_PAYABLE,
    CITY_POOL,
    COUNTY_CONTRIBUTIONS,
    DEFICIT_TRANSFERS_IN,
    DEFICIT_TRANSFERS_OUT,
    FUND_TRANSFERS_IN,
    FUND_TRANSFERS_OUT,
    RECOVERIES_WRITTEN_OFF,
    RECOVERY_RECEIVABLE,
    RESERVE_TRANSFERS_IN,
    RESERVE_TRANSFERS_OUT,
    Posting,
    fund_income,
    premium_income,
)
from domain.member import Member
from domain.scheme import Scheme


def entry(
    entity: str, debit: str, credit: str, amount: Decimal, period: int, on: date
) -> list[Posting]:
    if amount == 0:
        return []
    return [
        Posting(entity, debit, amount, period, on),
        Posting(entity, credit, -amount, period, on),
    ]


@singledispatch
def postings_for(event: object) -> list[Posting]:
    return []


@postings_for.register
def _(e: Member.PremiumPaid) -> list[Posting]:
    total = sum(e.amounts.values(), Decimal(0))
    return [Posting(e.county, BANK, total, e.period, e.effective_date)] + [
        Posting(e.county, premium_income(source), -amount, e.period, e.effective_date)
        for source, amount in sorted(e.amounts.items())
    ]


@postings_for.register
def _(e: Member.ClaimApproved) -> list[Posting]:
    return entry(e.county, BENEFIT_EXPENSE, BENEFITS_PAYABLE, e.amount, e.period, e.effective_date)


@postings_for.register
def _(e: Member.PayoutMade) -> list[Posting]:
    return entry(e.county, BENEFITS_PAYABLE, BANK, e.amount, e.period, e.effective_date)


def lines_of(entity: str, amounts: dict[str, Decimal], period: int, on: date) -> list[Posting]:
    """One entry of several lines (account -> signed amount, summing to zero), the lines of
    nothing left out."""
    return [Posting(entity, a, amount, period, on) for a, amount in amounts.items() if amount]


@postings_for.register
def _(e: Member.PayoutReturned) -> list[Posting]:
    """The money back takes back an overpayment written off first, then settles one to
    recover; the rest is payable again."""
    lines = {
        BANK: e.amount,
        RECOVERIES_WRITTEN_OFF: -e.reinstated,
        RECOVERY_RECEIVABLE: -e.recovered,
        BENEFITS_PAYABLE: e.reinstated + e.recovered - e.amount,
    }
    return lines_of(e.county, lines, e.period, e.effective_date)


@postings_for.register
def _(e: Member.ClaimReassessed) -> list[Posting]:
    """The difference from the last decision in the benefit expense; on the other side, a
    fall comes off what is payable first and the rest is to recover, a rise takes back an
    overpayment written off first, then settles one to recover, and the rest is payable."""
    lines = {
        BENEFIT_EXPENSE: e.difference,
        RECOVERIES_WRITTEN_OFF: -e.reinstated,
        RECOVERY_RECEIVABLE: e.recovery,
        BENEFITS_PAYABLE: e.reinstated - e.difference - e.recovery,
    }
    return lines_of(e.county, lines, e.period, e.effective_date)


@postings_for.register
def _(e: Member.ClaimProRated) -> list[Posting]:
    """What is held back leaves the period's benefit expense, so its deficit is reckoned on
    what is paid; carried, it stays owed (held apart from what is payable now), and its
    expense waits for the later period that releases it."""
    held = e.held_back
    if not e.carried:
        return entry(e.county, BENEFITS_PAYABLE, BENEFIT_EXPENSE, held, e.period, e.effective_date)
    lines = {BENEFITS_PAYABLE: held, BENEFITS_CARRIED: -held, BENEFITS_DEFERRED: held}
    return lines_of(e.county, {**lines, BENEFIT_EXPENSE: -held}, e.period, e.effective_date)


@postings_for.register
def _(e: Member.CarriedReleased) -> list[Posting]:
    """What was carried, payable again on the claim (of its own period), and the later
    period's benefit expense."""
    on, amount = e.effective_date, e.amount
    return [
        *entry(e.county, BENEFITS_CARRIED, BENEFITS_PAYABLE, amount, e.period, on),
        *entry(e.county, BENEFIT_EXPENSE, BENEFITS_DEFERRED, amount, e.into_period, on),
    ]


@postings_for.register
def _(e: Member.RecoveryCollected) -> list[Posting]:
    return entry(e.county, BANK, RECOVERY_RECEIVABLE, e.amount, e.period, e.effective_date)


@postings_for.register
def _(e: Member.RecoveryWrittenOff) -> list[Posting]:
    return entry(
        e.county, RECOVERIES_WRITTEN_OFF, RECOVERY_RECEIVABLE, e.amount, e.period, e.effective_date
    )


@postings_for.register
def _(e: Scheme.DeficitShared) -> list[Posting]:
    """The city's share a grant (the pool's expense, the county's income) or an advance
    (owed by the county to the pool); the county's own share its contribution."""
    on, period = e.effective_date, e.period
    paid, received = (
        (ADVANCES_TO_COUNTIES, ADVANCES_FROM_CITY)
        if e.advanced
        else (DEFICIT_TRANSFERS_OUT, DEFICIT_TRANSFERS_IN)
    )
    return [
        *entry(CITY_POOL, paid, BANK, e.city_share, period, on),
        *entry(e.county, BANK, received, e.city_share, period, on),
        *entry(e.county, BANK, COUNTY_CONTRIBUTIONS, e.county_share, period, on),
    ]


@postings_for.register
def _(e: Scheme.ReserveRetained) -> list[Posting]:
    on, period = e.effective_date, e.period
    return [
        *entry(e.county, RESERVE_TRANSFERS_OUT, BANK, e.amount, period, on),
        *entry(CITY_POOL, BANK, RESERVE_TRANSFERS_IN, e.amount, period, on),
    ]


@postings_for.register
def _(e: Scheme.AdvanceRepaid) -> list[Posting]:
    on, period = e.effective_date, e.period
    return [
        *entry(e.county, ADVANCES_FROM_CITY, BANK, e.amount, period, on),
        *entry(CITY_POOL, BANK, ADVANCES_TO_COUNTIES, e.amount, period, on),
    ]


@postings_for.register
def _(e: Scheme.PoolFunded) -> list[Posting]:
    return entry(CITY_POOL, BANK, fund_income(e.source), e.amount, e.period, e.effective_date)


@postings_for.register
def _(e: Scheme.CountyJoined) -> list[Posting]:
    return entry(e.county, BANK, FUND_TRANSFERS_IN, e.opening_balance, e.period, e.effective_date)


@postings_for.register
def _(e: Scheme.CountyLeft) -> list[Posting]:
    on, period = e.effective_date, e.after_period
    return entry(e.county, FUND_TRANSFERS_OUT, BANK, e.transferred, period, on)


@postings_for.register
def _(e: Scheme.AdjustmentPosted) -> list[Posting]:
    return entry(e.entity, e.debit, e.credit, e.amount, e.period, e.effective_date)
