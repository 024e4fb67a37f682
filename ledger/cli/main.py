"""The `ledger` command line. Thin: it parses, calls the application and prints."""

import copy
import getpass
import json
import os
import re
import sqlite3
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, Any

import psycopg
import typer
from eventsourcing.persistence import PersistenceError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from typer.core import TyperGroup

from domain.accounts import CHART, PREMIUM_INCOME
from domain.duties import ROLES
from domain.errors import LedgerError
from domain.member import MemberDetails
from domain.money import capitals, fmt, non_negative
from domain.policy import Policy, calculate_benefit
from domain.scheme import PERIOD_NUMBERS
from ledger.application.books import Books
from ledger.application.demo import check_demo, run_demo
from ledger.application.feeds import ImportRefused, ImportSummary, import_feed
from ledger.application.policies import load_policy_file, load_preset
from ledger.reports.audit import Digest, check_chain, check_read_models, head
from ledger.reports.payments import export_notifications, export_payouts
from ledger.reports.render import FORMATS
from ledger.reports.render import write as write_document
from ledger.reports.render.document import (
    disclosure_document,
    screening_document,
    statement_document,
)
from ledger.reports.statements import Provenance, disclosure, screening, statement
from ledger.reports.trails import (
    Explanation,
    TrailEntry,
    explain,
    known_at_position,
    save_trail_csv,
    trail,
    write_trail_csv,
)
from ledger.store.config import database
from ledger.store.recorders import GuardedPostgresRecorder
from projections.projector import Projector


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


GLOBAL_OPTIONS = ("db", "actor", "read_only")
DB_HELP = "SQLite file or postgresql:// URL; default ledger.db in the working directory."
ACTOR_HELP = "Who is acting; default the login name."
READ_ONLY_HELP = "Only read, as auditors and boards do: create nothing, catch nothing up."
GROUP: dict[str, Any] = {
    "cls": GlobalOptionsGroup,
    "no_args_is_help": True,
    "context_settings": {"help_option_names": ["-h", "--help"]},
}

cli = typer.Typer(
    help="Event-sourced ledger for city-pooled worker medical mutual-aid funds.",
    **GROUP,
    pretty_exceptions_enable=False,
    add_completion=False,
)
scheme_cli = typer.Typer(help="Create and inspect the scheme.", **GROUP)
users_cli = typer.Typer(
    help="Grant and revoke users' roles; list them, and the refused commands.",
    **GROUP,
)
period_cli = typer.Typer(help="Open and close coverage periods.", **GROUP)
claim_cli = typer.Typer(help="Submit, approve and reject claims.", **GROUP)
payout_cli = typer.Typer(
    help="Pay out approved benefits, in batches or one by one; record returned payments.",
    **GROUP,
)
notifications_cli = typer.Typer(help="SMS texts to members about payouts.", **GROUP)
projections_cli = typer.Typer(help="Maintain the read models.", **GROUP)
audit_cli = typer.Typer(
    help="Prove the books: the hash chain, replay of the read models, trails.",
    **GROUP,
)
cli.add_typer(scheme_cli, name="scheme")
cli.add_typer(users_cli, name="users")
cli.add_typer(period_cli, name="period")
cli.add_typer(claim_cli, name="claim")
cli.add_typer(payout_cli, name="payouts")
cli.add_typer(notifications_cli, name="notifications")
cli.add_typer(projections_cli, name="projections")
cli.add_typer(audit_cli, name="audit")

out = Console()
err = Console(stderr=True)

DateOption = Annotated[
    str | None, typer.Option("--date", help="Effective business date (YYYY-MM-DD); default today.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]
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
KnownAtOption = Annotated[
    str | None,
    typer.Option(
        "--as-known-at",
        metavar="POSITION|TIMESTAMP",
        help="As the log stood at this position, or at this recorded date-time (ISO 8601; "
        "UTC unless it has an offset): entries recorded later are left out.",
    ),
]


class Settings:
    def __init__(self, db: str, actor: str, read_only: bool) -> None:
        self.db, self.actor, self.read_only = db, actor, read_only


def _settings(ctx: typer.Context) -> Settings:
    settings: Settings = ctx.ensure_object(Settings)
    return settings


def _version(value: bool) -> None:
    if value:
        _say(f"ledger {version('mutual-aid-ledger')}")
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
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_version, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    ctx.obj = Settings(
        db or database(), actor or os.environ.get("LEDGER_ACTOR") or getpass.getuser(), read_only
    )


@contextmanager
def open_books(
    ctx: typer.Context, read_only: bool = False, create: bool = False
) -> Iterator[Books]:
    """The books at --db; only the commands that start a ledger `create` one if none is there."""
    settings = _settings(ctx)
    books = Books(settings.db, read_only or settings.read_only, create)
    try:
        yield books
    finally:
        books.close()


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


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False) + "\n")


