"""On PostgreSQL the database login is the actor: the database refuses an event whose actor
is not the login writing it, however it is written; a writer may append and change nothing;
the service writes as its user by SET ROLE, and no later request inherits it. Real logins,
no mocks."""

import json
import time
from collections.abc import Callable, Iterator
from datetime import date

import psycopg
import pytest
from fastapi.testclient import TestClient
from logins import as_login, without_schema
from psycopg import sql

from domain.errors import DutyRefused
from ledger.application.app import MutualAidLedger
from ledger.application.books import Books
from ledger.application.policies import load_preset
from ledger.service.api import create_app
from ledger.store.config import lock_key
from ledger.store.identity import FORGED
from ledger.store.recorders import GuardedPostgresRecorder
from ledger.store.service import ServiceStore

D = date(2025, 3, 1)
PERIOD_START, PERIOD_END = date(2025, 1, 1), date(2025, 12, 31)


@pytest.fixture
def ledger(postgres_url: str, staff: Callable[[MutualAidLedger], None]) -> Iterator[Books]:
    """A scheme created by the owner (`postgres`, as "admin"), period 1 open."""
    books = Books(postgres_url)
    books.app.create_scheme("Pinghu", "pinghu", {"C1": "Danghu"}, "admin", PERIOD_START)
    staff(books.app)
    books.app.open_period(
        1, PERIOD_START, PERIOD_END, load_preset("pinghu").policy_for(1), "approver", PERIOD_START
    )
    yield books
    books.close()


def writer(books: Books, login: str, *roles: str) -> None:
    """`login` given the ledger's roles and the database's right to write as itself."""
    for role in roles:
        books.app.grant_role(login, role, "admin", PERIOD_START)
    recorder = books.app.recorder
    assert isinstance(recorder, GuardedPostgresRecorder)
    recorder.grant_writer(login)


def schema_of(url: str) -> str:
    return url.rpartition("schema=")[2]


def raw(url: str, login: str) -> psycopg.Connection[tuple[object, ...]]:
    """A plain psycopg connection as `login`, around the ledger entirely."""
    return psycopg.connect(without_schema(as_login(url, login)), autocommit=True)


def events(url: str) -> int:
    with psycopg.connect(without_schema(url)) as conn:
        row = conn.execute(
            sql.SQL("SELECT count(*) FROM {} WHERE topic NOT LIKE '%:Refusal.Recorded'").format(
                sql.Identifier(schema_of(url), "ledger_events")
            )
        ).fetchone()
    assert row is not None
    return int(str(row[0]))


def last_event(url: str) -> tuple[object, ...]:
    """originator_id, originator_version, topic, state of the last event."""
    with psycopg.connect(without_schema(url)) as conn:
        row = conn.execute(
            sql.SQL(
                "SELECT originator_id, originator_version, topic, state FROM {} "
                "ORDER BY notification_id DESC LIMIT 1"
            ).format(sql.Identifier(schema_of(url), "ledger_events"))
        ).fetchone()
    assert row is not None
    return row


def with_actor(state: object, actor: str | None) -> bytes:
    fields = json.loads(bytes(state))  # type: ignore[arg-type]
    if actor is None:
        del fields["actor"]
    else:
        fields["actor"] = actor
    return json.dumps(fields, separators=(",", ":")).encode()


def test_a_login_writes_as_itself_and_its_events_name_it(
    ledger: Books, postgres_url: str, new_login: Callable[[str], str]
) -> None:
    wang = new_login("wang")
    writer(ledger, wang, "clerk")
    books = Books(as_login(postgres_url, wang), create=False)
    try:
        assert books.log.acting_login == wang
        books.app.enrol("m1", 1, "C1", "U1", None, wang, D)
        books.catch_up()
    finally:
        books.close()
    assert json.loads(bytes(last_event(postgres_url)[3]))["actor"] == wang  # type: ignore[arg-type]


@pytest.mark.parametrize("how", ["insert", "copy"])
def test_the_database_refuses_an_event_whose_actor_is_not_its_writer(
    ledger: Books, postgres_url: str, new_login: Callable[[str], str], how: str
) -> None:
    wang = new_login("wang")
    writer(ledger, wang, "clerk")
    ledger.app.enrol("m1", 1, "C1", "U1", None, "clerk", D)
    originator, version, topic, state = last_event(postgres_url)
    table = sql.Identifier(schema_of(postgres_url), "ledger_events")
    before = events(postgres_url)
    for actor in ("approver", None):
        forged = (originator, int(str(version)) + 1, topic, with_actor(state, actor))
        with raw(postgres_url, wang) as conn, pytest.raises(psycopg.Error, match=FORGED):
            if how == "insert":
                conn.execute(
                    sql.SQL(
                        "INSERT INTO {} (originator_id, originator_version, topic, state) "
                        "VALUES (%s, %s, %s, %s)"
                    ).format(table),
                    forged,
                )
            else:
                copying = "COPY {} (originator_id, originator_version, topic, state) FROM STDIN"
                with conn.cursor().copy(sql.SQL(copying).format(table)) as copy:
                    copy.write_row(forged)
    assert events(postgres_url) == before


