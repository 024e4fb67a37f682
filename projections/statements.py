"""Facts for statements: one row per fact, each with the log position of its event.

Statements are produced "as known at" a log position P, so every query here filters
`notification_id <= P` and nothing is ever updated in place: a fact recorded after P, even
one dated back into the period, leaves a statement at P as it was. A member's county and
unit in a period come from their enrolment, kept in a lookup table for the events that
follow it. Amounts are integer fen. Rebuildable from the log.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from typing import Any, ClassVar

from domain.accounts import CITY_POOL
from domain.member import Member
from domain.money import to_fen
from domain.scheme import Scheme
from ledger.store.log import Entry, EventLog
from ledger.store.recorders import IDS_PER_QUERY
from projections.projector import Cursor, Database, Projector, ReadModel

ENROLLED = "enrolled"
PREMIUM = "premium"
SUBMITTED = "submitted"
APPROVED = "approved"
REJECTED = "rejected"
PAID = "paid"
RETURNED = "returned"
REASSESSED = "reassessed"
"""A decision superseding the last: the difference in the benefit, and (as its source) the
change of status, "rejected>approved", where the status changed."""
APPEALED = "appealed"
"""A member's appeal of a claim's decision, open until a reassessment decides it; its note
the grounds."""
RECOVERED = "recovered"
WRITTEN_OFF = "written_off"
PRO_RATED = "pro_rated"
"""What a pro-rating held back of a claim (amount) of what was payable on it (as the
eligible amount), its source "forfeit" or "carry"."""
RELEASED = "released"
"""What a pro-rating carried, released into the fact's period, its source the period it
was carried from."""
ITEM = "item"
"""The benefit item a claim is of, as its source, where it is not the main benefit (its days
in hospital, for a per-day item, as the eligible amount in fen of days: days x 100)."""
PRO_RATING = "pro_rating"
"""A period's benefits pro-rated: what was held back (amount) of what was payable (as the
eligible amount), its source the shortfall ("forfeit" or "carry"), its note the rate."""
DEFICIT_CITY = "deficit_city"
DEFICIT_COUNTY = "deficit_county"
ADJUSTMENT = "adjustment"
POOL_FUNDED = "pool_funded"
RESERVE_RETAINED = "reserve_retained"
ADVANCE_REPAID = "advance_repaid"
POOL_KINDS = (DEFICIT_CITY, POOL_FUNDED, RESERVE_RETAINED, ADVANCE_REPAID)
"""The facts of the city pool's own money (a city share's source is "advance" where the
pool advanced it)."""
CLOSED = "closed"
JOINED = "joined"
"""A county joined the city pool from the period: its opening transfer, and its name."""
LEFT = "left"
"""A county left the city pool after the period: what was transferred to it."""
DECISIONS = f"('{APPROVED}', '{REASSESSED}')"
"""The facts that decide a claim's benefit, for an SQL `IN`."""
PAID_OUT = {PAID: 1, RETURNED: -1, RECOVERED: -1}
"""What was paid out to members, net: payouts made, less those the bank returned and the
overpayments members paid back."""
CLAIM_KINDS = (
    SUBMITTED, APPROVED, REJECTED, REASSESSED, PAID, RETURNED, RECOVERED, WRITTEN_OFF,
    PRO_RATED, RELEASED, APPEALED,
)  # fmt: skip

OPENED = "SELECT period FROM {statement_periods} WHERE notification_id <= ?"
"""The periods opened by a position: named in a query of facts of any period, so that the
facts' index (period, kind, ...) finds them."""
FACT_COLUMNS = (
    "notification_id, seq, kind, period, county, unit, member_id, claim_id, source, "
    "amount_fen, eligible_fen, effective_date, note"
)


@dataclass(frozen=True)
class Enrolment:
    member_id: str
    county: str
    unit: str


@dataclass(frozen=True)
class Fact:
    notification_id: int
    seq: int
    kind: str
    period: int
    county: str
    unit: str | None
    member_id: str | None
    claim_id: str | None
    source: str | None
    """A premium's funding source; an adjustment's accounts, as DEBIT/CREDIT."""
    amount_fen: int
    eligible_fen: int | None
    """A claim's eligible self-paid amount."""
    effective_date: date
    note: str | None
    """A rejection's or an adjustment's reason."""


