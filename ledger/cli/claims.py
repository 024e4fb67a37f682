"""Claims and payouts, for the clerks, approvers and cashiers: claims submitted and decided,
benefits paid one by one or in a bank batch, returned payments entered by hand, and the SMS
texts about payouts."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from domain.money import capitals, fmt
from ledger.cli.common import (
    GROUP,
    DateOption,
    JsonOption,
    actor,
    catching_up,
    open_books,
    out,
    parse_date,
    period_number,
    print_json,
    progress_bars,
    require_file,
    say,
)
from ledger.reports.payments import export_notifications, export_payouts

claim_cli = typer.Typer(help="Submit, approve and reject claims.", **GROUP)
payout_cli = typer.Typer(
    help="Pay out approved benefits, in batches or one by one; record returned payments.",
    **GROUP,
)
notifications_cli = typer.Typer(help="SMS texts to members about payouts.", **GROUP)


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
            member, period, self_paid, actor(ctx), parse_date(on), claim_id
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
        calculation = books.app.approve_claim(claim, actor(ctx), parse_date(on))
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
        books.app.reject_claim(claim, reason, actor(ctx), parse_date(on))
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
        paid = books.app.make_payout(claim, amount, bank_ref, actor(ctx), parse_date(on))
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
        books.app.return_payout(claim, bank_ref, reason, actor(ctx), parse_date(on))
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
    require_file(out)
    with open_books(ctx) as books, progress_bars() as progress:
        written = export_payouts(
            books,
            batch,
            out,
            actor(ctx),
            parse_date(on),
            catching_up(progress, books),
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
        say(
            f"Batch {written.batch}: nothing payable, nothing recorded; {out} lists no "
            f"payments.{left_out}"
        )
        return
    note = " (batch already recorded: file written again)" if written.already_recorded else ""
    say(
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
    require_file(out)
    with open_books(ctx) as books:
        done = export_notifications(books, out, actor(ctx))
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
    say(f"Handed over {done.handed_over} messages in {out}{withdrawn}.{no_phone}")
