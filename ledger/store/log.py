"""The event log as its readers see it: the read models, the trails and the audit.

Positions (the library's notification ids), stored events decoded into domain events, and
the hash chain's links beside them, with the time each event was recorded. Nothing here
writes: the recorders (ledger/store/recorders.py) write events and their links together.
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

import orjson
from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, Notification, StoredEvent
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteTrackingRecorder
from eventsourcing.utils import get_topic, resolve_topic
from psycopg.rows import tuple_row

from ledger.store.chain import CHAIN_TABLE, as_recorded
from ledger.store.recorders import IDS_PER_QUERY, GuardedPostgresRecorder, GuardedSQLiteRecorder

LINK_COLUMNS = "position, recorded_at, hash"


@dataclass(frozen=True)
class Link:
    """The chain's link at a position: the event there was recorded at `recorded_at` (UTC,
    as chain.as_recorded writes it), and the log up to it hashes to `hash`."""

    position: int
    recorded_at: str
    hash: str


@dataclass(frozen=True)
class Recorded:
    """A stored event, decoded, at its position in the log."""

    position: int
    recorded_at: str | None
    """From its link; None for an event recorded without one."""
    event: Any
    """The domain event; each of the ledger's carries `actor` and `effective_date`."""


class Entry(NamedTuple):
    """An event of the log as the read models take it: its position, its aggregate's id
    as text (what they key their rows by) and the event, decoded."""

    position: int
    originator: str
    event: Any


