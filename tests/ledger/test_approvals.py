"""One approval at a time, on both backends: the scheme kept across commands is never decided
on once it has changed, and the claim's member is found without building the claim index.

"Another process" is a second application on the same ledger. Where it acts "while" an
approval commits, it runs after the approval has decided and before its save: the approval
must then be refused, or decided again on the ledger as it then stands, never recorded as
decided."""

from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError
from recorded import events_less_refusals
from rosters import import_roster, roster_line
from varied_policies import pinghu_varied

from domain.errors import DutyRefused, LedgerError, PeriodNotOpen
from domain.member import Member, claim_uuid
from domain.policy import Policy
from domain.scheme import CountyResult, Scheme
from ledger.application.app import MutualAidLedger
from ledger.application.books import Books
from ledger.application.policies import load_preset

ON = date(2025, 3, 1)
ON2 = date(2026, 1, 31)


@pytest.fixture
def other(db: str, books: Books) -> Iterator[Books]:
    """The same ledger as `books`, opened by another process."""
    other = Books(db)
    yield other
    other.close()


def before_saving(
    monkeypatch: pytest.MonkeyPatch, app: MutualAidLedger, act: Callable[[], Any]
) -> None:
    """Run `act` once, when `app` next saves: after its command has decided, before it commits."""
    save = app.save

    def acting_first(*objs: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(app, "save", save)
        act()
        return save(*objs, **kwargs)

    monkeypatch.setattr(app, "save", acting_first)


def claims(books: Books, enrol: Callable[..., None], n: int) -> list[str]:
    """A claim of each of n members, submitted; the first approved, so that the scheme is
    kept by the approving application."""
    ids = []
    for k in range(n):
        enrol(f"m{k}")
        ids.append(books.app.submit_claim(f"m{k}", 1, "20000.00", "clerk", ON))
    books.app.approve_claim(ids[0], "approver", ON)
    return ids


def status(books: Books, member: str, claim: str) -> str:
    return books.app.member(member).claim(claim).status


def test_a_role_revoked_by_another_process_refuses_the_next_approval(
    books: Books, other: Books, enrol: Callable[..., None]
) -> None:
    ids = claims(books, enrol, 2)
    other.app.revoke_role("approver", "approver", "admin", ON)
    with pytest.raises(DutyRefused, match="needs the approver role"):
        books.app.approve_claim(ids[1], "approver", ON)
    assert status(books, "m1", ids[1]) == "submitted"


def test_a_role_revoked_while_an_approval_commits_refuses_it(
    monkeypatch: pytest.MonkeyPatch, books: Books, other: Books, enrol: Callable[..., None]
) -> None:
    """The approver held the role when the approval was decided, not when it would commit:
    the store refuses the save, and the approval, decided again, is refused."""
    ids = claims(books, enrol, 2)
    revoke = lambda: other.app.revoke_role("approver", "approver", "admin", ON)  # noqa: E731
    before_saving(monkeypatch, books.app, revoke)
    before = events_less_refusals(books.app)
    with pytest.raises(DutyRefused, match="needs the approver role"):
        books.app.approve_claim(ids[1], "approver", ON)
    assert events_less_refusals(books.app) == before + 1  # the revocation
    assert status(books, "m1", ids[1]) == "submitted"


def test_a_payout_decided_before_a_role_was_revoked_is_refused(
    monkeypatch: pytest.MonkeyPatch, books: Books, other: Books, enrol: Callable[..., None]
) -> None:
    """A payout posts into no period: only the scheme's version stops it."""
    ids = claims(books, enrol, 1)
    books.app.make_payout(ids[0], "10.00", "B-1", "cashier", ON)
    revoke = lambda: other.app.revoke_role("cashier", "cashier", "admin", ON)  # noqa: E731
    before_saving(monkeypatch, books.app, revoke)
    with pytest.raises(DutyRefused, match="needs the cashier role"):
        books.app.make_payout(ids[0], "10.00", "B-2", "cashier", ON)
    assert list(books.app.member("m0").claim(ids[0]).payouts) == ["B-1"]


def test_a_period_closed_by_another_process_refuses_the_next_approval(
    books: Books, other: Books, enrol: Callable[..., None]
) -> None:
    ids = claims(books, enrol, 2)
    other.close_period(1, "approver", ON2)
    with pytest.raises(PeriodNotOpen):
        books.app.approve_claim(ids[1], "approver", ON)
    assert status(books, "m1", ids[1]) == "submitted"


def test_a_period_closed_while_an_approval_commits_refuses_it(
    monkeypatch: pytest.MonkeyPatch, books: Books, other: Books, enrol: Callable[..., None]
) -> None:
    ids = claims(books, enrol, 2)
    before_saving(monkeypatch, books.app, lambda: other.close_period(1, "approver", ON2))
    with pytest.raises(PeriodNotOpen):
        books.app.approve_claim(ids[1], "approver", ON)
    assert status(books, "m1", ids[1]) == "submitted"
    assert books.app.scheme().period(1).closed


def test_two_processes_approving_for_one_member_stay_within_the_cap(
    monkeypatch: pytest.MonkeyPatch, db: str, staff: Callable[[MutualAidLedger], None]
) -> None:
    """The other process approves the member's second claim while the first is decided; the
    first, decided again on the member as it then stands, gets what the cap leaves."""
    books = Books(db)
    books.app.create_scheme("Nanyang", "nanyang", {"C1": "Wolong"}, "admin", ON)
    staff(books.app)
    nanyang = load_preset("nanyang").policy_for(1)
    books.app.open_period(1, date(2025, 1, 1), date(2025, 12, 31), nanyang, "approver", ON)
    import_roster(books, roster_line("m1", on=ON))
    first = books.app.submit_claim("m1", 1, "150000.00", "clerk", ON)
    second = books.app.submit_claim("m1", 1, "150000.00", "clerk", ON)
    other = MutualAidLedger(db)
    try:
        books.app.scheme()
        before_saving(monkeypatch, books.app, lambda: other.approve_claim(second, "approver", ON))
        calculation = books.app.approve_claim(first, "approver", ON)
    finally:
        other.close()
    member = books.app.member("m1")
    assert member.claim(second).approved == Decimal("74500.00")  # alone, as if no cap
    assert calculation.benefit == member.claim(first).approved == Decimal("25500.00")
    assert calculation.cap_applied
    assert member.enrolment(1).approved == Decimal("100000.00")
    books.close()


def test_the_scheme_is_replayed_only_once_it_has_changed(
    monkeypatch: pytest.MonkeyPatch, books: Books, other: Books, enrol: Callable[..., None]
) -> None:
    """Approvals replay the member, not the scheme they keep, nor the claim index."""
    ids = claims(books, enrol, 4)
    replayed: list[UUID] = []
    get = books.app.repository.get

    def replaying(aggregate_id: UUID, **kwargs: Any) -> Any:
        replayed.append(aggregate_id)
        return get(aggregate_id, **kwargs)

    monkeypatch.setattr(books.app.repository, "get", replaying)
    books.app.approve_claim(ids[1], "approver", ON)
    assert replayed == [Member.create_id("m1")]
    other.app.grant_role("approver", "cashier", "admin", ON)
    books.app.approve_claim(ids[2], "approver", ON)
    assert replayed[1:] == [Scheme.create_id(), Member.create_id("m2")]
    books.app.approve_claim(ids[3], "approver", ON)
    assert replayed[3:] == [Member.create_id("m3")]
    assert claim_uuid(ids[3]) not in replayed


def test_a_query_reads_the_scheme_as_another_process_left_it(books: Books, other: Books) -> None:
    assert list(books.app.scheme().periods) == [1]
    policy = load_preset("pinghu").policy_for(2)
    other.app.open_period(2, date(2026, 1, 1), date(2026, 12, 31), policy, "approver", ON)
    assert list(books.app.scheme().periods) == [1, 2]
    assert books.app.scheme().version == other.app.scheme().version


def test_a_close_refused_by_the_store_leaves_the_kept_scheme_as_stored(
    books: Books, enrol: Callable[..., None]
) -> None:
    """A command that changes the scheme changes a copy of its own: refused, it leaves the
    scheme every later command decides on as it is stored."""
    ids = claims(books, enrol, 2)
    nothing = CountyResult(Decimal("0.00"), Decimal("0.00"))
    with pytest.raises(IntegrityError):
        books.app.close_period(1, dict.fromkeys(["C1", "C2"], nothing), 0, "approver", ON2)
    assert not books.app.scheme().period(1).closed
    books.app.approve_claim(ids[1], "approver", ON)
    assert status(books, "m1", ids[1]) == "approved"


def test_a_hardship_member_is_approved_up_to_the_groups_own_cap(
    under: Callable[[Policy], Books],
) -> None:
    """Weihai raised the cap of hardship families from 5,000 to 10,000."""
    policy = pinghu_varied(
        "hardship-cap", annual_cap="5000.00", group_caps={"hardship": "10000.00"}
    )
    books = under(policy)
    import_roster(books, roster_line("poor", group="hardship"), roster_line("other"))
    on = date(2025, 3, 1)
    for member in ("poor", "other"):
        for n in (1, 2):
            books.app.submit_claim(member, 1, "20000", "clerk", on, f"{member}-{n}")
    benefits = {
        member: books.app.approve_claim(f"{member}-1", "approver", on).benefit
        for member in ("poor", "other")
    }
    assert benefits == {"poor": Decimal("10000.00"), "other": Decimal("5000.00")}
    with pytest.raises(LedgerError, match=r"annual cap of 10000\.00 is used up"):
        books.app.approve_claim("poor-2", "approver", on)
    with pytest.raises(LedgerError, match=r"annual cap of 5000\.00 is used up"):
        books.app.approve_claim("other-2", "approver", on)
    stored = [e for e in books.app.events.get(Scheme.create_id()) if hasattr(e, "policy")]
    assert stored[0].policy["benefit"]["group_caps"] == {"hardship": "10000.00"}
