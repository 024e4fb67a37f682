"""The floor of a feed import on this machine: the work every import of a feed must do, with
none of the ledger's code around it, measured beside the import in the same run.

    python bench/floor.py [--records N] [--out FILE]

On PostgreSQL, for a roster of N members, their premiums (2N rows) and N settlements: each
feed is imported end to end with `import_feed` (validated, adjudicated, stored, chained,
projected), then the same feed goes through the bare stages any import has, each timed:

- read the CSV (`csv.DictReader`);
- validate it with the feed's own pydantic model, one `TypeAdapter` over the whole feed;
- the benefit rule (claims only: `calculate_benefit`, the cap used kept in a dict);
- build and encode the events: a dict of each stored event's fields, `orjson.dumps`, in
  chunks of 2,000;
- the chain: `chain.link` (SHA-256) of each event;
- COPY of the feed's stored events and links, and of the rows the read models added, into
  tables made `LIKE` the ledger's (their keys and indexes), the rows taken from the ledger;
- the read models' own work: a rebuild of the four read models over the log so far, less
  the rebuild after the feed before, less decoding the feed's events (`entries_after`) and
  less the COPY of the rows they added: what the read models' code costs besides reading
  the log and writing rows.

The same COPYs are run again from the rows' COPY text (`COPY ... TO STDOUT` of the same
rows), which leaves the server's part. From these: the floor on one core (every stage in
turn), the floor with the server's part on the second core (`max(Python, server)`), and
with both cores fully used (`all / 2`). The section "Issue 12: the floor of an import" of
docs/benchmarks.md is replaced with the results.
"""

import argparse
import csv
import gc
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import psycopg
from pydantic import TypeAdapter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from feeds import (
    POSTGRES,
    feed_events,
    imported,
    ledger_db,
    machine,
    new_books,
    write_claims,
    write_premiums,
    write_roster,
)
from run import replace_section

from domain.policy import calculate_benefit
from ledger.application.books import Books
from ledger.application.policies import load_preset
from ledger.application.records import EnrolmentRecord, PremiumRecord, Record, SettlementRecord
from ledger.store.chain import GENESIS, link, recorded_now
from projections.projector import catch_up_together

HEADING = "Issue 12: the floor of an import"
LOG_TABLES = ("ledger_events", "event_chain")
BAR = {"roster": 17_000, "premiums": 24_000, "claims": 7_000}
"""The issue's resolution figures, records/s a writer."""
FEEDS: dict[str, tuple[str, type[Record], int]] = {
    "roster": ("enrolments", EnrolmentRecord, 1),
    "premiums": ("premiums", PremiumRecord, 2),
    "claims": ("claims", SettlementRecord, 1),
}
"""Feed -> kind, its record model, records per member."""
CHUNK = 2_000
"""Events encoded at a time: a stream's memory is reused, not a feed's allocated anew."""


@contextmanager
def no_collections() -> Iterator[None]:
    """The bare stages run without the cyclic collector: a floor is a lower bound."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class Floor:
    """One feed's stages, timed, on the ledger the feed was just imported into."""

    def __init__(self, books: Books, conn: psycopg.Connection[Any], path: Path) -> None:
        self.books, self.conn, self.path = books, conn, path
        self.seconds: dict[str, float] = {}
        self.server = 0.0

    def timed(self, stage: str, run: Callable[[], object]) -> Any:
        started = time.perf_counter()
        result = run()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - started
        return result

    def python(self) -> float:
        return sum(self.seconds.values()) - self.server

    def validated(self, model: type[Record]) -> list[Any]:
        with self.path.open(encoding="utf-8", newline="") as f:
            rows = self.timed("read the CSV", lambda: list(csv.DictReader(f)))
        adapter = TypeAdapter(list[model])  # type: ignore[valid-type]
        return self.timed("validate (pydantic, whole feed)", lambda: adapter.validate_python(rows))

    def benefits(self, settlements: list[SettlementRecord]) -> None:
        rule = load_preset("pinghu").policy_for(1).benefit

        def decide() -> None:
            used: dict[str, Decimal] = {}
            for s in settlements:
                so_far = used.get(s.member_id, Decimal(0))
                benefit = calculate_benefit(rule, s.eligible_self_paid, None, so_far).benefit
                used[s.member_id] = so_far + benefit

        self.timed("the benefit rule", decide)

    def events(self, after: int) -> None:
        stored = feed_events(self.books, after)
        fields = [orjson.loads(e.state) for e in stored]

        def encode() -> None:
            for start in range(0, len(fields), CHUNK):
                [orjson.dumps(dict(f)) for f in fields[start : start + CHUNK]]

        self.timed("build and encode events", encode)
        at = recorded_now()

        def chain() -> None:
            previous = GENESIS
            for position, e in enumerate(stored, after + 1):
                previous = link(
                    previous, position, at, e.originator_id, e.originator_version, e.topic, e.state
                )

        self.timed("chain links", chain)

    def copies(self, added: dict[str, int]) -> None:
        """COPY the rows the feed added to each table into a table like it: row by row as an
        import writes them, then as COPY text (the server's part)."""
        rows, text = {}, {}
        for table, count in added.items():
            self.conn.execute(f'CREATE TABLE "floor_{table}" (LIKE "{table}" INCLUDING ALL)')
            query = f'SELECT * FROM "{table}" ORDER BY 1 DESC LIMIT {count}'
            rows[table] = self.conn.execute(query).fetchall()
            with self.conn.cursor().copy(f"COPY ({query}) TO STDOUT") as copy:
                text[table] = b"".join(bytes(chunk) for chunk in copy)

        def copied(tables: list[str], as_text: bool) -> Callable[[], None]:
            def run() -> None:
                with self.conn.transaction():
                    for table in tables:
                        with self.conn.cursor().copy(f'COPY "floor_{table}" FROM STDIN') as copy:
                            if as_text:
                                copy.write(text[table])
                            else:
                                for row in rows[table]:
                                    copy.write_row(row)
                for table in tables:
                    self.conn.execute(f'TRUNCATE "floor_{table}"')

            return run

        log = [t for t in added if t in LOG_TABLES]
        models = [t for t in added if t not in LOG_TABLES]
        self.timed("COPY events and links", copied(log, False))
        self.timed("COPY the read models' rows", copied(models, False))
        started = time.perf_counter()
        copied(log + models, True)()
        self.server = time.perf_counter() - started
        for table in added:
            self.conn.execute(f'DROP TABLE "floor_{table}"')

    def read_models(self, after: int, rebuilt_before: float) -> float:
        """The read models' own work on this feed's events; returns the whole rebuild's time."""
        for projector in self.books.projectors:
            projector.reset()
        started = time.perf_counter()
        catch_up_together(self.books.projectors)
        rebuilt = time.perf_counter() - started
        started = time.perf_counter()
        position = after
        while batch := self.books.log.entries_after(position, 2000):
            position = batch[-1].position
        decoded = time.perf_counter() - started
        own = rebuilt - rebuilt_before - decoded - self.seconds["COPY the read models' rows"]
        self.seconds["the read models' own work"] = own
        return rebuilt


