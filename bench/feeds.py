"""Bulk import end to end: a roster, premiums and a claims file, beside the library and COPY.

    python bench/feeds.py [--records N] [--baseline N] [--backend sqlite|postgres|both]
                          [--profile] [--out FILE]

For each backend: generates a roster of N members, their premiums (2N rows) and N
settlements (CSV), imports them with `ledger.application.feeds.import_feed` (validated,
adjudicated, stored and chained, projected) and measures records per second end to end.
Beside each feed, in the same run: the same events saved by the plain eventsourcing library
(its batched save), and the same stored rows written by a raw COPY (the practical limit);
and, on a sample, the application's one-record-at-a-time commands. The section "Issue 12:
feeds end to end, beside the library and COPY" of docs/benchmarks.md is replaced with the
results.
"""

import argparse
import cProfile
import csv
import os
import platform
import pstats
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import NamedTuple

import psycopg
from eventsourcing.persistence import JSONTranscoder, StoredEvent

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from run import Baseline, baseline_app, replace_section

from ledger.application.app import DateAsISO
from ledger.application.books import Books
from ledger.application.feeds import import_feed
from ledger.application.policies import load_preset

LIBRARY_SAVE = 500
"""Events a save of the plain library: larger saves can stall its pipeline on PostgreSQL."""
POSTGRES = os.environ.get("LEDGER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
START, END = date(2025, 1, 1), date(2025, 12, 31)
RECEIVED = date(2026, 1, 15)
"""The day the feeds arrive: after every discharge in them, before the claim deadline."""
COUNTIES = {f"C{i:02d}": f"County {i}" for i in range(1, 9)}


def write_roster(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["名册行号", "会员编号", "期次", "区县", "单位", "参保日期"])
        for i in range(n):
            county = f"C{i % 8 + 1:02d}"
            w.writerow([i + 1, f"M{i:07d}", 1, county, f"{county}-U{i % 500:03d}", "2025-01-05"])


def write_premiums(path: Path, n: int) -> None:
    """Each member's premium in its two funding sources: 49 from the union, 1 from the worker."""
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["收据号", "会员编号", "期次", "资金来源", "金额", "缴费日期"])
        for i in range(n):
            w.writerow([f"U{i:07d}", f"M{i:07d}", 1, "union:city", "49.00", "2025-01-06"])
            w.writerow([f"W{i:07d}", f"M{i:07d}", 1, "worker", "1.00", "2025-01-06"])


def write_claims(path: Path, n: int, members: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            ["结算单号", "会员编号", "入院日期", "出院日期", "总费用", "统筹支付", "合规自付"]
        )
        for i in range(n):
            eligible = rng.choice((300, 800, 1500, 3000, 6000, 12000, 40000)) + rng.randrange(100)
            admitted = START + timedelta(days=rng.randrange(300))
            w.writerow(
                [
                    f"S{i:08d}",
                    f"M{rng.randrange(members):07d}",
                    admitted.isoformat(),
                    (admitted + timedelta(days=5)).isoformat(),
                    f"{eligible * 3}.00",
                    f"{eligible * 2}.00",
                    f"{eligible}.00",
                ]
            )


