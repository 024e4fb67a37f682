"""Duties: each command needs a role, admins alone grant and revoke roles, and whoever
submitted a claim does not decide it. Pure: aggregates only, no database."""

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from domain.duties import ADMIN, AUDITOR, BOARD, DUTIES, POLICY, ROLES
from domain.errors import DutyRefused, LedgerError
from domain.member import Member
from domain.scheme import Period, Scheme

OpenScheme = Callable[..., Scheme]
PaidUpMember = Callable[..., Member]
ON = date(2025, 6, 1)


def staffed_scheme() -> Scheme:
    """A scheme "root" created, with "wang" a clerk and "li" an approver."""
    scheme = Scheme("Pinghu", "pinghu", {"C1": "A"}, "root", date(2025, 1, 1))
    scheme.grant_role("wang", "clerk", "root", ON)
    scheme.grant_role("li", "approver", "root", ON)
    return scheme


def replayed(events: list[Any]) -> Any:
    """The aggregate as the store rebuilds it: its events applied in order to nothing."""
    aggregate: Any = None
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


# Roles and the commands they allow


def test_whoever_creates_the_scheme_is_its_first_admin() -> None:
    scheme = Scheme("Pinghu", "pinghu", {"C1": "A"}, "root", date(2025, 1, 1))
    assert scheme.roles == {"root": {ADMIN}}


@pytest.mark.parametrize("command", sorted(DUTIES))
def test_each_command_is_allowed_with_its_role_and_refused_with_any_other(command: str) -> None:
    duty = DUTIES[command]
    scheme = Scheme("Pinghu", "pinghu", {"C1": "A"}, "root", date(2025, 1, 1))
    for role in ROLES:
        if role != ADMIN:
            scheme.grant_role(role, role, "root", ON)
    scheme.require_duty(duty.role if duty.role != ADMIN else "root", command)
    for role in ROLES:
        if role != duty.role and role != ADMIN:
            with pytest.raises(DutyRefused) as refused:
                scheme.require_duty(role, command)
            assert str(refused.value) == (
                f"{role} may not {duty.action}: that needs the {duty.role} role "
                f"({role} has: {role})"
            )
            assert (refused.value.user, refused.value.command) == (role, command)


@pytest.mark.parametrize("role", [AUDITOR, BOARD])
def test_auditors_and_board_members_may_only_read(role: str) -> None:
    assert all(duty.role != role for duty in DUTIES.values())


def test_a_refusal_names_the_user_the_command_and_the_roles_they_hold() -> None:
    scheme = staffed_scheme()
    with pytest.raises(DutyRefused) as refused:
        scheme.require_duty("wang", "approve_claim")
    assert str(refused.value) == (
        "wang may not approve claims: that needs the approver role (wang has: clerk)"
    )
    with pytest.raises(DutyRefused, match=r"^zhao may not make payouts: .* \(zhao has no role\)$"):
        scheme.require_duty("zhao", "make_payout")


def test_a_user_may_hold_several_roles() -> None:
    scheme = staffed_scheme()
    scheme.grant_role("wang", "cashier", "root", ON)
    scheme.require_duty("wang", "submit_claim")
    scheme.require_duty("wang", "make_payout")
    with pytest.raises(DutyRefused, match=r"\(wang has: cashier, clerk\)"):
        scheme.require_duty("wang", "close_period")


# Granting and revoking


def test_a_grant_records_the_user_role_actor_and_date() -> None:
    scheme = Scheme("Pinghu", "pinghu", {"C1": "A"}, "root", date(2025, 1, 1))
    scheme.collect_events()
    scheme.grant_role(" wang ", "clerk", "root", ON)
    [granted] = scheme.collect_events()
    assert type(granted).__name__ == "RoleGranted"
    assert (granted.user, granted.role, granted.actor, granted.effective_date) == (
        "wang",
        "clerk",
        "root",
        ON,
    )


def test_only_an_admin_grants_or_revokes_roles() -> None:
    scheme = staffed_scheme()
    scheme.collect_events()
    with pytest.raises(DutyRefused, match=r"^li may not grant roles: that needs the admin role"):
        scheme.grant_role("li", "cashier", "li", ON)
    with pytest.raises(DutyRefused, match=r"^li may not revoke roles: that needs the admin role"):
        scheme.revoke_role("wang", "clerk", "li", ON)
    assert list(scheme.collect_events()) == []
    scheme.grant_role("li", "admin", "root", ON)
    scheme.grant_role("li", "cashier", "li", ON)
    assert scheme.roles["li"] == {"admin", "approver", "cashier"}


def test_a_revoked_role_no_longer_allows_its_commands() -> None:
    scheme = staffed_scheme()
    scheme.require_duty("wang", "enrol")
    scheme.collect_events()
    scheme.revoke_role("wang", "clerk", "root", ON)
    [revoked] = scheme.collect_events()
    assert type(revoked).__name__ == "RoleRevoked"
    assert (revoked.user, revoked.role, revoked.actor) == ("wang", "clerk", "root")
    with pytest.raises(DutyRefused, match=r"^wang may not enrol members: .*\(wang has no role\)"):
        scheme.require_duty("wang", "enrol")
    assert "wang" not in scheme.roles


