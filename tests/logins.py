"""Reaching a PostgreSQL ledger under a login of a test's own (see conftest's new_login)."""

from urllib.parse import urlsplit, urlunsplit


def as_login(url: str, login: str) -> str:
    """The ledger at `url`, reached under another (password-less) login."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{login}@{host}"))
