"""The application's codec (ledger/store/codec.py) beside the library's JSONTranscoder, on
the stored events of a demo ledger, in the same run.

    python bench/codec.py [--members 2000] [--db FILE] [--rounds 9]

Simulates a period with `ledger demo` (`run_demo`) of --members members in a new SQLite
file, or reads the ledger at --db, and takes its stored events. It checks first that both
transcoders write the same bytes for every event and read the same values from them, then
times each step over all the events, the library's and the codec's in turn, round after
round, keeping each one's best round (the machine is shared: taking turns gives both the
same load): encoding an event's state (`transcoder.encode`), decoding it
(`transcoder.decode`), and the mapper's whole step each way (`to_stored_event`,
`to_domain_event`, which add the event objects). Prints µs an event and the ratio
(library / codec); with msgspec installed, also the same format written and read by
msgspec, the other codec measured when choosing.
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

from ledger.application.app import MutualAidLedger
from ledger.application.books import Books
from ledger.application.demo import run_demo
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--db", help="an existing ledger to read instead of a demo's")
    parser.add_argument("--rounds", type=int, default=9)
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


if __name__ == "__main__":
    main()
