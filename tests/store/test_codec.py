"""The application's codec (ledger/store/codec.py) beside the library's JSONTranscoder it
stands in for: the same bytes for every event of the ledger, the same values read from any
bytes, and the events it wrote read back equal through the library's own repository."""

import importlib
import json
import pkgutil
import sqlite3
from collections import OrderedDict, namedtuple
from contextlib import closing
from dataclasses import fields
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from pathlib import Path
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, DomainEvent
from eventsourcing.persistence import (
    JSONTranscoder,
    Mapper,
    Transcoder,
    Transcoding,
    TranscodingNotRegisteredError,
)
from feed_files import CLAIM_HEADER, claim, write_feed
from hypothesis import given
from hypothesis import strategies as st
from rosters import import_roster, roster_line
from statement_books import MEMBERS, record_period

from domain import member
from domain.member import claim_uuid, member_uuid
from domain.scheme import Scheme
from ledger.application.app import MutualAidLedger
from ledger.application.books import Books
from ledger.application.feeds import import_feed
from ledger.store.codec import OrjsonTranscoder, StoredAsBefore

OLD_LEDGER = Path(__file__).parents[1] / "data" / "ledger-f2dab29" / "ledger.db"


@pytest.fixture(scope="module")
def transcoders(tmp_path_factory: pytest.TempPathFactory) -> tuple[JSONTranscoder, Transcoder]:
    """The library's JSONTranscoder with the transcodings the application registers (as the
    application set it up before), and the application's own transcoder."""
    app = MutualAidLedger(str(tmp_path_factory.mktemp("codec") / "ledger.db"))
    try:
        library = JSONTranscoder()
        app.register_transcodings(library)
        return library, app.mapper.transcoder
    finally:
        app.close()


def test_the_application_encodes_with_the_codec(
    transcoders: tuple[JSONTranscoder, Transcoder],
) -> None:
    library, fast = transcoders
    assert isinstance(fast, OrjsonTranscoder)
    assert fast.names.keys() == library.names.keys()


def same(a: object, b: object) -> bool:
    """Equal, and written alike: Decimal("1.0") == Decimal("1.00"), but a ledger keeps the
    places it was given, and True == 1."""
    return a == b and repr(a) == repr(b)


# The ledger's events, field by field

TEXT = st.text()
DECIMALS = st.decimals() | st.decimals(places=2, allow_nan=False, allow_infinity=False)
DATETIMES = st.datetimes(
    timezones=st.sampled_from(
        [None, UTC, timezone(timedelta(hours=8)), timezone(-timedelta(hours=5, minutes=30))]
    )
)
PLAIN = st.none() | st.booleans() | st.integers() | TEXT | DECIMALS | st.dates() | DATETIMES
ANY = st.recursive(
    PLAIN,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(TEXT, inner, max_size=4)
    ),
    max_leaves=20,
)
"""What the domain puts in a dict of any values (a policy, a benefit's breakdown, a
settlement): built of the values its fields hold."""
FIELD_VALUES: dict[object, st.SearchStrategy[Any]] = {
    str: TEXT,
    int: st.integers(),
    bool: st.booleans(),
    NoneType: st.none(),
    Decimal: DECIMALS,
    date: st.dates(),
    datetime: DATETIMES,
    Any: ANY,
}


def values_of(hint: object) -> st.SearchStrategy[Any]:
    """Values of a field's type, for the types the codec writes as the library does."""
    if hint in FIELD_VALUES:
        return FIELD_VALUES[hint]
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, UnionType):
        return st.one_of(*map(values_of, args))
    if origin is dict and args[0] is str:
        return st.dictionaries(TEXT, values_of(args[1]), max_size=4)
    raise AssertionError(
        f"a field of type {hint}: the codec writes a float, a UUID or an Enum otherwise than "
        "the library (ledger/store/codec.py); a new kind of value needs its check here"
    )


def _aggregates() -> list[type[Aggregate]]:
    folder = Path(member.__file__).parent
    modules = [importlib.import_module(f"domain.{m.name}") for m in pkgutil.iter_modules([folder])]
    return [
        obj
        for module in modules
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, Aggregate)
        and obj.__module__ == module.__name__
    ]


