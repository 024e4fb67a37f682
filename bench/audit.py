"""`ledger audit verify` on a large log, before and after, beside the floor of any replay.

    python bench/audit.py [--members N] [--backend sqlite|postgres|both] [--before REV]
                          [--out FILE]

For each backend: imports a roster of N members, their premiums (a payment per funding
source) and N/10 settled claims, catches the read models up, then times, in one run on the
same log:

- the floor: reading the log with the library's `select_notifications`, and reading and
  decoding it with the library's mapper, writing nothing (what any replay does at least);
- `ledger --read-only audit verify` end to end, each in a process of its own (start-up
  included), as the code stood at REV (default: before the digests) and as it is now,
  twice each, interleaved; both must exit 0 with the same output;
- the parts of `verify`, one at a time in this process: reading the log, decoding it, the
  hash chain, the replay into SQLite in memory (read, decode, apply), the digests of the
  live read models and of the replay, the rows compared one by one (what `verify` falls back
  to where digests differ), the chain and the replay one after the other, and `verify`
  itself (the chain and the live digests in a second thread while the log is replayed);
- the replay under cProfile, its time by kind of code.

The section "Audit: verification of the log" of docs/benchmarks.md is replaced with the
results.
"""

import argparse
import cProfile
import pstats
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from feeds import (
    RECEIVED,
    ledger_db,
    machine,
    new_books,
    write_claims,
    write_premiums,
    write_roster,
)
from run import replace_section

from ledger.application.books import Books, read_models
from ledger.application.feeds import import_feed
from ledger.reports.audit import (
    BATCH,
    _compare_rows,
    _rows,
    check_chain,
    check_read_models,
    verify,
)
from projections.projector import Database, Projector, catch_up_together

ROOT = Path(__file__).resolve().parent.parent
HEADING = "Audit: verification of the log"
BEFORE = "48afc09"
"""main before the read models were compared by digests (issue 12)."""
KINDS = (
    ("SQLite: the read models' statements", ("sqlite3.", "eventsourcing/sqlite.py")),
    ("the read models' and the projector's Python", ("projections/", "domain/")),
    ("decoding: library mapper, JSON", ("eventsourcing/", "json/", "ledger/application/")),
    ("reading the log (psycopg)", ("psycopg", "ledger/store/")),
)


