"""The province over its cities: each city's figures for a year side by side, each taken
from the city's own statement at a position of its log (with its digest, to check against
the city's own verify); each city verified, with every digest of it the province
witnessed; and the witnessing itself. A city out of reach fails the whole document: no
total is ever printed short of a city."""

import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import psycopg
from eventsourcing.persistence import PersistenceError

from domain.errors import LedgerError
from domain.money import fmt
from domain.province import City
from ledger.application.books import Books
from ledger.application.province import ProvinceRegister
from ledger.reports.audit import ChainCheck, check_chain, head, problems_of, verify
from ledger.reports.figures import Figures, Provenance, average, period_dict, provenance, total
from ledger.reports.statement import DeficitShare, statement
from ledger.store.log import EventLog
from projections.statements import PeriodKnown

POSITION = re.compile(r"([A-Z][A-Z0-9]{1,9})=([0-9]+)")


def parse_positions(texts: Sequence[str]) -> dict[str, int]:
    """--known-at CITY=POSITION, once per city at most."""
    positions: dict[str, int] = {}
    for text in texts:
        found = POSITION.fullmatch(text.strip())
        if found is None:
            raise LedgerError(f"--known-at: {text!r} is not CITY=POSITION (say ZS=1200)")
        code = found.group(1)
        if code in positions:
            raise LedgerError(f"--known-at: city {code} is given twice")
        positions[code] = int(found.group(2))
    return positions


@contextmanager
def city_books(city: City) -> Iterator[Books]:
    """A city's ledger, opened to read. Out of reach, or failing as it is read (a corrupt
    file), a one-line LedgerError naming the city: the one kind of error a caller meets."""
    try:
        books = Books(city.db, read_only=True, create=False)
    except LedgerError as e:
        raise LedgerError(f"city {city.code}: {e}") from None
    except (*DATABASE_ERRORS, OSError) as e:
        raise LedgerError(f"city {city.code} is out of reach: {_first_line(e)}") from None
    try:
        yield books
    except DATABASE_ERRORS as e:
        raise LedgerError(f"city {city.code} could not be read: {_first_line(e)}") from None
    finally:
        books.close()


DATABASE_ERRORS = (psycopg.Error, sqlite3.Error, PersistenceError)


def _first_line(e: BaseException) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


@dataclass(frozen=True)
class CityColumn:
    """One city's figures for the year, as its own statement gives them for the whole city."""

    code: str
    name: str
    provenance: Provenance
    period: PeriodKnown
    figures: Figures
    deficits: tuple[DeficitShare, ...]
    before: Figures | None
    """The year before, where the city has a period of it."""

    @property
    def reserve_per_member(self) -> Decimal | None:
        return average(self.figures.closing_reserve, self.figures.members)

    def as_dict(self) -> dict[str, Any]:
        return {
            "city": self.code,
            "name": self.name,
            "known_at": self.provenance.as_dict(),
            "period": period_dict(self.period),
            **self.figures.as_dict(),
            "reserve_per_member": _money(self.reserve_per_member),
            "deficits": [d.as_dict() for d in self.deficits],
            "year_before": None if self.before is None else self.before.as_dict(),
        }


@dataclass(frozen=True)
class ProvinceStatement:
    year: int
    cities: tuple[CityColumn, ...]

    @property
    def total(self) -> Figures:
        return total(c.figures for c in self.cities)

    @property
    def by_claims_ratio(self) -> list[CityColumn]:
        """Highest first; a city with no premium income last."""
        return _ranked(self.cities, lambda c: c.figures.claims_ratio)

    @property
    def by_reserve_per_member(self) -> list[CityColumn]:
        """Highest first; a city with no members last."""
        return _ranked(self.cities, lambda c: c.reserve_per_member)

    def as_dict(self) -> dict[str, Any]:
        whole = self.total
        return {
            "year": self.year,
            "cities": [c.as_dict() for c in self.cities],
            "total": {
                **whole.as_dict(),
                "reserve_per_member": _money(average(whole.closing_reserve, whole.members)),
            },
            "ranked_by_claims_ratio": [c.code for c in self.by_claims_ratio],
            "ranked_by_reserve_per_member": [c.code for c in self.by_reserve_per_member],
        }


def _ranked(
    cities: Sequence[CityColumn], by: Callable[[CityColumn], Decimal | None]
) -> list[CityColumn]:
    """Highest first, ties by code; a city with no figure last."""
    return sorted(cities, key=lambda c: (by(c) is None, -(by(c) or 0), c.code))


def _money(value: Decimal | None) -> str | None:
    return None if value is None else fmt(value)


def province_statement(
    register: ProvinceRegister, year: int, positions: dict[str, int]
) -> ProvinceStatement:
    """Every city's column for the year: its period that starts in the year, as its log
    stood at the position given for it (default: the log's end)."""
    cities = register.cities()
    if not cities:
        raise LedgerError("the register has no cities yet: add them with `ledger cities add`")
    for code in positions:
        register.city(code)  # an unknown city is refused before any is read
    columns = []
    for city in cities:
        with city_books(city) as books:
            try:
                columns.append(_column(books, city, year, positions.get(city.code)))
            except LedgerError as e:
                raise LedgerError(f"city {city.code}: {e}") from None
    return ProvinceStatement(year, tuple(columns))


