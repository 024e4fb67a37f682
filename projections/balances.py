"""Balances: the double-entry postings of every event, summed per entity and account.

Amounts are stored as integer fen, so sums are exact on both backends. The postings can
be forgotten and rebuilt from the log with identical results.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from domain.money import to_fen
from domain.postings import postings_for
from ledger.store.log import Entry, EventLog
from projections.projector import Cursor, Database, Projector, ReadModel


@dataclass(frozen=True)
class Filters:
    entity: str | None = None
    period: int | None = None
    as_of: date | None = None
    """Postings effective on or before this business date."""
    known_at: int | None = None
    """Postings of events recorded at or before this log position."""
    since: date | None = None
    """Postings effective on or after this business date."""


@dataclass(frozen=True)
class Posted:
    """One stored posting, with the log position of the event that made it."""

    position: int
    seq: int
    event_type: str
    entity: str
    account: str
    period: int
    effective_date: date
    amount_fen: int
    """Debit positive, credit negative."""


def _where(filters: Filters) -> tuple[str, list[object]]:
    where: list[str] = ["1=1"]
    params: list[object] = []
    if filters.entity is not None:
        where.append("entity = ?")
        params.append(filters.entity)
    if filters.period is not None:
        where.append("period = ?")
        params.append(filters.period)
    if filters.as_of is not None:
        where.append("effective_date <= ?")
        params.append(filters.as_of.isoformat())
    if filters.known_at is not None:
        where.append("notification_id <= ?")
        params.append(filters.known_at)
    if filters.since is not None:
        where.append("effective_date >= ?")
        params.append(filters.since.isoformat())
    return " AND ".join(where), params


class Postings(ReadModel):
    name = "balances"
    tables: ClassVar[dict[str, str]] = {
        "postings": "notification_id BIGINT NOT NULL, seq INTEGER NOT NULL, "
        "event_type TEXT NOT NULL, entity TEXT NOT NULL, account TEXT NOT NULL, "
        "period INTEGER NOT NULL, effective_date TEXT NOT NULL, amount_fen BIGINT NOT NULL, "
        "PRIMARY KEY (notification_id, seq)"
    }
    indexes = ("CREATE INDEX IF NOT EXISTS postings_by_account ON {postings} (entity, account)",)

    def apply(self, cursor: Cursor, entries: Sequence[Entry]) -> None:
        rows = [
            (
                position,
                seq,
                type(event).__qualname__,
                p.entity,
                p.account,
                p.period,
                p.effective_date.isoformat(),
                to_fen(p.amount),
            )
            for position, _, event in entries
            for seq, p in enumerate(postings_for(event))
        ]
        self.db.insert_many(cursor, "postings", rows)


class Balances(Projector):
    """The postings read model and its queries."""

    def __init__(self, log: EventLog, db: Database) -> None:
        super().__init__(log, Postings, db)

    def totals(self, filters: Filters = Filters()) -> dict[tuple[str, str], int]:
        """Sum of postings in fen by (entity, account), for the filters given."""
        where, params = _where(filters)
        statement = self.db.sql(
            "SELECT entity, account, SUM(amount_fen) AS total FROM {postings} "
            f"WHERE {where} GROUP BY entity, account"
        )
        with self.db.transaction(commit=False) as cursor:
            cursor.execute(statement, params)
            return {(r["entity"], r["account"]): int(r["total"]) for r in cursor.fetchall()}

    def postings(self, filters: Filters, account: str) -> list[Posted]:
        """The postings to one account that make up its balance under the filters, in log
        order: what `ledger balances --explain` lists."""
        where, params = _where(filters)
        statement = self.db.sql(
            "SELECT notification_id, seq, event_type, entity, account, period, effective_date, "
            f"amount_fen FROM {{postings}} WHERE {where} AND account = ? "
            "ORDER BY notification_id, seq"
        )
        with self.db.transaction(commit=False) as cursor:
            cursor.execute(statement, [*params, account])
            return [
                Posted(
                    int(r["notification_id"]),
                    int(r["seq"]),
                    r["event_type"],
                    r["entity"],
                    r["account"],
                    int(r["period"]),
                    date.fromisoformat(r["effective_date"]),
                    int(r["amount_fen"]),
                )
                for r in cursor.fetchall()
            ]

    def positions(self, filters: Filters) -> list[int]:
        """Log positions of the events that posted under the filters, in log order."""
        where, params = _where(filters)
        statement = self.db.sql(
            f"SELECT DISTINCT notification_id FROM {{postings}} WHERE {where} "
            "ORDER BY notification_id"
        )
        with self.db.transaction(commit=False) as cursor:
            cursor.execute(statement, params)
            return [int(r["notification_id"]) for r in cursor.fetchall()]

    def totals_by_period(self, known_at: int) -> dict[tuple[str, str, int], int]:
        """Sum of the postings of events up to a position, in fen by (entity, account,
        period)."""
        statement = self.db.sql(
            "SELECT entity, account, period, SUM(amount_fen) AS total FROM {postings} "
            "WHERE notification_id <= ? GROUP BY entity, account, period"
        )
        with self.db.transaction(commit=False) as cursor:
            cursor.execute(statement, (known_at,))
            return {
                (r["entity"], r["account"], int(r["period"])): int(r["total"])
                for r in cursor.fetchall()
            }

    def rows(self) -> list[tuple[Any, ...]]:
        """Every posting in log order, for comparing two builds of the read model."""
        with self.db.transaction(commit=False) as cursor:
            cursor.execute(self.db.sql("SELECT * FROM {postings} ORDER BY notification_id, seq"))
            return [tuple(str(v) for v in dict(r).values()) for r in cursor.fetchall()]
