"""Feeds, for the staff who bring in the unions' rosters, the premium receipts, the
insurer's settlements and the bank's payout results, as files."""

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from domain.money import fmt
from ledger.application.feeds import ImportRefused, ImportSummary, import_feed
from ledger.cli.common import (
    JsonOption,
    actor,
    open_books,
    parse_date,
    print_json,
    progress_bars,
    say,
)

commands = typer.Typer()

PARTIAL_IMPORT = 3
"""Exit status of an import that --partial completed without its rejects: not 1 (refused,
nothing imported) nor 2 (a usage error), so that a script can tell the three apart."""


@commands.command("import")
def import_(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="enrolments, premiums, claims or payout-results.")],
    file: Annotated[
        Path, typer.Argument(help="CSV or JSON Lines file (UTF-8 or GB18030), or xlsx workbook.")
    ],
    format: Annotated[
        str | None, typer.Option(help="csv, jsonl or xlsx; default: from the file's suffix.")
    ] = None,
    sheet: Annotated[
        str | None, typer.Option(help="The sheet of an xlsx workbook; default: the first.")
    ] = None,
    partial: Annotated[
        bool, typer.Option(help="Import the good records; write the bad ones to --rejects.")
    ] = False,
    rejects: Annotated[
        Path | None,
        typer.Option(
            help="Where --partial writes bad records, in the feed's format (.xlsx for xlsx)."
        ),
    ] = None,
    received: Annotated[
        str | None,
        typer.Option(
            "--date",
            help="The day the feed was received (YYYY-MM-DD; default today): settlements "
            "received after their period's claim deadline are rejected.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Import a feed. By default a feed with any bad record changes nothing.

    Exit status: 0 when every record is imported or already present; 1 when the feed is
    refused and nothing is imported; 3 when --partial imported the good records and left
    rejects in the --rejects file."""
    with open_books(ctx) as books, progress_bars() as progress:
        tasks: dict[str, Any] = {}

        def show(stage: str, done: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=None)
            progress.update(tasks[stage], completed=done)

        try:
            summary = import_feed(
                books,
                kind,
                file,
                actor(ctx),
                format=format,
                sheet=sheet,
                partial=partial,
                rejects_path=rejects,
                progress=show,
                received_on=parse_date(received),
            )
        except ImportRefused as refused:
            progress.stop()
            report_import(refused.summary, as_json)
            raise
    report_import(summary, as_json)
    if summary.rejected:
        raise typer.Exit(PARTIAL_IMPORT)


def report_import(summary: ImportSummary, as_json: bool) -> None:
    if as_json:
        print_json(summary.as_dict())
        return
    for reject in summary.rejects:
        sys.stderr.write(f"{summary.file}: {reject}\n")
    say(
        f"{summary.file}: read {summary.read}, imported {summary.imported}, already present "
        f"{summary.already_present}, rejected {summary.rejected}."
    )
    for name, amount in sorted(summary.amounts.items()):
        say(f"  {name.replace('_', ' ')}: {fmt(amount)} yuan")
    counted = "members" if summary.kind == "enrolments" else "claims"
    for name, count in sorted(summary.counts.items()):
        say(f"  {counted} {name.replace('_', ' ')}: {count}")