EVENTS = [
    event
    for aggregate in _aggregates()
    for event in vars(aggregate).values()
    if isinstance(event, type) and issubclass(event, DomainEvent)
]
NOT_STORED_IN_STATE = {"originator_id", "originator_version"}  # the mapper's columns


def stored_fields(event: type[DomainEvent]) -> dict[str, object]:
    hints = get_type_hints(event)
    return {f.name: hints[f.name] for f in fields(event) if f.name not in NOT_STORED_IN_STATE}


def test_the_events_are_found() -> None:
    names = {event.__qualname__ for event in EVENTS}
    assert {"Scheme.Created", "Member.ClaimApproved", "ClaimIndex.Indexed"} <= names
    assert len(names) >= 20


@pytest.mark.parametrize("event", EVENTS, ids=lambda event: event.__qualname__)
def test_every_field_of_every_event_holds_values_the_codec_writes_as_the_library_does(
    event: type[DomainEvent],
) -> None:
    for hint in stored_fields(event).values():
        values_of(hint)


@st.composite
def events(draw: st.DrawFn) -> DomainEvent:
    event = draw(st.sampled_from(EVENTS))
    state = {name: draw(values_of(hint)) for name, hint in stored_fields(event).items()}
    return event(originator_id=uuid4(), originator_version=draw(st.integers(1, 2**31)), **state)


@given(event=events())
def test_every_event_is_written_as_the_library_writes_it_and_each_reads_what_the_other_wrote(
    transcoders: tuple[JSONTranscoder, Transcoder], event: DomainEvent
) -> None:
    library, fast = (Mapper[UUID](transcoder) for transcoder in transcoders)
    by_library, by_fast = library.to_stored_event(event), fast.to_stored_event(event)
    assert by_fast == by_library
    for stored in (by_library, by_fast):
        read_by_fast, read_by_library = (
            fast.to_domain_event(stored),
            library.to_domain_event(stored),
        )
        assert type(read_by_fast) is type(read_by_library) is type(event)
        assert repr(vars(read_by_fast)) == repr(vars(read_by_library))


# Any bytes

ODD = [
    "0", "-0", "1.5", "1e400", "-1e400", "NaN", "Infinity", "-Infinity", "1E2", "01",
    "18446744073709551615", "18446744073709551616", "-9223372036854775809",
    '"\\ud800"', '"\\ud83d\\ude00"', '"\\u0000"', '"\x01"', "true", "null", "[1,]", " ",
]  # fmt: skip
"""Where json and orjson part: what one reads and the other refuses, or reads otherwise."""
ATOMS = (
    st.sampled_from(ODD)
    | st.integers().map(str)
    | st.text().map(json.dumps)
    | st.text(max_size=3).map(lambda t: f'"{t}"')
)
WRAPPED = st.sampled_from(["decimal_str", "date_iso", "datetime_iso", "uuid_hex", "nope", "1"])


def _object(pairs: dict[str, str]) -> str:
    return "{" + ",".join(f"{key}:{value}" for key, value in pairs.items()) + "}"


DOCUMENTS = st.recursive(
    ATOMS,
    lambda inner: (
        st.lists(inner, max_size=3).map(lambda items: "[" + ",".join(items) + "]")
        | st.dictionaries(st.text(max_size=3).map(json.dumps), inner, max_size=3).map(_object)
        | st.tuples(WRAPPED.map(json.dumps), inner).map(
            lambda t: _object({'"_type_"': t[0], '"_data_"': t[1]})
        )
    ),
    max_leaves=8,
)
"""JSON and not quite: what the library reads and refuses, and where orjson differs."""
WRAPPED_DATA = st.sampled_from(
    [
        '"1.50"',
        '"2025-02-29"',
        '"2025-03-01"',
        '"2025-03-01T10:00:00+08:00"',
        '"00ff"',
        "12",
        '"x"',
        "null",
    ]
)


@given(
    data=DOCUMENTS.map(str.encode)
    | st.tuples(WRAPPED, WRAPPED_DATA).map(
        lambda t: f'{{"a":{{"_type_":"{t[0]}","_data_":{t[1]}}}}}'.encode()
    )
    | st.binary(max_size=12)
    | st.text(alphabet='{}[]":,0123456789-+.eE \t\n\rtrufalsNIinfy_\\', max_size=30).map(str.encode)
)
def test_any_bytes_are_read_as_the_library_reads_them_and_refused_where_it_refuses_them(
    transcoders: tuple[JSONTranscoder, Transcoder], data: bytes
) -> None:
    library, fast = transcoders
    try:
        expected = library.decode(data)
    except Exception as refused:
        with pytest.raises(type(refused)):
            fast.decode(data)
    else:
        assert repr(fast.decode(data)) == repr(expected)


