"""Settlements as basic medical insurance reports them: their self-paid components, the
eligible base the policy counts of them, and components that do not add up refused with
the field at fault."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from sample_policies import PINGHU
from strategies import cents

from domain.errors import InvalidAmount, InvalidSettlement
from domain.member import Settlement, eligible_amount
from domain.policy import BenefitRule

D = Decimal
ON = date(2025, 3, 10)


def settlement(**components: str) -> Settlement:
    """A stay of 10,000 of which insurance paid 6,000, with the components given."""
    parts: dict[str, Any] = {name: D(amount) for name, amount in components.items()}
    return Settlement("S1", date(2025, 3, 1), ON, D("10000.00"), D("6000.00"), **parts)


def counting(**shares: str) -> BenefitRule:
    return PINGHU.benefit.model_copy(update={"eligible_from": {k: D(v) for k, v in shares.items()}})


def test_by_default_the_eligible_base_is_policy_self_pay_alone() -> None:
    stay = settlement(policy_self_paid="3000.00", out_of_catalogue="1000.00")
    assert eligible_amount("S1", None, stay, PINGHU.benefit) == D("3000.00")


def test_a_policy_may_count_part_of_out_of_catalogue_costs() -> None:
    stay = settlement(policy_self_paid="3000.00", out_of_catalogue="1000.01")
    rule = counting(policy_self_paid="1", out_of_catalogue="0.5")
    assert eligible_amount("S1", None, stay, rule) == D("3500.01")  # 500.005 rounds half up


def test_the_eligible_column_alone_still_works_and_must_agree_with_the_components() -> None:
    assert eligible_amount("S1", "2500.00", settlement(), PINGHU.benefit) == D("2500.00")
    stay = settlement(policy_self_paid="3000.00")
    assert eligible_amount("S1", "3000.00", stay, PINGHU.benefit) == D("3000.00")
    with pytest.raises(InvalidSettlement) as refused:
        eligible_amount("S1", "2500.00", stay, PINGHU.benefit)
    assert refused.value.field == "eligible_self_paid"
    assert "2500.00 given, but the policy counts 3000.00" in refused.value.reason


def test_neither_the_eligible_amount_nor_components_is_refused() -> None:
    with pytest.raises(InvalidSettlement) as refused:
        eligible_amount("S1", None, settlement(), PINGHU.benefit)
    assert refused.value.field == "eligible_self_paid"


def test_a_component_the_policy_counts_must_be_given() -> None:
    rule = counting(policy_self_paid="1", out_of_catalogue="0.5")
    with pytest.raises(InvalidSettlement) as refused:
        eligible_amount("S1", None, settlement(policy_self_paid="3000.00"), rule)
    assert refused.value.field == "out_of_catalogue"


def test_components_counting_to_nothing_give_no_claim() -> None:
    with pytest.raises(InvalidAmount):
        eligible_amount("S1", None, settlement(policy_self_paid="0.00"), PINGHU.benefit)


@pytest.mark.parametrize(
    ("components", "field", "reason"),
    [
        (
            {"policy_self_paid": "3000.00", "out_of_catalogue": "1000.01"},
            "out_of_catalogue",
            "add up to 10000.01, more than the total cost 10000.00",
        ),
        ({"policy_self_paid": "4000.01"}, "policy_self_paid", "more than the total cost"),
        (
            {"policy_self_paid": "300.00", "insurance_deductible": "600.00"},
            "insurance_deductible",
            "the insurance deductible 600.00 exceeds the policy self-pay it is part of (300.00)",
        ),
        ({"policy_self_paid": "-1.00"}, "policy_self_paid", "is negative"),
    ],
)
def test_inconsistent_components_are_refused_naming_the_field(
    components: dict[str, str], field: str, reason: str
) -> None:
    with pytest.raises(InvalidSettlement) as refused:
        settlement(**components).check("S1", D("100.00"))
    assert refused.value.field == field
    assert reason in refused.value.reason


@given(
    policy=cents(0, 4000_00),
    outside=cents(0, 4000_00),
    share=st.sampled_from(["0", "0.3", "0.5", "1"]),
)
def test_what_the_policy_counts_never_exceeds_what_insurance_left_to_pay(
    policy: Decimal, outside: Decimal, share: str
) -> None:
    assume(policy + outside <= D("4000.00"))  # parts within the total: the check holds them so
    stay = settlement(policy_self_paid=str(policy), out_of_catalogue=str(outside))
    base = counting(policy_self_paid="1", out_of_catalogue=share).eligible_base(stay.components)
    assert D(0) <= base <= stay.total_cost - stay.insurance_paid
    if base > 0:
        stay.check("S1", base)  # what a policy counts of consistent parts passes the check
