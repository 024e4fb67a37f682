"""Validation of feed records: row by row as before issue 12, row by row with the readings
records.py remembers, and a chunk at once, in the same run.

    python bench/records.py [--rows N] [--repeat R] [--out FILE]

For each kind of feed, N rows are generated as a feed brings them (text under the Chinese
headers; dates over a year, a roster's accounts and phones, claim amounts in cents, so that
only what repeats in real feeds repeats here) and written to a CSV file. Then, a chunk of
1,000 rows at a time, and on each chunk every path in turn in a shuffled order, so that all
see the same load on a shared machine:

    read     files.read_rows of the CSV file: the part of parsing before validation
    before   feeds._parse row by row, every date and amount read anew: the readings
             records.py remembers swapped for the functions they remember, as before
    row      feeds._parse row by row, as import_feed validates
    chunk    pydantic's TypeAdapter(list[Model]) over the chunk's rows: one call into
             pydantic for the chunk, the bulk path this measures before anyone builds it;
             a chunk with a bad row validated again row by row, for each bad row's reject

`row` and `chunk` are timed again on each chunk with its last row spoilt (no column), the
case of a feed with bad rows scattered through it.

Each path's records are checked equal to `row`'s. Times are the process's CPU time
(time.process_time), which moves less than the wall time while other jobs share the cores.
A profile of `before` and `row` over a sample of each kind says where the time goes. The
section "Issue 12: validation of feed records" of docs/benchmarks.md is replaced with the
results.
"""

import argparse
import cProfile
import csv
import os
import pstats
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from feeds import machine

from ledger.application import records
from ledger.application.feeds import READ_CHUNK, _parse, batched, fewer_collections
from ledger.application.files import SourceRow, open_feed, read_rows
from ledger.application.records import RECORDS, Record

HEADING = "## Issue 12: validation of feed records"
START = date(2025, 1, 1)
PROFILED = 20_000
"""Rows of each kind run under the profiler."""
REMEMBERING = ("_day_of_text", "_premium_of_text")
"""The readings of records.py that keep what they read (functools.lru_cache)."""

Fields = dict[str, str]


def _day(rng: random.Random, days: int) -> str:
    return (START + timedelta(days=rng.randrange(days))).isoformat()


def _yuan(rng: random.Random, low: int, high: int) -> str:
    return f"{rng.randrange(low * 100, high * 100) / 100:.2f}"


def roster(n: int, rng: random.Random) -> Iterator[Fields]:
    for i in range(n):
        county = f"C{i % 8 + 1:02d}"
        yield {
            "名册行号": str(i + 1),
            "会员编号": f"M{i:07d}",
            "期次": "1",
            "区县": county,
            "单位": f"{county}-U{i % 500:03d}",
            "参保日期": _day(rng, 30),
            "姓名": f"职工{i}",
            "银行账号": f"6222{rng.randrange(10**15):015d}",
            "开户银行": "工商银行",
            "手机号码": f"13{rng.randrange(10**9):09d}",
        }


def premiums(n: int, rng: random.Random) -> Iterator[Fields]:
    """A payment per funding source: 49 from the union, 1 from the worker."""
    for i in range(n):
        yield {
            "收据号": f"R{i:08d}",
            "会员编号": f"M{i // 2:07d}",
            "期次": "1",
            "资金来源": ("union:city", "worker")[i % 2],
            "金额": ("49.00", "1.00")[i % 2],
            "缴费日期": _day(rng, 60),
        }


def claims(n: int, rng: random.Random) -> Iterator[Fields]:
    for i in range(n):
        admitted = START + timedelta(days=rng.randrange(360))
        yield {
            "结算单号": f"S{i:08d}",
            "会员编号": f"M{rng.randrange(n):07d}",
            "入院日期": admitted.isoformat(),
            "出院日期": (admitted + timedelta(days=rng.randrange(1, 30))).isoformat(),
            "总费用": _yuan(rng, 1000, 200000),
            "统筹支付": _yuan(rng, 500, 100000),
            "合规自付": _yuan(rng, 100, 50000),
        }


def payout_results(n: int, rng: random.Random) -> Iterator[Fields]:
    for i in range(n):
        paid = rng.random() < 0.97
        yield {
            "支付参考号": f"P{i:09d}",
            "状态": "成功" if paid else "退回",
            "退回原因": "" if paid else "账户已销户",
            "回盘日期": _day(rng, 20),
        }


FEEDS: dict[str, Callable[[int, random.Random], Iterator[Fields]]] = {
    "enrolments": roster,
    "premiums": premiums,
    "claims": claims,
    "payout-results": payout_results,
}


def write_feed(path: Path, rows: Iterator[Fields]) -> None:
    first = next(rows)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(first)
        w.writerow(first.values())
        w.writerows(row.values() for row in rows)


