"""What every read model shares: its tables in the events' own database, and a projector
that follows the event log with exactly-once tracking.

Each batch of events is applied in the same transaction as the tracking record of the
last event in it, so a projection that crashes resumes where its last committed batch
ended: every event is applied exactly once. Tracking uses the library's tracking table,
one row per read model (`ledger.<name>`). Several processes may catch up and rebuild the
same read models: each batch, and each reset, is a turn under one lock (see `Database.turn`).

Read models write their SQL once, with `?` placeholders and `{name}` for their tables;
`Database.sql` turns that into SQLite or PostgreSQL (see ledger/store/dialect.py).

Read models know the log only as the store's `EventLog` gives it (positions and decoded
events), never the application: the application wires them to its log.

The audit compares a live read model with its replay (in SQLite) table by table, by their
digests (`Database.digest`), which both databases write out the same way.
"""

import gc
import hashlib
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple, Protocol, cast
from uuid import uuid4

import psycopg
from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder

from domain.errors import LedgerError
from ledger.store.config import TURN_TIMEOUT_SECONDS, ReadOnly
from ledger.store.dialect import Dialect
from ledger.store.log import Entry, EventLog
from ledger.store.recorders import IDS_PER_QUERY

BATCH_SIZE = 2000
STATISTICS_AFTER = 10_000
"""Events a catch-up applies before the tables it filled are analysed (PostgreSQL)."""
MAX_POSITION = 2**63 - 1
YOUNG_OBJECTS = 100_000
"""Objects made (less those freed) between two passes of the cycle collector during a
catch-up, instead of Python's 700 (see `_fewer_collections`)."""
DIGEST_ROWS = 100_000
"""Rows a database writes out at once for a digest: some MB, well under PostgreSQL's limit
of 1 GB for one value."""


class Cursor(Protocol):
    def execute(self, statement: Any, params: Any = ..., /) -> Any: ...
    def executemany(self, statement: Any, params: Any, /) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> Any: ...


class ReadModel(ABC):
    """One read model: its tables, how it applies events, how it forgets them."""

    name: ClassVar[str]
    tables: ClassVar[dict[str, str]]
    """Table name -> column definitions, for CREATE TABLE IF NOT EXISTS."""
    indexes: ClassVar[tuple[str, ...]] = ()
    """CREATE INDEX statements, with {table} names."""
    not_replayed: ClassVar[frozenset[str]] = frozenset()
    """Columns that do not come from the log (an outbox's hand-over time): a replay
    leaves them empty, so verification does not compare them."""

    def __init__(self, db: "Database") -> None:
        self.db = db

    @abstractmethod
    def apply(self, cursor: Cursor, entries: Sequence[Entry]) -> None:
        """Apply a batch of the log's entries (position, aggregate id as text, domain
        event) in log order."""

    def reset(self, cursor: Cursor) -> None:
        """Forget everything, before a rebuild; a model whose rows must outlive rebuilds
        (an outbox) overrides this."""
        for table in self.tables:
            cursor.execute(self.db.sql(f"DELETE FROM {{{table}}}"))


@dataclass(frozen=True)
class TableDigest:
    """A table's rows, in the order of its primary key, written out and hashed (SHA-256):
    each value as its type's name in SQLite (integer, text, null) and then as an SQL
    literal in single quotes (each quote in it doubled; NULL bare), a comma after each
    value, a semicolon after each row. PostgreSQL writes the same text for the same rows,
    ordering text keys byte by byte (collation "C") as SQLite does, so equal digests mean
    equal rows, whichever database holds them. (SQLite writes a text up to a NUL in it:
    PostgreSQL can hold none.)"""

    columns: tuple[str, ...]
    key: tuple[str, ...]
    rows: int
    sha256: str


class Column(NamedTuple):
    name: str
    kind: str | None
    """As PostgreSQL holds it: "integer" or "text"; None: another type. In SQLite any value
    is written out by its own type: "any"."""
    key: int | None
    """Its place in the primary key; None if not in it."""