@contextmanager
def ledger_db(backend: str, tmp: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield str(tmp / f"{uuid.uuid4().hex}.db")
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{POSTGRES}?schema={schema}"
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def new_books(db: str) -> Books:
    books = Books(db)
    books.app.create_scheme("Bench", "pinghu", COUNTIES, "bench", START)
    for user, role in (("bench", "clerk"), ("bench", "approver"), ("b", "clerk")):
        books.app.grant_role(user, role, "bench", START)
    books.app.open_period(1, START, END, load_preset("pinghu").policy_for(1), "bench", START)
    return books


def timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def imported(books: Books, kind: str, path: Path, stages: dict[str, float] | None = None) -> None:
    """Import a feed whole: a rejected record would make the figure meaningless. `stages`
    is given the moment each stage of the import was last reported."""
    marks = {} if stages is None else stages

    def progress(stage: str, done: int) -> None:
        marks[stage] = time.perf_counter()

    summary = import_feed(books, kind, path, "b", received_on=RECEIVED, progress=progress)
    if summary.rejected or summary.imported != summary.read:
        raise SystemExit(f"{path}: {summary.rejected} rejected, first: {summary.rejects[:1]}")


class Measured(NamedTuple):
    bulk: float
    validated: float
    """Seconds reading, validating and adjudicating, before the first chunk is saved."""
    stored: float
    """Seconds saving and projecting, the rest (on PostgreSQL the read models catch up
    while the chunks are saved)."""
    events: int
    library: float
    """The plain library's batched save of the same events."""
    copy: float
    """A raw COPY (SQLite: executemany) of the same stored rows."""


def bulk(
    backend: str, tmp: Path, files: dict[str, tuple[str, Path]], profile: bool
) -> dict[str, Measured]:
    """Each feed imported in turn into one ledger; after each, the same events saved by the
    plain library and copied raw into new tables."""
    measured = {}
    with ledger_db(backend, tmp) as db:
        books = new_books(db)
        for name, (kind, path) in files.items():
            before = books.log.last_position()
            profiler = cProfile.Profile() if profile else None
            if profiler:
                profiler.enable()
            stages: dict[str, float] = {}
            started = time.perf_counter()
            imported(books, kind, path, stages)
            seconds = time.perf_counter() - started
            if profiler:
                profiler.disable()
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
            events = feed_events(books, before)
            validated = stages.get("validating", started) - started
            measured[name] = Measured(
                seconds,
                validated,
                seconds - validated,
                len(events),
                saved_by_library(backend, tmp, events),
                copied_raw(backend, tmp, events),
            )
            print(f"{backend} {name}: {measured[name]}", flush=True)
        books.close()
    return measured


def one_at_a_time(backend: str, tmp: Path, n: int) -> dict[str, float]:
    rng = random.Random(2)
    with ledger_db(backend, tmp) as db:
        books = new_books(db)
        app = books.app

        def roster() -> None:
            for i in range(n):
                county = f"C{i % 8 + 1:02d}"
                app.enrol(f"M{i:07d}", 1, county, f"{county}-U001", None, "bench", START)
            books.catch_up()

        def premiums() -> None:
            for i in range(n):
                app.pay_premium(f"M{i:07d}", 1, {"union:city": "49.00"}, f"U{i}", "b", START)
                app.pay_premium(f"M{i:07d}", 1, {"worker": "1.00"}, f"W{i}", "b", START)
            books.catch_up()

        def claims() -> None:
            for _ in range(n):
                on = START + timedelta(days=rng.randrange(300))
                claim = app.submit_claim(f"M{rng.randrange(n):07d}", 1, "3000.00", "b", on)
                app.approve_claim(claim, "bench", on)
            books.catch_up()

        result = {"roster": timed(roster), "premiums": timed(premiums), "claims": timed(claims)}
        books.close()
    return result


class LibraryLedger(Baseline):
    """The plain library's application, with the ledger's transcoding of dates: what the
    library's own batched save of the ledger's events costs."""

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())


def feed_events(books: Books, after: int) -> list[StoredEvent]:
    """The events a feed stored: those of the log past position `after`."""
    found: list[StoredEvent] = []
    while batch := books.app.recorder.select_notifications(
        start=after, limit=10_000, inclusive_of_start=False
    ):
        found += batch
        after = batch[-1].id
    return found


def saved_by_library(backend: str, tmp: Path, events: list[StoredEvent]) -> float:
    """Seconds for the plain library to save the same events (decoded first, untimed) into
    a new log, in saves of LIBRARY_SAVE events: its mapper (the library's JSON) and its
    recorder (on PostgreSQL an INSERT of an array, in its pipeline)."""
    decoder = LibraryLedger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}).mapper
    domain_events = [decoder.to_domain_event(e) for e in events]
    with ledger_db(backend, tmp) as db:
        library = LibraryLedger(env=baseline_app(db).env)

        def save() -> None:
            for start in range(0, len(domain_events), LIBRARY_SAVE):
                library.save(*domain_events[start : start + LIBRARY_SAVE])

        seconds = timed(save)
        library.close()
    return seconds


