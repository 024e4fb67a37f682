"""The event store, with one guard the aggregates cannot give: no posting into a closed period.

A command checks that its period is open, then saves; a close may land in between. So the
check is made again inside the transaction that inserts the events, under the store's write
lock (PostgreSQL: the events table lock the library takes to keep notification ids in
commit order, taken here before the check; SQLite: the database write lock, held from the
insert on). A close records its
period in `closed_periods` in the same way, so the two are serialised: either the posting
commits before the close, or it is refused with PeriodNotOpen.

A member's command decides on the scheme (the actor's role, the period's policy) and saves
only the member; under the same lock the save checks that the scheme is still at the
version decided on (READ_AT), so a role revoked before the command commits refuses it.
"""

from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from domain.errors import LedgerError, PeriodNotOpen
from ledger.store import identity, refusals, service, turns
from ledger.store.chain import CHAIN_TABLE, GENESIS, link, recorded_now
from ledger.store.dialect import Dialect

POSTS_INTO = "posts_into"
"""Keyword of Application.save(): the period (or collection of periods) the saved events
post into."""
CLOSES = "closes"
"""Keyword of Application.save(): the period the saved events close."""
FIGURES_AT = "figures_at"
"""Keyword of Application.save(): the log position the figures the saved events were decided
on (a close's, a leaving county's reserve) were read at; the save is refused (IntegrityError,
to be recomputed) if anything came after."""
SEALS = "seals"
"""Keyword of Application.save(): the last position of the log's unlinked events, which the
save links (as of now) before its own events: the explicit seal of a ledger recorded before
the chain existed. Without it, a save onto a log with unlinked events is refused
(UnlinkedLog)."""
READ_AT = "read_at"
"""Keyword of Application.save(): {aggregate id: version} of aggregates the saved events were
decided on without changing them (the scheme, for a member's command); the save is refused
(IntegrityError, for the command to decide again) if any has moved past that version."""


def _periods(value: int | Iterable[int] | None) -> list[int]:
    if value is None:
        return []
    if isinstance(value, int):
        return [value]
    return sorted(value)


IDS_PER_QUERY = 500
MAX_ROWID = 2**63 - 1
FEW = 50
"""Events a save writes with one INSERT (PostgreSQL); more go by COPY."""
APPEND_ONLY = "the event log is append-only: stored events and their links are never changed"
CLOSED_PERIODS = "closed_periods"

# Statements both recorders run (see Dialect; `{events}` is the recorder's events table)
LAST_LINK = f"SELECT position, hash FROM {{{CHAIN_TABLE}}} ORDER BY position DESC LIMIT 1"
CLOSE = f"INSERT INTO {{{CLOSED_PERIODS}}} VALUES (?)"
IS_CLOSED = f"SELECT 1 FROM {{{CLOSED_PERIODS}}} WHERE period = ?"
MOVED_ON = "SELECT 1 FROM {events} WHERE originator_id = ? AND originator_version > ? LIMIT 1"
LAST_POSITION = "SELECT COALESCE(MAX(notification_id), 0) AS last FROM {events}"
"""PostgreSQL's; SQLite's recorder counts by rowid instead."""
ADD_LINK = f"INSERT INTO {{{CHAIN_TABLE}}} VALUES (?, ?, ?)"
"""SQLite's; PostgreSQL's recorder copies links in."""


class UnlinkedLog(LedgerError):
    """Events past the chain's last link: the chain emptied or cut, or events inserted
    outside the ledger. Nothing is written after them, for a write would chain on as if
    they were sound: an auditor looks first, and an admin seals them explicitly."""

    def __init__(self, linked: int, last: int) -> None:
        self.linked, self.last = linked, last
        if linked == 0:
            found = (
                f"the log's events up to position {last} have no link in the hash chain: its "
                "chain was emptied, or the ledger was recorded before the chain existed"
            )
        else:
            found = (
                f"the hash chain ends at position {linked} but the log at {last}: the events "
                "after it have no link (the chain was cut, or they were inserted outside the "
                "ledger)"
            )
        super().__init__(
            f"{found}. Nothing more is written until an auditor has looked (`ledger "
            "--read-only audit verify`) and an admin has sealed them (`ledger audit seal "
            "--reason TEXT`)"
        )


