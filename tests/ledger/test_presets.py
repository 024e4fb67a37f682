"""The city presets state their articles' numbers. The presets are the application's data
(ledger/application/presets); the rules they feed are tested in tests/domain."""

from decimal import Decimal

import pytest

from domain.policy import calculate_benefit
from ledger.application.policies import load_preset

D = Decimal


def yuan(text: str) -> Decimal:
    return D(text).quantize(D("0.01"))


def test_pinghu_premium_is_50_of_which_the_worker_pays_1_and_the_city_union_49() -> None:
    policy = load_preset("pinghu").policy_for(1)
    assert policy.premium == D("50")
    assert policy.funding == {"worker": D("1"), "union:city": D("49")}
    assert policy.benefit.annual_cap is None
    assert policy.deficit_sharing.city_share == D("0.5")


@pytest.mark.parametrize(
    ("eligible", "benefit"),
    [
        ("20000.00", "10380.00"),  # 880 + 2500 + 7000
        ("600.00", "0.00"),
        ("599.99", "0.00"),
        ("0", "0.00"),
        ("5000.00", "880.00"),
        ("10000.00", "3380.00"),
        ("600.01", "0.00"),  # 0.01 x 20% = 0.002, rounds to 0.00
        ("600.03", "0.01"),  # 0.006 rounds half up to 0.01
    ],
)
def test_pinghu_reimburses_20_50_and_70_percent_above_600_5000_and_10000(
    eligible: str, benefit: str
) -> None:
    rule = load_preset("pinghu").policy_for(1).benefit
    assert calculate_benefit(rule, eligible).benefit == yuan(benefit)


def test_nanyang_premium_is_90_of_which_the_worker_pays_60_and_the_union_30() -> None:
    policy = load_preset("nanyang").policy_for(1)
    assert policy.premium == D("90")
    assert policy.funding == {"worker": D("60"), "union:city": D("30")}
    assert policy.benefit.annual_cap == D("100000")
    assert policy.benefit.uplifts == {}
    assert policy.deficit_sharing.city_share == D("1")


def test_weihai_claims_within_180_days_of_discharge_and_from_period_15_of_the_period_end() -> None:
    weihai = load_preset("weihai")
    early, late = weihai.policy_for(14).benefit, weihai.policy_for(15).benefit
    assert (early.claim_deadline_from, early.claim_deadline_days) == ("discharge", 180)
    assert (late.claim_deadline_from, late.claim_deadline_days) == ("period_end", 180)


@pytest.mark.parametrize("period", [1, 15])
def test_weihai_pays_a_hospital_allowance_of_40_yuan_a_day_beside_its_hospital_item(
    period: int,
) -> None:
    policy = load_preset("weihai").policy_for(period)
    allowance = policy.items["hospital_allowance"]
    assert (allowance.pays, allowance.base(12)) == ("per_day", D("480.00"))
    assert calculate_benefit(policy.rule_for("hospital_allowance"), allowance.base(12)).benefit == (
        D("480.00")
    )


def test_nanyang_reimburses_half_above_1000_up_to_100000_a_year() -> None:
    benefit = load_preset("nanyang").policy_for(1).benefit
    assert calculate_benefit(benefit, "161000").benefit == D("80000.00")
    assert calculate_benefit(benefit, "300000").benefit == D("100000.00")


@pytest.mark.parametrize(
    ("period", "deductible", "version"),
    [
        (1, "8000", "weihai-1.1"),
        (14, "8000", "weihai-1.1"),
        (15, "6000", "weihai-15.1"),
        (99, "6000", "weihai-15.1"),
    ],
)
def test_weihai_threshold_is_8000_up_to_period_14_and_6000_from_period_15(
    period: int, deductible: str, version: str
) -> None:
    policy = load_preset("weihai").policy_for(period)
    assert policy.version == version
    assert policy.benefit.deductible == D(deductible)
    assert policy.benefit.bands[0].lower == D(deductible)
    assert policy.benefit.annual_cap == D("100000")
    assert policy.premium == D("60")
    assert policy.funding == {"worker": D("50"), "union:city": D("10")}


def test_beijing_is_free_to_members_the_city_union_paying_the_premium_of_60() -> None:
    policy = load_preset("beijing").policy_for(1)
    assert policy.premium == D("60")
    assert policy.funding == {"union:city": D("60")}


def test_beijing_caps_at_200653_and_lifts_hardship_and_model_workers_by_5_points() -> None:
    benefit = load_preset("beijing").policy_for(1).benefit
    assert benefit.annual_cap == D("200653")
    assert benefit.uplifts == {"hardship": D("0.05"), "model_worker": D("0.05")}


@pytest.mark.parametrize(
    ("group", "rate", "benefit"),
    [
        (None, "0.50", "5000.00"),
        ("hardship", "0.55", "5500.00"),
        ("model_worker", "0.55", "5500.00"),
    ],
)
def test_beijing_uplift_adds_5_points_to_every_band(
    group: str | None, rate: str, benefit: str
) -> None:
    calculation = calculate_benefit(load_preset("beijing").policy_for(1).benefit, "11300", group)
    assert [b.rate for b in calculation.bands] == [D(rate)]
    assert calculation.benefit == yuan(benefit)
    assert calculation.uplift == (D("0.05") if group else D(0))
