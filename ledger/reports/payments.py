"""Paying out in batches: the bank payment file, and the SMS texts handed to the sender."""

import csv
import errno
import json
import os
import shutil
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

from eventsourcing.persistence import IntegrityError

from domain.errors import LedgerError
from domain.money import ZERO, capitals, fmt
from ledger.application.books import Books
from ledger.application.files import spreadsheet_row
from ledger.store.turns import one_at_a_time
from projections.claims import Owed, Payment

PAYMENT_COLUMNS = (
    "batch",
    "bank_reference",
    "member_id",
    "name",
    "bank_account",
    "bank",
    "county",
    "amount",
    "claims",
)


@dataclass(frozen=True)
class Unpaid:
    """A member with payable benefits and no bank account on record: left out of the batch,
    their benefits payable still, until a roster gives their account."""

    member_id: str
    name: str | None
    amount: Decimal
    claims: int

    def as_dict(self) -> dict[str, object]:
        return {
            "member_id": self.member_id,
            "name": self.name,
            "amount": fmt(self.amount),
            "claims": self.claims,
        }


@dataclass(frozen=True)
class BatchFile:
    batch: str
    lines: int
    total: Decimal
    recorded: int
    """Claims paid by this run."""
    already_recorded: bool
    """An earlier run recorded the batch: this one recorded nothing and wrote its file again.
    (A run that records nothing otherwise found nothing payable.)"""
    unpaid: list[Unpaid]
    """Left out for want of a bank account, by member id."""

    def as_dict(self) -> dict[str, object]:
        return {
            "batch": self.batch,
            "payments": self.lines,
            "total": fmt(self.total),
            "total_in_words": capitals(self.total),
            "claims_paid": self.recorded,
            "already_recorded": self.already_recorded,
            "no_bank_account": [u.as_dict() for u in self.unpaid],
        }


EXPORT_BUSY = (
    "another payout export is running on this ledger now: one at a time, so that no bank "
    "file is written twice; nothing was recorded or written. The file to send is that "
    "export's (run this again once it has finished to write it again)"
)


def export_payouts(
    books: Books,
    batch: str,
    out: Path,
    actor: str,
    on: date,
    on_progress: Callable[[int], None] | None = None,
) -> BatchFile:
    """Pay every approved, unpaid benefit under the batch and write the bank's file: one line
    per member, all their payable claims summed under the reference BATCH/MEMBER, with the
    payee's name, account and bank as the payouts recorded them. A member without a bank
    account on record is left out, their benefits payable still, and named in the result.

    A batch is recorded whole, in one transaction, and once. The file is opened before
    anything is recorded (a file that cannot be written is refused first) and put in place
    only when complete. Running the same batch again records nothing new and writes its
    file again, leaving out payments the bank has since returned (they are payable again,
    in a later batch); so an export interrupted between recording and writing is
    completed by running it again. One export at a time (of any batch): another export
    running meanwhile is refused at once, so no batch's file is written twice at once.
    `on_progress` is told the position the read models reach as they catch up."""
    books.app.authorise(actor, "pay_out_batch")
    batch = batch.strip()
    if not batch or "/" in batch:
        raise LedgerError(f"--batch: {batch!r}: give a reference without '/'")
    with one_at_a_time(books.address, "payouts-export", 0, EXPORT_BUSY):
        file = _NewFile(out)
        recorded, already_recorded = 0, False
        try:
            books.claims.catch_up(on_batch=on_progress)
            prefix = f"{batch}/"
            already_recorded = bool(books.claims.payments(prefix=prefix))
            payable = books.claims.payable()
            if not already_recorded:
                recorded = _record_payouts(books, payable, prefix, actor, on)
                books.catch_up(on_batch=on_progress)
            lines: dict[str, list[Payment]] = defaultdict(list)
            for payment in books.claims.payments(prefix=prefix):
                if payment.status != "returned":
                    lines[payment.bank_reference].append(payment)
            total = ZERO
            writer = csv.writer(file.text)
            writer.writerow(spreadsheet_row(PAYMENT_COLUMNS))
            for reference, paid in sorted(lines.items()):
                amount = sum((p.amount for p in paid), ZERO)
                total += amount
                payee = paid[0]
                writer.writerow(
                    spreadsheet_row(
                        [
                            batch,
                            reference,
                            payee.member_id,
                            payee.name or "",
                            payee.bank_account or "",
                            payee.bank or "",
                            payee.county,
                            fmt(amount),
                            len(paid),
                        ]
                    )
                )
            file.put_in_place()
        except OSError as e:
            if not (recorded or already_recorded):
                reason = f"{e.strerror or e}; nothing was recorded"
                raise LedgerError(f"{out}: cannot write: {reason}") from None
            raise LedgerError(
                f"{out}: cannot write: {e.strerror or e}; the payouts of batch {batch} are "
                f"recorded as paid: `ledger payouts export --batch {batch} --out FILE` writes "
                "its file again"
            ) from None
        finally:
            file.discard()
    return BatchFile(batch, len(lines), total, recorded, already_recorded, _unpaid(payable))


