"""The chart of accounts as documents name it: each account and funding source has a name a
board reads, so no code (`union:city`, `premium_income:other`) reaches a document; and
each balance is shown on its account's natural side."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.accounts import (
    BANK,
    BENEFIT_EXPENSE,
    BENEFITS_PAYABLE,
    CHART,
    account_title,
    kind_of,
    natural_balance,
    premium_income,
    source_title,
)

ACCOUNTS = st.sampled_from(
    [a.name for a in CHART] + [premium_income(s) for s in ("worker", "union:city")]
)
FEN = st.integers(min_value=-(10**12), max_value=10**12)


@pytest.mark.parametrize(
    ("source", "title"),
    [
        ("worker", "职工个人"),
        ("employer", "单位"),
        ("other", "其他"),
        ("government", "政府补助"),
        ("donation", "社会捐助"),
        ("union:city", "工会补助(市级)"),
        ("union:town", "工会补助(乡镇)"),
        ("union:county", "工会补助(县级)"),
    ],
)
def test_a_funding_source_is_named_in_chinese(source: str, title: str) -> None:
    assert source_title(source) == title


def test_every_account_has_a_chinese_name_and_a_premium_account_names_its_source() -> None:
    titles = [account_title(a.name) for a in CHART]
    assert len(set(titles)) == len(CHART)
    assert all(t and not t.isascii() for t in titles)
    assert account_title(premium_income("union:city")) == "保费收入-工会补助(市级)"
    assert account_title("bank") == "银行存款"


def test_income_and_liabilities_read_positive_on_their_natural_side() -> None:
    """A premium of 100.00 banked: the bank is debited, the income credited; both show
    100.00, as do a benefit approved (expense) and the payable it leaves."""
    assert natural_balance(BANK, 10000) == 10000
    assert natural_balance(premium_income("worker"), -10000) == 10000
    assert natural_balance(BENEFIT_EXPENSE, 10000) == 10000
    assert natural_balance(BENEFITS_PAYABLE, -10000) == 10000


@given(account=ACCOUNTS, fen=FEN)
def test_the_natural_side_only_ever_flips_the_sign_and_back(account: str, fen: int) -> None:
    shown = natural_balance(account, fen)
    assert abs(shown) == abs(fen)
    assert natural_balance(account, shown) == fen


@given(entries=st.lists(st.tuples(ACCOUNTS, ACCOUNTS, FEN), max_size=20))
def test_balanced_postings_leave_assets_and_expenses_equal_to_liabilities_and_income(
    entries: list[tuple[str, str, int]],
) -> None:
    """Each entry debits one account and credits another: on their natural sides, what the
    fund holds and spends always equals what it owes and took in."""
    totals: dict[str, int] = {}
    for debit, credit, fen in entries:
        totals[debit] = totals.get(debit, 0) + fen
        totals[credit] = totals.get(credit, 0) - fen
    shown = {a: natural_balance(a, fen) for a, fen in totals.items()}
    debit_natured = sum(f for a, f in shown.items() if kind_of(a) in ("asset", "expense"))
    credit_natured = sum(f for a, f in shown.items() if kind_of(a) in ("liability", "income"))
    assert debit_natured == credit_natured