class Database:
    """The events' database as the read models see it: SQL dialect, transactions, tracking."""

    def __init__(
        self,
        recorder: SQLiteTrackingRecorder | PostgresTrackingRecorder,
        writable: bool = True,
        creates: bool = True,
    ) -> None:
        """`creates`: whether this user makes the tables (a writer's PostgreSQL login does
        not: the ledger's owner made them)."""
        self.recorder = recorder
        self.writable = writable
        self.creates = writable and creates
        self._tables: set[str] | None = None
        self.dialect = Dialect.of(recorder.datastore)
        self.tracking_table = (
            recorder.tracking_table_name
            if isinstance(recorder, PostgresTrackingRecorder)
            else "tracking"
        )

    @classmethod
    def of(cls, log: EventLog, writable: bool) -> "Database":
        """The database the log is in; `writable` unless the user may only read, who
        creates nothing (the tracking table is created only once it may be), nor does a
        writer's login on PostgreSQL."""
        recorder = log.tracking_recorder()
        creates = writable and log.creates_tables
        if creates:
            recorder.create_table()
        return cls(recorder, writable, creates)

    @classmethod
    def scratch(cls) -> "Database":
        """A new, empty database in memory, gone when the last reference to it is."""
        datastore = SQLiteDatastore(f"file:scratch-{uuid4().hex}?mode=memory&cache=shared")
        recorder = SQLiteTrackingRecorder(datastore)
        recorder.create_table()
        return cls(recorder)

    def sql(self, text: str) -> Any:
        """A statement in this database's dialect; {name} stands for the table `name`, and
        {tracking} for the library's tracking table."""
        return self.dialect.sql(text, tracking=self.tracking_table)

    def insert_many(self, cursor: Cursor, table: str, rows: Sequence[Sequence[object]]) -> None:
        """Append whole rows to a table: by COPY on PostgreSQL, many times faster there than
        INSERT row by row."""
        if not rows:
            return
        if isinstance(cursor, psycopg.Cursor):
            with cursor.copy(self.sql(f"COPY {{{table}}} FROM STDIN")) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(rows[0]))
            cursor.executemany(self.sql(f"INSERT INTO {{{table}}} VALUES ({marks})"), rows)

    def rows_by_key(
        self, cursor: Cursor, table: str, key: str, keys: Collection[object]
    ) -> dict[Any, dict[str, Any]]:
        """The rows of a table with these values of column `key`, by key: what a batch reads
        of what earlier ones wrote, in one statement on PostgreSQL, a few hundred keys to a
        statement on SQLite."""
        wanted = list(keys)
        found: dict[Any, dict[str, Any]] = {}
        parts: list[tuple[str, list[Any]]]
        if isinstance(cursor, psycopg.Cursor):
            parts = [("= ANY(?)", [wanted])] if wanted else []
        else:
            parts = [
                (f"IN ({', '.join('?' * len(part))})", part)
                for part in (
                    wanted[i : i + IDS_PER_QUERY] for i in range(0, len(wanted), IDS_PER_QUERY)
                )
            ]
        for condition, params in parts:
            cursor.execute(self.sql(f"SELECT * FROM {{{table}}} WHERE {key} {condition}"), params)
            found |= {row[key]: dict(row) for row in cursor.fetchall()}
        return found

    def replace(
        self, cursor: Cursor, table: str, key: str, rows: Sequence[Sequence[object]]
    ) -> None:
        """Write rows over those of the same key (their first value, column `key`): a batch's
        changes to rows it read, two statements a table, not an UPDATE a row."""
        if not rows:
            return
        keys = [row[0] for row in rows]
        if isinstance(cursor, psycopg.Cursor):
            cursor.execute(self.sql(f"DELETE FROM {{{table}}} WHERE {key} = ANY(?)"), (keys,))
        else:
            for start in range(0, len(keys), IDS_PER_QUERY):
                part = keys[start : start + IDS_PER_QUERY]
                marks = ", ".join("?" * len(part))
                cursor.execute(self.sql(f"DELETE FROM {{{table}}} WHERE {key} IN ({marks})"), part)
        self.insert_many(cursor, table, rows)

    def insert_missing(
        self, cursor: Cursor, table: str, key: str, rows: Sequence[Sequence[object]]
    ) -> None:
        """Append the rows whose key (their first value, column `key`) the table does not
        hold yet, the first row of each key: what a replay adds to a model whose rows outlive
        rebuilds. On PostgreSQL the keys held are read in one statement and the rest copied,
        not one INSERT ... ON CONFLICT a row."""
        if not rows:
            return
        if not isinstance(cursor, psycopg.Cursor):
            marks = ", ".join("?" * len(rows[0]))
            insert = f"INSERT INTO {{{table}}} VALUES ({marks}) ON CONFLICT DO NOTHING"
            cursor.executemany(self.sql(insert), rows)
            return
        first: dict[object, Sequence[object]] = {}
        for row in rows:
            first.setdefault(row[0], row)
        cursor.execute(
            self.sql(f"SELECT {key} FROM {{{table}}} WHERE {key} = ANY(?)"), (list(first),)
        )
        for row in cursor.fetchall():
            del first[row[key]]
        self.insert_many(cursor, table, list(first.values()))

    @contextmanager
    def transaction(self, commit: bool) -> Iterator[Cursor]:
        if commit and not self.writable:
            raise ReadOnly
        with self.recorder.datastore.transaction(commit=commit) as cursor:
            yield cast(Cursor, cursor)

    @contextmanager
    def turn(self) -> Iterator[Cursor]:
        """A transaction that changes read models, one at a time across processes, so that
        what it read of their positions stays true until it commits. SQLite's write lock
        serialises writers but not what they read before writing; PostgreSQL's row locks
        don't cover a reset deleting rows while a batch adds others. Hence a lock per
        ledger taken first: on SQLite, BEGIN IMMEDIATE's (via a write to the tracking table);
        on PostgreSQL, the tracking table's EXCLUSIVE lock, which only a role that may change
        the table can take (an advisory lock, any reader could hold and stall every
        writer), waited for TURN_TIMEOUT_SECONDS at most."""
        with self.transaction(commit=True) as cursor:
            if isinstance(self.recorder, PostgresTrackingRecorder):
                cursor.execute(f"SET LOCAL lock_timeout = '{TURN_TIMEOUT_SECONDS}s'")
                try:
                    cursor.execute(self.sql("LOCK TABLE {tracking} IN EXCLUSIVE MODE"))
                except psycopg.errors.LockNotAvailable:
                    raise ReadModelsBusy from None
            else:
                cursor.execute(self.sql("DELETE FROM {tracking} WHERE 0"))
            yield cursor

    def positions(self, cursor: Cursor, names: Sequence[str]) -> dict[str, int]:
        """Each read model's position as this transaction sees it."""
        cursor.execute(
            self.sql(
                "SELECT application_name, MAX(notification_id) AS position FROM {tracking} "
                f"WHERE application_name IN ({', '.join('?' * len(names))}) "
                "GROUP BY application_name"
            ),
            list(names),
        )
        found = {row["application_name"]: int(row["position"]) for row in cursor.fetchall()}
        return {name: found.get(name, 0) for name in names}

    def tables(self) -> set[str]:
        """The tables this database (PostgreSQL: the ledger's schema) holds: read once, then
        kept up to date by `create`."""
        if self._tables is None:
            self._tables = self._read_tables()
        return set(self._tables)

    def _read_tables(self) -> set[str]:
        with self.transaction(commit=False) as cursor:
            if isinstance(self.recorder, PostgresTrackingRecorder):
                cursor.execute(  # the catalog, not information_schema: many times faster
                    self.sql(
                        "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n "
                        "ON n.oid = c.relnamespace WHERE n.nspname = ? AND c.relkind IN ('r', 'p')"
                    ),
                    (self.recorder.datastore.schema,),
                )
            else:
                cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            return {str(row["name"]) for row in cursor.fetchall()}

    def create(self, model: ReadModel) -> None:
        with self.transaction(commit=True) as cursor:
            for table, columns in model.tables.items():
                cursor.execute(self.sql(f"CREATE TABLE IF NOT EXISTS {{{table}}} ({columns})"))
            for index in model.indexes:
                cursor.execute(self.sql(index))
        if self._tables is not None:
            self._tables |= model.tables.keys()

    def refresh_statistics(self, log: EventLog, models: Sequence[ReadModel]) -> None:
        """ANALYZE the log's tables and the models', after a bulk load, on PostgreSQL: it
        plans by those statistics, which only autovacuum refreshes otherwise, and these
        servers run without it. SQLite (a ledger's file, or a replay's scratch database)
        plans without statistics."""
        if not isinstance(self.recorder, PostgresTrackingRecorder):
            return
        log.refresh_statistics()
        with self.transaction(commit=True) as cursor:
            for model in models:
                for table in model.tables:
                    cursor.execute(self.sql(f"ANALYZE {{{table}}}"))

    def digest(self, table: str, leave_out: Collection[str] = ()) -> TableDigest | None:
        """The digest of a table, but for the columns left out; None for one it cannot
        write out (no primary key, or a column neither integer nor text)."""
        with self.transaction(commit=False) as cursor:
            layout = self._layout(cursor, table)
            columns = [c for c in layout if c.name not in leave_out]
            key = sorted((c for c in layout if c.key is not None), key=lambda c: c.key or 0)
            if not key or any(c.kind is None for c in columns + key):
                return None
            sha256, rows = hashlib.sha256(), 0
            for count, text in self._written_out(cursor, table, columns, key):
                sha256.update(text.encode())
                rows += count
        names = tuple(c.name for c in columns)
        return TableDigest(names, tuple(c.name for c in key), rows, sha256.hexdigest())

    def _layout(self, cursor: Cursor, table: str) -> list[Column]:
        """A table's columns, from the database's catalog."""
        if not isinstance(self.recorder, PostgresTrackingRecorder):
            cursor.execute(f"PRAGMA table_info({table})")
            return [Column(r["name"], "any", r["pk"] or None) for r in cursor.fetchall()]
        cursor.execute(
            self.sql(
                "SELECT a.attname AS name, CASE WHEN t.typname IN ('int2', 'int4', 'int8') "
                "THEN 'integer' WHEN t.typcategory = 'S' THEN 'text' END AS kind, "
                "array_position(i.indkey::int2[], a.attnum) AS key FROM pg_attribute a "
                "JOIN pg_class c ON c.oid = a.attrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "JOIN pg_type t ON t.oid = a.atttypid "
                "LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary "
                "WHERE n.nspname = ? AND c.relname = ? AND a.attnum > 0 AND NOT a.attisdropped "
                "ORDER BY a.attnum"
            ),
            (self.recorder.datastore.schema, table),
        )
        return [Column(r["name"], r["kind"], r["key"]) for r in cursor.fetchall()]

    def _written_out(
        self, cursor: Cursor, table: str, columns: list[Column], key: list[Column]
    ) -> Iterator[tuple[int, str]]:
        """A table's rows written out as `TableDigest` says, in key order, DIGEST_ROWS at a
        time: (rows, text)."""
        if isinstance(self.recorder, PostgresTrackingRecorder):
            row = " || ',' || ".join(_written(c) for c in columns) + " || ';'"
            order = ", ".join(f'{c.name} COLLATE "C"' if c.kind == "text" else c.name for c in key)
            part = f"(i - 1) / {DIGEST_ROWS}"
            cursor.execute(
                self.sql(
                    "SELECT COUNT(*) AS n, string_agg(r, '' ORDER BY i) AS text FROM "
                    f"(SELECT ROW_NUMBER() OVER (ORDER BY {order}) AS i, {row} AS r "
                    f"FROM {{{table}}}) AS s GROUP BY {part} ORDER BY {part}"
                )
            )
            yield from ((int(r["n"]), r["text"]) for r in cursor.fetchall())
            return
        # one call of printf a row: several times faster than a function a value
        each = ", ".join(f"typeof({c.name}), {c.name}" for c in columns)
        row = f"printf('{','.join('%s%Q' for _ in columns)};', {each})"
        names = ", ".join(c.name for c in key)
        after: tuple[Any, ...] = ()
        while True:  # SQLite has no ordered aggregate: each part from the last key on
            where = f"WHERE ({names}) > ({', '.join('?' * len(key))}) " if after else ""
            cursor.execute(
                f"SELECT {row}, {names} FROM {table} {where}ORDER BY {names} LIMIT {DIGEST_ROWS}",
                after,
            )
            rows = cursor.fetchall()
            if not rows:
                return
            yield len(rows), "".join([r[0] for r in rows])
            after = tuple(rows[-1])[1:]

    def record_tracking(self, cursor: Cursor, tracking: Tracking) -> None:
        self.recorder._insert_tracking(cursor, tracking)  # type: ignore[arg-type]

    def max_tracking_id(self, name: str) -> int | None:
        return self.recorder.max_tracking_id(name)


