"""Eligibility at enrolment as policy data: a period's policy may enrol only members its
roster attests are insured under the employees' basic medical insurance, union members,
or of a registered unit; what the roster attests is recorded with the enrolment."""

from collections.abc import Callable
from datetime import date

import pytest
from sample_policies import PINGHU

from domain.errors import FieldError
from domain.member import Eligibility, Member
from domain.policy import Policy
from domain.scheme import Period, Scheme

ON = date(2025, 1, 5)


def requiring(*names: str) -> Policy:
    data = PINGHU.model_dump(mode="json")
    data["eligibility"] = list(names)
    return Policy.model_validate(data)


@pytest.fixture
def strict(open_scheme: Callable[..., Scheme]) -> Period:
    """Pinghu period 1, enrolling only insured union members."""
    return open_scheme(policy=requiring("insured", "union_member")).period(1)


def enrol(period: Period, eligibility: Eligibility) -> Member:
    member = Member.register("M1", "alice", ON)
    member.collect_events()
    member.enrol(period, "C1", "U1", None, "alice", ON, eligibility=eligibility)
    return member


def test_a_member_the_roster_attests_eligible_is_enrolled_with_what_it_attests(
    strict: Period,
) -> None:
    member = enrol(strict, Eligibility(insured=True, union_member=True, unit_registered=False))
    [enrolled] = member.collect_events()
    assert (enrolled.insured, enrolled.union_member, enrolled.unit_registered) == (
        True,
        True,
        False,
    )


@pytest.mark.parametrize(
    ("eligibility", "field", "says"),
    [
        (Eligibility(union_member=True), "insured", "the roster does not say"),
        (Eligibility(insured=True, union_member=False), "union_member", "the roster says no"),
    ],
)
def test_a_member_not_attested_eligible_is_refused_naming_what_is_missing(
    strict: Period, eligibility: Eligibility, field: str, says: str
) -> None:
    member = Member.register("M1", "alice", ON)
    member.collect_events()
    with pytest.raises(FieldError, match=says) as refused:
        member.enrol(strict, "C1", "U1", None, "alice", ON, eligibility=eligibility)
    assert refused.value.field == field
    assert str(refused.value).startswith("member 'M1': period 1 enrols only ")
    assert member.collect_events() == [] and member.enrolments == {}


def test_a_policy_that_requires_nothing_enrols_whatever_the_roster_attests(
    open_scheme: Callable[..., Scheme],
) -> None:
    member = enrol(open_scheme().period(1), Eligibility(insured=False))
    [enrolled] = member.collect_events()
    assert enrolled.insured is False and member.enrolment(1).county == "C1"


def test_policies_recorded_before_eligibility_are_written_as_they_were() -> None:
    assert "eligibility" not in PINGHU.model_dump(mode="json")
    assert requiring("unit_registered").model_dump(mode="json")["eligibility"] == [
        "unit_registered"
    ]
    with pytest.raises(ValueError, match="eligibility"):
        requiring("retired")
