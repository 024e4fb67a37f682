"""The scheme and its members, for the fund's staff: the scheme and its periods, adjustments,
enrolments and premiums."""

from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from domain.errors import LedgerError
from domain.member import Eligibility, MemberDetails
from domain.money import fmt, money
from domain.money import percent as percent_text
from ledger.application.policies import load_policy_file, load_preset
from ledger.cli.common import (
    GROUP,
    DateOption,
    JsonOption,
    actor,
    catching_up,
    open_books,
    out,
    parse_date,
    parse_percent,
    period_number,
    print_json,
    progress_bars,
    publish,
    say,
)

commands = typer.Typer()
scheme_cli = typer.Typer(help="Create and inspect the scheme.", **GROUP)
period_cli = typer.Typer(help="Open and close coverage periods.", **GROUP)
pool_cli = typer.Typer(help="The city pool's own money.", **GROUP)
county_cli = typer.Typer(help="Counties joining and leaving the city pool.", **GROUP)


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
        books.app.create_scheme(name, preset, counties, actor(ctx), created_on)
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
            "pro_rated": None if p.pro_rated is None else str(p.pro_rated),
        }
        for p in scheme.periods.values()
    }
    data = {
        "name": scheme.name,
        "preset": scheme.preset,
        "counties": scheme.counties,
        "joined": scheme.joined,
        "left": scheme.left,
        "periods": periods,
    }
    if as_json:
        print_json(data)
        return
    out.print(f"[bold]{scheme.name}[/bold] (preset: {scheme.preset or 'none'})")
    for code, label in scheme.counties.items():
        joined = f", from period {scheme.joined[code]}" if code in scheme.joined else ""
        left = f", left after period {scheme.left[code]}" if code in scheme.left else ""
        out.print(f"  county {code}: {label}{joined}{left}")
    for number, p in periods.items():
        state = "closed" if p["closed"] else "open"
        if p["pro_rated"] is not None:
            state += f", benefits pro-rated at {percent_text(Decimal(p['pro_rated']))}"
        out.print(f"  period {number}: {p['start']} to {p['end']}, {p['policy_version']}, {state}")


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
        policy = books.app.open_period(
            period,
            parse_date(start, "--start"),
            parse_date(end, "--end"),
            None if policy_file is None else load_policy_file(policy_file),
            actor(ctx),
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
    """Close a period and settle each county with the city pool: the risk reserve retained
    of its premiums, its deficit shared (the pool's share a grant or an advance), or an
    advance it owes repaid from its surplus."""
    with open_books(ctx) as books, progress_bars() as progress:
        closes = books.close_period(
            period, actor(ctx), parse_date(on), catching_up(progress, books)
        )
        digest = publish(ctx, books, "close")
    if as_json:
        counties = {county: c.as_dict() for county, c in sorted(closes.items())}
        print_json({"period": period, "counties": counties, "digest": str(digest)})
        return
    out.print(f"Closed period {period}.")
    for county, c in sorted(closes.items()):
        notes = [f"reserve {fmt(c.retained)} retained"] if c.retained else []
        if c.deficit:
            cover = "advanced" if c.advanced else "granted"
            notes.append(
                f"deficit {fmt(c.deficit)} shared: city {fmt(c.city_share)} {cover}, "
                f"county {fmt(c.county_share)}"
            )
        if c.repaid:
            notes.append(f"{fmt(c.repaid)} of the city's advances repaid")
        out.print(
            f"  {county}: income {fmt(c.result.income)}, benefits {fmt(c.result.expense)}, "
            + ("; ".join(notes) or "no deficit")
        )
    say(f"The log's digest after the close: {digest} (publish it).")


@period_cli.command("pro-rate")
def period_pro_rate(
    ctx: typer.Context,
    period: Annotated[int, typer.Argument(help="Period number.", callback=period_number)],
    percent: Annotated[str, typer.Option(help="The rate benefits are paid at, as declared: 80.")],
    reference: Annotated[str, typer.Option(help="The board's decision that declared it.")],
    on: DateOption = None,
    as_json: JsonOption = False,
) -> None:
    """Pay the period's benefits still payable at a declared percentage, when even the city
    pool cannot cover them: before the period is closed, every claim of it decided. The
    rest is forfeited, or carried to a later period, as the period's policy says."""
    with open_books(ctx) as books:
        done = books.pro_rate(period, parse_percent(percent), reference, actor(ctx), parse_date(on))
    held = "carried" if done.shortfall == "carry" else "forfeited"
    if as_json:
        print_json(
            {
                "period": period,
                "rate": str(done.rate),
                "shortfall": done.shortfall,
                "claims": done.claims,
                "payable": fmt(done.payable),
                "paid_at_rate": fmt(done.payable - done.held_back),
                held: fmt(done.held_back),
            }
        )
        return
    say(
        f"Pro-rated period {period} at {percent_text(done.rate)}: {done.claims} claim(s), "
        f"{fmt(done.payable)} payable, {fmt(done.payable - done.held_back)} to be paid, "
        f"{fmt(done.held_back)} {held}."
    )


@period_cli.command("release-carried")
def period_release_carried(
    ctx: typer.Context,
    period: Annotated[int, typer.Argument(help="The pro-rated period.", callback=period_number)],
    into: Annotated[
        int, typer.Option(help="The open period that bears it.", callback=period_number)
    ],
    reference: Annotated[str, typer.Option(help="The board's decision to release it.")],
    on: DateOption = None,
) -> None:
    """Make what a pro-rating of the period carried payable again, charged to the benefit
    expense of a later open period."""
    with open_books(ctx) as books:
        total = books.release_carried(period, into, reference, actor(ctx), parse_date(on))
    out.print(
        f"Released {fmt(total)} carried of period {period}, payable now, charged to period {into}."
    )


@pool_cli.command("fund")
def pool_fund(
    ctx: typer.Context,
    period: Annotated[int, typer.Option(help="Period number.", callback=period_number)],
    source: Annotated[
        str, typer.Option(help="appropriation (工会拨款), backstop (兜底补助) or interest.")
    ],
    amount: Annotated[str, typer.Option(help="Amount in yuan.")],
    reference: Annotated[str, typer.Option(help="The bank's reference of the receipt.")],
    on: DateOption = None,
) -> None:
    """Record money the city pool received: the city union's appropriations and backstop
    subsidies, and interest on its account."""
    with open_books(ctx) as books:
        books.app.fund_pool(period, source, amount, reference, actor(ctx), parse_date(on))
    out.print(f"Recorded {source} of {amount} to the city pool for period {period}.")


@county_cli.command("join")
def county_join(
    ctx: typer.Context,
    county: Annotated[str, typer.Argument(help="The county's code.")],
    name: Annotated[str, typer.Option(help="The county's name.")],
    period: Annotated[
        int, typer.Option(help="The open period it is in from.", callback=period_number)
    ],
    opening_balance: Annotated[
        str, typer.Option(help="Its own fund's balance, transferred in (yuan).")
    ] = "0",
    reference: Annotated[str, typer.Option(help="The bank's reference of the transfer.")] = "",
    on: DateOption = None,
) -> None:
    """Bring a county into the city pool from a period, with its own fund's balance."""
    with open_books(ctx) as books:
        books.app.join_county(
            county, name, period, opening_balance, reference, actor(ctx), parse_date(on)
        )
    out.print(
        f"County {county} joined the city pool from period {period}, "
        f"bringing {fmt(money(opening_balance))}."
    )


@county_cli.command("leave")
def county_leave(
    ctx: typer.Context,
    county: Annotated[str, typer.Argument(help="The county's code.")],
    after_period: Annotated[
        int, typer.Option(help="Its last period, closed.", callback=period_number)
    ],
    reference: Annotated[str, typer.Option(help="The bank's reference of the transfer.")] = "",
    on: DateOption = None,
) -> None:
    """Settle a county leaving the city pool after a closed period: what it owes of the pool's
    advances repaid, the rest of its reserve transferred to it."""
    with open_books(ctx) as books:
        transferred = books.leave_county(
            county, after_period, reference, actor(ctx), parse_date(on)
        )
    out.print(
        f"County {county} left the city pool after period {after_period}; "
        f"{fmt(transferred)} transferred to it."
    )


@commands.command("adjust")
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
            period, entity, debit, credit, amount, reason, actor(ctx), parse_date(on)
        )
    out.print(f"Posted adjustment of {amount} to {entity} for period {period}.")


