"""Opening the store: only --db decides where it is, and writers opening one PostgreSQL
ledger at once take turns (ledger/store/config.py)."""

import threading
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest

from domain.errors import LedgerError
from ledger.application.app import MutualAidLedger
from ledger.application.books import Books
from ledger.store import config
from ledger.store.config import lock_key

ON = date(2025, 3, 1)


def test_the_shell_environment_cannot_redirect_the_store(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_SQLITE_DBNAME", str(tmp_path / "elsewhere.db"))
    monkeypatch.setenv("POSTGRES_ENABLE_DB_FUNCTIONS", "y")
    app = MutualAidLedger(db)
    app.create_scheme("X", "pinghu", {"C1": "A"}, "clerk", ON)
    app.close()
    assert not (tmp_path / "elsewhere.db").exists()
    assert MutualAidLedger(db).scheme().name == "X"


def test_a_new_postgresql_ledger_opened_by_several_processes_at_once(postgres_url: str) -> None:
    """Each open creates the schema and tables if missing; those that start together take
    turns instead of failing on each other's half-created types."""
    opening = 6
    start = threading.Barrier(opening)
    failures: list[Exception] = []

    def open_books() -> None:
        start.wait()
        try:
            Books(postgres_url).close()
        except Exception as e:  # each thread reports what it hit
            failures.append(e)

    threads = [threading.Thread(target=open_books) for _ in range(opening)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    books = Books(postgres_url)
    books.app.create_scheme("City", "pinghu", {"C1": "One"}, "admin", ON)
    books.catch_up()
    assert books.app.scheme().counties == {"C1": "One"}
    books.close()


def test_an_open_kept_waiting_by_another_says_so_instead_of_hanging(
    postgres_server: str, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    Books(postgres_url).close()
    schema = parse_qs(urlsplit(postgres_url).query)["schema"][0]
    with psycopg.connect(postgres_server, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(hashtext(%s))", (lock_key("opening", schema),))
        monkeypatch.setattr(config, "TURN_TIMEOUT_SECONDS", 1)
        with pytest.raises(LedgerError, match="another process has been opening this ledger"):
            Books(postgres_url)
    Books(postgres_url).close()  # once the other lets go
