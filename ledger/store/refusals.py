"""Refused commands as the ledger lists them, and those kept before refusals were events.

Each refused duty is now the event `Refusal.Recorded` (domain/refusal.py), chained with
the rest of the log. A ledger that refused commands before that kept them in the plain
table `refused_commands`, one row each: nothing writes there any more, and they are
listed still, before the log's.
"""

from dataclasses import dataclass
from typing import Any

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from ledger.store.dialect import Dialect

TABLE = "refused_commands"
COLUMNS = "at text NOT NULL, actor text NOT NULL, command text NOT NULL, reason text NOT NULL"


@dataclass(frozen=True)
class RefusedCommand:
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


def earlier_refusals(datastore: SQLiteDatastore | PostgresDatastore) -> list[RefusedCommand]:
    """The refusals kept in `refused_commands`, before they were events, oldest first."""
    select = Dialect.of(datastore).sql(
        f"SELECT at, actor, command, reason FROM {{{TABLE}}} ORDER BY id"
    )
    with datastore.transaction(commit=False) as cursor:
        cursor.execute(select)
        rows = cursor.fetchall()
    return [RefusedCommand(r["at"], r["actor"], r["command"], r["reason"]) for r in rows]