class Projector:
    """Keeps one read model up to date with the log: catch up, rebuild, position."""

    def __init__(self, log: EventLog, model_class: type[ReadModel], db: Database) -> None:
        """A projector of the log into `db` (the log's own database, or a scratch one)."""
        self.log = log
        self.db = db
        self.model = model_class(db)
        self.tracking_name = f"{log.name}.{self.model.name}"
        if self.db.creates:
            lacking = not self.has_tables
            self.db.create(self.model)
            if lacking and self.position > 0:
                self.reset()  # a table new since it last ran: the next catch-up replays it all

    @property
    def has_tables(self) -> bool:
        """Whether every table of the model is there: not so for a table new since a writer
        last opened the ledger."""
        return self.model.tables.keys() <= self.db.tables()

    @property
    def position(self) -> int:
        """Notification id of the last event applied; 0 before the first."""
        return self.db.max_tracking_id(self.tracking_name) or 0

    def catch_up(
        self, batch_size: int = BATCH_SIZE, on_batch: Callable[[int], None] | None = None
    ) -> int:
        """Apply every event recorded since the last run; returns how many were applied."""
        return catch_up_together([self], batch_size, on_batch)

    def reset(self) -> None:
        """Forget the model's rows and its position in the log."""
        with self.db.turn() as cursor:
            self.model.reset(cursor)
            cursor.execute(
                self.db.sql("DELETE FROM {tracking} WHERE application_name = ?"),
                (self.tracking_name,),
            )

    def rebuild(self, on_batch: Callable[[int], None] | None = None) -> int:
        """Apply the whole log again from nothing."""
        self.reset()
        return self.catch_up(on_batch=on_batch)


