"""What every command uses: the settings the global options give, the books they open, the
acting user, the position --as-known-at names, the shared options, output and progress.
Apart from main.py, which imports the command modules, so that they can import this."""

import copy
import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from typer.core import TyperGroup

from domain.errors import LedgerError
from domain.scheme import PERIOD_NUMBERS
from ledger.application.books import Books
from ledger.application.province import DEFAULT_PROVINCE, ProvinceRegister, Witness
from ledger.reports.audit import Digest, head, keep_digest
from ledger.store.config import database
from projections.projector import Projector

GLOBAL_OPTIONS = ("db", "actor", "read_only", "city", "province", "digests")


class Settings:
    def __init__(
        self,
        db: str | None,
        actor: str | None,
        read_only: bool,
        city: str | None = None,
        province: str | None = None,
        digests: str | None = None,
    ) -> None:
        """`db`, `actor`: as --db (LEDGER_DB), --actor (LEDGER_ACTOR) gave them; None if
        neither did. `city`: a city of the register at `province`, in place of --db.
        `digests`: the file each digest published is appended to (--digests)."""
        self.db, self.actor, self.read_only = db, actor, read_only
        self.city, self.province, self.digests = city, province, digests
        self.login: str | None = None
        """The database login the books were opened with, when the events must name it."""


def _settings(ctx: typer.Context) -> Settings:
    settings: Settings = ctx.ensure_object(Settings)
    return settings


def province_of(ctx: typer.Context) -> str:
    """The register of cities: --province (LEDGER_PROVINCE), or province.db here."""
    return _settings(ctx).province or DEFAULT_PROVINCE


def database_of(ctx: typer.Context) -> str:
    """The ledger the command works on: --city's, as the register has it; else --db (or its
    default)."""
    settings = _settings(ctx)
    if settings.city is None:
        return settings.db or database()
    if settings.db is not None and settings.db != os.environ.get("LEDGER_DB"):
        raise LedgerError(f"--city {settings.city} and --db: give one, the city or its ledger")
    register = ProvinceRegister(province_of(ctx), read_only=True)
    try:
        return register.city(settings.city).db
    finally:
        register.close()


def _after_command(setting: str) -> Callable[[typer.Context, Any, Any], None]:
    """A global option given after the command: it sets what it would have set before."""

    def set_it(ctx: typer.Context, param: Any, value: Any) -> None:
        if value is not None and value is not False:
            setattr(ctx.ensure_object(Settings), setting, value)

    return set_it


