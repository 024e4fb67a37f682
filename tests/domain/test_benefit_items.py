"""Benefit items besides the main one: each with its own rule and its own cap, paid by bands
of an eligible amount, by the day in hospital, or as a lump sum."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sample_policies import PINGHU

from domain.errors import FieldError
from domain.member import Member, Settlement
from domain.policy import Policy
from domain.scheme import Scheme

OpenScheme = Callable[..., Scheme]
PaidUpMember = Callable[..., Member]
D = Decimal
ON = date(2025, 3, 1)
ITEMS: dict[str, Any] = {
    "hospital_allowance": {
        "title": "住院津贴 Hospital allowance",
        "pays": "per_day",
        "per_day": "40.00",
        "max_days": 30,
        "annual_cap": "1000.00",
    },
    "condolence": {"title": "慰问金 Condolence", "pays": "lump_sum", "lump_sum": "500.00"},
    "chronic_outpatient": {
        "title": "慢特病门诊 Chronic outpatient",
        "pays": "bands",
        "deductible": "1000.00",
        "bands": [{"lower": "1000.00", "upper": "5000.00", "rate": "0.5"},
                  {"lower": "5000.00", "rate": "0.8"}],
        "annual_cap": "3000.00",
    },
}  # fmt: skip


def with_items(**items: Any) -> Policy:
    data = PINGHU.model_dump(mode="json")
    return Policy.model_validate({**data, "version": "with-items", "items": items})


def claim(member: Member, period: Any, item: str | None, eligible: object, days: int | None) -> D:
    """Submit a claim of the item and approve it: its benefit."""
    claim_id = f"K{len(member.claims) + 1}"
    member.submit_claim(claim_id, period, eligible, "alice", ON, item=item, days=days)
    return member.approve_claim(claim_id, period, "bob", ON).benefit


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"title": "T", "pays": "per_day"}, "an item that pays per_day needs its per_day"),
        (
            {"title": "T", "pays": "lump_sum", "lump_sum": "1", "per_day": "1"},
            "an item that pays lump_sum has no per_day",
        ),
        (
            {
                "title": "T",
                "pays": "bands",
                "deductible": "100",
                "bands": [{"lower": "0", "rate": "0.5"}],
            },
            "bands: the first band must start at 100",
        ),
        ({"title": "T", "pays": "per_day", "per_day": "40", "max_days": 0}, "greater than or"),
    ],
)
def test_an_item_that_does_not_say_how_it_pays_is_refused(item: Any, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        with_items(allowance=item)


def test_the_main_rules_code_and_odd_codes_are_no_item_codes() -> None:
    for code in ("inpatient", "Allowance", "day-pay"):
        with pytest.raises(ValueError, match=f"item code '{code}'"):
            with_items(**{code: ITEMS["condolence"]})


def test_a_policy_without_items_is_recorded_as_before_they_existed() -> None:
    assert "items" not in PINGHU.model_dump(mode="json")
    assert "items" in with_items(**ITEMS).model_dump(mode="json")


def test_each_item_pays_its_own_way_within_its_own_cap(
    open_scheme: OpenScheme, paid_up_member: PaidUpMember
) -> None:
    period = open_scheme(policy=with_items(**ITEMS)).period(1)
    member = paid_up_member(period)
    assert claim(member, period, "hospital_allowance", None, 12) == D("480.00")  # 12 x 40
    assert claim(member, period, "hospital_allowance", None, 45) == D("520.00")  # 30 days, cap
    assert claim(member, period, "condolence", None, None) == D("500.00")
    assert claim(member, period, "chronic_outpatient", "6000", None) == D("2800.00")
    assert claim(member, period, "chronic_outpatient", "6000", None) == D("200.00")  # cap 3000
    # the main benefit's cap (none in Pinghu) and bands are untouched by the items
    assert claim(member, period, None, "2000", None) == D("280.00")
    enrolment = member.enrolment(1)
    assert enrolment.approved == D("280.00")
    assert dict(enrolment.approved_items) == {
        "hospital_allowance": D("1000.00"),
        "condolence": D("500.00"),
        "chronic_outpatient": D("3000.00"),
    }


def test_a_per_day_claim_counts_its_days_from_the_stay(
    open_scheme: OpenScheme, paid_up_member: PaidUpMember
) -> None:
    period = open_scheme(policy=with_items(**ITEMS)).period(1)
    member = paid_up_member(period)
    stay = Settlement("JS-1", date(2025, 2, 20), ON, D("9000"), D("6000"))
    member.submit_claim("JS-1", period, None, "alice", ON, stay, ON, item="hospital_allowance")
    assert (member.claim("JS-1").days, member.claim("JS-1").eligible) == (9, D("360.00"))


@pytest.mark.parametrize(
    ("item", "eligible", "days", "field", "reason"),
    [
        ("dental", "100", None, "item", "'dental' is no benefit item of the policy"),
        ("condolence", "100", None, "eligible_self_paid", "pays a lump sum, on no eligible"),
        ("condolence", None, 3, "days", "only a per-day item's claim gives days"),
        (None, "2000", 3, "days", "only a per-day item's claim gives days"),
        ("chronic_outpatient", "2000", 3, "days", "only a per-day item's claim gives days"),
        ("hospital_allowance", "100", 3, "eligible_self_paid", "pays by the day in hospital"),
        ("hospital_allowance", None, None, "days", "needs the days in hospital, from 1 to 366"),
        ("hospital_allowance", None, 0, "days", "needs the days in hospital"),
        ("chronic_outpatient", None, None, "eligible_self_paid", "give the eligible self-paid"),
    ],
)
def test_a_claim_that_does_not_fit_its_item_is_refused_naming_the_field(
    open_scheme: OpenScheme,
    paid_up_member: PaidUpMember,
    item: str | None,
    eligible: object,
    days: int | None,
    field: str,
    reason: str,
) -> None:
    period = open_scheme(policy=with_items(**ITEMS)).period(1)
    member = paid_up_member(period)
    with pytest.raises(FieldError, match=reason) as refused:
        member.submit_claim("K1", period, eligible, "alice", ON, item=item, days=days)
    assert refused.value.field == field
    assert member.claims == {} and member.collect_events() == []


@settings(max_examples=200, deadline=None)
@given(
    per_day=st.integers(1, 20_000).map(lambda n: D(n).scaleb(-2)),
    max_days=st.none() | st.integers(1, 90),
    cap=st.none() | st.integers(1, 5_000_00).map(lambda n: D(n).scaleb(-2)),
    stays=st.lists(st.integers(1, 366), min_size=1, max_size=6),
)
def test_per_day_claims_are_paid_by_the_day_within_the_items_cap(
    open_scheme: OpenScheme,
    paid_up_member: PaidUpMember,
    per_day: D,
    max_days: int | None,
    cap: D | None,
    stays: list[int],
) -> None:
    allowance = {"title": "T", "pays": "per_day", "per_day": str(per_day), "max_days": max_days}
    policy = with_items(allowance={**allowance, "annual_cap": None if cap is None else str(cap)})
    period = open_scheme(policy=policy).period(1)
    member = paid_up_member(period)
    paid = D(0)
    for n, days in enumerate(stays):
        due = per_day * (days if max_days is None else min(days, max_days))
        left = due if cap is None else min(due, cap - paid)
        member.submit_claim(f"K{n}", period, None, "alice", ON, item="allowance", days=days)
        if left <= 0:
            assert member.assess_claim(f"K{n}", period.policy.rule_for("allowance")).benefit == 0
            continue
        assert member.approve_claim(f"K{n}", period, "bob", ON).benefit == left
        paid += left
    assert member.enrolment(1).approved_items.get("allowance", D(0)) == paid
    assert member.enrolment(1).approved == 0
