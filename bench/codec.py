"""The application's codec (ledger/store/codec.py) beside the library's JSONTranscoder, in
the same run: on the stored events of a demo ledger, and in the feeds' bulk import.

    python bench/codec.py [--members 2000] [--db FILE] [--rounds 9]
                          [--feed-members 20000] [--chunks 20] [--backend sqlite|postgres|both]

1. Simulates a period with `ledger demo` (`run_demo`) of --members members in a new SQLite
file, or reads the ledger at --db, and takes its stored events. It checks first that both
transcoders write the same bytes for every event and read the same values from them, then
times each step over all the events, the library's and the codec's in turn, round after
round, keeping each one's best round (the machine is shared: taking turns gives both the
same load): encoding an event's state (`transcoder.encode`), decoding it
(`transcoder.decode`), and the mapper's whole step each way (`to_stored_event`,
`to_domain_event`, which add the event objects). Prints µs an event and the ratio
(library / codec); with msgspec installed, also the same format written and read by
msgspec, the other codec measured when choosing.

2. Imports a roster of --feed-members members, then their premiums (two a member), then a
tenth as many settlements, with `import_feed` (validated, adjudicated, stored, chained,
projected) into two new ledgers: one with the library's JSONTranscoder put back in its
mapper (the application as it was before the codec), one as it is. Each feed goes in
--chunks pieces, the two ledgers taking turns at every piece, so that both see the same
load. Prints records per second on each side and the ratio.
"""

import argparse
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from types import NoneType
from typing import Any
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent, Transcoder
from feeds import RECEIVED, ledger_db, new_books, write_claims, write_premiums, write_roster

from ledger.application.app import MutualAidLedger
from ledger.application.books import Books
from ledger.application.demo import run_demo
from ledger.application.feeds import import_feed
from ledger.store.codec import OrjsonTranscoder

BATCH = 1000


def demo_ledger(db: Path, members: int) -> None:
    books = Books(str(db))
    try:
        run_demo(books, "pinghu", 4, members, seed=1)
    finally:
        books.close()


def stored_events(db: str) -> list[StoredEvent]:
    app = MutualAidLedger(db, read_only=True, create=False)
    try:
        stored: list[StoredEvent] = []
        while batch := app.recorder.select_notifications(
            stored[-1].id if stored else 0, BATCH, inclusive_of_start=False
        ):
            stored += batch
        return stored
    finally:
        app.close()


def transcoders() -> tuple[JSONTranscoder, Transcoder]:
    """The library's JSONTranscoder with the application's transcodings, and the application's."""
    with tempfile.TemporaryDirectory(prefix="ledger-codec-") as tmp:
        app = MutualAidLedger(str(Path(tmp) / "ledger.db"))
        try:
            library = JSONTranscoder()
            app.register_transcodings(library)
            return library, app.mapper.transcoder
        finally:
            app.close()


def msgspec_transcoder() -> Transcoder | None:
    """The same format by msgspec, if installed. msgspec writes Decimal, date, datetime and
    UUID by itself, unlike the library, and has no way to hand them over: each value is
    put into the library's form in Python first. It reads as the codec does."""
    try:
        import msgspec
    except ImportError:
        return None
    encoder, decoder = msgspec.json.Encoder(), msgspec.json.Decoder()

    class MsgspecTranscoder(OrjsonTranscoder):
        def encode(self, obj: Any) -> bytes:
            return encoder.encode(self._plain(obj))

        def decode(self, data: bytes) -> Any:
            return self._revive_dict(decoder.decode(data))

        def _plain(self, value: Any) -> Any:
            kind = type(value)
            if kind is dict:
                return {k: self._plain(v) for k, v in value.items()}
            if kind is list or kind is tuple:
                return [self._plain(v) for v in value]
            if kind in (str, int, bool, NoneType):
                return value
            return self._plain(self._encode_obj(value))

    return MsgspecTranscoder()


