"""One approval at a time (`approve_claim`) from a warm process, beside the library and the disk.

    python bench/approvals.py [--claims N] [--profile N] [--backend sqlite|postgres|both]

On each backend, on claims of distinct members submitted beforehand (each member enrolled
and paid up: five events at approval), one approval per transaction, each timed on its own,
the sides taking turns approval by approval, so that they share the machine's load:

- after: `MutualAidLedger.approve_claim` as it is: the scheme kept from the last command
  (one query finds it unchanged), the claim's member read from the claim index's one event;
- before: the path it replaced (`approve_as_before`, the code of commit 48afc09): the scheme
  and the claim index replayed for every approval, then the member;
- baseline: the plain library, bench/run.py's a): a minimal aggregate with as many events
  as the member loaded with `repository.get`, one `@event` command, saved;
- commit: one INSERT of one row and its commit on the same database, nothing else: the
  least any approval that is on disk when it returns can take;
- query: one `SELECT 1` on the same database: what each statement costs at the least.

Each backend runs twice: durable, as the ledger runs; and with the commit's flush to disk
taken out (PostgreSQL: a database of its own with synchronous_commit=off; SQLite: its files
on tmpfs), which leaves what the code costs. Then cProfile of `after` and `before`. Prints
p50, p99 and the mean of each side, and the ratios to the baseline.
"""

import argparse
import cProfile
import os
import pstats
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from run import (
    APPROVED_ON,
    APPROVER,
    EVENTS_PER_ENROLMENT,
    Baseline,
    Thing,
    baseline_app,
    busy_processes,
    in_batches,
    ledger_enrol,
    ledger_submit,
    machine,
    new_ledger,
    postgres_server,
    roster,
    say,
)

from domain.member import ClaimIndex, Member, claim_uuid, member_uuid
from domain.scheme import Scheme
from ledger.application.app import MutualAidLedger
from ledger.application.books import Books
from ledger.store.recorders import POSTS_INTO

MEMBER_EVENTS = EVENTS_PER_ENROLMENT + 1  # and the claim submitted
SIDES = ("after", "before", "baseline", "commit", "query")


def approve_as_before(app: MutualAidLedger, claim_id: str, actor: str, on: date) -> None:
    """`approve_claim` as it was (commit 48afc09), less its retry and refusal wrappers, which
    cost nothing here: three aggregates replayed, the scheme's policies validated again."""
    scheme: Scheme = app.repository.get(Scheme.create_id())
    scheme.require_duty(actor, "approve_claim")
    index: ClaimIndex = app.repository.get(claim_uuid(claim_id))
    member: Member = app.repository.get(member_uuid(index.member_id))
    claim = member.claim(claim_id)
    open_period = scheme.open_period_for_posting(claim.period)
    member.approve_claim(claim_id, open_period, actor, on)
    app.save(member, **{POSTS_INTO: claim.period})


def baseline_command(app: Baseline, thing_id: UUID) -> None:
    thing: Thing = app.repository.get(thing_id)
    thing.bump(1)
    app.save(thing)


# Where each side runs


@dataclass(frozen=True)
class Place:
    """A backend, durable or not: the ledger's and the baseline's --db, a commit, a query."""

    name: str
    ledger_db: str
    baseline_db: str
    commit: Callable[[], None]
    query: Callable[[], None]


@contextmanager
def sqlite_place(durable: bool) -> Iterator[Place]:
    root = None if durable else "/dev/shm"
    with (
        tempfile.TemporaryDirectory(prefix="ledger-approvals-", dir=root) as tmp,
        closing(sqlite3.connect(Path(tmp, "commit.db"), isolation_level=None)) as conn,
    ):
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE commits (n INTEGER)")

        def commit() -> None:
            conn.execute("BEGIN")
            conn.execute("INSERT INTO commits VALUES (1)")
            conn.execute("COMMIT")

        def query() -> None:
            conn.execute("SELECT 1").fetchall()

        yield Place(
            "sqlite" if durable else "sqlite, on tmpfs",
            str(Path(tmp, "ledger.db")),
            str(Path(tmp, "baseline.db")),
            commit,
            query,
        )


