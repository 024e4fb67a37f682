"""Bulk import of feeds: rosters, premium lists, insurance settlements and bank results.

A feed is validated whole before anything is stored: every bad record is reported with its
line, field, value and reason, and by default a feed with any bad record changes nothing.
With `partial`, the good records are imported and the bad ones written to a rejects file.

Records are applied to the members' plain state in a unit of work (ledger/application/
batch.py), which the application saves in chunks, one transaction each. A crash or Ctrl-C
loses at most the chunk being written; every record has a source reference that the
ledger remembers, so running the same feed again counts what was saved as already present
and completes the rest.

Records built in code (the demo's roster) take the same path, without a file.
"""

import difflib
import gc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from domain.errors import (
    AlreadyEnrolled,
    ClaimDeadlinePassed,
    CountyNotInPeriod,
    DateOutOfOrder,
    FieldError,
    InvalidAmount,
    LedgerError,
    NoPeriodCovers,
    NotEnrolled,
    PeriodError,
    PremiumNotPaid,
    PremiumOverpaid,
    UnknownCounty,
)
from domain.member import MemberState, Settlement, claim_indexed, registration
from domain.money import ZERO, fmt
from ledger.application.batch import Batch
from ledger.application.books import Books
from ledger.application.files import (
    ERROR,
    EXTRA,
    REASON,
    FeedError,
    FeedFile,
    SourceRow,
    check_rejects_path,
    open_feed,
    read_rows,
    write_rejects,
)
from ledger.application.records import (
    RECORDS,
    EnrolmentRecord,
    PayoutResultRecord,
    PremiumRecord,
    Record,
    SettlementRecord,
    blank,
)
from ledger.store.turns import one_at_a_time
from projections.claims import Payment

T = TypeVar("T")
READ_CHUNK = 1000
"""Records validated together, the members they name read in one go."""
SCHEMA_REASONS = {"string_type": "not text (in a spreadsheet, format the column as text)"}
"""The project's words for the pydantic errors a record can still meet: the validators of
ledger/application/records.py refuse every other bad value in their own words, and a blank value is
"missing" whatever its column."""
NOT_ACCEPTED = "not accepted in this column"
DELIMITERS = {";": "semicolons", "\t": "tabs", "，": "full-width commas (，)"}
"""What a one-column header holding one of these is separated by, where commas belong."""
CLOSE_ENOUGH = 0.7
"""How alike a header not understood and a known one must be for the error to suggest it:
会员编码 and 会员编号 are (0.75); a whole header row in one cell and its first header are not."""


class Rejected(LedgerError):
    def __init__(self, field: str, reason: str) -> None:
        self.field, self.reason = field, reason
        super().__init__(reason)


@dataclass(frozen=True)
class Reject:
    line: int
    field: str
    value: object
    reason: str

    def __str__(self) -> str:
        value = repr(self.value) if isinstance(self.value, str) else _as_read(self.value)
        return f"line {self.line}: {self.field} = {value}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "field": self.field,
            "value": _as_read(self.value),
            "reason": self.reason,
        }


def _as_read(value: object) -> str:
    """A value as the file showed it: a number as its digits, a date cell as its date."""
    if isinstance(value, datetime) and value.time() == time():
        return value.date().isoformat()
    return str(value)


@dataclass
class ImportSummary:
    kind: str
    file: str
    read: int = 0
    imported: int = 0
    already_present: int = 0
    rejected: int = 0
    amounts: dict[str, Decimal] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)

    def add(self, name: str, amount: Decimal) -> None:
        self.amounts[name] = self.amounts.get(name, ZERO) + amount

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "file": self.file,
            "read": self.read,
            "imported": self.imported,
            "already_present": self.already_present,
            "rejected": self.rejected,
            "amounts": {name: fmt(amount) for name, amount in sorted(self.amounts.items())},
            "counts": dict(sorted(self.counts.items())),
            "rejects": [r.as_dict() for r in self.rejects],
        }


class ImportRefused(LedgerError):
    """The feed has bad records and partial import was not asked for: nothing was stored."""

    def __init__(self, summary: ImportSummary) -> None:
        self.summary = summary
        super().__init__(
            f"{summary.file}: {summary.rejected} bad record(s), nothing imported; fix them, or "
            "import the good ones with --partial --rejects FILE"
        )

    def __reduce__(self) -> tuple[type["ImportRefused"], tuple[ImportSummary]]:
        """Pickled with its summary, so that it crosses to another process whole."""
        return type(self), (self.summary,)