def test_a_key_given_twice_is_read_as_the_library_reads_it_but_for_the_value_dropped(
    transcoders: tuple[JSONTranscoder, Transcoder],
) -> None:
    """The one document the codec reads that the library refuses (ledger/store/codec.py):
    neither writes a key twice."""
    library, fast = transcoders
    twice = (
        b'{"a":{"_type_":"decimal_str","_data_":"1"},'
        b'"a":{"_type_":"date_iso","_data_":"2025-03-01"}}'
    )
    assert (
        repr(fast.decode(twice))
        == repr(library.decode(twice))
        == "{'a': datetime.date(2025, 3, 1)}"
    )
    dropped = b'{"a":{"_type_":"nope","_data_":0},"a":1}'
    with pytest.raises(TranscodingNotRegisteredError):
        library.decode(dropped)
    assert fast.decode(dropped) == {"a": 1}


# Values beyond the ledger's events

Pair = namedtuple("Pair", "a b")


class Name(str):
    pass


class Colour(Enum):
    RED = "red"


@pytest.mark.parametrize(
    "state",
    [
        {"big": 2**64, "small": -(2**63) - 1, "edge": 2**64 - 1},
        {"keys": {1: "one", False: "no", None: "none"}},
        {"pair": Pair(1, Decimal("2.0")), "ordered": OrderedDict(b=1, a=2)},
        {"name": Name("Zhang"), "keys": {Name("k"): 1}},
        {"deep": [[[[{"x": date(2025, 1, 1)}]]]] * 3},
        {"text": '"\\/\b\f\n\r\t\x00\x1f\x7f\u2028é中😀'},
    ],
    ids=[
        "ints beyond 64 bits",
        "keys not str",
        "tuple and dict subclasses",
        "str subclass",
        "nested",
        "escapes",
    ],
)
def test_values_beyond_the_events_are_written_as_the_library_writes_them(
    transcoders: tuple[JSONTranscoder, Transcoder], state: dict[str, Any]
) -> None:
    library, fast = transcoders
    written = library.encode(state)
    assert fast.encode(state) == written
    assert repr(fast.decode(written)) == repr(library.decode(written))


@pytest.mark.parametrize(
    "state", [{"set": {1}}, {"text": "\ud800"}], ids=["no transcoding", "lone surrogate"]
)
def test_what_the_library_cannot_write_the_codec_refuses_alike(
    transcoders: tuple[JSONTranscoder, Transcoder], state: dict[str, Any]
) -> None:
    library, fast = transcoders
    with pytest.raises(Exception) as refused:
        library.encode(state)
    with pytest.raises(type(refused.value)):
        fast.encode(state)


@pytest.mark.parametrize(
    ("value", "by_library", "by_fast"),
    [
        (1e-05, b"1e-05", b"0.00001"),
        (float("nan"), b"NaN", b"null"),
        (
            UUID(int=1),
            b'{"_type_":"uuid_hex","_data_":"00000000000000000000000000000001"}',
            b'"00000000-0000-0000-0000-000000000001"',
        ),
    ],
    ids=["float", "nan", "uuid"],
)
def test_what_orjson_writes_by_itself_is_written_as_the_codec_says(
    transcoders: tuple[JSONTranscoder, Transcoder], value: object, by_library: bytes, by_fast: bytes
) -> None:
    """No event holds one (the field test above): the codec's docstring says how they differ."""
    library, fast = transcoders
    with pytest.raises(TranscodingNotRegisteredError):
        library.encode([Colour.RED])
    assert (library.encode([value]), fast.encode([value])) == (
        b"[%s]" % by_library,
        b"[%s]" % by_fast,
    )
    assert fast.encode([Colour.RED]) == b'["red"]'


# Ledgers written before


