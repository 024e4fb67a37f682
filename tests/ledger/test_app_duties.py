"""Duties on both backends: every command refused without its role and allowed with it; a
refusal records no event, only a row in `refused_commands`."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from recorded import events_less_refusals

from domain.duties import DUTIES, POLICY
from domain.errors import ClaimError, DutyRefused, LedgerError, PeriodError
from domain.member import Member, member_uuid
from ledger.application.books import Books
from ledger.application.feeds import import_feed, import_records
from ledger.application.policies import load_preset
from ledger.application.records import PayoutResultRecord
from ledger.reports.payments import export_notifications, export_payouts
from ledger.store.refusals import RefusedCommand

ON = date(2025, 3, 1)
RECEIVED = date(2025, 3, 12)  # the day a claims feed arrives: after its discharges of 2025-03-10
USER_OF_ROLE = {"admin": "admin", "clerk": "clerk", "approver": "approver", "cashier": "cashier"}
CLAIM_HEADER = (
    "settlement_no,member_id,admitted_on,discharged_on,total_cost,insurance_paid,eligible_self_paid"
)


def events(books: Books) -> int:
    return events_less_refusals(books.app)


def refusals(books: Books) -> list[RefusedCommand]:
    return books.app.refusals()


def feed(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def ready(books: Books, enrol: Callable[..., None]) -> Books:
    """Something for every command to act on: m1 paid up with claims S-1 and S-2 submitted,
    S-3 approved and S-4 approved and paid under B-4, S-5 approved by a second approver (li)
    and appealed, S-6 paid and then reversed by li, its payment to recover; m2 enrolled,
    nothing paid."""
    enrol("m1")
    books.app.enrol("m2", 1, "C1", "U1", None, "clerk", ON)
    books.app.grant_role("li", "approver", "admin", ON)
    for claim in ("S-1", "S-2", "S-3", "S-4", "S-5", "S-6"):
        books.app.submit_claim("m1", 1, "2000.00", "clerk", ON, claim_id=claim)
    for claim in ("S-3", "S-4", "S-6"):
        books.app.approve_claim(claim, "approver", ON)
    books.app.make_payout("S-4", None, "B-4", "cashier", ON)
    books.app.approve_claim("S-5", "li", ON)
    books.app.appeal_claim("S-5", "the member disputes the amount", "clerk", ON)
    books.app.make_payout("S-6", None, "B-6", "cashier", ON)
    books.app.correct_claim("S-6", None, True, "duplicate settlement", "li", ON)
    return books


Command = Callable[[Books, str, Path], object]


def leave_c2(books: Books, user: str, _: Path) -> object:
    """C2 leaves after period 1, closed first where the user may settle it (C2 has nothing
    of its own, so nothing is transferred)."""
    if user == USER_OF_ROLE["admin"]:
        books.close_period(1, "approver", date(2026, 1, 31))
    return books.leave_county("C2", 1, "", user, date(2026, 2, 1))


def pro_rate(books: Books, user: str, _: Path) -> object:
    """Period 1 pro-rated, where the user may, once all of it is settled: the undecided
    claims rejected, the appeal decided, the bank's results in."""
    if user == USER_OF_ROLE["approver"]:
        for claim in ("S-1", "S-2"):
            books.app.reject_claim(claim, "no receipt", "approver", ON)
        books.app.reassess_claim("S-5", None, "looked again", "approver", ON)
        results = [
            PayoutResultRecord(bank_reference=ref, status="paid", reason=None, reported_on=ON)
            for ref in ("B-4", "B-6")
        ]
        import_records(books, "payout-results", results, "cashier")
    return books.pro_rate(1, Decimal("0.5"), "BOARD-1", user, date(2026, 1, 10))


def release_carried(books: Books, user: str, _: Path) -> object:
    """Past the role, refused on substance: Pinghu's period 1, never pro-rated, has nothing
    carried (a release itself is tested in tests/ledger/test_pro_rating.py)."""
    if user != USER_OF_ROLE["approver"]:
        return books.release_carried(1, 2, "BOARD-2", user, date(2026, 2, 1))
    with pytest.raises(PeriodError, match="not pro-rated: nothing is carried"):
        books.release_carried(1, 2, "BOARD-2", user, date(2026, 2, 1))
    return None


def seal_history(books: Books, user: str, _: Path) -> object:
    """Past the role, refused on substance: every event has its link (a seal itself is
    tested in tests/store/test_chain.py)."""
    if user != USER_OF_ROLE["admin"]:
        return books.app.seal_history("verified by shen", user, ON)
    with pytest.raises(LedgerError, match="nothing to seal"):
        books.app.seal_history("verified by shen", user, ON)
    return None