ERROR_FIELDS: dict[type[LedgerError], str] = {
    UnknownCounty: "county",
    CountyNotInPeriod: "county",
    NotEnrolled: "period",
    AlreadyEnrolled: "period",
    PeriodError: "period",
    PremiumNotPaid: "member_id",
    PremiumOverpaid: "amount",
    ClaimDeadlinePassed: "discharged_on",
}


@dataclass
class FeedRun:
    """A feed being applied: the batch of members its records change, who imports it, what
    it comes to, and the day it was received, to which a settlement's claim deadline counts."""

    books: Books
    batch: Batch
    actor: str
    summary: ImportSummary
    received_on: date
    payments: dict[str, list[Payment]] = field(default_factory=dict)
    """The payouts under each bank reference the records name, as the claims read model had
    them when the import began (the import's own payouts change in the batch, not there)."""

    def member(self, member_id: str) -> MemberState:
        member = self.batch.member(member_id)
        if member is None:
            raise Rejected("member_id", f"unknown member {member_id!r}")
        return member

    def prefetch(self, records: list[Record]) -> None:
        """Load what a chunk of records names, in bulk: its members and claim indexes, and
        for bank results the payouts under their references and the members paid."""
        references = [
            r.bank_reference
            for r in records
            if isinstance(r, PayoutResultRecord) and r.bank_reference not in self.payments
        ]
        found = self.books.claims.payments_under(references) if references else {}
        self.payments |= {reference: found.get(reference, []) for reference in references}
        self.batch.load(
            [r.member_id for r in records if isinstance(r, _MEMBER_RECORDS)]
            + [p.member_id for paid in found.values() for p in paid],
            [r.settlement_no for r in records if isinstance(r, SettlementRecord)],
        )


def enrol(record: EnrolmentRecord, work: FeedRun) -> bool:
    work.batch.scheme.require_county_in(record.county, record.period)
    period = work.batch.posting_into(record.period)
    member = work.batch.member(record.member_id)
    new = member is None
    if member is None:
        registered = registration(record.member_id, work.actor, record.enrolled_on)
        member = MemberState(record.member_id)
    existing = member.enrolments.get(record.period)
    if existing is not None:
        if (existing.county, existing.unit) == (record.county, record.unit):
            return _details_changed(record, member, work)
        raise Rejected(
            "member_id",
            f"already enrolled in period {record.period} in {existing.county}, {existing.unit}",
        )
    enrolment = member.enrolment_fact(
        period,
        record.county,
        record.unit,
        record.group,
        work.actor,
        record.enrolled_on,
        record.details,
        record.roster_line,
        record.eligibility,
    )
    if new:
        work.batch.register(member, registered)
    work.batch.record(member, enrolment)
    return True


def _details_changed(record: EnrolmentRecord, member: MemberState, work: FeedRun) -> bool:
    """A roster line for an enrolment already recorded adds only the details it changes
    (a corrected account, a new phone), as a new fact."""
    changed = member.details_fact(
        record.details, work.actor, record.enrolled_on, record.roster_line
    )
    if changed is None:
        return False
    work.batch.record(member, changed)
    counts = work.summary.counts
    counts["with_changed_details"] = counts.get("with_changed_details", 0) + 1
    return True


def pay_premium(record: PremiumRecord, work: FeedRun) -> bool:
    member = work.member(record.member_id)
    if record.receipt in member.receipts:
        return False
    work.batch.posting_into(record.period)
    amounts = {record.source: record.amount}
    work.batch.record(
        member,
        member.premium_fact(record.period, amounts, record.receipt, work.actor, record.paid_on),
    )
    work.summary.add("premiums", record.amount)
    return True


