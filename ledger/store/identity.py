"""Who wrote an event, as PostgreSQL vouches for it: the database login is the actor.

On PostgreSQL each event's recorded actor must be the role that inserts it (`current_user`),
checked by the database itself in a trigger on the events table, so no client, whatever it
sends, writes in another person's name. The owner of the ledger's schema (and a superuser)
is exempt: it can alter the tables anyway. The HTTP service, whose login is a member of each
person's role, writes as that person with SET ROLE (`writing_as`). A writer's login is a
member of the ledger's writer group, which may read the ledger and append to it, and
change nothing written (`writer_privileges`). On SQLite there are no logins: the file's
permissions protect it (docs/roles.md).
"""

import hashlib
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import psycopg
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg import Connection
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from domain.duties import POLICY
from domain.errors import LedgerError
from ledger.store import service

FORGED = "the actor of an event must be the database login that writes it"
NAME_LENGTH = 63
"""PostgreSQL's longest identifier; a longer one would be cut short, silently."""


def writer_group(database: str, schema: str) -> str:
    """The group role of this ledger's writers: per database and schema, roles being
    shared by the server's databases."""
    name = f"ledger_writer_{database}_{schema}"
    if len(name) <= NAME_LENGTH:
        return name
    return f"{name[: NAME_LENGTH - 9]}_{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def lock_function(schema: str, table: str) -> Identifier:
    """The function that takes the events table's write lock (see identity_statements)."""
    return Identifier(schema, f"{table}_lock")


def identity_statements(schema: str, table: str) -> list[Composed]:
    """Made once with the tables (not replaced at each start-up, which would race other
    processes starting): the trigger refusing an event whose actor is not its writer, for
    INSERT and COPY alike; and the write lock as a function of the owner's, for LOCK TABLE
    in EXCLUSIVE MODE needs a privilege to delete (UPDATE, DELETE or TRUNCATE) that no
    writer is given. The policy's own decisions (actor `policy`) follow, in the same
    aggregate, the event of the writer whose import they decide (docs/roles.md). The
    trigger's WHEN passes the table's owner by (an owner's bulk load would otherwise run
    the function for each row, some 10 µs each); the function checks the schema's owner
    now, for one made owner since."""
    qualified = Identifier(schema, table).as_string(None)
    check = Identifier(schema, f"{table}_actor_is_login").as_string(None)
    lock = lock_function(schema, table).as_string(None)
    actor = "convert_from({0}.state, 'UTF8')::jsonb ->> 'actor'"
    return [
        SQL(
            f"""DO $do$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = '{table}_actor_is_login'
                       AND tgrelid = '{qualified}'::regclass) THEN
            CREATE OR REPLACE FUNCTION {check}() RETURNS trigger LANGUAGE plpgsql AS $f$
            DECLARE actor text;
            BEGIN
                IF pg_has_role(current_user, (SELECT nspowner FROM pg_namespace
                                              WHERE nspname = TG_TABLE_SCHEMA), 'MEMBER') THEN
                    RETURN NEW;
                END IF;
                actor := {actor.format("NEW")};
                IF actor = current_user::text OR (actor = '{POLICY}' AND EXISTS (
                    SELECT 1 FROM {qualified} e WHERE e.originator_id = NEW.originator_id
                    AND e.originator_version = NEW.originator_version - 1
                    AND {actor.format("e")} = current_user::text)) THEN
                    RETURN NEW;
                END IF;
                RAISE EXCEPTION '{FORGED}: % may not record an event as %',
                    current_user, coalesce(actor, 'nobody (it names no actor)');
            END $f$;
            EXECUTE format('CREATE TRIGGER {table}_actor_is_login BEFORE INSERT
                ON {qualified} FOR EACH ROW
                WHEN (NOT pg_has_role(current_user, %s::oid, ''MEMBER''))
                EXECUTE FUNCTION {check}()',
                (SELECT relowner FROM pg_class WHERE oid = '{qualified}'::regclass));
        END IF;
        IF to_regprocedure('{lock}()') IS NULL THEN
            CREATE FUNCTION {lock}() RETURNS void LANGUAGE plpgsql SECURITY DEFINER
                SET search_path = pg_catalog AS $f$
            BEGIN LOCK TABLE {qualified} IN EXCLUSIVE MODE; END $f$;
            REVOKE ALL ON FUNCTION {lock}() FROM PUBLIC;
        END IF;
    END $do$"""
        ).format()
    ]


def acting_login(conn: Connection[DictRow], schema: str) -> str | None:
    """The login this connection's events must name as their actor: its `current_user`, if
    it writes this ledger as one of its writers. None for the owner of the ledger's schema
    (or a member of it), who may name anyone; likewise where the schema is not made yet
    (whoever makes it owns it); and for a login that may not write here at all (a reader),
    which the database refuses whatever it names."""
    row = conn.execute(
        "SELECT current_user AS login, COALESCE((SELECT pg_has_role(current_user, nspowner, "
        "'MEMBER') FROM pg_namespace WHERE nspname = %s), true) AS owns",
        (schema,),
    ).fetchone()
    assert row is not None
    login = str(row["login"])
    return None if row["owns"] or not _is_writer(conn, schema, login) else login


