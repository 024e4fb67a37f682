"""Refused commands, kept beside the event log and not in it.

A refused command changed nothing, so it is no fact of the books and makes no event; but
who tried what is worth keeping. Each refusal is one row of the plain table
`refused_commands`, in the events' database, written in a transaction of its own.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg.sql import SQL, Composed, Identifier

from domain.errors import DutyRefused

TABLE = "refused_commands"
COLUMNS = "at text NOT NULL, actor text NOT NULL, command text NOT NULL, reason text NOT NULL"


@dataclass(frozen=True)
class Refusal:
    at: str
    """When, in UTC (ISO 8601)."""
    actor: str
    command: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"at": self.at, "actor": self.actor, "command": self.command, "reason": self.reason}


def create_table_sqlite() -> str:
    """Created with the event store's own tables (ledger/store/recorders.py), once."""
    return f"CREATE TABLE IF NOT EXISTS {TABLE} (id INTEGER PRIMARY KEY AUTOINCREMENT, {COLUMNS})"


def create_table_postgres(schema: str) -> Composed:
    return SQL(
        f"CREATE TABLE IF NOT EXISTS {{}} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
        f"{COLUMNS})"
    ).format(Identifier(schema, TABLE))


class Refusals:
    def __init__(self, datastore: SQLiteDatastore | PostgresDatastore) -> None:
        self.datastore = datastore
        self.insert: Any
        self.select: Any
        if isinstance(datastore, PostgresDatastore):
            table = Identifier(datastore.schema, TABLE)
            self.insert = SQL(
                "INSERT INTO {} (at, actor, command, reason) VALUES (%s, %s, %s, %s)"
            ).format(table)
            self.select = SQL("SELECT at, actor, command, reason FROM {} ORDER BY id").format(table)
        else:
            self.insert = f"INSERT INTO {TABLE} (at, actor, command, reason) VALUES (?, ?, ?, ?)"
            self.select = f"SELECT at, actor, command, reason FROM {TABLE} ORDER BY id"

    def record(self, refused: DutyRefused) -> None:
        at = datetime.now(UTC).isoformat()
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(self.insert, (at, refused.user, refused.command, str(refused)))

    def all(self) -> list[Refusal]:
        """Every refusal, oldest first."""
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(self.select)
            rows = cursor.fetchall()
        return [Refusal(r["at"], r["actor"], r["command"], r["reason"]) for r in rows]
