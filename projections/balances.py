"""Balances: the double-entry postings of every event, in the events' own database.

The projection follows the event log in order. Each batch of postings is written in the
same transaction as the tracking record of the last event it covers, so after a crash it
resumes where the last committed batch ended: every event is applied exactly once. The
postings table can be dropped and rebuilt from the log with identical results.
"""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol, cast

from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.postgres import PostgresFactory, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteFactory, SQLiteTrackingRecorder
from psycopg.sql import SQL, Identifier

from domain.money import to_fen
from domain.postings import postings_for
from ledger.app import MutualAidLedger

NAME = "balances"
BATCH_SIZE = 1000


@dataclass(frozen=True)
class Row:
    notification_id: int
    seq: int
    event_type: str
    entity: str
    account: str
    period: int
    effective_date: date
    amount_fen: int


@dataclass(frozen=True)
class Filters:
    entity: str | None = None
    period: int | None = None
    as_of: date | None = None


class Cursor(Protocol):
    def execute(self, statement: Any, params: Any = ..., /) -> Any: ...
    def fetchall(self) -> Any: ...


class PostingsView(Protocol):
    """The SQL each backend needs; everything else is shared in `Balances`."""

    placeholder: str

    def transaction(self, commit: bool) -> Any: ...
    def record_tracking(self, cursor: Cursor, tracking: Tracking) -> None: ...
    def max_tracking_id(self, application_name: str) -> int | None: ...
    def postings_table(self) -> Any: ...
    def tracking_table(self) -> Any: ...


class SQLitePostingsView(SQLiteTrackingRecorder):
    placeholder = "?"

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            "CREATE TABLE IF NOT EXISTS postings ("
            "notification_id INTEGER NOT NULL, seq INTEGER NOT NULL, event_type TEXT NOT NULL, "
            "entity TEXT NOT NULL, account TEXT NOT NULL, period INTEGER NOT NULL, "
            "effective_date TEXT NOT NULL, amount_fen INTEGER NOT NULL, "
            "PRIMARY KEY (notification_id, seq))",
            "CREATE INDEX IF NOT EXISTS postings_by_account ON postings (entity, account)",
        ]

    @contextmanager
    def transaction(self, commit: bool) -> Iterator[Any]:
        with self.datastore.transaction(commit=commit) as cursor:
            yield cursor

    def record_tracking(self, cursor: Any, tracking: Tracking) -> None:
        self._insert_tracking(cursor, tracking)

    def postings_table(self) -> str:
        return "postings"

    def tracking_table(self) -> str:
        return "tracking"


class PostgresPostingsView(PostgresTrackingRecorder):
    placeholder = "%s"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sql_create_statements.extend(
            [
                SQL(
                    "CREATE TABLE IF NOT EXISTS {} ("
                    "notification_id bigint NOT NULL, seq integer NOT NULL, "
                    "event_type text NOT NULL, entity text NOT NULL, account text NOT NULL, "
                    "period integer NOT NULL, effective_date date NOT NULL, "
                    "amount_fen bigint NOT NULL, PRIMARY KEY (notification_id, seq))"
                ).format(self.postings_table()),
                SQL(
                    "CREATE INDEX IF NOT EXISTS postings_by_account ON {} (entity, account)"
                ).format(self.postings_table()),
            ]
        )

    @contextmanager
    def transaction(self, commit: bool) -> Iterator[Any]:
        with self.datastore.transaction(commit=commit) as cursor:
            yield cursor

    def record_tracking(self, cursor: Any, tracking: Tracking) -> None:
        self._insert_tracking(cursor, tracking)

    def postings_table(self) -> Any:
        return Identifier(self.datastore.schema, "postings")

    def tracking_table(self) -> Any:
        return Identifier(self.datastore.schema, self.tracking_table_name)


