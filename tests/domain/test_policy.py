"""Policies as data: a benefit and its breakdown, the annual cap, bad policies and presets
refused, and the benefit calculation keeping its promises for any valid rule. (The city
presets' own numbers are checked in tests/ledger/test_presets.py.)"""

import copy
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sample_policies import NANYANG, PINGHU, WEIHAI
from strategies import benefit_rules, cents

from domain.errors import InvalidAmount, InvalidPolicy
from domain.money import round_yuan
from domain.policy import (
    BenefitRule,
    Policy,
    SchemePreset,
    calculate_benefit,
    parse_policy,
)

D = Decimal


def yuan(text: str) -> Decimal:
    return D(text).quantize(D("0.01"))


# A benefit and its breakdown


def test_pinghu_breakdown_shows_each_band_base_rate_and_amount() -> None:
    calculation = calculate_benefit(PINGHU.benefit, "20000")
    assert [(b.lower, b.upper, b.base, b.rate, b.amount) for b in calculation.bands] == [
        (D("600"), D("5000"), D("4400"), D("0.20"), D("880")),
        (D("5000"), D("10000"), D("5000"), D("0.50"), D("2500")),
        (D("10000"), None, D("10000"), D("0.70"), D("7000")),
    ]
    assert (calculation.eligible, calculation.deductible) == (D("20000"), D("600"))
    assert calculation.before_cap == calculation.benefit == D("10380")
    assert (calculation.cap_remaining, calculation.cap_applied) == (None, False)


def test_a_breakdown_as_a_dict_holds_amounts_as_two_place_strings() -> None:
    breakdown = calculate_benefit(PINGHU.benefit, "20000").as_dict()
    assert breakdown == {
        "eligible": "20000.00",
        "deductible": "600.00",
        "bands": [
            {
                "lower": "600.00",
                "upper": "5000.00",
                "base": "4400.00",
                "rate": "0.20",
                "amount": "880.00",
            },
            {
                "lower": "5000.00",
                "upper": "10000.00",
                "base": "5000.00",
                "rate": "0.50",
                "amount": "2500.00",
            },
            {
                "lower": "10000.00",
                "upper": None,
                "base": "10000.00",
                "rate": "0.70",
                "amount": "7000.00",
            },
        ],
        "uplift": "0.00",
        "before_cap": "10380.00",
        "cap_remaining": None,
        "cap_applied": False,
        "benefit": "10380.00",
    }
    assert json.loads(json.dumps(breakdown)) == breakdown


def test_an_uplift_never_takes_a_rate_above_100_percent() -> None:
    rule = BenefitRule.model_validate(
        {
            "deductible": "0",
            "bands": [{"lower": "0", "rate": "0.98"}],
            "uplifts": {"hardship": "0.05"},
            "claim_deadline_days": 90,
        }
    )
    calculation = calculate_benefit(rule, "100", "hardship")
    assert calculation.bands[0].rate == D(1)
    assert calculation.benefit == D("100")


# The annual cap

HARDSHIP_CAP = BenefitRule.model_validate(
    {
        "deductible": "0",
        "bands": [{"lower": "0", "rate": "0.50"}],
        "annual_cap": "5000.00",
        "group_caps": {"hardship": "10000.00"},
        "claim_deadline_days": 180,
    }
)
"""Weihai's hardship families: a cap of 10,000 where others have 5,000."""


@pytest.mark.parametrize(("group", "benefit"), [(None, "5000.00"), ("hardship", "10000.00")])
def test_a_member_group_may_have_a_cap_of_its_own(group: str | None, benefit: str) -> None:
    assert HARDSHIP_CAP.groups == {"hardship"}
    calculation = calculate_benefit(HARDSHIP_CAP, "30000", group)
    assert (calculation.before_cap, calculation.benefit) == (D("15000.00"), D(benefit))
    assert calculation.cap_applied


def test_a_group_cap_of_a_group_no_rule_names_is_the_annual_cap() -> None:
    assert calculate_benefit(HARDSHIP_CAP, "30000", "model_worker").benefit == D("5000.00")


