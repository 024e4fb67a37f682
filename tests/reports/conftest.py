"""Books with a period recorded for the documents: closed, or with units of one name in two
counties."""

import pytest
from statement_books import record_period, record_twin_units

from ledger.application.books import Books


@pytest.fixture
def closed(books: Books) -> Books:
    record_period(books)
    return books


@pytest.fixture
def twins(books: Books) -> Books:
    record_twin_units(books)
    return books
