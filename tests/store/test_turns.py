"""A ledger's turns at work one process at a time may do: refused at once, or after a
wait, while another holds it; taken once it is released; on both backends (an flock beside
an SQLite file, a row lock on PostgreSQL), in one process as across several."""

import threading
import time

import pytest

from domain.errors import LedgerError
from ledger.application.books import Books
from ledger.store.turns import one_at_a_time


def test_a_turn_held_refuses_another_at_once_or_after_its_wait(books: Books, db: str) -> None:
    with one_at_a_time(db, "export", 0, "busy"):
        with pytest.raises(LedgerError, match=r"^busy$"), one_at_a_time(db, "export", 0, "busy"):
            pass
        started = time.monotonic()
        with pytest.raises(LedgerError, match=r"^busy$"), one_at_a_time(db, "export", 0.4, "busy"):
            pass
        assert time.monotonic() - started >= 0.35  # its wait, then refused
        with one_at_a_time(db, "import", 0, "busy"):  # another work's turn is its own
            pass
    with one_at_a_time(db, "export", 0, "busy"):  # released: taken again
        pass


def test_a_waiting_turn_is_taken_as_soon_as_it_is_released(books: Books, db: str) -> None:
    held = threading.Event()

    def hold() -> None:
        with one_at_a_time(db, "import", 0, "busy"):
            held.set()
            time.sleep(0.5)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    started = time.monotonic()
    with one_at_a_time(db, "import", 10, "busy"):
        waited = time.monotonic() - started
    holder.join()
    assert 0.2 < waited < 5