# Scheme and periods


@scheme_cli.command("create")
def scheme_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="Name of the scheme, e.g. the city.")],
    county: Annotated[
        list[str], typer.Option(help="CODE=NAME of a county; repeat for each county.")
    ],
    preset: Annotated[
        str | None, typer.Option(help="Preset whose policies the scheme uses.")
    ] = None,
    on: DateOption = None,
) -> None:
    """Create the scheme with its counties."""
    counties = {}
    for item in county:
        code, sep, label = item.partition("=")
        if not sep or not code.strip() or not label.strip():
            raise LedgerError(f"--county: {item!r} is not CODE=NAME")
        if code.strip() in counties:
            raise LedgerError(f"--county: code {code.strip()!r} given twice")
        counties[code.strip()] = label.strip()
    if preset is not None:
        load_preset(preset)
    created_on = parse_date(on)  # refused before a ledger is made for it
    with open_books(ctx, create=True) as books:
        books.app.create_scheme(name, preset, counties, _settings(ctx).actor, created_on)
    out.print(f"Created scheme {name!r} with {len(counties)} counties.")


@scheme_cli.command("show")
def scheme_show(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show the scheme, its counties and periods."""
    with open_books(ctx) as books:
        scheme = books.app.scheme()
    periods = {
        str(p.number): {
            "start": p.start.isoformat(),
            "end": p.end.isoformat(),
            "policy_version": p.policy.version,
            "closed": p.closed,
        }
        for p in scheme.periods.values()
    }
    data = {
        "name": scheme.name,
        "preset": scheme.preset,
        "counties": scheme.counties,
        "periods": periods,
    }
    if as_json:
        print_json(data)
        return
    out.print(f"[bold]{scheme.name}[/bold] (preset: {scheme.preset or 'none'})")
    for code, label in scheme.counties.items():
        out.print(f"  county {code}: {label}")
    for number, p in periods.items():
        state = "closed" if p["closed"] else "open"
        out.print(f"  period {number}: {p['start']} to {p['end']}, {p['policy_version']}, {state}")


# Users and roles


@users_cli.command("grant")
def users_grant(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="User name, as they give it with --actor.")],
    role: Annotated[str, typer.Argument(help=f"One of: {', '.join(ROLES)}.")],
    on: DateOption = None,
) -> None:
    """Give a user a role (admins only)."""
    with open_books(ctx) as books:
        books.app.grant_role(user, role, _settings(ctx).actor, parse_date(on))
    out.print(f"Granted {role} to {user.strip()}.")


@users_cli.command("revoke")
def users_revoke(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str, typer.Argument(help="The role to take away.")],
    on: DateOption = None,
) -> None:
    """Take a role away from a user (admins only)."""
    with open_books(ctx) as books:
        books.app.revoke_role(user, role, _settings(ctx).actor, parse_date(on))
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
        _say(f"{user}: {', '.join(held)}")


@users_cli.command("refusals")
def users_refusals(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Commands refused for want of a duty, oldest first (kept outside the event log)."""
    with open_books(ctx, read_only=True) as books:
        refusals = books.app.refusals.all()
    if as_json:
        print_json({"refusals": [r.as_dict() for r in refusals]})
        return
    for r in refusals:
        _say(f"{r.at}  {r.actor}  {r.command}: {r.reason}")
    _say(f"{len(refusals)} refused command(s).")


@period_cli.command("open")
def period_open(
    ctx: typer.Context,
    period: Annotated[int, typer.Argument(help="Period number.", callback=period_number)],
    start: Annotated[str, typer.Option(help="First day (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option(help="Last day (YYYY-MM-DD).")],
    policy_file: Annotated[
        Path | None, typer.Option(help="Policy JSON; default: the scheme's preset for the period.")
    ] = None,
    on: DateOption = None,
) -> None:
    """Open a period and publish the policy version in force for it."""
    with open_books(ctx) as books:
        scheme = books.app.scheme()
        policy: Policy
        if policy_file is not None:
            policy = load_policy_file(policy_file)
        elif scheme.preset is not None:
            policy = load_preset(scheme.preset).policy_for(period)
        else:
            raise LedgerError("the scheme has no preset: give --policy-file")
        books.app.open_period(
            period,
            parse_date(start, "--start"),
            parse_date(end, "--end"),
            policy,
            _settings(ctx).actor,
            parse_date(on),
        )
    out.print(f"Opened period {period} under policy {policy.version}.")


@period_cli.command("close")
def period_close(
    ctx: typer.Context,
    period: Annotated[int, typer.Argument(help="Period number.", callback=period_number)],
    on: DateOption = None,
    as_json: JsonOption = False,
) -> None:
    """Close a period and share each county's deficit between the city pool and the county."""
    with open_books(ctx) as books, _progress() as progress:
        results = books.close_period(
            period, _settings(ctx).actor, parse_date(on), _catching_up(progress, books)
        )
    if as_json:
        counties = {
            county: {"income": fmt(r.income), "benefits": fmt(r.expense), "deficit": fmt(r.deficit)}
            for county, r in sorted(results.items())
        }
        print_json({"period": period, "counties": counties})
        return
    out.print(f"Closed period {period}.")
    for county, result in sorted(results.items()):
        note = f"deficit {result.deficit} shared" if result.deficit else "no deficit"
        out.print(f"  {county}: income {result.income}, benefits {result.expense}, {note}")


@cli.command("adjust")
def adjust(
    ctx: typer.Context,
    period: Annotated[
        int, typer.Option(help="Period the adjustment belongs to.", callback=period_number)
    ],
    entity: Annotated[str, typer.Option(help="County code, or CITY for the city pool.")],
    debit: Annotated[str, typer.Option(help="Account debited.")],
    credit: Annotated[str, typer.Option(help="Account credited.")],
    amount: Annotated[str, typer.Option(help="Amount in yuan.")],
    reason: Annotated[str, typer.Option(help="Why; kept with the entry.")],
    on: DateOption = None,
) -> None:
    """Post an explicit adjustment, also into a closed period."""
    with open_books(ctx) as books:
        books.app.post_adjustment(
            period, entity, debit, credit, amount, reason, _settings(ctx).actor, parse_date(on)
        )
    out.print(f"Posted adjustment of {amount} to {entity} for period {period}.")


# Members and premiums


@cli.command("enrol")
def enrol(
    ctx: typer.Context,
    member: Annotated[str, typer.Argument(help="Member id.")],
    period: Annotated[int, typer.Option(help="Period number.", callback=period_number)],
    county: Annotated[str, typer.Option(help="County code.")],
    unit: Annotated[str, typer.Option(help="Employer unit (its union enrols the member).")],
    group: Annotated[
        str | None, typer.Option(help="Member group with an uplift, e.g. hardship.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="The member's name (姓名).")] = None,
    bank_account: Annotated[
        str | None, typer.Option(help="Account benefits are paid to (银行账号), digits only.")
    ] = None,
    bank: Annotated[str | None, typer.Option(help="The account's bank (开户银行).")] = None,
    phone: Annotated[str | None, typer.Option(help="Mobile number for SMS (手机号码).")] = None,
    on: DateOption = None,
) -> None:
    """Enrol a member for a period."""
    details = MemberDetails(name, bank_account, bank, phone)
    with open_books(ctx) as books:
        books.app.enrol(
            member, period, county, unit, group, _settings(ctx).actor, parse_date(on), details
        )
    out.print(f"Enrolled {member} in period {period} ({county}, {unit}).")


@cli.command("pay-premium")
def pay_premium(
    ctx: typer.Context,
    member: Annotated[str, typer.Argument(help="Member id.")],
    period: Annotated[int, typer.Option(help="Period number.", callback=period_number)],
    receipt: Annotated[str, typer.Option(help="Receipt number.")],
    source: Annotated[
        list[str] | None,
        typer.Option(help="SOURCE=AMOUNT, e.g. worker=1.00; default: all that is still due."),
    ] = None,
    on: DateOption = None,
) -> None:
    """Record a premium payment, by funding source."""
    with open_books(ctx) as books:
        if source:
            amounts: dict[str, object] = {}
            for item in source:
                name, sep, amount = item.partition("=")
                if not sep:
                    raise LedgerError(f"--source: {item!r} is not SOURCE=AMOUNT")
                if name.strip() in amounts:
                    raise LedgerError(f"--source: {name.strip()!r} given twice")
                amounts[name.strip()] = amount
        else:
            amounts = books.app.member(member).enrolment(period).outstanding()
        books.app.pay_premium(
            member, period, amounts, receipt, _settings(ctx).actor, parse_date(on)
        )
    out.print(f"Recorded premium for {member}, period {period}.")


# Claims and payouts


@claim_cli.command("submit")
def claim_submit(
    ctx: typer.Context,
    member: Annotated[str, typer.Argument(help="Member id.")],
    period: Annotated[int, typer.Option(help="Period number.", callback=period_number)],
    self_paid: Annotated[str, typer.Option(help="Eligible self-paid amount after insurance.")],
    claim_id: Annotated[
        str | None, typer.Option(help="Claim id, e.g. the settlement number.")
    ] = None,
    on: DateOption = None,
    as_json: JsonOption = False,
) -> None:
    """Submit a claim for a member's eligible self-paid costs."""
    with open_books(ctx) as books:
        claim = books.app.submit_claim(
            member, period, self_paid, _settings(ctx).actor, parse_date(on), claim_id
        )
    if as_json:
        print_json({"claim": claim, "member": member, "period": period})
        return
    out.print(f"Submitted claim {claim}.")


@claim_cli.command("approve")
def claim_approve(
    ctx: typer.Context,
    claim: Annotated[str, typer.Argument(help="Claim id.")],
    on: DateOption = None,
    as_json: JsonOption = False,
) -> None:
    """Approve a claim with the benefit the period's policy gives."""
    with open_books(ctx) as books:
        calculation = books.app.approve_claim(claim, _settings(ctx).actor, parse_date(on))
    if as_json:
        print_json({"claim": claim, **calculation.as_dict()})
    else:
        out.print(f"Approved claim {claim}: benefit {calculation.benefit}.")


@claim_cli.command("reject")
def claim_reject(
    ctx: typer.Context,
    claim: Annotated[str, typer.Argument(help="Claim id.")],
    reason: Annotated[str, typer.Option(help="Why the claim is rejected.")],
    on: DateOption = None,
) -> None:
    """Reject a claim, with a reason."""
    with open_books(ctx) as books:
        books.app.reject_claim(claim, reason, _settings(ctx).actor, parse_date(on))
    out.print(f"Rejected claim {claim}.")


@payout_cli.command("make")
def payout_make(
    ctx: typer.Context,
    claim: Annotated[str, typer.Argument(help="Claim id.")],
    bank_ref: Annotated[str, typer.Option(help="Bank reference of the payment.")],
    amount: Annotated[
        str | None, typer.Option(help="Amount; default: all that is approved and unpaid.")
    ] = None,
    on: DateOption = None,
    as_json: JsonOption = False,
) -> None:
    """Pay out an approved benefit."""
    with open_books(ctx) as books:
        paid = books.app.make_payout(claim, amount, bank_ref, _settings(ctx).actor, parse_date(on))
    if as_json:
        print_json({"claim": claim, "paid": fmt(paid), "bank_reference": bank_ref})
        return
    out.print(f"Paid {paid} on claim {claim} ({bank_ref}).")


@payout_cli.command("return")
def payout_return(
    ctx: typer.Context,
    claim: Annotated[str, typer.Argument(help="Claim id.")],
    bank_ref: Annotated[str, typer.Option(help="Bank reference of the returned payment.")],
    reason: Annotated[str, typer.Option(help="Why the bank returned it.")],
    on: DateOption = None,
) -> None:
    """Record a bounced payment: the benefit becomes payable again."""
    with open_books(ctx) as books:
        books.app.return_payout(claim, bank_ref, reason, _settings(ctx).actor, parse_date(on))
    out.print(f"Recorded returned payment {bank_ref} on claim {claim}.")


@payout_cli.command("export")
def payouts_export(
    ctx: typer.Context,
    batch: Annotated[str, typer.Option(help="Batch reference, e.g. 2025-07.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Bank payment file to write (CSV).")],
    on: DateOption = None,
    as_json: JsonOption = False,
) -> None:
    """Pay all approved, unpaid benefits under a batch and write the bank's payment file;
    members without a bank account on record are left out, and named."""
    _a_file(out)
    with open_books(ctx) as books, _progress() as progress:
        written = export_payouts(
            books,
            batch,
            out,
            _settings(ctx).actor,
            parse_date(on),
            _catching_up(progress, books),
        )
    if as_json:
        print_json({**written.as_dict(), "files": [str(out)]})
        return
    for unpaid in written.unpaid:
        sys.stderr.write(
            f"not paid: {unpaid.member_id}{f' ({unpaid.name})' if unpaid.name else ''}: "
            f"{fmt(unpaid.amount)} yuan, no bank account on record\n"
        )
    left_out = (
        f" {len(written.unpaid)} member(s) not paid, for want of a bank account: their "
        "benefits stay payable."
        if written.unpaid
        else ""
    )
    if not (written.recorded or written.already_recorded):
        _say(
            f"Batch {written.batch}: nothing payable, nothing recorded; {out} lists no "
            f"payments.{left_out}"
        )
        return
    note = " (batch already recorded: file written again)" if written.already_recorded else ""
    _say(
        f"Batch {written.batch}: {written.lines} payments, {fmt(written.total)} yuan "
        f"(大写 {capitals(written.total)}), written to {out}{note}.{left_out}"
    )


@notifications_cli.command("export")
def notifications_export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="JSON Lines file of messages to send.")],
    as_json: JsonOption = False,
) -> None:
    """Hand the pending SMS texts to the sender and record them as handed over."""
    _a_file(out)
    with open_books(ctx) as books:
        done = export_notifications(books, out, _settings(ctx).actor)
    if as_json:
        print_json(
            {
                "files": [str(out)],
                "handed_over": done.handed_over,
                "withdrawn": done.withdrawn,
                "without_phone": done.without_phone,
            }
        )
        return
    withdrawn = (
        f"; {done.withdrawn} withdrawn in all, never to be sent (their payouts were returned "
        "before they were handed over)"
        if done.withdrawn
        else ""
    )
    no_phone = (
        f" {len(done.without_phone)} member(s) have no mobile number on record: their "
        "messages carry phone null (--json names them)."
        if done.without_phone
        else ""
    )
    _say(f"Handed over {done.handed_over} messages in {out}{withdrawn}.{no_phone}")


PARTIAL_IMPORT = 3
"""Exit status of an import that --partial completed without its rejects: not 1 (refused,
nothing imported) nor 2 (a usage error), so that a script can tell the three apart."""


@cli.command("import")
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
    with open_books(ctx) as books, _progress() as progress:
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
                _settings(ctx).actor,
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
    _say(
        f"{summary.file}: read {summary.read}, imported {summary.imported}, already present "
        f"{summary.already_present}, rejected {summary.rejected}."
    )
    for name, amount in sorted(summary.amounts.items()):
        _say(f"  {name.replace('_', ' ')}: {fmt(amount)} yuan")
    counted = "members" if summary.kind == "enrolments" else "claims"
    for name, count in sorted(summary.counts.items()):
        _say(f"  {counted} {name.replace('_', ' ')}: {count}")


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")


# Reports


@cli.command("balances")
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
    with open_books(ctx) as books, _progress() as progress:
        known_at = None if as_known_at is None else known_at_position(books, as_known_at)
        caught_up = _catching_up(progress, books, (books.balances,))
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
    note = _filters_note(filters["period"], filters["as_of"], filters.get("known_at"))
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
    note = _filters_note(f.period, None if f.as_of is None else f.as_of.isoformat(), f.known_at)
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


def _filters_note(period: int | None, as_of: str | None, known_at: int | None) -> str:
    parts = [
        *([] if period is None else [f"period {period}"]),
        *([] if as_of is None else [f"as of {as_of}"]),
        *([] if known_at is None else [f"as known at position {known_at}"]),
    ]
    return f" ({', '.join(parts)})" if parts else ""


@cli.command("benefit")
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
    if group is not None and group not in policy.benefit.uplifts:
        raise LedgerError(f"--group: {group!r} has no uplift in {policy.version}")
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


@cli.command("accounts")
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


@projections_cli.command("rebuild")
def projections_rebuild(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Rebuild every read model from the event log (the SMS outbox keeps what it has)."""
    with open_books(ctx) as books, _progress() as progress:
        total = books.app.recorder.max_notification_id() or 0
        for projector in books.projectors:
            task = progress.add_task(f"rebuilding {projector.model.name}", total=total)

            def show(position: int, task: TaskID = task) -> None:
                progress.update(task, completed=position)

            projector.rebuild(on_batch=show)
    if as_json:
        print_json({"read_models": [p.model.name for p in books.projectors], "events": total})
        return
    _say(f"Rebuilt {len(books.projectors)} read models from {total} events.")


# Statements


def _format(value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise LedgerError(f"--format: {value!r} is not one of {', '.join(allowed)}")
    return value


def _document_out(out: Path | None, format: str, as_json: bool) -> Path | None:
    """The file a document goes to, or None for standard output (json only, with no --out
    or with --out -); checked before any work is done."""
    if out is not None and str(out) != "-":
        return out
    if format != "json":
        raise LedgerError(f"--out: a {format} file needs a path to be written to")
    if as_json:
        raise LedgerError("--json: the document itself goes to standard output; give --out FILE")
    return None


def _a_file(out: Path) -> None:
    """--out where only a file will do (a bank file, the SMS hand-over, slips): never -."""
    if str(out) == "-":
        raise LedgerError("--out: this command writes a file, not to standard output (-)")


def _written(what: str, at: Provenance, path: Path, as_json: bool) -> None:
    if as_json:
        print_json({"files": [str(path)], **at.as_dict()})
    else:
        _say(
            f"Wrote {what}, as known at log position {at.position} (digest {at.digest}), to {path}."
        )


@cli.command("statement")
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
    as_json: WrittenJsonOption = False,
) -> None:
    """The period statement for the boards: figures per county and for the city, as the log
    stood at a position, with that position and the chain's digest there."""
    _format(format, (*FORMATS, "json"))
    path = _document_out(out, format, as_json)
    with open_books(ctx) as books, _progress() as progress:
        known_at = None if as_known_at is None else known_at_position(books, as_known_at)
        found = statement(books, period, county, known_at, largest, _catching_up(progress, books))
    if path is None:
        print_json(found.as_dict())
        return
    if format == "json":
        path.write_text(
            json.dumps(found.as_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    else:
        write_document(statement_document(found), format, path)
    _written(f"the period {period} statement", found.provenance, path, as_json)


@cli.command("screening")
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
    _format(format, ("html", "pdf"))
    limit = non_negative(threshold, "--threshold")
    _a_file(out)
    with open_books(ctx) as books, _progress() as progress:
        known_at = None if as_known_at is None else known_at_position(books, as_known_at)
        found = screening(
            books, period, limit, frequent, unit, known_at, county, _catching_up(progress, books)
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
        with _progress() as progress:
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
        _say(f"{path}\t{each.name}\t{each.county}\t{count} slip(s)")
    _say(
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


@cli.command("disclosure")
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
    _format(format, ("html", "pdf", "json"))
    path = _document_out(out, format, as_json)
    with open_books(ctx) as books, _progress() as progress:
        known_at = None if as_known_at is None else known_at_position(books, as_known_at)
        found = disclosure(books, period, unit, known_at, county, _catching_up(progress, books))
    if path is None:
        print_json(found.as_dict())
        return
    if format == "json":
        path.write_text(
            json.dumps(found.as_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    else:
        write_document(disclosure_document(found), format, path)
    what = f"the disclosure to {found.unit.name} ({found.unit.county})"
    _written(what, found.provenance, path, as_json)


# Audit


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
        _say(str(digest))


@audit_cli.command("verify")
def audit_verify(
    ctx: typer.Context,
    digest: Annotated[
        str | None,
        typer.Option(help="POSITION:HASH published earlier; the log up to it must match."),
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
    published = None if digest is None else Digest.parse(digest)
    with open_books(ctx) as books, _progress() as progress:
        total = books.app.recorder.max_notification_id() or 0
        if books.db.writable:
            catch_up_task = progress.add_task("catching up the read models", total=total)
            books.catch_up(lambda p: progress.update(catch_up_task, completed=p))
        chain_task = progress.add_task("checking the hash chain", total=total)
        chain = check_chain(books, published, lambda p: progress.update(chain_task, completed=p))
        replay_task = progress.add_task("replaying the read models", total=total)
        replay = check_read_models(books, lambda p: progress.update(replay_task, completed=p))
    problems = [str(f) for f in chain.findings] + [str(d) for d in replay.differences]
    end = 0 if chain.head is None else chain.head.position
    lagging = replay.lagging(end)
    if as_json:
        print_json(
            {
                "chain": {
                    "checked": chain.checked,
                    "head": None if chain.head is None else str(chain.head),
                    "digest_matches": chain.digest_matches,
                    "findings": [
                        {"position": f.position, "problem": f.problem} for f in chain.findings
                    ],
                },
                "read_models": {
                    "positions": replay.positions,
                    "rows": replay.rows,
                    "differences": [
                        {"model": d.model, "difference": d.what} for d in replay.differences
                    ],
                },
                "complete": not lagging,
                "verified": not problems and (partial or not lagging),
            }
        )
    else:
        _say(f"Hash chain: {chain.checked} events checked, head {chain.head or 'none'}.")
        if published is not None:
            _say(
                f"Published digest {published}: {'matches' if chain.digest_matches else 'DIFFERS'}."
            )
        for name, position in replay.positions.items():
            behind = (
                f"; it has not yet projected {position + 1} to {end}, so they are not compared"
                if name in lagging
                else ""
            )
            _say(f"Read model {name}: replayed to position {position} and compared{behind}.")
        for problem in problems:
            _say(f"  DIFFERS {problem}")
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
        _say(
            "Verified in part: the log is intact, and every read model equals its replay as "
            "far as it has projected (positions not compared are listed above)."
        )
    else:
        _say("Verified: the log is intact and every read model equals its replay.")


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
    with open_books(ctx, read_only=True) as books, _progress() as progress:
        known_at = None if as_known_at is None else known_at_position(books, as_known_at)
        caught_up = None if county is None else _catching_up(progress, books, (books.balances,))
        entries = trail(books, member, claim, county, period, known_at, on, caught_up)
    if as_csv and (out_file is None or str(out_file) == "-"):
        write_trail_csv(entries, sys.stdout)
    elif as_csv and out_file is not None:
        rows = save_trail_csv(entries, out_file)
        _say(f"Wrote {len(entries)} events in {rows} rows to {out_file}.")
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
        note = _filters_note(None, None if on is None else on.isoformat(), known_at)
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
    _say(f"{role} may now read this ledger, and change nothing.")


@cli.command("demo")
def demo(
    ctx: typer.Context,
    preset: Annotated[str, typer.Option(help="Preset to simulate.")] = "pinghu",
    counties: Annotated[int, typer.Option(help="Number of counties.")] = 4,
    members: Annotated[int, typer.Option(help="Number of members.")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same books.")] = 1,
) -> None:
    """Simulate a coverage period and print the balances."""
    check_demo(preset, counties, members)
    with open_books(ctx, create=True) as books, _progress() as progress:
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


@contextmanager
def _progress() -> Iterator[Progress]:
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


def _catching_up(
    progress: Progress, books: Books, models: Sequence[Projector] = ()
) -> Callable[[int], None]:
    """A bar for the read models (default: every one) catching up with the log: told the
    position they reach."""
    end = books.app.recorder.max_notification_id() or 0
    reached = books.catching_up_from(models)
    task = progress.add_task("catching up the read models", total=end, completed=reached)

    def show(position: int) -> None:  # a command that records moves the end on
        progress.update(task, completed=position, total=max(end, position))

    return show


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
        fail(f"database: {reason}")


def _privilege_refused(error: BaseException | None) -> bool:
    """The library wraps the driver's errors: look down the chain of causes."""
    while error is not None:
        if isinstance(error, psycopg.errors.InsufficientPrivilege):
            return True
        error = error.__cause__ or error.__context__
    return False


def fail(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")
    sys.exit(1)