def test_a_rule_without_group_caps_is_stored_as_before_they_existed() -> None:
    stored = PINGHU.benefit.model_dump(mode="json")
    assert "group_caps" not in stored and "claim_deadline_from" not in stored
    assert BenefitRule.model_validate(stored) == PINGHU.benefit
    assert HARDSHIP_CAP.model_dump(mode="json")["group_caps"] == {"hardship": "10000.00"}


@pytest.mark.parametrize(
    ("approved_so_far", "remaining", "benefit"),
    [
        ("0", "100000.00", "100000.00"),
        ("70000", "30000.00", "30000.00"),
        ("99999.99", "0.01", "0.01"),
        ("100000", "0.00", "0.00"),
        ("120000", "0.00", "0.00"),
    ],
)
def test_what_was_approved_so_far_reduces_what_is_left_of_the_cap(
    approved_so_far: str, remaining: str, benefit: str
) -> None:
    rule = NANYANG.benefit
    calculation = calculate_benefit(rule, "300000", approved_so_far=D(approved_so_far))
    assert calculation.before_cap == D("149500")
    assert calculation.cap_remaining == yuan(remaining)
    assert calculation.benefit == yuan(benefit)
    assert calculation.cap_applied is True
    assert calculation.as_dict()["cap_remaining"] == remaining


def test_the_cap_is_not_applied_to_a_benefit_below_it() -> None:
    calculation = calculate_benefit(NANYANG.benefit, "3000", approved_so_far=D("50000"))
    assert calculation.benefit == calculation.before_cap == D("1000")
    assert calculation.cap_remaining == D("50000")
    assert calculation.cap_applied is False


def test_an_eligible_amount_must_be_a_non_negative_exact_amount() -> None:
    rule = PINGHU.benefit
    for bad in ("-1", 1000.0, "1.001"):
        with pytest.raises(InvalidAmount) as caught:
            calculate_benefit(rule, bad)
        assert caught.value.field == "eligible self-paid amount"


# Validation of policies and presets


def pinghu_data() -> dict[str, Any]:
    data: dict[str, Any] = PINGHU.model_dump(mode="json")
    return copy.deepcopy(data)


def refused(data: dict[str, Any]) -> str:
    """The message of the ValidationError Policy raises, also raised by parse_policy."""
    with pytest.raises(ValidationError) as caught:
        Policy.model_validate(data)
    with pytest.raises(InvalidPolicy) as caught_parsed:
        parse_policy(data, "custom.json")
    assert str(caught_parsed.value).startswith("custom.json: ")
    return str(caught.value)


def test_the_pinghu_data_itself_is_a_valid_policy() -> None:
    assert parse_policy(pinghu_data(), "x") == PINGHU


def test_funding_that_does_not_add_up_to_the_premium_is_refused() -> None:
    data = pinghu_data()
    data["funding"]["union:city"] = "48.00"
    assert "funding sources add up to 49.00, not the premium 50.00" in refused(data)


@pytest.mark.parametrize(
    "source", ["gov", "union", "union:", "union:City", "Worker", "government:city", "donation:"]
)
def test_an_unknown_funding_source_is_refused(source: str) -> None:
    data = pinghu_data()
    data["funding"] = {"worker": "1.00", source: "49.00"}
    assert "unknown funding source" in refused(data)


def test_a_premium_funded_four_ways_is_accepted() -> None:
    """Wenling funds its premium from workers, the union, the government and donations."""
    data = pinghu_data()
    funding = {"worker": "10.00", "union:city": "20.00", "government": "15.00", "donation": "5.00"}
    data["funding"] = funding
    assert Policy.model_validate(data).funding == {s: D(a) for s, a in funding.items()}


def test_union_funding_at_any_named_level_is_accepted() -> None:
    data = pinghu_data()
    data["funding"] = {"worker": "1.00", "union:county": "9.00", "union:national": "40.00"}
    assert Policy.model_validate(data).funding["union:national"] == D("40")


