"""Bulk import end to end: a roster and a claims file, beside one record at a time.

    python bench/feeds.py [--records N] [--baseline N] [--backend sqlite|postgres|both]

For each backend: generates a roster of N members and a claims file of N settlements
(CSV), imports them with `ledger.application.feeds.import_feed` (validated, adjudicated, stored and
projected), and measures records per second end to end. Two baselines are measured in the
same run: the plain path, the application's one-record-at-a-time commands (enrol, pay,
submit, approve) for a sample of records, each in its own transaction, then the same
projections caught up; and the floor, the least any import can take while each record is
an event: N minimal one-event aggregates of the plain eventsourcing library, saved in
batches and read back and decoded, as the read models must. Results are appended to
docs/benchmarks.md under "Feeds".
"""

import argparse
import cProfile
import csv
import os
import platform
import pstats
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from run import Baseline, baseline_app, baseline_read, baseline_save_batches

from ledger.application.books import Books
from ledger.application.feeds import import_feed
from ledger.application.policies import load_preset

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


def imported(books: Books, kind: str, path: Path) -> None:
    """Import a feed whole: a rejected record would make the figure meaningless."""
    summary = import_feed(books, kind, path, "b", received_on=RECEIVED)
    if summary.rejected or summary.imported != summary.read:
        raise SystemExit(f"{path}: {summary.rejected} rejected, first: {summary.rejects[:1]}")


def bulk(
    backend: str, tmp: Path, files: dict[str, tuple[str, Path]], profile: bool
) -> dict[str, float]:
    with ledger_db(backend, tmp) as db:
        books = new_books(db)
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        seconds = {}
        for name, (kind, path) in files.items():
            seconds[name] = timed(lambda kind=kind, path=path: imported(books, kind, path))
            print(f"{backend} bulk {name}: {seconds[name]:.1f} s", flush=True)
        if profiler:
            profiler.disable()
            stats = pstats.Stats(profiler).sort_stats("cumulative")
            stats.print_stats(25)
        books.close()
    return seconds


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


def floor(backend: str, tmp: Path, n: int) -> float:
    """Seconds for n records as n minimal aggregates of one event each, saved by the plain
    library in batches of 250 (as bench/run.py; larger saves can stall its pipeline on
    PostgreSQL), then read back and decoded: no file, no validation, no rules, no read model,
    no hash chain."""
    with ledger_db(backend, tmp) as db:
        app: Baseline = baseline_app(db)
        seconds = timed(lambda: baseline_save_batches(app, n, 250, 0))
        seconds += timed(lambda: baseline_read(app))
        app.close()
    return seconds


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
    floors: list[str] = []
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
            least = floor(backend, tmp, args.records)
            floors.append(
                f"| {backend} | {args.records:,} in {least:.1f} s: "
                f"{args.records / least:,.0f} records/s |"
            )
            print(floors[-1], flush=True)
            for name, per in counts.items():
                bulk_n, plain_n = args.records * per, args.baseline * per
                bulk_rate, plain_rate = bulk_n / fast[name], plain_n / slow[name]
                rows.append(
                    f"| {backend} | {name} | {bulk_n:,} in {fast[name]:.1f} s: "
                    f"{bulk_rate:,.0f} records/s | {plain_n:,} in {slow[name]:.1f} s: "
                    f"{plain_rate:,.0f} records/s | {bulk_rate / plain_rate:.1f}x |"
                )
                print(rows[-1], flush=True)
    report = [
        "",
        f"## Feeds: bulk import end to end ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
        "",
        f"Machine: {machine()}. Command: `python bench/feeds.py --records {args.records} "
        f"--baseline {args.baseline}`.",
        "",
        "| backend | file | bulk import (validated, adjudicated, stored, projected) "
        "| one record at a time (commands, then projections) | speed-up |",
        "|---|---|---:|---:|---:|",
        *rows,
        "",
        "The floor, in the same run: records as minimal one-event aggregates of the plain "
        "library, saved in batches of 250, read back and decoded.",
        "",
        "| backend | floor |",
        "|---|---:|",
        *floors,
        "",
    ]
    with args.out.open("a", encoding="utf-8") as f:
        f.write("\n".join(report))


if __name__ == "__main__":
    main()
