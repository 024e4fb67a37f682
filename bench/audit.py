"""`ledger audit verify` on a large log, beside reading the same log with the plain library.

    python bench/audit.py [--members N] [--backend sqlite|postgres|both] [--out FILE]

For each backend: imports a roster of N members, their premiums (a payment per funding
source: 4 events a member with Registered and Enrolled) and N/10 settled claims, catches
the read models up, then times in one run, on the same log: reading it with
`select_notifications` (the floor of anything that reads the log), reading and decoding it
with the library's mapper (the floor of any replay), the hash-chain check, and the replay of
every read model compared with the live ones. The section "Audit" of
docs/benchmarks.md is replaced with the results.
"""

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
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

from ledger.application.books import Books
from ledger.application.feeds import import_feed
from ledger.reports.audit import BATCH, check_chain, check_read_models, head, walk_chain

HEADING = "## Audit: verification of the log"


def record(books: Books, members: int, tmp: Path) -> None:
    roster, premiums, claims = tmp / "roster.csv", tmp / "premiums.csv", tmp / "claims.csv"
    write_roster(roster, members)
    write_premiums(premiums, members)
    write_claims(claims, members // 10, members)
    for kind, path in (("enrolments", roster), ("premiums", premiums), ("claims", claims)):
        import_feed(books, kind, path, "bench", received_on=RECEIVED)
    books.catch_up()


def read_only(books: Books) -> int:
    recorder, after, read = books.app.recorder, 0, 0
    while batch := recorder.select_notifications(after, BATCH, inclusive_of_start=False):
        read += len(batch)
        after = batch[-1].id
    return read


def read_and_decode(books: Books) -> int:
    recorder, mapper, after, read = books.app.recorder, books.app.mapper, 0, 0
    while batch := recorder.select_notifications(after, BATCH, inclusive_of_start=False):
        for notification in batch:
            mapper.to_domain_event(notification)
        read += len(batch)
        after = batch[-1].id
    return read


def walk(books: Books) -> None:
    last = head(books.log)
    walk_chain(books, None, 0 if last is None else last.position, None)


def timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def measure(backend: str, members: int, tmp: Path) -> list[str]:
    with ledger_db(backend, tmp) as db:
        books = new_books(db)
        build = timed(lambda: record(books, members, tmp))
        events = books.app.recorder.max_notification_id() or 0
        print(f"{backend}: {events:,} events recorded in {build:.0f} s", flush=True)
        auditor = Books(db, read_only=True)
        rows = []
        for name, run in (
            ("read the log (`select_notifications`), baseline", lambda: read_only(auditor)),
            ("read and decode (library mapper), baseline", lambda: read_and_decode(auditor)),
            (
                "hash chain: `check_chain` (on PostgreSQL by the server)",
                lambda: check_chain(auditor),
            ),
            ("hash chain walked in Python (`walk_chain`)", lambda: walk(auditor)),
            ("replay every read model in memory and compare", lambda: check_read_models(auditor)),
        ):
            seconds = timed(run)
            rows.append(
                f"| {backend} | {name} | {events:,} in {seconds:.1f} s | "
                f"{events / seconds:,.0f} events/s |"
            )
            print(rows[-1], flush=True)
        auditor.close()
        books.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    args = parser.parse_args()
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    rows = []
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as name:
        for backend in backends:
            rows += measure(backend, args.members, Path(name))
    section = [
        HEADING,
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {machine()}: "
        f"`python bench/audit.py --members {args.members}`. The log holds {args.members:,} "
        f"enrolments with their premiums and {args.members // 10:,} settled claims; the "
        "baselines read the same log in the same run.",
        "",
        "| backend | what | events | rate |",
        "|---|---|---:|---:|",
        *rows,
        "",
    ]
    text = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
    before, _, after = text.partition(HEADING)
    rest = after[after.find("\n## ") :] if "\n## " in after else ""
    args.out.write_text(before.rstrip() + "\n\n" + "\n".join(section) + rest, encoding="utf-8")


if __name__ == "__main__":
    main()
