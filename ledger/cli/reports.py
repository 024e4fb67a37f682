"""Reports, for the boards, the unit unions and anyone checking a figure: balances and how
one is made up, the period statement, screening slips, disclosure to a unit, the benefit a
policy gives, the chart of accounts, and a demonstration that fills a ledger to look at."""

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from domain.accounts import CHART, PREMIUM_INCOME
from domain.errors import LedgerError
from domain.money import fmt, non_negative
from domain.policy import calculate_benefit
from ledger.application.demo import check_demo, run_demo
from ledger.application.policies import load_preset
from ledger.cli.claims import claim_cli
from ledger.cli.common import (
    JsonOption,
    KnownAtOption,
    catching_up,
    filters_note,
    open_books,
    out,
    parse_date,
    period_number,
    print_json,
    progress_bars,
    publish,
    require_file,
    say,
)
from ledger.reports.audit import Digest
from ledger.reports.benefit_notice import benefit_notice
from ledger.reports.disclosure import disclosure
from ledger.reports.figures import Provenance
from ledger.reports.render import FORMATS
from ledger.reports.render import write as write_document
from ledger.reports.render.document import (
    Document,
    benefit_notice_document,
    disclosure_document,
    screening_document,
    statement_document,
    summary_document,
)
from ledger.reports.screening import screening
from ledger.reports.statement import statement
from ledger.reports.summary import parse_periods, parse_sources, summary
from ledger.reports.trails import Explanation, explain, known_at_position

commands = typer.Typer()

WrittenJsonOption = Annotated[
    bool,
    typer.Option("--json", help="Print what was written as JSON: files, log position, digest."),
]
DocumentOutOption = Annotated[
    Path | None,
    typer.Option(
        "--out", "-o", help="File to write; json goes to standard output without it, or with -."
    ),
]