def settle_claim(record: SettlementRecord, work: FeedRun) -> bool:
    claim_id = record.reference
    owner = work.batch.claim_owner(claim_id)
    if owner == record.member_id:
        return False
    if owner is not None:
        raise Rejected("settlement_no", f"settlement number already used for member {owner!r}")
    member = work.member(record.member_id)
    try:
        number = record.period or work.batch.scheme.period_covering(record.discharged_on).number
    except NoPeriodCovers as e:
        raise Rejected("discharged_on", str(e)) from None
    period = work.batch.posting_into(number, claims=True)
    settlement = Settlement(
        record.settlement_no,
        record.admitted_on,
        record.discharged_on,
        record.total_cost,
        record.insurance_paid,
        record.policy_self_paid,
        record.out_of_catalogue,
        record.insurance_deductible,
        record.above_ceiling,
    )
    on = record.discharged_on
    submission, decision, calculation = member.settlement_facts(
        claim_id,
        period,
        record.eligible_self_paid,
        work.actor,
        on,
        settlement,
        work.received_on,
        record.item,
    )
    work.batch.record(member, submission)
    work.batch.record(member, decision)
    work.batch.index(claim_indexed(claim_id, record.member_id, work.actor, on))
    claim = member.claims[claim_id]
    if claim.item is None:
        work.summary.add("eligible_self_paid", claim.eligible)
    work.summary.add("benefits_approved", claim.approved)
    outcome = "approved" if calculation.benefit > 0 else "rejected_by_policy"
    work.summary.counts[outcome] = work.summary.counts.get(outcome, 0) + 1
    return True


def record_bank_result(record: PayoutResultRecord, work: FeedRun) -> bool:
    payments = work.payments[record.bank_reference]
    if not payments:
        raise Rejected("bank_reference", f"no payout was made under {record.bank_reference!r}")
    done = {"paid": "confirmed", "returned": "returned"}[record.status]
    if all(p.status == done for p in payments):
        return False
    facts = []  # every payment under the reference decided before any is recorded
    for payment in payments:
        member = work.member(payment.member_id)
        if record.status == "paid":
            fact = member.confirmation_fact(
                payment.claim_id, record.bank_reference, work.actor, record.reported_on
            )
        else:
            fact = member.return_fact(
                payment.claim_id,
                record.bank_reference,
                record.reason or "returned by the bank",
                work.actor,
                record.reported_on,
            )
        facts.append((member, fact))
    for (member, fact), payment in zip(facts, payments, strict=True):
        work.batch.record(member, fact)
        work.summary.add(done, payment.amount)
    return True


APPLY: dict[str, Callable[[Any, FeedRun], bool]] = {
    "enrolments": enrol,
    "premiums": pay_premium,
    "claims": settle_claim,
    "payout-results": record_bank_result,
}


_MEMBER_RECORDS = (EnrolmentRecord, PremiumRecord, SettlementRecord)


IMPORT_WAIT_SECONDS = 600
IMPORT_BUSY = (
    f"another import has held this ledger for over {IMPORT_WAIT_SECONDS // 60} minutes: "
    "nothing of this feed was recorded; import it again once that one has finished"
)


def import_feed(
    books: Books,
    kind: str,
    path: Path,
    actor: str,
    *,
    format: str | None = None,
    sheet: str | None = None,
    partial: bool = False,
    rejects_path: Path | None = None,
    progress: Callable[[str, int], None] = lambda stage, done: None,
    received_on: date | None = None,
) -> ImportSummary:
    """Import one feed; raises ImportRefused (nothing stored) if it has bad records and
    `partial` is not set. Settlements are approved or rejected by the period's policy, and
    those decisions are recorded as the policy's (actor POLICY), not the importer's.

    `received_on` is the day the feed reached the ledger, today unless given: a settlement
    is a claim received that day, so its period's claim deadline is checked against it,
    while the claim keeps its discharge date as its effective date.

    Imports take turns: one waits up to IMPORT_WAIT_SECONDS for another to finish, as two
    at once would each find the members the other changed, and fail."""
    model = _authorised(books, kind, actor)
    if partial and rejects_path is None:
        raise LedgerError("--partial needs --rejects FILE for the records it leaves out")
    feed = open_feed(path, format, sheet)
    _require_columns(feed, model)
    if rejects_path is not None:
        check_rejects_path(feed, rejects_path)

    def keep(rejected: list[tuple[SourceRow, str]]) -> None:
        if rejects_path is not None:
            write_rejects(feed, rejects_path, rejected)

    summary = ImportSummary(kind, str(path))
    parsed = ((row, _parse(row, model)) for row in read_rows(feed))
    with (
        one_at_a_time(books.address, "import", IMPORT_WAIT_SECONDS, IMPORT_BUSY),
        fewer_collections(),
    ):
        _import(
            books,
            summary,
            parsed,
            actor,
            partial=partial,
            keep=keep,
            progress=progress,
            received_on=received_on,
        )
        books.catch_up(on_batch=lambda position: progress("projecting", position))
    return summary