class GlobalOptionsGroup(TyperGroup):
    """Takes --db, --actor and --read-only after a command as well as before it
    (`ledger balances --db x.db`), with one meaning: each command gets copies of them."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is None or isinstance(command, TyperGroup):
            return command
        names = {p.name for p in command.params}
        for option in ctx.find_root().command.params:
            if option.name in GLOBAL_OPTIONS and option.name not in names:
                after = copy.copy(option)
                after.expose_value, after.callback = False, _after_command(option.name)
                after.envvar = None  # read once, by the option before the command
                command.params.append(after)
        return command


GROUP: dict[str, Any] = {
    "cls": GlobalOptionsGroup,
    "no_args_is_help": True,
    "context_settings": {"help_option_names": ["-h", "--help"]},
}
"""How every group of commands is made: `ledger` itself and its subcommands."""


def actor(ctx: typer.Context) -> str:
    """The acting user: on PostgreSQL under a writer's login (not the ledger's owner), that
    login, which the database checks each event against, and --actor or LEDGER_ACTOR may
    only repeat; else --actor, else LEDGER_ACTOR, else the login name."""
    settings = _settings(ctx)
    if settings.login is None:
        return settings.actor or getpass.getuser()
    if settings.actor not in (None, settings.login):
        raise LedgerError(
            f"--actor {settings.actor}: this database login is {settings.login}, and writes "
            f"only as {settings.login} (leave out --actor and LEDGER_ACTOR, or give that name)"
        )
    return settings.login


@contextmanager
def open_books(
    ctx: typer.Context, read_only: bool = False, create: bool = False
) -> Iterator[Books]:
    """The books at --db; only the commands that start a ledger `create` one if none is there."""
    settings = _settings(ctx)
    books = Books(database_of(ctx), read_only or settings.read_only, create)
    try:
        settings.login = books.log.acting_login
        yield books
    finally:
        books.close()


def witness_of(ctx: typer.Context) -> Witness | None:
    """The province that witnesses this city's published digests: none without --city,
    and none for a reader, who publishes nothing."""
    settings = _settings(ctx)
    if settings.city is None or settings.read_only:
        return None
    return Witness(province_of(ctx), settings.city)


def publish(ctx: typer.Context, books: Books, on: str, at: Digest | None = None) -> Digest | None:
    """The digest a close, a payout batch or a statement (`on`) stands on: `at`, else the
    log's head, for the command to print. Appended to the file of published digests, if one
    is kept (--digests, LEDGER_DIGESTS), and, for a city of the register (--city), kept by
    the province in its own log, its witness of the city's; a province out of reach is said
    on stderr, for what the city recorded stands."""
    digest = at or head(books.log)
    if digest is None:
        return None
    settings = _settings(ctx)
    if settings.digests is not None:
        try:
            keep_digest(Path(settings.digests), digest, on, settings.city)
        except LedgerError as e:
            err.print(f"warning: {e}; what was recorded stands: publish {digest} by hand")
    province = witness_of(ctx)
    if province is not None:
        missed = province.publish(digest.position, digest.hash, on, actor(ctx), date.today())
        if missed is not None:
            err.print(f"warning: {missed}")
    return digest


DateOption = Annotated[
    str | None, typer.Option("--date", help="Effective business date (YYYY-MM-DD); default today.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]
KnownAtOption = Annotated[
    str | None,
    typer.Option(
        "--as-known-at",
        metavar="POSITION|TIMESTAMP",
        help="As the log stood at this position, or at this recorded date-time (ISO 8601; "
        "UTC unless it has an offset): entries recorded later are left out.",
    ),
]


def period_number(value: int | None) -> int | None:
    """A period number as the scheme numbers them, checked before it reaches a query."""
    if value is not None and value not in PERIOD_NUMBERS:
        raise LedgerError(
            f"period {value}: period numbers run from {PERIOD_NUMBERS[0]} to {PERIOD_NUMBERS[-1]}"
        )
    return value


def parse_date(value: str | None, field: str = "--date") -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise LedgerError(f"{field}: {value!r} is not a date (YYYY-MM-DD)") from None


def parse_percent(value: str, field: str = "--percent") -> Decimal:
    """A percentage as written, exactly ("80", "62.5"), as a rate (0.80, 0.625)."""
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        raise LedgerError(f"{field}: {value!r} is not a percentage (such as 80 or 62.5)") from None
    if not number.is_finite() or not 0 <= number <= 100:
        raise LedgerError(f"{field}: {value!r} is not a percentage from 0 to 100")
    return number / 100


def require_file(out: Path) -> None:
    """--out where only a file will do (a bank file, the SMS hand-over, slips): never -."""
    if str(out) == "-":
        raise LedgerError("--out: this command writes a file, not to standard output (-)")


# Output

out = Console()
err = Console(stderr=True)


def say(line: str) -> None:
    sys.stdout.write(line + "\n")


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False) + "\n")


def filters_note(period: int | None, as_of: str | None, known_at: int | None) -> str:
    """A title's note of what a report was limited to, e.g. " (period 1, as of 2025-06-30)"."""
    parts = [
        *([] if period is None else [f"period {period}"]),
        *([] if as_of is None else [f"as of {as_of}"]),
        *([] if known_at is None else [f"as known at position {known_at}"]),
    ]
    return f" ({', '.join(parts)})" if parts else ""


@contextmanager
def progress_bars() -> Iterator[Progress]:
    """Bars on stderr while a command works, when stderr is a terminal; gone when it ends."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as progress:
        yield progress


def catching_up(
    progress: Progress, books: Books, models: Sequence[Projector] = ()
) -> Callable[[int], None]:
    """A bar for the read models (default: every one) catching up with the log: told the
    position they reach."""
    end = books.log.last_position()
    reached = books.catching_up_from(models)
    task = progress.add_task("catching up the read models", total=end, completed=reached)

    def show(position: int) -> None:  # a command that records moves the end on
        progress.update(task, completed=position, total=max(end, position))

    return show
