"""The ledger with its read models: what the CLI and the demo work with."""

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, cast

from eventsourcing.persistence import IntegrityError
from eventsourcing.postgres import PostgresTrackingRecorder

from domain.accounts import (
    CHART,
    CITY_POOL,
    PREMIUM_INCOME,
    SPLIT_BY_SOURCE,
    natural_balance,
    surplus,
)
from domain.errors import LedgerError
from domain.money import fmt, from_fen
from domain.scheme import CountyClose, CountyResult
from ledger.application.app import MutualAidLedger, ProRating
from ledger.store.config import taking_turns
from ledger.store.log import EventLog
from projections import projector
from projections.balances import Balances, Filters
from projections.claims import Claims
from projections.notifications import Notifications
from projections.projector import Database, Projector, catch_up_together
from projections.statements import Statements

ReadModels = tuple[Balances, Claims, Notifications, Statements]


class _Stopped(Exception):
    """Raised in the catch-up alongside a save that failed: stop after this batch."""


CLOSE_ATTEMPTS = 10
FOLLOW_PAUSE = 0.05
"""Seconds a catch-up alongside a bulk write waits for more of the log when it is at the end."""


@dataclass(frozen=True)
class EntityBalances:
    """Balances of one fund entity, each account shown on its natural side (income positive)."""

    accounts: dict[str, Decimal]

    def as_dict(self) -> dict[str, Any]:
        return {
            "accounts": {name: fmt(amount) for name, amount in self.accounts.items()},
            "surplus": fmt(surplus(self.accounts)),
        }


