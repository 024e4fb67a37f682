"""`ledger audit digest`, `verify` and `grant-reader`, and `--read-only`, as auditors use them."""

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from cli_runner import Ledger, create_scheme, events_in, on_a_terminal, one_line_error
from psycopg import sql
from rawdb import raw

from ledger.application.books import Books

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


READ_MODELS = ("balances", "claims", "notifications", "statements")
A_LATER_MEMBER = ("enrol", "m2", "--period", "1", "--county", "C1", "--unit", "Port", *ON_2_JANUARY)


def test_verify_catches_the_read_models_up_first_and_compares_the_whole_log(
    ledger: Ledger, db: str
) -> None:
    enrolled(ledger, db, "m1")  # recorded; no read model has projected it yet
    printed = ledger.ok(db, "audit", "verify")
    end = events_in(db)
    for name in READ_MODELS:
        assert f"Read model {name}: replayed to position {end} and compared.\n" in printed
    assert "not compared" not in printed
    assert printed.rstrip().endswith(
        "Verified: the log is intact and every read model equals its replay."
    )
    report = ledger.json(db, "audit", "verify")
    assert report["complete"] is True and report["verified"] is True


def test_a_read_only_verify_of_lagging_read_models_is_incomplete_unless_partial(
    ledger: Ledger, db: str
) -> None:
    enrolled(ledger, db, "m1")
    ledger.ok(db, "audit", "verify")  # a writer's: the read models catch up
    projected = events_in(db)
    ledger.ok(db, *A_LATER_MEMBER)
    end = events_in(db)
    result = ledger(db, "--read-only", "audit", "verify")
    assert result.returncode == 1 and "Verified" not in result.stdout
    assert (
        f"Read model balances: replayed to position {projected} and compared; it has not yet "
        f"projected {projected + 1} to {end}, so they are not compared." in result.stdout
    )
    assert one_line_error(result) == (
        f"error: verification incomplete: {', '.join(READ_MODELS)} compared only up to "
        f"position {projected} of {end}; run it without --read-only to catch the read models "
        "up first, or pass --partial to accept a partial check"
    )
    report = json.loads(ledger(db, "--read-only", "audit", "verify", "--json").stdout)
    assert report["complete"] is False and report["verified"] is False
    assert report["read_models"]["positions"] == dict.fromkeys(READ_MODELS, projected)  # type: ignore[index]
    partial = ledger.ok(db, "--read-only", "audit", "verify", "--partial")
    assert "Verified in part: the log is intact" in partial
    report = ledger.json(db, "--read-only", "audit", "verify", "--partial")
    assert report["complete"] is False and report["verified"] is True


def test_a_read_only_verify_of_a_ledger_last_written_before_a_table_existed_is_incomplete(
    ledger: Ledger, db: str
) -> None:
    """A ledger upgraded but not yet opened for writing: its claims read model lacks the
    payees table (only the log and its chain are guarded against dropping), so the claims
    are not compared at all."""
    enrolled(ledger, db, "m1")
    ledger.ok(db, "audit", "verify")  # a writer's: the read models catch up
    end = events_in(db)
    with raw(db) as r:
        r.execute("DROP TABLE payees")

    result = ledger(db, "--read-only", "audit", "verify")
    assert result.returncode == 1 and "Verified" not in result.stdout
    assert (
        f"Read model claims: replayed to position 0 and compared; it has not yet projected "
        f"1 to {end}, so they are not compared." in result.stdout
    )
    assert one_line_error(result).startswith(
        f"error: verification incomplete: claims compared only up to position 0 of {end}"
    )
    partial = ledger.ok(db, "--read-only", "audit", "verify", "--partial")
    assert "Verified in part: the log is intact" in partial


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