def test_every_event_of_a_ledger_written_before_reads_the_same_and_writes_back_its_bytes(
    transcoders: tuple[JSONTranscoder, Transcoder],
) -> None:
    """The chain hashes the stored bytes: the codec reads them as the library does, and
    what it would write for what it read is those bytes again."""
    library, fast = transcoders
    with closing(sqlite3.connect(f"file:{OLD_LEDGER}?mode=ro", uri=True)) as old:
        stored = [
            (topic, bytes(state))
            for topic, state in old.execute("SELECT topic, state FROM stored_events")
        ]
    assert len({topic for topic, _ in stored}) >= 16
    for _, state in stored:
        read = fast.decode(state)
        assert repr(read) == repr(library.decode(state))
        assert fast.encode(read) == state


# Through the library's repository, on both backends


class LibraryLedger(MutualAidLedger):
    """The ledger with the library's own JSONTranscoder, as the application was set up before."""

    name = MutualAidLedger.name  # the library would name it, and its tables, by the class

    def construct_transcoder(self) -> Transcoder:
        return Application.construct_transcoder(self)


def test_the_events_the_codec_wrote_are_read_back_equal_through_the_librarys_repository(
    db: str, books: Books, tmp_path: Path
) -> None:
    import_roster(books, roster_line("M0030001", "C2", on=date(2025, 1, 2)))
    feed = write_feed(tmp_path / "claims.csv", CLAIM_HEADER, claim("JS-1", "M0030001", "1500.00"))
    import_feed(books, "claims", feed, "clerk", received_on=date(2025, 3, 12))
    record_period(books)
    library = LibraryLedger(db, read_only=True, create=False)
    try:
        assert not isinstance(library.mapper.transcoder, OrjsonTranscoder)
        ids = [Scheme.create_id(), claim_uuid("JS-1")] + [
            member_uuid(m) for m in ("M0030001", *MEMBERS)
        ]
        for aggregate_id in ids:
            assert same(
                vars(library.repository.get(aggregate_id)),
                vars(books.app.repository.get(aggregate_id)),
            )
        notifications = library.recorder.select_notifications(start=1, limit=10_000)
        assert len({n.topic for n in notifications}) >= 12
        for notification in notifications:
            read = library.mapper.to_domain_event(notification)
            assert same(vars(read), vars(books.app.mapper.to_domain_event(notification)))
            assert library.mapper.to_stored_event(read).state == notification.state
    finally:
        library.close()


def test_ctrl_c_while_an_event_is_encoded_is_not_swallowed() -> None:
    """orjson turns what a transcoding raises into its own error, on which the codec would
    try the library's JSON: a Ctrl-C there, which comes once, must still stop the import."""
    interrupts = [KeyboardInterrupt()]

    class Interrupted(Transcoding):
        type = complex
        name = "complex"

        def encode(self, obj: complex) -> str:
            if interrupts:
                raise interrupts.pop()
            return str(obj)

        def decode(self, data: str) -> complex:
            raise AssertionError("never written")

    codec = OrjsonTranscoder()
    codec.register(Interrupted())
    with pytest.raises(KeyboardInterrupt):
        codec.encode({"amount": 1j})


# Fields added to an event kind since events of it were first recorded


def returned(recovered: str) -> member.Member.PayoutReturned:
    return member.Member.PayoutReturned(
        originator_id=member_uuid("M1"),
        originator_version=9,
        timestamp=datetime(2025, 6, 1, tzinfo=UTC),
        claim_id="K1",
        period=1,
        county="C1",
        amount=Decimal("300.00"),
        bank_reference="B-1",
        reason="account closed",
        actor="carol",
        effective_date=date(2025, 6, 1),
        recovered=Decimal(recovered),
    )


def test_a_field_added_later_is_stored_only_where_it_holds_more_than_its_default(
    transcoders: tuple[JSONTranscoder, Transcoder],
) -> None:
    mapper = StoredAsBefore(transcoder=transcoders[1])
    plain, settling = returned("0.00"), returned("200.00")
    stored_plain, stored_settling = mapper.to_stored_event(plain), mapper.to_stored_event(settling)
    assert b"recovered" not in stored_plain.state  # as a return was stored before recoveries
    assert json.loads(stored_settling.state)["recovered"] == {
        "_type_": "decimal_str",
        "_data_": "200.00",
    }
    for event, stored in ((plain, stored_plain), (settling, stored_settling)):
        assert mapper.to_domain_event(stored) == event
    assert vars(plain)["recovered"] == 0  # the event itself is left whole