def import_records(
    books: Books,
    kind: str,
    records: Iterable[Record],
    actor: str,
    received_on: date | None = None,
) -> ImportSummary:
    """Import records built in code, not read from a file: the rules of a feed of `kind`,
    all or nothing (ImportRefused, each reject's line the record's place from 1), received
    on `received_on` (today unless given). The read models catch up while the records are
    saved on PostgreSQL (`Books.catching_up_alongside`), else when next read."""
    model = _authorised(books, kind, actor)
    summary = ImportSummary(kind, "(records)")

    def rows() -> Iterator[tuple[SourceRow, Record | Reject]]:
        for line, record in enumerate(records, start=1):
            if not isinstance(record, model):
                raise LedgerError(f"record {line} is not of kind {kind!r}")
            yield SourceRow(line, {_aliases(model, n)[0]: v for n, v in record}), record

    with fewer_collections():
        _import(books, summary, rows(), actor, received_on=received_on)
    return summary


def _authorised(books: Books, kind: str, actor: str) -> type[Record]:
    """The records of `kind`, once `actor` is found to hold the role importing them needs."""
    if kind not in RECORDS:
        raise LedgerError(f"unknown kind {kind!r} (kinds: {', '.join(RECORDS)})")
    books.app.authorise(actor, "import_" + kind.replace("-", "_"))
    return RECORDS[kind]


def _import(
    books: Books,
    summary: ImportSummary,
    parsed: Iterable[tuple[SourceRow, Record | Reject]],
    actor: str,
    *,
    partial: bool = False,
    keep: Callable[[list[tuple[SourceRow, str]]], None] = lambda rejected: None,
    progress: Callable[[str, int], None] = lambda stage, done: None,
    received_on: date | None = None,
) -> None:
    """Apply the records to a batch and save it; `keep` is given the rows rejected, before
    anything is saved. Without `partial`, any rejected row refuses the whole (ImportRefused)."""
    if summary.kind == "payout-results":
        books.claims.catch_up()
    work = FeedRun(books, books.app.batch(), actor, summary, received_on or date.today())
    rejected = _apply_all(parsed, APPLY[summary.kind], work, progress)
    if rejected and not partial:
        summary.imported, summary.amounts, summary.counts = 0, {}, {}
        raise ImportRefused(summary)
    keep(rejected)
    with books.catching_up_alongside():
        work.batch.save(lambda saved: progress("saving", saved))


@contextmanager
def fewer_collections() -> Iterator[None]:
    """A feed keeps millions of objects alive until it is saved; with the default thresholds
    the cyclic garbage collector walks them again and again, for nothing."""
    thresholds = gc.get_threshold()
    gc.set_threshold(200_000, 50, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def _apply_all(
    parsed: Iterable[tuple[SourceRow, Record | Reject]],
    apply: Callable[[Any, FeedRun], bool],
    work: FeedRun,
    progress: Callable[[str, int], None],
) -> list[tuple[SourceRow, str]]:
    summary = work.summary
    seen: dict[str, int] = {}
    rejected: list[tuple[SourceRow, str]] = []
    for chunk in batched(parsed, READ_CHUNK):
        work.prefetch([r for _, r in chunk if isinstance(r, Record)])
        for row, record in chunk:
            summary.read += 1
            reject = (
                record if isinstance(record, Reject) else _apply(row, record, apply, work, seen)
            )
            if reject is not None:
                summary.rejected += 1
                summary.rejects.append(reject)
                rejected.append((row, f"{reject.field}: {reject.reason}"))
        progress("validating", summary.read)
    return rejected


def _parse(row: SourceRow, model: type[Record]) -> Record | Reject:
    if ERROR in row.fields:
        return Reject(row.line, "(line)", "", str(row.fields[ERROR]))
    if EXTRA in row.fields:
        return Reject(row.line, "(line)", row.fields[EXTRA], "more cells than columns")
    try:
        return model.model_validate(row.fields)
    except ValidationError as e:
        return _schema_reject(row, e)


def _apply(
    row: SourceRow,
    record: Record,
    apply: Callable[[Any, FeedRun], bool],
    work: FeedRun,
    seen: dict[str, int],
) -> Reject | None:
    """Apply one record; None if it was imported or already there, else why not."""
    model = type(record)
    first = seen.setdefault(record.reference, row.line)
    if first != row.line:
        return Reject(
            row.line, model.reference_field, record.reference, f"duplicate of line {first}"
        )
    try:
        if apply(record, work):
            work.summary.imported += 1
        else:
            work.summary.already_present += 1
    except (Rejected, FieldError) as e:
        return Reject(row.line, e.field, _value(row, model, e.field), e.reason)
    except InvalidAmount as e:
        return Reject(row.line, e.field, e.value, e.reason)
    except DateOutOfOrder as e:
        return Reject(row.line, model.date_field, _value(row, model, model.date_field), str(e))
    except LedgerError as e:
        name = next((f for t, f in ERROR_FIELDS.items() if isinstance(e, t)), None)
        name = name or model.reference_field
        if getattr(record, name, None) is None:  # an optional column left out, such as a
            name = model.date_field  # settlement's period: the date it was found by
        return Reject(row.line, name, _value(row, model, name), str(e))
    return None


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _schema_reject(row: SourceRow, error: ValidationError) -> Reject:
    first = error.errors(include_url=False)[0]
    where = str(first["loc"][0]) if first["loc"] else "(record)"
    value = row.fields.get(where, "")
    return Reject(row.line, where, value, "missing" if blank(value) else _schema_reason(first))


def _schema_reason(error: ErrorDetails) -> str:
    """Never pydantic's own text: a validator's reason, or the project's words for the type."""
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, InvalidAmount | FieldError):
        return cause.reason
    if isinstance(cause, ValueError):
        return str(cause)
    return SCHEMA_REASONS.get(error["type"], NOT_ACCEPTED)


