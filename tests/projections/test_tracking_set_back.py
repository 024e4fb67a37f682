"""A read model's tracking row set back (by hand, or a restore of the wrong table): the
model holds what follows it, so applying that again would clash or count twice. Its next
catch-up refuses in one line naming the repair, nothing of it applied, and the rebuild
gives the model as it was, on both backends."""

from datetime import date

import pytest
from rawdb import raw

from ledger.application.books import Books
from projections.projector import ReadModelAhead


def test_a_tracking_row_set_back_is_refused_until_the_model_is_rebuilt(
    ledger_of_three: Books, db: str
) -> None:
    books = ledger_of_three
    before = books.report()
    with raw(db) as r:
        r.execute(
            f"UPDATE {books.db.tracking_table} SET notification_id = 2 "
            "WHERE application_name = 'ledger.balances'"
        )
    books.app.grant_role("wang", "clerk", "admin", date(2025, 3, 1))
    with pytest.raises(ReadModelAhead) as refused:
        books.catch_up()
    assert str(refused.value) == (
        "the read model balances already holds events after its recorded position 2 (its "
        "tracking row was set back, or its tables written outside the ledger): it takes "
        "nothing more until rebuilt with `ledger projections rebuild`; what the log "
        "recorded stands"
    )
    assert books.balances.position == 2  # nothing of the batch applied
    books.balances.rebuild()
    assert books.balances.position == books.log.last_position()
    assert books.report() == {**before, "position": books.log.last_position()}