@pytest.mark.parametrize(
    ("user", "role", "message"),
    [
        ("wang", "treasurer", "unknown role 'treasurer' (roles: admin, clerk, approver, "),
        ("wang", "clerk", "wang already has the clerk role"),
        ("  ", "clerk", "a role is granted to a named user"),
        (POLICY, "approver", "'policy' names the policy's own decisions"),
    ],
)
def test_grants_that_make_no_sense_are_refused(user: str, role: str, message: str) -> None:
    scheme = staffed_scheme()
    with pytest.raises(LedgerError) as refused:
        scheme.grant_role(user, role, "root", ON)
    assert message in str(refused.value)
    assert not isinstance(refused.value, DutyRefused)


def test_revoking_a_role_not_held_or_the_last_admin_is_refused() -> None:
    scheme = staffed_scheme()
    with pytest.raises(LedgerError, match="li does not have the clerk role"):
        scheme.revoke_role("li", "clerk", "root", ON)
    with pytest.raises(LedgerError, match="root is the only admin: grant admin to another"):
        scheme.revoke_role("root", "admin", "root", ON)
    scheme.grant_role("li", "admin", "root", ON)
    scheme.revoke_role("root", "admin", "li", ON)
    assert "root" not in scheme.roles


def test_the_policy_cannot_create_a_scheme() -> None:
    with pytest.raises(LedgerError, match="must be a named user"):
        Scheme.create("Pinghu", "pinghu", {"C1": "A"}, POLICY, ON)


def test_replaying_the_events_gives_the_same_roles() -> None:
    scheme = staffed_scheme()
    scheme.grant_role("zhao", "cashier", "root", ON)
    scheme.revoke_role("li", "approver", "root", ON)
    scheme.grant_role("li", "board", "root", ON)
    again = replayed(list(scheme.collect_events()))
    assert isinstance(again, Scheme)
    assert (
        again.roles
        == scheme.roles
        == {
            "root": {"admin"},
            "wang": {"clerk"},
            "zhao": {"cashier"},
            "li": {"board"},
        }
    )


# Four eyes on claims


@pytest.fixture
def period(open_scheme: OpenScheme) -> Period:
    return open_scheme("pinghu").period(1)


@pytest.fixture
def member(period: Period, paid_up_member: PaidUpMember) -> Member:
    """A paid-up member with claim K1 (20,000 eligible) submitted by wang."""
    member = paid_up_member(period)
    member.submit_claim("K1", period, "20000", "wang", ON)
    member.collect_events()
    return member


def test_whoever_submitted_a_claim_cannot_approve_it(member: Member, period: Period) -> None:
    with pytest.raises(DutyRefused) as refused:
        member.approve_claim("K1", period, "wang", ON)
    assert str(refused.value) == "wang may not approve claim K1: wang submitted it"
    assert (refused.value.user, refused.value.command) == ("wang", "approve_claim")
    assert list(member.collect_events()) == []
    assert member.approve_claim("K1", period, "li", ON).benefit > 0


def test_whoever_submitted_a_claim_cannot_reject_it(member: Member) -> None:
    with pytest.raises(DutyRefused, match=r"^wang may not reject claim K1: wang submitted it$"):
        member.reject_claim("K1", "not covered", "wang", ON)
    assert list(member.collect_events()) == []
    member.reject_claim("K1", "not covered", "li", ON)
    assert member.claim("K1").status == "rejected"


def test_the_submitter_is_remembered_when_the_member_is_replayed(period: Period) -> None:
    member = Member("M1", "wang", period.start)
    member.enrol(period, "C1", "U1", None, "wang", period.start)
    member.pay_premium(1, dict(period.policy.funding), "R-1", "wang", period.start)
    member.submit_claim("K1", period, "20000", "wang", ON)
    again = replayed(list(member.collect_events()))
    assert isinstance(again, Member)
    with pytest.raises(DutyRefused, match="wang submitted it"):
        again.approve_claim("K1", period, "wang", ON)


def test_adjudication_on_import_is_the_policys_decision_not_the_submitters(
    period: Period, paid_up_member: PaidUpMember
) -> None:
    member = paid_up_member(period)
    member.submit_claim("K1", period, "20000", "wang", ON)
    member.submit_claim("K2", period, "500", "wang", ON)
    member.collect_events()
    assert member.adjudicate_claim("K1", period, ON).benefit > 0
    member.adjudicate_claim("K2", period, ON)
    approved, rejected = member.collect_events()
    assert (type(approved).__name__, approved.actor) == ("ClaimApproved", POLICY)
    assert (type(rejected).__name__, rejected.actor) == ("ClaimRejected", POLICY)