@contextmanager
def postgres_place(durable: bool) -> Iterator[Place]:
    """Schemas of their own in a database of the run's own, dropped afterwards."""
    with postgres_server() as (server, _):
        database = f"bench_approvals_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
            if not durable:
                admin.execute(
                    sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(
                        sql.Identifier(database)
                    )
                )
        url = server.rsplit("/", 1)[0] + "/" + database
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                for schema in ("ledger", "baseline"):
                    conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
                conn.execute("CREATE TABLE baseline.commits (n integer)")

                def commit() -> None:
                    conn.execute("INSERT INTO baseline.commits VALUES (1)")

                def query() -> None:
                    conn.execute("SELECT 1").fetchall()

                yield Place(
                    "postgres" if durable else "postgres, synchronous_commit=off",
                    f"{url}?schema=ledger",
                    f"{url}?schema=baseline",
                    commit,
                    query,
                )
        finally:
            with psycopg.connect(server, autocommit=True) as admin:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(database)
                    )
                )


PLACES = {"sqlite": sqlite_place, "postgres": postgres_place}


# Measuring


@dataclass
class Figures:
    seconds: list[float]

    def at(self, share: float) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    @property
    def p50(self) -> float:
        return self.at(0.50)

    @property
    def p99(self) -> float:
        return self.at(0.99)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.seconds)


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def ready(place: Place, claims: int) -> tuple[Books, Baseline, list[str], list[UUID]]:
    """A ledger with `claims` claims of distinct members submitted, its scheme kept by the
    application; the baseline's aggregates, of as many events each as a member."""
    books = new_ledger(place.ledger_db)
    lines = roster(claims)
    for batch in in_batches(lines, 250):
        ledger_enrol(books, batch)
    claim_ids: list[str] = []
    ledger_submit(books.app, lines, claim_ids)
    base = baseline_app(place.baseline_db)
    things = []
    for n in range(claims):
        thing = Thing(f"T{n}")
        for _ in range(MEMBER_EVENTS - 1):
            thing.bump(1)
        things.append(thing)
    for k in range(0, claims, 250):
        base.save(*things[k : k + 250])
    return books, base, claim_ids, [thing.id for thing in things]


def measure(place: Place, claims: int) -> dict[str, Figures]:
    """Each side's per-approval times; the claims split between `after` and `before`."""
    books, base, claim_ids, thing_ids = ready(place, 2 * claims + 1)
    app = books.app
    try:
        app.approve_claim(claim_ids.pop(), APPROVER, APPROVED_ON)  # a warm process
        times: dict[str, list[float]] = {side: [] for side in SIDES}
        for k in range(claims):
            now, then, thing = claim_ids[k], claim_ids[claims + k], thing_ids[k]
            times["after"].append(timed(partial(app.approve_claim, now, APPROVER, APPROVED_ON)))
            times["before"].append(
                timed(partial(approve_as_before, app, then, APPROVER, APPROVED_ON))
            )
            times["baseline"].append(timed(partial(baseline_command, base, thing)))
            times["commit"].append(timed(place.commit))
            times["query"].append(timed(place.query))
        approved = sum(
            app.member(f"M{n:07d}").claims[c].status == "approved"
            for n, c in enumerate(claim_ids, start=1)
        )
        if approved != len(claim_ids):
            raise AssertionError(f"{approved} claims approved, not {len(claim_ids)}")
        return {side: Figures(seconds) for side, seconds in times.items()}
    finally:
        books.close()
        base.close()


def profiled(place: Place, claims: int) -> dict[str, pstats.Stats]:
    """`after`, `before` and the baseline under cProfile, in turn, as in `measure`."""
    books, base, claim_ids, thing_ids = ready(place, 2 * claims + 1)
    app = books.app
    profiles = {side: cProfile.Profile() for side in ("after", "before", "baseline")}
    try:
        app.approve_claim(claim_ids.pop(), APPROVER, APPROVED_ON)
        for k in range(claims):
            profiles["after"].runcall(app.approve_claim, claim_ids[k], APPROVER, APPROVED_ON)
            profiles["before"].runcall(
                approve_as_before, app, claim_ids[claims + k], APPROVER, APPROVED_ON
            )
            profiles["baseline"].runcall(baseline_command, base, thing_ids[k])
    finally:
        books.close()
        base.close()
    return {side: pstats.Stats(profile) for side, profile in profiles.items()}


# Reporting

