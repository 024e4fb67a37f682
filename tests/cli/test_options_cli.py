"""The options every command shares: -h, --version, and --db, --actor and --read-only
before or after the command, with the environment variables the help names."""

import json
import os
import subprocess
from importlib.metadata import version
from pathlib import Path

import typer
from cli_runner import LEDGER, Ledger, console_script, create_scheme

from ledger.cli.main import cli


def command_paths() -> list[list[str]]:
    """Every command and group of `ledger`, as the words that name it."""
    paths: list[list[str]] = []

    def walk(group: object, prefix: list[str]) -> None:
        for name, command in sorted(getattr(group, "commands", {}).items()):
            paths.append([*prefix, name])
            walk(command, [*prefix, name])

    walk(typer.main.get_command(cli), [])
    return paths


def test_every_command_helps_with_h_as_with_help(ledger: Ledger, tmp_path: Path) -> None:
    db = str(tmp_path / "ledger.db")
    paths = command_paths()
    assert ["audit", "verify"] in paths and ["balances"] in paths
    for path in [[], *paths]:
        short = ledger(db, *path, "-h")
        assert short.returncode == 0, (path, short.stderr)
        assert f"Usage: ledger {' '.join(path)}".rstrip() in short.stdout
        assert short.stdout == ledger.ok(db, *path, "--help")
    assert not (tmp_path / "ledger.db").exists()


def test_the_help_names_the_environment_variables_and_the_options_after_the_command() -> None:
    shown = console_script("-h")
    assert shown.returncode == 0
    for variable in ("LEDGER_DB", "LEDGER_ACTOR", "LEDGER_READ_ONLY"):
        assert variable in shown.stdout
    assert "may also follow the command" in " ".join(shown.stdout.split())
    balances = console_script("balances", "-h").stdout
    for option in ("--db", "--actor", "--read-only"):
        assert option in balances


def test_version_prints_the_package_version() -> None:
    shown = console_script("--version")
    assert shown.returncode == 0
    assert shown.stdout == f"ledger {version('mutual-aid-ledger')}\n"


def test_db_after_the_command_means_what_it_means_before(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    create_scheme(ledger, db)
    before = ledger.ok(db, "scheme", "show", "--json")
    other = str(tmp_path / "other.db")
    # `ledger` is run with --db OTHER first (see cli_runner): the one after wins.
    assert ledger.ok(other, "scheme", "show", "--json", "--db", db) == before
    assert ledger.ok(other, "users", "list", "--db", db) == ledger.ok(db, "users", "list")
    assert not Path(other).exists()


def test_the_environment_gives_the_database_and_an_option_after_the_command_overrides_it(
    ledger: Ledger, tmp_path: Path
) -> None:
    db = str(tmp_path / "ledger.db")
    create_scheme(ledger, db)
    shown = with_environment({"LEDGER_DB": db}, "scheme", "show")
    assert shown.returncode == 0 and "Pinghu" in shown.stdout
    missing = {"LEDGER_DB": str(tmp_path / "missing.db")}
    assert with_environment(missing, "scheme", "show", "--db", db).stdout == shown.stdout
    assert with_environment(missing, "--db", db, "scheme", "show").stdout == shown.stdout
    assert not (tmp_path / "missing.db").exists()


def with_environment(variables: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path.cwd()), **variables}
    return subprocess.run([*LEDGER, *args], capture_output=True, text=True, env=env)


def test_actor_after_the_command_is_the_one_who_acts(ledger: Ledger, db: str) -> None:
    create_scheme(ledger, db)
    refused = ledger.refused(db, "users", "grant", "li", "clerk", "--actor", "nobody")
    assert "nobody may not grant roles" in refused
    ledger.ok(db, "users", "grant", "li", "clerk", "--actor", "tester")
    enrolled = ("--period", "1", "--county", "C1", "--unit", "U", "--date", "2025-01-02")
    ledger.ok(db, "enrol", "m1", *enrolled, "--actor", "li")
    trail = json.loads(ledger.ok(db, "audit", "trail", "--member", "m1", "--json"))
    assert {e["actor"] for e in trail["events"]} == {"li"}


def test_read_only_after_the_command_records_nothing(ledger: Ledger, db: str) -> None:
    create_scheme(ledger, db)
    enrolled = ("--period", "1", "--county", "C1", "--unit", "U", "--date", "2025-01-02")
    before = ledger.json(db, "audit", "digest")
    refused = ledger(db, "enrol", "m1", *enrolled, "--read-only")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert ledger.json(db, "audit", "digest") == before
