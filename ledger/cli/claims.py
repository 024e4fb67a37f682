"""Claims and payouts, for the clerks, approvers and cashiers: claims submitted and decided,
benefits paid one by one or in a bank batch, returned payments entered by hand, and the SMS
texts about payouts."""

import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from domain.money import ZERO, capitals, fmt
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
    publish,
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
recovery_cli = typer.Typer(
    help="Overpayments to recover (paid beyond a benefit since reduced): collected or written off.",
    **GROUP,
)


@claim_cli.command("submit")
def claim_submit(
    ctx: typer.Context,
    member: Annotated[str, typer.Argument(help="Member id.")],
    period: Annotated[int, typer.Option(help="Period number.", callback=period_number)],
    self_paid: Annotated[
        str | None,
        typer.Option(help="Eligible self-paid amount after insurance (not for --item by day)."),
    ] = None,
    claim_id: Annotated[
        str | None, typer.Option(help="Claim id, e.g. the settlement number.")
    ] = None,
    item: Annotated[
        str | None,
        typer.Option(help="A benefit item of the period's policy besides the main one."),
    ] = None,
    days: Annotated[int | None, typer.Option(help="Days in hospital, for an item by day.")] = None,
    on: DateOption = None,
    as_json: JsonOption = False,
) -> None:
    """Submit a claim for a member's eligible self-paid costs, or of another benefit item of
    the period's policy: by its days in hospital, or its lump sum."""
    with open_books(ctx) as books:
        claim = books.app.submit_claim(
            member, period, self_paid, actor(ctx), parse_date(on), claim_id, item, days
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


@claim_cli.command("appeal")
def claim_appeal(
    ctx: typer.Context,
    claim: Annotated[str, typer.Argument(help="Claim id.")],
    grounds: Annotated[str, typer.Option(help="What the member disputes, and why.")],
    on: DateOption = None,
) -> None:
    """Record a member's appeal against a claim's decision (its rejection or its amount),
    for an approver other than the one who decided it to reassess."""
    with open_books(ctx) as books:
        books.app.appeal_claim(claim, grounds, actor(ctx), parse_date(on))
    out.print(f"Recorded the appeal on claim {claim}: it awaits reassessment.")


@claim_cli.command("reassess")
def claim_reassess(
    ctx: typer.Context,
    claim: Annotated[str, typer.Argument(help="Claim id.")],
    reason: Annotated[str, typer.Option(help="Why the appeal is decided so.")],
    self_paid: Annotated[
        str | None,
        typer.Option(help="Corrected eligible self-paid amount; default: the claim's own."),
    ] = None,
    on: DateOption = None,
    as_json: JsonOption = False,
) -> None:
    """Decide an appeal: the policy's benefit on the eligible amount supersedes the last
    decision, and the difference is posted."""
    with open_books(ctx) as books:
        benefit = books.app.reassess_claim(claim, self_paid, reason, actor(ctx), parse_date(on))
    _decided_again(claim, "Reassessed", benefit, as_json)


@claim_cli.command("correct")
def claim_correct(
    ctx: typer.Context,
    claim: Annotated[str, typer.Argument(help="Claim id.")],
    reason: Annotated[
        str, typer.Option(help="What was wrong: a duplicate settlement, a re-settled bill, ...")
    ],
    self_paid: Annotated[
        str | None, typer.Option(help="The eligible self-paid amount as corrected.")
    ] = None,
    reverse: Annotated[bool, typer.Option("--reverse", help="Reverse the claim whole.")] = False,
    on: DateOption = None,
    as_json: JsonOption = False,
) -> None:
    """Correct an approved claim found wrong: reduce it (--self-paid) or reverse it
    (--reverse). What was paid beyond the new benefit is to be recovered."""
    with open_books(ctx) as books:
        benefit = books.app.correct_claim(
            claim, self_paid, reverse, reason, actor(ctx), parse_date(on)
        )
    _decided_again(claim, "Corrected", benefit, as_json)


def _decided_again(claim: str, verb: str, benefit: Decimal, as_json: bool) -> None:
    if as_json:
        print_json({"claim": claim, "benefit": fmt(benefit)})
    else:
        out.print(f"{verb} claim {claim}: benefit now {fmt(benefit)}.")


@recovery_cli.command("list")
def recovery_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Overpayments still to recover, by member and claim."""
    with open_books(ctx) as books:
        books.claims.catch_up()
        owed = books.claims.receivable()
    if as_json:
        print_json(
            [
                {"member": o.member_id, "claim": o.claim_id, "county": o.county,
                 "to_recover": fmt(o.amount), "name": o.name}
                for o in owed
            ]
        )  # fmt: skip
        return
    for o in owed:
        out.print(f"{o.member_id}\t{o.claim_id}\t{o.county}\t{fmt(o.amount)}\t{o.name or ''}")
    say(f"{len(owed)} overpayment(s) to recover, {fmt(sum((o.amount for o in owed), ZERO))} yuan.")


@recovery_cli.command("collect")
def recovery_collect(
    ctx: typer.Context,
    claim: Annotated[str, typer.Argument(help="Claim id.")],
    receipt: Annotated[str, typer.Option(help="Receipt of the money paid back.")],
    amount: Annotated[
        str | None, typer.Option(help="Amount; default: all that is to be recovered.")
    ] = None,
    on: DateOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record money a member paid back on an overpaid claim."""
    with open_books(ctx) as books:
        collected = books.app.collect_recovery(claim, amount, receipt, actor(ctx), parse_date(on))
    if as_json:
        print_json({"claim": claim, "collected": fmt(collected), "receipt": receipt})
        return
    out.print(f"Collected {fmt(collected)} on claim {claim} ({receipt}).")


@recovery_cli.command("write-off")
def recovery_write_off(
    ctx: typer.Context,
    claim: Annotated[str, typer.Argument(help="Claim id.")],
    reason: Annotated[str, typer.Option(help="Why the overpayment cannot be recovered.")],
    on: DateOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write off what is still to be recovered on a claim, as a loss to the county."""
    with open_books(ctx) as books:
        written_off = books.app.write_off_recovery(claim, reason, actor(ctx), parse_date(on))
    if as_json:
        print_json({"claim": claim, "written_off": fmt(written_off)})
        return
    out.print(f"Wrote off {fmt(written_off)} on claim {claim}.")


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
        digest = publish(ctx, books, "payouts")
    if as_json:
        print_json({**written.as_dict(), "files": [str(out)], "digest": str(digest)})
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
    say(f"The log's digest after the batch: {digest} (publish it with the file).")


@notifications_cli.command("template")
def notifications_template(
    ctx: typer.Context,
    text: Annotated[
        str | None,
        typer.Option(
            help="The SMS text for payouts from now on, with {scheme}, {member_id}, {amount}, "
            "{day} and {claim_id} (the claim's explanation of benefit)."
        ),
    ] = None,
    on: DateOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the SMS text payouts send, or record another (an admin)."""
    with open_books(ctx) as books:
        if text is not None:
            books.app.change_notice_template(text, actor(ctx), parse_date(on))
        template = books.app.scheme().notice_template
    if as_json:
        print_json({"template": template})
        return
    said = "The SMS text for payouts" + (" from now on" if text is not None else "")
    out.print(f"{said}:\n{template}", markup=False, soft_wrap=True)


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