class ReadModelsBusy(LedgerError):
    def __init__(self) -> None:
        super().__init__(
            f"the read models have been busy for over {TURN_TIMEOUT_SECONDS} s (another "
            "process catching them up or rebuilding them): try again, or look for a process "
            "stuck there"
        )


class Moved(Exception):
    """A read model's position changed under a catch-up: its batch is void."""


def catch_up_together(
    projectors: Sequence[Projector],
    batch_size: int = BATCH_SIZE,
    on_batch: Callable[[int], None] | None = None,
    until: Mapping[Projector, int] | None = None,
    statistics: bool = True,
) -> int:
    """Bring read models of one log up to its end (or each up to its position in `until`):
    each batch of events is read and decoded once, and applied to every model in one
    transaction, with each model's position; returns how many events were read. Under a
    read-only user, nothing: the models stay at their positions.

    A catch-up of STATISTICS_AFTER events or more (after an import, a rebuild, a first
    catch-up) ends by refreshing the database's statistics of the tables it filled, unless
    told not to (`statistics`) by a caller that refreshes them once after many."""
    with _fewer_collections():
        read = _catch_up(projectors, batch_size, on_batch, until)
    if statistics and read >= STATISTICS_AFTER:
        projectors[0].db.refresh_statistics(projectors[0].log, [p.model for p in projectors])
    return read


