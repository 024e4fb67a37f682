"""Plain SQL on a ledger's database, past the ledger, as someone holding the database's
owner password would use it: what the tamper tests need."""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

from ledger.application.app import MutualAidLedger
from ledger.store.chain import GENESIS, link
from ledger.store.config import is_postgres


class Raw:
    def __init__(self, db: str, connection: Any) -> None:
        self.postgres = is_postgres(db)
        self.connection = connection
        app = MutualAidLedger(db, read_only=True)
        self.events = app.recorder.events_table_name  # type: ignore[attr-defined]
        app.close()

    def rows(self, statement: str, *params: object) -> list[tuple[Any, ...]]:
        cursor = self.execute(statement, *params)
        return [tuple(r) for r in cursor.fetchall()] if cursor.description else []

    def execute(self, statement: str, *params: object) -> Any:
        statement = statement.replace("{events}", self.events)
        if self.postgres:
            return self.connection.execute(statement.replace("?", "%s"), params)
        return self.connection.execute(statement, params)

    def unprotect(self) -> None:
        """Remove the append-only triggers, as a database owner bent on tampering could."""
        for table in (self.events, "event_chain"):
            if self.postgres:
                self.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            else:
                for action in ("update", "delete"):
                    self.execute(f"DROP TRIGGER {table}_no_{action}")

    def rewrite_time_and_rechain(self, position: int, at: str) -> None:
        """Move the recorded time of the event at `position` and recompute every link by the
        published formula, as an owner bent on rewriting history could: the links agree
        with the events again, and only a digest published before shows it."""
        self.unprotect()
        rows = self.rows(
            f"SELECT {self.id_column}, originator_id, originator_version, topic, state "
            "FROM {events} ORDER BY 1"
        )
        chain = dict(self.rows("SELECT position, recorded_at FROM event_chain"))
        previous = GENESIS
        for n, originator, version, topic, state in rows:
            when = at if n == position else chain[n]
            previous = link(previous, n, when, str(originator), version, topic, bytes(state))
            self.execute(
                "UPDATE event_chain SET recorded_at = ?, hash = ? WHERE position = ?",
                when, previous, n,
            )  # fmt: skip

    def position_of(self, topic_suffix: str, nth: int = 0) -> int:
        """Log position of the nth event whose type name ends with `topic_suffix`."""
        rows = self.rows(
            f"SELECT {self.id_column} FROM {{events}} WHERE topic LIKE ? ORDER BY {self.id_column}",
            f"%{topic_suffix}",
        )
        return int(rows[nth][0])

    @property
    def id_column(self) -> str:
        return "notification_id" if self.postgres else "rowid"


@contextmanager
def raw(db: str) -> Iterator[Raw]:
    if not is_postgres(db):
        connection = sqlite3.connect(db, isolation_level=None)
        try:
            yield Raw(db, connection)
        finally:
            connection.close()
        return
    url, _, schema = db.partition("?schema=")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        yield Raw(db, conn)