def test_a_premium_given_as_a_json_float_is_refused() -> None:
    data = json.loads(json.dumps(pinghu_data()).replace('"50.00"', "50.5"))
    assert data["premium"] == 50.5
    assert "floats are not accepted" in refused(data)


def test_a_premium_given_as_a_json_integer_is_accepted() -> None:
    data = pinghu_data()
    data["premium"] = 50
    assert Policy.model_validate(data).premium == D("50.00")


def test_a_rate_given_as_a_float_is_refused() -> None:
    data = pinghu_data()
    data["benefit"]["bands"][0]["rate"] = 0.2
    assert "a rate is a string" in refused(data)


def test_a_rate_that_is_not_a_number_is_refused_as_a_validation_error() -> None:
    data = pinghu_data()
    data["benefit"]["bands"][0]["rate"] = "abc"
    refused(data)


@pytest.mark.parametrize(
    ("band", "field", "value", "message"),
    [
        (1, "lower", "5001.00", "bands must be contiguous: 5000.00 then 5001.00"),
        (0, "upper", "4000.00", "bands must be contiguous: 4000.00 then 5000.00"),
        (1, "upper", None, "bands must be contiguous: None then 10000.00"),
        (0, "lower", "500.00", "the first band must start at the deductible"),
        (0, "rate", "1.01", "must be between 0 and 1"),
        (2, "rate", "-0.10", "must be between 0 and 1"),
        (1, "rate", "NaN", "must be between 0 and 1"),
    ],
)
def test_bands_must_be_contiguous_from_the_deductible_with_rates_between_0_and_1(
    band: int, field: str, value: str | None, message: str
) -> None:
    data = pinghu_data()
    data["benefit"]["bands"][band][field] = value
    assert message in refused(data)


def test_an_empty_band_is_refused() -> None:
    data = pinghu_data()
    data["benefit"]["bands"] = [{"lower": "600.00", "upper": "600.00", "rate": "0.20"}]
    assert "band 600.00-600.00 is empty" in refused(data)


def test_a_benefit_without_bands_is_refused() -> None:
    data = pinghu_data()
    data["benefit"]["bands"] = []
    assert "at least one band is required" in refused(data)


def test_an_uplift_above_100_percent_is_refused() -> None:
    data = pinghu_data()
    data["benefit"]["uplifts"] = {"hardship": "1.5"}
    assert "must be between 0 and 1" in refused(data)


def test_a_negative_claim_deadline_is_refused() -> None:
    data = pinghu_data()
    data["benefit"]["claim_deadline_days"] = -1
    assert "claim_deadline_days" in refused(data)
    data["benefit"]["claim_deadline_days"] = 10**9
    assert "less than or equal to 3650" in refused(data)
    data["benefit"]["claim_deadline_days"] = True
    assert "claim_deadline_days" in refused(data)


def test_a_city_share_above_1_is_refused() -> None:
    data = pinghu_data()
    data["deficit_sharing"]["city_share"] = "1.5"
    assert "must be between 0 and 1" in refused(data)


def test_an_unknown_field_is_refused() -> None:
    data = pinghu_data()
    data["benefit"]["annual_limit"] = "5000.00"
    assert "annual_limit" in refused(data)


def test_parse_policy_names_the_source_and_the_place_of_the_error() -> None:
    data = pinghu_data()
    data["benefit"]["bands"][0]["rate"] = "2"
    with pytest.raises(InvalidPolicy, match=r"^my-policy\.json: benefit\.bands\.0\.rate: "):
        parse_policy(data, "my-policy.json")


def weihai_data(*ranges: tuple[int, int | None]) -> dict[str, Any]:
    """A Weihai-like preset whose policy versions cover the given period ranges."""
    version = WEIHAI.model_dump(mode="json")
    return {
        "name": "weihai",
        "city": "威海 Weihai",
        "source": "a preset for the tests",
        "assumptions": {},
        "policies": [
            {"from_period": start, "to_period": end, "policy": copy.deepcopy(version)}
            for start, end in ranges
        ],
    }