COMMANDS: dict[str, tuple[str, Command]] = {
    # the command: (a user without its role, the command run by a user)
    "grant_role": ("clerk", lambda b, user, _: b.app.grant_role("wang", "clerk", user, ON)),
    "revoke_role": ("cashier", lambda b, user, _: b.app.revoke_role("clerk", "clerk", user, ON)),
    "issue_token": ("clerk", lambda b, user, _: b.app.issue_token("cashier", user)),
    "revoke_token": ("approver", lambda b, user, _: b.app.revoke_tokens("cashier", user)),
    "enrol": ("cashier", lambda b, user, _: b.app.enrol("m3", 1, "C2", "U2", None, user, ON)),
    "pay_premium": (
        "approver",
        lambda b, user, _: b.app.pay_premium("m2", 1, {"worker": "1.00"}, "R-9", user, ON),
    ),
    "submit_claim": ("approver", lambda b, user, _: b.app.submit_claim("m1", 1, "900", user, ON)),
    "approve_claim": ("clerk", lambda b, user, _: b.app.approve_claim("S-1", user, ON)),
    "reject_claim": ("cashier", lambda b, user, _: b.app.reject_claim("S-2", "no", user, ON)),
    "appeal_claim": ("cashier", lambda b, user, _: b.app.appeal_claim("S-3", "why", user, ON)),
    "reassess_claim": (
        "clerk",
        lambda b, user, _: b.app.reassess_claim("S-5", None, "looked again", user, ON),
    ),
    "correct_claim": (
        "cashier",
        lambda b, user, _: b.app.correct_claim("S-3", "1000.00", False, "re-settled", user, ON),
    ),
    "collect_recovery": (
        "approver",
        lambda b, user, _: b.app.collect_recovery("S-6", None, "RC-1", user, ON),
    ),
    "write_off_recovery": (
        "cashier",
        lambda b, user, _: b.app.write_off_recovery("S-6", "cannot be found", user, ON),
    ),
    "join_county": (
        "approver",
        lambda b, user, _: b.app.join_county("YH", "Yunhe", 1, "100.00", "T-1", user, ON),
    ),
    "leave_county": ("approver", leave_c2),
    "change_notice_template": (
        "cashier",
        lambda b, user, _: b.app.change_notice_template(
            "{amount} yuan paid ({claim_id})", user, ON
        ),
    ),
    "fund_pool": (
        "clerk",
        lambda b, user, _: b.app.fund_pool(1, "interest", "10.00", "BK-1", user, ON),
    ),
    "open_period": (
        "clerk",
        lambda b, user, _: b.app.open_period(
            2, date(2026, 1, 1), date(2026, 12, 31), load_preset("pinghu").policy_for(2), user, ON
        ),
    ),
    "close_period": ("cashier", lambda b, user, _: b.close_period(1, user, date(2026, 1, 31))),
    "pro_rate": ("clerk", pro_rate),
    "release_carried": ("cashier", release_carried),
    "seal_history": ("clerk", seal_history),
    "post_adjustment": (
        "clerk",
        lambda b, user, _: b.app.post_adjustment(
            1, "C1", "bank", "premium_income:other", "10.00", "late receipt", user, ON
        ),
    ),
    "make_payout": ("approver", lambda b, user, _: b.app.make_payout("S-3", None, "B-3", user, ON)),
    "pay_out_batch": (
        "clerk",
        lambda b, user, tmp: export_payouts(b, "2025-06", tmp / "bank.csv", user, ON),
    ),
    "return_payout": (
        "clerk",
        lambda b, user, _: b.app.return_payout("S-4", "B-4", "account closed", user, ON),
    ),
    "export_notifications": (
        "clerk",
        lambda b, user, tmp: export_notifications(b, tmp / "sms.jsonl", user),
    ),
    "import_enrolments": (
        "cashier",
        lambda b, user, tmp: import_feed(
            b,
            "enrolments",
            feed(
                tmp / "e.csv",
                "roster_line,member_id,period,county,unit,enrolled_on",
                "1,m7,1,C1,U,2025-01-05",
            ),
            user,
        ),
    ),
    "import_premiums": (
        "approver",
        lambda b, user, tmp: import_feed(
            b,
            "premiums",
            feed(
                tmp / "p.csv",
                "receipt,member_id,period,source,amount,paid_on",
                "P-1,m2,1,worker,1.00,2025-01-06",
            ),
            user,
        ),
    ),
    "import_claims": (
        "cashier",
        lambda b, user, tmp: import_feed(
            b,
            "claims",
            feed(tmp / "c.csv", CLAIM_HEADER, "K-1,m1,2025-03-01,2025-03-10,25000,5000,20000.00"),
            user,
            received_on=RECEIVED,
        ),
    ),
    "import_payout_results": (
        "clerk",
        lambda b, user, tmp: import_feed(
            b,
            "payout-results",
            feed(
                tmp / "r.csv",
                "bank_reference,status,return_reason,reported_on",
                "B-4,paid,,2025-03-05",
            ),
            user,
        ),
    ),
}