class NothingToSeal(LedgerError):
    def __init__(self) -> None:
        super().__init__("every event of the log has its link: there is nothing to seal")


def _guard_unlinked(linked: int, last: int, seals: int | None) -> None:
    """Refuse a save onto unlinked events (UnlinkedLog), unless it seals them, exactly those
    as the sealing command found them (IntegrityError, to look again, if more came)."""
    if seals is None:
        if linked != last:
            raise UnlinkedLog(linked, last)
        return
    if linked == last:
        raise NothingToSeal
    if seals != last:
        raise IntegrityError("events were recorded after the unlinked ones were counted")


def _links(
    previous: str, ids: Sequence[int], stored_events: Sequence[StoredEvent]
) -> list[tuple[int, str, str]]:
    """(position, recorded_at, hash) of each new event, chained on from `previous`."""
    at = recorded_now()
    rows = []
    for position, e in zip(ids, stored_events, strict=True):
        previous = link(
            previous, position, at, e.originator_id, e.originator_version, e.topic, e.state
        )
        rows.append((position, at, previous))
    return rows


class _Statements:
    """What both recorders share: statements in the ledger's dialect."""

    dialect: Dialect
    events_table_name: str

    def sql(self, text: str) -> Any:
        """`text` in this recorder's dialect, `{events}` standing for its events table."""
        return self.dialect.sql(text, events=self.events_table_name)


