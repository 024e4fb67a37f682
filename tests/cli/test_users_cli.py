"""`ledger users`: roles granted, listed and revoked; refusals one line each, and listed."""

import json

from cli_runner import Ledger, create_scheme, events_in


def submitted_claim(ledger: Ledger, db: str) -> None:
    """m1 enrolled and paid up, and claim S1 submitted, all by tester."""
    ledger.ok(
        db, "enrol", "m1", "--period", "1", "--county", "C1", "--unit", "U", "--date", "2025-01-02"
    )
    ledger.ok(db, "pay-premium", "m1", "--period", "1", "--receipt", "R1", "--date", "2025-01-02")
    ledger.ok(
        db,
        *("claim", "submit", "m1", "--period", "1", "--self-paid", "20000"),
        *("--claim-id", "S1", "--date", "2025-03-01"),
    )


def test_an_admin_grants_lists_and_revokes_roles(ledger: Ledger, db: str) -> None:
    create_scheme(ledger, db)
    assert "Granted clerk to wang." in ledger.ok(db, "users", "grant", "wang", "clerk")
    ledger.ok(db, "users", "grant", "wang", "cashier", "--date", "2025-02-01")
    assert ledger.json(db, "users", "list")["users"] == {
        "approver": ["approver"],
        "tester": ["admin", "approver", "cashier", "clerk"],
        "wang": ["cashier", "clerk"],
    }
    assert "wang: cashier, clerk" in ledger.ok(db, "users", "list")
    assert "Revoked clerk from wang." in ledger.ok(db, "users", "revoke", "wang", "clerk")
    users = ledger.json(db, "users", "list")["users"]
    assert isinstance(users, dict) and users["wang"] == ["cashier"]


def test_only_an_admin_grants_roles(ledger: Ledger, db: str) -> None:
    create_scheme(ledger, db)
    before = events_in(db)
    message = ledger.refused(db, "--actor", "approver", "users", "grant", "approver", "clerk")
    assert message == (
        "error: approver may not grant roles: that needs the admin role (approver has: approver)"
    )
    assert "unknown role 'boss'" in ledger.refused(db, "users", "grant", "wang", "boss")
    assert "wang does not have the clerk role" in ledger.refused(
        db, "users", "revoke", "wang", "clerk"
    )
    assert events_in(db) == before


def test_a_refused_approval_is_one_line_records_nothing_and_is_listed(
    ledger: Ledger, db: str
) -> None:
    create_scheme(ledger, db)
    submitted_claim(ledger, db)
    before = events_in(db)

    message = ledger.refused(db, "claim", "approve", "S1")
    assert message == "error: tester may not approve claim S1: tester submitted it"
    assert events_in(db) == before

    refusals = ledger.json(db, "users", "refusals")["refusals"]
    assert isinstance(refusals, list) and len(refusals) == 1
    assert {k: v for k, v in refusals[0].items() if k != "at"} == {
        "actor": "tester",
        "command": "approve_claim",
        "reason": "tester may not approve claim S1: tester submitted it",
    }
    shown = ledger.ok(db, "users", "refusals")
    assert "tester  approve_claim: tester may not approve claim S1" in shown
    assert "1 refused command(s)." in shown
    approval = json.loads(ledger.ok(db, "--actor", "approver", "claim", "approve", "S1", "--json"))
    assert approval["benefit"] == "10380.00"


def test_a_user_without_the_role_gets_one_line_naming_the_role(ledger: Ledger, db: str) -> None:
    create_scheme(ledger, db)
    message = ledger.refused(
        db, "--actor", "approver", "enrol", "m1", "--period", "1", "--county", "C1", "--unit", "U"
    )
    assert message == (
        "error: approver may not enrol members: that needs the clerk role (approver has: approver)"
    )
    assert ledger.refused(db, "--actor", "nobody", "period", "close", "1").endswith(
        "nobody may not close periods: that needs the approver role (nobody has no role)"
    )