Readings = dict[str, Callable[[object], object]]


def anew() -> Readings:
    """The functions the remembered readings remember: every text read again, as before."""
    return {name: getattr(records, name).__wrapped__ for name in REMEMBERING}


def remembering() -> Readings:
    """Readings that remember as records.py's do, of their own: a path that runs after
    another on the same chunk finds none of the texts the other one read."""
    return {name: lru_cache(maxsize=records.REMEMBERED)(read) for name, read in anew().items()}


@contextmanager
def reading(readings: Readings) -> Iterator[None]:
    kept = {name: getattr(records, name) for name in readings}
    for name, read in readings.items():
        setattr(records, name, read)
    try:
        yield
    finally:
        for name, read in kept.items():
            setattr(records, name, read)


def paths(model: type[Record]) -> dict[str, Callable[[list[SourceRow]], object]]:
    many = TypeAdapter(list[model])  # type: ignore[valid-type]
    before, row, chunk = anew(), remembering(), remembering()

    def by_row(readings: Readings, rows: list[SourceRow]) -> object:
        with reading(readings):
            return [_parse(row, model) for row in rows]

    def by_chunk(rows: list[SourceRow]) -> object:
        """With the fallback a chunk path needs: row by row, for a chunk with a bad row."""
        with reading(chunk):
            try:
                return many.validate_python([row.fields for row in rows])
            except ValidationError:
                return [_parse(row, model) for row in rows]

    return {
        "before": lambda rows: by_row(before, rows),
        "row": lambda rows: by_row(row, rows),
        "chunk": by_chunk,
    }


def measure(path: Path, model: type[Record], repeat: int) -> dict[str, float]:
    """CPU seconds of each path over the whole feed, `repeat` times; and of `row` and
    `chunk` over each chunk again with its last row spoilt (every column missing)."""
    feed = open_feed(path)
    ways = paths(model)
    spent = dict.fromkeys(["read", *ways, "row, spoilt", "chunk, spoilt"], 0.0)
    for _ in range(repeat):
        rows = batched(read_rows(feed), READ_CHUNK)
        while True:
            started = time.process_time()
            chunk = next(rows, None)
            spent["read"] += time.process_time() - started
            if chunk is None:
                break
            with reading(anew()):
                expected = [_parse(row, model) for row in chunk]
            if any(not isinstance(record, Record) for record in expected):
                raise SystemExit(f"{path}: a generated row is refused")
            for name in random.sample(list(ways), len(ways)):
                started = time.process_time()
                parsed = ways[name](chunk)
                spent[name] += time.process_time() - started
                if parsed != expected:
                    raise SystemExit(f"{path}: {name} validated differently")
            spoilt = [*chunk[:-1], SourceRow(chunk[-1].line, {})]
            parsed_by = {}
            for name in random.sample(["row", "chunk"], 2):
                started = time.process_time()
                parsed_by[name] = ways[name](spoilt)
                spent[f"{name}, spoilt"] += time.process_time() - started
            if parsed_by["row"] != parsed_by["chunk"]:
                raise SystemExit(f"{path}: a spoilt chunk validated differently")
    return spent


CORE = "<method 'validate_python' of 'pydantic_core._pydantic_core.SchemaValidator' objects>"
PARTS = {
    "_premium": "amounts",
    "non_negative": "amounts",
    "positive": "amounts",
    "_day": "dates",
    "_text": "text",
    "_plain": "text",
    "_optional": "text",
    "_period": "periods",
    "_optional_period": "periods",
    "_status": "status",
}
"""The readers pydantic calls, by what they read."""