class GuardedSQLiteRecorder(SQLiteApplicationRecorder, _Statements):
    dialect = Dialect(None)

    def unlinked(self) -> tuple[int, int]:
        """(the chain's last position, the log's): equal unless events have no link."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(self.sql(LAST_LINK))
            last = c.fetchone()
            c.execute(self.sql("SELECT COALESCE(MAX(rowid), 0) FROM {events}"))
            return (last["position"] if last else 0), int(c.fetchone()[0])

    @property
    def acting_login(self) -> str | None:
        """None: SQLite has no logins; whoever may open the file may name any actor."""
        return None

    def refresh_statistics(self) -> None:
        """Nothing: SQLite plans without statistics unless ANALYZE was ever run, and this
        ledger never runs it there (a full scan of every table on each bulk load)."""

    def select_events_of(self, ids: Sequence[UUID]) -> list[StoredEvent]:
        """The events of many aggregates, in one query per few hundred: the bulk paths load
        aggregates this way instead of one query each."""
        found: list[StoredEvent] = []
        for start in range(0, len(ids), IDS_PER_QUERY):
            part = [i.hex for i in ids[start : start + IDS_PER_QUERY]]
            with self.datastore.transaction(commit=False) as c:
                c.execute(
                    self.sql(
                        "SELECT originator_id, originator_version, topic, state FROM {events} "
                        f"WHERE originator_id IN ({','.join('?' * len(part))}) "
                        "ORDER BY originator_id, originator_version"
                    ),
                    part,
                )
                found += [StoredEvent(UUID(r[0]), r[1], r[2], r[3]) for r in c.fetchall()]
        return found

    def events_of_topic(self, topic: str) -> list[tuple[int, StoredEvent]]:
        """Every event of one kind with its position, in log order: the few kinds read
        without a read model (refusals, closes)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                self.sql(
                    "SELECT rowid, originator_id, originator_version, topic, state FROM {events} "
                    "WHERE topic = ? ORDER BY rowid"
                ),
                (topic,),
            )
            return [(r[0], StoredEvent(UUID(r[1]), r[2], r[3], r[4])) for r in c.fetchall()]

    def closed_periods(self) -> set[int]:
        """The periods the store's guard refuses postings into."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(self.sql(f"SELECT period FROM {{{CLOSED_PERIODS}}}"))
            return {int(r[0]) for r in c.fetchall()}

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            self.sql(
                f"CREATE TABLE IF NOT EXISTS {{{CLOSED_PERIODS}}} (period INTEGER PRIMARY KEY)"
            ),
            self.sql(
                f"CREATE TABLE IF NOT EXISTS {{{CHAIN_TABLE}}} (position INTEGER PRIMARY KEY, "
                "recorded_at TEXT NOT NULL, hash TEXT NOT NULL)"
            ),
            refusals.create_table(self.dialect),
            *service.create_tables(self.dialect),
            *(
                self.sql(
                    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{action.lower()} BEFORE {action} "
                    f"ON {{{table}}} BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
                )
                for table in (self.events_table_name, CHAIN_TABLE)
                for action in ("UPDATE", "DELETE")
            ),
        ]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        assert ids is not None
        c.execute(self.sql(LAST_LINK))
        last = c.fetchone()
        linked, previous = (last["position"], last["hash"]) if last else (0, GENESIS)
        earlier = "SELECT COALESCE(MAX(rowid), 0) FROM {events} WHERE rowid < ?"
        c.execute(self.sql(earlier), (ids[0] if ids else MAX_ROWID,))
        before = int(c.fetchone()[0])
        if ids:  # a save of no event writes nothing onto the log
            _guard_unlinked(linked, before, kwargs.get(SEALS))
        if ids and before != linked:
            c.execute(
                self.sql(
                    "SELECT rowid, originator_id, originator_version, topic, state FROM {events} "
                    "WHERE rowid > ? AND rowid <= ? ORDER BY rowid"
                ),
                (linked, before),
            )
            rows = [(r[0], StoredEvent(UUID(r[1]), r[2], r[3], r[4])) for r in c.fetchall()]
            sealed = _links(previous, *_columns(rows))
            c.executemany(self.sql(ADD_LINK), sealed)
            previous = sealed[-1][2]
        links = _links(previous, ids, stored_events)
        c.executemany(self.sql(ADD_LINK), links)
        if kwargs.get(FIGURES_AT) is not None:
            c.execute(
                self.sql("SELECT COUNT(*) FROM {events} WHERE rowid > ?"), (kwargs[FIGURES_AT],)
            )
            if c.fetchone()[0] != len(stored_events):
                raise IntegrityError("events were recorded after the figures were read")
        if kwargs.get(CLOSES) is not None:
            c.execute(self.sql(CLOSE), (kwargs[CLOSES],))
        for period in _periods(kwargs.get(POSTS_INTO)):
            c.execute(self.sql(IS_CLOSED), (period,))
            if c.fetchone():
                raise PeriodNotOpen(period)
        for originator_id, version in kwargs.get(READ_AT, {}).items():
            c.execute(self.sql(MOVED_ON), (originator_id.hex, version))
            if c.fetchone():
                raise IntegrityError(f"aggregate {originator_id} changed since it was read")
        return ids


class GuardedPostgresRecorder(PostgresApplicationRecorder, _Statements):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.dialect = Dialect(self.datastore.schema)
        self.sql_create_statements += [
            self.sql(
                f"CREATE TABLE IF NOT EXISTS {{{CLOSED_PERIODS}}} (period integer PRIMARY KEY)"
            ),
            self.sql(
                f"CREATE TABLE IF NOT EXISTS {{{CHAIN_TABLE}}} (position bigint PRIMARY KEY, "
                "recorded_at text NOT NULL, hash text NOT NULL)"
            ),
            refusals.create_table(self.dialect),
            *service.create_tables(self.dialect),
            turns.create_table(self.dialect),
            *(
                _append_only_trigger(self.datastore.schema, table)
                for table in (self.events_table_name, CHAIN_TABLE)
            ),
            *identity.identity_statements(self.datastore.schema, self.events_table_name),
        ]
        self.lock_table_statements = [  # the library's timeout, and its lock by a function
            self.lock_table_statements[0],
            SQL("SELECT {}()").format(
                identity.lock_function(self.datastore.schema, self.events_table_name)
            ),
        ]

    @cached_property
    def acting_login(self) -> str | None:
        """The login the events written on this recorder's connections must name as their
        actor, if it is one of the ledger's writers; None for its owner, who may name anyone,
        and for a login that may write nothing here (ledger/store/identity.py). Asked once:
        the pool's connections all log in alike."""
        with self.datastore.get_connection() as conn:
            return identity.acting_login(conn, self.datastore.schema)

    def create_table(self) -> None:
        """The tables, made by their owner: a writer's login may not, and leaves them be; a
        reader's fails here, as it would at its first write."""
        if self.acting_login is None:
            super().create_table()

    def grant_writer(self, login: str) -> None:
        """Let a login write this ledger, as itself (identity.writer_privileges)."""
        with self.datastore.get_connection() as conn:
            identity.writer_privileges(
                conn,
                self.datastore.schema,
                self.events_table_name,
                (self.events_table_name, CHAIN_TABLE, CLOSED_PERIODS, refusals.TABLE),
                login,
            )

    def revoke_writer(self, login: str) -> None:
        with self.datastore.get_connection() as conn:
            identity.revoke_writer(conn, self.datastore.schema, login)

    def unlinked(self) -> tuple[int, int]:
        """(the chain's last position, the log's): equal unless events have no link."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                self.sql(
                    f"SELECT (SELECT COALESCE(MAX(position), 0) FROM {{{CHAIN_TABLE}}}) AS linked, "
                    "(SELECT COALESCE(MAX(notification_id), 0) FROM {events}) AS last"
                )
            )
            row = curs.fetchone()
        assert row is not None
        return int(row["linked"]), int(row["last"])

    def refresh_statistics(self) -> None:
        """ANALYZE the log's tables: PostgreSQL plans queries by their statistics, which only
        autovacuum refreshes otherwise, and these servers run without it; after a bulk load,
        stale statistics make later plans wrong by orders of magnitude."""
        with self.datastore.get_connection() as conn:
            for table in ("events", CHAIN_TABLE):
                conn.execute(self.sql(f"ANALYZE {{{table}}}"))

    def count_intact_links(self, end: int) -> int | None:
        """How many links up to `end` there are, if each matches its event and follows the
        link before it, else None. The same check as ledger.reports.audit walks in Python, done
        by the server, many times faster: each link is checked against the stored link before it,
        so the links can be checked all at once."""
        head = (
            "convert_to(l.previous || E'\\n' || l.position || E'\\n' || l.recorded_at || E'\\n' "
            "|| e.originator_id::text || E'\\n' || e.originator_version || E'\\n' || e.topic "
            "|| E'\\n', 'UTF8')"
        )
        statement = self.sql(
            "WITH l AS (SELECT position, recorded_at, hash, "
            f"LAG(hash, 1, ?) OVER (ORDER BY position) AS previous FROM {{{CHAIN_TABLE}}} "
            "WHERE position <= ?) "
            "SELECT COUNT(l.position) AS links, COUNT(*) FILTER (WHERE l.position IS NULL "
            "OR e.notification_id IS NULL "
            f"OR l.hash <> encode(sha256({head} || e.state), 'hex')) AS broken "
            "FROM l FULL JOIN (SELECT * FROM {events} WHERE notification_id <= ?) e "
            "ON e.notification_id = l.position"
        )
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, (GENESIS, end, end))
            row = curs.fetchone()
        assert row is not None
        return None if row["broken"] else int(row["links"])

    def grant_read_only(self, role: str) -> None:
        """Let an existing database role read everything of this ledger and change nothing:
        the auditors' and boards' access."""
        schema = Identifier(self.datastore.schema)
        with self.datastore.get_connection() as conn, conn.transaction():
            for statement in (
                "GRANT USAGE ON SCHEMA {schema} TO {role}",
                "GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}",
                "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT ON TABLES TO {role}",
            ):
                conn.execute(SQL(statement).format(schema=schema, role=Identifier(role)))

    def select_events_of(self, ids: Sequence[UUID]) -> list[StoredEvent]:
        """The events of many aggregates, in one query per few hundred ids."""
        found: list[StoredEvent] = []
        statement = self.sql(
            "SELECT originator_id, originator_version, topic, state FROM {events} "
            "WHERE originator_id = ANY(?) ORDER BY originator_id, originator_version"
        )
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

    def events_of_topic(self, topic: str) -> list[tuple[int, StoredEvent]]:
        """Every event of one kind with its position, in log order: the few kinds read
        without a read model (refusals, closes)."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                self.sql(
                    "SELECT notification_id, originator_id, originator_version, topic, state "
                    "FROM {events} WHERE topic = ? ORDER BY notification_id"
                ),
                (topic,),
            )
            return [
                (
                    r["notification_id"],
                    StoredEvent(
                        r["originator_id"], r["originator_version"], r["topic"], bytes(r["state"])
                    ),
                )
                for r in curs.fetchall()
            ]

    def closed_periods(self) -> set[int]:
        """The periods the store's guard refuses postings into."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.sql(f"SELECT period FROM {{{CLOSED_PERIODS}}}"))
            return {int(r["period"]) for r in curs.fetchall()}

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The library's insert, in few round trips, with the events' chain links written in
        the same transaction: the table lock (with the library's NOTIFY) in one go; then,
        under it, one query for all the guards need and for the last position and link;
        then the events and their links, each in one statement (COPY for a batch: psycopg
        dumps an INSERT of many rows slowly, and inside the library's pipeline a large one
        can deadlock). Under the lock no one else inserts, so the new rows are exactly
        those past the last notification id, numbered in the order written."""
        with (
            self.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor() as curs,
        ):
            self._lock_and_notify(curs)
            last, linked, previous = self._guarded_state(curs, kwargs)
            if kwargs.get(CLOSES) is not None:
                curs.execute(self.sql(CLOSE), (kwargs[CLOSES],))
            if not stored_events:
                return None
            sealed = self._sealed(curs, linked, last, previous)
            ids = self._insert_rows(curs, stored_events, last)
            links = sealed + _links(sealed[-1][2] if sealed else previous, ids, stored_events)
            if len(stored_events) <= FEW:
                curs.execute(
                    self.sql(
                        f"INSERT INTO {{{CHAIN_TABLE}}} SELECT * FROM "
                        "unnest(?::bigint[], ?::text[], ?::text[])"
                    ),
                    [list(column) for column in zip(*links, strict=True)],
                )
            else:
                with curs.copy(self.sql(f"COPY {{{CHAIN_TABLE}}} FROM STDIN")) as copy:
                    for link_row in links:
                        copy.write_row(link_row)
            return ids

    def _lock_table(self, curs: Cursor[DictRow]) -> None:
        """The library's lock (its timeout, then the table, through the owner's function that
        writers may call: identity.identity_statements), in one round trip."""
        curs.execute(SQL("; ").join(self.lock_table_statements))

    def _lock_and_notify(self, curs: Cursor[DictRow]) -> None:
        """The lock and the library's NOTIFY (sent at commit), in one round trip."""
        channel = SQL("NOTIFY {0}").format(Identifier(self.channel_name))
        curs.execute(SQL("; ").join([*self.lock_table_statements, channel]))

    def _sealed(
        self, curs: Cursor[DictRow], linked: int, last: int, previous: str
    ) -> list[tuple[int, str, str]]:
        """Links for the unlinked events after `linked`, up to `last`, chained on from
        `previous`: what a sealing save writes before its own (_guard_unlinked let it)."""
        if linked == last:
            return []
        curs.execute(
            self.sql(
                "SELECT notification_id, originator_id, originator_version, topic, state "
                "FROM {events} WHERE notification_id > ? AND notification_id <= ? "
                "ORDER BY notification_id"
            ),
            (linked, last),
        )
        rows = [
            (
                r["notification_id"],
                StoredEvent(
                    r["originator_id"], r["originator_version"], r["topic"], bytes(r["state"])
                ),
            )
            for r in curs.fetchall()
        ]
        return _links(previous, *_columns(rows))

    def _guarded_state(self, curs: Cursor[DictRow], kwargs: dict[str, Any]) -> tuple[int, int, str]:
        """Under the lock, in one query: refuse a save that posts into a closed period
        (PeriodNotOpen), a close whose figures were read before the last event, a save
        decided on an aggregate that has moved on since (IntegrityError), or one onto
        unlinked events (UnlinkedLog); else the last notification id, the last link's
        position and its hash, to go on from."""
        read_at = kwargs.get(READ_AT, {})
        curs.execute(
            self.sql(
                "SELECT (SELECT COALESCE(MAX(notification_id), 0) FROM {events}) AS last, "
                f"(SELECT hash FROM {{{CHAIN_TABLE}}} ORDER BY position DESC LIMIT 1) AS hash, "
                f"(SELECT COALESCE(MAX(position), 0) FROM {{{CHAIN_TABLE}}}) AS linked, "
                f"ARRAY(SELECT period FROM {{{CLOSED_PERIODS}}} WHERE period = ANY(?::int[]) "
                "ORDER BY period) AS closed, "
                "ARRAY(SELECT r.id FROM unnest(?::uuid[], ?::bigint[]) AS r(id, version) "
                "WHERE EXISTS (SELECT 1 FROM {events} e WHERE e.originator_id = r.id "
                "AND e.originator_version > r.version)) AS moved"
            ),
            (_periods(kwargs.get(POSTS_INTO)), list(read_at), list(read_at.values())),
        )
        row = curs.fetchone()
        assert row is not None
        if kwargs.get(FIGURES_AT) is not None and row["last"] != kwargs[FIGURES_AT]:
            raise IntegrityError("events were recorded after the figures were read")
        if row["closed"]:
            raise PeriodNotOpen(row["closed"][0])
        if row["moved"]:
            raise IntegrityError(f"aggregate {row['moved'][0]} changed since it was read")
        _guard_unlinked(int(row["linked"]), int(row["last"]), kwargs.get(SEALS))
        return int(row["last"]), int(row["linked"]), row["hash"] or GENESIS

    def _insert_rows(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], last: int
    ) -> list[int]:
        """The events, in the order given; their notification ids."""
        if len(stored_events) <= FEW:
            curs.execute(
                self.sql(
                    "INSERT INTO {events} (originator_id, originator_version, topic, state) "
                    "SELECT i, v, t, s FROM unnest(?::uuid[], ?::bigint[], ?::text[], "
                    "?::bytea[]) WITH ORDINALITY AS e(i, v, t, s, n) ORDER BY n "
                    "RETURNING notification_id"
                ),
                [
                    [e.originator_id for e in stored_events],
                    [e.originator_version for e in stored_events],
                    [e.topic for e in stored_events],
                    [e.state for e in stored_events],
                ],
            )
            return sorted(row["notification_id"] for row in curs.fetchall())
        copying = "COPY {events} (originator_id, originator_version, topic, state) FROM STDIN"
        with curs.copy(self.sql(copying)) as copy:
            for e in stored_events:
                copy.write_row((e.originator_id, e.originator_version, e.topic, e.state))
        curs.execute(
            self.sql(
                "SELECT notification_id FROM {events} WHERE notification_id > ? "
                "ORDER BY notification_id"
            ),
            (last,),
        )
        return [row["notification_id"] for row in curs.fetchall()]


