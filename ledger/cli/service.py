"""The HTTP service (docs/service.md): `ledger serve`, and its users' tokens."""

import sys
from typing import Annotated

import typer

from ledger.cli.common import GROUP, actor, database_of, err, open_books, say, witness_of

commands = typer.Typer()
service_cli = typer.Typer(help="The HTTP service's tokens: issue and revoke them.", **GROUP)


@service_cli.command("token")
def token(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="The user the token logs in as.")],
) -> None:
    """Issue a token for a user of the scheme (admins only); it is shown this once."""
    with open_books(ctx) as books:
        secret = books.app.issue_token(user, actor(ctx))
    say(secret)
    err.print(f"A token for {user}: give it to them; it is not shown again.")


@service_cli.command("revoke")
def revoke(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="Whose tokens to revoke.")],
) -> None:
    """Revoke every token of a user (admins only)."""
    with open_books(ctx) as books:
        live = books.app.revoke_tokens(user, actor(ctx))
    say(f"Revoked {live} token{'' if live == 1 else 's'} of {user}.")


@commands.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    admin: Annotated[
        str | None,
        typer.Option(
            envvar="LEDGER_ADMIN",
            help="An admin of the scheme to issue a first token to, shown once at start; "
            "asked for when no token exists yet and the terminal can answer.",
        ),
    ] = None,
) -> None:
    """Serve the ledger over HTTP to finance systems (docs/service.md). With --city, the
    province witnesses each statement handed out, as for the city's own commands."""
    import uvicorn

    from ledger.service.api import create_app

    app = create_app(database_of(ctx), witness_of(ctx))
    service = app.state.service
    ledger = service.books.app
    if admin is None and sys.stdin.isatty() and not ledger.service.has_tokens():
        admin = typer.prompt("No token exists yet. First admin's name (blank: none)", "") or None
    if admin is not None:
        say(ledger.issue_token(admin, admin))
        sys.stdout.flush()  # a script reading the token must not wait for the server to stop
        err.print(f"That is a token for {admin}, shown this once.")
    err.print(
        f"Serving the ledger at http://{host}:{port}/ (OpenAPI at /docs; "
        "pages for boards and finance at /pages/)"
    )
    uvicorn.run(app, host=host, port=port, log_level="info")
