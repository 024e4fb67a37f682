"""Paying out in batches: the bank payment file, and the SMS texts handed to the sender."""

import csv
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from eventsourcing.persistence import IntegrityError

from domain.errors import LedgerError
from domain.money import ZERO, fmt
from ledger.books import Books

PAYMENT_COLUMNS = ("batch", "bank_reference", "member_id", "county", "amount", "claims")


@dataclass(frozen=True)
class BatchFile:
    batch: str
    lines: int
    total: Decimal
    recorded: int
    """Claims paid by this run; 0 when the batch was already recorded and its file rewritten."""


def export_payouts(books: Books, batch: str, out: Path, actor: str, on: date) -> BatchFile:
    """Pay every approved, unpaid benefit under the batch and write the bank's file: one line
    per member, all their payable claims summed under the reference BATCH/MEMBER.

    A batch is recorded whole, in one transaction, and once. Running the same batch again
    records nothing new and writes its file again, leaving out payments the bank has since
    returned (they are payable again, in a later batch); so an export interrupted between
    recording and writing is completed by running it again."""
    books.app.authorise(actor, "pay_out_batch")
    batch = batch.strip()
    if not batch or "/" in batch:
        raise LedgerError(f"--batch: {batch!r}: give a reference without '/'")
    books.claims.catch_up()
    prefix = f"{batch}/"
    recorded = 0
    if not books.claims.payments(prefix=prefix):
        recorded = _record_payouts(books, prefix, actor, on)
        books.catch_up()
    lines: dict[str, list[tuple[str, str, Decimal]]] = defaultdict(list)
    for payment in books.claims.payments(prefix=prefix):
        if payment.status == "returned":
            continue
        lines[payment.bank_reference].append((payment.member_id, payment.county, payment.amount))
    total = ZERO
    try:
        with out.open("w", encoding="utf-8", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(PAYMENT_COLUMNS)
            for reference, paid in sorted(lines.items()):
                amount = sum((a for _, _, a in paid), ZERO)
                total += amount
                writer.writerow([batch, reference, paid[0][0], paid[0][1], fmt(amount), len(paid)])
    except OSError as e:
        raise LedgerError(f"{out}: cannot write: {e.strerror}") from None
    return BatchFile(batch, len(lines), total, recorded)


def _record_payouts(books: Books, prefix: str, actor: str, on: date) -> int:
    by_member: dict[str, list[str]] = defaultdict(list)
    for payable in books.claims.payable():
        by_member[payable.member_id].append(payable.claim_id)
    try:
        books.app.pay_out_batch(by_member, prefix, actor, on)
    except IntegrityError:
        raise LedgerError(
            "the ledger changed during the export and nothing was recorded; run it again"
        ) from None
    return sum(len(c) for c in by_member.values())


def export_notifications(books: Books, out: Path, actor: str) -> int:
    """Hand the pending SMS texts to the sender as JSON Lines, then record them as handed
    over. Each carries its message_id: if the process dies between the two steps, the next
    export repeats those messages, and the sender drops the ids it has already sent. The
    cashier's duty: the texts tell members what was paid."""
    books.app.authorise(actor, "export_notifications")
    books.notifications.catch_up()
    messages = books.notifications.pending()
    try:
        with out.open("w", encoding="utf-8") as file:
            for m in messages:
                record = {"message_id": m.message_id, "member_id": m.member_id, "text": m.text}
                file.write(json.dumps(record, ensure_ascii=False) + "\n")
    except OSError as e:
        raise LedgerError(f"{out}: cannot write: {e.strerror}") from None
    books.notifications.hand_over(messages, datetime.now().isoformat(timespec="seconds"))
    return len(messages)