@dataclass(frozen=True)
class Tally:
    """Facts of one kind summed for one county, unit and source."""

    kind: str
    county: str
    unit: str | None
    source: str | None
    count: int
    members: int
    """Distinct members among the facts."""
    fen: int
    group: str | None = None
    """What the tallies are split by, where they are: the member group of the facts'
    members (`group_tallies`), or the benefit item of their claims (`item_tallies`)."""


@dataclass(frozen=True)
class PeriodKnown:
    number: int
    start: date
    end: date
    policy_version: str
    closed_on: date | None


class StatementFacts(ReadModel):
    name = "statements"
    tables: ClassVar[dict[str, str]] = {
        "statement_members": "originator_id TEXT PRIMARY KEY, member_id TEXT NOT NULL",
        "statement_enrolments": "originator_id TEXT NOT NULL, period INTEGER NOT NULL, "
        "member_id TEXT NOT NULL, county TEXT NOT NULL, unit TEXT NOT NULL, "
        "PRIMARY KEY (originator_id, period)",
        "statement_claims": "claim_id TEXT PRIMARY KEY, eligible_fen BIGINT NOT NULL",
        "statement_periods": "period INTEGER PRIMARY KEY, notification_id BIGINT NOT NULL, "
        "start_date TEXT NOT NULL, end_date TEXT NOT NULL, policy_version TEXT NOT NULL",
        "facts": "notification_id BIGINT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, "
        "period INTEGER NOT NULL, county TEXT NOT NULL, unit TEXT, member_id TEXT, "
        "claim_id TEXT, source TEXT, amount_fen BIGINT NOT NULL, eligible_fen BIGINT, "
        "effective_date TEXT NOT NULL, note TEXT, PRIMARY KEY (notification_id, seq)",
        "statement_names": "notification_id BIGINT NOT NULL, member_id TEXT NOT NULL, "
        "name TEXT NOT NULL, PRIMARY KEY (notification_id, member_id)",
    }
    """`statement_names`: each name a member was given, at the position it was."""
    indexes = (
        "CREATE INDEX IF NOT EXISTS facts_by_period ON {facts} (period, kind, notification_id)",
    )

    def apply(self, cursor: Cursor, entries: Sequence[Entry]) -> None:
        members, enrolments, eligible = self._lookups(cursor, entries)
        facts: list[tuple[object, ...]] = []
        registered, enrolled, submitted, periods, names = [], [], [], [], []
        for notification_id, originator, e in entries:
            for seq, fact in enumerate(_facts(e, originator, enrolments, eligible)):
                facts.append((notification_id, seq, *fact))
            if isinstance(e, Member.Registered):
                registered.append((originator, e.member_id))
            elif isinstance(e, Member.Enrolled):
                member_id = members[originator]
                enrolled.append((originator, e.period, member_id, e.county, e.unit))
            elif isinstance(e, Member.ClaimSubmitted):
                submitted.append((e.claim_id, eligible[e.claim_id]))
            elif isinstance(e, Scheme.PeriodOpened):
                periods.append(
                    (
                        e.period,
                        notification_id,
                        e.start.isoformat(),
                        e.end.isoformat(),
                        str(e.policy["version"]),
                    )
                )
            if isinstance(e, Member.Enrolled | Member.DetailsChanged) and e.name is not None:
                names.append((notification_id, members[originator], e.name))
        for table, rows in (
            ("statement_members", registered),
            ("statement_enrolments", enrolled),
            ("statement_claims", submitted),
            ("statement_periods", periods),
            ("facts", facts),
            ("statement_names", names),
        ):
            self.db.insert_many(cursor, table, rows)

    def _lookups(
        self, cursor: Cursor, entries: Sequence[Entry]
    ) -> tuple[dict[str, str], dict[tuple[str, int], Enrolment], dict[str, int]]:
        """Who each member is, where they are enrolled in each period and each claim's
        eligible amount: from this batch, else from the tables, read once per batch."""
        members: dict[str, str] = {}
        enrolments: dict[tuple[str, int], Enrolment] = {}
        eligible: dict[str, int] = {}
        wanted_members: set[str] = set()
        wanted_enrolments: set[tuple[str, int]] = set()
        wanted_claims: set[str] = set()
        for _, originator, e in entries:
            if isinstance(e, Member.Registered):
                members[originator] = e.member_id
            elif isinstance(e, Member.Enrolled | Member.DetailsChanged):
                wanted_members.add(originator)
            elif isinstance(e, Member.ClaimSubmitted):
                eligible[e.claim_id] = 0 if e.item else to_fen(e.eligible)
                wanted_enrolments.add((originator, e.period))
            elif isinstance(
                e, Member.ClaimApproved | Member.ClaimRejected | Member.ClaimReassessed
            ):
                wanted_claims.add(e.claim_id)
                wanted_enrolments.add((originator, e.period))
            elif isinstance(e, MONEY_FACTS | PRO_RATING_FACTS | Member.ClaimAppealed):
                wanted_enrolments.add((originator, e.period))
        for row in self._select(
            cursor, "statement_members", "originator_id", wanted_members - members.keys()
        ):
            members[row["originator_id"]] = row["member_id"]
        for _, originator, e in entries:
            if isinstance(e, Member.Enrolled):
                enrolments[(originator, e.period)] = Enrolment(
                    members[originator], e.county, e.unit
                )
        unknown = {o for o, _ in wanted_enrolments - enrolments.keys()}
        for row in self._select(cursor, "statement_enrolments", "originator_id", unknown):
            key = (row["originator_id"], int(row["period"]))
            enrolments[key] = Enrolment(row["member_id"], row["county"], row["unit"])
        for row in self._select(
            cursor, "statement_claims", "claim_id", wanted_claims - eligible.keys()
        ):
            eligible[row["claim_id"]] = int(row["eligible_fen"])
        return members, enrolments, eligible

    def _select(self, cursor: Cursor, table: str, key: str, values: set[str]) -> Iterable[Any]:
        wanted = sorted(values)
        for start in range(0, len(wanted), IDS_PER_QUERY):
            chunk = wanted[start : start + IDS_PER_QUERY]
            marks = ", ".join("?" * len(chunk))
            cursor.execute(
                self.db.sql(f"SELECT * FROM {{{table}}} WHERE {key} IN ({marks})"), chunk
            )
            yield from cursor.fetchall()


