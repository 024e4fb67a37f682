"""Projection catch-up and rebuild on a large log, before and after, beside the library's
decoding and a raw read of the same rows.

    python bench/catch_up.py [--members N] [--backend sqlite|postgres|both] [--before REV]
                             [--db URL_OR_FILE] [--out FILE]

For each backend: imports a roster of N members, their premiums (a payment per funding
source) and N/10 settled claims (or takes the ledger at --db as it is), then times, on the
same log in the same run:

- the raw read: the stored events' rows (position, originator id and version, topic, state)
  fetched in batches, nothing decoded (the practical limit of any catch-up);
- the library's path: `select_notifications` and `mapper.to_domain_event`, writing nothing;
- the read models' path now: `EventLog.entries_after`, writing nothing;
- the rebuild of the four read models together (each reset, then `catch_up_together`, the
  catch-up an import ends with), and of the balances alone, as the code stood at REV (in a
  process of its own, on the tree of REV) and as it is now;
- the rebuild of the four under cProfile, its time by kind of code.

The section "Issue 12: projection catch-up and rebuild" of docs/benchmarks.md is replaced
with the results.
"""

import argparse
import cProfile
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from audit import export, record
from feeds import ledger_db, machine, new_books
from psycopg.rows import tuple_row

from ledger.application.books import Books
from ledger.store.recorders import GuardedPostgresRecorder
from projections.projector import catch_up_together

ROOT = Path(__file__).resolve().parent.parent
HEADING = "## Issue 12: projection catch-up and rebuild"
BEFORE = "93bb3f6"
"""main before the read models took the log's entries (issue 12)."""
BATCH = 2000
KINDS = (
    ("waiting on the database (COPY, statements)", ("psycopg/connection.py", "sqlite3.")),
    ("decoding (orjson, reviving values, event objects)", ("ledger/store/log.py", "orjson")),
    ("posting rules, money", ("domain/",)),
    ("statement facts", ("projections/statements.py",)),
    ("balances, claims, outbox, projector", ("projections/",)),
    ("psycopg's Python (COPY rows, parameters)", ("psycopg/",)),
)
REBUILD = """
import sys, time
from ledger.application.books import Books
from projections.projector import catch_up_together
books = Books(sys.argv[1])
which = books.projectors if sys.argv[2] == "all" else (books.balances,)
for p in which:
    p.reset()
started = time.perf_counter()
catch_up_together(which)
print(time.perf_counter() - started)
books.close()
"""
"""A rebuild timed in a process of its own, on whichever tree it runs in."""


def raw_read(books: Books) -> None:
    recorder, after = books.app.recorder, 0
    position = "notification_id" if isinstance(recorder, GuardedPostgresRecorder) else "rowid"
    statement = recorder.sql(
        f"SELECT {position}, originator_id, originator_version, topic, state FROM {{events}} "
        f"WHERE {position} > ? ORDER BY {position} LIMIT ?"
    )
    while True:
        if isinstance(recorder, GuardedPostgresRecorder):
            with (
                recorder.datastore.get_connection() as conn,
                conn.cursor(binary=True, row_factory=tuple_row) as cursor,
            ):
                cursor.execute(statement, (after, BATCH), prepare=True)
                rows = cursor.fetchall()
        else:
            with recorder.datastore.transaction(commit=False) as cursor:
                cursor.execute(statement, (after, BATCH))
                rows = cursor.fetchall()
        if not rows:
            return
        after = rows[-1][0]


def library_read(books: Books) -> None:
    recorder, mapper, after = books.app.recorder, books.app.mapper, 0
    while batch := recorder.select_notifications(after, BATCH, inclusive_of_start=False):
        for notification in batch:
            mapper.to_domain_event(notification)
        after = batch[-1].id


def entries_read(books: Books) -> None:
    after = 0
    while batch := books.log.entries_after(after, BATCH):
        after = batch[-1].position


def rebuild(tree: Path, db: str, which: str) -> float:
    """Seconds of a rebuild (`all` four read models, or `balances`) as `tree`'s code runs it."""
    result = subprocess.run(
        [sys.executable, "-c", REBUILD, db, which],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"{tree}: rebuild failed: {result.stderr}")
    return float(result.stdout.split()[-1])


def timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def profile_kinds(db: str) -> dict[str, float]:
    """Shares of a rebuild's time by kind of code: each function's own time under cProfile,
    that of a built-in or of the standard library given to its callers."""
    books = Books(db)
    for p in books.projectors:
        p.reset()
    profile = cProfile.Profile()
    profile.runcall(catch_up_together, books.projectors)
    books.close()
    raw = pstats.Stats(profile).stats  # type: ignore[attr-defined]

    def kind(function: tuple[str, int, str]) -> str | None:
        where = f"{function[0]}:{function[2]}".replace("\\", "/")
        return next((k for k, marks in KINDS if any(m in where for m in marks)), None)

    shares: dict[str, float] = {}
    for function, (_, _, own, _, callers) in raw.items():
        found = kind(function)
        if found is not None:
            shares[found] = shares.get(found, 0.0) + own
            continue
        edges = {caller: edge[2] for caller, edge in callers.items()}
        total = sum(edges.values())
        for caller, edge in edges.items():
            by = kind(caller) or "other"
            shares[by] = shares.get(by, 0.0) + (own * edge / total if total else 0.0)
    total = sum(shares.values())
    return {k: share / total for k, share in sorted(shares.items(), key=lambda s: -s[1])}


def measure(backend: str, members: int, tmp: Path, before: Path, given: str | None) -> list[str]:
    with ExitStack() as stack:
        db = given or stack.enter_context(ledger_db(backend, tmp))
        if given is None:
            books = new_books(db)
            record(books, members, tmp)
            books.close()
        books = Books(db)
        events = books.log.last_position()
        print(f"{backend}: {events:,} events", flush=True)
        seconds = {
            "raw read of the rows (no decoding)": timed(lambda: raw_read(books)),
            "library: `select_notifications` + `mapper.to_domain_event`": timed(
                lambda: library_read(books)
            ),
            "now: read and decode for the read models (`EventLog.entries_after`)": timed(
                lambda: entries_read(books)
            ),
        }
        books.close()
        for which, what in (("all", "the four read models"), ("balances", "balances alone")):
            seconds[f"rebuild of {what}, before ({BEFORE})"] = rebuild(before, db, which)
            seconds[f"rebuild of {what}, now"] = rebuild(ROOT, db, which)
        raw = seconds["raw read of the rows (no decoding)"]
        library = seconds["library: `select_notifications` + `mapper.to_domain_event`"]
        rows = []
        for what, time_taken in seconds.items():
            rows.append(
                f"| {backend} | {what} | {time_taken:.2f} s | {events / time_taken:,.0f} | "
                f"{time_taken / events * 1e6:.1f} | {library / time_taken:.2f} | "
                f"{raw / time_taken:.2f} |"
            )
            print(rows[-1], flush=True)
        kinds = profile_kinds(db)
        rows.append(
            f"| {backend} | the rebuild of the four under cProfile, by kind of code: "
            + ", ".join(f"{kind} {share:.0%}" for kind, share in kinds.items())
            + " | | | | | |"
        )
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=60_000)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--before", default=BEFORE, help="the revision to compare with")
    parser.add_argument("--db", action="append", help="a ledger to take as it is, a backend each")
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    args = parser.parse_args()
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    given = dict(zip(backends, args.db or [], strict=False))
    rows = []
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as name:
        before = export(args.before, Path(name) / "before")
        for backend in backends:
            rows += measure(backend, args.members, Path(name), before, given.get(backend))
    section = [
        HEADING,
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {machine()}: "
        f"`python bench/catch_up.py --members {args.members}`. The log holds the enrolments "
        f"of {args.members:,} members with their premiums (two payments each) and "
        f"{args.members // 10:,} settled claims. Each row ran alone, on the same log in the "
        "same run; the rebuilds each in a process of their own, on the tree of the revision "
        "named, and each ends, as any catch-up of 10,000 events or more, with ANALYZE of the "
        "tables it filled (PostgreSQL, which runs here without autovacuum). *library / this* "
        "and *raw / this* are the time of the library's path and of the raw read over this "
        "row's.",
        "",
        "| backend | what | time | events/s | µs/event | library / this | raw / this |",
        "|---|---|---:|---:|---:|---:|---:|",
        *rows,
        "",
    ]
    text = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
    before_text, _, after = text.partition(HEADING)
    rest = after[after.find("\n## ") :] if "\n## " in after else ""
    args.out.write_text(before_text.rstrip() + "\n\n" + "\n".join(section) + rest, encoding="utf-8")


if __name__ == "__main__":
    main()