def _catch_up(
    projectors: Sequence[Projector],
    batch_size: int,
    on_batch: Callable[[int], None] | None,
    until: Mapping[Projector, int] | None,
) -> int:
    log, db = projectors[0].log, projectors[0].db
    if not db.writable:
        return 0
    limits = {p: (until or {}).get(p, MAX_POSITION) for p in projectors}
    positions = {p: p.position for p in projectors}
    read = 0
    while True:
        positions = {p: at for p, at in positions.items() if at < limits[p]}
        if not positions:
            return read
        entries = log.entries_after(min(positions.values()), batch_size)  # past limits: below
        if not entries:
            return read
        if not _applied(db, entries, positions, limits):
            positions = {p: p.position for p in positions}  # another process's now
            continue
        last = entries[-1].position
        positions = {p: max(at, min(last, limits[p])) for p, at in positions.items()}
        read += len(entries)
        if on_batch is not None:
            on_batch(last)


def _applied(
    db: Database,
    entries: list[Entry],
    positions: dict[Projector, int],
    limits: Mapping[Projector, int],
) -> bool:
    """A batch applied to each model (up to its limit) with its position, in one turn;
    False if another process moved them since they were read: the batch is void."""
    first, last = entries[0].position, entries[-1].position
    try:
        with db.turn() as cursor:
            expected = {p.tracking_name: position for p, position in positions.items()}
            if db.positions(cursor, list(expected)) != expected:
                raise Moved  # caught up or reset by another process since read
            for projector, position in positions.items():
                limit = limits[projector]
                unseen = (
                    entries
                    if position < first and last <= limit
                    else [e for e in entries if position < e.position <= limit]
                )
                if unseen:
                    tracking = Tracking(projector.tracking_name, unseen[-1].position)
                    db.record_tracking(cursor, tracking)
                    try:
                        projector.model.apply(cursor, unseen)
                    except DUPLICATES:
                        raise ReadModelAhead(projector.model.name, position) from None
    except Moved:  # another process got there first: follow it
        return False
    return True