INSIDE = {
    "scheme (`app.scheme()` / replay)": (("ledger/application/app.py",), {"scheme"}),
    "claim's member (`member_of_claim`)": (("ledger/application/app.py",), {"member_of_claim"}),
    "`repository.get` (replays)": (("eventsourcing/application.py",), {"get"}),
    "pydantic `Policy.model_validate`": (("pydantic/main.py",), {"model_validate"}),
    "`app.save` (encode, guards, INSERT, chain link, commit)": (
        ("eventsourcing/application.py",),
        {"save"},
    ),
    "waiting on the database (psycopg `wait`, sqlite3 `execute`/`commit`)": (
        ("psycopg/connection.py", "~"),
        {
            "wait",
            "<method 'commit' of 'sqlite3.Connection' objects>",
            "<method 'execute' of 'sqlite3.Cursor' objects>",
        },
    ),
}


STATEMENTS = {
    ("psycopg/cursor.py", "execute"),
    ("psycopg/_copy.py", "__enter__"),  # a COPY (`Cursor.copy`, a generator, counts twice)
    ("~", "<method 'execute' of 'sqlite3.Cursor' objects>"),
    ("~", "<method 'executemany' of 'sqlite3.Cursor' objects>"),
}


def where_the_time_goes(stats: pstats.Stats, approvals: int) -> list[str]:
    raw: dict[tuple[str, int, str], Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for _, _, tt, _, _ in raw.values())
    statements = sum(
        calls
        for (path, _, function), (_, calls, _, _, _) in raw.items()
        if any(path.endswith(f) and function == fn for f, fn in STATEMENTS)
    )
    lines = [
        f"{total / approvals * 1e3:.2f} ms a command under cProfile, "
        f"{statements / approvals:.1f} SQL statements (execute or COPY) a command"
    ]
    for label, (files, functions) in INSIDE.items():
        spent = sum(
            ct
            for (path, _, function), (_, _, _, ct, _) in raw.items()
            if function in functions and path.replace("\\", "/").endswith(files)
        )
        lines.append(f"{label}: {spent / total:.0%} ({spent / approvals * 1e3:.2f} ms)")
    top = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[:8]
    lines.append(
        "top own time: "
        + "; ".join(
            f"`{fn if path == '~' else f'{Path(path).name}:{line}({fn})'}` {tt / total:.0%} "
            f"({calls // approvals if calls >= approvals else f'{calls}/{approvals}'} a call)"
            for (path, line, fn), (_, calls, tt, _, _) in top
        )
    )
    return lines


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}"


def table(rows: list[tuple[str, dict[str, Figures]]]) -> list[str]:
    out = [
        "| backend | side | p50 ms | p99 ms | mean ms | mean / baseline | p50 / commit |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for place, figures in rows:
        base, commit = figures["baseline"], figures["commit"]
        for side in SIDES:
            f = figures[side]
            out.append(
                f"| {place} | {side} | {ms(f.p50)} | {ms(f.p99)} | {ms(f.mean)} | "
                f"{f.mean / base.mean:.2f} | {f.p50 / commit.p50:.1f} |"
            )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--claims", type=int, default=1000, help="approvals timed, per side")
    parser.add_argument("--profile", type=int, default=200, help="approvals profiled, per side")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    info = machine()
    say(
        f"{info['date']}: {info['cpus']} CPUs, Python {info['python']}, eventsourcing "
        f"{info['eventsourcing']}, psycopg {info['psycopg']}; load average "
        f"{os.getloadavg()[0]:.2f}; busy: {', '.join(busy_processes()) or 'none'}"
    )
    started = time.perf_counter()
    rows = []
    for backend in backends:
        for durable in (True, False):
            with PLACES[backend](durable) as place:
                say(f"== {place.name}: {args.claims} approvals a side ...")
                rows.append((place.name, measure(place, args.claims)))
                say("\n".join(table(rows[-1:])))
    for backend in backends:
        with PLACES[backend](True) as place:
            for side, stats in profiled(place, args.profile).items():
                say(f"-- profile, {place.name}, {side} ({args.profile} commands):")
                for line in where_the_time_goes(stats, args.profile):
                    say(f"   {line}")
    say("")
    say("\n".join(table(rows)))
    say(
        f"load average at the end {os.getloadavg()[0]:.2f}; "
        f"{time.perf_counter() - started:.0f} s in all"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
