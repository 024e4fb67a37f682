"""The province: the register of the city funds it oversees, and its witness of their logs.

Each city's fund is its own ledger (its own store, scheme, chain and digest); the province
keeps, in a log of its own, where each city's ledger is and the digests of each city's log
it has witnessed. A city that rewrote its history and recomputed its chain no longer
matches a digest the province holds.
"""

import re
from dataclasses import dataclass, replace
from datetime import date
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict, FieldError, NotFound
from domain.scheme import NAMESPACE
from domain.text import identifier, plain_text

CITY_CODE = re.compile(r"[A-Z][A-Z0-9]{1,9}")
"""A city's code as a province writes it: ZS (舟山), TZ, LS: capitals and digits."""
DIGEST = re.compile(r"[0-9a-f]{64}")
WITNESSED_ON = ("close", "payouts", "statement", "witness")
"""What a city did when the province witnessed its digest (`witness`: the province asked)."""


class UnknownCity(NotFound):
    def __init__(self, code: str, known: list[str]) -> None:
        self.code = code
        listed = ", ".join(known) or "none yet: add one with `ledger cities add`"
        super().__init__(f"unknown city {code!r}: the register has {listed}")


@dataclass(frozen=True)
class City:
    code: str
    name: str
    db: str
    """Where the city's ledger is: an SQLite file or a postgresql:// URL (its own server,
    database or schema)."""
    added_on: date


@dataclass(frozen=True)
class Witnessed:
    """A city's log as the province saw it: its digest at a position, and on what."""

    city: str
    position: int
    digest: str
    on: str
    effective_date: date


def city_code(code: str) -> str:
    identifier(code, "city")
    if not CITY_CODE.fullmatch(code):
        raise FieldError(
            f"city {code!r}", "city", "a city's code is 2 to 10 capitals and digits: ZS, TZ"
        )
    return code


class Province(Aggregate):
    @staticmethod
    def create_id(**_: Any) -> UUID:
        return uuid5(NAMESPACE, "province")

    class Created(Aggregate.Created):
        name: str
        actor: str
        effective_date: date

    @classmethod
    def create(cls, name: str, actor: str, effective_date: date) -> "Province":
        return cls._create(
            cls.Created,
            name=plain_text(name.strip(), "name") or "province",
            actor=actor,
            effective_date=effective_date,
        )

    def __init__(self, name: str, actor: str, effective_date: date) -> None:
        self.name = name
        self.cities: dict[str, City] = {}
        self.witnessed: list[Witnessed] = []

    def city(self, code: str) -> City:
        try:
            return self.cities[code]
        except KeyError:
            raise UnknownCity(code, sorted(self.cities)) from None

    def add_city(self, code: str, name: str, db: str, actor: str, effective_date: date) -> None:
        """Register a city's fund under a code of its own, at a store no other city has."""
        code = city_code(code)
        if code in self.cities:
            raise Conflict(f"city {code!r} is in the register already: {self.cities[code].name}")
        self._require_free(code, db)
        name = plain_text(name.strip(), "name")
        if not name:
            raise FieldError(f"city {code!r}", "name", "a city needs its name")
        self._city_added(code, name, db, actor, effective_date)

    @event("CityAdded")
    def _city_added(self, code: str, name: str, db: str, actor: str, effective_date: date) -> None:
        self.cities[code] = City(code, name, db, effective_date)

    def move_city(self, code: str, db: str, actor: str, effective_date: date) -> None:
        """A city's ledger now at `db` (restored onto another server, say): the same ledger,
        as `audit verify --digest` shows, at a new address."""
        city = self.city(code)
        if db == city.db:
            raise Conflict(f"city {code!r}'s ledger is at {db} already")
        self._require_free(code, db)
        self._city_moved(code, db, actor, effective_date)

    @event("CityMoved")
    def _city_moved(self, code: str, db: str, actor: str, effective_date: date) -> None:
        self.cities[code] = replace(self.cities[code], db=db)

    def _require_free(self, code: str, db: str) -> None:
        if not db.strip():
            raise FieldError(f"city {code!r}", "ledger", "where is its ledger? give --ledger")
        if clash := next((c for c in self.cities.values() if c.db == db), None):
            raise Conflict(f"city {code!r}: {db} is the ledger of city {clash.code!r} already")

    def witness(
        self, city: str, position: int, digest: str, on: str, actor: str, effective_date: date
    ) -> None:
        """Keep a city's digest at a position, as the city's log showed it."""
        self.city(city)
        if on not in WITNESSED_ON:
            raise FieldError(f"city {city!r}", "on", f"{on!r} is none of {WITNESSED_ON}")
        if position < 1 or not DIGEST.fullmatch(digest):
            raise FieldError(f"city {city!r}", "digest", f"{position}:{digest} is no digest")
        self._city_witnessed(city, position, digest, on, actor, effective_date)

    @event("CityWitnessed")
    def _city_witnessed(
        self, city: str, position: int, digest: str, on: str, actor: str, effective_date: date
    ) -> None:
        self.witnessed.append(Witnessed(city, position, digest, on, effective_date))

    def witnessed_of(self, city: str) -> list[Witnessed]:
        return [w for w in self.witnessed if w.city == city]
