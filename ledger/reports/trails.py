"""Trails and point-in-time views: what an auditor follows from a balance back to the facts.

A trail lists the events of one member, one claim, or one county's period, in log order,
each with when it was recorded (from the hash chain), its effective date, its actor, its
amounts and the postings it made. An explanation lists the postings that make up one
account's balance. Both can be asked as the log stood at an earlier position, which is
what the books said then, whatever was later entered with an earlier effective date.
"""

import csv
import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO
from uuid import UUID

from domain.accounts import CITY_POOL, account_exists, natural_balance
from domain.errors import LedgerError, UnknownClaim, UnknownMember
from domain.member import Member, claim_uuid, member_uuid
from domain.money import ZERO, fmt, from_fen
from domain.postings import postings_for
from domain.scheme import Scheme
from ledger.application.books import Books
from ledger.application.files import spreadsheet_row
from ledger.reports.figures import beyond_the_log
from ledger.store.log import EventLog, Recorded
from projections.balances import Filters

NOT_AMOUNTS = frozenset({"policy", "breakdown"})
"""Event fields holding figures that moved no money: the published policy, and the working
of a benefit (its approved amount is the event's `amount`)."""
CSV_COLUMNS = (
    "position",
    "recorded_at",
    "event",
    "effective_date",
    "actor",
    "member",
    "claim",
    "period",
    "amounts",
    "posting_entity",
    "posting_account",
    "posting_period",
    "posting_amount",
)


@dataclass(frozen=True)
class TrailPosting:
    entity: str
    account: str
    period: int
    amount: Decimal
    """Debit positive, credit negative."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "account": self.account,
            "period": self.period,
            "amount": fmt(self.amount),
        }


@dataclass(frozen=True)
class TrailEntry:
    """One event as an auditor reads it."""

    position: int
    recorded_at: str | None
    """UTC, as written in the hash chain; None for an event recorded without a link."""
    event: str
    effective_date: date
    actor: str
    member: str | None
    claim: str | None
    period: int | None
    amounts: dict[str, Decimal]
    postings: tuple[TrailPosting, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "recorded_at": self.recorded_at,
            "event": self.event,
            "effective_date": self.effective_date.isoformat(),
            "actor": self.actor,
            "member": self.member,
            "claim": self.claim,
            "period": self.period,
            "amounts": {name: fmt(amount) for name, amount in self.amounts.items()},
            "postings": [p.as_dict() for p in self.postings],
        }


def trail(
    books: Books,
    member: str | None = None,
    claim: str | None = None,
    county: str | None = None,
    period: int | None = None,
    known_at: int | None = None,
    as_of: date | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> list[TrailEntry]:
    """Every event of a member, of a claim, or that posted into a county (or CITY) in a
    period with the scheme's own events of that period, in log order; only those recorded
    at or before `known_at` and effective on or before `as_of`, if given. `on_progress` is
    told the position the balances reach as they catch up, for a county's trail."""
    chosen = [member is not None, claim is not None, county is not None or period is not None]
    if sum(chosen) != 1:
        raise LedgerError("give one of --member ID, --claim ID, or --county C with --period P")
    log = books.log
    if member is not None:
        found = _member_events(log, member)
    elif claim is not None:
        found = claim_events(log, claim)
    elif county is None or period is None:
        raise LedgerError("--county and --period go together: a county's trail is per period")
    else:
        found = _county_events(books, log, county, period, known_at, on_progress)
    found = [
        r
        for r in found
        if (known_at is None or r.position <= known_at)
        and (as_of is None or r.event.effective_date <= as_of)
    ]
    members = _member_ids(log, (r.event.originator_id for r in found))
    return [_entry(r, members.get(r.event.originator_id)) for r in found]


def _member_events(log: EventLog, member: str) -> list[Recorded]:
    found = log.events_of([member_uuid(member)])
    if not found:
        raise UnknownMember(member)
    return found


def claim_events(log: EventLog, claim: str) -> list[Recorded]:
    index = log.events_of([claim_uuid(claim)])
    if not index:
        raise UnknownClaim(claim)
    owner = _member_events(log, index[0].event.member_id)
    return [r for r in owner if getattr(r.event, "claim_id", None) == claim]


def _county_events(
    books: Books,
    log: EventLog,
    county: str,
    period: int,
    known_at: int | None,
    on_progress: Callable[[int], None] | None,
) -> list[Recorded]:
    scheme = books.app.scheme()
    if county != CITY_POOL:
        scheme.require_county(county)
    scheme.period(period)
    posted = log.events_at(_positions_into(books, county, period, known_at, on_progress))
    own = [
        r
        for r in log.events_of([Scheme.create_id()])
        if getattr(r.event, "period", None) == period
        and getattr(r.event, "county", county) == county
        and getattr(r.event, "entity", county) == county
    ]
    by_position = {r.position: r for r in [*posted, *own]}
    return [by_position[p] for p in sorted(by_position)]


def _positions_into(
    books: Books,
    county: str,
    period: int,
    known_at: int | None,
    on_progress: Callable[[int], None] | None,
) -> list[int]:
    """Positions of the events that posted into the county's period, from the balances
    read model."""
    books.catch_up(on_progress, models=(books.balances,))
    return books.balances.positions(Filters(county, period, known_at=known_at))


def _member_ids(log: EventLog, originators: Iterable[UUID]) -> dict[UUID, str]:
    """Member ids by aggregate id, from each member's first event."""
    ids = sorted(set(originators) - {Scheme.create_id()}, key=str)
    return {
        r.event.originator_id: r.event.member_id
        for r in log.events_of(ids, first_only=True)
        if isinstance(r.event, Member.Registered)
    }