DUPLICATES = (sqlite3.IntegrityError, psycopg.errors.IntegrityError, IntegrityError)
"""What a read model's own keys raise when it is given an event it has applied already."""


class ReadModelAhead(LedgerError):
    """A read model holding rows past its tracked position: re-applied, they would clash or
    count twice, so it takes nothing until rebuilt."""

    def __init__(self, model: str, position: int) -> None:
        super().__init__(
            f"the read model {model} already holds events after its recorded position "
            f"{position} (its tracking row was set back, or its tables written outside the "
            "ledger): it takes nothing more until rebuilt with `ledger projections rebuild`; "
            "what the log recorded stands"
        )


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Python's cycle collector run every YOUNG_OBJECTS objects made, not every 700: a
    batch's decoded events are many young objects, and no cycles."""
    threshold = gc.get_threshold()
    gc.set_threshold(max(YOUNG_OBJECTS, threshold[0]), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


def _written(column: Column) -> str:
    """PostgreSQL's SQL for a value as `TableDigest` writes it out."""
    name = column.name
    if column.kind == "integer":
        value = f"CAST({name} AS TEXT)"
    else:
        value = f"replace({name}, '''', '''''')"
    return f"CASE WHEN {name} IS NULL THEN 'nullNULL' ELSE '{column.kind}''' || {value} || '''' END"