def profile(rows: list[SourceRow], way: Callable[[list[SourceRow]], object]) -> str:
    """Where the time of a path goes: pydantic's own, the readers' it calls, the rest."""
    profiler = cProfile.Profile()
    profiler.runcall(lambda: [way(chunk) for chunk in batched(rows, READ_CHUNK)])
    entries = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in entries.values())
    core = next(key for key in entries if key[2] == CORE)
    parts = {"pydantic's own": entries[core][2]}
    for key, (*_, callers) in entries.items():
        if core in callers and key[2] in PARTS:
            parts[PARTS[key[2]]] = parts.get(PARTS[key[2]], 0.0) + callers[core][3]
    parts["the rest"] = total - sum(parts.values())
    return ", ".join(f"{name} {seconds / total:.0%}" for name, seconds in parts.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    args = parser.parse_args()
    load = [os.getloadavg()[0]]
    results, profiles = [], []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as name:
        for kind, generate in FEEDS.items():
            path, model = Path(name) / f"{kind}.csv", RECORDS[kind]
            write_feed(path, generate(args.rows, random.Random(1)))
            with fewer_collections():  # as import_feed validates
                spent = measure(path, model, args.repeat)
            us = {way: seconds / (args.rows * args.repeat) * 1e6 for way, seconds in spent.items()}
            results.append((kind, us))
            print(kind, {way: round(value, 2) for way, value in us.items()}, flush=True)
            sample = list(read_rows(open_feed(path)))[:PROFILED]
            ways = paths(model)
            profiles.append(
                f"- {kind}: before: {profile(sample, ways['before'])}; "
                f"row: {profile(sample, ways['row'])}"
            )
            print(profiles[-1], flush=True)
    load.append(os.getloadavg()[0])
    write_section(args, results, profiles, load, time.perf_counter() - started)


def span(ratios: list[float]) -> str:
    return f"{min(ratios):.2f}x to {max(ratios):.2f}x"


def write_section(
    args: argparse.Namespace,
    results: list[tuple[str, dict[str, float]]],
    profiles: list[str],
    load: list[float],
    seconds: float,
) -> None:
    rows, remembered, parsed, by_chunk, chunk_parsed, spoilt = [], [], [], [], [], []
    for kind, us in results:
        read, before, row, chunk = us["read"], us["before"], us["row"], us["chunk"]
        remembered.append(before / row)
        parsed.append((read + before) / (read + row))
        by_chunk.append(row / chunk)
        chunk_parsed.append((read + row) / (read + chunk))
        spoilt.append(us["row, spoilt"] / us["chunk, spoilt"])
        rows.append(
            f"| {kind} | {read:.2f} | {before:.2f} | {row:.2f} | {chunk:.2f} "
            f"| {remembered[-1]:.2f}x | {parsed[-1]:.2f}x "
            f"| {by_chunk[-1]:.2f}x | {chunk_parsed[-1]:.2f}x "
            f"| {us['row, spoilt']:.2f} | {us['chunk, spoilt']:.2f} | {spoilt[-1]:.2f}x |"
        )
    verdict = (
        "under 1.3x, so import_feed validates row by row and no chunk path is built"
        if max(chunk_parsed) < 1.3
        else "1.3x or more for some kind: a chunk path would pay there"
    )
    section = [
        HEADING,
        "",
        f"Written by `python bench/records.py --rows {args.rows} --repeat {args.repeat}` "
        f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {seconds:.0f} s); machine: "
        f"{machine()}; load average (1 min) at the start and end: "
        f"{load[0]:.2f}, {load[1]:.2f}, on 2 cores shared with other jobs, so the rates "
        "move from run to run and the ratios less. CPU time of the process "
        "(time.process_time), in µs per row, each path in turn on each chunk of 1,000 rows "
        f"of {args.rows:,} generated rows of each kind as CSV; the paths are described in "
        "bench/records.py: `before` is validation row by row with every date and amount read "
        "anew, as before issue 12 (checked once against the code from before issue 12: "
        "within 7 %); `row` is `feeds._parse` row by row, with the dates and premiums read "
        "remembered (records.py); `chunk` is pydantic's `TypeAdapter(list[Model])` over the "
        "chunk's rows, one call into pydantic for 1,000 rows.",
        "",
        "| kind | read (CSV) | before | row | chunk | row vs before | read + row vs "
        "read + before | chunk vs row | read + chunk vs read + row | row, spoilt "
        "| chunk, spoilt | chunk vs row, spoilt |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"- Remembering the dates and premiums read: validation {span(remembered)} as fast as "
        f"before, parsing with the read of the file {span(parsed)}. Premiums gain most (a "
        "few amounts, and dates); claims least, for their amounts, to the cent, are read "
        "each time (remembering them cost more than it saved, so only premiums are).",
        f"- A chunk at once beside row by row: {span(by_chunk)} on validation, "
        f"{span(chunk_parsed)} on parsing with the read: {verdict}. The time is in the "
        "readings pydantic calls (Python) and in pydantic's own work for each field, which "
        "a chunk shares none of: only the call per row is saved. And a chunk with a bad row "
        "must be validated again row by row, for each bad row's own reject: with one bad "
        f"row in each chunk (`spoilt`: the chunk's last row has no column), {span(spoilt)} "
        "the speed of row by row.",
        f"- Where the time goes, under the profiler (which slows Python calls more than "
        f"pydantic's own work: shares, not times), over {PROFILED:,} rows of each kind. "
        "Amounts are domain.money's reading; text is records.py's `_text`, `_optional` and "
        "`_plain` (domain.text) around pydantic's own checks:",
        "",
        *(f"  {line}" for line in profiles),
        "",
    ]
    text = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
    head, found, tail = text.partition(HEADING)
    if found:
        rest = tail.find("\n## ")
        tail = tail[rest + 1 :] if rest >= 0 else ""
    else:
        head = head.rstrip("\n") + "\n\n"
    args.out.write_text(head + "\n".join(section) + ("\n" + tail if tail else ""), "utf-8")


if __name__ == "__main__":
    main()