def test_the_policy_decides_only_after_its_writer(
    ledger: Books, postgres_url: str, new_login: Callable[[str], str]
) -> None:
    """An event by `policy` follows, in its aggregate, an event of the login writing it
    (an import's submission): else it is refused as any other forged actor."""
    wang = new_login("wang")
    writer(ledger, wang, "clerk")
    table = sql.Identifier(schema_of(postgres_url), "ledger_events")
    insert = sql.SQL(
        "INSERT INTO {} (originator_id, originator_version, topic, state) VALUES (%s, %s, %s, %s)"
    ).format(table)
    ledger.app.enrol("m1", 1, "C1", "U1", None, "clerk", D)
    originator, version, topic, state = last_event(postgres_url)
    after_clerk = (originator, int(str(version)) + 1, topic, with_actor(state, "policy"))
    with raw(postgres_url, wang) as conn:
        with pytest.raises(psycopg.Error, match=FORGED):
            conn.execute(insert, after_clerk)
        conn.execute(insert, (*after_clerk[:3], with_actor(state, wang)))
        conn.execute(
            insert, (originator, int(str(version)) + 2, topic, with_actor(state, "policy"))
        )


def test_a_writer_changes_and_deletes_nothing(
    ledger: Books, postgres_url: str, new_login: Callable[[str], str]
) -> None:
    wang = new_login("wang")
    writer(ledger, wang, "clerk")
    schema = schema_of(postgres_url)
    with raw(postgres_url, wang) as conn:
        columns = {
            "ledger_events": "topic",
            "event_chain": "hash",
            "closed_periods": "period",
            "refused_commands": "reason",
            "service_tokens": "user_name",
        }
        for table, column in columns.items():
            for statement in ("UPDATE {0} SET {1} = {1}", "DELETE FROM {0}", "TRUNCATE {0}"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(
                        sql.SQL(statement).format(
                            sql.Identifier(schema, table), sql.Identifier(column)
                        )
                    )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                sql.SQL("INSERT INTO {} VALUES ('x', %s, %s)").format(
                    sql.Identifier(schema, "service_tokens")
                ),
                (wang, "2025-01-01"),
            )


def test_a_writer_owns_nothing_so_cannot_lift_the_append_only_guards(
    ledger: Books, postgres_url: str, new_login: Callable[[str], str]
) -> None:
    """The owner's rights alone alter a table or its triggers: a writer's login, what
    people and the service run under, cannot disable or drop the guards."""
    wang = new_login("wang")
    writer(ledger, wang, "clerk")
    schema = schema_of(postgres_url)
    events, chain = sql.Identifier(schema, "ledger_events"), sql.Identifier(schema, "event_chain")
    with raw(postgres_url, wang) as conn:
        for statement in (
            sql.SQL("ALTER TABLE {} DISABLE TRIGGER USER").format(events),
            sql.SQL("ALTER TABLE {} DISABLE TRIGGER USER").format(chain),
            sql.SQL("DROP TRIGGER ledger_events_append_only_rows ON {}").format(events),
            sql.SQL("ALTER TABLE {} OWNER TO {}").format(events, sql.Identifier(wang)),
            sql.SQL("DROP TABLE {}").format(chain),
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="must be owner"):
                conn.execute(statement)


def test_a_writer_without_the_role_is_refused_its_duty_and_writes_nothing(
    ledger: Books, postgres_url: str, new_login: Callable[[str], str]
) -> None:
    wang = new_login("wang")
    writer(ledger, wang, "clerk")
    before = events(postgres_url)
    books = Books(as_login(postgres_url, wang), create=False)
    try:
        with pytest.raises(DutyRefused, match=f"{wang} may not close periods"):
            books.close_period(1, wang, D)
        assert [r.actor for r in books.app.refusals()] == [wang]
    finally:
        books.close()
    assert events(postgres_url) == before


