"""Counties over time: a county joins the city pool from a later period with its own fund's
balance (Lishui's Yunhe joined years after the others), or leaves after a closed period with
its balance settled; each period knows which counties are in it."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sample_policies import PINGHU

from domain.accounts import (
    ADVANCES_FROM_CITY,
    BANK,
    BENEFIT_EXPENSE,
    BENEFITS_PAYABLE,
    FUND_TRANSFERS_IN,
    FUND_TRANSFERS_OUT,
    Posting,
    natural_balance,
    premium_income,
    surplus,
)
from domain.errors import (
    Conflict,
    CountyNotInPeriod,
    FieldError,
    InvalidAmount,
    LedgerError,
    PeriodError,
)
from domain.money import from_fen, to_fen
from domain.policy import Policy
from domain.postings import entry, postings_for
from domain.scheme import CountyResult, Scheme

D = Decimal
OpenScheme = Callable[..., Scheme]
ON = date(2026, 2, 1)


def advancing() -> Policy:
    data = PINGHU.model_dump(mode="json")
    data["deficit_sharing"].update(city_share="1", city_cover="advance")
    return Policy.model_validate(data)


def test_a_county_joins_from_a_period_with_its_funds_balance(open_scheme: OpenScheme) -> None:
    scheme = open_scheme(periods=(1, 2))
    scheme.join_county("YH", "Yunhe", 2, "12345.60", "T-1", "alice", ON)
    [joined] = scheme.collect_events()
    assert isinstance(joined, Scheme.CountyJoined)
    assert (scheme.counties["YH"], scheme.joined) == ("Yunhe", {"YH": 2})
    assert [(p.entity, p.account, p.amount) for p in postings_for(joined)] == [
        ("YH", BANK, D("12345.60")),
        ("YH", FUND_TRANSFERS_IN, D("-12345.60")),
    ]
    assert (scheme.counties_in(1), scheme.counties_in(2)) == (["C1", "C2"], ["C1", "C2", "YH"])
    scheme.require_county_in("YH", 2)
    with pytest.raises(
        CountyNotInPeriod, match="'YH' is not in the city pool in period 1: it joins in period 2"
    ):
        scheme.require_county_in("YH", 1)


def test_a_county_without_a_fund_of_its_own_joins_with_nothing_posted(
    open_scheme: OpenScheme,
) -> None:
    scheme = open_scheme(periods=(1,))
    scheme.join_county("YH", "Yunhe", 1, "0", "", "alice", ON)
    [joined] = scheme.collect_events()
    assert postings_for(joined) == []


@pytest.mark.parametrize(
    ("county", "name", "balance", "reference", "error", "message"),
    [
        ("C1", "Again", "0", "", Conflict, "'C1' is already in the scheme"),
        ("CITY", "Pool", "0", "", FieldError, "reserved for the city pool"),
        ("", "Nameless", "0", "", FieldError, "code and name are required"),
        ("YH", "Yunhe", "-1.00", "T", InvalidAmount, "opening_balance: '-1.00'"),
        ("YH", "Yunhe", "1.005", "T", InvalidAmount, "opening_balance"),
        ("YH", "Yunhe", "10.00", " ", FieldError, "'YH' joining: give the bank's reference"),
    ],
)
def test_joining_is_refused_with_the_field_named(
    open_scheme: OpenScheme,
    county: str,
    name: str,
    balance: str,
    reference: str,
    error: type[Exception],
    message: str,
) -> None:
    scheme = open_scheme(periods=(1,))
    with pytest.raises(error, match=message):
        scheme.join_county(county, name, 1, balance, reference, "alice", ON)
    assert list(scheme.collect_events()) == [] and "YH" not in scheme.counties


def test_a_county_joins_only_an_open_period(open_scheme: OpenScheme) -> None:
    scheme = open_scheme(periods=(1,))
    scheme.close_period(1, {c: CountyResult(D(0), D(0)) for c in ("C1", "C2")}, "bob", ON)
    with pytest.raises(PeriodError, match="period 1 is closed"):
        scheme.join_county("YH", "Yunhe", 1, "0", "", "alice", ON)


def test_closing_a_period_takes_the_results_of_the_counties_in_it(open_scheme: OpenScheme) -> None:
    scheme = open_scheme(periods=(1, 2))
    scheme.join_county("YH", "Yunhe", 2, "0", "", "alice", ON)
    scheme.close_period(1, {c: CountyResult(D(0), D(0)) for c in ("C1", "C2")}, "bob", ON)
    later = date(2027, 2, 1)
    with pytest.raises(LedgerError, match="every county in the period"):
        scheme.close_period(2, {c: CountyResult(D(0), D(0)) for c in ("C1", "C2")}, "bob", later)
    scheme.close_period(2, {c: CountyResult(D(0), D(0)) for c in ("C1", "C2", "YH")}, "bob", later)
    closed = [e for e in scheme.collect_events() if isinstance(e, Scheme.PeriodClosed)]
    assert [sorted(e.results) for e in closed] == [["C1", "C2"], ["C1", "C2", "YH"]]


def closed_period_one(open_scheme: OpenScheme, policy: Policy | None = None) -> Scheme:
    scheme = open_scheme(periods=(1, 2), policy=policy)
    scheme.close_period(
        1, {"C1": CountyResult(D("100"), D("900")), "C2": CountyResult(D(0), D(0))}, "bob", ON
    )
    scheme.collect_events()
    return scheme


def test_a_county_leaves_after_a_closed_period_with_its_reserve_transferred(
    open_scheme: OpenScheme,
) -> None:
    scheme = closed_period_one(open_scheme)
    assert scheme.leave_county("C2", 1, D("250.00"), [], "T-9", "alice", ON) == D("250.00")
    [left] = scheme.collect_events()
    assert isinstance(left, Scheme.CountyLeft) and left.after_period == 1
    assert [(p.entity, p.account, p.amount, p.period) for p in postings_for(left)] == [
        ("C2", FUND_TRANSFERS_OUT, D("250.00"), 1),
        ("C2", BANK, D("-250.00"), 1),
    ]
    assert scheme.counties_in(2) == ["C1"] and scheme.counties_in(1) == ["C1", "C2"]
    with pytest.raises(CountyNotInPeriod, match="it left after period 1"):
        scheme.require_county_in("C2", 2)
    with pytest.raises(Conflict, match="left the city pool after period 1"):
        scheme.join_county("C2", "Back again", 2, "0", "", "alice", ON)


def test_a_leaving_county_repays_the_pools_advances_and_takes_its_whole_reserve(
    open_scheme: OpenScheme,
) -> None:
    """An advance came into the county's bank as a debt, not as income: the reserve is what
    the county has of its own whatever it owes, and its bank holds both."""
    scheme = closed_period_one(open_scheme, advancing())
    assert scheme.advances == {"C1": D("800.00")}
    with pytest.raises(Conflict, match=r"holds a reserve of -0\.01: settle it by an adjustment"):
        scheme.leave_county("C1", 1, D("-0.01"), [], "T", "alice", ON)
    assert scheme.leave_county("C1", 1, D("500.00"), [], "T", "alice", ON) == D("500.00")
    repaid, left = scheme.collect_events()
    assert isinstance(repaid, Scheme.AdvanceRepaid) and repaid.amount == D("800.00")
    assert isinstance(left, Scheme.CountyLeft) and left.transferred == D("500.00")
    assert scheme.advances == {"C1": D("0.00")}


def test_a_county_leaves_only_after_a_closed_period_with_nothing_after_it(
    open_scheme: OpenScheme,
) -> None:
    scheme = closed_period_one(open_scheme)
    with pytest.raises(PeriodError, match="period 2 is open: close it before"):
        scheme.leave_county("C2", 2, D(0), [], "", "alice", ON)
    with pytest.raises(Conflict, match="has postings in period 2, after period 1"):
        scheme.leave_county("C2", 1, D(0), [2], "", "alice", ON)
    with pytest.raises(FieldError, match="reference"):
        scheme.leave_county("C2", 1, D("1.00"), [], "", "alice", ON)
    assert list(scheme.collect_events()) == [] and scheme.left == {}


def own_postings(events: list[object], county: str) -> dict[str, int]:
    """The county's balances in fen, on their natural side, from the events' postings."""
    found: dict[str, int] = {}
    for e in events:
        for p in postings_for(e):
            if p.entity == county:
                found[p.account] = found.get(p.account, 0) + to_fen(p.amount)
    return {account: natural_balance(account, fen) for account, fen in found.items()}


@given(
    balance=st.decimals(min_value=0, max_value=10**7, places=2),
    premiums=st.decimals(min_value=0, max_value=10**6, places=2),
    benefits=st.decimals(min_value=0, max_value=10**6, places=2),
    cover=st.sampled_from(["grant", "advance"]),
)
def test_a_county_that_joined_and_left_ends_with_nothing_of_its_own_and_owing_nothing(
    open_scheme: OpenScheme, balance: Decimal, premiums: Decimal, benefits: Decimal, cover: str
) -> None:
    """Joined with its fund, a period of premiums and benefits (as the members' events post
    them), closed and shared, then left on the reserve its postings give (an advance is a
    debt: it is not in the reserve, and one beyond what the county has is refused): every
    event balances, and it ends with no reserve, no advance owed, and in the bank just what
    it still owes its members."""
    data = PINGHU.model_dump(mode="json")
    data["deficit_sharing"].update(city_share="0.5", city_cover=cover, reserve_rate="0.05")
    scheme = open_scheme(periods=(1, 2), policy=Policy.model_validate(data))
    scheme.join_county("YH", "Yunhe", 1, balance, "T", "alice", ON)
    results = {c: CountyResult(D(0), D(0)) for c in ("C1", "C2")}
    scheme.close_period(1, {**results, "YH": CountyResult(premiums, benefits)}, "bob", ON)
    events: list[object] = [
        *entry("YH", BANK, premium_income("worker"), premiums, 1, ON),
        *entry("YH", BENEFIT_EXPENSE, BENEFITS_PAYABLE, benefits, 1, ON),
    ]
    history = [*scheme.collect_events()]
    books = own_postings(history, "YH")
    for p in events:
        assert isinstance(p, Posting)
        books[p.account] = books.get(p.account, 0) + natural_balance(p.account, to_fen(p.amount))
    reserve = surplus({a: from_fen(fen) for a, fen in books.items()})
    if reserve < 0:  # an advance beyond what it brought: it owes more than it has
        with pytest.raises(Conflict, match="settle it by an adjustment"):
            scheme.leave_county("YH", 1, reserve, [], "T", "alice", ON)
        return
    assert scheme.leave_county("YH", 1, reserve, [], "T", "alice", ON) == reserve
    settled = [*scheme.collect_events()]
    for e in [*history, *settled]:
        assert sum((p.amount for p in postings_for(e)), D(0)) == 0
    after = own_postings(settled, "YH")
    for account, fen in after.items():
        books[account] = books.get(account, 0) + fen
    final = {a: from_fen(fen) for a, fen in books.items()}
    assert surplus(final) == 0
    assert final.get(ADVANCES_FROM_CITY, D(0)) == 0
    assert final.get(BANK, D(0)) == final.get(BENEFITS_PAYABLE, D(0)) == benefits
    assert scheme.advances.get("YH", D(0)) == 0
