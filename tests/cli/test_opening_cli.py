"""Opening a ledger: only the commands that start one create it; a reader handed a
read-only copy can read and verify it; a bad --db is one line naming what is wrong."""

import hashlib
import json
import os
import pwd
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from cli_runner import Ledger, Result, create_scheme, events_in

from ledger.cli.main import main
from ledger.store.config import is_postgres

ON_2_JANUARY = ("--date", "2025-01-02")
IN_C1 = ("--period", "1", "--county", "C1", "--unit", "U", *ON_2_JANUARY)
READING_AND_RECORDING = [
    ("balances",),
    ("--read-only", "balances"),
    ("statement", "--period", "1", "--format", "json"),
    ("audit", "digest"),
    ("audit", "verify"),
    ("--read-only", "audit", "verify"),
    ("audit", "trail", "--member", "m1"),
    ("scheme", "show"),
    ("users", "list"),
    ("projections", "rebuild"),
    ("enrol", "m1", "--period", "1", "--county", "C1", "--unit", "U", *ON_2_JANUARY),
]


def schema_of(db: str) -> str:
    return db.partition("?schema=")[2]


def schema_exists(server: str, schema: str) -> bool:
    with psycopg.connect(server, autocommit=True) as conn:
        row = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    return row is not None


def nothing_at(db: str, postgres_server: str | None) -> bool:
    """No file, or (PostgreSQL) no schema, where the ledger would be."""
    if is_postgres(db):
        assert postgres_server is not None
        return not schema_exists(postgres_server, schema_of(db))
    return not os.path.exists(db)


def server_of(request: pytest.FixtureRequest, db: str) -> str | None:
    return request.getfixturevalue("postgres_server") if is_postgres(db) else None


def no_ledger_at(db: str) -> str:
    return (
        f"error: no ledger at {db} (create one with `ledger scheme create`, "
        "or `ledger demo` for a simulated one)"
    )


@pytest.mark.parametrize("command", READING_AND_RECORDING, ids=" ".join)
def test_a_command_on_a_missing_ledger_says_so_and_creates_none(
    ledger: Ledger, db: str, command: tuple[str, ...], request: pytest.FixtureRequest
) -> None:
    assert ledger.refused(db, *command) == no_ledger_at(db)
    assert nothing_at(db, server_of(request, db))


def test_a_mistyped_path_names_the_path_and_leaves_the_ledger_alone(
    ledger: Ledger, tmp_path: Path
) -> None:
    db = str(tmp_path / "ledger.db")
    create_scheme(ledger, db)
    typo = str(tmp_path / "ledgr.db")
    assert ledger.refused(typo, "balances") == no_ledger_at(typo)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ledger.db"]


def test_the_message_names_a_postgresql_ledger_without_its_password(
    ledger: Ledger, postgres_url: str
) -> None:
    scheme, _, rest = postgres_url.partition("://")
    user, _, host = rest.partition("@")
    with_password = f"{scheme}://{user}:secret@{host}"
    error = ledger.refused(with_password, "balances")
    assert error == no_ledger_at(postgres_url) and "secret" not in error


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("--members", "0"), "--members must be at least 10 per county (40)"),
        (("--counties", "0"), "--counties must be between 1 and 99"),
        (("--preset", "atlantis"), "unknown preset 'atlantis'"),
    ],
)
def test_a_refused_demo_leaves_nothing_behind(
    ledger: Ledger,
    db: str,
    args: tuple[str, ...],
    reason: str,
    request: pytest.FixtureRequest,
) -> None:
    assert reason in ledger.refused(db, "demo", *args)
    assert nothing_at(db, server_of(request, db))


def test_a_refused_scheme_create_leaves_nothing_behind(
    ledger: Ledger, db: str, request: pytest.FixtureRequest
) -> None:
    args = ("scheme", "create", "--name", "X", "--county", "A=B", "--date", "2025-13-01")
    assert "2025-13-01" in ledger.refused(db, *args)
    assert nothing_at(db, server_of(request, db))


def test_scheme_create_starts_a_ledger_and_then_others_open_it(ledger: Ledger, db: str) -> None:
    create_scheme(ledger, db)
    assert "Pinghu" in ledger.ok(db, "scheme", "show")


