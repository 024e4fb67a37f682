"""The province, for its staff and its board: the register of city funds (`ledger cities`),
and the cities side by side, verified and witnessed (`ledger province`). Each city's own
commands are the usual ones, run with `--city CODE`."""

from typing import Annotated

import typer

from domain.errors import LedgerError
from ledger.application.books import Books
from ledger.application.province import ProvinceRegister, register_to_change
from ledger.cli.common import (
    GROUP,
    DateOption,
    JsonOption,
    actor,
    out,
    parse_date,
    print_json,
    province_of,
    say,
)
from ledger.cli.reports import DocumentOutOption, check_format, document_path, write_file
from ledger.reports.province import (
    parse_positions,
    province_statement,
    province_verification,
    witness_cities,
)
from ledger.reports.render import FORMATS
from ledger.reports.render.document import province_document
from ledger.store.config import shown

cities_cli = typer.Typer(help="The register of the city funds a province oversees.", **GROUP)
province_cli = typer.Typer(
    help="The cities side by side: statements, verification, the province's witness.", **GROUP
)


@cities_cli.command("add")
def cities_add(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="The city's code: ZS, TZ, LS.")],
    name: Annotated[str, typer.Option(help="The city's name: 舟山 Zhoushan.")],
    ledger: Annotated[
        str, typer.Option(help="The city's ledger: SQLite file or postgresql:// URL.")
    ],
    on: DateOption = None,
) -> None:
    """Register a city's fund, whose ledger must be there already (with its scheme)."""
    Books(ledger, read_only=True, create=False).close()  # refused if there is none
    with register_to_change(province_of(ctx)) as register:
        register.add_city(code, name, ledger, actor(ctx), parse_date(on))
    say(f"Registered city {code} ({name}) at {shown(ledger)}.")


@cities_cli.command("move")
def cities_move(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="The city's code.")],
    ledger: Annotated[str, typer.Option(help="Where its ledger is now.")],
    on: DateOption = None,
) -> None:
    """Record that a city's ledger is at another address now (restored onto another server):
    it must be there, and verify against the city's digests (`ledger province verify`)."""
    Books(ledger, read_only=True, create=False).close()  # refused if there is none
    with register_to_change(province_of(ctx)) as register:
        register.move_city(code, ledger, actor(ctx), parse_date(on))
    say(f"City {code}'s ledger is at {shown(ledger)} now.")


@cities_cli.command("list")
def cities_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The cities of the register, by code."""
    register = ProvinceRegister(province_of(ctx), read_only=True)
    try:
        cities = register.cities()
    finally:
        register.close()
    if as_json:
        print_json([{"code": c.code, "name": c.name, "ledger": shown(c.db)} for c in cities])
        return
    for city in cities:
        out.print(f"{city.code}: {city.name}, {shown(city.db)}")


@province_cli.command("statement")
def province_statement_command(
    ctx: typer.Context,
    year: Annotated[int, typer.Option("--period", help="The year: each city's period of it.")],
    format: Annotated[str, typer.Option(help="html, pdf, xlsx or json.")] = "json",
    output: DocumentOutOption = None,
    known_at: Annotated[
        list[str] | None,
        typer.Option("--known-at", help="CITY=POSITION: a city's column as its log stood there."),
    ] = None,
) -> None:
    """Each city's figures for the year side by side, with totals, ranks and the year
    before; each column at a log position of its city, with its digest. Reproducible: the
    same positions give the same document."""
    check_format(format, (*FORMATS, "json"))
    positions = parse_positions(known_at or [])
    path = document_path(output, format, False)
    register = ProvinceRegister(province_of(ctx), read_only=True)
    try:
        found = province_statement(register, year, positions)
    finally:
        register.close()
    if path is None:
        print_json(found.as_dict())
        return
    write_file(found.as_dict(), lambda: province_document(found), format, path)
    at = ", ".join(f"{c.code} {c.provenance.digest}" for c in found.cities)
    say(f"Wrote the province statement of {year}, as known at {at}, to {path}.")


@province_cli.command("verify")
def province_verify(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The province's own log (its chain), then each city's verification (its chain and
    read models) and every digest of it the province witnessed. Exit status 1 if the
    province's log or any city fails, or a city is out of reach."""
    register = ProvinceRegister(province_of(ctx), read_only=True)
    try:
        found = province_verification(register)
    finally:
        register.close()
    if as_json:
        print_json(found.as_dict())
    else:
        for line in found.lines():
            say(line)
    failed = found.failed
    if failed:
        raise LedgerError(f"verification failed for {', '.join(failed)}")


@province_cli.command("witness")
def province_witness(ctx: typer.Context, on: DateOption = None) -> None:
    """Record each city's digest now in the province's log (the city's own commands that
    publish one, `period close`, `payouts export` and `statement`, are witnessed too when
    run with --city)."""
    with register_to_change(province_of(ctx)) as register:
        found = witness_cities(register, actor(ctx), parse_date(on))
    for code, digest, why in found:
        say(f"Witnessed {code} at {digest}." if why is None else f"{code}: NOT WITNESSED: {why}")
    missed = [code for code, _, why in found if why is not None]
    if missed:
        raise LedgerError(f"not witnessed: {', '.join(missed)}")
