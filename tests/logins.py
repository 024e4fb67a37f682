"""Reaching a PostgreSQL ledger under a login of a test's own (see conftest's new_login)."""

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


def as_login(url: str, login: str) -> str:
    """The ledger at `url`, reached under another (password-less) login."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{login}@{host}"))


def without_schema(url: str) -> str:
    """A ledger's URL as psycopg takes it: its `schema=` left out, the rest (a socket's
    `host=`) kept."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "schema"]
    return urlunsplit(parts._replace(query=urlencode(query)))
