"""Reading from a replica: a real PostgreSQL hot standby, made by a base backup of a real
primary, both on loopback. The primary is written; the standby answers the auditors' and
boards' read-only commands, at the position it has replayed, says so when asked for one it
has not replayed yet, and refuses writes in one line (docs/deployment.md)."""

import json
from collections.abc import Iterator

import psycopg
import pytest
from cli_runner import Ledger
from standby import caught_up, primary_and_standby

from ledger.application.books import Books
from ledger.application.demo import run_demo


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[str, str]]:
    with primary_and_standby() as urls:
        yield urls


def test_the_standby_answers_what_the_primary_recorded_and_says_how_far_it_is(
    ledger: Ledger, servers: tuple[str, str]
) -> None:
    primary, standby = servers
    city, replica = f"{primary}?schema=zs", f"{standby}?schema=zs"
    books = Books(city)
    run_demo(books, "pinghu", counties=2, members=120, seed=4)
    books.catch_up()  # the read models too are the primary's, replicated
    books.close()
    caught_up(primary, standby)

    digest = ledger.ok(city, "audit", "digest").strip()
    assert ledger.ok(replica, "--read-only", "audit", "digest").strip() == digest
    verified = ledger.json(replica, "--read-only", "audit", "verify", "--digest", digest)
    assert verified["verified"] and verified["chain"]["digest_matches"]  # type: ignore[index]
    on_primary = json.loads(ledger.ok(city, "statement", "--period", "1", "--format", "json"))
    on_replica = json.loads(
        ledger.ok(replica, "--read-only", "statement", "--period", "1", "--format", "json")
    )
    assert on_replica == on_primary

    position = int(digest.split(":")[0])
    with psycopg.connect(standby, autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")  # the standby falls behind, for sure
        ledger.ok(city, "--actor", "demo-admin", "users", "grant", "li", "clerk")  # one more
        asked = ("statement", "--period", "1", "--format", "json", "--as-known-at",
                 str(position + 1))  # fmt: skip
        assert ledger.refused(replica, "--read-only", *asked).endswith(
            f"(the last is {position}); this is a replica, which has replayed the log to "
            f"{position}: wait for it to catch up, or read the primary"
        )
        conn.execute("SELECT pg_wal_replay_resume()")
    caught_up(primary, standby)
    assert ledger(replica, "--read-only", *asked).returncode == 0

    assert ledger.refused(
        replica, "--actor", "demo-admin", "users", "grant", "wu", "clerk"
    ).endswith(
        "a replica (a hot standby) is only read: run read-only commands on it with "
        "--read-only, and write to the primary"
    )
