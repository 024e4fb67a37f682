"""The audit, for auditors, boards and whoever keeps the database: the chain's published
digest and its verification, trails of events, read access for a reader, and rebuilding
the read models."""

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import TaskID
from rich.table import Table

from domain.errors import LedgerError
from domain.money import fmt
from ledger.cli.common import (
    GROUP,
    DateOption,
    JsonOption,
    KnownAtOption,
    actor,
    catching_up,
    filters_note,
    open_books,
    out,
    parse_date,
    period_number,
    print_json,
    progress_bars,
    say,
)
from ledger.reports.audit import head, problems_of, published_digests, verification, verify
from ledger.reports.trails import (
    TrailEntry,
    known_at_position,
    save_trail_csv,
    trail,
    write_trail_csv,
)
from ledger.store.recorders import GuardedPostgresRecorder

audit_cli = typer.Typer(
    help="Prove the books: the hash chain, replay of the read models, trails.",
    **GROUP,
)
projections_cli = typer.Typer(help="Maintain the read models.", **GROUP)


@audit_cli.command("digest")
def audit_digest(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Print the head of the hash chain (POSITION:HASH), to be published."""
    with open_books(ctx, read_only=True) as books:
        digest = head(books.log)
    if digest is None:
        raise LedgerError("the log is empty: there is nothing to digest yet")
    if as_json:
        print_json({"position": digest.position, "hash": digest.hash, "digest": str(digest)})
    else:
        say(str(digest))


@audit_cli.command("verify")
def audit_verify(
    ctx: typer.Context,
    digest: Annotated[
        str | None,
        typer.Option(
            help="POSITION:HASH published earlier, or a file of them (as --digests keeps "
            "it): the log up to each must match."
        ),
    ] = None,
    partial: Annotated[
        bool,
        typer.Option(
            "--partial",
            help="Accept a check of less than the whole log: under --read-only, read models "
            "that lag behind the log are compared only as far as they have got.",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Recompute the hash chain from the first event, and rebuild every read model from the
    log in memory and compare it with the live one, after catching the live ones up (not
    under --read-only). Exit status 1 if anything differs, or if less than the whole log
    was compared (a read model lagging under --read-only) without --partial."""
    published = [] if digest is None else published_digests(digest)
    with open_books(ctx) as books, progress_bars() as progress:
        total = books.log.last_position()
        if books.db.writable:
            catch_up_task = progress.add_task("catching up the read models", total=total)
            books.catch_up(lambda p: progress.update(catch_up_task, completed=p))
        chain_task = progress.add_task("checking the hash chain", total=total)
        replay_task = progress.add_task("replaying the read models", total=total)
        chain, replay = verify(
            books,
            published,
            lambda p: progress.update(chain_task, completed=p),
            lambda p: progress.update(replay_task, completed=p),
        )
    problems = problems_of(chain, replay)
    end = 0 if chain.head is None else chain.head.position
    lagging = replay.lagging(end)
    if as_json:
        print_json(verification(chain, replay, partial))
    else:
        say(f"Hash chain: {chain.checked} events checked, head {chain.head or 'none'}.")
        for given, matches in chain.digests.items():
            say(f"Published digest {given}: {'matches' if matches else 'DIFFERS'}.")
        for name, position in replay.positions.items():
            behind = (
                f"; it has not yet projected {position + 1} to {end}, so they are not compared"
                if name in lagging
                else ""
            )
            say(f"Read model {name}: replayed to position {position} and compared{behind}.")
        for problem in problems:
            say(f"  DIFFERS {problem}")
    if problems:
        raise LedgerError(f"verification failed: {len(problems)} problem(s), listed above")
    if lagging and not partial:
        raise LedgerError(
            f"verification incomplete: {', '.join(lagging)} compared only up to position "
            f"{min(lagging.values())} of {end}; run it without --read-only to catch the read "
            "models up first, or pass --partial to accept a partial check"
        )
    if as_json:
        return
    if lagging:
        say(
            "Verified in part: the log is intact, and every read model equals its replay as "
            "far as it has projected (positions not compared are listed above)."
        )
    else:
        say("Verified: the log is intact and every read model equals its replay.")


@audit_cli.command("trail")
def audit_trail(
    ctx: typer.Context,
    member: Annotated[str | None, typer.Option(help="Every event of this member.")] = None,
    claim: Annotated[str | None, typer.Option(help="Every event of this claim.")] = None,
    county: Annotated[
        str | None,
        typer.Option(
            help="Every event that posted into this county (CITY: the city pool) in --period, "
            "with the scheme's own events of that period."
        ),
    ] = None,
    period: Annotated[
        int | None, typer.Option(help="The period, with --county.", callback=period_number)
    ] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Only events effective on or before this date.")
    ] = None,
    as_known_at: KnownAtOption = None,
    as_csv: Annotated[
        bool, typer.Option("--csv", help="CSV, one row per posting, for spreadsheets.")
    ] = False,
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="With --csv, the file to write, in UTF-8 with a BOM; standard output "
            "without it, or with -.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Every event of a member, a claim, or a county's period, in log order: when it was
    recorded, its effective date, actor, amounts and the postings it made."""
    if as_csv and as_json:
        raise LedgerError("--csv and --json: choose one")
    if out_file is not None and not as_csv:
        raise LedgerError("--out: the trail is written to a file as CSV: add --csv")
    on = None if as_of is None else parse_date(as_of, "--as-of")
    with open_books(ctx, read_only=True) as books, progress_bars() as progress:
        known_at = known_at_position(books, as_known_at)
        caught_up = None if county is None else catching_up(progress, books, (books.balances,))
        entries = trail(books, member, claim, county, period, known_at, on, caught_up)
    if as_csv and (out_file is None or str(out_file) == "-"):
        write_trail_csv(entries, sys.stdout)
    elif as_csv and out_file is not None:
        rows = save_trail_csv(entries, out_file)
        say(f"Wrote {len(entries)} events in {rows} rows to {out_file}.")
    elif as_json:
        print_json(
            {
                "selection": {"member": member, "claim": claim, "county": county, "period": period},
                "filters": {"as_of": None if on is None else on.isoformat(), "known_at": known_at},
                "events": [e.as_dict() for e in entries],
            }
        )
    else:
        if member is not None:
            subject = f"member {member}"
        elif claim is not None:
            subject = f"claim {claim}"
        else:
            subject = f"county {county}, period {period}"
        note = filters_note(None, None if on is None else on.isoformat(), known_at)
        print_trail(f"Trail of {subject}{note}", entries)


def print_trail(title: str, entries: list[TrailEntry]) -> None:
    table = Table(title=title, show_lines=True)
    for column in ("position", "recorded at", "effective", "event", "actor", "member", "claim"):
        table.add_column(column)
    table.add_column("amounts", justify="right")
    table.add_column("postings")
    for e in entries:
        table.add_row(
            str(e.position),
            e.recorded_at or "",
            e.effective_date.isoformat(),
            e.event,
            e.actor,
            e.member or "",
            e.claim or "",
            "\n".join(f"{name} {fmt(amount)}" for name, amount in e.amounts.items()),
            "\n".join(
                f"{p.entity} {p.account} {'Dr' if p.amount > 0 else 'Cr'} {fmt(abs(p.amount))}"
                for p in e.postings
            ),
        )
    wide = out if out.is_terminal else Console(width=max(out.width, 200))
    wide.print(table)
    out.print(f"{len(entries)} events.")


@audit_cli.command("seal")
def audit_seal(
    ctx: typer.Context,
    reason: Annotated[
        str, typer.Option(help="Who verified the log, and when: kept in the seal's event.")
    ],
    on: DateOption = None,
) -> None:
    """Link the log's events that have no link in the hash chain, as of now, with an event
    that records it (admins only). For a ledger recorded before the chain existed, once an
    auditor has verified it: a chain emptied or cut is tampering (docs/audit.md)."""
    with open_books(ctx) as books:
        first, last = books.app.seal_history(reason, actor(ctx), parse_date(on))
    say(f"Sealed positions {first} to {last} of the log, recorded in the event after them.")


@audit_cli.command("grant-reader")
def audit_grant_reader(
    ctx: typer.Context,
    role: Annotated[
        str, typer.Argument(help="An existing PostgreSQL role (CREATE ROLE ... LOGIN).")
    ],
) -> None:
    """Give a PostgreSQL role read-only access to this ledger, for auditors and boards."""
    with open_books(ctx) as books:
        recorder = books.app.recorder
        if not isinstance(recorder, GuardedPostgresRecorder):
            raise LedgerError(
                "grant-reader is for PostgreSQL; on SQLite give readers a copy of the file, "
                "read with --read-only (docs/audit.md)"
            )
        recorder.grant_read_only(role)
    say(f"{role} may now read this ledger, and change nothing.")


@projections_cli.command("rebuild")
def projections_rebuild(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Rebuild every read model from the event log (the SMS outbox keeps what it has)."""
    with open_books(ctx) as books, progress_bars() as progress:
        total = books.log.last_position()
        for projector in books.projectors:
            task = progress.add_task(f"rebuilding {projector.model.name}", total=total)

            def show(position: int, task: TaskID = task) -> None:
                progress.update(task, completed=position)

            projector.rebuild(on_batch=show)
    if as_json:
        print_json({"read_models": [p.model.name for p in books.projectors], "events": total})
        return
    say(f"Rebuilt {len(books.projectors)} read models from {total} events.")