def test_an_emptied_chain_fails_verify_refuses_writes_and_is_sealed_only_explicitly(
    ledger: Ledger, db: str
) -> None:
    enrolled(ledger, db, "m1", "m2")
    with raw(db) as r:
        r.unprotect()
        r.execute("DELETE FROM event_chain")
        last = int(r.rows(f"SELECT MAX({r.id_column}) FROM {{events}}")[0][0])
    enrol = ("enrol", "m3", *IN_GLASS_WORKS, *ON_2_JANUARY)
    refused = ledger.refused(db, *enrol)
    assert refused.startswith(f"error: the log's events up to position {last} have no link")
    assert refused.endswith("and an admin has sealed them (`ledger audit seal --reason TEXT`)")
    result = ledger(db, "audit", "verify")  # opening it to write sealed nothing
    assert result.returncode == 1
    assert f"DIFFERS position {last}: an event with no link: inserted outside the ledger" in (
        result.stdout
    )
    sealed = ledger.ok(db, "audit", "seal", "--reason", "verified by shen, 2025-03-01")
    assert sealed.strip() == (
        f"Sealed positions 1 to {last} of the log, recorded in the event after them."
    )
    assert "Verified: the log is intact" in ledger.ok(db, "audit", "verify")
    ledger.ok(db, *enrol)
    assert ledger.refused(db, "audit", "seal", "--reason", "again") == (
        "error: every event of the log has its link: there is nothing to seal"
    )


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


def test_read_only_records_nothing(ledger: Ledger, db: str) -> None:
    enrolled(ledger, db, "m1")
    recorded = events_in(db)
    assert "run it without --read-only" in ledger.refused(db, "--read-only", *A_LATER_MEMBER)
    assert events_in(db) == recorded