@commands.command("enrol")
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
    insured: Annotated[
        bool | None,
        typer.Option(
            "--insured/--not-insured",
            help="Insured under the employees' basic medical insurance (参加职工医保).",
        ),
    ] = None,
    union_member: Annotated[
        bool | None,
        typer.Option("--union-member/--not-union-member", help="A union member (工会会员)."),
    ] = None,
    unit_registered: Annotated[
        bool | None,
        typer.Option(
            "--unit-registered/--unit-not-registered",
            help="The unit is registered with the scheme (单位已登记).",
        ),
    ] = None,
    on: DateOption = None,
) -> None:
    """Enrol a member for a period; where the period's policy requires it, with what the
    roster attests of the member's eligibility."""
    details = MemberDetails(name, bank_account, bank, phone)
    eligibility = Eligibility(insured, union_member, unit_registered)
    with open_books(ctx) as books:
        books.app.enrol(
            member, period, county, unit, group, actor(ctx), parse_date(on), details, eligibility
        )
    out.print(f"Enrolled {member} in period {period} ({county}, {unit}).")


@commands.command("pay-premium")
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
        books.app.pay_premium(member, period, _amounts(source), receipt, actor(ctx), parse_date(on))
    out.print(f"Recorded premium for {member}, period {period}.")


def _amounts(source: list[str] | None) -> dict[str, object] | None:
    """The amounts by source that --source SOURCE=AMOUNT gives; None without it, for the
    application to take all that is still due."""
    if not source:
        return None
    amounts: dict[str, object] = {}
    for item in source:
        name, sep, amount = item.partition("=")
        if not sep:
            raise LedgerError(f"--source: {item!r} is not SOURCE=AMOUNT")
        if name.strip() in amounts:
            raise LedgerError(f"--source: {name.strip()!r} given twice")
        amounts[name.strip()] = amount
    return amounts
