"""SQL written once for the ledger's two databases.

A statement is written with `?` for each parameter and `{name}` for each table. For SQLite
it runs as written, each table by its bare name; for PostgreSQL `?` becomes `%s` and each
table is named in the ledger's schema, quoted as an identifier. The store, its readers and
the read models all write their SQL this way. What only PostgreSQL runs (COPY, the
append-only trigger, the server's link check, advisory locks, grants) is written for it
alone, with psycopg's own composition.
"""

from typing import Any

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg.sql import SQL, Identifier


class Dialect:
    def __init__(self, schema: str | None) -> None:
        """`schema`: the PostgreSQL schema the ledger is in; None for SQLite."""
        self.schema = schema

    @classmethod
    def of(cls, datastore: SQLiteDatastore | PostgresDatastore) -> "Dialect":
        return cls(datastore.schema if isinstance(datastore, PostgresDatastore) else None)

    @property
    def postgres(self) -> bool:
        return self.schema is not None

    def table(self, name: str) -> Any:
        """A table as statements of this dialect name it."""
        return name if self.schema is None else Identifier(self.schema, name)

    def sql(self, text: str, **tables: str) -> Any:
        """`text` in this dialect: a `str` for SQLite, a psycopg `Composed` for PostgreSQL.
        `{name}` stands for the table `name`, or for the table a keyword names
        (`{events}` with `events="stored_events"`)."""
        names = {name: self.table(tables.get(name, name)) for name in _table_names(text)}
        if self.schema is None:
            return text.format(**names)
        return SQL(text.replace("?", "%s")).format(**names)


def _table_names(text: str) -> set[str]:
    names, rest = set(), text
    while "{" in rest:
        _, _, rest = rest.partition("{")
        name, _, rest = rest.partition("}")
        names.add(name)
    return names
