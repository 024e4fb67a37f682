"""A province of cities: each a city year (bench/city_year.py: roster, premiums, settlements,
payouts, bank results, close) in a ledger of its own, registered, then rolled up, and how
the roll-up grows with the number of cities.

    python bench/province.py [--members 2000] [--cities 1 3 11] [--backend postgres|sqlite]
                             [--out docs/benchmarks.md]

Every city is the same size (--members, with a settlement for every 4.28 members, as
Beijing's year); the largest --cities count of them is made, each in its own PostgreSQL
schema (or SQLite file), and registered. Then, for each count n, the first n cities are
rolled up: `ledger province statement` (`province_statement()`) and `ledger province
verify` (`province_verification()`), each timed. Beside them in the same run, the baseline
of a roll-up: each city's own statement and own verify (what the province reads of each),
timed one city after another; a roll-up's ratio to the sum of its cities' own is what the
province adds. The section "Province: cities rolled up" of --out is replaced with the results.
"""

import argparse
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from city_year import BEIJING_MEMBERS, City, Memory, city_year, write_rosters, write_settlements
from feeds import ledger_db, machine
from run import busy_processes, replace_section

from ledger.application.books import Books
from ledger.application.policies import load_preset
from ledger.application.province import ProvinceRegister
from ledger.reports.audit import verify
from ledger.reports.province import province_statement, province_verification
from ledger.reports.statement import statement

HEADING = "Province: cities rolled up (`bench/province.py`)"
YEAR = 2025


def say(message: str) -> None:
    print(message, flush=True)


def timed(work: object) -> float:
    started = time.perf_counter()
    work()  # type: ignore[operator]
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--members", type=int, default=2000, help="members of each city")
    parser.add_argument("--cities", type=int, nargs="+", default=[1, 3, 11])
    parser.add_argument("--backend", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    args = parser.parse_args(argv)
    counts = sorted(set(args.cities))
    load_before, busy = os.getloadavg()[0], busy_processes()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ledger-province-") as name, ExitStack() as stack:
        home = Path(name)
        register = ProvinceRegister(str(home / "province.db"))
        setup: list[float] = []
        for n in range(counts[-1]):
            code = f"C{n + 1:02d}"
            city = City.at(args.members / BEIJING_MEMBERS, "pinghu", n + 1)
            folder = home / code
            folder.mkdir()
            db = stack.enter_context(ledger_db(args.backend, folder))
            begun = time.perf_counter()
            write_rosters(city, load_preset("pinghu").policy_for(1), folder)
            write_settlements(city, folder)
            memory = Memory(db)
            books, _ = city_year(city, folder, db, memory, through_close=True)
            memory.stop()
            books.close()
            setup.append(time.perf_counter() - begun)
            register.add_city(code, f"City {n + 1}", db, "bench", date(2026, 2, 1))
            say(f"{code}: {city.members:,} members, a year in {setup[-1]:.1f} s")
        register.close()

        reader = ProvinceRegister(str(home / "province.db"), read_only=True)
        own_statement, own_verify = [], []
        for c in reader.cities():
            books = Books(c.db, read_only=True, create=False)
            own_statement.append(timed(lambda b=books: statement(b, 1, largest=0)))
            own_verify.append(timed(lambda b=books: verify(b)))
            books.close()
        rows = []
        for n in counts:
            subset = ProvinceRegister(str(home / f"province-{n}.db"))
            for c in reader.cities()[:n]:
                subset.add_city(c.code, c.name, c.db, "bench", date(2026, 2, 1))
            rolled = timed(lambda s=subset: province_statement(s, YEAR, {}))
            verified = timed(lambda s=subset: province_verification(s))
            subset.close()
            rows.append((n, rolled, sum(own_statement[:n]), verified, sum(own_verify[:n])))
            say(f"{n} cities: statement {rolled:.2f} s, verify {verified:.2f} s")
        reader.close()
    lines = report(args, rows, setup, (load_before, os.getloadavg()[0]), busy, started)
    replace_section(args.out, HEADING, lines)
    say(f"wrote {args.out}")
    return 0


def report(
    args: argparse.Namespace,
    rows: list[tuple[int, float, float, float, float]],
    setup: list[float],
    load: tuple[float, float],
    busy: list[str],
    started: float,
) -> list[str]:
    command = " ".join(["python bench/province.py", *sys.argv[1:]])
    first = rows[0]
    lines = [
        f"**{rows[-1][0]} cities of {args.members:,} members each**, on {args.backend}. Written "
        f"by `{command}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{time.perf_counter() - started:.0f} s); machine: {machine()}; load average (1 min) at "
        f"the start and end: {load[0]:.2f}, {load[1]:.2f}; other busy processes: "
        f"{', '.join(busy) or 'none'}.",
        "",
        f"Each city's year (files written, roster, premiums, settlements, payouts, bank "
        f"results, close) took {min(setup):.1f} to {max(setup):.1f} s. The roll-ups, beside "
        "the baseline of each city's own statement and own verify, run one after another:",
        "",
        "| cities | province statement | the cities' own statements | ratio | province verify "
        "| the cities' own verifies | ratio | statement per city |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, rolled, own, verified, own_verified in rows:
        lines.append(
            f"| {n} | {rolled:.2f} s | {own:.2f} s | {rolled / own:.2f} | {verified:.2f} s | "
            f"{own_verified:.2f} s | {verified / own_verified:.2f} | {rolled / n:.2f} s |"
        )
    last = rows[-1]
    per_member = last[1] / last[0] / args.members
    verify_per_member = last[3] / last[0] / args.members
    lines += [
        "",
        f"From {first[0]} to {last[0]} cities the province statement grows "
        f"{last[1] / first[1]:.1f}x for {last[0] / first[0]:.0f}x the cities, and at "
        f"{last[0]} cities costs {last[1] / last[2]:.2f}x the cities' own statements (its "
        f"verify {last[3] / last[4]:.2f}x theirs): it reads each city's ledger in turn, its own "
        "statement at a position, so it grows with the number of cities and with each city's "
        "size. Linear in the members, at this run's rates, 11 cities of 100,000 members would "
        f"take {11 * 100_000 * per_member:.0f} s for the statement and "
        f"{11 * 100_000 * verify_per_member / 60:.1f} min for the verify, 11 of 1,000,000 "
        f"{11 * 1_000_000 * per_member / 60:.1f} min and "
        f"{11 * 1_000_000 * verify_per_member / 60:.0f} min (the city year section measures "
        "how a city's own statement and verify grow with it). The cities are read one after "
        "another, not at once.",
        "",
    ]
    return lines


if __name__ == "__main__":
    sys.exit(main())