@pytest.mark.parametrize(
    "command", [("balances",), ("scheme", "create", "--name", "X", "--county", "A=B")]
)
def test_a_missing_folder_is_named(
    ledger: Ledger, tmp_path: Path, command: tuple[str, ...]
) -> None:
    folder = tmp_path / "no" / "such"
    db = str(folder / "ledger.db")
    assert (
        ledger.refused(db, *command)
        == f"error: --db: there is no folder {folder} to hold ledger.db"
    )
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize(
    ("url", "scheme"),
    [("mysql://user@db.example/ledger", "mysql"), ("sqlite:///ledger.db", "sqlite")],
)
def test_an_unsupported_url_names_its_scheme(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, scheme: str
) -> None:
    monkeypatch.chdir(tmp_path)
    for command in (("balances",), ("scheme", "create", "--name", "X", "--county", "A=B")):
        assert ledger.refused(url, *command) == (
            f"error: --db: a {scheme}:// URL is not supported: give an SQLite file's path "
            "or a postgresql:// URL"
        )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("schema", ["Bad-Name", "Pinghu", "1st", "two words", "x" * 64])
def test_a_bad_schema_name_is_refused_before_anything_is_created(
    ledger: Ledger, postgres_server: str, schema: str
) -> None:
    separator = "&" if "?" in postgres_server else "?"
    url = f"{postgres_server}{separator}schema={quote(schema)}"
    try:
        for command in (("scheme", "create", "--name", "X", "--county", "A=B"), ("balances",)):
            assert ledger.refused(url, *command) == (
                f"error: --db: schema {schema!r} is not a schema name: lower-case letters, "
                "digits and _, not starting with a digit, at most 63 long"
            )
        assert not schema_exists(postgres_server, schema)
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as conn:
            conn.execute(
                psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    psycopg.sql.Identifier(schema)
                )
            )


# A read-only copy of an SQLite ledger


def as_a_reader(ledger: Ledger, db: str, *args: str) -> Result:
    """`ledger --db DB ARGS` run by a user who may not write what root could: in this
    process if it is not root's, else in a child process that has become `nobody` (root
    ignores file modes, so a test run by root as root would prove nothing)."""
    if os.geteuid() != 0:
        return ledger(db, *args)
    nobody = pwd.getpwnam("nobody")
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        pid = os.fork()
        if pid == 0:  # the child, which never returns into pytest
            code = 70
            try:
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
                sys.stdout, sys.stderr = out, err
                main(["--db", db, *args])
                code = 0
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else 1
            finally:
                out.flush()
                err.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        out.seek(0)
        err.seek(0)
        return Result(os.waitstatus_to_exitcode(status), out.read(), err.read())


@pytest.fixture
def unwritable_folder() -> Iterator[Path]:
    """A folder outside root's private temporary folders, so that `nobody` may reach it."""
    folder = Path(tempfile.mkdtemp(prefix="ledger-copy-"))
    yield folder
    folder.chmod(0o755)
    shutil.rmtree(folder)


def fingerprint(folder: Path) -> dict[str, tuple[str, int]]:
    return {
        p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in folder.iterdir()
    }


def test_an_auditor_reads_and_verifies_a_read_only_copy_of_an_sqlite_ledger(
    ledger: Ledger, tmp_path: Path, unwritable_folder: Path
) -> None:
    original = str(tmp_path / "ledger.db")
    create_scheme(ledger, original)
    for member in ("m1", "m2"):
        ledger.ok(original, "enrol", member, *IN_C1)
    ledger.ok(original, "pay-premium", "m1", "--period", "1", "--receipt", "R-m1")
    ledger.ok(original, "audit", "verify")  # the read models catch up
    ledger.ok(original, "pay-premium", "m2", "--period", "1", "--receipt", "R-m2")
    end = events_in(original)  # the last payment is in no read model of the copy
    copy = unwritable_folder / "ledger.db"
    shutil.copyfile(original, copy)
    copy.chmod(0o444)
    unwritable_folder.chmod(0o555)
    before = fingerprint(unwritable_folder)

    read = as_a_reader(ledger, str(copy), "--read-only", "balances", "--json")
    assert read.returncode == 0, read.stderr
    assert json.loads(read.stdout) == ledger.json(original, "--read-only", "balances")
    assert json.loads(read.stdout)["position"] == end
    statement = ("--read-only", "statement", "--period", "1", "--format", "json")
    read = as_a_reader(ledger, str(copy), *statement)
    assert json.loads(read.stdout) == json.loads(ledger.ok(original, *statement))
    verified = as_a_reader(ledger, str(copy), "--read-only", "audit", "verify", "--partial")
    assert verified.returncode == 0, verified.stderr
    assert f"Hash chain: {end} events checked" in verified.stdout
    assert "Verified in part: the log is intact" in verified.stdout
    writing = as_a_reader(ledger, str(copy), "audit", "verify")
    assert writing.returncode == 1 and "Traceback" not in writing.stderr
    assert fingerprint(unwritable_folder) == before, "the copy, or its folder, was written"