class Balances:
    """The balances read model of one ledger: keep it up to date, rebuild it, query it."""

    def __init__(self, app: MutualAidLedger) -> None:
        self.app = app
        self.tracking_name = f"{app.name}.{NAME}"
        factory = app.factory
        self.view: PostingsView
        if isinstance(factory, PostgresFactory):
            self.view = factory.tracking_recorder(PostgresPostingsView)
        elif isinstance(factory, SQLiteFactory):
            self.view = cast(SQLitePostingsView, factory.tracking_recorder(SQLitePostingsView))
        else:
            raise TypeError(f"no balances view for {type(factory).__name__}")

    def _sql(self, text: str) -> Any:
        """Statements are written once with {postings}, {tracking} and ? placeholders."""
        text = text.replace("?", self.view.placeholder)
        if self.view.placeholder == "?":
            return text.format(
                postings=self.view.postings_table(), tracking=self.view.tracking_table()
            )
        return SQL(text).format(
            postings=self.view.postings_table(), tracking=self.view.tracking_table()
        )

    @property
    def position(self) -> int:
        """Notification id of the last event applied; 0 before the first."""
        return self.view.max_tracking_id(self.tracking_name) or 0

    def catch_up(
        self, batch_size: int = BATCH_SIZE, on_batch: Callable[[int], None] | None = None
    ) -> int:
        """Apply every event recorded since the last run; returns how many were applied."""
        applied = 0
        position = self.position
        while True:
            notifications = self.app.recorder.select_notifications(
                start=position, limit=batch_size, inclusive_of_start=False
            )
            if not notifications:
                return applied
            rows = []
            for notification in notifications:
                event = self.app.mapper.to_domain_event(notification)
                event_type = type(event).__qualname__
                for seq, p in enumerate(postings_for(event)):
                    rows.append(
                        Row(
                            notification.id,
                            seq,
                            event_type,
                            p.entity,
                            p.account,
                            p.period,
                            p.effective_date,
                            to_fen(p.amount),
                        )
                    )
            if not self._record(rows, Tracking(self.tracking_name, notifications[-1].id)):
                position = self.position  # another catch-up got there first: follow it
                continue
            position = notifications[-1].id
            applied += len(notifications)
            if on_batch is not None:
                on_batch(position)

    def _record(self, rows: Sequence[Row], tracking: Tracking) -> bool:
        """Write a batch with its position; False if another process recorded it first."""
        insert = self._sql("INSERT INTO {postings} VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        try:
            self._write(insert, rows, tracking)
        except IntegrityError:
            return False
        return True

    def _write(self, insert: Any, rows: Sequence[Row], tracking: Tracking) -> None:
        with self.view.transaction(commit=True) as cursor:
            self.view.record_tracking(cursor, tracking)
            if rows:
                cursor.executemany(
                    insert,
                    [
                        (
                            r.notification_id,
                            r.seq,
                            r.event_type,
                            r.entity,
                            r.account,
                            r.period,
                            r.effective_date.isoformat(),
                            r.amount_fen,
                        )
                        for r in rows
                    ],
                )

    def reset(self) -> None:
        """Forget every posting and where the projection was in the log."""
        with self.view.transaction(commit=True) as cursor:
            cursor.execute(self._sql("DELETE FROM {postings}"))
            cursor.execute(
                self._sql("DELETE FROM {tracking} WHERE application_name = ?"),
                (self.tracking_name,),
            )

    def rebuild(self, on_batch: Callable[[int], None] | None = None) -> int:
        """Apply the whole log again from nothing."""
        self.reset()
        return self.catch_up(on_batch=on_batch)

    def totals(self, filters: Filters = Filters()) -> dict[tuple[str, str], int]:
        """Sum of postings in fen by (entity, account), for the filters given."""
        where: list[str] = ["1=1"]
        params: list[object] = []
        if filters.entity is not None:
            where.append("entity = ?")
            params.append(filters.entity)
        if filters.period is not None:
            where.append("period = ?")
            params.append(filters.period)
        if filters.as_of is not None:
            where.append("effective_date <= ?")
            params.append(filters.as_of.isoformat())
        statement = self._sql(
            "SELECT entity, account, SUM(amount_fen) AS total FROM {postings} "
            f"WHERE {' AND '.join(where)} GROUP BY entity, account"
        )
        with self.view.transaction(commit=False) as cursor:
            cursor.execute(statement, params)
            return {(r["entity"], r["account"]): int(r["total"]) for r in cursor.fetchall()}

    def rows(self) -> list[tuple[Any, ...]]:
        """Every posting in log order, for comparing two builds of the read model."""
        with self.view.transaction(commit=False) as cursor:
            cursor.execute(self._sql("SELECT * FROM {postings} ORDER BY notification_id, seq"))
            return [tuple(str(v) for v in dict(r).values()) for r in cursor.fetchall()]
