"""One statement, written once, in each database's own SQL."""

from ledger.store.dialect import Dialect

STATEMENT = "SELECT hash FROM {event_chain} JOIN {events} ON position = id WHERE position > ?"


def test_sqlite_runs_the_statement_as_written_with_bare_table_names() -> None:
    assert Dialect(None).sql(STATEMENT, events="stored_events") == (
        "SELECT hash FROM event_chain JOIN stored_events ON position = id WHERE position > ?"
    )


def test_postgresql_names_each_table_in_the_ledger_schema_with_its_own_placeholders() -> None:
    statement = Dialect("city_a").sql(STATEMENT, events="ledger_events")
    assert statement.as_string(None) == (
        'SELECT hash FROM "city_a"."event_chain" JOIN "city_a"."ledger_events" '
        "ON position = id WHERE position > %s"
    )


def test_a_schema_name_is_quoted_as_an_identifier_not_pasted() -> None:
    statement = Dialect('odd"name').sql("SELECT 1 FROM {t}")
    assert statement.as_string(None) == 'SELECT 1 FROM "odd""name"."t"'