@pytest.mark.parametrize(
    "ranges",
    [
        pytest.param([(1, 14), (16, None)], id="gap-at-period-15"),
        pytest.param([(1, 14), (14, None)], id="overlap-at-period-14"),
        pytest.param([(2, None)], id="nothing-for-period-1"),
        pytest.param([(1, None), (2, None)], id="version-after-open-ended-one"),
        pytest.param([(1, 5), (6, 3), (4, None)], id="version-ending-before-it-starts"),
    ],
)
def test_preset_policy_versions_must_cover_consecutive_periods_from_period_1(
    ranges: list[tuple[int, int | None]],
) -> None:
    with pytest.raises(ValidationError):
        SchemePreset.model_validate(weihai_data(*ranges))


def test_a_preset_may_end_its_last_version() -> None:
    preset = SchemePreset.model_validate(weihai_data((1, 14), (15, 20)))
    assert preset.policy_for(20).version == "weihai-1"


@pytest.mark.parametrize(
    "path",
    [
        "policies.0.policy.benefit.copay",
        "policies.2",
        "policies.x.policy",
        "policies.0.policy.funding.employer",
        "deficit_sharing",
    ],
)
def test_a_preset_assumption_must_name_a_real_parameter(path: str) -> None:
    data = weihai_data((1, 14), (15, None))
    data["assumptions"] = {path: "assumed"}
    with pytest.raises(ValidationError, match="which is not a parameter"):
        SchemePreset.model_validate(data)


@pytest.mark.parametrize(
    "path",
    ["policies.1", "policies.0.policy.funding.worker", "policies.1.policy.benefit.bands.0.rate"],
)
def test_a_preset_assumption_may_name_any_parameter_down_to_a_band(path: str) -> None:
    data = weihai_data((1, 14), (15, None))
    data["assumptions"] = {path: "assumed"}
    assert SchemePreset.model_validate(data).assumptions == {path: "assumed"}


@pytest.mark.parametrize("period", [0, -1, 21])
def test_a_period_no_version_covers_has_no_policy(period: int) -> None:
    preset = SchemePreset.model_validate(weihai_data((1, 14), (15, 20)))
    with pytest.raises(InvalidPolicy, match=f"no policy for period {period}"):
        preset.policy_for(period)


# Properties of the benefit calculation over any valid rule


eligible_amounts = cents(0, 500_000_00)
approved_amounts = cents(0, 300_000_00)
groups = st.sampled_from([None, "group"])


@settings(max_examples=200)
@given(benefit_rules(), eligible_amounts, groups, approved_amounts)
def test_a_benefit_never_exceeds_the_eligible_amount_nor_what_is_left_of_the_cap(
    rule: BenefitRule, eligible: Decimal, group: str | None, approved: Decimal
) -> None:
    calculation = calculate_benefit(rule, eligible, group, approved)
    assert D(0) <= calculation.benefit <= eligible
    assert calculation.benefit <= max(D(0), eligible - rule.deductible)
    cap = rule.group_caps.get("group", rule.annual_cap) if group else rule.annual_cap
    if cap is None:
        assert calculation.cap_remaining is None
    else:
        assert calculation.cap_remaining == max(D(0), cap - approved)
        assert calculation.benefit <= calculation.cap_remaining


@settings(max_examples=200)
@given(benefit_rules(), eligible_amounts, groups, approved_amounts)
def test_a_benefit_is_the_sum_of_its_bands_limited_by_the_cap(
    rule: BenefitRule, eligible: Decimal, group: str | None, approved: Decimal
) -> None:
    calculation = calculate_benefit(rule, eligible, group, approved)
    assert sum((b.amount for b in calculation.bands), D(0)) == calculation.before_cap
    for band in calculation.bands:
        assert band.amount == round_yuan(band.base * band.rate)
        assert D(0) <= band.base
        assert D(0) <= band.rate <= D(1)
    if calculation.cap_remaining is None:
        assert calculation.benefit == calculation.before_cap
    else:
        assert calculation.benefit == min(calculation.before_cap, calculation.cap_remaining)
    assert calculation.cap_applied == (calculation.benefit < calculation.before_cap)
    assert sum((b.base for b in calculation.bands), D(0)) == min(
        max(D(0), eligible - rule.deductible),
        max(D(0), (rule.bands[-1].upper or eligible) - rule.deductible),
    )