def best_of_turns(
    rounds: int, runs: dict[str, Callable[[], object]], items: int
) -> dict[str, float]:
    """µs an item of each run: its best round, the runs taking turns in every round."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: seconds / items * 1e6 for name, seconds in best.items()}


def check(library: Transcoder, other: Transcoder, states: Sequence[bytes]) -> None:
    for state in states:
        read = library.decode(state)
        assert repr(other.decode(state)) == repr(read), state
        assert other.encode(read) == state, state


def in_chunks(path: Path, rows: int) -> list[Path]:
    """The CSV feed at `path` as files of `rows` rows each, every one with the header."""
    header, *lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    chunks = []
    for k in range(0, len(lines), rows):
        chunk = path.with_name(f"{path.stem}-{k // rows}.csv")
        chunk.write_text(header + "".join(lines[k : k + rows]), encoding="utf-8")
        chunks.append(chunk)
    return chunks


def feeds_in_turn(
    backend: str, library: JSONTranscoder, members: int, chunks: int, tmp: Path
) -> dict[tuple[str, str], float]:
    """Seconds of each feed's import into a ledger with the library's transcoder and into
    one with the codec, chunk by chunk, the two taking turns (and who goes first) at every
    chunk."""
    feeds = {
        "roster": ("enrolments", tmp / "roster.csv", members),
        "premiums": ("premiums", tmp / "premiums.csv", 2 * members),
        "claims": ("claims", tmp / "claims.csv", members // 10),
    }
    write_roster(tmp / "roster.csv", members)
    write_premiums(tmp / "premiums.csv", members)
    write_claims(tmp / "claims.csv", members // 10, members)
    seconds: dict[tuple[str, str], float] = {}
    with ledger_db(backend, tmp) as before, ledger_db(backend, tmp) as after:
        books = {"library": new_books(before), "codec": new_books(after)}
        books["library"].app.mapper.transcoder = library
        try:
            for feed, (kind, path, rows) in feeds.items():
                for n, chunk in enumerate(in_chunks(path, -(-rows // chunks))):
                    for side in ("library", "codec")[:: 1 if n % 2 else -1]:
                        started = time.perf_counter()
                        summary = import_feed(books[side], kind, chunk, "b", received_on=RECEIVED)
                        took = time.perf_counter() - started
                        assert summary.imported == summary.read, summary.rejects[:1]
                        seconds[side, feed] = seconds.get((side, feed), 0.0) + took
        finally:
            for each in books.values():
                each.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--db", help="an existing ledger to read instead of a demo's")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--feed-members", type=int, default=20_000, help="0: no feeds")
    parser.add_argument("--chunks", type=int, default=20, help="pieces of each feed")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ledger-codec-") as tmp:
        db = args.db
        if db is None:
            db = str(Path(tmp) / "demo.db")
            started = time.perf_counter()
            demo_ledger(Path(db), args.members)
            print(f"demo of {args.members:,} members in {time.perf_counter() - started:.1f} s")
        stored = stored_events(db)
    library, fast = transcoders()
    codecs: dict[str, Transcoder] = {"codec (orjson)": fast}
    other = msgspec_transcoder()
    if other is not None:
        for transcoding in library.names.values():
            other.register(transcoding)
        codecs["msgspec, same format"] = other
    states = [s.state for s in stored]
    objects = [library.decode(s) for s in states]
    for codec in codecs.values():
        check(library, codec, states)
    library_mapper = Mapper[UUID](library)
    events = [library_mapper.to_domain_event(s) for s in stored]

    def steps(transcoder: Transcoder) -> dict[str, Callable[[], object]]:
        mapper = Mapper[UUID](transcoder)
        return {
            "encode (`transcoder.encode`)": lambda: [transcoder.encode(o) for o in objects],
            "decode (`transcoder.decode`)": lambda: [transcoder.decode(s) for s in states],
            "mapper: `to_stored_event`": lambda: [mapper.to_stored_event(e) for e in events],
            "mapper: `to_domain_event`": lambda: [mapper.to_domain_event(s) for s in stored],
        }

    runs = {("library", step): run for step, run in steps(library).items()}
    for name, codec in codecs.items():
        runs |= {(name, step): run for step, run in steps(codec).items()}
    timed = best_of_turns(args.rounds, {" / ".join(k): v for k, v in runs.items()}, len(stored))
    topics = Counter(s.topic.rpartition(":")[2] for s in stored)
    size = sum(map(len, states)) / len(states)
    load = os.getloadavg()[0]
    print(
        f"{len(stored):,} stored events ({size:.0f} bytes of JSON on average: "
        + ", ".join(f"{t} {n:,}" for t, n in topics.most_common())
        + f"); best of {args.rounds} rounds; {os.cpu_count()} CPUs, {platform.platform()}, "
        f"Python {sys.version.split()[0]}; load average (1 min) {load:.2f}"
    )
    print("all bytes and values the same as the library's: checked\n")
    names = list(codecs)
    print(
        "| step | library µs/event | " + " | ".join(f"{n} µs/event | ratio" for n in names) + " |"
    )
    print("|---|---:|" + "---:|---:|" * len(names))
    for step in steps(library):
        base = timed[f"library / {step}"]
        cells = []
        for name in names:
            mine = timed[f"{name} / {step}"]
            cells.append(f"{mine:.2f} | {base / mine:.2f}")
        print(f"| {step} | {base:.2f} | " + " | ".join(cells) + " |")
    if not args.feed_members:
        return
    rows = {
        "roster": args.feed_members,
        "premiums": 2 * args.feed_members,
        "claims": args.feed_members // 10,
    }
    print(
        f"\nFeeds (`import_feed`, end to end, projections included), in {args.chunks} pieces "
        f"taken in turn; load average (1 min) {os.getloadavg()[0]:.2f}\n"
    )
    print("| backend | feed | records | library's transcoder | codec | ratio |")
    print("|---|---|---:|---:|---:|---:|")
    for backend in ("sqlite", "postgres") if args.backend == "both" else (args.backend,):
        with tempfile.TemporaryDirectory(prefix="ledger-codec-") as tmp:
            seconds = feeds_in_turn(backend, library, args.feed_members, args.chunks, Path(tmp))
        for feed, n in rows.items():
            base, mine = seconds["library", feed], seconds["codec", feed]
            print(
                f"| {backend} | {feed} | {n:,} | {n / base:,.0f} records/s | "
                f"{n / mine:,.0f} records/s | {base / mine:.2f} |"
            )


if __name__ == "__main__":
    main()