def _facts(
    e: object,
    originator: str,
    enrolments: dict[tuple[str, int], Enrolment],
    eligible: dict[str, int],
) -> list[tuple[object, ...]]:
    """The facts an event states, as rows after (notification_id, seq)."""
    on = getattr(e, "effective_date", None)
    day = on.isoformat() if isinstance(on, date) else ""
    if isinstance(e, Scheme.DeficitShared):
        cover = "advance" if e.advanced else None
        return [
            (DEFICIT_CITY, e.period, e.county, None, None, None, cover, to_fen(e.city_share),
             None, day, None),
            (DEFICIT_COUNTY, e.period, e.county, None, None, None, None,
             to_fen(e.county_share), None, day, None),
        ]  # fmt: skip
    if isinstance(e, Scheme.AdjustmentPosted):
        accounts = f"{e.debit}/{e.credit}"
        return [
            (ADJUSTMENT, e.period, e.entity, None, None, None, accounts, to_fen(e.amount),
             None, day, e.reason),
        ]  # fmt: skip
    if isinstance(e, Scheme.PoolFunded):
        return [
            (POOL_FUNDED, e.period, CITY_POOL, None, None, None, e.source, to_fen(e.amount),
             None, day, e.reference),
        ]  # fmt: skip
    if isinstance(e, Scheme.ReserveRetained | Scheme.AdvanceRepaid):
        kind = RESERVE_RETAINED if isinstance(e, Scheme.ReserveRetained) else ADVANCE_REPAID
        amount = to_fen(e.amount)
        return [(kind, e.period, e.county, None, None, None, None, amount, None, day, None)]
    if isinstance(e, Scheme.BenefitsProRated):
        held, payable = to_fen(e.held_back), to_fen(e.payable)
        return [(PRO_RATING, e.period, "", None, None, None, e.shortfall, held, payable, day,
                 str(e.rate))]  # fmt: skip
    if isinstance(e, Scheme.PeriodClosed):
        return [(CLOSED, e.period, "", None, None, None, None, 0, None, day, None)]
    if isinstance(e, Scheme.CountyJoined):
        amount = to_fen(e.opening_balance)
        return [(JOINED, e.period, e.county, None, None, None, None, amount, None, day, e.name)]
    if isinstance(e, Scheme.CountyLeft):
        amount = to_fen(e.transferred)
        return [(LEFT, e.after_period, e.county, None, None, None, None, amount, None, day, None)]
    if not isinstance(
        e,
        Member.Enrolled
        | Member.ClaimSubmitted
        | Member.ClaimApproved
        | Member.ClaimRejected
        | Member.ClaimReassessed
        | Member.ClaimAppealed
        | MONEY_FACTS
        | PRO_RATING_FACTS,
    ):
        return []
    who = enrolments[(originator, e.period)]
    where = (e.period, who.county, who.unit, who.member_id)
    if isinstance(e, Member.Enrolled):
        return [(ENROLLED, *where, None, e.group, 0, None, day, None)]
    if isinstance(e, Member.PremiumPaid):
        return [
            (PREMIUM, *where, None, source, to_fen(amount), None, day, None)
            for source, amount in sorted(e.amounts.items())
        ]
    claim = e.claim_id
    if isinstance(e, Member.ClaimSubmitted):
        submitted = (SUBMITTED, *where, claim, None, 0, eligible[claim], day, None)
        if e.item is None:
            return [submitted]
        days = None if e.days is None else e.days * 100
        return [submitted, (ITEM, *where, claim, e.item, 0, days, day, None)]
    if isinstance(e, Member.ClaimApproved):
        return [(APPROVED, *where, claim, None, to_fen(e.amount), eligible[claim], day, None)]
    if isinstance(e, Member.ClaimRejected):
        return [(REJECTED, *where, claim, None, 0, eligible[claim], day, e.reason)]
    if isinstance(e, Member.ClaimReassessed):
        change = None if e.superseded == e.status else f"{e.superseded}>{e.status}"
        difference = to_fen(e.difference)
        base = 0 if eligible.get(claim) == 0 else to_fen(e.eligible)  # an item's: no costs
        return [(REASSESSED, *where, claim, change, difference, base, day, e.reason)]
    if isinstance(e, Member.ClaimAppealed):
        return [(APPEALED, *where, claim, None, 0, None, day, e.grounds)]
    if isinstance(e, Member.ClaimProRated):
        shortfall = "carry" if e.carried else "forfeit"
        held, payable = to_fen(e.held_back), to_fen(e.payable)
        return [(PRO_RATED, *where, claim, shortfall, held, payable, day, e.reference)]
    if isinstance(e, Member.CarriedReleased):
        moved = (e.into_period, *where[1:])
        return [(RELEASED, *moved, claim, str(e.period), to_fen(e.amount), None, day, e.reference)]
    if isinstance(e, Member.RecoveryCollected):
        return [(RECOVERED, *where, claim, e.receipt, to_fen(e.amount), None, day, None)]
    if isinstance(e, Member.RecoveryWrittenOff):
        return [(WRITTEN_OFF, *where, claim, None, to_fen(e.amount), None, day, e.reason)]
    kind = PAID if isinstance(e, Member.PayoutMade) else RETURNED
    return [(kind, *where, claim, e.bank_reference, to_fen(e.amount), None, day, None)]