class EventLog:
    """One application's log, for reading only: what the read models, the trails and the
    audit need of the application, and nothing of its commands."""

    def __init__(self, app: Application[UUID]) -> None:
        recorder = app.recorder
        assert isinstance(recorder, GuardedSQLiteRecorder | GuardedPostgresRecorder)
        self._app = app
        """Kept, for the library closes the application's connections when it goes."""
        self.name = app.name
        """The application's: read models track their positions as `NAME.MODEL`."""
        self.recorder = recorder
        self._mapper = app.mapper
        self._postgres = recorder.dialect.postgres
        self._position = "notification_id" if self._postgres else "rowid"
        """The events table's column the library numbers the log by."""
        self._uuid: Callable[[Any], UUID] = (lambda o: o) if self._postgres else UUID
        """An originator id as the events table stores it, as a UUID (SQLite: in hex)."""
        transcoder = app.mapper.transcoder
        assert isinstance(transcoder, JSONTranscoder)
        self._decoders = {name: t.decode for name, t in transcoder.names.items()}
        """Each registered type's decoding, by the name its values are written with."""
        self._classes: dict[str, Any] = {}
        """Each topic's event class, resolved once."""
        self._entries = self.recorder.sql(
            f"SELECT {self._position}, originator_id, {_as_text(self._postgres)}, "
            f"originator_version, topic, state FROM {{events}} WHERE {self._position} > ? "
            f"ORDER BY {self._position} LIMIT ?"
        )

    def tracking_recorder(self) -> SQLiteTrackingRecorder | PostgresTrackingRecorder:
        """A tracking recorder in the log's own database, on the application's connections."""
        recorder = self._app.factory.tracking_recorder()
        assert isinstance(recorder, SQLiteTrackingRecorder | PostgresTrackingRecorder)
        return recorder

    @property
    def acting_login(self) -> str | None:
        """The PostgreSQL login the events written must name as their actor; None for the
        ledger's owner, and on SQLite, who may name anyone (ledger/store/identity.py)."""
        return self.recorder.acting_login

    @property
    def creates_tables(self) -> bool:
        """Whether this user makes the ledger's tables, the read models' included: its owner
        (and anyone on SQLite), not a writer's PostgreSQL login."""
        return self.acting_login is None

    # Positions and events

    def refresh_statistics(self) -> None:
        """Refresh the database's statistics of the log's tables (see the recorders)."""
        self.recorder.refresh_statistics()

    def last_position(self) -> int:
        """The position of the last event; 0 for an empty log."""
        return self.recorder.max_notification_id() or 0

    def on_replica(self) -> bool:
        """Whether the log is read from a PostgreSQL hot standby, which holds the primary's
        log only as far as it has replayed it."""
        if not self._postgres:
            return False
        rows = self._rows("SELECT pg_is_in_recovery() AS replica", ())
        return bool(rows[0]["replica"])

    def notifications_after(self, position: int, limit: int) -> list[Notification]:
        """Up to `limit` stored events past a position, in log order, as stored: what the
        library's `select_notifications` gives, read from PostgreSQL in its binary format,
        several times faster than in text (each state's bytes are sent as they are, not
        in hex)."""
        # Without an end: PostgreSQL's plan for one is several times slower; a reader that
        # wants to stop leaves out what it reads past its end.
        statement = self.recorder.sql(
            f"SELECT {self._position}, originator_id, originator_version, topic, state "
            f"FROM {{events}} WHERE {self._position} > ? ORDER BY {self._position} LIMIT ?"
        )
        if isinstance(self.recorder, GuardedPostgresRecorder):
            with (
                self.recorder.datastore.get_connection() as conn,
                conn.cursor(binary=True, row_factory=tuple_row) as cursor,
            ):
                cursor.execute(statement, (position, limit), prepare=True)
                rows: list[Any] = cursor.fetchall()
        else:
            rows = self._rows(statement, (position, limit))
        uuid = self._uuid
        return [Notification(uuid(o), v, t, s, i) for i, o, v, t, s in rows]

    def events_after(self, position: int, limit: int) -> list[tuple[int, Any]]:
        """Up to `limit` events past a position, decoded, each with its position."""
        return [
            (n.id, self._mapper.to_domain_event(n))
            for n in self.notifications_after(position, limit)
        ]

    def entries_after(self, position: int, limit: int) -> list[Entry]:
        """Up to `limit` events past a position, in log order, each decoded into the event
        the library's mapper would give, without the stored event the mapper is given and
        without its object hook per value: the read models' path (bench/catch_up.py). An
        event the mapper would have to do more for (a cipher, compression, a class version
        to upcast) is left to the mapper."""
        if isinstance(self.recorder, GuardedPostgresRecorder):
            with (
                self.recorder.datastore.get_connection() as conn,
                conn.cursor(binary=True, row_factory=tuple_row) as cursor,
            ):
                cursor.execute(self._entries, (position, limit), prepare=True)
                rows: list[Any] = cursor.fetchall()
        else:
            with self.recorder.datastore.transaction(commit=False) as cursor:
                cursor.execute(self._entries, (position, limit))
                rows = cursor.fetchall()
        mapper, classes, fields_of = self._mapper, self._classes, self._fields
        direct = mapper.cipher is None and mapper.compressor is None
        new, entries = object.__new__, []
        for i, o, text, v, topic, state in rows:
            cls = classes.get(topic)
            if cls is None:
                cls = classes[topic] = resolve_topic(topic)
            if direct and getattr(cls, "class_version", 1) == 1:
                fields = fields_of(state)
                if "class_version" not in fields:
                    fields["originator_id"] = o if self._postgres else UUID(int=int(o, 16))
                    fields["originator_version"] = v
                    event = new(cls)
                    object.__setattr__(event, "__dict__", fields)
                    entries.append(Entry(i, text, event))
                    continue
            stored = Notification(self._uuid(o), v, topic, bytes(state), i)
            entries.append(Entry(i, text, mapper.to_domain_event(stored)))
        return entries

    def _fields(self, state: bytes) -> Any:
        """An event's state as the transcoder decodes it: each value of a registered type
        given straight to its transcoding, not through the library's object hook, for the
        values the ledger's events hold (see ledger/store/codec.py); anything else, by the
        transcoder."""
        try:
            value = orjson.loads(state)
            if type(value) is not dict or _typed(value):
                raise _Unusual
            return _revive(value, self._decoders)
        except (orjson.JSONDecodeError, _Unusual):
            return self._mapper.transcoder.decode(state)

    def events_of_kind(self, kind: type[Any]) -> list[tuple[int, Any]]:
        """Every event of one kind, decoded, with its position, in log order."""
        return [
            (position, self._mapper.to_domain_event(stored))
            for position, stored in self.recorder.events_of_topic(get_topic(kind))
        ]

    def events_of(self, ids: Sequence[UUID], first_only: bool = False) -> list[Recorded]:
        """The events of these aggregates (only their first, with `first_only`), in log
        order."""
        first = " AND e.originator_version = 1" if first_only else ""
        keys = [i if self._postgres else i.hex for i in ids]
        return self._recorded(f"e.originator_id IN ({{}}){first}", keys)

    def events_at(self, positions: Sequence[int]) -> list[Recorded]:
        """The events at these positions, in log order."""
        return self._recorded(f"e.{self._position} IN ({{}})", list(positions))

    def _recorded(self, condition: str, keys: Sequence[object]) -> list[Recorded]:
        """The events meeting `condition`, whose {} takes the placeholders of the keys."""
        position = f"e.{self._position}"
        found: list[Recorded] = []
        for part in _chunks(keys):
            where = condition.format(", ".join("?" * len(part)))
            statement = self.recorder.sql(
                f"SELECT {position} AS position, e.originator_id, e.originator_version, "
                f"e.topic, e.state, c.recorded_at FROM {{events}} e "
                f"LEFT JOIN {{{CHAIN_TABLE}}} c ON c.position = {position} "
                f"WHERE {where} ORDER BY {position}"
            )
            found += [self._decode(row) for row in self._rows(statement, part)]
        return sorted(found, key=lambda r: r.position)

    def _decode(self, row: Any) -> Recorded:
        stored = StoredEvent(
            originator_id=UUID(str(row["originator_id"])),
            originator_version=int(row["originator_version"]),
            topic=row["topic"],
            state=bytes(row["state"]),
        )
        return Recorded(
            int(row["position"]), row["recorded_at"], self._mapper.to_domain_event(stored)
        )

    # The chain

    def head(self) -> Link | None:
        """The last link written: the one to publish."""
        return self._link(
            f"SELECT {LINK_COLUMNS} FROM {{{CHAIN_TABLE}}} ORDER BY position DESC LIMIT 1", ()
        )

    def link(self, position: int) -> Link | None:
        """The link at exactly this position, if there is one."""
        return self._link(
            f"SELECT {LINK_COLUMNS} FROM {{{CHAIN_TABLE}}} WHERE position = ?", (position,)
        )

    def link_as_of(self, position: int) -> Link | None:
        """The link the log ends with as it stood at a position: the last one at or before
        it, where a position is a gap the database left in the numbering."""
        return self._link(
            f"SELECT {LINK_COLUMNS} FROM {{{CHAIN_TABLE}}} WHERE position <= ? "
            "ORDER BY position DESC LIMIT 1",
            (position,),
        )

    def links(self, end: int, batch: int) -> Iterator[Link]:
        """Every link up to position `end`, in order, read `batch` at a time."""
        statement = self.recorder.sql(
            f"SELECT {LINK_COLUMNS} FROM {{{CHAIN_TABLE}}} "
            "WHERE position > ? AND position <= ? ORDER BY position LIMIT ?"
        )
        after = 0
        while rows := [_link(r) for r in self._rows(statement, (after, end, batch))]:
            yield from rows
            after = rows[-1].position

    def linked_after(self, position: int) -> set[int]:
        """The positions past `position` that have a link."""
        statement = self.recorder.sql(f"SELECT position FROM {{{CHAIN_TABLE}}} WHERE position > ?")
        return {int(r["position"]) for r in self._rows(statement, (position,))}

    def recorded_at(self, positions: Sequence[int]) -> dict[int, str]:
        """When the events at these positions were recorded, from their links; positions
        without a link are left out."""
        found: dict[int, str] = {}
        for part in _chunks(positions):
            statement = self.recorder.sql(
                f"SELECT position, recorded_at FROM {{{CHAIN_TABLE}}} "
                f"WHERE position IN ({', '.join('?' * len(part))})"
            )
            found |= {int(r["position"]): r["recorded_at"] for r in self._rows(statement, part)}
        return found

    def position_recorded_by(self, moment: datetime) -> int:
        """The last position recorded at or before `moment`; 0 if none was."""
        statement = self.recorder.sql(
            f"SELECT MAX(position) AS last FROM {{{CHAIN_TABLE}}} WHERE recorded_at <= ?"
        )
        (row,) = self._rows(statement, (as_recorded(moment),))
        return int(row["last"] or 0)

    def _link(self, text: str, params: Sequence[object]) -> Link | None:
        rows = self._rows(self.recorder.sql(text), params)
        return _link(rows[0]) if rows else None

    def _rows(self, statement: Any, params: Sequence[object]) -> list[Any]:
        with self.recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, params)
            return list(cursor.fetchall())


