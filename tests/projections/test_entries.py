"""The read models fed by the log's entries (decoded without the library's mapper, applied
set-based per batch) hold, row for row, what they hold when fed the events the library's
own path decodes (`select_notifications`, then `mapper.to_domain_event`): compared by table
digests, over the demo's period, which has every kind of event."""

from eventsourcing.persistence import Tracking

from ledger.application.books import Books, read_models
from ledger.application.demo import run_demo
from ledger.store.log import Entry
from projections.projector import Database, Projector, TableDigest

BATCH = 300


def library_entries(books: Books) -> list[Entry]:
    recorder, mapper = books.app.recorder, books.app.mapper
    stored = recorder.select_notifications(0, books.log.last_position(), inclusive_of_start=False)
    return [Entry(n.id, str(n.originator_id), mapper.to_domain_event(n)) for n in stored]


def applied(projectors: tuple[Projector, ...], entries: list[Entry]) -> None:
    """Each batch applied to every model with its position, as a catch-up applies it."""
    db = projectors[0].db
    for start in range(0, len(entries), BATCH):
        batch = entries[start : start + BATCH]
        with db.turn() as cursor:
            for projector in projectors:
                db.record_tracking(cursor, Tracking(projector.tracking_name, batch[-1].position))
                projector.model.apply(cursor, batch)


def digests(projectors: tuple[Projector, ...]) -> dict[str, TableDigest | None]:
    return {
        table: p.db.digest(table, p.model.not_replayed)
        for p in projectors
        for table in p.model.tables
    }


def test_the_read_models_equal_those_fed_the_librarys_decoded_events(db: str) -> None:
    books = Books(db)
    summary = run_demo(books, "pinghu", 2, 1000, 1)
    assert summary.returned and summary.rejected and summary.payouts
    books.catch_up()
    library = read_models(books.log, Database.scratch())
    applied(library, library_entries(books))

    caught_up = digests(books.projectors)
    assert caught_up == digests(library)
    assert all(d is not None and d.rows for d in caught_up.values())
    for projector in books.projectors:
        projector.rebuild()
    assert digests(books.projectors) == caught_up
    books.close()
