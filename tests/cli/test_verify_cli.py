"""`ledger audit digest`, `verify` and `grant-reader`, and `--read-only`, as auditors use them."""

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from cli_runner import Ledger, create_scheme, events_in, on_a_terminal
from psycopg import sql
from rawdb import raw

IN_GLASS_WORKS = ("--period", "1", "--county", "C1", "--unit", "Glass Works")
ON_2_JANUARY = ("--date", "2025-01-02")


def enrolled(ledger: Ledger, db: str, *members: str) -> None:
    create_scheme(ledger, db)
    for member in members:
        ledger.ok(db, "enrol", member, *IN_GLASS_WORKS, *ON_2_JANUARY)
        ledger.ok(db, "pay-premium", member, "--period", "1", "--receipt", f"R-{member}")


def test_a_published_digest_verifies_later(ledger: Ledger, db: str) -> None:
    enrolled(ledger, db, "m1")
    digest = ledger.ok(db, "audit", "digest").strip()
    assert re.fullmatch(r"\d+:[0-9a-f]{64}", digest)
    ledger.ok(db, "enrol", "m2", "--period", "1", "--county", "C2", "--unit", "Port", *ON_2_JANUARY)
    printed = ledger.ok(db, "audit", "verify", "--digest", digest)
    assert f"Published digest {digest}: matches." in printed
    assert printed.rstrip().endswith(
        "Verified: the log is intact and every read model equals its replay."
    )
    report = ledger.json(db, "audit", "verify", "--digest", digest)
    assert report["verified"] is True
    assert report["chain"]["digest_matches"] is True  # type: ignore[index]


def test_verify_shows_its_progress_on_a_terminal(ledger: Ledger, tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    enrolled(ledger, db, "m1", "m2")
    events = events_in(db)
    drawn = on_a_terminal("--db", db, "audit", "verify")
    assert "checking the hash chain" in drawn and "replaying the read models" in drawn
    assert f"{events}/{events}" in drawn
    assert re.search(r"\d+:\d\d:\d\d", drawn)  # the time taken, and the time left
    assert "Verified: the log is intact" in drawn


def test_verify_names_what_a_lagging_read_model_leaves_uncompared(ledger: Ledger, db: str) -> None:
    enrolled(ledger, db, "m1")
    ledger.ok(db, "balances")  # the read models catch up
    end = events_in(db)
    assert f"replayed to position {end} and compared." in ledger.ok(db, "audit", "verify")
    ledger.ok(db, "enrol", "m2", "--period", "1", "--county", "C1", "--unit", "Port", *ON_2_JANUARY)
    printed = ledger.ok(db, "audit", "verify")
    assert (
        f"Read model balances: replayed to position {end} and compared; it has not yet "
        f"projected {end + 1} to {events_in(db)}, so they are not compared." in printed
    )


def test_a_deleted_event_fails_verification_naming_its_position(ledger: Ledger, db: str) -> None:
    enrolled(ledger, db, "m1", "m2")
    with raw(db) as r:
        r.unprotect()
        position = r.position_of("PremiumPaid", 1)
        r.execute(f"DELETE FROM {{events}} WHERE {r.id_column} = ?", position)
    result = ledger(db, "audit", "verify")
    assert result.returncode == 1
    assert f"DIFFERS position {position}: the event of this link is missing: deleted" in (
        result.stdout
    )
    assert result.stderr == "error: verification failed: 1 problem(s), listed above\n"
    report = json.loads(ledger(db, "audit", "verify", "--json").stdout)
    assert report["verified"] is False
    assert report["chain"]["findings"][0]["position"] == position


def test_a_corrupted_read_model_fails_verification(ledger: Ledger, db: str) -> None:
    enrolled(ledger, db, "m1")
    ledger.ok(db, "balances")
    with raw(db) as r:
        r.execute("UPDATE postings SET amount_fen = 0 WHERE account = 'bank'")
    result = ledger(db, "audit", "verify")
    assert result.returncode == 1
    assert "DIFFERS balances: C1 bank (period 1): live 0.00, from the log 50.00" in result.stdout


@pytest.mark.parametrize(
    ("digest", "reason"),
    [
        ("12", "is not POSITION:HASH"),
        ("x:" + "a" * 64, "is not POSITION:HASH"),
        ("3:" + "g" * 64, "is not a SHA-256 hash in hex"),
    ],
)
def test_a_malformed_digest_is_a_one_line_error(
    ledger: Ledger, db: str, digest: str, reason: str
) -> None:
    enrolled(ledger, db)
    assert reason in ledger.refused(db, "audit", "verify", "--digest", digest)


def test_auditing_where_there_is_no_ledger_says_so(ledger: Ledger, db: str) -> None:
    assert "no ledger" in ledger.refused(db, "audit", "digest")
    assert "no ledger" in ledger.refused(db, "audit", "verify")


def test_read_only_records_nothing_and_catches_nothing_up(ledger: Ledger, db: str) -> None:
    enrolled(ledger, db, "m1")
    recorded = events_in(db)
    enrol = ("enrol", "m2", "--period", "1", "--county", "C1", "--unit", "Port", *ON_2_JANUARY)
    assert "run it without --read-only" in ledger.refused(db, "--read-only", *enrol)
    assert events_in(db) == recorded
    before = ledger.json(db, "balances")
    ledger.ok(db, *enrol)
    ledger.ok(db, "pay-premium", "m2", "--period", "1", "--receipt", "R-m2")
    assert ledger.json(db, "--read-only", "balances") == before
    stale = ledger(db, "--read-only", "balances")
    assert "not yet projected" in stale.stderr and stale.returncode == 0
    assert ledger.json(db, "balances") != before


@pytest.fixture
def reader_role(postgres_server: str) -> Iterator[str]:
    role = f"auditor_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    yield role
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_an_auditor_role_verifies_but_cannot_write(
    ledger: Ledger, postgres_url: str, reader_role: str
) -> None:
    enrolled(ledger, postgres_url, "m1")
    assert "may now read this ledger" in ledger.ok(
        postgres_url, "audit", "grant-reader", reader_role
    )
    parts = urlsplit(postgres_url)
    as_reader = urlunsplit(parts._replace(netloc=f"{reader_role}@{parts.hostname}:{parts.port}"))
    assert "Verified" in ledger.ok(as_reader, "audit", "verify")
    assert ledger.ok(as_reader, "audit", "digest") == ledger.ok(postgres_url, "audit", "digest")
    caught_up = ledger.json(postgres_url, "balances")
    assert ledger.json(as_reader, "--read-only", "balances") == caught_up
    refused = ledger.refused(
        as_reader, "enrol", "m2", "--period", "1", "--county", "C1", "--unit", "Port", *ON_2_JANUARY
    )
    assert "permission denied" in refused and "with --read-only" in refused
    assert "with --read-only" in ledger.refused(as_reader, "balances")
    with raw(as_reader) as r, pytest.raises(psycopg.errors.InsufficientPrivilege):
        r.execute("DELETE FROM postings")


def test_grant_reader_is_for_postgresql(ledger: Ledger, tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    enrolled(ledger, db)
    assert "grant-reader is for PostgreSQL" in ledger.refused(
        db, "audit", "grant-reader", "auditor"
    )
