"""The chart of accounts. Every fund entity (each county sub-fund and the city pool) keeps
the same accounts; a posting names the entity, the account and a signed amount
(debit positive, credit negative), so the postings of any event sum to zero."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain.policy import FUNDING_SOURCES, UNION_LEVELS, is_funding_source

CITY_POOL = "CITY"
"""Entity code of the city pool (市级统筹), beside the county codes."""

BANK = "bank"
BENEFITS_PAYABLE = "benefits_payable"
BENEFITS_CARRIED = "benefits_carried"
BENEFITS_DEFERRED = "benefits_deferred"
PREMIUM_INCOME = "premium_income"
COUNTY_CONTRIBUTIONS = "county_contributions"
DEFICIT_TRANSFERS_IN = "deficit_transfers_in"
BENEFIT_EXPENSE = "benefit_expense"
RECOVERY_RECEIVABLE = "recovery_receivable"
RECOVERIES_WRITTEN_OFF = "recoveries_written_off"
DEFICIT_TRANSFERS_OUT = "deficit_transfers_out"
FUND_INCOME = "fund_income"
RESERVE_TRANSFERS_IN = "reserve_transfers_in"
RESERVE_TRANSFERS_OUT = "reserve_transfers_out"
ADVANCES_TO_COUNTIES = "advances_to_counties"
ADVANCES_FROM_CITY = "advances_from_city"
FUND_TRANSFERS_IN = "fund_transfers_in"
FUND_TRANSFERS_OUT = "fund_transfers_out"

FUND_INCOME_SOURCES = {
    "appropriation": "工会拨款",
    "backstop": "兜底补助",
    "interest": "利息收入",
}
"""Money the city pool receives besides the counties' reserves: the city union's
appropriations and backstop subsidies (兜底), and interest on its bank account."""


@dataclass(frozen=True)
class Account:
    name: str
    kind: str
    description: str
    title: str
    """The name the fund's documents show (Chinese, as a board reads it)."""


CHART = (
    Account(BANK, "asset", "the fund's bank account", "银行存款"),
    Account(
        RECOVERY_RECEIVABLE,
        "asset",
        "benefits paid beyond what a reassessment left, to recover from members",
        "应收追回补助",
    ),
    Account(
        ADVANCES_TO_COUNTIES,
        "asset",
        "city pool: deficit shares advanced to counties, to be repaid",
        "借垫县级款",
    ),
    Account(
        BENEFITS_DEFERRED,
        "asset",
        "benefits a pro-rating carried, charged to the later period that releases them",
        "待转补助支出",
    ),
    Account(BENEFITS_PAYABLE, "liability", "benefits approved and not yet paid", "应付补助"),
    Account(
        BENEFITS_CARRIED,
        "liability",
        "the part of benefits a pro-rating held back, owed once a later period releases it",
        "结转应付补助",
    ),
    Account(
        ADVANCES_FROM_CITY,
        "liability",
        "a county's deficit shares the city pool advanced, still to repay",
        "应还市级借垫款",
    ),
    Account(PREMIUM_INCOME, "income", "premiums, one sub-account per funding source", "保费收入"),
    Account(COUNTY_CONTRIBUTIONS, "income", "a county's own share of its deficit", "县级分担收入"),
    Account(
        DEFICIT_TRANSFERS_IN, "income", "the city pool's share of a county deficit", "市级统筹拨入"
    ),
    Account(
        FUND_INCOME,
        "income",
        "city pool: its own funding, one sub-account per source: appropriations, backstop "
        "subsidies, interest",
        "其他收入",
    ),
    Account(
        RESERVE_TRANSFERS_IN,
        "income",
        "city pool: the risk reserve retained of the counties' premiums",
        "县级上解风险金",
    ),
    Account(
        FUND_TRANSFERS_IN,
        "income",
        "a county's own fund's balance, brought in when it joined the city pool",
        "并入基金转入",
    ),
    Account(BENEFIT_EXPENSE, "expense", "benefits approved", "补助支出"),
    Account(
        RECOVERIES_WRITTEN_OFF,
        "expense",
        "overpaid benefits given up as not recoverable",
        "核销追回补助",
    ),
    Account(
        DEFICIT_TRANSFERS_OUT,
        "expense",
        "city pool: deficit shares paid to counties",
        "拨付县级赤字",
    ),
    Account(
        RESERVE_TRANSFERS_OUT,
        "expense",
        "a county's premiums retained by the city pool as its risk reserve",
        "上解市级风险金",
    ),
    Account(
        FUND_TRANSFERS_OUT,
        "expense",
        "a county's reserve, settled to it when it left the city pool",
        "退出基金转出",
    ),
)


SPLIT_BY_SOURCE = (PREMIUM_INCOME, FUND_INCOME)
"""The accounts kept as one sub-account per source, `premium_income:worker`; never posted
to whole."""


def source_title(source: str) -> str:
    """A source as documents name it: union:city -> 工会补助(市级), interest -> 利息收入."""
    kind, _, level = source.partition(":")
    if kind == "union":
        return f"工会补助({UNION_LEVELS.get(level, level)})"
    return FUNDING_SOURCES.get(source) or FUND_INCOME_SOURCES.get(source, source)


def account_title(account: str) -> str:
    """An account as documents name it: premium_income:worker -> 保费收入-职工个人."""
    base, _, source = account.partition(":")
    title = next((a.title for a in CHART if a.name == base), account)
    return f"{title}-{source_title(source)}" if source else title


def premium_income(source: str) -> str:
    return f"{PREMIUM_INCOME}:{source}"


def fund_income(source: str) -> str:
    return f"{FUND_INCOME}:{source}"


def account_exists(account: str) -> bool:
    parent, _, source = account.partition(":")
    if parent == PREMIUM_INCOME:
        return is_funding_source(source)
    if parent == FUND_INCOME:
        return source in FUND_INCOME_SOURCES
    return any(a.name == account for a in CHART if a.name not in SPLIT_BY_SOURCE)


def kind_of(account: str) -> str:
    base = account.partition(":")[0]
    return next(a.kind for a in CHART if a.name == base)


CREDIT_NATURED = frozenset({"liability", "income"})
"""Kinds of account whose balance grows by credits (negative postings)."""


def surplus(accounts: Mapping[str, Decimal]) -> Decimal:
    """All income less all expense, of balances on their natural side: a period's result, or
    an entity's reserve over the periods summed."""
    income = sum((a for n, a in accounts.items() if kind_of(n) == "income"), Decimal(0))
    expense = sum((a for n, a in accounts.items() if kind_of(n) == "expense"), Decimal(0))
    return income - expense


def natural_balance(account: str, fen: int) -> int:
    """A balance (debits positive) on the account's natural side, as the books show it:
    credit-natured accounts negated, so income and what the fund owes read positive."""
    return -fen if kind_of(account) in CREDIT_NATURED else fen


@dataclass(frozen=True)
class Posting:
    entity: str
    account: str
    amount: Decimal
    """Debit positive, credit negative."""
    period: int
    effective_date: date
