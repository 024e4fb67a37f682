"""What lets an auditor prove, not assume, that the books are complete and unaltered.

Two checks, both from the log alone: the hash chain (every stored event still matches the
link written with it, and the log up to a published digest is what was published), and
a replay (every read model rebuilt from the log in a scratch database in memory equals
the live one). Neither writes anything, so both run under the auditors' read-only role.
`verify` runs them at once: a second thread reads what the live database can work out by
itself (on PostgreSQL the server checks the chain and digests the live read models) while
this one replays the log.
"""

import gc
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

from eventsourcing.persistence import Notification

from domain.accounts import BENEFITS_PAYABLE
from domain.errors import LedgerError
from domain.member import NO_DETAILS, Member, MemberState
from domain.money import fmt, from_fen
from domain.policy import Policy
from domain.postings import postings_for
from domain.scheme import Scheme
from ledger.application.books import Books, read_models
from ledger.store.chain import GENESIS, link
from ledger.store.log import Entry, EventLog
from ledger.store.recorders import GuardedPostgresRecorder
from projections.balances import Balances
from projections.projector import (
    MAX_POSITION,
    Database,
    Projector,
    ReadModel,
    TableDigest,
    catch_up_together,
)

BATCH = 5000
SHOWN = 10
"""Differing rows shown per table; the count says how many there are."""
SNAPSHOT_ATTEMPTS = 5
"""Reads of a live read model, if others keep catching it up meanwhile."""
YOUNG_OBJECTS = 100_000
"""Objects made (less those freed) between two passes of the cycle collector while the log
is replayed, instead of Python's 700: at 700 the passes over each batch's decoded events
take about a fifth of the replay (bench/audit.py), and the replay leaves no cycles behind."""


@dataclass(frozen=True)
class Digest:
    """A published head of the chain: the log up to `position` hashes to `hash`."""

    position: int
    hash: str

    @classmethod
    def parse(cls, text: str) -> "Digest":
        position, sep, digest = text.partition(":")
        if not sep or not position.isdigit() or len(digest) != 64:
            raise LedgerError(f"--digest: {text!r} is not POSITION:HASH (64 hex digits)")
        try:
            int(digest, 16)
        except ValueError:
            raise LedgerError(f"--digest: {digest!r} is not a SHA-256 hash in hex") from None
        return cls(int(position), digest.lower())

    def __str__(self) -> str:
        return f"{self.position}:{self.hash}"


def keep_digest(path: Path, digest: Digest, on: str, city: str | None) -> None:
    """Append a digest published `on` a close, a payout batch or a statement to the file of
    them `verify --digest FILE` checks: the digest first, then what it was published on,
    the city, and when (UTC)."""
    at = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        with path.open("a", encoding="utf-8") as file:
            file.write(f"{digest}\t{on}\t{city or '-'}\t{at}\n")
    except OSError as e:
        raise LedgerError(f"--digests {path}: cannot append {digest}: {e.strerror}") from None


