"""Parallel writers: the same feeds imported by 1, 2 and 4 processes at once, on PostgreSQL.

    python bench/parallel.py [--records N] [--workers 1 2 4] [--out FILE]

Generates a roster of N members in 8 counties, their premiums (two a member) and N
settlements (bench/feeds.py's files), splits each file by county into one part a worker
(each worker its own counties), and imports the parts with `import_feed` (validated,
adjudicated, stored, chained, projected), each worker a process of its own, all started
together, in two ways:

- one ledger: every worker imports into the same ledger, each chunk its own transaction
  under the ledger's write lock (the lock that orders positions), the read models caught
  up by whichever worker gets there first;
- a ledger each (a city each): every worker imports into a ledger of its own.

The records per second are all the records over the wall time from the start of the
first worker to the end of the last, beside the same for one worker, as a ratio. The
section "Parallel writers" of docs/benchmarks.md is replaced with the results.
"""

import argparse
import csv
import multiprocessing
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from feeds import (
    imported,
    ledger_db,
    machine,
    new_books,
    write_claims,
    write_premiums,
    write_roster,
)
from run import replace_section

from ledger.application.books import Books

FEEDS = (("enrolments", "roster"), ("premiums", "premiums"), ("claims", "claims"))
COUNTIES = 8


def split_by_county(path: Path, workers: int) -> list[Path]:
    """The file's rows in one part a worker, by the county of the row's member (bench/feeds.py
    puts member i in county i % 8): worker k takes the counties c with c % workers == k."""
    parts = [path.with_suffix(f".{k}-of-{workers}.csv") for k in range(workers)]
    with path.open(encoding="utf-8", newline="") as f, ExitStack() as stack:
        rows = csv.reader(f)
        header = next(rows)
        column = header.index("会员编号")
        writers = [csv.writer(stack.enter_context(p.open("w", encoding="utf-8"))) for p in parts]
        for w in writers:
            w.writerow(header)
        for row in rows:
            county = int(row[column][1:]) % COUNTIES
            writers[county % workers].writerow(row)
    return parts


def worker(db: str, files: dict[str, Path], start: float) -> None:
    """Import a worker's part of each feed into `db`, once every worker is started."""
    time.sleep(max(0.0, start - time.time()))
    books = Books(db)
    for kind, name in FEEDS:
        imported(books, kind, files[name])
    books.close()


def run(tmp: Path, files: dict[str, Path], workers: int, shared: bool) -> float:
    """Wall seconds for `workers` processes importing their parts at once."""
    parts = {name: split_by_county(path, workers) for name, path in files.items()}
    with ExitStack() as stack:
        dbs = [
            stack.enter_context(ledger_db("postgres", tmp)) for _ in range(1 if shared else workers)
        ]
        for db in dbs:
            new_books(db).close()
        start = time.time() + 2.0  # every process started and connected by then
        context = multiprocessing.get_context("spawn")
        processes = [
            context.Process(
                target=worker,
                args=(dbs[0 if shared else k], {n: p[k] for n, p in parts.items()}, start),
            )
            for k in range(workers)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join()
        seconds = time.time() - start
        if any(p.exitcode for p in processes):
            raise SystemExit(f"a worker failed: {[p.exitcode for p in processes]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    args = parser.parse_args()
    n = args.records
    records = n * 4  # a roster line, two premiums and a settlement a member
    rows = []
    with tempfile.TemporaryDirectory(prefix="ledger-parallel-") as name:
        tmp = Path(name)
        files = {"roster": tmp / "roster.csv", "premiums": tmp / "premiums.csv"}
        files["claims"] = tmp / "claims.csv"
        write_roster(files["roster"], n)
        write_premiums(files["premiums"], n)
        write_claims(files["claims"], n, n)
        alone = None
        for workers in args.workers:
            for shared in (True, False):
                if workers == 1 and not shared:
                    continue  # one worker is one ledger either way
                seconds = run(tmp, files, workers, shared)
                rate = records / seconds
                if workers == 1:
                    alone = rate
                way = "one ledger" if shared else "a ledger each"
                rows.append(
                    f"| {workers} | {way} | {records:,} in {seconds:.1f} s | {rate:,.0f} "
                    f"records/s | {f'{rate / alone:.2f}' if alone else 'n/a'} |"
                )
                print(rows[-1], flush=True)
    section = [
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {machine()}: "
        f"`python bench/parallel.py --records {n} --workers "
        f"{' '.join(map(str, args.workers))}`. Each worker imports its counties' part of a "
        f"roster of {n:,} members, their {2 * n:,} premiums and {n:,} settlements (validated, "
        "adjudicated, stored, chained, projected), all workers at once, on PostgreSQL; "
        "records/s over the wall time of all, and the ratio to one worker.",
        "",
        "| workers | ledgers | records | records/s | vs one worker |",
        "|---:|---|---:|---:|---:|",
        *rows,
    ]
    replace_section(args.out, "Parallel writers", section)


if __name__ == "__main__":
    main()