class Books:
    """The ledger and its read models, read by one rule: a read is answered from read models
    caught up to the end of the log (`catch_up`, before reading), never from stale ones.

    A writer catches the live read models up. A read-only user cannot: while the live ones
    are at the end of the log it reads them; once they lag, the read models a read needs are
    a replay of the log in a scratch database in memory (as `ledger audit verify` builds), so
    it reads as far as the log goes, at the cost of a replay of those."""

    def __init__(self, db: str, read_only: bool = False, create: bool = True) -> None:
        """`create`: start a new ledger at `db` if there is none (see MutualAidLedger)."""
        self.address = db
        """Where the ledger is, as given: what its turns are kept by (ledger/store/turns.py)."""
        with taking_turns(db, read_only):  # the app and read models create their tables
            self.app = MutualAidLedger(db, read_only, create)
            self.log = EventLog(self.app)
            # the log's database: one tracking recorder and pool for every read model
            self.db = Database.of(self.log, writable=not read_only)
            self.live = read_models(self.log, self.db)
        self._read_from(self.live)

    def _read_from(self, models: ReadModels) -> None:
        self.balances, self.claims, self.notifications, self.statements = models
        self.projectors: tuple[Projector, ...] = models

    def close(self) -> None:
        self.app.close()

    def catch_up(
        self, on_batch: Callable[[int], None] | None = None, models: Sequence[Projector] = ()
    ) -> None:
        """Bring the read models a read needs (`models`; default: every one) up to the end of
        the log. A writer catches every live one up: one pass over the log serves them all,
        and leaves none behind for readers. A read-only user reads the live ones it needs
        while they are at the end, and a replay in memory of those that lag."""
        needed = self._needed(models)
        lagging = self._lagging(needed)
        if lagging:
            scratch = read_models(self.log, Database.scratch())
            replays = dict(zip(self.projectors, scratch, strict=True))
            chosen = tuple(replays[p] if p in lagging else p for p in self.projectors)
            self._read_from(cast(ReadModels, chosen))
            needed = [replays[p] if p in lagging else p for p in needed]
        for db in {p.db for p in needed}:  # the live ones, or replays made by earlier reads
            catch_up_together([p for p in needed if p.db is db], on_batch=on_batch)

    @contextmanager
    def catching_up_alongside(self) -> Iterator[None]:
        """Catch the live read models up in a second thread while the block writes the log
        (a bulk save), on PostgreSQL, and to the end once it has: the save mostly waits on
        the server while the catch-up decodes and applies in Python, so the two overlap on
        two cores. The statistics are refreshed once at the end if the catch-ups read many
        events in all, as one catch-up of as many would. If the block fails (or is
        interrupted), the thread stops after the batch it is applying, and the block's
        error is the one raised. If the thread fails, the catch-up once the block is done
        meets the same fault and raises it. On SQLite both would be this process's own
        work on one file, one writer at a time: nothing to gain, and the read models catch
        up when next read."""
        if not (self.db.writable and isinstance(self.db.recorder, PostgresTrackingRecorder)):
            yield
            return
        written, stopping = threading.Event(), threading.Event()

        def stop_if_asked(position: int) -> None:
            if stopping.is_set():
                raise _Stopped

        def follow() -> int:
            followed = 0
            try:
                while not written.is_set():
                    caught_up = catch_up_together(
                        self.live, on_batch=stop_if_asked, statistics=False
                    )
                    followed += caught_up
                    if not caught_up:
                        written.wait(FOLLOW_PAUSE)
            except Exception:  # _Stopped, or a fault the catch-up after the block meets
                pass
            return followed

        with ThreadPoolExecutor(max_workers=1) as worker:
            following = worker.submit(follow)
            try:
                yield
            except BaseException:
                stopping.set()
                raise
            finally:
                written.set()
                wait([following])
        followed = following.result() + catch_up_together(self.live, statistics=False)
        if followed >= projector.STATISTICS_AFTER:
            self.db.refresh_statistics(self.log, [p.model for p in self.live])

    def catching_up_from(self, models: Sequence[Projector] = ()) -> int:
        """The position a catch-up of these read models (default: every one) starts from:
        the lowest of theirs, or 0 where a read-only user's replay starts from nothing."""
        needed = self._needed(models)
        return 0 if self._lagging(needed) else min(p.position for p in needed)

    def _needed(self, models: Sequence[Projector]) -> list[Projector]:
        return list(self.live if self.db.writable else models or self.projectors)

    def _lagging(self, models: Sequence[Projector]) -> list[Projector]:
        """Under a read-only user, the live read models among `models` that are behind the end
        of the log, or lack a table (one new since a writer last opened the ledger)."""
        live = [p for p in models if p in self.live]
        if self.db.writable or not live:
            return []
        end = self.log.last_position()
        return [p for p in live if p.position < end or not p.has_tables]

    def close_period(
        self,
        period: int,
        actor: str,
        on: date,
        on_progress: Callable[[int], None] | None = None,
    ) -> dict[str, CountyClose]:
        """Close a period on the figures of the whole log, and settle each county with the
        city pool (`domain.scheme.county_close`).
        If anything is recorded between reading the figures and closing, read them again.
        `on_progress` is told the position the balances reach as they catch up."""
        self.app.authorise(actor, "close_period")
        for attempt in range(CLOSE_ATTEMPTS):
            self.balances.catch_up(on_batch=on_progress)
            scheme = self.app.scheme()
            totals = self.balances.totals(Filters(period=period))
            results = {
                county: CountyResult.from_accounts(self.entity_balances(totals, county).accounts)
                for county in scheme.counties_in(period)
            }
            try:
                closes = self.app.close_period(period, results, self.balances.position, actor, on)
            except IntegrityError:
                if attempt == CLOSE_ATTEMPTS - 1:
                    raise LedgerError(
                        f"period {period} could not be closed: the ledger kept changing"
                    ) from None
                continue
            self.balances.catch_up()
            return closes
        raise AssertionError("unreachable")

    def pro_rate(
        self, period: int, rate: Decimal, reference: str, actor: str, on: date
    ) -> ProRating:
        """Pay the period's benefits still payable at `rate` (`domain.member.held_back`), on
        the claims as the whole log has them, every claim of the period decided. If anything
        is recorded between reading the claims and saving, read them again."""
        self.app.authorise(actor, "pro_rate")
        for _ in range(CLOSE_ATTEMPTS):
            self.catch_up(models=(self.claims, self.statements))
            position = self.claims.position
            for claims, what, then in (
                (self.claims.undecided(period), "not decided yet", "approve or reject them"),
                (self.statements.open_appeals(period, position), "under appeal", "decide them"),
                (
                    self.claims.awaiting_bank(period),
                    "paid, awaiting the bank's result",
                    "import the bank's results",
                ),
            ):
                if claims:
                    shown = ", ".join(claims[:5]) + (", ..." if len(claims) > 5 else "")
                    raise LedgerError(
                        f"period {period} has {len(claims)} claim(s) {what} ({shown}): {then} "
                        "before pro-rating"
                    )
            owed = [(o.member_id, o.claim_id) for o in self.claims.payable(period)]
            try:
                pro_rating = self.app.pro_rate(period, rate, owed, position, reference, actor, on)
            except IntegrityError:
                continue
            self.catch_up()
            return pro_rating
        raise LedgerError(f"period {period} could not be pro-rated: the ledger kept changing")

    def release_carried(
        self, period: int, into_period: int, reference: str, actor: str, on: date
    ) -> Decimal:
        """Make what a pro-rating of the period carried payable again, charged to the open
        period `into_period`; returns the total. If anything is recorded meanwhile, read
        again."""
        self.app.authorise(actor, "release_carried")
        for _ in range(CLOSE_ATTEMPTS):
            self.catch_up(models=(self.statements,))
            position = self.statements.position
            carried = self.statements.carried(period, position)
            try:
                total = self.app.release_carried(
                    period, into_period, carried, position, reference, actor, on
                )
            except IntegrityError:
                continue
            self.catch_up()
            return total
        raise LedgerError(f"period {period}'s carried benefits could not be released: try again")

    def leave_county(
        self, county: str, after_period: int, reference: str, actor: str, on: date
    ) -> Decimal:
        """Settle a county leaving the city pool after a closed period on its reserve (all its
        income less all its expense) as the whole log has it; returns what is transferred to
        it. If anything is recorded between reading the reserve and settling, read again."""
        self.app.authorise(actor, "leave_county")
        for attempt in range(CLOSE_ATTEMPTS):
            self.catch_up(models=(self.balances, self.statements))
            position = self.balances.position
            upto: dict[tuple[str, str], int] = {}
            for (entity, account, period), fen in self.balances.totals_by_period(position).items():
                if entity == county and period <= after_period:
                    upto[(entity, account)] = upto.get((entity, account), 0) + fen
            reserve = surplus(self.entity_balances(upto, county).accounts)
            later = [p for p in self.statements.periods_of(county, position) if p > after_period]
            try:
                transferred = self.app.leave_county(
                    county, after_period, reserve, later, position, reference, actor, on
                )
            except IntegrityError:
                if attempt == CLOSE_ATTEMPTS - 1:
                    raise LedgerError(
                        f"county {county!r} could not be settled: the ledger kept changing"
                    ) from None
                continue
            self.balances.catch_up()
            return transferred
        raise AssertionError("unreachable")

    def entity_balances(self, totals: dict[tuple[str, str], int], entity: str) -> EntityBalances:
        names = self._account_names(totals)
        accounts = {}
        for name in names:
            accounts[name] = from_fen(natural_balance(name, totals.get((entity, name), 0)))
        return EntityBalances(accounts)

    def _account_names(self, totals: dict[tuple[str, str], int]) -> list[str]:
        """Every account of the chart, with the premium income split by the funding sources
        of the periods' policies and the pool's funding by those it received."""
        scheme = self.app.scheme()
        sources = {PREMIUM_INCOME: {s for p in scheme.periods.values() for s in p.policy.funding}}
        for _, posted in totals:
            parent, _, source = posted.partition(":")
            if parent in SPLIT_BY_SOURCE:
                sources.setdefault(parent, set()).add(source)
        names: list[str] = []
        for account in CHART:
            if account.name in SPLIT_BY_SOURCE:
                names.extend(f"{account.name}:{s}" for s in sorted(sources.get(account.name, ())))
            else:
                names.append(account.name)
        return names

    def report(
        self,
        county: str | None = None,
        period: int | None = None,
        as_of: date | None = None,
        known_at: int | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> dict[str, Any]:
        """Balances per county, of the city pool and for the whole city, after catching up
        (`on_progress` is told the position reached); `known_at` gives them as the log stood
        at that position, before any later entry; `position` says which position they are as
        known at."""
        self.catch_up(on_progress, models=(self.balances,))
        position = self.balances.position if known_at is None else known_at
        scheme = self.app.scheme()
        if county is not None:
            scheme.require_county(county)
        if period is not None:
            scheme.period(period)
        totals = self.balances.totals(Filters(county, period, as_of, position))
        counties = [county] if county else sorted(scheme.counties)
        report: dict[str, Any] = {
            "scheme": scheme.name,
            "position": position,
            "filters": {
                "county": county,
                "period": period,
                "as_of": None if as_of is None else as_of.isoformat(),
                "known_at": known_at,
            },
            "counties": {
                c: {"name": scheme.counties[c], **self.entity_balances(totals, c).as_dict()}
                for c in counties
            },
        }
        if county is None:
            report["city_pool"] = self.entity_balances(totals, CITY_POOL).as_dict()
            city: dict[tuple[str, str], int] = {}
            for (_, account), fen in totals.items():
                city[("city", account)] = city.get(("city", account), 0) + fen
            report["city"] = self.entity_balances(city, "city").as_dict()
        report["trial_balance"] = fmt(from_fen(sum(totals.values())))
        return report


def read_models(log: EventLog, db: Database) -> ReadModels:
    """Every read model of the ledger's log, kept in `db`."""
    return Balances(log, db), Claims(log, db), Notifications(log, db), Statements(log, db)
