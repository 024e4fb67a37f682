"""The event store, with one guard the aggregates cannot give: no posting into a closed period.

A command checks that its period is open, then saves; a close may land in between. So the
check is made again inside the transaction that inserts the events, under the store's write
lock (PostgreSQL: the events table lock the library takes to keep notification ids in
commit order, taken here before the check; SQLite: the database write lock, held from the
insert on). A close records its
period in `closed_periods` in the same way, so the two are serialised: either the posting
commits before the close, or it is refused with PeriodNotOpen.
"""

from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from domain.errors import PeriodNotOpen

POSTS_INTO = "posts_into"
"""Keyword of Application.save(): the period (or collection of periods) the saved events
post into."""
CLOSES = "closes"
FIGURES_AT = "figures_at"
"""Keyword of Application.save() with CLOSES: the log position the closing figures were
read at; the close is refused (IntegrityError, to be recomputed) if anything came after."""
"""Keyword of Application.save(): the period the saved events close."""


def _periods(value: int | Iterable[int] | None) -> list[int]:
    if value is None:
        return []
    if isinstance(value, int):
        return [value]
    return sorted(value)


IDS_PER_QUERY = 500


class GuardedSQLiteRecorder(SQLiteApplicationRecorder):
    def select_events_of(self, ids: Sequence[UUID]) -> list[StoredEvent]:
        """The events of many aggregates, in one query per few hundred: the bulk paths load
        aggregates this way instead of one query each."""
        found: list[StoredEvent] = []
        for start in range(0, len(ids), IDS_PER_QUERY):
            part = [i.hex for i in ids[start : start + IDS_PER_QUERY]]
            with self.datastore.transaction(commit=False) as c:
                c.execute(
                    f"SELECT originator_id, originator_version, topic, state "
                    f"FROM {self.events_table_name} WHERE originator_id IN "
                    f"({','.join('?' * len(part))}) ORDER BY originator_id, originator_version",
                    part,
                )
                found += [StoredEvent(UUID(r[0]), r[1], r[2], r[3]) for r in c.fetchall()]
        return found

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            "CREATE TABLE IF NOT EXISTS closed_periods (period INTEGER PRIMARY KEY)",
        ]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        if kwargs.get(CLOSES) is not None:
            c.execute(
                f"SELECT COUNT(*) FROM {self.events_table_name} WHERE rowid > ?",
                (kwargs[FIGURES_AT],),
            )
            if c.fetchone()[0] != len(stored_events):
                raise IntegrityError("events were recorded after the closing figures were read")
            c.execute("INSERT INTO closed_periods VALUES (?)", (kwargs[CLOSES],))
        for period in _periods(kwargs.get(POSTS_INTO)):
            c.execute("SELECT 1 FROM closed_periods WHERE period = ?", (period,))
            if c.fetchone():
                raise PeriodNotOpen(period)
        return ids


class GuardedPostgresRecorder(PostgresApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.closed_periods = Identifier(self.datastore.schema, "closed_periods")
        self.sql_create_statements.append(
            SQL("CREATE TABLE IF NOT EXISTS {} (period integer PRIMARY KEY)").format(
                self.closed_periods
            )
        )

    def select_events_of(self, ids: Sequence[UUID]) -> list[StoredEvent]:
        """The events of many aggregates, in one query per few hundred ids."""
        found: list[StoredEvent] = []
        statement = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {} "
            "WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version"
        ).format(Identifier(self.datastore.schema, self.events_table_name))
        for start in range(0, len(ids), IDS_PER_QUERY):
            with self.datastore.get_connection() as conn, conn.cursor() as curs:
                curs.execute(statement, (list(ids[start : start + IDS_PER_QUERY]),))
                found += [
                    StoredEvent(
                        r["originator_id"], r["originator_version"], r["topic"], bytes(r["state"])
                    )
                    for r in curs.fetchall()
                ]
        return found

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The library's insert, in a plain transaction instead of a psycopg pipeline: with a
        large batch (a few hundred kilobytes, as bulk imports make) the pipeline can deadlock,
        the server waiting for the client and the client for the server."""
        with (
            self.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor() as curs,
        ):
            self._insert_events(curs, stored_events, **kwargs)
            if not stored_events:
                return None
            self._insert_stored_events(curs, stored_events, **kwargs)
            return self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        """Runs in the inserting transaction before the insert; takes the insert's table lock
        early so the check below sees every close committed before this posting."""
        super()._insert_events(curs, stored_events, **kwargs)
        if kwargs.get(CLOSES) is None and kwargs.get(POSTS_INTO) is None:
            return
        self._lock_table(curs)
        if kwargs.get(CLOSES) is not None:
            curs.execute(
                SQL("SELECT COALESCE(MAX(notification_id), 0) AS last FROM {}").format(
                    Identifier(self.datastore.schema, self.events_table_name)
                )
            )
            if curs.fetchone()["last"] != kwargs[FIGURES_AT]:  # type: ignore[index]
                raise IntegrityError("events were recorded after the closing figures were read")
            curs.execute(
                SQL("INSERT INTO {} VALUES (%s)").format(self.closed_periods), (kwargs[CLOSES],)
            )
        for period in _periods(kwargs.get(POSTS_INTO)):
            curs.execute(
                SQL("SELECT 1 FROM {} WHERE period = %s").format(self.closed_periods),
                (period,),
            )
            if curs.fetchone():
                raise PeriodNotOpen(period)