def _require_columns(feed: FeedFile, model: type[Record]) -> None:
    """A header lacking a required column would fail every record alike: refuse the file
    once, before any record, with the headers found, the columns missing and the headers
    not understood, with a hint where the cause shows."""
    if not feed.headers:  # JSON Lines: each object names its own fields
        return
    columns = {name: _aliases(model, name) for name in model.model_fields}
    missing = [
        name
        for name, info in model.model_fields.items()
        if info.is_required() and not set(columns[name]) & set(feed.headers)
    ]
    if not missing:
        return
    known = {alias for aliases in columns.values() for alias in aliases} | {REASON}
    wanted = [alias for name in missing for alias in columns[name]]
    unknown = [_with_guess(h, wanted) for h in feed.headers if h not in known]
    parts = [
        f"headers found: {', '.join(h if h.isprintable() else repr(h) for h in feed.headers)}",
        "required columns missing: "
        + ", ".join(f"{columns[n][0]} ({', '.join(columns[n][1:])})" for n in missing),
    ]
    if unknown:
        parts.append(f"not understood: {', '.join(unknown)}")
    hint = _header_hint(feed, understood=len(unknown) < len(feed.headers))
    if hint:
        parts.append(hint)
    raise FeedError(feed.path, "; ".join(parts), feed.header_line)


def _with_guess(header: str, wanted: list[str]) -> str:
    close = difflib.get_close_matches(header, wanted, n=1, cutoff=CLOSE_ENOUGH)
    return f"{header} ({close[0]}?)" if close else header


def _header_hint(feed: FeedFile, understood: bool) -> str | None:
    if len(feed.headers) == 1 and not understood:
        held = [name for mark, name in DELIMITERS.items() if mark in feed.headers[0]]
        if held:
            return (
                f"the header is one column holding {held[0]}: separate the columns with "
                "commas (save the sheet as CSV)"
            )
        return "is there a title above the header? the first row that is not blank is the header"
    if feed.encoding == "gb18030" and not understood:
        return (
            "no header is known: if the file is in another encoding than UTF-8 or GB18030 "
            "(Big5, say), save it as CSV UTF-8"
        )
    return None


def _aliases(model: type[Record], name: str) -> list[str]:
    """The headers a field is read from: its English name first, then the Chinese ones."""
    info = model.model_fields.get(name)
    if info is None or info.validation_alias is None:
        return [name]
    return [str(a) for a in getattr(info.validation_alias, "choices", [name])]


def _value(row: SourceRow, model: type[Record], name: str) -> object:
    """The value as it stood in the file, under whichever header the file used."""
    return next((row.fields[a] for a in _aliases(model, name) if a in row.fields), "")
