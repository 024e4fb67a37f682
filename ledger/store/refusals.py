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

from domain.errors import DutyRefused
from ledger.store.dialect import Dialect

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


def create_table(dialect: Dialect) -> Any:
    """Created with the event store's own tables (ledger/store/recorders.py), once."""
    key = (
        "id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
        if dialect.postgres
        else "id INTEGER PRIMARY KEY AUTOINCREMENT"
    )
    return dialect.sql(f"CREATE TABLE IF NOT EXISTS {{{TABLE}}} ({key}, {COLUMNS})")


class Refusals:
    def __init__(self, datastore: SQLiteDatastore | PostgresDatastore) -> None:
        self.datastore = datastore
        dialect = Dialect.of(datastore)
        self.insert = dialect.sql(
            f"INSERT INTO {{{TABLE}}} (at, actor, command, reason) VALUES (?, ?, ?, ?)"
        )
        self.select = dialect.sql(f"SELECT at, actor, command, reason FROM {{{TABLE}}} ORDER BY id")

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