class _Unusual(Exception):
    """A document the fast reading of `EventLog._fields` leaves to the transcoder."""


def _typed(value: dict[str, Any]) -> bool:
    """Whether a dict is a value of a registered type as the library writes one."""
    return len(value) == 2 and "_type_" in value and "_data_" in value


def _revive(value: Any, decoders: Mapping[str, Callable[[Any], Any]]) -> Any:
    """A dict or list read by orjson, with each value of a registered type decoded, as the
    library's object hook would, innermost first: a registered value is a dict of its
    `_type_` and `_data_` alone, and in the ledger's events its data is text."""
    items = value.items() if type(value) is dict else enumerate(value)
    for key, item in items:
        kind = type(item)
        if kind is dict:
            if _typed(item):
                decoder, data = decoders.get(item["_type_"]), item["_data_"]
                if decoder is None or type(data) is not str:
                    raise _Unusual  # an unregistered type, or data to revive first
                value[key] = decoder(data)
            else:
                _revive(item, decoders)
        elif kind is list:
            _revive(item, decoders)
        elif kind is float:
            raise _Unusual  # maybe an int beyond 64 bits, which orjson reads as a float
    return value


def _as_text(postgres: bool) -> str:
    """SQL for an originator id as text, as `str` of its UUID writes it: SQLite's events
    table holds it in hex, without the hyphens."""
    if postgres:
        return "originator_id::text"
    parts = ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
    return " || '-' || ".join(f"substr(originator_id, {a}, {n})" for a, n in parts)


def _link(row: Any) -> Link:
    return Link(int(row["position"]), row["recorded_at"], row["hash"])


def _chunks(keys: Sequence[Any]) -> Iterator[Sequence[Any]]:
    """Keys a few hundred at a time, for a statement with one placeholder each."""
    for start in range(0, len(keys), IDS_PER_QUERY):
        yield keys[start : start + IDS_PER_QUERY]