def copied_raw(backend: str, tmp: Path, events: list[StoredEvent]) -> float:
    """Seconds to write the same stored rows into a table like the library's (its key and
    unique index), in one statement: COPY on PostgreSQL, one executemany on SQLite. The
    practical limit of any import of these events."""
    rows = [(e.originator_id, e.originator_version, e.topic, e.state) for e in events]
    table = (
        "CREATE TABLE raw_events (notification_id {serial} PRIMARY KEY, originator_id {uuid} "
        "NOT NULL, originator_version integer NOT NULL, topic text NOT NULL, state {bytes}, "
        "UNIQUE (originator_id, originator_version))"
    )
    if backend == "sqlite":
        path = tmp / f"raw-{uuid.uuid4().hex}.db"
        with closing(sqlite3.connect(path)) as conn:
            conn.execute(table.format(serial="INTEGER", uuid="TEXT", bytes="BLOB"))
            started = time.perf_counter()
            with conn:
                conn.executemany(
                    "INSERT INTO raw_events (originator_id, originator_version, topic, state) "
                    "VALUES (?, ?, ?, ?)",
                    [(str(r[0]), *r[1:]) for r in rows],
                )
            seconds = time.perf_counter() - started
        path.unlink()
        return seconds
    with ledger_db(backend, tmp) as db, psycopg.connect(POSTGRES) as conn:
        schema = db.partition("schema=")[2]
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute(table.format(serial="bigserial", uuid="uuid", bytes="bytea"))
        conn.commit()
        started = time.perf_counter()
        with (
            conn.cursor() as cursor,
            cursor.copy(
                "COPY raw_events (originator_id, originator_version, topic, state) FROM STDIN"
            ) as copy,
        ):
            for row in rows:
                copy.write_row(row)
        conn.commit()
        return time.perf_counter() - started


def machine() -> str:
    memory = next(
        int(line.split()[1]) // 1024 // 1024
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    python = sys.version.split()[0]
    return f"{os.cpu_count()} CPUs, {memory} GiB, {platform.platform()}, Python {python}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=int, default=3_000)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    args = parser.parse_args()
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as name:
        tmp = Path(name)
        files = {
            "roster": ("enrolments", tmp / "roster.csv"),
            "premiums": ("premiums", tmp / "premiums.csv"),
            "claims": ("claims", tmp / "claims.csv"),
        }
        write_roster(files["roster"][1], args.records)
        write_premiums(files["premiums"][1], args.records)
        write_claims(files["claims"][1], args.records, args.records)
        counts = {"roster": 1, "premiums": 2, "claims": 1}
        for backend in backends:
            fast = bulk(backend, tmp, files, args.profile)
            slow = one_at_a_time(backend, tmp, args.baseline)
            for name, per in counts.items():
                m = fast[name]
                bulk_n, plain_n = args.records * per, args.baseline * per
                rows.append(
                    f"| {backend} | {name} | {bulk_n:,} in {m.bulk:.1f} s: "
                    f"**{bulk_n / m.bulk:,.0f}** records/s | {m.validated:.1f} s / "
                    f"{m.stored:.1f} s | {m.events:,} | "
                    f"{m.library:.1f} s | {m.copy:.1f} s | {m.library / m.bulk:.2f} | "
                    f"{m.copy / m.bulk:.2f} | {plain_n / slow[name]:,.0f} records/s |"
                )
                print(rows[-1], flush=True)
    replace_section(
        args.out,
        "Issue 12: feeds end to end, beside the library and COPY",
        [
            f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {machine()}: "
            f"`python bench/feeds.py --records {args.records} --baseline {args.baseline}`. "
            "Each feed is imported with `import_feed` into one ledger in turn (validated, "
            "adjudicated, stored with its chain links, projected into the four read models); "
            "then, in the same run, the same events the feed stored are saved by the plain "
            "library (its mapper and recorder, in saves of "
            f"{LIBRARY_SAVE} events) and copied raw into a table like the library's (COPY on "
            "PostgreSQL, one executemany on SQLite), each into a new ledger. *library / "
            "import* and *COPY / import* are the times of those over the import's: 1.00 is "
            "as fast as the import, 0.10 ten times faster. *validate / store* splits the "
            "import: reading, validating and adjudicating, until the first chunk is saved; "
            "then saving and projecting (on PostgreSQL the read models catch up in a second "
            "thread while the chunks are saved), with ANALYZE. The last column is the "
            "application's commands one record at a time (its own transaction each, then "
            "the read models caught up), on a sample.",
            "",
            "| backend | feed | import end to end | validate / store | events "
            "| library save | raw COPY | library / import | COPY / import | one at a time |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
        ],
    )


if __name__ == "__main__":
    main()