def _column(books: Books, city: City, year: int, known_at: int | None) -> CityColumn:
    """The city's period of the year, as its log stood at the position: one period that
    starts in the year, or none (a province statement needs every city's)."""
    at = provenance(books, known_at, option="--known-at")
    numbers = [p.number for p in books.statements.periods(at.position) if p.start.year == year]
    if not numbers:
        raise LedgerError(f"it has no period of {year}: no province statement without it")
    if len(numbers) > 1:
        raise LedgerError(
            f"it has {len(numbers)} periods starting in {year} ({', '.join(map(str, numbers))}): "
            "a province statement takes a city's year as one period"
        )
    s = statement(books, numbers[0], known_at=at.position, largest=0)
    before = None
    if s.previous is not None and s.previous.period.start.year == year - 1:
        before = s.previous.subject
    return CityColumn(
        city.code,
        city.name,
        s.provenance,
        s.current.period,
        s.current.subject,
        tuple(s.deficits),
        before,
    )


@dataclass(frozen=True)
class CityCheck:
    """A city's verification by the province: its chain and read models, and each digest
    of it the province witnessed (position:hash -> whether the log still holds it)."""

    city: str
    head: str | None
    problems: tuple[str, ...]
    witnessed: tuple[tuple[str, bool], ...]
    unreachable: str | None = None

    @property
    def verified(self) -> bool:
        return self.unreachable is None and not self.problems and all(h for _, h in self.witnessed)

    def line(self) -> str:
        if self.unreachable is not None:
            return f"{self.city}: NOT VERIFIED: {self.unreachable}"
        broken = [d for d, holds in self.witnessed if not holds]
        state = "verified" if self.verified else "NOT VERIFIED"
        found = "".join(f"; {p}" for p in self.problems)
        found += "".join(f"; witnessed digest {d} no longer holds" for d in broken)
        return (
            f"{self.city}: {state} at {self.head or 'an empty log'}, "
            f"{len(self.witnessed)} witnessed digest(s) checked{found}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "city": self.city,
            "verified": self.verified,
            "head": self.head,
            "problems": list(self.problems),
            "witnessed": [{"digest": d, "holds": h} for d, h in self.witnessed],
            "unreachable": self.unreachable,
        }


@dataclass(frozen=True)
class ProvinceVerification:
    """The province's own log checked first, link by link, for the witness is only as good
    as the record it keeps; then each city."""

    register: ChainCheck
    cities: list[CityCheck]

    @property
    def register_verified(self) -> bool:
        return not self.register.findings

    @property
    def failed(self) -> list[str]:
        """What did not verify: `province` for its own log, and each city by its code."""
        own = [] if self.register_verified else ["province"]
        return own + [c.city for c in self.cities if not c.verified]

    def lines(self) -> list[str]:
        state = "verified" if self.register_verified else "NOT VERIFIED"
        found = "".join(f"; {f}" for f in self.register.findings)
        at = self.register.head or "an empty log"
        own = f"province: {state} at {at}, {self.register.checked} link(s) checked{found}"
        return [own] + [c.line() for c in self.cities]

    def as_dict(self) -> dict[str, Any]:
        return {
            "province": {
                "verified": self.register_verified,
                "head": None if self.register.head is None else str(self.register.head),
                "links_checked": self.register.checked,
                "problems": [str(f) for f in self.register.findings],
            },
            "cities": [c.as_dict() for c in self.cities],
        }


def province_verification(register: ProvinceRegister) -> ProvinceVerification:
    """The province's own chain, then each city verified as its own `audit verify
    --read-only --partial` would, and each digest the province witnessed compared with the
    city's chain at its position."""
    own = check_chain(EventLog(register))
    checks = []
    province = register.province()  # its log read once, for every city
    for city in register.cities():
        kept = [] if province is None else province.witnessed_of(city.code)
        try:
            with city_books(city) as books:
                chain, replay = verify(books)
                links = {w.position: books.log.link_as_of(w.position) for w in kept}
        except LedgerError as e:
            checks.append(CityCheck(city.code, None, (), (), str(e)))
            continue
        witnessed = tuple(
            (f"{w.position}:{w.digest}", (link := links[w.position]) is not None
             and link.hash == w.digest)
            for w in kept
        )  # fmt: skip
        problems = tuple(problems_of(chain, replay))
        checks.append(
            CityCheck(city.code, None if chain.head is None else str(chain.head), problems,
                      witnessed)
        )  # fmt: skip
    return ProvinceVerification(own, checks)


def witness_cities(
    register: ProvinceRegister, actor: str, on: date
) -> list[tuple[str, str | None, str | None]]:
    """Record each city's digest now in the province's log: (city, digest, None) for each
    one witnessed, (city, None, why) for each that could not be, the others witnessed
    still."""
    found: list[tuple[str, str | None, str | None]] = []
    for city in register.cities():
        try:
            with city_books(city) as books:
                digest = head(books.log)
        except LedgerError as e:
            found.append((city.code, None, str(e)))
            continue
        if digest is None:
            found.append((city.code, None, "its log is empty: nothing to witness"))
            continue
        register.witness(city.code, digest.position, digest.hash, "witness", actor, on)
        found.append((city.code, str(digest), None))
    return found