def record(books: Books, members: int, tmp: Path) -> None:
    roster, premiums, claims = tmp / "roster.csv", tmp / "premiums.csv", tmp / "claims.csv"
    write_roster(roster, members)
    write_premiums(premiums, members)
    write_claims(claims, members // 10, members)
    for kind, path in (("enrolments", roster), ("premiums", premiums), ("claims", claims)):
        import_feed(books, kind, path, "bench", received_on=RECEIVED)
    books.catch_up()


def library_read(books: Books, decode: bool) -> None:
    recorder, mapper, after = books.app.recorder, books.app.mapper, 0
    while batch := recorder.select_notifications(after, BATCH, inclusive_of_start=False):
        if decode:
            for notification in batch:
                mapper.to_domain_event(notification)
        after = batch[-1].id


def log_read(books: Books, decode: bool) -> None:
    read = books.log.events_after if decode else books.log.notifications_after
    after = 0
    while batch := read(after, BATCH):
        last = batch[-1]
        after = last[0] if isinstance(last, tuple) else last.id


def replay(books: Books) -> tuple[Projector, ...]:
    """The read models rebuilt from the log in SQLite in memory, as `verify` rebuilds them."""
    replays = read_models(books.log, Database.scratch())
    catch_up_together(list(replays), BATCH)
    return replays


def digests(projectors: tuple[Projector, ...]) -> None:
    for p in projectors:
        for table in p.model.tables:
            p.db.digest(table, p.model.not_replayed)


def row_by_row(books: Books, replays: tuple[Projector, ...]) -> None:
    for live, replayed in zip(books.live, replays, strict=True):
        for table in live.model.tables:
            _compare_rows(live.model.name, table, _rows(live, table), _rows(replayed, table))


def timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def best(run: Callable[[], object], times: int = 3) -> float:
    """The shortest of a few runs: the machine is shared."""
    return min(timed(run) for _ in range(times))


def export(revision: str, into: Path) -> Path:
    """The tree of a revision, to run the command line as it was."""
    tree = subprocess.run(
        ["git", "archive", revision], cwd=ROOT, check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(tree)) as archive:
        archive.extractall(into, filter="data")
    return into


def cli_verify(tree: Path, db: str) -> tuple[float, str]:
    """`ledger --read-only audit verify` as the code in `tree` runs it: seconds, output."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "ledger", "--db", db, "--read-only", "audit", "verify"],
        cwd=tree,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{tree}: verify failed: {result.stderr}")
    return seconds, result.stdout


def profile_kinds(books: Books) -> dict[str, float]:
    """Shares of the replay's time by kind of code: each function's own time under
    cProfile, that of a built-in or of the standard library split among its callers."""
    profile = cProfile.Profile()
    profile.runcall(replay, books)
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


def measure(backend: str, members: int, tmp: Path, before: Path) -> list[str]:
    with ledger_db(backend, tmp) as db:
        books = new_books(db)
        build = timed(lambda: record(books, members, tmp))
        events = books.app.recorder.max_notification_id() or 0
        print(f"{backend}: {events:,} events recorded in {build:.0f} s", flush=True)
        rows = []

        def row(what: str, seconds: float, floor: float | None) -> None:
            ratio = "" if floor is None else f"{floor / seconds:.2f}"
            rows.append(
                f"| {backend} | {what} | {seconds:.2f} s | {events / seconds:,.0f} | "
                f"{seconds / events * 1e6:.1f} | {ratio} |"
            )
            print(rows[-1], flush=True)

        old, new = [], []
        for _ in range(2):
            old.append(cli_verify(before, db))
            new.append(cli_verify(ROOT, db))
        if {out for _, out in old} != {out for _, out in new}:
            raise SystemExit(f"{backend}: verify's output changed: {old[0][1]!r} {new[0][1]!r}")
        auditor = Books(db, read_only=True)
        parts: list[tuple[str, Callable[[], object]]] = [
            ("floor: read (library `select_notifications`)", lambda: library_read(auditor, False)),
            ("floor: read and decode (library mapper)", lambda: library_read(auditor, True)),
            ("part: read (`EventLog.notifications_after`)", lambda: log_read(auditor, False)),
            ("part: read and decode (`EventLog.events_after`)", lambda: log_read(auditor, True)),
            ("part: hash chain (`check_chain`)", lambda: check_chain(auditor.log)),
            ("part: replay (read, decode, apply the 4 read models)", lambda: replay(auditor)),
            ("part: digests of the live read models", lambda: digests(auditor.live)),
        ]
        seconds = {what: best(run) for what, run in parts}
        floor = seconds["floor: read and decode (library mapper)"]
        replays = replay(auditor)
        seconds["part: digests of the replay"] = best(lambda: digests(replays))
        compared = best(lambda: row_by_row(auditor, replays))
        seconds["part: rows compared one by one (before: always)"] = compared
        seconds["chain, then replay and compare, one after the other"] = best(
            lambda: (check_chain(auditor.log), check_read_models(auditor))
        )
        seconds["`verify` in this process: the chain in a second thread"] = best(
            lambda: verify(auditor)
        )
        for what, time_taken in seconds.items():
            row(what, time_taken, None if what.startswith("floor: read (") else floor)
            if what.startswith("part: replay"):
                applying = time_taken - seconds["part: read and decode (`EventLog.events_after`)"]
                row("part: of which applying the read models", applying, floor)
        row(f"`audit verify`, command line, before ({BEFORE})", min(s for s, _ in old), floor)
        row("`audit verify`, command line, now", min(s for s, _ in new), floor)
        kinds = profile_kinds(auditor)
        rows.append(
            f"| {backend} | the replay under cProfile, by kind of code: "
            + ", ".join(f"{kind} {share:.0%}" for kind, share in kinds.items())
            + " | | | | |"
        )
        print(rows[-1], flush=True)
        auditor.close()
        books.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--before", default=BEFORE, help="the revision to compare with")
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    args = parser.parse_args()
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    rows = []
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as name:
        before = export(args.before, Path(name) / "before")
        for backend in backends:
            rows += measure(backend, args.members, Path(name), before)
    section = [
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {machine()}: "
        f"`python bench/audit.py --members {args.members}`. The log holds {args.members:,} "
        f"enrolments with their premiums and {args.members // 10:,} settled claims. Each "
        "row ran alone, on the same log in the same run; the command lines are the best of "
        "two, interleaved, with the same output; *floor / this* is the time of the floor "
        "(reading and decoding the log with the library's mapper, writing nothing) over this "
        "row's.",
        "",
        "| backend | what | time | events/s | µs/event | floor / this |",
        "|---|---|---:|---:|---:|---:|",
        *rows,
        "",
    ]
    replace_section(args.out, HEADING, section)


if __name__ == "__main__":
    main()
