"""A read model applies a batch of events at once; the batch size must not change what it
holds. The demo's period has every kind of event: claims approved and rejected, payouts
made, confirmed and returned, a close with deficits shared."""

from typing import Any

from rawdb import raw

from ledger.application.books import Books
from ledger.application.demo import run_demo
from ledger.reports.audit import check_read_models
from projections.claims import Claims
from projections.notifications import Notifications
from projections.projector import Database, Projector
from projections.statements import Statements


def contents(projector: Projector) -> dict[str, list[tuple[Any, ...]]]:
    tables = {}
    for table in projector.model.tables:
        with projector.db.transaction(commit=False) as cursor:
            cursor.execute(projector.db.sql(f"SELECT * FROM {{{table}}}"))
            tables[table] = sorted(
                tuple(str(v) for v in dict(r).values()) for r in cursor.fetchall()
            )
    return tables


def test_one_event_at_a_time_gives_what_whole_batches_give(db: str) -> None:
    books = Books(db)
    summary = run_demo(books, "pinghu", 2, 1000, 1)
    assert summary.returned and summary.payouts > summary.returned and summary.rejected
    books.catch_up()
    for model in (Claims, Notifications, Statements):
        one_by_one = model(books.log, Database.scratch())
        one_by_one.catch_up(batch_size=1)
        live = next(p for p in books.projectors if isinstance(p, model))
        assert contents(one_by_one) == contents(live), model.__name__
        assert sum(len(rows) for rows in contents(live).values()) > 1000
    books.close()


def test_a_rebuild_withdraws_the_same_texts_and_keeps_those_handed_over(db: str) -> None:
    """Texts of returned payouts are withdrawn, from the log; hand-overs outlive a rebuild."""
    books = Books(db)
    summary = run_demo(books, "pinghu", 2, 1000, 1)
    outbox = books.notifications
    outbox.catch_up()
    assert summary.returned and len(outbox.withdrawn()) == summary.returned
    assert len(outbox.pending()) == summary.payouts - summary.returned
    outbox.hand_over(outbox.pending()[:10], "2025-07-01T09:00:00")
    before = outbox.pending(), outbox.withdrawn()

    outbox.rebuild()

    assert (outbox.pending(), outbox.withdrawn()) == before
    replayed = Notifications(books.log, Database.scratch())
    replayed.catch_up()
    assert replayed.withdrawn() == before[1]
    books.close()


def test_a_table_new_to_a_read_model_is_filled_from_the_log_at_the_next_open(db: str) -> None:
    """A ledger whose outbox predates its table of returns: at the next open the outbox
    replays, so payouts returned back then withdraw their texts, and no hand-over is lost."""
    books = Books(db)
    summary = run_demo(books, "pinghu", 2, 1000, 1)
    outbox = books.notifications
    outbox.catch_up()
    outbox.hand_over(outbox.pending()[:5], "2025-07-01T09:00:00")
    before = outbox.pending(), outbox.withdrawn()
    assert summary.returned and len(before[1]) == summary.returned
    books.close()
    with raw(db) as r:
        r.execute("DROP TABLE outbox_returns")  # as the ledger stood before the table existed

    reopened = Books(db)
    reopened.catch_up()

    assert (reopened.notifications.pending(), reopened.notifications.withdrawn()) == before
    assert check_read_models(reopened).differences == []
    reopened.close()
