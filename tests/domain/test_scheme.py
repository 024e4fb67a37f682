"""The scheme aggregate: periods open and close once, deficits are shared once per county
and period under the period's policy, and adjustments are the only entries after a close."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sample_policies import PINGHU

from domain.accounts import BANK, BENEFIT_EXPENSE, CITY_POOL, COUNTY_CONTRIBUTIONS
from domain.errors import (
    DeficitAlreadyShared,
    InvalidAmount,
    InvalidText,
    LedgerError,
    NoPeriodCovers,
    PeriodError,
    PeriodNotOpen,
    UnknownCounty,
)
from domain.policy import Policy
from domain.scheme import CountyResult, Scheme

OpenScheme = Callable[..., Scheme]
D = Decimal
ON = date(2026, 2, 1)


def pending(scheme: Scheme) -> list[Any]:
    return list(scheme.collect_events())


def names(scheme: Scheme) -> list[str]:
    return [type(e).__name__ for e in pending(scheme)]


def results(**figures: tuple[str, str]) -> dict[str, CountyResult]:
    """County -> (income, expense)."""
    return {c: CountyResult(D(income), D(expense)) for c, (income, expense) in figures.items()}


def close(scheme: Scheme, **figures: tuple[str, str]) -> list[Any]:
    """Close period 1 with the given county figures; the events that recorded."""
    scheme.close_period(1, results(**figures), "bob", ON)
    return pending(scheme)


def deficits_shared(events: list[Any]) -> list[Any]:
    return [e for e in events if type(e).__name__ == "DeficitShared"]


# Creating the scheme and opening periods


def test_creating_a_scheme_records_its_counties_actor_and_date() -> None:
    scheme = Scheme("Pinghu", "pinghu", {"C1": "A"}, "alice", date(2025, 1, 1))
    [created] = pending(scheme)
    assert type(created).__name__ == "Created"
    assert (created.name, created.preset, created.counties) == ("Pinghu", "pinghu", {"C1": "A"})
    assert (created.actor, created.effective_date) == ("alice", date(2025, 1, 1))
    assert scheme.id == Scheme.create_id()


def test_opening_a_period_records_its_dates_and_policy() -> None:
    scheme = Scheme("Pinghu", "pinghu", {"C1": "A"}, "alice", date(2025, 1, 1))
    scheme.collect_events()
    policy = PINGHU
    scheme.open_period(1, date(2025, 1, 1), date(2025, 12, 31), policy, "alice", date(2025, 1, 2))
    [opened] = pending(scheme)
    assert type(opened).__name__ == "PeriodOpened"
    assert (opened.period, opened.start, opened.end) == (1, date(2025, 1, 1), date(2025, 12, 31))
    assert opened.policy == policy.model_dump(mode="json")
    assert (opened.actor, opened.effective_date) == ("alice", date(2025, 1, 2))
    assert scheme.period(1).policy == policy
    assert scheme.period(1).claim_deadline(date(2025, 6, 1)) == date(2026, 3, 31)


def test_a_period_cannot_be_opened_twice(open_scheme: OpenScheme) -> None:
    scheme = open_scheme()
    with pytest.raises(PeriodError, match="period 1 is already open"):
        scheme.open_period(1, date(2026, 1, 1), date(2026, 12, 31), PINGHU, "alice", ON)
    assert names(scheme) == []


@pytest.mark.parametrize(
    ("start", "end"),
    [(date(2025, 12, 31), date(2025, 1, 1)), (date(2025, 1, 1), date(2025, 1, 1))],
)
def test_a_period_must_end_after_it_starts(open_scheme: OpenScheme, start: date, end: date) -> None:
    scheme = open_scheme(periods=())
    with pytest.raises(PeriodError, match="not after its start"):
        scheme.open_period(1, start, end, PINGHU, "alice", ON)
    assert names(scheme) == []


@pytest.mark.parametrize("number", [0, -1, 10_000, 3_000_000_000])
def test_period_numbers_run_from_1_to_9999(open_scheme: OpenScheme, number: int) -> None:
    scheme = open_scheme(periods=())
    with pytest.raises(PeriodError, match=f"^period {number}: period numbers run from 1 to 9999$"):
        scheme.open_period(number, date(2025, 1, 1), date(2025, 12, 31), PINGHU, "alice", ON)
    assert names(scheme) == []
    scheme.open_period(9999, date(2025, 1, 1), date(2025, 12, 31), PINGHU, "alice", ON)
    assert names(scheme) == ["PeriodOpened"]


@pytest.mark.parametrize(
    ("start", "end", "which"),
    [
        (date(9999, 12, 30), date(9999, 12, 31), "starts 9999-12-30"),
        (date(8999, 1, 1), date(9001, 1, 1), "ends 9001-01-01"),
        (date(1899, 12, 31), date(1900, 12, 31), "starts 1899-12-31"),
        (date(1, 1, 1), date(2025, 12, 31), "starts 0001-01-01"),
    ],
)
def test_a_period_lies_within_the_years_its_deadline_can_be_reckoned_in(
    open_scheme: OpenScheme, start: date, end: date, which: str
) -> None:
    scheme = open_scheme(periods=())
    with pytest.raises(
        PeriodError, match=f"^period 5 {which}: a period lies within the years 1900 to 9000"
    ):
        scheme.open_period(5, start, end, PINGHU, "alice", ON)
    assert names(scheme) == []


def test_the_latest_period_allowed_has_a_deadline_at_the_longest_policy_allowed(
    open_scheme: OpenScheme,
) -> None:
    data = PINGHU.model_dump(mode="json")
    data["benefit"]["claim_deadline_days"] = 3650
    scheme = open_scheme(periods=())
    scheme.open_period(
        5, date(9000, 1, 1), date(9000, 12, 31), Policy.model_validate(data), "alice", ON
    )
    assert scheme.period(5).claim_deadline(date(9000, 6, 1)) == date(9010, 12, 29)


def test_a_period_recorded_at_the_end_of_the_calendar_still_replays_and_has_no_deadline() -> None:
    scheme = Scheme("Pinghu", "pinghu", {"C1": "A"}, "alice", date(2025, 1, 1))
    policy = PINGHU.model_dump(mode="json")
    scheme._period_opened(5, date(9999, 12, 30), date(9999, 12, 31), policy, "alice", ON)
    replayed: Any = None
    for recorded in scheme.collect_events():
        replayed = recorded.mutate(replayed)
    assert replayed.period(5).claim_deadline(date(9999, 12, 31)) == date.max


def test_a_period_never_opened_is_unknown(open_scheme: OpenScheme) -> None:
    scheme = open_scheme()
    with pytest.raises(PeriodError, match="period 2 has not been opened"):
        scheme.period(2)
    with pytest.raises(PeriodError) as caught:
        scheme.open_period_for_posting(2)
    assert not isinstance(caught.value, PeriodNotOpen)


def test_a_day_is_covered_by_the_period_whose_dates_include_it(open_scheme: OpenScheme) -> None:
    scheme = open_scheme(periods=(1, 3))
    assert scheme.period_covering(date(2025, 1, 1)).number == 1
    assert scheme.period_covering(date(2025, 12, 31)).number == 1
    assert scheme.period_covering(date(2027, 6, 30)).number == 3
    with pytest.raises(NoPeriodCovers, match="no period covers 2026-03-31") as caught:
        scheme.period_covering(date(2026, 3, 31))
    assert caught.value.day == date(2026, 3, 31)
    assert isinstance(caught.value, PeriodError)


@given(day=st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31)))
def test_every_day_of_an_open_period_and_no_other_is_covered(
    open_scheme: OpenScheme, day: date
) -> None:
    scheme = open_scheme(periods=(1, 3))  # the calendar years 2025 and 2027
    if day.year in (2025, 2027):
        period = scheme.period_covering(day)
        assert period.number == day.year - 2024
        assert period.start <= day <= period.end
    else:
        with pytest.raises(NoPeriodCovers):
            scheme.period_covering(day)


def test_an_unknown_county_is_refused(open_scheme: OpenScheme) -> None:
    scheme = open_scheme()
    scheme.require_county("C2")
    with pytest.raises(UnknownCounty, match="'C9' is not part of this scheme"):
        scheme.require_county("C9")


# Closing periods and sharing deficits


def test_closing_a_period_records_each_county_result(open_scheme: OpenScheme) -> None:
    scheme = open_scheme()
    [closed] = close(scheme, C1=("500.00", "200.00"), C2=("300.00", "300.00"))
    assert type(closed).__name__ == "PeriodClosed"
    assert closed.period == 1
    assert closed.results == {
        "C1": {"income": D("500.00"), "expense": D("200.00")},
        "C2": {"income": D("300.00"), "expense": D("300.00")},
    }
    assert (closed.actor, closed.effective_date) == ("bob", ON)
    assert scheme.period(1).closed


def test_a_period_cannot_be_closed_twice(open_scheme: OpenScheme) -> None:
    scheme = open_scheme()
    close(scheme, C1=("0", "0"), C2=("0", "0"))
    with pytest.raises(PeriodNotOpen) as caught:
        close(scheme, C1=("0", "0"), C2=("0", "0"))
    assert caught.value.period == 1


def test_a_closed_period_takes_no_more_postings(open_scheme: OpenScheme) -> None:
    scheme = open_scheme(periods=(1, 2))
    close(scheme, C1=("0", "0"), C2=("0", "0"))
    with pytest.raises(PeriodNotOpen, match="record an adjustment instead"):
        scheme.open_period_for_posting(1)
    assert scheme.open_period_for_posting(2).number == 2


def test_closing_needs_the_results_of_every_county(open_scheme: OpenScheme) -> None:
    scheme = open_scheme()
    with pytest.raises(LedgerError, match="results of every county"):
        close(scheme, C1=("0", "0"))
    with pytest.raises(LedgerError, match="results of every county"):
        close(scheme, C1=("0", "0"), C2=("0", "0"), C3=("0", "0"))
    assert not scheme.period(1).closed


def test_pinghu_shares_a_deficit_half_and_half_the_city_taking_the_rounded_half(
    open_scheme: OpenScheme,
) -> None:
    scheme = open_scheme("pinghu")
    events = close(scheme, C1=("0.00", "100.01"), C2=("10.00", "0.00"))
    [shared] = deficits_shared(events)
    assert (shared.period, shared.county) == (1, "C1")
    assert (shared.deficit, shared.city_share, shared.county_share) == (
        D("100.01"),
        D("50.01"),
        D("50.00"),
    )
    assert (shared.actor, shared.effective_date) == ("bob", ON)


def test_nanyang_city_pool_bears_a_county_deficit_in_full(open_scheme: OpenScheme) -> None:
    scheme = open_scheme("nanyang")
    events = close(scheme, C1=("900.00", "1233.33"), C2=("0", "0.01"))
    assert [
        (e.county, e.deficit, e.city_share, e.county_share) for e in deficits_shared(events)
    ] == [
        ("C1", D("333.33"), D("333.33"), D("0.00")),
        ("C2", D("0.01"), D("0.01"), D("0.00")),
    ]


def test_a_county_without_a_deficit_shares_nothing(open_scheme: OpenScheme) -> None:
    scheme = open_scheme()
    events = close(scheme, C1=("100.00", "100.00"), C2=("100.00", "99.99"))
    assert [type(e).__name__ for e in events] == ["PeriodClosed"]


def test_a_county_deficit_is_shared_once_per_period(open_scheme: OpenScheme) -> None:
    scheme = open_scheme(periods=(1, 2))
    close(scheme, C1=("0", "10.00"), C2=("0", "0"))
    with pytest.raises(DeficitAlreadyShared, match="'C1' for period 1 is already shared"):
        scheme.share_deficit(1, "C1", D("10.00"), D("5.00"), "bob", ON)
    assert names(scheme) == []
    scheme.share_deficit(1, "C2", D("4.00"), D("2.00"), "bob", ON)
    scheme.share_deficit(2, "C1", D("4.00"), D("2.00"), "bob", ON)
    assert names(scheme) == ["DeficitShared", "DeficitShared"]


def test_sharing_a_deficit_gives_the_county_what_the_city_does_not_bear(
    open_scheme: OpenScheme,
) -> None:
    scheme = open_scheme()
    scheme.share_deficit(1, "C1", D("10.00"), D("3.33"), "bob", ON)
    [shared] = pending(scheme)
    assert shared.county_share == D("6.67")


def test_a_closing_uses_the_city_share_of_the_period_policy(open_scheme: OpenScheme) -> None:
    data = PINGHU.model_dump(mode="json")
    data["deficit_sharing"]["city_share"] = "0.3"
    scheme = open_scheme(policy=Policy.model_validate(data))
    [shared] = deficits_shared(close(scheme, C1=("0", "0.05"), C2=("0", "0")))
    # 0.05 x 0.3 = 0.015, which rounds half up to 0.02
    assert (shared.city_share, shared.county_share) == (D("0.02"), D("0.03"))


# Adjustments


def adjust(scheme: Scheme, **changes: Any) -> None:
    arguments: dict[str, Any] = {
        "period": 1,
        "entity": "C1",
        "debit": BANK,
        "credit": COUNTY_CONTRIBUTIONS,
        "amount": "12.50",
        "reason": "bank fee refunded",
        "actor": "carol",
        "effective_date": ON,
    }
    scheme.post_adjustment(**{**arguments, **changes})


def test_an_adjustment_may_be_posted_into_a_closed_period(open_scheme: OpenScheme) -> None:
    scheme = open_scheme()
    close(scheme, C1=("0", "0"), C2=("0", "0"))
    adjust(scheme, reason="  late bank fee  ")
    [adjusted] = pending(scheme)
    assert type(adjusted).__name__ == "AdjustmentPosted"
    assert (adjusted.period, adjusted.entity, adjusted.debit, adjusted.credit) == (
        1,
        "C1",
        BANK,
        COUNTY_CONTRIBUTIONS,
    )
    assert (adjusted.amount, adjusted.reason) == (D("12.50"), "late bank fee")
    assert (adjusted.actor, adjusted.effective_date) == ("carol", ON)


def test_an_adjustment_may_be_posted_to_the_city_pool_and_a_premium_sub_account(
    open_scheme: OpenScheme,
) -> None:
    scheme = open_scheme()
    adjust(scheme, entity=CITY_POOL, debit=BANK, credit="premium_income:union:city")
    assert names(scheme) == ["AdjustmentPosted"]


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"debit": "cash"}, LedgerError, "unknown account 'cash'"),
        ({"credit": "premium_income"}, LedgerError, "unknown account 'premium_income'"),
        ({"credit": "premium_income:state"}, LedgerError, "unknown account"),
        ({"debit": BENEFIT_EXPENSE, "credit": BENEFIT_EXPENSE}, LedgerError, "must differ"),
        ({"entity": "C9"}, UnknownCounty, "'C9' is not part of this scheme"),
        ({"reason": ""}, LedgerError, "a reason is required"),
        ({"reason": "   "}, LedgerError, "a reason is required"),
        ({"period": 2}, PeriodError, "period 2 has not been opened"),
        ({"amount": "0"}, InvalidAmount, "must be greater than zero"),
        ({"amount": "-5.00"}, InvalidAmount, "must be greater than zero"),
        ({"amount": 12.5}, InvalidAmount, "floats are not accepted"),
        ({"reason": "fee\x07"}, InvalidText, r"reason 'fee\\x07': contains a control character"),
    ],
)
def test_an_adjustment_is_refused_unless_it_names_known_accounts_an_entity_and_a_reason(
    open_scheme: OpenScheme, changes: dict[str, Any], error: type[Exception], message: str
) -> None:
    scheme = open_scheme()
    with pytest.raises(error, match=message):
        adjust(scheme, **changes)
    assert names(scheme) == []


# Text recorded for good


@pytest.mark.parametrize(
    ("name", "counties", "message"),
    [
        ("Ping\x07hu", {"C1": "A"}, r"^scheme name 'Ping\\x07hu': contains a control character"),
        ("Pinghu", {"C1": "当\x1b湖"}, r"^county name '当\\x1b湖': contains a control character"),
        ("Pinghu", {"C1 ": "A"}, r"^county 'C1 ': must not begin or end with spaces"),
    ],
)
def test_a_scheme_names_itself_and_its_counties_in_plain_text(
    name: str, counties: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidText, match=message):
        Scheme.create(name, "pinghu", counties, "alice", date(2025, 1, 1))


def test_a_role_is_granted_to_a_user_named_in_plain_text(open_scheme: OpenScheme) -> None:
    scheme = open_scheme()
    with pytest.raises(InvalidText, match=r"^user 'wang\\x00'"):
        scheme.grant_role("wang\x00", "clerk", "alice", ON)
    assert names(scheme) == []
