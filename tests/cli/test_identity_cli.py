"""On PostgreSQL a writer's login is who acts: `users grant --login` lets it write as itself,
`--actor` cannot make it anyone else, a duty it lacks is refused as any other, and the last
role revoked takes its right to write. Real logins, no mocks."""

from collections.abc import Callable
from pathlib import Path

import pytest
from cli_runner import Ledger, create_scheme, events_in
from feed_files import CLAIM_HEADER, ROSTER_HEADER, claim, write_feed
from logins import as_login

PREMIUM_HEADER = "收据号,会员编号,期次,资金来源,金额,缴费日期"
ENROL = ("enrol", "m1", "--period", "1", "--county", "C1", "--unit", "U", "--date", "2025-01-02")


@pytest.fixture
def wang(
    ledger: Ledger,
    postgres_url: str,
    new_login: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    """A clerk with a login of their own, granted by tester (who owns the ledger); the
    shell's LEDGER_ACTOR unset from here on."""
    name = new_login("wang")
    create_scheme(ledger, postgres_url)
    shown = ledger.ok(postgres_url, "users", "grant", name, "clerk", "--login")
    assert f"{name} may log in to the database and write this ledger, as itself." in shown
    monkeypatch.delenv("LEDGER_ACTOR")
    return name


def test_a_login_acts_as_itself(ledger: Ledger, postgres_url: str, wang: str) -> None:
    own = as_login(postgres_url, wang)
    ledger.ok(own, *ENROL)
    trail = ledger.json(own, "audit", "trail", "--member", "m1")["events"]
    assert isinstance(trail, list) and {e["actor"] for e in trail} == {wang}


def test_a_login_may_not_act_as_another(
    ledger: Ledger, postgres_url: str, wang: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = as_login(postgres_url, wang)
    before = events_in(postgres_url)
    message = ledger.refused(own, "--actor", "tester", *ENROL)
    assert message == (
        f"error: --actor tester: this database login is {wang}, and writes only as {wang} "
        "(leave out --actor and LEDGER_ACTOR, or give that name)"
    )
    monkeypatch.setenv("LEDGER_ACTOR", "tester")
    assert ledger.refused(own, *ENROL) == message
    assert events_in(postgres_url) == before
    monkeypatch.setenv("LEDGER_ACTOR", wang)
    ledger.ok(own, *ENROL)


def test_a_login_without_the_role_gets_the_duty_message(
    ledger: Ledger, postgres_url: str, wang: str
) -> None:
    own = as_login(postgres_url, wang)
    before = events_in(postgres_url)
    assert ledger.refused(own, "period", "close", "1") == (
        f"error: {wang} may not close periods: that needs the approver role ({wang} has: clerk)"
    )
    assert ledger.refused(own, "users", "grant", wang, "approver") == (
        f"error: {wang} may not grant roles: that needs the admin role ({wang} has: clerk)"
    )
    assert events_in(postgres_url) == before
    refusals = ledger.json(own, "users", "refusals")["refusals"]
    assert isinstance(refusals, list) and [r["actor"] for r in refusals] == [wang, wang]


def test_the_last_role_revoked_takes_the_right_to_write(
    ledger: Ledger, postgres_url: str, wang: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_ACTOR", "tester")
    ledger.ok(postgres_url, "users", "revoke", wang, "clerk")
    monkeypatch.delenv("LEDGER_ACTOR")
    before = events_in(postgres_url)
    assert "permission denied" in ledger.refused(as_login(postgres_url, wang), *ENROL)
    assert events_in(postgres_url) == before


def test_a_user_holding_their_roles_is_given_a_login_alone(
    ledger: Ledger,
    postgres_url: str,
    new_login: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    li = new_login("li")
    create_scheme(ledger, postgres_url)
    ledger.ok(postgres_url, "users", "grant", li, "clerk")
    before = events_in(postgres_url)
    shown = ledger.ok(postgres_url, "users", "grant", li, "clerk", "--login")
    assert shown.startswith(f"{li} already has clerk.\n{li} may log in")
    assert events_in(postgres_url) == before
    monkeypatch.delenv("LEDGER_ACTOR")
    ledger.ok(as_login(postgres_url, li), *ENROL)


def test_logins_are_for_postgresql(ledger: Ledger, tmp_path: object) -> None:
    db = str(tmp_path) + "/ledger.db"
    create_scheme(ledger, db)
    assert ledger.refused(db, "users", "grant", "wang", "clerk", "--login") == (
        "error: --login is for PostgreSQL; an SQLite ledger has no logins: whoever may open "
        "its file may write it (docs/roles.md)"
    )
    users = ledger.json(db, "users", "list")["users"]
    assert isinstance(users, dict) and "wang" not in users


def test_a_login_imports_feeds_and_the_policy_decides_after_it(
    ledger: Ledger, postgres_url: str, wang: str, tmp_path: Path
) -> None:
    """Enough records that the store copies them in (COPY, not INSERT), and claims the
    policy approves by itself: the database takes `policy` after the login's submission."""
    own = as_login(postgres_url, wang)
    members = [f"m{n}" for n in range(1, 31)]
    roster = [f"{n},{m},职工{n},1,C1,平湖市总工会,,2025/1/6" for n, m in enumerate(members, 1)]
    premiums = [
        line
        for m in members
        for line in (f"W-{m},{m},1,worker,1.00,2025/1/6", f"U-{m},{m},1,union:city,49.00,2025/1/6")
    ]
    claims = [claim(f"S{n}", m, "20000.00") for n, m in enumerate(members, 1)]
    for kind, header, lines in (
        ("enrolments", ROSTER_HEADER, roster),
        ("premiums", PREMIUM_HEADER, premiums),
        ("claims", CLAIM_HEADER, claims),
    ):
        feed = write_feed(tmp_path / f"{kind}.csv", header, *lines)
        ledger.ok(own, "import", kind, str(feed), "--date", "2025-03-12")
    trail = ledger.json(own, "audit", "trail", "--member", "m30")["events"]
    assert isinstance(trail, list)
    assert [(e["event"], e["actor"]) for e in trail][-2:] == [
        ("ClaimSubmitted", wang),
        ("ClaimApproved", "policy"),
    ]