def current_users(books: Books) -> set[str]:
    """The role each of the pool's connections is now, taking all of them at once."""
    datastore = books.app.recorder.datastore  # type: ignore[attr-defined]
    pool = datastore.pool
    taken = [pool.getconn() for _ in range(pool.max_size)]
    try:
        return {str(c.execute("SELECT current_user AS u").fetchone()["u"]) for c in taken}
    finally:
        for conn in taken:
            pool.putconn(conn)


def test_the_service_writes_as_its_user_and_the_next_request_starts_afresh(
    ledger: Books, postgres_url: str, new_login: Callable[[str], str]
) -> None:
    """The service runs as the owner (`postgres`) and is a member of every role (a
    superuser); wang and li write through it as themselves. Were wang's role kept on a
    connection, li's write there would be refused by the database."""
    wang, li = new_login("wang"), new_login("li")
    writer(ledger, wang, "clerk")
    writer(ledger, li, "clerk")
    store = ServiceStore(ledger.app.recorder.datastore)  # type: ignore[attr-defined]
    tokens = {user: store.issue_token(user) for user in (wang, li, "clerk")}
    with TestClient(create_app(postgres_url)) as client:
        service = client.app.state.service  # type: ignore[attr-defined]
        for n, user in enumerate([wang, li, "clerk", wang, li]):
            answer = client.post(
                "/enrolments",
                json={
                    "member_id": f"m{n}",
                    "period": 1,
                    "county": "C1",
                    "unit": "U1",
                    "date": "2025-03-01",
                },
                headers={"Authorization": f"Bearer {tokens[user]}", "Idempotency-Key": f"k{n}"},
            )
            assert answer.status_code == 200, answer.text
            assert json.loads(bytes(last_event(postgres_url)[3]))["actor"] == user  # type: ignore[arg-type]
            assert current_users(service.books) == {"postgres"}
        with service.acting(wang) as books, books.app.recorder.datastore.get_connection() as conn:
            assert conn.execute("SELECT current_user AS u").fetchone()["u"] == wang
        assert current_users(service.books) == {"postgres"}


def test_the_service_runs_under_a_login_that_owns_nothing(
    ledger: Books, postgres_url: str, new_login: Callable[[str], str]
) -> None:
    """docs/roles.md's set-up: the service's login reads the ledger, keeps its own tokens and
    answers, and writes only as each user (SET ROLE), owning nothing."""
    wang, service_login = new_login("wang"), new_login("svc")
    writer(ledger, wang, "clerk")
    schema = schema_of(postgres_url)
    with psycopg.connect(without_schema(postgres_url), autocommit=True) as owner:
        names = {"svc": sql.Identifier(service_login), "wang": sql.Identifier(wang)}
        owner.execute(sql.SQL("CREATE ROLE {svc} LOGIN").format(**names))
        owner.execute(sql.SQL("GRANT {wang} TO {svc}").format(**names))
        for table in ("service_tokens", "service_requests"):
            owner.execute(
                sql.SQL("GRANT SELECT, INSERT, UPDATE ON {} TO {svc}").format(
                    sql.Identifier(schema, table), **names
                )
            )
    recorder = ledger.app.recorder
    assert isinstance(recorder, GuardedPostgresRecorder)
    recorder.grant_read_only(service_login)
    token = ServiceStore(recorder.datastore).issue_token(wang)
    with TestClient(create_app(as_login(postgres_url, service_login))) as client:
        body = {"member_id": "m1", "period": 1, "county": "C1", "unit": "U1", "date": "2025-03-01"}
        answer = client.post(
            "/enrolments",
            json=body,
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "k1"},
        )
        assert answer.status_code == 200, answer.text
    assert json.loads(bytes(last_event(postgres_url)[3]))["actor"] == wang  # type: ignore[arg-type]


def test_a_reader_holding_the_opening_turn_stalls_no_writer(
    ledger: Books, postgres_url: str, postgres_server: str, new_login: Callable[[str], str]
) -> None:
    """A writer's login creates nothing, so its open takes no turn: the key of the owner's
    turn, which any reader can hold, holds no writer up."""
    wang = new_login("wang")
    writer(ledger, wang, "clerk")
    with psycopg.connect(postgres_server, autocommit=True) as reader:
        reader.execute(
            "SELECT pg_advisory_lock(hashtext(%s))", (lock_key("opening", schema_of(postgres_url)),)
        )
        started = time.monotonic()
        books = Books(as_login(postgres_url, wang), create=False)
        books.app.enrol("m1", 1, "C1", "U1", None, wang, date(2025, 3, 1))
        books.close()
        assert time.monotonic() - started < 10  # not the 60 s of a turn waited for