def writer_privileges(
    conn: Connection[DictRow], schema: str, events: str, appended: Collection[str], login: str
) -> None:
    """Let `login` write this ledger as itself: the login (created if missing, with no
    password) joins the ledger's writer group, which may read every table but the service's,
    append to the log and what is kept beside it, change the read models and their tracking,
    and take the write lock; nothing that changes or deletes what is `appended` (the events,
    their links, closed periods, refusals). Run by the owner; again after an upgrade that
    adds read models."""
    group = writer_group(_database(conn), schema)
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p')",
        (schema,),
    ).fetchall()
    tables = {str(r["relname"]) for r in rows} - {service.TOKENS, service.REQUESTS}
    kept = tables & set(appended)
    names = {"schema": Identifier(schema), "group": Identifier(group)}
    with conn.transaction():
        for role, kind in ((group, "NOLOGIN"), (login, "LOGIN")):
            if not _exists(conn, role):
                conn.execute(SQL(f"CREATE ROLE {{}} {kind}").format(Identifier(role)))
        conn.execute(SQL("GRANT USAGE ON SCHEMA {schema} TO {group}").format(**names))
        for table in sorted(tables):
            privileges = "SELECT, INSERT" if table in kept else "SELECT, INSERT, UPDATE, DELETE"
            conn.execute(
                SQL(f"GRANT {privileges} ON {{table}} TO {{group}}").format(
                    table=Identifier(schema, table), **names
                )
            )
        conn.execute(
            SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {group}").format(**names)
        )
        conn.execute(
            SQL("GRANT EXECUTE ON FUNCTION {lock}() TO {group}").format(
                lock=lock_function(schema, events), **names
            )
        )
        conn.execute(SQL("GRANT {group} TO {login}").format(login=Identifier(login), **names))


def revoke_writer(conn: Connection[DictRow], schema: str, login: str) -> None:
    """Take `login` out of the ledger's writer group, if it is in it; the login stays (it
    may write other ledgers)."""
    if _is_writer(conn, schema, login):
        group = writer_group(_database(conn), schema)
        conn.execute(SQL("REVOKE {} FROM {}").format(Identifier(group), Identifier(login)))


def _database(conn: Connection[DictRow]) -> str:
    row = conn.execute("SELECT current_database() AS name").fetchone()
    assert row is not None
    return str(row["name"])


def _is_writer(conn: Connection[DictRow], schema: str, login: str) -> bool:
    """Whether `login` is in this ledger's writer group."""
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_roles u, pg_roles g WHERE u.rolname = %s "
        "AND g.rolname = %s AND pg_has_role(u.oid, g.oid, 'MEMBER')) AS writes",
        (login, writer_group(_database(conn), schema)),
    ).fetchone()
    return row is not None and bool(row["writes"])


def _exists(conn: Connection[DictRow], role: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is not None


_acting: ContextVar[str | None] = ContextVar("acting", default=None)
"""The role this thread's writes are made as, within `writing_as`."""


@contextmanager
def writing_as(datastore: SQLiteDatastore | PostgresDatastore, user: str) -> Iterator[None]:
    """Within the block, each connection this thread takes from the datastore's pool is
    SET ROLE `user` while it has it, and RESET ROLE before it goes back (or closed, if it
    cannot be reset), so the database checks and records `user` and no later borrower
    inherits the role; other threads (the service's logins, its answers) go on as the
    pool's own login. A `user` who is no writer of this ledger (no login granted with
    `ledger users grant --login`) is written for as the pool's own login, which the
    database accepts only from the ledger's owner. SQLite: no roles, as it is."""
    if not isinstance(datastore, PostgresDatastore):
        yield
        return
    with datastore.get_connection() as conn:
        writes = _is_writer(conn, datastore.schema, user)
    if not writes:
        yield
        return
    plain = datastore.get_connection

    @contextmanager
    def as_user() -> Iterator[Connection[DictRow]]:
        with plain() as conn:
            role = _acting.get()
            if role is None:
                yield conn
                return
            try:
                conn.execute(SQL("SET ROLE {}").format(Identifier(role)))
            except psycopg.errors.InsufficientPrivilege:
                raise LedgerError(
                    f"the service may not write as {role}: its login is not a member of that "
                    f"database role (GRANT {role} TO the service's login)"
                ) from None
            try:
                yield conn
            finally:
                try:
                    conn.execute("RESET ROLE")
                except psycopg.Error:
                    conn.close()  # the pool drops a closed connection
                    raise

    token = _acting.set(user)
    datastore.get_connection = as_user  # type: ignore[method-assign]
    try:
        yield
    finally:
        del datastore.get_connection
        _acting.reset(token)