def test_every_duty_of_the_table_is_tested() -> None:
    assert sorted(COMMANDS) == sorted(DUTIES)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_command_is_refused_without_its_role_and_allowed_with_it(
    ready: Books, tmp_path: Path, command: str
) -> None:
    books, duty = ready, DUTIES[command]
    wrong, run = COMMANDS[command]
    before = events(books)

    with pytest.raises(DutyRefused) as refused:
        run(books, wrong, tmp_path)

    assert str(refused.value) == (
        f"{wrong} may not {duty.action}: that needs the {duty.role} role ({wrong} has: {wrong})"
    )
    assert events(books) == before
    [refusal] = refusals(books)
    assert (refusal.actor, refusal.command, refusal.reason) == (
        wrong,
        command,
        str(refused.value),
    )
    run(books, USER_OF_ROLE[duty.role], tmp_path)
    assert len(refusals(books)) == 1


def test_auditors_and_board_members_change_nothing(ready: Books, tmp_path: Path) -> None:
    books = ready
    books.app.grant_role("shen", "auditor", "admin", ON)
    books.app.grant_role("qian", "board", "admin", ON)
    before = events(books)
    for user in ("shen", "qian"):
        for _, run in COMMANDS.values():
            with pytest.raises(DutyRefused, match=f"^{user} may not "):
                run(books, user, tmp_path)
    assert events(books) == before
    assert len(refusals(books)) == 2 * len(COMMANDS)


def test_whoever_submitted_a_claim_cannot_approve_or_reject_it(ready: Books) -> None:
    books = ready
    books.app.grant_role("clerk", "approver", "admin", ON)
    before = events(books)
    with pytest.raises(DutyRefused) as approving:
        books.app.approve_claim("S-1", "clerk", ON)
    with pytest.raises(DutyRefused) as rejecting:
        books.app.reject_claim("S-1", "not covered", "clerk", ON)
    assert str(approving.value) == "clerk may not approve claim S-1: clerk submitted it"
    assert str(rejecting.value) == "clerk may not reject claim S-1: clerk submitted it"
    assert events(books) == before
    assert [(r.actor, r.command) for r in refusals(books)] == [
        ("clerk", "approve_claim"),
        ("clerk", "reject_claim"),
    ]
    assert books.app.approve_claim("S-1", "approver", ON).benefit > 0


def test_a_payout_needs_an_approved_claim(ready: Books) -> None:
    books = ready
    before = events(books)
    with pytest.raises(ClaimError, match="claim 'S-1' is submitted, not approved"):
        books.app.make_payout("S-1", None, "B-1", "cashier", ON)
    books.app.reject_claim("S-2", "not covered", "approver", ON)
    with pytest.raises(ClaimError, match="claim 'S-2' is rejected, not approved"):
        books.app.make_payout("S-2", None, "B-2", "cashier", ON)
    assert events(books) == before + 1  # the rejection
    books.app.approve_claim("S-1", "approver", ON)
    assert books.app.make_payout("S-1", None, "B-1", "cashier", ON) > 0


def test_a_revoked_role_is_refused_from_then_on(ready: Books) -> None:
    books = ready
    books.app.enrol("m3", 1, "C1", "U1", None, "clerk", ON)
    books.app.revoke_role("clerk", "clerk", "admin", ON)
    with pytest.raises(DutyRefused, match=r"^clerk may not enrol members: .*\(clerk has no role\)"):
        books.app.enrol("m4", 1, "C1", "U1", None, "clerk", ON)
    assert "clerk" not in books.app.scheme().roles


def test_an_import_by_a_user_without_the_role_is_refused_before_reading_the_file(
    ready: Books, tmp_path: Path
) -> None:
    books = ready
    before = events(books)
    with pytest.raises(DutyRefused, match=r"^cashier may not import claims: .* clerk role"):
        import_feed(books, "claims", tmp_path / "not-even-there.csv", "cashier")
    assert events(books) == before
    assert [(r.actor, r.command) for r in refusals(books)] == [("cashier", "import_claims")]


def test_settlements_imported_by_a_clerk_are_decided_by_the_policy(
    ready: Books, tmp_path: Path
) -> None:
    books = ready
    lines = ["K-1,m1,2025-03-01,2025-03-10,25000,5000,20000.00"]
    settlements = feed(tmp_path / "c.csv", CLAIM_HEADER, *lines)
    import_feed(books, "claims", settlements, "clerk", received_on=RECEIVED)
    history = books.app.events.get(member_uuid("m1"))
    decided = [e for e in history if getattr(e, "claim_id", None) == "K-1"]
    assert [(type(e).__name__, e.actor) for e in decided] == [
        ("ClaimSubmitted", "clerk"),
        ("ClaimApproved", POLICY),
    ]
    assert isinstance(decided[1], Member.ClaimApproved)
