"""The chart of accounts. Every fund entity (each county sub-fund and the city pool) keeps
the same accounts; a posting names the entity, the account and a signed amount
(debit positive, credit negative), so the postings of any event sum to zero."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain.policy import FUNDING_SOURCE

CITY_POOL = "CITY"
"""Entity code of the city pool (市级统筹), beside the county codes."""

BANK = "bank"
BENEFITS_PAYABLE = "benefits_payable"
PREMIUM_INCOME = "premium_income"
COUNTY_CONTRIBUTIONS = "county_contributions"
DEFICIT_TRANSFERS_IN = "deficit_transfers_in"
BENEFIT_EXPENSE = "benefit_expense"
DEFICIT_TRANSFERS_OUT = "deficit_transfers_out"


@dataclass(frozen=True)
class Account:
    name: str
    kind: str
    description: str


CHART = (
    Account(BANK, "asset", "the fund's bank account"),
    Account(BENEFITS_PAYABLE, "liability", "benefits approved and not yet paid"),
    Account(PREMIUM_INCOME, "income", "premiums, one sub-account per funding source"),
    Account(COUNTY_CONTRIBUTIONS, "income", "a county's own share of its deficit"),
    Account(DEFICIT_TRANSFERS_IN, "income", "the city pool's share of a county deficit"),
    Account(BENEFIT_EXPENSE, "expense", "benefits approved"),
    Account(DEFICIT_TRANSFERS_OUT, "expense", "city pool: deficit shares paid to counties"),
)


def premium_income(source: str) -> str:
    return f"{PREMIUM_INCOME}:{source}"


def account_exists(account: str) -> bool:
    parent, _, source = account.partition(":")
    if parent == PREMIUM_INCOME:
        return bool(FUNDING_SOURCE.match(source))
    return any(a.name == account for a in CHART if a.name != PREMIUM_INCOME)


def kind_of(account: str) -> str:
    base = PREMIUM_INCOME if account.startswith(PREMIUM_INCOME + ":") else account
    return next(a.kind for a in CHART if a.name == base)


@dataclass(frozen=True)
class Posting:
    entity: str
    account: str
    amount: Decimal
    """Debit positive, credit negative."""
    period: int
    effective_date: date