MONEY_FACTS = (
    Member.PremiumPaid
    | Member.PayoutMade
    | Member.PayoutReturned
    | Member.RecoveryCollected
    | Member.RecoveryWrittenOff
)
"""The member's events that move money, each a fact of its own."""
PRO_RATING_FACTS = Member.ClaimProRated | Member.CarriedReleased


class Statements(Projector):
    """The facts read model and its queries, each as the log stood at a position."""

    def __init__(self, log: EventLog, db: Database) -> None:
        super().__init__(log, StatementFacts, db)

    def tallies(self, period: int, known_at: int) -> list[Tally]:
        """Every kind of fact of the period summed by county, unit and source."""
        statement = self.db.sql(
            "SELECT kind, county, unit, source, COUNT(*) AS n, "
            "COUNT(DISTINCT member_id) AS members, SUM(amount_fen) AS fen FROM {facts} "
            "WHERE period = ? AND notification_id <= ? GROUP BY kind, county, unit, source "
            "ORDER BY kind, county, unit, source"
        )
        with self.db.transaction(commit=False) as cursor:
            cursor.execute(statement, (period, known_at))
            return [
                Tally(
                    r["kind"],
                    r["county"],
                    r["unit"],
                    r["source"],
                    int(r["n"]),
                    int(r["members"]),
                    int(r["fen"]),
                )
                for r in cursor.fetchall()
            ]

    def group_tallies(self, period: int, known_at: int, county: str | None) -> list[Tally]:
        """The members' facts of the period summed by the group each member was enrolled in
        for it, by county and source (unit None)."""
        return self._tallies_split(period, known_at, county, ENROLLED, "member_id", False)

    def item_tallies(self, period: int, known_at: int, county: str | None) -> list[Tally]:
        """The claims' facts of the period summed by the benefit item each claim is of (None:
        the main benefit), by county and source (unit None): a claim of an earlier period
        too, whose carried benefit was released into this one."""
        return self._tallies_split(period, known_at, county, ITEM, "claim_id", True)

    def _tallies_split(
        self,
        period: int,
        known_at: int,
        county: str | None,
        by_kind: str,
        key: str,
        of_any_period: bool,
    ) -> list[Tally]:
        """The facts of the period with a `key` (a member, a claim) summed by what the fact of
        kind `by_kind` (of the period, or `of_any_period`) says of that key as its source,
        by county and source. Two scans of the facts, summed here: a join of the facts on
        themselves has no index to go by in SQLite."""
        where = "period = ? AND notification_id <= ?"
        params: list[object] = [period, known_at]
        split_where = f"period IN ({OPENED}) AND notification_id <= ?"
        split_params: list[object] = [known_at, known_at]
        if not of_any_period:
            split_where, split_params = where, list(params)
        if county is not None:
            where, params = where + " AND county = ?", [*params, county]
        keys = ", ".join(dict.fromkeys(("member_id", key)))
        sums: dict[tuple[str, str, str | None, str | None], tuple[list[int], set[str]]] = {}
        with self.db.transaction(commit=False) as cursor:
            cursor.execute(
                self.db.sql(
                    f"SELECT {key}, source FROM {{facts}} WHERE {split_where} AND kind = ?"
                ),
                [*split_params, by_kind],
            )
            split = {r[key]: r["source"] for r in cursor.fetchall()}
            cursor.execute(
                self.db.sql(
                    f"SELECT {keys}, kind, county, source, COUNT(*) AS n, SUM(amount_fen) AS fen "
                    f"FROM {{facts}} WHERE {where} AND {key} IS NOT NULL "
                    f"GROUP BY {keys}, kind, county, source"
                ),
                params,
            )
            for r in cursor.fetchall():
                found = (r["kind"], r["county"], split.get(r[key]), r["source"])
                counts, members = sums.setdefault(found, ([0, 0], set()))
                counts[0] += int(r["n"])
                counts[1] += int(r["fen"])
                members.add(r["member_id"])
        return [
            Tally(kind, county_, None, source, n, len(members), fen, split_by)
            for (kind, county_, split_by, source), ([n, fen], members) in sorted(
                sums.items(), key=lambda entry: tuple(str(k) for k in entry[0])
            )
        ]

    def facts(
        self,
        period: int,
        known_at: int,
        kinds: Sequence[str],
        county: str | None = None,
        unit: str | None = None,
    ) -> list[Fact]:
        """Facts of the given kinds, in log order."""
        where = ["period = ?", "notification_id <= ?"]
        params: list[object] = [period, known_at]
        where.append(f"kind IN ({', '.join('?' * len(kinds))})")
        params += kinds
        for column, value in (("county", county), ("unit", unit)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        statement = self.db.sql(
            f"SELECT {FACT_COLUMNS} FROM {{facts}} WHERE {' AND '.join(where)} "
            "ORDER BY notification_id, seq"
        )
        with self.db.transaction(commit=False) as cursor:
            cursor.execute(statement, params)
            return [_fact(r) for r in cursor.fetchall()]

    def paid_between(self, start: date, end: date, known_at: int) -> dict[tuple[str, str], int]:
        """By county and kind of PAID_OUT, what was paid out from `start` to `end`, by the days
        it was, on the claims of any period opened by the position (the periods named, for
        the facts' index): the calendar claims ratio's claims."""
        kinds = ", ".join("?" * len(PAID_OUT))
        statement = self.db.sql(
            f"SELECT county, kind, SUM(amount_fen) AS fen FROM {{facts}} WHERE period IN "
            f"({OPENED}) AND kind IN ({kinds}) AND notification_id <= ? "
            "AND effective_date >= ? AND effective_date <= ? GROUP BY county, kind"
        )
        params = [known_at, *PAID_OUT, known_at, start.isoformat(), end.isoformat()]
        with self.db.transaction(commit=False) as cursor:
            cursor.execute(statement, params)
            return {(r["county"], r["kind"]): int(r["fen"]) for r in cursor.fetchall()}

    def periods_of(self, county: str, known_at: int) -> list[int]:
        """The periods with facts of the county (members enrolled, money moved), in order."""
        statement = self.db.sql(
            "SELECT DISTINCT period FROM {facts} WHERE county = ? AND notification_id <= ? "
            "ORDER BY period"
        )
        with self.db.transaction(commit=False) as cursor:
            cursor.execute(statement, (county, known_at))
            return [int(r["period"]) for r in cursor.fetchall()]

    def open_appeals(self, period: int, known_at: int) -> list[str]:
        """The claims of the period whose last appeal no reassessment has decided yet."""
        statement = self.db.sql(
            f"SELECT claim_id, kind FROM {{facts}} WHERE period = ? AND kind IN "
            f"('{APPEALED}', '{REASSESSED}') AND notification_id <= ? ORDER BY notification_id"
        )
        last: dict[str, str] = {}
        with self.db.transaction(commit=False) as cursor:
            cursor.execute(statement, (period, known_at))
            for r in cursor.fetchall():
                last[r["claim_id"]] = r["kind"]
        return sorted(claim for claim, kind in last.items() if kind == APPEALED)

    def carried(self, period: int, known_at: int) -> list[tuple[str, str]]:
        """The claims (member id, claim id) on which a pro-rating of the period carried what
        it held back, and which no later period has released yet."""
        statement = self.db.sql(
            f"SELECT member_id, claim_id FROM {{facts}} WHERE kind = '{PRO_RATED}' "
            "AND period = ? AND source = 'carry' AND notification_id <= ? AND claim_id NOT IN "
            f"(SELECT claim_id FROM {{facts}} WHERE kind = '{RELEASED}' AND source = ? "
            "AND notification_id <= ?) ORDER BY member_id, claim_id"
        )
        with self.db.transaction(commit=False) as cursor:
            cursor.execute(statement, (period, known_at, str(period), known_at))
            return [(r["member_id"], r["claim_id"]) for r in cursor.fetchall()]

    def county_changes(self, known_at: int) -> list[Fact]:
        """Counties joining and leaving the city pool by the position, in log order."""
        statement = self.db.sql(
            f"SELECT {FACT_COLUMNS} FROM {{facts}} WHERE period IN ({OPENED}) "
            f"AND kind IN ('{JOINED}', '{LEFT}') AND notification_id <= ? "
            "ORDER BY notification_id, seq"
        )
        with self.db.transaction(commit=False) as cursor:
            cursor.execute(statement, (known_at, known_at))
            return [_fact(r) for r in cursor.fetchall()]

    def largest(self, period: int, known_at: int, county: str | None, limit: int) -> list[Fact]:
        """The claims with the largest benefits as their last decisions leave them, each as
        its last decision's fact with that benefit; ties in log order."""
        benefits, params = self._benefits(period, known_at, county)
        columns = ", ".join(
            "b.benefit AS amount_fen" if c == "amount_fen" else f"f.{c}"
            for c in FACT_COLUMNS.split(", ")
        )
        statement = self.db.sql(
            f"SELECT {columns} FROM {{facts}} AS f JOIN ({benefits}) AS b "
            "ON f.claim_id = b.claim_id AND f.notification_id = b.last "
            f"WHERE f.kind IN {DECISIONS} "
            f"ORDER BY b.benefit DESC, f.notification_id LIMIT {int(limit)}"
        )
        with self.db.transaction(commit=False) as cursor:
            cursor.execute(statement, params)
            return [_fact(r) for r in cursor.fetchall()]

    def benefits_by_band(
        self, period: int, known_at: int, county: str | None, bounds_fen: Sequence[int]
    ) -> list[tuple[int, int]]:
        """(claims, benefit fen) of the claims with a benefit, as their last decisions leave
        it, in each band [bounds[i], bounds[i+1]), the last band open above."""
        benefits, params = self._benefits(period, known_at, county)
        edges: list[int | None] = [*bounds_fen, None]
        found = []
        with self.db.transaction(commit=False) as cursor:
            for lower, upper in pairwise(edges):
                where, bounds = "benefit >= ?", [lower]
                if upper is not None:
                    where, bounds = where + " AND benefit < ?", [lower, upper]
                cursor.execute(
                    self.db.sql(
                        "SELECT COUNT(*) AS n, COALESCE(SUM(benefit), 0) AS fen "
                        f"FROM ({benefits}) AS b WHERE {where}"
                    ),
                    [*params, *bounds],
                )
                row = cursor.fetchone()
                found.append((int(row["n"]), int(row["fen"])))
        return found

    def _benefits(self, period: int, known_at: int, county: str | None) -> tuple[str, list[object]]:
        """A query of each claim's benefit (`benefit`: its approval and the differences of
        its reassessments) and the position of its last decision (`last`), for the claims
        that have one, and its parameters."""
        params: list[object] = [period, known_at]
        where = ""
        if county is not None:
            where = " AND county = ?"
            params.append(county)
        return (
            "SELECT claim_id, SUM(amount_fen) AS benefit, MAX(notification_id) AS last "
            "FROM {facts} WHERE period = ? AND notification_id <= ? "
            f"AND kind IN {DECISIONS}{where} GROUP BY claim_id HAVING SUM(amount_fen) > 0",
            params,
        )

    def names(self, member_ids: Iterable[str], known_at: int) -> dict[str, str]:
        """Each member's name as last given by the position; members never named are left
        out."""
        wanted = sorted(set(member_ids))
        found: dict[str, str] = {}
        with self.db.transaction(commit=False) as cursor:
            for start in range(0, len(wanted), IDS_PER_QUERY):
                chunk = wanted[start : start + IDS_PER_QUERY]
                cursor.execute(
                    self.db.sql(
                        "SELECT member_id, name FROM {statement_names} WHERE notification_id <= ? "
                        f"AND member_id IN ({', '.join('?' * len(chunk))}) ORDER BY notification_id"
                    ),
                    [known_at, *chunk],
                )
                found |= {r["member_id"]: r["name"] for r in cursor.fetchall()}
        return found

    def periods(self, known_at: int) -> list[PeriodKnown]:
        """The periods opened by the position, each with its closing date if it had closed."""
        with self.db.transaction(commit=False) as cursor:
            cursor.execute(
                self.db.sql(
                    "SELECT p.period, p.start_date, p.end_date, p.policy_version, "
                    "MIN(f.effective_date) AS closed_on FROM {statement_periods} p "
                    f"LEFT JOIN {{facts}} f ON f.period = p.period AND f.kind = '{CLOSED}' "
                    "AND f.notification_id <= ? WHERE p.notification_id <= ? "
                    "GROUP BY p.period, p.start_date, p.end_date, p.policy_version "
                    "ORDER BY p.period"
                ),
                (known_at, known_at),
            )
            return [
                PeriodKnown(
                    int(r["period"]),
                    date.fromisoformat(r["start_date"]),
                    date.fromisoformat(r["end_date"]),
                    r["policy_version"],
                    None if r["closed_on"] is None else date.fromisoformat(r["closed_on"]),
                )
                for r in cursor.fetchall()
            ]


def _fact(r: dict[str, object]) -> Fact:
    def text(key: str) -> str | None:
        value = r[key]
        return None if value is None else str(value)

    def number(key: str) -> int | None:
        value = r[key]
        return None if value is None else int(str(value))

    return Fact(
        int(str(r["notification_id"])),
        int(str(r["seq"])),
        str(r["kind"]),
        int(str(r["period"])),
        str(r["county"]),
        text("unit"),
        text("member_id"),
        text("claim_id"),
        text("source"),
        int(str(r["amount_fen"])),
        number("eligible_fen"),
        date.fromisoformat(str(r["effective_date"])),
        text("note"),
    )