def published_digests(value: str) -> list[Digest]:
    """--digest: one POSITION:HASH, or a file of them as `--digests` keeps it (each line's
    first word a digest; blank lines and lines starting with # left out)."""
    if not Path(value).is_file():
        return [Digest.parse(value)]
    try:
        lines = Path(value).read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) else "it is not UTF-8 text"
        raise LedgerError(
            f"--digest {value}: neither POSITION:HASH nor a file of digests ({reason})"
        ) from None
    found = []
    for number, line in enumerate(lines, 1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        try:
            found.append(Digest.parse(words[0]))
        except LedgerError as e:
            raise LedgerError(f"--digest {value}: line {number}: {e}") from None
    if not found:
        raise LedgerError(f"--digest {value}: the file holds no digest")
    return found


@dataclass(frozen=True)
class Finding:
    position: int | None
    problem: str

    def __str__(self) -> str:
        where = "" if self.position is None else f"position {self.position}: "
        return where + self.problem


@dataclass
class ChainCheck:
    checked: int = 0
    head: Digest | None = None
    findings: list[Finding] = field(default_factory=list)
    digests: dict[Digest, bool] = field(default_factory=dict)
    """Each published digest given: whether the log up to it is what was published."""

    @property
    def digest_matches(self) -> bool | None:
        """Whether every published digest given matches; None if none was given."""
        return all(self.digests.values()) if self.digests else None


def head(log: EventLog) -> Digest | None:
    """The last link written: what to publish."""
    last = log.head()
    return None if last is None else Digest(last.position, last.hash)


def check_chain(
    log: EventLog,
    published: Sequence[Digest] = (),
    on_batch: Callable[[int], None] | None = None,
) -> ChainCheck:
    """Recompute the chain from the first event and compare it, link by link, with the links
    stored beside the events; and with each published digest given.

    After a broken link the check goes on from the stored link, so each separate change is
    reported once, at its own position. The digest is compared with the chain recomputed
    from the events as they are now, which no rewriting of the stored links can fake.
    """
    last = head(log)
    end = 0 if last is None else last.position
    recorder = log.recorder
    if isinstance(recorder, GuardedPostgresRecorder):
        intact = recorder.count_intact_links(end)
        if intact is not None:
            check = ChainCheck(checked=intact, head=last)
            for digest in published:
                _judge(check, digest, _stored_hash(log, digest.position, end))
            check.findings += _unlinked_after(log, end)
            return check
    return walk_chain(log, published, end, on_batch)


def walk_chain(
    log: EventLog,
    published: Sequence[Digest],
    end: int,
    on_batch: Callable[[int], None] | None,
) -> ChainCheck:
    """The chain checked in Python, event by event: the reference check, and the one that
    names each problem."""
    check = ChainCheck()
    wanted: dict[int, list[Digest]] = defaultdict(list)
    for digest in published:
        wanted[digest.position].append(digest)
    previous = recomputed = GENESIS
    events, links = _events(log, end, on_batch), log.links(end, BATCH)
    event, stored = next(events, None), next(links, None)
    while event is not None or stored is not None:
        if stored is None or (event is not None and event.id < stored.position):
            assert event is not None
            check.findings.append(
                Finding(event.id, "an event with no link: inserted outside the ledger")
            )
            recomputed = ""
            event = next(events, None)
            continue
        position, recorded_at, expected = stored.position, stored.recorded_at, stored.hash
        if event is None or position < event.id:
            check.findings.append(Finding(position, "the event of this link is missing: deleted"))
            recomputed = ""
        else:
            check.checked += 1
            parts = (position, recorded_at, event.originator_id, event.originator_version)
            actual = link(previous, *parts, event.topic, event.state)
            if actual != expected:
                check.findings.append(
                    Finding(position, "the event does not match its link: changed or reordered")
                )
            if recomputed == previous:
                recomputed = actual
            elif recomputed:
                recomputed = link(recomputed, *parts, event.topic, event.state)
            event = next(events, None)
        previous = expected
        check.head = Digest(position, expected)
        for digest in wanted.pop(position, []):
            _judge(check, digest, recomputed)
        stored = next(links, None)
    check.findings += _unlinked_after(log, end)
    for digests in wanted.values():  # positions the log has no link at
        for digest in digests:
            _judge(check, digest, None)
    return check


def _judge(check: ChainCheck, published: Digest, hash_at_position: str | None) -> None:
    """Compare a published digest with the chain's hash at its position (None: no link)."""
    check.digests[published] = hash_at_position == published.hash
    if hash_at_position is None:
        problem = f"the published digest {published} names no link of this log"
    elif not check.digests[published]:
        problem = (
            f"the log up to here is not what was published ({published}): "
            "events before it were changed, removed or added"
        )
    else:
        return
    check.findings.append(Finding(published.position, problem))


def _stored_hash(log: EventLog, position: int, end: int) -> str | None:
    stored = None if position > end else log.link(position)
    return None if stored is None else stored.hash


def _unlinked_after(log: EventLog, end: int) -> list[Finding]:
    """Events past the checked part of the log that have no link. The ledger writes an event
    and its link in one transaction, so an event read before its link is looked for has one,
    unless it was put there some other way."""
    later = [n.id for n in _events(log, MAX_POSITION, None, after=end)]
    if not later:
        return []
    linked = log.linked_after(end)
    return [
        Finding(position, "an event with no link: inserted outside the ledger")
        for position in later
        if position not in linked
    ]


def _events(
    log: EventLog, end: int, on_batch: Callable[[int], None] | None, after: int = 0
) -> Iterator[Notification]:
    while batch := log.notifications_after(after, BATCH):
        yield from (n for n in batch if n.id <= end)
        after = batch[-1].id
        if on_batch is not None:
            on_batch(min(after, end))
        if after >= end:
            return


@dataclass(frozen=True)
class Difference:
    model: str
    what: str

    def __str__(self) -> str:
        return f"{self.model}: {self.what}"


@dataclass
class ReplayCheck:
    positions: dict[str, int] = field(default_factory=dict)
    """How far each read model was compared: the position its live twin had reached."""
    rows: dict[str, int] = field(default_factory=dict)
    differences: list[Difference] = field(default_factory=list)
    broken: list[Finding] = field(default_factory=list)
    """Where the log, replayed, breaks a rule the ledger's commands keep: a fact that no
    command would have recorded (written outside the ledger, with a valid link)."""

    def lagging(self, end: int) -> dict[str, int]:
        """The read models compared short of `end` (they had not projected that far), with
        the positions they were compared to: what a check of the log up to `end` left out."""
        return {name: position for name, position in self.positions.items() if position < end}


def verify(
    books: Books,
    published: Sequence[Digest] = (),
    on_chain: Callable[[int], None] | None = None,
    on_replay: Callable[[int], None] | None = None,
) -> tuple[ChainCheck, ReplayCheck]:
    """The hash chain's check and the replay's, at once: the chain is checked in a second
    thread, with the live read models' digests after it, while this one replays the log."""
    with ThreadPoolExecutor(max_workers=1) as worker:
        chain = worker.submit(check_chain, books.log, published, on_chain)
        replay = check_read_models(books, on_replay, worker)
        checked = chain.result()
    checked.findings += check_closed_periods(books.log)
    return checked, replay


def check_closed_periods(log: EventLog) -> list[Finding]:
    """The store's guard against postings into closed periods (`closed_periods`), which is
    no read model, against the log's closes: a row deleted would let postings into a
    closed period in unseen, a row added would refuse an open period's. The guard is read
    first, then the log: a close committed in between (its row and its event are written
    together) is in the log only, past the position read before the guard, and left out."""
    before = log.last_position()
    guarded = log.recorder.closed_periods()
    closes = {e.period: position for position, e in log.events_of_kind(Scheme.PeriodClosed)}
    findings = [
        Finding(
            position,
            f"period {period} is closed here but not in the store's guard (closed_periods, "
            "a row deleted): postings into it would not be refused",
        )
        for period, position in closes.items()
        if period not in guarded and position <= before
    ]
    findings += [
        Finding(
            None,
            f"period {period} is in the store's guard (closed_periods) but the log never "
            "closed it (a row inserted): postings into it are refused",
        )
        for period in sorted(guarded - closes.keys())
    ]
    return findings


def verification(chain: ChainCheck, replay: ReplayCheck, partial: bool) -> dict[str, Any]:
    """What `verify` found, as `ledger audit verify --json` and the service give it:
    verified when nothing differs and, unless `partial`, every read model was compared to
    the end of the log."""
    end = 0 if chain.head is None else chain.head.position
    lagging = replay.lagging(end)
    return {
        "chain": {
            "checked": chain.checked,
            "head": None if chain.head is None else str(chain.head),
            "digest_matches": chain.digest_matches,
            "digests": [{"digest": str(d), "matches": m} for d, m in chain.digests.items()],
            "findings": [{"position": f.position, "problem": f.problem} for f in chain.findings],
        },
        "read_models": {
            "positions": replay.positions,
            "rows": replay.rows,
            "differences": [{"model": d.model, "difference": d.what} for d in replay.differences],
        },
        "rules": {
            "broken": [{"position": f.position, "problem": f.problem} for f in replay.broken]
        },
        "complete": not lagging,
        "verified": not problems_of(chain, replay) and (partial or not lagging),
    }


def problems_of(chain: ChainCheck, replay: ReplayCheck) -> list[str]:
    """Everything verify found, a line each: the chain's findings, the read models'
    differences, and the rules the log breaks."""
    return (
        [str(f) for f in chain.findings]
        + [str(d) for d in replay.differences]
        + [f"{f} (a rule the ledger keeps, broken)" for f in replay.broken]
    )


def check_read_models(
    books: Books, on_batch: Callable[[int], None] | None = None, worker: Executor | None = None
) -> ReplayCheck:
    """Rebuild every live read model from the log in a scratch database in memory, each up to
    the position of its live twin, and compare the two table by table by their digests (read
    from the live database by `worker`, a thread of its own if none is given, while the log
    is replayed); where a table's differ, name what differs: balances account by account, then
    every row that differs. A live model that others catch up while it is read is read
    again, at its new position, so a ledger in use gives no false alarm. A live model that
    lacks a table (a ledger no writer has opened since the table was new) is not read: it
    is compared up to position 0."""
    with ExitStack() as stack:
        stack.enter_context(_collecting_less())
        if worker is None:
            worker = stack.enter_context(ThreadPoolExecutor(max_workers=1))
        scratch = Database.scratch()
        twins: list[tuple[Projector, Projector]] = list(
            zip(books.live, read_models(books.log, scratch), strict=True)
        )
        until = {replay: live.position if live.has_tables else 0 for live, replay in twins}
        snapshots = {live: worker.submit(_snapshot, live) for live, _ in twins if live.has_tables}
        rules = Projector(books.log, RulesKept, scratch)
        catch_up_together([replay for _, replay in twins] + [rules], BATCH, on_batch, until)
        check = ReplayCheck()
        assert isinstance(rules.model, RulesKept)
        check.broken = rules.model.broken
        for live, replay in twins:
            if live in snapshots:
                _compare_model(check, live, replay, snapshots[live], on_batch)
            else:
                check.positions[live.model.name] = 0
        return check


class RulesKept(ReadModel):
    """The replay's check of rules every command keeps, applied to the log's events as
    they come (the domain's own postings, `postings_for`): no posting into a period after
    its close, no payout beyond what was payable on its claim, and no county's benefits
    payable in a period paid below zero (more paid out than approved). A forged event with
    a correctly computed link passes the chain; it does not pass these. Kept in memory,
    for the replay only: no table."""

    name = "rules"
    tables: ClassVar[dict[str, str]] = {}

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.closed: dict[int, int] = {}
        """Period -> the position of its close: the last of the scheme's events its save
        made (the deficits shared are recorded after Scheme.PeriodClosed, and post into
        the period)."""
        self.closing: tuple[int, str] | None = None
        """The period whose close is being read, and the scheme's id as text."""
        self.payable: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
        """(entity, period) -> benefits payable, debit positive (a liability: at most 0)."""
        self.claim_payable: dict[str, Decimal] = defaultdict(Decimal)
        """Claim -> its benefits payable, by the postings of the events that name it."""
        self.policies: dict[int, Policy] = {}
        self.members: dict[str, MemberState] = {}
        """Each member's state, folded by its events' own `apply`, as the aggregate's
        replay folds it: what its annual caps have used."""
        self.broken: list[Finding] = []

    def apply(self, cursor: Any, entries: Sequence[Entry]) -> None:
        for position, originator, event in entries:
            if self.closing is not None and originator == self.closing[1]:
                self.closed[self.closing[0]] = position
            elif self.closing is not None:
                self.closing = None
            kind = type(event).__qualname__
            postings = postings_for(event)
            for period in sorted({p.period for p in postings}):
                if period in self.closed and position > self.closed[period]:
                    self.broken.append(
                        Finding(
                            position,
                            f"{kind} posts into period {period}, closed at position "
                            f"{self.closed[period]}: no command records that",
                        )
                    )
            claim = getattr(event, "claim_id", None)
            if isinstance(claim, str):
                self.claim_payable[claim] += sum(
                    (p.amount for p in postings if p.account == BENEFITS_PAYABLE), Decimal(0)
                )
                if isinstance(event, Member.PayoutMade) and self.claim_payable[claim] > 0:
                    self.broken.append(
                        Finding(
                            position,
                            f"{kind} pays claim {claim!r} {fmt(self.claim_payable[claim])} "
                            "beyond what was payable on it",
                        )
                    )
            for p in postings:
                if p.account == BENEFITS_PAYABLE:
                    key = (p.entity, p.period)
                    self.payable[key] += p.amount
                    if self.payable[key] > 0:
                        self.broken.append(
                            Finding(
                                position,
                                f"{kind} leaves {p.entity}'s benefits payable of period "
                                f"{p.period} at {fmt(-self.payable[key])}: more paid out than "
                                "approved",
                            )
                        )
            self._within_the_caps(position, originator, event, kind)
            if isinstance(event, Scheme.PeriodOpened):
                self.policies[event.period] = Policy.model_validate(event.policy)
            if isinstance(event, Scheme.PeriodClosed) and event.period not in self.closed:
                self.closed[event.period] = position
                self.closing = (event.period, originator)

    def _within_the_caps(self, position: int, originator: str, event: Any, kind: str) -> None:
        """Fold a member's event into its state, then: does an approval take what the
        period's cap (of the main benefit, or of an item) has used past the cap?"""
        if isinstance(event, Member.Registered):
            self.members[originator] = MemberState(event.member_id)
            return
        state = self.members.get(originator)
        if state is None or not isinstance(event, Member.Event):
            return
        event.apply(state)
        state.receipts.clear()  # what the caps need is the enrolments and the claims:
        state.roster_lines.clear()  # the rest is dropped, for a city's members at once
        state.details = NO_DETAILS
        period = getattr(event, "period", None)
        enrolment = None if period is None else state.enrolments.get(period)
        policy = None if period is None else self.policies.get(period)
        if enrolment is None or policy is None:
            return
        for item in (None, *enrolment.approved_items):
            cap = policy.rule_for(item).cap_for(enrolment.group)
            if cap is not None and enrolment.used(item) > cap:
                what = "benefit" if item is None else f"item {item}"
                self.broken.append(
                    Finding(
                        position,
                        f"{kind} takes {state.member_id}'s {what} of period {period} to "
                        f"{fmt(enrolment.used(item))}, past its annual cap of {fmt(cap)}",
                    )
                )


@contextmanager
def _collecting_less() -> Iterator[None]:
    threshold = gc.get_threshold()
    gc.set_threshold(YOUNG_OBJECTS, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


@dataclass(frozen=True)
class _Snapshot:
    """A live read model's digests, table by table, read from its position on."""

    position: int
    digests: dict[str, TableDigest | None]


def _snapshot(live: Projector) -> _Snapshot:
    position = live.position
    skipped = live.model.not_replayed
    return _Snapshot(position, {t: live.db.digest(t, skipped) for t in live.model.tables})


def _compare_model(
    check: ReplayCheck,
    live: Projector,
    replay: Projector,
    first: "Future[_Snapshot]",
    on_batch: Callable[[int], None] | None,
) -> None:
    """Compare one live read model with its replay, up to the position the live one is at
    while it is read: its rows are read again while it moves, up to SNAPSHOT_ATTEMPTS times."""
    name, skipped = live.model.name, live.model.not_replayed
    for attempt in range(SNAPSHOT_ATTEMPTS):
        snapshot = first.result() if attempt == 0 else _snapshot(live)
        position = snapshot.position
        catch_up_together([replay], BATCH, on_batch, {replay: position})
        differing = [
            table
            for table, digest in snapshot.digests.items()
            if digest is None or digest != replay.db.digest(table, skipped)
        ]
        live_tables = {table: _rows(live, table) for table in differing}
        if live.position == position:
            break  # no catch-up committed while the live tables were read
    check.positions[name] = position
    if replay.position != position:
        check.differences.append(
            Difference(name, f"replay ended at {replay.position}, live at {position}")
        )
    if differing and isinstance(live, Balances) and isinstance(replay, Balances):
        check.differences += _compare_accounts(live, replay, position)
    for table, digest in snapshot.digests.items():
        if table in live_tables:
            check.rows[f"{name}.{table}"] = len(live_tables[table])
            check.differences += _compare_rows(
                name, table, live_tables[table], _rows(replay, table)
            )
        else:
            assert digest is not None
            check.rows[f"{name}.{table}"] = digest.rows


def _compare_accounts(live: Balances, replay: Balances, position: int) -> list[Difference]:
    found, expected = live.totals_by_period(position), replay.totals_by_period(position)
    differences = []
    for key in sorted(found.keys() | expected.keys()):
        if found.get(key, 0) != expected.get(key, 0):
            entity, account, period = key
            differences.append(
                Difference(
                    "balances",
                    f"{entity} {account} (period {period}): live "
                    f"{fmt(from_fen(found.get(key, 0)))}, from the log "
                    f"{fmt(from_fen(expected.get(key, 0)))}",
                )
            )
    return differences


def _rows(projector: Projector, table: str) -> set[tuple[Any, ...]]:
    """Every row of a table (integers and text: the same Python values on both backends)."""
    db, skipped = projector.db, projector.model.not_replayed
    with db.transaction(commit=False) as cursor:
        cursor.execute(db.sql(f"SELECT * FROM {{{table}}}"))
        rows = cursor.fetchall()
    if not rows:
        return set()
    columns = [c for c in rows[0].keys() if c not in skipped]  # noqa: SIM118 (sqlite3.Row)
    return {tuple(r[c] for c in columns) for r in rows}


def _compare_rows(
    name: str, table: str, live: set[tuple[Any, ...]], replayed: set[tuple[Any, ...]]
) -> list[Difference]:
    only_live = sorted(live - replayed, key=str)
    only_replayed = sorted(replayed - live, key=str)
    differences = [
        Difference(name, f"{table}: row not in the log's replay: {_show(row)}")
        for row in only_live[:SHOWN]
    ] + [
        Difference(name, f"{table}: row missing from the live table: {_show(row)}")
        for row in only_replayed[:SHOWN]
    ]
    hidden = len(only_live) + len(only_replayed) - len(differences)
    if hidden:
        differences.append(Difference(name, f"{table}: and {hidden} more differing rows"))
    return differences


def _show(row: tuple[Any, ...]) -> str:
    return ", ".join("" if value is None else str(value) for value in row)