@commands.command("balances")
def balances(
    ctx: typer.Context,
    county: Annotated[
        str | None, typer.Option(help="Only this county (with --explain, CITY: the city pool).")
    ] = None,
    period: Annotated[
        int | None, typer.Option(help="Only postings of this period.", callback=period_number)
    ] = None,
    as_of: Annotated[
        str | None, typer.Option(help="Only postings effective on or before this date.")
    ] = None,
    as_known_at: KnownAtOption = None,
    explain_account: Annotated[
        str | None,
        typer.Option(
            "--explain",
            metavar="ACCOUNT",
            help="List the postings that make up this account's balance (needs --county).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Balances per county, of the city pool and for the whole city: as of a business date,
    as known at a point of the log, or explained posting by posting."""
    on = None if as_of is None else parse_date(as_of, "--as-of")
    if explain_account is not None and county is None:
        raise LedgerError("--explain needs --county: a county code, or CITY for the city pool")
    with open_books(ctx) as books, progress_bars() as progress:
        known_at = known_at_position(books, as_known_at)
        caught_up = catching_up(progress, books, (books.balances,))
        if explain_account is not None and county is not None:
            explanation = explain(books, county, explain_account, period, on, known_at, caught_up)
            scheme = books.app.scheme().name
        else:
            report = books.report(county, period, on, known_at, caught_up)
    if explain_account is not None:
        if as_json:
            print_json({"scheme": scheme, **explanation.as_dict()})
        else:
            print_explanation(scheme, explanation)
    elif as_json:
        print_json(report)
    else:
        print_balances(report)


def print_balances(report: dict[str, Any]) -> None:
    columns = {code: c["accounts"] for code, c in report["counties"].items()}
    surpluses = {code: c["surplus"] for code, c in report["counties"].items()}
    for key, label in (("city_pool", "CITY pool"), ("city", "City total")):
        if key in report:
            columns[label] = report[key]["accounts"]
            surpluses[label] = report[key]["surplus"]
    filters = report["filters"]
    note = filters_note(filters["period"], filters["as_of"], filters.get("known_at"))
    table = Table(title=f"{report['scheme']}: balances in yuan{note}", show_lines=False)
    table.add_column("account")
    for name in columns:
        table.add_column(name, justify="right")
    for account in next(iter(columns.values())):
        table.add_row(account, *(col[account] for col in columns.values()))
    table.add_row("[bold]surplus (deficit)[/bold]", *surpluses.values())
    wide = out if out.is_terminal else Console(width=max(out.width, 30 + 14 * len(columns)))
    wide.print(table)
    out.print(f"Trial balance (debits - credits): {report['trial_balance']}")
    out.print(f"As known at log position {report['position']}.")


def print_explanation(scheme: str, explanation: Explanation) -> None:
    f = explanation.filters
    note = filters_note(f.period, None if f.as_of is None else f.as_of.isoformat(), f.known_at)
    what = f"{explanation.entity} {explanation.account}"
    table = Table(title=f"{scheme}: {what} in yuan{note}")
    for column in ("position", "recorded at", "effective", "event", "period"):
        table.add_column(column)
    table.add_column("amount", justify="right")
    for p in explanation.postings:
        table.add_row(
            str(p.position),
            p.recorded_at or "",
            p.effective_date.isoformat(),
            p.event,
            str(p.period),
            fmt(p.amount),
        )
    wide = out if out.is_terminal else Console(width=max(out.width, 120))
    wide.print(table)
    out.print(
        f"Total of {len(explanation.postings)} postings: {fmt(explanation.total)}, "
        f"the balance of {what}."
    )


@commands.command("benefit")
def benefit(
    preset: Annotated[str, typer.Argument(help="Preset name, e.g. pinghu.")],
    self_paid: Annotated[str, typer.Argument(help="Eligible self-paid amount in yuan.")],
    period: Annotated[
        int, typer.Option(help="Period whose policy applies.", callback=period_number)
    ] = 1,
    group: Annotated[str | None, typer.Option(help="Member group, e.g. hardship.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Calculate the benefit for an eligible self-paid amount under a preset's policy."""
    policy = load_preset(preset).policy_for(period)
    if group is not None and group not in policy.benefit.groups:
        raise LedgerError(f"--group: {group!r} is no member group of {policy.version}")
    calculation = calculate_benefit(policy.benefit, self_paid, group)
    if as_json:
        print_json({"preset": preset, "policy_version": policy.version, **calculation.as_dict()})
        return
    table = Table(title=f"{policy.version}: benefit for {calculation.eligible} yuan")
    for column in ("band", "base", "rate", "amount"):
        table.add_column(column, justify="right")
    for band in calculation.bands:
        upper = "" if band.upper is None else str(band.upper)
        table.add_row(f"{band.lower}-{upper}", str(band.base), str(band.rate), str(band.amount))
    out.print(table)
    if calculation.cap_applied:
        out.print(f"Capped at {calculation.cap_remaining}.")
    out.print(f"Benefit: [bold]{calculation.benefit}[/bold]")


@commands.command("accounts")
def accounts(as_json: JsonOption = False) -> None:
    """The chart of accounts every county and the city pool keep."""
    if as_json:
        chart = [
            {
                "account": a.name,
                "kind": a.kind,
                "holds": a.description,
                "by_source": a.name == PREMIUM_INCOME,
            }
            for a in CHART
        ]
        print_json({"accounts": chart})
        return
    table = Table(title="Chart of accounts")
    for column in ("account", "kind", "holds"):
        table.add_column(column)
    for account in CHART:
        name = f"{account.name}:<source>" if account.name == PREMIUM_INCOME else account.name
        table.add_row(name, account.kind, account.description)
    out.print(table)


def check_format(value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise LedgerError(f"--format: {value!r} is not one of {', '.join(allowed)}")
    return value


def document_path(out: Path | None, format: str, as_json: bool) -> Path | None:
    """The file a document goes to, or None for standard output (json only, with no --out
    or with --out -); checked before any work is done."""
    if out is not None and str(out) != "-":
        return out
    if format != "json":
        raise LedgerError(f"--out: a {format} file needs a path to be written to")
    if as_json:
        raise LedgerError("--json: the document itself goes to standard output; give --out FILE")
    return None


def write_file(
    data: dict[str, Any], document: Callable[[], Document], format: str, path: Path
) -> None:
    """A document's file: its figures as JSON, or the document drawn in `format`."""
    if format == "json":
        path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    else:
        write_document(document(), format, path)


def _written(what: str, at: Provenance, path: Path, as_json: bool) -> None:
    if as_json:
        print_json({"files": [str(path)], **at.as_dict()})
    else:
        say(
            f"Wrote {what}, as known at log position {at.position} (digest {at.digest}), to {path}."
        )


@commands.command("statement")
def statement_(
    ctx: typer.Context,
    period: Annotated[int, typer.Option(help="Period number.", callback=period_number)],
    format: Annotated[str, typer.Option(help="html, pdf, xlsx or json.")],
    out: DocumentOutOption = None,
    county: Annotated[
        str | None, typer.Option(help="Only this county; default: the whole city.")
    ] = None,
    as_known_at: KnownAtOption = None,
    largest: Annotated[int, typer.Option(help="How many of the largest claims to list.")] = 10,
    units: Annotated[
        bool, typer.Option("--units", help="Add the table of all units (JSON always has it).")
    ] = False,
    as_json: WrittenJsonOption = False,
) -> None:
    """The period statement for the boards: figures per county and for the city, as the log
    stood at a position, with that position and the chain's digest there."""
    check_format(format, (*FORMATS, "json"))
    path = document_path(out, format, as_json)
    with open_books(ctx) as books, progress_bars() as progress:
        known_at = known_at_position(books, as_known_at)
        found = statement(books, period, county, known_at, largest, catching_up(progress, books))
        publish(ctx, books, "statement", Digest(found.provenance.position, found.provenance.hash))
    if path is None:
        print_json(found.as_dict())
        return
    write_file(found.as_dict(), lambda: statement_document(found, units), format, path)
    _written(f"the period {period} statement", found.provenance, path, as_json)


@commands.command("summary")
def summary_(
    ctx: typer.Context,
    periods: Annotated[str, typer.Option(help="FIRST-LAST, say 1-14.")],
    format: Annotated[str, typer.Option(help="html, pdf, xlsx or json.")],
    out: DocumentOutOption = None,
    county: Annotated[
        str | None, typer.Option(help="Only this county; default: the whole city.")
    ] = None,
    per_head_sources: Annotated[
        str | None,
        typer.Option(
            help="Funding sources the premium per member counts, comma-separated "
            "(say worker,union:city); default: all."
        ),
    ] = None,
    as_known_at: KnownAtOption = None,
    as_json: WrittenJsonOption = False,
) -> None:
    """A summary over several periods for the boards: each period's figures in a row of its
    own, the totals, and per member figures, as the log stood at a position."""
    check_format(format, (*FORMATS, "json"))
    first, last = parse_periods(periods)
    sources = parse_sources(per_head_sources)
    path = document_path(out, format, as_json)
    with open_books(ctx) as books:
        found = summary(books, first, last, county, known_at_position(books, as_known_at), sources)
    if path is None:
        print_json(found.as_dict())
        return
    write_file(found.as_dict(), lambda: summary_document(found), format, path)
    _written(f"the summary of periods {first} to {last}", found.provenance, path, as_json)


@claim_cli.command("explain")
def claim_explain(
    ctx: typer.Context,
    claim: Annotated[str, typer.Argument(help="Claim id.")],
    format: Annotated[str, typer.Option(help="html, pdf, xlsx or json.")] = "json",
    out: DocumentOutOption = None,
    as_known_at: KnownAtOption = None,
    as_json: WrittenJsonOption = False,
) -> None:
    """The explanation of benefit for the member (补助说明).

    The bill as insurance settled it, the bands the policy applied, the cap used and left,
    and what was paid, as the log stood at a position."""
    check_format(format, (*FORMATS, "json"))
    path = document_path(out, format, as_json)
    with open_books(ctx) as books:
        found = benefit_notice(books, claim, known_at_position(books, as_known_at))
    if path is None:
        print_json(found.as_dict())
        return
    write_file(found.as_dict(), lambda: benefit_notice_document(found), format, path)
    _written(f"the explanation of benefit of claim {claim}", found.provenance, path, as_json)


@commands.command("screening")
def screening_(
    ctx: typer.Context,
    period: Annotated[int, typer.Option(help="Period number.", callback=period_number)],
    threshold: Annotated[
        str, typer.Option(help="Eligible self-paid costs in the period above this (yuan).")
    ],
    format: Annotated[str, typer.Option(help="html or pdf.")],
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="With --unit, the file; without, a directory for one per unit."
        ),
    ],
    frequent: Annotated[
        int | None, typer.Option(help="Also members with at least this many claims.")
    ] = None,
    unit: Annotated[str | None, typer.Option(help="Only this unit's slips.")] = None,
    county: Annotated[
        str | None,
        typer.Option(
            help="The unit's county, needed when units of that name are enrolled in more "
            "than one; without --unit, only this county's units."
        ),
    ] = None,
    as_known_at: KnownAtOption = None,
    as_json: WrittenJsonOption = False,
) -> None:
    """Referral slips (反馈单) for the unit unions: members whose self-paid costs exceed the
    threshold or who claim often. A unit is a name within a county; a unit's file names its
    own members, and only them."""
    check_format(format, ("html", "pdf"))
    limit = non_negative(threshold, "--threshold")
    require_file(out)
    with open_books(ctx) as books, progress_bars() as progress:
        known_at = known_at_position(books, as_known_at)
        found = screening(
            books, period, limit, frequent, unit, known_at, county, catching_up(progress, books)
        )
    files = []
    if found.unit is not None:
        write_document(screening_document(found, found.unit), format, out)
        files.append((out, found.unit, len(found.slips.get(found.unit, []))))
    else:
        if out.exists() and not out.is_dir():
            raise LedgerError(f"--out: {out} is a file; without --unit it names a directory")
        out.mkdir(parents=True, exist_ok=True)
        names: set[str] = set()
        with progress_bars() as progress:
            task = progress.add_task("writing the units' slips", total=len(found.slips))
            for each, slips in found.slips.items():
                name = _unit_file(f"screening-{period}", each.county, each.name, format, names)
                write_document(screening_document(found, each), format, out / name)
                files.append((out / name, each, len(slips)))
                progress.advance(task)
    if as_json:
        print_json(
            {
                "files": [str(path) for path, _, _ in files],
                "units": [
                    {"file": str(path), "unit": u.name, "county": u.county, "slips": n}
                    for path, u, n in files
                ],
                **found.provenance.as_dict(),
            }
        )
        return
    if found.unit is not None:
        what = f"{files[0][2]} referral slip(s) for {found.unit.name} ({found.unit.county})"
        _written(what, found.provenance, out, as_json)
        return
    for path, each, count in files:
        say(f"{path}\t{each.name}\t{each.county}\t{count} slip(s)")
    say(
        f"{sum(len(s) for s in found.slips.values())} member(s) in {len(found.slips)} unit(s), "
        f"as known at log position {found.provenance.position} "
        f"(digest {found.provenance.digest})."
    )


def _unit_file(prefix: str, county: str, unit: str, format: str, taken: set[str]) -> str:
    """A file name for a unit's document: its county and name with anything unsafe in a
    path replaced; two units that read the same get -2, -3, ..."""

    def safe(text: str, otherwise: str) -> str:
        return re.sub(r"[^\w.-]+", "_", text).strip("._") or otherwise

    slug = f"{safe(county, 'county')}-{safe(unit, 'unit')}"
    name, n = f"{prefix}-{slug}.{format}", 2
    while name in taken:
        name, n = f"{prefix}-{slug}-{n}.{format}", n + 1
    taken.add(name)
    return name


@commands.command("disclosure")
def disclosure_(
    ctx: typer.Context,
    period: Annotated[int, typer.Option(help="Period number.", callback=period_number)],
    unit: Annotated[str, typer.Option(help="The unit, as enrolled.")],
    format: Annotated[str, typer.Option(help="html, pdf or json.")],
    out: DocumentOutOption = None,
    county: Annotated[
        str | None,
        typer.Option(help="The unit's county, needed when units of that name are in several."),
    ] = None,
    as_known_at: KnownAtOption = None,
    as_json: WrittenJsonOption = False,
) -> None:
    """Disclosure to a unit (信息公开): its members enrolled, premiums, claims and benefits
    beside the whole city's; members masked. A unit is a name within a county."""
    check_format(format, ("html", "pdf", "json"))
    path = document_path(out, format, as_json)
    with open_books(ctx) as books, progress_bars() as progress:
        known_at = known_at_position(books, as_known_at)
        found = disclosure(books, period, unit, known_at, county, catching_up(progress, books))
    if path is None:
        print_json(found.as_dict())
        return
    write_file(found.as_dict(), lambda: disclosure_document(found), format, path)
    what = f"the disclosure to {found.unit.name} ({found.unit.county})"
    _written(what, found.provenance, path, as_json)


@commands.command("demo")
def demo(
    ctx: typer.Context,
    preset: Annotated[str, typer.Option(help="Preset to simulate.")] = "pinghu",
    counties: Annotated[int, typer.Option(help="Number of counties.")] = 4,
    members: Annotated[int, typer.Option(help="Number of members.")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same books.")] = 1,
) -> None:
    """Simulate a coverage period and print the balances."""
    check_demo(preset, counties, members)
    with open_books(ctx, create=True) as books, progress_bars() as progress:
        tasks: dict[str, Any] = {}

        def show(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done)

        summary = run_demo(books, preset, counties, members, seed, show)
        report = books.report()
    out.print(
        f"Simulated {summary.members} members, {summary.claims} claims "
        f"({summary.approved} approved, {summary.rejected} rejected), {summary.payouts} payouts "
        f"({summary.returned} returned); period 1 closed."
    )
    print_balances(report)