def _columns(rows: list[tuple[int, StoredEvent]]) -> tuple[list[int], list[StoredEvent]]:
    """The unlinked events a seal links, as positions and events: linked as of now, they are
    as evident from here on as later ones; what happened to them before, the chain cannot
    say, which is why an auditor looks first."""
    return [p for p, _ in rows], [e for _, e in rows]


def _append_only_trigger(schema: str, table: str) -> Composed:
    """A trigger refusing UPDATE, DELETE and TRUNCATE on `table`, created once (not replaced
    at each start-up, which would race other processes starting at the same time)."""
    name = f"{table}_append_only"
    qualified = Identifier(schema, table).as_string(None)
    function = Identifier(schema, name).as_string(None)
    return SQL(
        f"""DO $do$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = '{name}_rows'
                       AND tgrelid = '{qualified}'::regclass) THEN
            CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $f$
            BEGIN RAISE EXCEPTION '{APPEND_ONLY} (% on %)', TG_OP, TG_TABLE_NAME; END $f$;
            CREATE TRIGGER {name}_rows BEFORE UPDATE OR DELETE ON {qualified}
                FOR EACH ROW EXECUTE FUNCTION {function}();
            CREATE TRIGGER {name}_truncate BEFORE TRUNCATE ON {qualified}
                FOR EACH STATEMENT EXECUTE FUNCTION {function}();
        END IF;
    END $do$"""
    ).format()
