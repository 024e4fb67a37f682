"""The province's register of city funds and its witness of their logs: an application of
its own, in a store of its own (`--province`), chained and append-only as a city's ledger.
The only code that loads and saves the Province aggregate."""

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import PersistenceError

from domain.errors import LedgerError
from domain.province import City, Province, UnknownCity, Witnessed
from ledger.application.app import StoredApplication, retry_on_conflict
from ledger.store.config import (
    NoLedger,
    ReadOnly,
    create_schema,
    is_postgres,
    persistence_env,
    require_folder_and_file,
    shown,
    sqlite_uri,
)
from ledger.store.recorders import GuardedPostgresRecorder, GuardedSQLiteRecorder

DEFAULT_PROVINCE = "province.db"


class NoRegister(LedgerError):
    def __init__(self, db: str) -> None:
        super().__init__(
            f"no register of cities at {shown(db)} (start one with `ledger cities add`, or "
            "give --province)"
        )


def kept_address(db: str) -> str:
    """A city's ledger as the register keeps it, for good: an SQLite file by its absolute
    path (`zs.db` typed in one folder is not another folder's `zs.db`); a PostgreSQL URL as
    given, but never with a password, which a log kept for good could not give up."""
    if not is_postgres(db):
        return os.path.realpath(db)
    if urlsplit(db).password is not None:
        raise LedgerError(
            f"--ledger {shown(db)}: a city's URL is kept for good, so it carries no password: "
            "give the password by a .pgpass file or PGPASSWORD"
        )
    return db


class ProvinceRegister(StoredApplication):
    name = "province"

    def __init__(self, db: str, read_only: bool = False) -> None:
        """Opened to read (`read_only`), there must be a register at `db` already; opened
        to write, one is started there if none is."""
        self.read_only = read_only
        env = persistence_env(db)
        env["CREATE_TABLE"] = "no"
        if is_postgres(db):
            if not read_only and env["POSTGRES_SCHEMA"]:
                create_schema(env)
        else:
            try:
                require_folder_and_file(db, not read_only, "--province")
            except NoLedger:
                raise NoRegister(db) from None
            env["SQLITE_DBNAME"] = sqlite_uri(db, read_only, not read_only)
        super().__init__(env)
        recorder = self.recorder
        assert isinstance(recorder, GuardedSQLiteRecorder | GuardedPostgresRecorder)
        if read_only:
            try:
                recorder.max_notification_id()
            except PersistenceError:
                self.close()
                raise NoRegister(db) from None
        else:
            recorder.create_table()
        self.db = db

    def province(self) -> Province | None:
        try:
            province: Province = self.repository.get(Province.create_id())
        except AggregateNotFoundError:
            return None
        return province

    def cities(self) -> list[City]:
        province = self.province()
        return [] if province is None else sorted(province.cities.values(), key=lambda c: c.code)

    def city(self, code: str) -> City:
        province = self.province()
        if province is None:
            raise UnknownCity(code, [])
        return province.city(code)

    @retry_on_conflict
    def add_city(self, code: str, name: str, db: str, actor: str, on: date) -> None:
        province = self._to_change(actor, on)
        province.add_city(code, name, kept_address(db), actor, on)
        self.save(province)

    @retry_on_conflict
    def move_city(self, code: str, db: str, actor: str, on: date) -> None:
        province = self._to_change(actor, on)
        province.move_city(code, kept_address(db), actor, on)
        self.save(province)

    @retry_on_conflict
    def witness(
        self, city: str, position: int, digest: str, on: str, actor: str, day: date
    ) -> None:
        province = self._to_change(actor, day)
        province.witness(city, position, digest, on, actor, day)
        self.save(province)

    def witnessed_of(self, city: str) -> list[Witnessed]:
        province = self.province()
        return [] if province is None else province.witnessed_of(city)

    def _to_change(self, actor: str, on: date) -> Province:
        if self.read_only:
            raise ReadOnly
        return self.province() or Province.create("province", actor, on)


@contextmanager
def register_to_change(db: str) -> Iterator[ProvinceRegister]:
    """The register, opened to write. An SQLite register this opening started is removed
    again if the change is refused: a refused first `cities add` leaves no empty file."""
    started = not is_postgres(db) and not os.path.exists(db)
    register = ProvinceRegister(db)
    try:
        yield register
    except BaseException:
        register.close()
        if started:
            for path in (db, f"{db}-wal", f"{db}-shm"):
                with suppress(FileNotFoundError):
                    os.remove(path)
        raise
    register.close()


@dataclass(frozen=True)
class Witness:
    """The province a city's published digests are reported to: by its commands run with
    --city, and by its HTTP service (`ledger --city CODE serve`)."""

    province: str
    city: str

    def publish(self, position: int, digest: str, on: str, actor: str, day: date) -> str | None:
        """Record the digest `on` a close, a payout batch or a statement: None once done,
        else why not, in one line. What the city did stands either way, so nothing that
        keeps the register away is raised."""
        try:
            with register_to_change(self.province) as register:
                register.witness(self.city, position, digest, on, actor, day)
        except Exception as e:  # whatever keeps the register away, what the city did stands
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            return f"the province did not witness {self.city} at {position}: {reason}"
        return None