def test_a_reader_refused_an_import_or_an_export_writes_no_file_either(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    enrolled(ledger, db, "m1")
    sms = tmp_path / "sms.jsonl"
    sms.write_text("handed over earlier\n", encoding="utf-8")
    roster = tmp_path / "roster.csv"
    roster.write_text("roster_line,member_id,period,county,unit,enrolled_on\n", encoding="utf-8")
    rejects = tmp_path / "rejects.csv"
    recorded = events_in(db)

    exported = ledger.refused(db, "--read-only", "notifications", "export", "--out", str(sms))
    imported = ledger.refused(
        db, "--read-only", "import", "enrolments", str(roster), "--partial",
        "--rejects", str(rejects),
    )  # fmt: skip

    assert "run it without --read-only" in exported and "run it without --read-only" in imported
    assert sms.read_text(encoding="utf-8") == "handed over earlier\n"
    assert not rejects.exists()
    assert events_in(db) == recorded


def test_a_reader_sees_the_figures_up_to_the_end_of_the_log_and_catches_nothing_up(
    ledger: Ledger, db: str
) -> None:
    enrolled(ledger, db, "m1")
    ledger.ok(db, "audit", "verify")  # the read models catch up
    before = ledger.json(db, "--read-only", "balances")
    ledger.ok(db, *A_LATER_MEMBER)
    ledger.ok(db, "pay-premium", "m2", "--period", "1", "--receipt", "R-m2")  # not projected
    end = events_in(db)
    read = ledger(db, "--read-only", "balances", "--json")
    assert read.returncode == 0 and read.stderr == ""
    figures = json.loads(read.stdout)
    assert figures["position"] == end and figures != before
    assert f"As known at log position {end}." in ledger.ok(db, "--read-only", "balances")
    statement = ledger.ok(db, "--read-only", "statement", "--period", "1", "--format", "json")
    assert json.loads(statement)["known_at"]["position"] == end
    trail = ledger.json(db, "--read-only", "audit", "trail", "--county", "C1", "--period", "1")
    assert end in [e["position"] for e in trail["events"]]  # type: ignore[attr-defined]
    lagging = json.loads(ledger(db, "--read-only", "audit", "verify", "--json").stdout)
    assert lagging["complete"] is False, "the reader caught the live read models up"
    assert ledger.json(db, "balances") == figures  # a writer's, once caught up


def test_a_reader_reads_a_read_model_whose_table_no_writer_has_made_yet(
    ledger: Ledger, db: str
) -> None:
    enrolled(ledger, db, "m1")
    caught_up = ledger.json(db, "balances")
    with raw(db) as r:  # as a table new in a later version, before any writer opened it
        r.execute("DROP TABLE postings")
    assert ledger.json(db, "--read-only", "balances") == caught_up


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
    ledger.ok(postgres_url, "audit", "verify")  # the owner's, catching the read models up
    assert "Verified:" in ledger.ok(as_reader, "--read-only", "audit", "verify")
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


def test_an_auditor_cannot_stall_the_writers_catch_ups(
    ledger: Ledger, postgres_url: str, reader_role: str
) -> None:
    """The read models' turn is the tracking table's EXCLUSIVE lock, which a reader cannot
    take; what a reader can hold (a long read, an advisory lock of any key) does not stop
    the writers'."""
    enrolled(ledger, postgres_url, "m1")
    ledger.ok(postgres_url, "audit", "grant-reader", reader_role)
    parts = urlsplit(postgres_url)
    as_reader = urlunsplit(parts._replace(netloc=f"{reader_role}@{parts.hostname}:{parts.port}"))
    books = Books(postgres_url, read_only=True)
    tracking = books.db.tracking_table
    books.close()
    with raw(as_reader) as r:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            r.execute(f"BEGIN; LOCK TABLE {tracking} IN EXCLUSIVE MODE")
        r.execute("ROLLBACK")
        r.execute("BEGIN")
        r.execute(f"LOCK TABLE {tracking} IN ACCESS SHARE MODE")  # all it may take
        r.execute(
            "SELECT pg_advisory_lock(hashtext('mutual-aid-ledger/read-models:' || ?))",
            urlsplit(postgres_url).query.partition("=")[2],
        )  # the old lock's key
        ledger.ok(postgres_url, "enrol", "m2", *IN_GLASS_WORKS, *ON_2_JANUARY)
        assert ledger.json(postgres_url, "balances")["trial_balance"] == "0.00"
        r.execute("ROLLBACK")


def test_grant_reader_is_for_postgresql(ledger: Ledger, tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    enrolled(ledger, db)
    assert "grant-reader is for PostgreSQL" in ledger.refused(
        db, "audit", "grant-reader", "auditor"
    )


def test_every_close_batch_and_statement_publishes_its_digest_and_verify_checks_them_all(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    digests = tmp_path / "digests.txt"
    kept = ("--digests", str(digests))
    enrolled(ledger, db, "m1")
    ledger.ok(db, "claim", "submit", "m1", "--period", "1", "--self-paid", "2000",
              "--claim-id", "S1", "--date", "2025-02-01")  # fmt: skip
    ledger.ok(db, "--actor", "approver", "claim", "approve", "S1", "--date", "2025-02-01")
    bank = tmp_path / "bank.csv"
    paid = ledger.json(db, *kept, "payouts", "export", "--batch", "B1", "--out", str(bank))
    statement = ("statement", "--period", "1", "--format", "json", "--out")
    ledger.ok(db, *kept, *statement, str(tmp_path / "s.json"))
    closed = ledger.ok(db, *kept, "period", "close", "1", "--date", "2026-01-31")
    lines = [line.split("\t") for line in digests.read_text("utf-8").splitlines()]
    assert [(line[1], line[2]) for line in lines] == [
        ("payouts", "-"),
        ("statement", "-"),
        ("close", "-"),
    ]
    assert lines[0][0] == paid["digest"]
    assert f"The log's digest after the close: {lines[2][0]} (publish it)." in closed
    checked = ledger.ok(db, "audit", "verify", "--digest", str(digests))
    for line in lines:
        assert f"Published digest {line[0]}: matches." in checked

    with raw(db) as r:  # the owner rewrites the first event's time, and re-chains all
        r.rewrite_time_and_rechain(1, "2025-01-01T00:00:00.000000Z")
    assert "Verified" in ledger.ok(db, "audit", "verify")  # the links agree again
    result = ledger(db, "audit", "verify", "--digest", str(digests))
    assert result.returncode == 1
    for line in lines:
        assert f"Published digest {line[0]}: DIFFERS." in result.stdout

    digests.write_text("# lodged with the board\n\n12:abc\n", "utf-8")
    assert ledger.refused(db, "audit", "verify", "--digest", str(digests)) == (
        f"error: --digest {digests}: line 3: --digest: '12:abc' is not POSITION:HASH "
        "(64 hex digits)"
    )