def counts(conn: psycopg.Connection[Any], schema: str) -> dict[str, int]:
    tables = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))
    return {
        t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]  # type: ignore[index]
        for (t,) in tables.fetchall()
        if not t.startswith("floor_")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    args = parser.parse_args()
    n = args.records
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="ledger-floor-") as name:
        tmp = Path(name)
        paths = {feed: tmp / f"{feed}.csv" for feed in FEEDS}
        write_roster(paths["roster"], n)
        write_premiums(paths["premiums"], n)
        write_claims(paths["claims"], n, n)
        with (
            ledger_db("postgres", tmp) as db,
            psycopg.connect(POSTGRES, autocommit=True) as conn,
        ):
            schema = db.partition("schema=")[2]
            conn.execute(f'SET search_path TO "{schema}"')
            books = new_books(db)
            rebuilt = 0.0
            for feed, (kind, model, per) in FEEDS.items():
                records, after, before = n * per, books.log.last_position(), counts(conn, schema)
                started = time.perf_counter()
                imported(books, kind, paths[feed])
                ours = time.perf_counter() - started
                after_feed = counts(conn, schema)
                added = {
                    t: k - before.get(t, 0) for t, k in after_feed.items() if k > before.get(t, 0)
                }
                floor = Floor(books, conn, paths[feed])
                with no_collections():
                    valid = floor.validated(model)
                    if feed == "claims":
                        floor.benefits(valid)
                    floor.events(after)
                floor.copies(added)
                rebuilt = floor.read_models(after, rebuilt)
                lines += report(feed, records, ours, floor, added)
                print("\n".join(lines[-8:]), flush=True)
            books.close()
    replace_section(args.out, HEADING, preamble(n) + lines + reading())


def report(feed: str, records: int, ours: float, floor: Floor, added: dict[str, int]) -> list[str]:
    def rate(seconds: float) -> str:
        return f"{records / seconds:,.0f}"

    one_core = sum(floor.seconds.values())
    without_models = one_core - floor.seconds["the read models' own work"]
    overlapped = max(floor.python(), floor.server)
    bar = BAR[feed]
    rows = ", ".join(f"{t} {k:,}" for t, k in sorted(added.items()))
    lines = [
        f"**{feed}**: {records:,} records; rows written: {rows}.",
        "",
        "| stage | µs a record |",
        "|---|---:|",
    ]
    lines += [f"| {stage} | {1e6 * s / records:.1f} |" for stage, s in floor.seconds.items()]
    lines += [
        f"| *of the COPYs, the server's part* | {1e6 * floor.server / records:.1f} |",
        "",
        f"| {feed} | records/s | / the bar ({bar:,}) |",
        "|---|---:|---:|",
        f"| the import end to end (`import_feed`) | {rate(ours)} | {records / ours / bar:.2f} |",
        f"| floor, one core | {rate(one_core)} | {records / one_core / bar:.2f} |",
        f"| floor, the server on the other core | {rate(overlapped)} | "
        f"{records / overlapped / bar:.2f} |",
        f"| floor, both cores fully used | {rate(one_core / 2)} | "
        f"{2 * records / one_core / bar:.2f} |",
        f"| floor without the read models' own work, one core | {rate(without_models)} | "
        f"{records / without_models / bar:.2f} |",
        "",
    ]
    return lines


def preamble(n: int) -> list[str]:
    return [
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {machine()}: "
        f"`python bench/floor.py --records {n}`, PostgreSQL. Each feed is imported end to "
        "end, then the same feed is taken through the bare stages every import must do "
        "(bench/floor.py says how each is measured), with nothing of the ledger's code "
        "around them: no member's state, no rule but the benefit's, no rejects, no chunks. "
        "The COPYs write the very rows the import wrote (events, links, read-model rows) "
        "into tables with the same keys and indexes. *The read models' own work* is their "
        "rebuild's time on the feed's events less decoding them and less the COPY of their "
        "rows. *The bar* is the issue's resolution figure for one writer.",
        "",
    ]


def reading() -> list[str]:
    return [
        "What the floor says: each stage is the cheapest known way to do what the issue "
        "requires of every record (its own pydantic validation, the domain's rule, one event "
        "per fact encoded by orjson, a SHA-256 link, the rows on disk, the read models' own "
        "code run on each event), so an import cannot beat the sum of them on one core, nor "
        "half the sum on two.",
    ]


if __name__ == "__main__":
    main()