def _unpaid(payable: list[Owed]) -> list[Unpaid]:
    by_member: dict[str, list[Owed]] = defaultdict(list)
    for p in payable:
        if p.bank_account is None:
            by_member[p.member_id].append(p)
    return [
        Unpaid(member_id, claims[0].name, sum((c.amount for c in claims), ZERO), len(claims))
        for member_id, claims in sorted(by_member.items())
    ]


class _NewFile:
    """A file written beside its destination and moved over it when complete: opening it
    checks, before anything is recorded, that the destination can be written, and the
    destination is never left half written. A destination that is not a regular file (a
    pipe, /dev/stdout) is written directly."""

    def __init__(self, path: Path) -> None:
        self.path = path.resolve() if path.is_symlink() else path
        self.part: Path | None = None
        try:
            if path.is_dir():
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
            if path.exists() and not os.access(path, os.W_OK):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
            if path.exists() and not path.is_file():
                self.text = path.open("w", encoding="utf-8", newline="")
                return
            self.part = self.path.with_name(f".{self.path.name}.{uuid4().hex[:8]}.part")
            descriptor = os.open(self.part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except OSError as e:
            raise LedgerError(f"{path}: cannot write: {e.strerror or e}") from None
        self.text = os.fdopen(descriptor, "w", encoding="utf-8", newline="")

    def put_in_place(self) -> None:
        self.text.close()
        if self.part is not None:
            if self.path.exists():  # the bank file keeps the permissions it was given
                shutil.copymode(self.path, self.part)
            os.replace(self.part, self.path)
            self.part = None

    def discard(self) -> None:
        """Close and remove what was not put in place (after a failure or an interruption)."""
        self.text.close()
        if self.part is not None:
            self.part.unlink(missing_ok=True)
            self.part = None


def _record_payouts(books: Books, payable: list[Owed], prefix: str, actor: str, on: date) -> int:
    """Pay what is payable to members with a bank account on record."""
    by_member: dict[str, list[str]] = defaultdict(list)
    for p in payable:
        if p.bank_account is not None:
            by_member[p.member_id].append(p.claim_id)
    try:
        books.app.pay_out_batch(by_member, prefix, actor, on)
    except IntegrityError:
        raise LedgerError(
            "the ledger changed during the export and nothing was recorded; run it again"
        ) from None
    return sum(len(c) for c in by_member.values())


@dataclass(frozen=True)
class HandOver:
    handed_over: int
    withdrawn: int
    """Messages never to be handed over, in all: their payouts were returned first."""
    without_phone: list[str]
    """Members of messages handed over with no mobile number on record, for the sender to
    reach by other means."""


def export_notifications(books: Books, out: Path, actor: str) -> HandOver:
    """Hand the pending SMS texts to the sender as JSON Lines, then record them as handed
    over. Each carries its message_id: if the process dies between the two steps, the next
    export repeats those messages, and the sender drops the ids it has already sent. A
    message whose payout was returned before it was handed over is withdrawn and never
    exported. The cashier's duty: the texts tell members what was paid."""
    books.app.authorise(actor, "export_notifications")
    books.notifications.catch_up()
    messages = books.notifications.pending()
    try:
        with out.open("w", encoding="utf-8") as file:
            for m in messages:
                record = {
                    "message_id": m.message_id,
                    "member_id": m.member_id,
                    "phone": m.phone,
                    "text": m.text,
                }
                file.write(json.dumps(record, ensure_ascii=False) + "\n")
    except OSError as e:
        raise LedgerError(f"{out}: cannot write: {e.strerror}") from None
    books.notifications.hand_over(messages, datetime.now().isoformat(timespec="seconds"))
    without_phone = sorted({m.member_id for m in messages if m.phone is None})
    return HandOver(len(messages), len(books.notifications.withdrawn()), without_phone)
