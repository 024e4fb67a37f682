"""A table's digest (projections/projector.py), by which the audit compares a live read model
with its replay: the same rows give the same digest in the ledger's database, on either
backend, as in a scratch SQLite database, whatever order they were written in; any change
of a value gives another."""

from collections.abc import Sequence
from typing import ClassVar

import pytest

import projections.projector as projector
from ledger.application.books import Books
from ledger.store.log import Entry
from projections.projector import Cursor, Database, ReadModel

ROWS = [
    ("a", 1, 2**40, "plain", None),
    ("B", 1, -7, "it's; a, text", "中文"),
    ("a", 2, 0, "", "NULL"),
    ("_", 3, None, "'quoted'", "tab\there"),
    ("中", 4, 12, "%s%Q", "line\nbreak"),
    ("Z", 5, 1, "back\\slash", ""),
]
"""Keys whose byte order is not a dictionary's ("B" and "Z" before "_" and "a"), integers of
both widths and NULL, texts with what the written-out rows are made of."""


class Probe(ReadModel):
    name = "probe"
    tables: ClassVar[dict[str, str]] = {
        "probe": "k TEXT NOT NULL, n INTEGER NOT NULL, b BIGINT, t TEXT NOT NULL, u TEXT, "
        "PRIMARY KEY (k, n)",
        "probe_unkeyed": "k TEXT NOT NULL",
    }

    def apply(self, cursor: Cursor, entries: Sequence[Entry]) -> None:
        raise AssertionError("not applied: its rows are written by the test")


def probe(db: Database, rows: Sequence[tuple[object, ...]]) -> Database:
    db.create(Probe(db))
    with db.transaction(commit=True) as cursor:
        cursor.execute(db.sql("DELETE FROM {probe}"))
        db.insert_many(cursor, "probe", rows)
    return db


def test_the_same_rows_give_the_same_digest_in_either_database(books: Books) -> None:
    live = probe(books.db, ROWS)
    scratch = probe(Database.scratch(), list(reversed(ROWS)))
    digest = live.digest("probe")
    assert digest is not None and digest == scratch.digest("probe")
    assert (digest.columns, digest.key, digest.rows) == (("k", "n", "b", "t", "u"), ("k", "n"), 6)


@pytest.mark.parametrize(
    "changed",
    [
        ("a", 1, 2**40 + 1, "plain", None),
        ("a", 1, 2**40, "plain ", None),
        ("a", 1, 2**40, "plain", ""),
        ("a", 1, None, "plain", None),
        ("a", 3, 2**40, "plain", None),
    ],
)
def test_any_change_of_a_value_gives_another_digest(
    books: Books, changed: tuple[object, ...]
) -> None:
    live = probe(books.db, [changed, *ROWS[1:]])
    assert live.digest("probe") != probe(Database.scratch(), ROWS).digest("probe")


def test_a_column_left_out_is_not_in_the_digest(books: Books) -> None:
    live = probe(books.db, [(*row[:4], "other") for row in ROWS])
    scratch = probe(Database.scratch(), ROWS)
    assert live.digest("probe") != scratch.digest("probe")
    assert live.digest("probe", {"u"}) == scratch.digest("probe", {"u"})
    assert live.digest("probe", {"u"}).columns == ("k", "n", "b", "t")  # type: ignore[union-attr]


def test_bytes_are_not_the_integer_they_spell_in_sqlite() -> None:
    """A SQLite file can hold a value of any type in any column."""
    scratch = probe(Database.scratch(), ROWS)
    ones = scratch.digest("probe")
    with scratch.transaction(commit=True) as cursor:
        cursor.execute("UPDATE probe SET b = CAST('1' AS BLOB) WHERE k = 'Z'")
    assert scratch.digest("probe") != ones


def test_rows_written_out_in_parts_give_the_digest_of_the_whole(
    books: Books, monkeypatch: pytest.MonkeyPatch
) -> None:
    live, scratch = probe(books.db, ROWS), probe(Database.scratch(), ROWS)
    whole = live.digest("probe")
    monkeypatch.setattr(projector, "DIGEST_ROWS", 4)
    assert live.digest("probe") == whole == scratch.digest("probe")
    monkeypatch.setattr(projector, "DIGEST_ROWS", 1)
    assert live.digest("probe") == whole == scratch.digest("probe")


def test_a_table_without_a_key_has_no_digest(books: Books) -> None:
    assert probe(books.db, ROWS).digest("probe_unkeyed") is None
    assert probe(Database.scratch(), ROWS).digest("probe_unkeyed") is None


@pytest.mark.parametrize("db", ["postgres"], indirect=True)
def test_text_keys_are_in_byte_order_whatever_the_collation_of_the_column(books: Books) -> None:
    """A database whose text sorts as a dictionary does ("_", "a", "B", "Z") still writes
    its rows out in the order SQLite keeps them ("B", "Z", "_", "a")."""
    live = books.db
    with live.transaction(commit=True) as cursor:
        cursor.execute(
            live.sql(
                'CREATE TABLE {probe} (k TEXT COLLATE "und-x-icu" NOT NULL, n INTEGER NOT NULL, '
                "b BIGINT, t TEXT NOT NULL, u TEXT, PRIMARY KEY (k, n))"
            )
        )
    live = probe(live, ROWS)
    assert live.digest("probe") == probe(Database.scratch(), ROWS).digest("probe")
