"""Where the ledger is stored: an SQLite file (default) or a PostgreSQL URL."""

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, quote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.sql import SQL, Identifier

from domain.errors import LedgerError

DEFAULT_DB = "ledger.db"
TURN_TIMEOUT_SECONDS = 60
"""How long an open waits for others opening the same PostgreSQL ledger (see taking_turns)."""
URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:(//|$)")
"""What --db takes for a URL rather than a file name (`mysql://...`, `sqlite:///x`)."""
SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
SCHEMA_RULE = "lower-case letters, digits and _, not starting with a digit, at most 63 long"


class ReadOnly(LedgerError):
    def __init__(self) -> None:
        super().__init__("this command records something: run it without --read-only")


def database() -> str:
    return os.environ.get("LEDGER_DB") or DEFAULT_DB


def is_postgres(db: str) -> bool:
    return db.startswith(("postgresql://", "postgres://"))


class NoLedger(LedgerError):
    def __init__(self, db: str) -> None:
        super().__init__(
            f"no ledger at {shown(db)} (create one with `ledger scheme create`, "
            "or `ledger demo` for a simulated one)"
        )


def shown(db: str) -> str:
    """A --db value fit for a message: a PostgreSQL URL without its password."""
    if not is_postgres(db):
        return db
    parts = urlsplit(db)
    if parts.password is None:
        return db
    user = "" if parts.username is None else f"{parts.username}@"
    port = "" if parts.port is None else f":{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}{parts.hostname}{port}"))


def persistence_env(db: str) -> dict[str, str]:
    """Translate a --db value into the eventsourcing library's environment settings.

    A PostgreSQL URL may carry `?schema=NAME` to keep the ledger in its own schema.
    """
    if not is_postgres(db):
        if not db.strip():
            raise LedgerError("--db: an empty database path")
        if URL.match(db):
            raise LedgerError(
                f"--db: a {db.partition(':')[0]}:// URL is not supported: give an SQLite "
                "file's path or a postgresql:// URL"
            )
        if os.path.isdir(db):
            raise LedgerError(f"--db: {db!r} is a directory, not a database file")
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": db,
            "APPLICATION_RECORDER_TOPIC": "ledger.store.recorders:GuardedSQLiteRecorder",
        }
    try:
        parts = urlsplit(db)
    except ValueError as e:
        raise LedgerError(f"--db: not a valid PostgreSQL URL: {e}") from None
    query = parse_qs(parts.query)
    schema = query.pop("schema", [""])[0]
    if schema and not SCHEMA_NAME.fullmatch(schema):
        raise LedgerError(f"--db: schema {schema!r} is not a schema name: {SCHEMA_RULE}")
    url = urlunsplit(parts._replace(query=urlencode(query, doseq=True)))
    try:
        info = conninfo_to_dict(url)
    except Exception as e:  # psycopg raises ProgrammingError for a malformed URL
        raise LedgerError(f"--db: not a valid PostgreSQL URL: {e}") from None
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(info.get("dbname") or info.get("user") or "postgres"),
        "POSTGRES_HOST": str(info.get("host") or "localhost"),
        "POSTGRES_PORT": str(info.get("port") or 5432),
        "POSTGRES_USER": str(info.get("user") or os.environ.get("USER", "postgres")),
        "POSTGRES_PASSWORD": str(info.get("password") or ""),
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_POOL_SIZE": "4",
        "APPLICATION_RECORDER_TOPIC": "ledger.store.recorders:GuardedPostgresRecorder",
        "POSTGRES_CONNECT_TIMEOUT": os.environ.get("LEDGER_CONNECT_TIMEOUT", "5"),
    }


def sqlite_uri(path: str, read_only: bool, create: bool) -> str:
    """How SQLite opens the ledger's file: `mode=ro` for a reader, so that nothing can be
    written; `mode=rw` unless a ledger is being started, so that no file is made.

    A reader who may not write the file's folder, with no write-ahead log beside the file
    (no one has it open), reads it as `immutable`: SQLite could not otherwise read a
    copy in WAL mode handed to an auditor, for want of the shared-memory file it makes."""
    uri = f"file:{quote(os.path.abspath(path))}"
    if create and not read_only:
        return uri
    if not read_only:
        return uri + "?mode=rw"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.access(folder, os.W_OK) and not os.path.exists(path + "-wal"):
        return uri + "?mode=ro&immutable=1"
    return uri + "?mode=ro"


def connect(env: dict[str, str]) -> psycopg.Connection[tuple[object, ...]]:
    """A connection of our own to the ledger's PostgreSQL database, outside the library's pool."""
    return psycopg.connect(
        dbname=env["POSTGRES_DBNAME"],
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"],
        connect_timeout=int(env["POSTGRES_CONNECT_TIMEOUT"]),
        autocommit=True,
    )


def lock_key(purpose: str, schema: str) -> str:
    """Text of one of the PostgreSQL advisory locks of the ledger in `schema` (hashed with
    hashtext): "opening" (see taking_turns), "read-models" (see projections' Database.turn)."""
    return f"mutual-aid-ledger/{purpose}:{schema or 'public'}"


@contextmanager
def taking_turns(db: str, read_only: bool) -> Iterator[None]:
    """Writable opens of one PostgreSQL ledger, one at a time. Each open creates the schema,
    tables, types and triggers if missing, and the library's statements for them race:
    of several processes opening a new ledger at once, all but one failed
    (duplicate key in pg_type). A session advisory lock per schema, released when its
    connection closes, makes them take turns. Readers create nothing and don't wait; nor
    does a login that may create nothing in the ledger's schema (a writer, the service):
    so a reader holding the lock's key stalls only the owner's opens, never the daily
    work."""
    if read_only or not is_postgres(db):
        yield
        return
    env = persistence_env(db)
    with connect(env) as conn:
        found = conn.execute(
            "SELECT has_schema_privilege(current_user, oid, 'CREATE') FROM pg_namespace "
            "WHERE nspname = %s",
            (env["POSTGRES_SCHEMA"] or "public",),
        ).fetchone()
        if found is not None and not found[0]:
            yield
            return
        conn.execute(f"SET lock_timeout = '{TURN_TIMEOUT_SECONDS}s'")
        try:
            conn.execute(
                "SELECT pg_advisory_lock(hashtext(%s))",
                (lock_key("opening", env["POSTGRES_SCHEMA"]),),
            )
        except psycopg.errors.LockNotAvailable:
            raise LedgerError(
                f"--db: another process has been opening this ledger for over "
                f"{TURN_TIMEOUT_SECONDS} s; try again, or look for a process stuck there"
            ) from None
        yield


def require_folder_and_file(path: str, starting: bool, option: str = "--db") -> None:
    """An SQLite store (given by `option`) is a file in an existing folder; only a store
    being started may not exist yet."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise LedgerError(f"{option}: there is no folder {folder} to hold {os.path.basename(path)}")
    if not starting and not os.path.exists(path):
        raise NoLedger(path)


def create_schema(env: dict[str, str]) -> None:
    """The PostgreSQL schema a new ledger is kept in (`?schema=NAME`)."""
    with connect(env) as conn:
        conn.execute(
            SQL("CREATE SCHEMA IF NOT EXISTS {}").format(Identifier(env["POSTGRES_SCHEMA"]))
        )
