"""Work that one process at a time may do on a ledger (a payout export, an import): the
others wait their turn, or are refused at once, in one line. A turn is released when its
holder ends, however it ends. On PostgreSQL it is a row lock (SELECT ... FOR UPDATE) on the
row of `ledger_turns` named for the work, on a connection of its own: only a role that may
change the table can take it, so a reader cannot hold a writer up. On SQLite, an flock on
a file beside the ledger (`DB-WORK.lock`), which stays there, empty."""

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.sql import SQL, Identifier

from domain.errors import LedgerError
from ledger.store.config import connect, is_postgres, persistence_env
from ledger.store.dialect import Dialect

TABLE = "ledger_turns"
POLL_SECONDS = 0.05
"""How often a waiting SQLite process tries the lock file again."""


def create_table(dialect: Dialect) -> Any:
    """Created with the event store's own tables (ledger/store/recorders.py), once."""
    return dialect.sql(f"CREATE TABLE IF NOT EXISTS {{{TABLE}}} (work TEXT PRIMARY KEY)")


@contextmanager
def one_at_a_time(db: str, work: str, wait: float, busy: str) -> Iterator[None]:
    """Hold the ledger's turn at `work` (waiting up to `wait` seconds; 0: not at all) while
    the block runs; if another process holds it still, LedgerError(`busy`)."""
    if is_postgres(db):
        with _row_locked(db, work, wait, busy):
            yield
        return
    path = f"{db}-{work}.lock"
    try:
        file = open(path, "a")  # noqa: SIM115 (closed below, after the block)
    except OSError as e:
        raise LedgerError(f"{path}: cannot take the ledger's turn: {e.strerror}") from None
    with file:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LedgerError(busy) from None
                time.sleep(POLL_SECONDS)
        yield


@contextmanager
def _row_locked(db: str, work: str, wait: float, busy: str) -> Iterator[None]:
    env = persistence_env(db)
    table = Identifier(env["POSTGRES_SCHEMA"] or "public", TABLE)
    with connect(env) as conn:
        try:
            conn.execute(
                SQL("INSERT INTO {} VALUES (%s) ON CONFLICT DO NOTHING").format(table), (work,)
            )
        except (psycopg.errors.InsufficientPrivilege, psycopg.errors.UndefinedTable):
            raise LedgerError(
                f"this login may not take the ledger's turns ({TABLE}, new in this version): "
                "the ledger's owner opens it once, and makes the login a writer again "
                "(`ledger users grant USER ROLE --login`)"
            ) from None
        with conn.transaction():
            conn.execute(f"SET LOCAL lock_timeout = '{max(int(wait * 1000), 1)}ms'")
            try:
                conn.execute(SQL("SELECT 1 FROM {} WHERE work = %s FOR UPDATE").format(table),
                             (work,))  # fmt: skip
            except psycopg.errors.LockNotAvailable:
                raise LedgerError(busy) from None
            yield
