"""Builders for the domain tests: aggregates used directly, no application or database.

The fixtures are session-scoped factories (each call builds fresh aggregates), so the
Hypothesis tests can use them too. Their policies are the tests' own (sample_policies).
"""

from collections.abc import Callable
from datetime import date

import pytest
from sample_policies import POLICIES

from domain.member import Member
from domain.policy import Policy
from domain.scheme import Period, Scheme

CLERK = "alice"


def period_start(number: int) -> date:
    """Period n is the calendar year 2024 + n: period 1 is 2025."""
    return date(2024 + number, 1, 1)


@pytest.fixture(scope="session")
def open_scheme() -> Callable[..., Scheme]:
    """A scheme with its periods open (each a calendar year) and no pending events, each
    period under the given policy, else the sample policy of the scheme named."""

    def open_scheme(
        preset: str = "pinghu",
        counties: tuple[str, ...] = ("C1", "C2"),
        periods: tuple[int, ...] = (1,),
        policy: Policy | None = None,
    ) -> Scheme:
        scheme = Scheme(
            preset.title(), preset, {c: f"County {c}" for c in counties}, CLERK, period_start(1)
        )
        for number in periods:
            start = period_start(number)
            scheme.open_period(
                number,
                start,
                date(start.year, 12, 31),
                policy or POLICIES[preset],
                CLERK,
                start,
            )
        scheme.collect_events()
        return scheme

    return open_scheme


@pytest.fixture(scope="session")
def paid_up_member() -> Callable[..., Member]:
    """A member enrolled in a period with the whole premium paid, and no pending events."""

    def paid_up_member(
        period: Period, member_id: str = "M1", county: str = "C1", group: str | None = None
    ) -> Member:
        member = Member.register(member_id, CLERK, period.start)
        member.enrol(period, county, "U1", group, CLERK, period.start)
        amounts: dict[str, object] = dict(period.policy.funding)
        member.pay_premium(period.number, amounts, f"R-{member_id}", CLERK, period.start)
        member.collect_events()
        return member

    return paid_up_member
