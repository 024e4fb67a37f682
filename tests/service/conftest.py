"""A client of the service over each backend's books, and a token for each of their users."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from ledger.application.books import Books
from ledger.service.api import create_app


@pytest.fixture
def client(books: Books, db: str) -> Iterator[TestClient]:
    with TestClient(create_app(db)) as client:
        yield client


@pytest.fixture
def tokens(books: Books) -> dict[str, str]:
    """A token each for admin, clerk, approver and cashier, issued by admin."""
    staff = ("admin", "clerk", "approver", "cashier")
    return {user: books.app.issue_token(user, "admin") for user in staff}
