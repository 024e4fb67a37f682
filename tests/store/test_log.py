"""The event log as its readers see it (ledger/store/log.py), on both backends: what the
audit, the trails and the documents read of the chain."""

from collections.abc import Callable
from datetime import date

import pytest
from races import lose_a_race

from ledger.application.books import Books

ON = date(2025, 3, 1)


def test_the_log_reads_its_events_as_the_library_does(
    books: Books, enrol: Callable[..., None]
) -> None:
    """What the read models and the audit replay: the stored events as the library's
    `select_notifications` gives them, read in the log's own way (on PostgreSQL in binary)."""
    for member in ("m1", "m2", "m3"):
        enrol(member)
    recorder, end = books.app.recorder, books.log.last_position()
    for after, limit in ((0, end), (0, 3), (end - 2, 5), (end, 5)):
        library = recorder.select_notifications(after, limit, inclusive_of_start=False)
        assert books.log.notifications_after(after, limit) == list(library)
    stored = recorder.select_notifications(0, end, inclusive_of_start=False)
    assert books.log.events_after(0, end) == [
        (n.id, books.app.mapper.to_domain_event(n)) for n in stored
    ]


def test_the_read_models_entries_are_the_events_the_library_decodes(
    books: Books, enrol: Callable[..., None]
) -> None:
    """`entries_after` decodes without the library's mapper: the same events, field for
    field, each with its aggregate's id as the text `str` gives."""
    for member in ("m1", "m2", "m3"):
        enrol(member)
    claim = books.app.submit_claim("m1", 1, "20000.00", "clerk", ON)
    books.app.approve_claim(claim, "approver", ON)
    recorder, mapper, end = books.app.recorder, books.app.mapper, books.log.last_position()
    for after, limit in ((0, end), (0, 3), (end - 2, 5), (end, 5)):
        stored = recorder.select_notifications(after, limit, inclusive_of_start=False)
        entries = books.log.entries_after(after, limit)
        library = [mapper.to_domain_event(n) for n in stored]
        assert [e.position for e in entries] == [n.id for n in stored]
        assert [e.originator for e in entries] == [str(n.originator_id) for n in stored]
        assert [(type(e.event), vars(e.event)) for e in entries] == [
            (type(event), vars(event)) for event in library
        ]


@pytest.mark.parametrize(
    "state",
    [
        b'{"a":1.5}',
        b'{"a":[{"b":1e400}]}',
        b'{"a":{"_type_":"unregistered","_data_":"x"}}',
        b'{"a":{"_type_":"decimal_str","_data_":{"_type_":"decimal_str","_data_":"1"}}}',
        b'{"a":{"_type_":"decimal_str","_data_":"1.50"},"b":[{"_type_":"date_iso","_data_":"2025-01-02"}]}',
        b'{"_type_":"decimal_str","_data_":"1"}',
        b'{"a":{"_type_":"decimal_str"},"b":{"_data_":"1","c":2}}',
        b'{"a":NaN}',
        b"[1,2]",
        b"not json",
    ],
)
def test_a_state_is_read_for_the_read_models_as_the_transcoder_reads_it(
    books: Books, state: bytes
) -> None:
    """What the fast reading leaves to the transcoder, and what it reads itself."""
    transcoder = books.app.mapper.transcoder
    try:
        expected = transcoder.decode(state)
    except Exception as refused:
        with pytest.raises(type(refused)):
            books.log._fields(state)
    else:
        assert repr(books.log._fields(state)) == repr(expected)


def test_the_links_are_read_in_order_batch_by_batch_up_to_an_end(
    books: Books, enrol: Callable[..., None]
) -> None:
    for member in ("m1", "m2", "m3"):
        enrol(member)
    end = books.log.last_position()
    links = list(books.log.links(end, batch=2))
    assert [link.position for link in links] == list(range(1, end + 1))
    assert links == [books.log.link(position) for position in range(1, end + 1)]
    assert links[-1] == books.log.head()
    assert [link.position for link in books.log.links(end - 3, batch=2)] == list(range(1, end - 2))


@pytest.mark.parametrize("db", ["postgres"], indirect=True)
def test_a_position_in_a_gap_of_the_numbering_is_the_log_as_at_the_link_before_it(
    db: str, books: Books, enrol: Callable[..., None]
) -> None:
    """PostgreSQL spends the numbers of a transaction it rolls back: the loser of a race
    leaves a gap, where the log stands as it did at the position before."""
    enrol("m1")
    second, before = lose_a_race(db, books, "m1")
    books.app.approve_claim(second, "approver", ON)
    gap = before + 1
    assert books.log.last_position() > gap
    assert books.log.link(gap) is None
    assert books.log.link_as_of(gap) == books.log.link(before)