def _entry(recorded: Recorded, member: str | None) -> TrailEntry:
    event = recorded.event
    return TrailEntry(
        position=recorded.position,
        recorded_at=recorded.recorded_at,
        event=type(event).__name__,
        effective_date=event.effective_date,
        actor=event.actor,
        member=member,
        claim=getattr(event, "claim_id", None),
        period=getattr(event, "period", None),
        amounts=_amounts(event),
        postings=tuple(
            TrailPosting(p.entity, p.account, p.period, p.amount) for p in postings_for(event)
        ),
    )


def _amounts(event: object) -> dict[str, Decimal]:
    """The event's money fields by name, as recorded (a field added to its kind since it
    was recorded is not its fact); a field holding amounts by key (premiums by source,
    results by county) gives one name per amount, such as `amounts.worker`."""
    found: dict[str, Decimal] = {}

    def collect(name: str, value: object) -> None:
        if isinstance(value, Decimal):
            found[name] = value
        elif isinstance(value, dict):
            for key, item in value.items():
                collect(f"{name}.{key}", item)

    recorded = vars(event)
    for field in dataclasses.fields(event):  # type: ignore[arg-type]
        if field.name in recorded and field.name not in NOT_AMOUNTS:
            collect(field.name, recorded[field.name])
    return found


def write_trail_csv(entries: Sequence[TrailEntry], out: TextIO) -> int:
    """One row per posting, the event's columns repeated; an event without postings gets
    one row with the posting columns empty. Returns the number of rows."""
    writer = csv.writer(out, dialect="excel")
    writer.writerow(spreadsheet_row(CSV_COLUMNS))
    rows = 0
    for e in entries:
        amounts = "; ".join(f"{name}={fmt(amount)}" for name, amount in e.amounts.items())
        head = [
            e.position,
            e.recorded_at or "",
            e.event,
            e.effective_date.isoformat(),
            e.actor,
            e.member or "",
            e.claim or "",
            "" if e.period is None else e.period,
            amounts,
        ]
        postings = [[p.entity, p.account, p.period, fmt(p.amount)] for p in e.postings]
        for posting in postings or [["", "", "", ""]]:
            writer.writerow(spreadsheet_row([*head, *posting]))
            rows += 1
    return rows


def save_trail_csv(entries: Sequence[TrailEntry], path: Path) -> int:
    """The trail as a CSV file in UTF-8 with a BOM, which spreadsheets (Chinese Excel and
    WPS among them) need to read it as UTF-8."""
    try:
        with path.open("w", encoding="utf-8-sig", newline="") as out:
            return write_trail_csv(entries, out)
    except OSError as e:
        raise LedgerError(f"{path}: cannot write: {e.strerror}") from None


@dataclass(frozen=True)
class ExplainedPosting:
    position: int
    recorded_at: str | None
    effective_date: date
    event: str
    period: int
    amount: Decimal
    """On the account's natural side, as the balance is shown (income positive)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "recorded_at": self.recorded_at,
            "effective_date": self.effective_date.isoformat(),
            "event": self.event,
            "period": self.period,
            "amount": fmt(self.amount),
        }


@dataclass(frozen=True)
class Explanation:
    """The postings that make up one account's balance of one entity."""

    entity: str
    account: str
    filters: Filters
    postings: tuple[ExplainedPosting, ...]

    @property
    def total(self) -> Decimal:
        return sum((p.amount for p in self.postings), ZERO)

    def as_dict(self) -> dict[str, Any]:
        return {
            "filters": {
                "entity": self.entity,
                "account": self.account,
                "period": self.filters.period,
                "as_of": None if self.filters.as_of is None else self.filters.as_of.isoformat(),
                "known_at": self.filters.known_at,
            },
            "postings": [p.as_dict() for p in self.postings],
            "total": fmt(self.total),
        }


def explain(
    books: Books,
    entity: str,
    account: str,
    period: int | None = None,
    as_of: date | None = None,
    known_at: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> Explanation:
    """Every posting behind the balance `ledger balances` shows for the entity's account
    under the same filters; their total is that balance. `on_progress` is told the position
    the balances reach as they catch up."""
    books.catch_up(on_progress, models=(books.balances,))
    scheme = books.app.scheme()
    if entity != CITY_POOL:
        scheme.require_county(entity)
    if period is not None:
        scheme.period(period)
    if not account_exists(account):
        raise LedgerError(f"unknown account {account!r}: `ledger accounts` lists the chart")
    filters = Filters(entity, period, as_of, known_at)
    posted = books.balances.postings(filters, account)
    recorded = books.log.recorded_at(sorted({p.position for p in posted}))
    return Explanation(
        entity,
        account,
        filters,
        tuple(
            ExplainedPosting(
                p.position,
                recorded.get(p.position),
                p.effective_date,
                p.event_type.rpartition(".")[2],
                p.period,
                from_fen(natural_balance(account, p.amount_fen)),
            )
            for p in posted
        ),
    )


def known_at_position(books: Books, value: str | None) -> int | None:
    """The log position an `--as-known-at` value names: a position as given, or the last
    one recorded at or before a date-time (with its UTC offset, or taken as UTC); None, the
    whole log, for no value."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        position, last = int(text), books.log.last_position()
        if position > last:
            raise beyond_the_log(books, position, last)
        return position
    try:
        date.fromisoformat(text)
    except ValueError:
        pass
    else:
        raise LedgerError(
            f"--as-known-at: {value!r} is a date; give a date and time, "
            "e.g. 2026-01-31T17:00:00+08:00"
        )
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise LedgerError(
            f"--as-known-at: {value!r} is neither a log position nor a date and time "
            "(e.g. 2026-01-31T17:00:00+08:00)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        moment.astimezone(UTC)
    except OverflowError:
        raise LedgerError(f"--as-known-at: {value!r} is out of range") from None
    return books.log.position_recorded_by(moment)