@settings(max_examples=200)
@given(benefit_rules(), eligible_amounts, eligible_amounts, groups, approved_amounts)
def test_a_benefit_never_decreases_as_the_eligible_amount_grows(
    rule: BenefitRule, one: Decimal, other: Decimal, group: str | None, approved: Decimal
) -> None:
    smaller, larger = sorted((one, other))
    assert (
        calculate_benefit(rule, smaller, group, approved).benefit
        <= calculate_benefit(rule, larger, group, approved).benefit
    )


@settings(max_examples=200)
@given(benefit_rules(), eligible_amounts, approved_amounts)
def test_an_uplift_never_lowers_a_benefit(
    rule: BenefitRule, eligible: Decimal, approved: Decimal
) -> None:
    rule = rule.model_copy(update={"group_caps": {}})  # an uplift alone, under one cap
    assert (
        calculate_benefit(rule, eligible, None, approved).benefit
        <= calculate_benefit(rule, eligible, "group", approved).benefit
    )


@settings(max_examples=200)
@given(benefit_rules(), eligible_amounts, approved_amounts)
def test_a_group_is_never_paid_beyond_its_own_cap(
    rule: BenefitRule, eligible: Decimal, approved: Decimal
) -> None:
    cap = rule.cap_for("group")
    benefit = calculate_benefit(rule, eligible, "group", approved).benefit
    assert cap is None or benefit <= max(Decimal(0), cap - approved)


# Costs above the basic insurance's ceiling

BEYOND = BenefitRule.model_validate(
    {
        "deductible": "1000.00",
        "bands": [{"lower": "1000.00", "rate": "0.50"}],
        "above_ceiling": [
            {"lower": "0", "upper": "10000.00", "rate": "0.40"},
            {"lower": "10000.00", "rate": "0.60"},
        ],
        "annual_cap": "20000.00",
        "claim_deadline_days": 90,
    }
)
"""As Beijing does: the costs above the ceiling paid by amount, at rates of their own."""


def test_costs_above_the_ceiling_are_paid_under_their_own_bands_within_the_cap() -> None:
    calculation = calculate_benefit(BEYOND, "5000", None, D(0), D("20000"))
    assert [b.amount for b in calculation.bands] == [D("2000.00")]
    assert [b.amount for b in calculation.above_ceiling] == [D("4000.00"), D("6000.00")]
    assert calculation.benefit == D("12000.00")
    assert calculation.as_dict()["above_ceiling"][1]["base"] == "10000.00"
    capped = calculate_benefit(BEYOND, "5000", None, D("10000"), D("20000"))
    assert (capped.before_cap, capped.benefit) == (D("12000.00"), D("10000.00"))


def test_without_costs_above_the_ceiling_nothing_of_them_is_recorded() -> None:
    calculation = calculate_benefit(BEYOND, "5000")
    assert "above_ceiling" not in calculation.as_dict()
    assert "above_ceiling" not in PINGHU.benefit.model_dump(mode="json")
    assert calculate_benefit(PINGHU.benefit, "5000", None, D(0), D("9000")).above_ceiling == ()


def test_bands_above_the_ceiling_start_at_nothing_and_are_contiguous() -> None:
    data = pinghu_data()
    data["benefit"]["above_ceiling"] = [{"lower": "100", "rate": "0.4"}]
    assert "above_ceiling: the first band must start at 0" in refused(data)
    data["benefit"]["above_ceiling"] = [
        {"lower": "0", "upper": "10", "rate": "0.4"},
        {"lower": "20", "rate": "0.4"},
    ]
    assert "above_ceiling: bands must be contiguous: 10.00 then 20.00" in refused(data)
