"""The city pool's own money: its funding, the risk reserve it retains of the counties'
premiums at close, and deficit cover as a grant or as an advance the county repays from
later surpluses; all as the period's policy says, and every close balanced."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sample_policies import PINGHU

from domain.accounts import (
    ADVANCES_FROM_CITY,
    ADVANCES_TO_COUNTIES,
    BANK,
    CITY_POOL,
    COUNTY_CONTRIBUTIONS,
    DEFICIT_TRANSFERS_IN,
    RESERVE_TRANSFERS_IN,
    RESERVE_TRANSFERS_OUT,
)
from domain.errors import FieldError, InvalidAmount, PeriodNotOpen
from domain.policy import DeficitSharing, Policy
from domain.postings import postings_for
from domain.scheme import CountyResult, Scheme, county_close

D = Decimal
OpenScheme = Callable[..., Scheme]


def sharing(**changes: str) -> Policy:
    data = PINGHU.model_dump(mode="json")
    data["deficit_sharing"].update(changes)
    return Policy.model_validate(data)


def close(scheme: Scheme, period: int, **figures: tuple[str, str]) -> list[Any]:
    """Close the period on county -> (premium income, benefits); the events recorded."""
    results = {c: CountyResult(D(i), D(e)) for c, (i, e) in figures.items()}
    scheme.close_period(period, results, "bob", date(2024 + period + 1, 2, 1))
    return list(scheme.collect_events())


def lines(events: list[Any], kind: str) -> list[tuple[str, str, Decimal]]:
    return [
        (p.entity, p.account, p.amount)
        for e in events
        if type(e).__name__ == kind
        for p in postings_for(e)
    ]


def test_policies_recorded_before_the_pool_kept_money_are_written_as_they_were() -> None:
    assert DeficitSharing(city_share=D("0.5")).model_dump(mode="json") == {"city_share": "0.5"}
    kept = sharing(reserve_rate="0.05", city_cover="advance").deficit_sharing
    assert kept.model_dump(mode="json") == {
        "city_share": "0.50",
        "reserve_rate": "0.05",
        "city_cover": "advance",
    }
    with pytest.raises(ValueError, match="city_cover"):
        sharing(city_cover="loan")
    with pytest.raises(ValueError, match="must be between 0 and 1"):
        sharing(reserve_rate="1.5")


def test_the_pool_retains_its_reserve_of_each_countys_premiums_before_deficits_are_shared(
    open_scheme: OpenScheme,
) -> None:
    scheme = open_scheme(policy=sharing(reserve_rate="0.05"))
    events = close(scheme, 1, C1=("1000.00", "1200.00"), C2=("500.10", "0.00"))
    assert lines(events, "ReserveRetained") == [
        ("C1", RESERVE_TRANSFERS_OUT, D("50.00")),
        ("C1", BANK, D("-50.00")),
        (CITY_POOL, BANK, D("50.00")),
        (CITY_POOL, RESERVE_TRANSFERS_IN, D("-50.00")),
        ("C2", RESERVE_TRANSFERS_OUT, D("25.01")),  # 25.005 half up
        ("C2", BANK, D("-25.01")),
        (CITY_POOL, BANK, D("25.01")),
        (CITY_POOL, RESERVE_TRANSFERS_IN, D("-25.01")),
    ]
    [shared] = [e for e in events if type(e).__name__ == "DeficitShared"]
    assert (shared.county, shared.deficit, shared.city_share, shared.advanced) == (
        "C1",
        D("250.00"),  # 1,200 less the 950 the reserve left of 1,000
        D("125.00"),
        False,
    )


def test_an_advance_is_owed_by_the_county_and_repaid_from_its_later_surpluses(
    open_scheme: OpenScheme,
) -> None:
    scheme = open_scheme(periods=(1, 2, 3), policy=sharing(city_share="1", city_cover="advance"))
    first = close(scheme, 1, C1=("100.00", "900.00"), C2=("100.00", "0.00"))
    assert lines(first, "DeficitShared") == [
        (CITY_POOL, ADVANCES_TO_COUNTIES, D("800.00")),
        (CITY_POOL, BANK, D("-800.00")),
        ("C1", BANK, D("800.00")),
        ("C1", ADVANCES_FROM_CITY, D("-800.00")),
    ]
    assert scheme.advances == {"C1": D("800.00")}
    second = close(scheme, 2, C1=("600.00", "100.00"), C2=("0", "0"))
    assert lines(second, "AdvanceRepaid") == [
        ("C1", ADVANCES_FROM_CITY, D("500.00")),
        ("C1", BANK, D("-500.00")),
        (CITY_POOL, BANK, D("500.00")),
        (CITY_POOL, ADVANCES_TO_COUNTIES, D("-500.00")),
    ]
    third = close(scheme, 3, C1=("900.00", "0.00"), C2=("0", "0"))
    [repaid] = [e for e in third if type(e).__name__ == "AdvanceRepaid"]
    assert (repaid.amount, scheme.advances) == (D("300.00"), {"C1": D("0.00")})


def test_a_grant_is_the_pools_expense_and_the_countys_income(open_scheme: OpenScheme) -> None:
    scheme = open_scheme(policy=sharing(city_share="0.5"))
    events = close(scheme, 1, C1=("0.00", "100.00"), C2=("0", "0"))
    assert [a for e, a, _ in lines(events, "DeficitShared") if e == "C1"] == [
        BANK,
        DEFICIT_TRANSFERS_IN,
        BANK,
        COUNTY_CONTRIBUTIONS,
    ]
    assert scheme.advances == {}


def test_the_pool_is_funded_by_appropriations_backstops_and_interest(
    open_scheme: OpenScheme,
) -> None:
    scheme = open_scheme()
    scheme.fund_pool(1, "backstop", "900000", "BK-1", "zhao", date(2025, 5, 1))
    [funded] = scheme.collect_events()
    assert [(p.entity, p.account, p.amount) for p in postings_for(funded)] == [
        (CITY_POOL, BANK, D("900000.00")),
        (CITY_POOL, "fund_income:backstop", D("-900000.00")),
    ]
    with pytest.raises(FieldError, match="unknown source 'donation'") as unknown:
        scheme.fund_pool(1, "donation", "1", "X", "zhao", date(2025, 5, 1))
    assert unknown.value.field == "source"
    with pytest.raises(FieldError, match="reference"):
        scheme.fund_pool(1, "interest", "1", " ", "zhao", date(2025, 5, 1))
    with pytest.raises(InvalidAmount):
        scheme.fund_pool(1, "interest", "0", "X", "zhao", date(2025, 5, 1))
    close(scheme, 1, C1=("0", "0"), C2=("0", "0"))
    with pytest.raises(PeriodNotOpen):
        scheme.fund_pool(1, "interest", "1", "X", "zhao", date(2026, 5, 1))


cents = st.integers(0, 10**9).map(lambda n: D(n).scaleb(-2))
rates = st.integers(0, 100).map(lambda n: D(n).scaleb(-2))


@given(
    income=cents,
    expense=cents,
    owed=cents,
    reserve_rate=rates,
    city_share=rates,
    cover=st.sampled_from(["grant", "advance"]),
)
def test_a_close_takes_the_reserve_then_shares_a_deficit_or_repays_from_a_surplus(
    income: Decimal,
    expense: Decimal,
    owed: Decimal,
    reserve_rate: Decimal,
    city_share: Decimal,
    cover: str,
) -> None:
    rule = DeficitSharing.model_validate(
        {"city_share": str(city_share), "reserve_rate": str(reserve_rate), "city_cover": cover}
    )
    close = county_close(CountyResult(income, expense), rule, owed)
    assert close.retained == (income * reserve_rate).quantize(D("0.01"), "ROUND_HALF_UP")
    left = income - close.retained - expense
    assert close.deficit == max(D(0), -left)
    assert D(0) <= close.city_share <= close.deficit
    assert close.city_share + close.county_share == close.deficit
    assert close.repaid == (min(owed, left) if left > 0 else 0)
    assert close.advanced == (cover == "advance")
    # whatever the cover, the county's own period ends at zero or its surplus less repayment
    covered = close.deficit if close.deficit else -close.repaid
    assert left + covered == max(D(0), left - close.repaid)
