"""What the HTTP service keeps beside the event log: its users' API tokens, and the answer
to each write it was asked, under the client's idempotency key.

Neither is a fact of the books, so neither is an event. A token is kept only as its
SHA-256 (a token is 32 random bytes: a slow hash adds nothing to that), and is revoked by
dating it, never by deleting it. A request's key is taken before its command runs, in a
transaction of its own, and its answer written after: a retry finds either the answer, or
the key taken with no answer (the first try was cut off), and then records nothing again.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import IntegrityError
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from ledger.store.dialect import Dialect

TOKENS = "service_tokens"
REQUESTS = "service_requests"


def create_tables(dialect: Dialect) -> list[Any]:
    """Created with the event store's own tables (ledger/store/recorders.py), once."""
    return [
        dialect.sql(
            f"CREATE TABLE IF NOT EXISTS {{{TOKENS}}} (token_hash text PRIMARY KEY, "
            "user_name text NOT NULL, issued_at text NOT NULL, revoked_at text)"
        ),
        dialect.sql(
            f"CREATE TABLE IF NOT EXISTS {{{REQUESTS}}} (user_name text NOT NULL, "
            "idempotency_key text NOT NULL, request_hash text NOT NULL, taken_at text NOT NULL, "
            "status integer, answer text, PRIMARY KEY (user_name, idempotency_key))"
        ),
    ]


def _hashed(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True)
class Answer:
    """A write's answer as first given: its HTTP status and JSON body. `status` None: the
    key was taken, and its request never answered."""

    request_hash: str
    status: int | None
    body: str | None


class ServiceStore:
    def __init__(self, datastore: SQLiteDatastore | PostgresDatastore) -> None:
        self.datastore = datastore
        sql = Dialect.of(datastore).sql
        self._issue = sql(
            f"INSERT INTO {{{TOKENS}}} (token_hash, user_name, issued_at) VALUES (?, ?, ?)"
        )
        self._user = sql(
            f"SELECT user_name FROM {{{TOKENS}}} WHERE token_hash = ? AND revoked_at IS NULL"
        )
        self._live = sql(
            f"SELECT count(*) AS live FROM {{{TOKENS}}} WHERE user_name = ? AND revoked_at IS NULL"
        )
        self._any = sql(f"SELECT 1 FROM {{{TOKENS}}} WHERE revoked_at IS NULL LIMIT 1")
        self._revoke = sql(
            f"UPDATE {{{TOKENS}}} SET revoked_at = ? WHERE user_name = ? AND revoked_at IS NULL"
        )
        self._take = sql(
            f"INSERT INTO {{{REQUESTS}}} (user_name, idempotency_key, request_hash, taken_at) "
            "VALUES (?, ?, ?, ?)"
        )
        self._answer = sql(
            f"UPDATE {{{REQUESTS}}} SET status = ?, answer = ? "
            "WHERE user_name = ? AND idempotency_key = ?"
        )
        self._answered = sql(
            f"SELECT request_hash, status, answer FROM {{{REQUESTS}}} "
            "WHERE user_name = ? AND idempotency_key = ?"
        )

    def issue_token(self, user: str) -> str:
        """A new token for `user`, given once: only its hash is kept."""
        token = secrets.token_urlsafe(32)
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(self._issue, (_hashed(token), user, _now()))
        return token

    def has_tokens(self) -> bool:
        """Whether any token is live: a service with none can be logged in to by nobody."""
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(self._any)
            return cursor.fetchone() is not None

    def user_of(self, token: str) -> str | None:
        """Whose token this is; None if no such token, or it was revoked."""
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(self._user, (_hashed(token),))
            row = cursor.fetchone()
        return None if row is None else str(row["user_name"])

    def revoke_tokens(self, user: str) -> int:
        """Revoke every token of `user`; how many were live."""
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(self._live, (user,))
            row = cursor.fetchone()
            cursor.execute(self._revoke, (_now(), user))
        return int(row["live"]) if row else 0

    def take_key(self, user: str, key: str, request_hash: str) -> Answer | None:
        """Take `key` for a new request; if it was taken before, what it answered then."""
        try:
            with self.datastore.transaction(commit=True) as cursor:
                cursor.execute(self._take, (user, key, request_hash, _now()))
            return None
        except IntegrityError:
            with self.datastore.transaction(commit=False) as cursor:
                cursor.execute(self._answered, (user, key))
                row = cursor.fetchone()
            assert row is not None  # a key once taken is never given back
            return Answer(row["request_hash"], row["status"], row["answer"])

    def keep_answer(self, user: str, key: str, status: int, body: str) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(self._answer, (status, body, user, key))
