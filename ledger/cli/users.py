"""Users and their roles, for the scheme's admins: roles granted and revoked, who holds
which, and the commands refused for want of a duty."""

from typing import Annotated

import typer

from domain.duties import ROLES
from domain.errors import LedgerError
from ledger.application.books import Books
from ledger.cli.common import (
    GROUP,
    DateOption,
    JsonOption,
    actor,
    open_books,
    out,
    parse_date,
    print_json,
    say,
)
from ledger.store.recorders import GuardedPostgresRecorder

users_cli = typer.Typer(
    help="Grant and revoke users' roles; list them, and the refused commands.",
    **GROUP,
)


@users_cli.command("grant")
def users_grant(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="User name, as they give it with --actor.")],
    role: Annotated[str, typer.Argument(help=f"One of: {', '.join(ROLES)}.")],
    on: DateOption = None,
    login: Annotated[
        bool,
        typer.Option(
            "--login",
            help="PostgreSQL: also let the database login USER (made if missing, with no "
            "password) write this ledger, as USER only; run by the ledger's owner.",
        ),
    ] = False,
) -> None:
    """Give a user a role (admins only). With --login, a role the user already holds is
    left as it is, and only their login made a writer: how the users of a ledger older
    than logins get theirs."""
    name = user.strip()
    with open_books(ctx) as books:
        writers = writer_recorder(books, "--login") if login else None
        held = role in books.app.scheme().roles.get(name, set())
        if writers is not None and held:
            books.app.authorise(actor(ctx), "grant_role")
        else:
            books.app.grant_role(user, role, actor(ctx), parse_date(on))
        if writers is not None:
            writers.grant_writer(name)
    out.print(f"{name} already has {role}." if login and held else f"Granted {role} to {name}.")
    if login:
        out.print(f"{name} may log in to the database and write this ledger, as itself.")


@users_cli.command("revoke")
def users_revoke(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str, typer.Argument(help="The role to take away.")],
    on: DateOption = None,
) -> None:
    """Take a role away from a user (admins only); with the last, on PostgreSQL, their
    login's right to write this ledger."""
    with open_books(ctx) as books:
        books.app.revoke_role(user, role, actor(ctx), parse_date(on))
        recorder = books.app.recorder
        if isinstance(recorder, GuardedPostgresRecorder) and not books.app.scheme().roles.get(
            user.strip()
        ):
            recorder.revoke_writer(user.strip())
    out.print(f"Revoked {role} from {user.strip()}.")


@users_cli.command("list")
def users_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The users and their roles."""
    with open_books(ctx, read_only=True) as books:
        roles = books.app.scheme().roles
    users = {user: sorted(held) for user, held in sorted(roles.items())}
    if as_json:
        print_json({"users": users})
        return
    for user, held in users.items():
        say(f"{user}: {', '.join(held)}")


@users_cli.command("refusals")
def users_refusals(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Commands refused for want of a duty, oldest first (each an event of the log)."""
    with open_books(ctx, read_only=True) as books:
        refusals = books.app.refusals()
    if as_json:
        print_json({"refusals": [r.as_dict() for r in refusals]})
        return
    for r in refusals:
        say(f"{r.at}  {r.actor}  {r.command}: {r.reason}")
    say(f"{len(refusals)} refused command(s).")


def writer_recorder(books: Books, option: str) -> GuardedPostgresRecorder:
    """The recorder that manages the database's logins: PostgreSQL's only."""
    recorder = books.app.recorder
    if not isinstance(recorder, GuardedPostgresRecorder):
        raise LedgerError(
            f"{option} is for PostgreSQL; an SQLite ledger has no logins: whoever may open its "
            "file may write it (docs/roles.md)"
        )
    return recorder
