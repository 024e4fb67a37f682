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
from psycopg.sql import SQL, Identifier

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


class Refusals:
    def __init__(self, datastore: SQLiteDatastore | PostgresDatastore) -> None:
        self.datastore = datastore
        self.create: Any
        self.insert: Any
        self.select: Any
        if isinstance(datastore, PostgresDatastore):
            table = Identifier(datastore.schema, TABLE)
            self.create = SQL(
                "CREATE TABLE IF NOT EXISTS {} (id bigint GENERATED ALWAYS AS IDENTITY "
                f"PRIMARY KEY, {COLUMNS})"
            ).format(table)
            self.insert = SQL(
                "INSERT INTO {} (at, actor, command, reason) VALUES (%s, %s, %s, %s)"
            ).format(table)
            self.select = SQL("SELECT at, actor, command, reason FROM {} ORDER BY id").format(table)
        else:
            self.create = (
                f"CREATE TABLE IF NOT EXISTS {TABLE} (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                f"{COLUMNS})"
            )
            self.insert = f"INSERT INTO {TABLE} (at, actor, command, reason) VALUES (?, ?, ?, ?)"
            self.select = f"SELECT at, actor, command, reason FROM {TABLE} ORDER BY id"

    def create_table(self) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(self.create)

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
