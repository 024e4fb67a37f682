"""The `ledger` command line. Thin: it parses, calls the application and prints. Here are
the global options and the entry point; the commands are in a module per kind of user."""

import os
import sqlite3
import sys
from importlib.metadata import version
from typing import Annotated

import psycopg
import typer
from eventsourcing.persistence import PersistenceError

from domain.errors import LedgerError
from ledger.cli import audit, claims, feeds, province, reports, scheme, service, users
from ledger.cli.common import GROUP, Settings, say

DB_HELP = "SQLite file or postgresql:// URL; default ledger.db in the working directory."
ACTOR_HELP = (
    "Who is acting; default the login name. On PostgreSQL a writer's database login acts as "
    "itself (docs/roles.md)."
)
READ_ONLY_HELP = "Only read, as auditors and boards do: create nothing, catch nothing up."
CITY_HELP = "A city of the register (ledger cities list), whose ledger to work on, for --db."
PROVINCE_HELP = "The register of cities: SQLite file or postgresql:// URL; default province.db."
DIGESTS_HELP = (
    "A file each published digest (of a period close, a payout batch, a statement) is "
    "appended to, for `audit verify --digest FILE`; lodge it with the board (docs/audit.md)."
)

cli = typer.Typer(
    help="Event-sourced ledger for city-pooled worker medical mutual-aid funds.",
    **GROUP,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# `ledger --help` lists the commands in this order: those of no group, then the groups.
for commands in (scheme.commands, feeds.commands, reports.commands, service.commands):
    cli.add_typer(commands)
cli.add_typer(scheme.scheme_cli, name="scheme")
cli.add_typer(users.users_cli, name="users")
cli.add_typer(scheme.period_cli, name="period")
cli.add_typer(scheme.pool_cli, name="pool")
cli.add_typer(scheme.county_cli, name="county")
cli.add_typer(claims.claim_cli, name="claim")
cli.add_typer(claims.payout_cli, name="payouts")
cli.add_typer(claims.recovery_cli, name="recoveries")
cli.add_typer(claims.notifications_cli, name="notifications")
cli.add_typer(audit.projections_cli, name="projections")
cli.add_typer(audit.audit_cli, name="audit")
cli.add_typer(service.service_cli, name="service")
cli.add_typer(province.cities_cli, name="cities")
cli.add_typer(province.province_cli, name="province")


def _version(value: bool) -> None:
    if value:
        say(f"ledger {version('mutual-aid-ledger')}")
        raise typer.Exit()


@cli.callback(
    epilog="--db, --actor and --read-only may also follow the command (ledger balances --db x.db)."
)
def main_options(
    ctx: typer.Context,
    db: Annotated[
        str | None, typer.Option("--db", envvar="LEDGER_DB", show_envvar=True, help=DB_HELP)
    ] = None,
    actor: Annotated[
        str | None,
        typer.Option("--actor", envvar="LEDGER_ACTOR", show_envvar=True, help=ACTOR_HELP),
    ] = None,
    read_only: Annotated[
        bool,
        typer.Option(
            "--read-only", envvar="LEDGER_READ_ONLY", show_envvar=True, help=READ_ONLY_HELP
        ),
    ] = False,
    city: Annotated[
        str | None,
        typer.Option("--city", envvar="LEDGER_CITY", show_envvar=True, help=CITY_HELP),
    ] = None,
    province: Annotated[
        str | None,
        typer.Option("--province", envvar="LEDGER_PROVINCE", show_envvar=True, help=PROVINCE_HELP),
    ] = None,
    digests: Annotated[
        str | None,
        typer.Option("--digests", envvar="LEDGER_DIGESTS", show_envvar=True, help=DIGESTS_HELP),
    ] = None,
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_version, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    code = None if city is None else city.strip().upper()  # a code is in capitals: zs is ZS
    ctx.obj = Settings(
        db, actor or os.environ.get("LEDGER_ACTOR"), read_only, code, province, digests
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one line on stderr and exit status 1."""
    try:
        cli(args=argv, prog_name="ledger")
    except LedgerError as e:
        fail(str(e))
    except OSError as e:  # a file named on the command line that can't be read or written
        fail(f"{e.filename}: {e.strerror}" if e.filename else str(e))
    except (psycopg.Error, sqlite3.Error, PersistenceError) as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if _privilege_refused(e):
            reason += (
                "; this database role may not write: a reader (`ledger audit grant-reader`) "
                "runs read-only commands with --read-only"
            )
        elif _caused_by(e, psycopg.errors.ReadOnlySqlTransaction):
            reason += (
                "; a replica (a hot standby) is only read: run read-only commands on it with "
                "--read-only, and write to the primary"
            )
        fail(f"database: {reason}")


def _privilege_refused(error: BaseException | None) -> bool:
    return _caused_by(error, psycopg.errors.InsufficientPrivilege)


def _caused_by(error: BaseException | None, kind: type[BaseException]) -> bool:
    """The library wraps the driver's errors: look down the chain of causes."""
    while error is not None:
        if isinstance(error, kind):
            return True
        error = error.__cause__ or error.__context__
    return False


def fail(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")
    sys.exit(1)
