"""Read models used by several processes at once: a rebuild in one never loses what a
catch-up in another is applying."""

import threading
from collections.abc import Callable, Sequence
from datetime import date

from rosters import import_roster, roster_line

from ledger.application.books import Books
from ledger.reports.audit import check_read_models
from projections.projector import Cursor


def enrol(books: Books, *members: str) -> None:
    import_roster(books, *(roster_line(m, on=date(2025, 1, 5)) for m in members))


def test_a_rebuild_waits_for_a_catch_up_in_progress_and_loses_nothing(
    books: Books, db: str
) -> None:
    """A catch-up's transaction is open (its events applied, not committed) when another
    process starts a rebuild: the rebuild must not lose the rows from before that batch.
    SQLite's write lock always kept the two apart; on PostgreSQL the rebuild used to lose
    them (or fail on a duplicate key), which the read models' lock now prevents."""
    enrol(books, *(f"m{n}" for n in range(30)))
    books.catch_up()
    enrol(books, *(f"n{n}" for n in range(30)))
    catching_up, rebuilder = Books(db), Books(db)
    inside, go = threading.Event(), threading.Event()
    apply = catching_up.balances.model.apply

    def apply_slowly(cursor: Cursor, events: Sequence[tuple[int, object]]) -> None:
        apply(cursor, events)
        inside.set()  # the batch is applied, not yet committed
        go.wait(timeout=30)

    catching_up.balances.model.apply = apply_slowly  # type: ignore[method-assign]
    applied: dict[str, int] = {}
    failures: list[BaseException] = []

    def run(name: str, step: Callable[[], int]) -> None:
        try:
            applied[name] = step()
        except BaseException as e:  # reported below, not lost in the thread
            failures.append(e)

    first = threading.Thread(target=run, args=("catch-up", catching_up.balances.catch_up))
    first.start()
    assert inside.wait(timeout=30)
    second = threading.Thread(target=run, args=("rebuild", rebuilder.balances.rebuild))
    second.start()
    second.join(timeout=1)  # the rebuild gets as far as it can while the batch is open
    go.set()
    first.join(timeout=60)
    second.join(timeout=60)
    assert not first.is_alive() and not second.is_alive()
    assert failures == []
    assert applied["catch-up"] > 0  # the open batch did commit; the rebuild came after it
    assert rebuilder.balances.position == books.app.recorder.max_notification_id()
    check = check_read_models(rebuilder)
    assert [str(d) for d in check.differences if d.model == "balances"] == []
    catching_up.close()
    rebuilder.close()
