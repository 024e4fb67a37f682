"""Claims and payouts as finance works with them: what is payable, to which account, and
under which bank reference each payment went out, to whom. Rebuildable from the log."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from domain.member import Member
from domain.money import from_fen, to_fen
from ledger.store.log import Entry, EventLog
from ledger.store.recorders import IDS_PER_QUERY
from projections.projector import Cursor, Database, Projector, ReadModel


@dataclass(frozen=True)
class Owed:
    """An amount owed on a claim: by the fund (payable) or back to it (an overpayment)."""

    member_id: str
    claim_id: str
    county: str
    amount: Decimal
    name: str | None
    bank_account: str | None
    """As on record now: None where the roster never gave one."""


@dataclass(frozen=True)
class Payment:
    member_id: str
    claim_id: str
    county: str
    bank_reference: str
    amount: Decimal
    status: str
    name: str | None
    bank_account: str | None
    bank: str | None
    """The payee as the payout recorded it (None for payouts from before payees were)."""


class ClaimsModel(ReadModel):
    name = "claims"
    tables: ClassVar[dict[str, str]] = {
        "members": "originator_id TEXT PRIMARY KEY, member_id TEXT NOT NULL",
        "claims": "claim_id TEXT PRIMARY KEY, member_id TEXT NOT NULL, county TEXT NOT NULL, "
        "period INTEGER NOT NULL, status TEXT NOT NULL, approved_fen BIGINT NOT NULL, "
        "paid_fen BIGINT NOT NULL",
        "payouts": "claim_id TEXT NOT NULL, bank_reference TEXT NOT NULL, member_id TEXT NOT NULL, "
        "county TEXT NOT NULL, amount_fen BIGINT NOT NULL, status TEXT NOT NULL, "
        "PRIMARY KEY (claim_id, bank_reference)",
        "payees": "member_id TEXT PRIMARY KEY, name TEXT, bank_account TEXT, bank TEXT",
        "payout_payees": "claim_id TEXT NOT NULL, bank_reference TEXT NOT NULL, name TEXT, "
        "bank_account TEXT, bank TEXT, PRIMARY KEY (claim_id, bank_reference)",
    }
    """`claims`: `paid_fen` is what the member has of the claim's money: paid, less what the
    bank returned and what of an overpayment was collected back or written off (and not
    taken back since, `reinstated`); `approved_fen` is the benefit less what a pro-rating
    held back (forfeited, or carried and not released yet); so the claim owes
    `approved_fen - paid_fen` (`Claim.payable`), payable where positive and to recover
    where negative. `payees`: each member's name and account as last given;
    `payout_payees`: the payee each payout recorded."""
    indexes = (
        "CREATE INDEX IF NOT EXISTS claims_payable ON {claims} (status, paid_fen, approved_fen)",
        "CREATE INDEX IF NOT EXISTS payouts_by_reference ON {payouts} (bank_reference)",
    )

    def apply(self, cursor: Cursor, entries: Sequence[Entry]) -> None:
        """A batch reads the rows its events change (its members, claims and payees) at once,
        applies its events to them in log order, and writes them back: a table's new rows by
        one COPY, its changed ones by one DELETE and one COPY, not a statement an event.
        Only payout statuses set by a later batch (bank results) are updated one by one."""
        members: dict[str, str] = {}
        registered: list[tuple[str, str]] = []
        wanted_members: set[str] = set()
        wanted_claims: set[str] = set()
        for _, originator, e in entries:
            if isinstance(e, Member.Registered):
                members[originator] = e.member_id
                registered.append((originator, e.member_id))
            elif isinstance(e, PAYEE_EVENTS | Member.ClaimSubmitted):
                wanted_members.add(originator)
            elif isinstance(e, CLAIM_EVENTS):
                wanted_claims.add(e.claim_id)
                if isinstance(e, Member.PayoutMade):
                    wanted_members.add(originator)
        held = self.db.rows_by_key(
            cursor, "members", "originator_id", wanted_members - members.keys()
        )
        members |= {originator: row["member_id"] for originator, row in held.items()}
        claims: dict[str, list[Any]] = {
            key: [row[c] for c in CLAIM_COLUMNS]
            for key, row in self.db.rows_by_key(cursor, "claims", "claim_id", wanted_claims).items()
        }
        held_claims = set(claims)
        named = {
            members[o]
            for _, o, e in entries
            if isinstance(e, PAYEE_EVENTS) and o in members and (e.name or e.bank_account or e.bank)
        }
        payees = {
            key: [row[c] for c in PAYEE_COLUMNS]
            for key, row in self.db.rows_by_key(cursor, "payees", "member_id", named).items()
        }
        held_payees = set(payees)
        changed: set[str] = set()
        payouts: dict[tuple[str, str], list[object]] = {}
        payout_payees: list[tuple[object, ...]] = []
        statuses: dict[tuple[str, str], str] = {}
        for _, originator, e in entries:
            if isinstance(e, PAYEE_EVENTS):
                if (e.name or e.bank_account or e.bank) and originator in members:
                    member_id = members[originator]
                    given = (e.name, e.bank_account, e.bank)
                    before = payees.get(member_id, [member_id, None, None, None])
                    payees[member_id] = [member_id] + [
                        old if new is None else new
                        for new, old in zip(given, before[1:], strict=True)
                    ]  # a detail not given keeps the one on record
            elif isinstance(e, Member.ClaimSubmitted):
                if originator in members:
                    claims[e.claim_id] = [
                        e.claim_id, members[originator], e.county, e.period, "submitted", 0, 0
                    ]  # fmt: skip
            elif isinstance(e, CLAIM_EVENTS):
                claim, fen = claims.get(e.claim_id), 0
                if isinstance(e, Member.ClaimApproved | MONEY_EVENTS):
                    fen = to_fen(e.amount)
                if claim is not None:
                    changed.add(e.claim_id)
                    if isinstance(e, Member.ClaimApproved):
                        claim[4:6] = ["approved", fen]
                    elif isinstance(e, Member.ClaimReassessed):
                        claim[4:7] = [e.status, to_fen(e.amount), claim[6] + to_fen(e.reinstated)]
                    elif isinstance(e, Member.ClaimRejected):
                        claim[4] = "rejected"
                    elif isinstance(e, Member.ClaimProRated):
                        claim[5] = claim[5] - to_fen(e.held_back)
                    elif isinstance(e, Member.CarriedReleased):
                        claim[5] = claim[5] + to_fen(e.amount)
                    elif isinstance(e, Member.PayoutMade):
                        claim[6] = claim[6] + fen
                    elif isinstance(e, Member.PayoutReturned):
                        claim[6] = claim[6] - fen + to_fen(e.reinstated)
                    else:
                        claim[6] = claim[6] - fen
                if isinstance(e, Member.PayoutMade):
                    payout = (e.claim_id, e.bank_reference)
                    if originator in members:
                        payouts[payout] = [
                            *payout, members[originator], e.county, fen, "made"
                        ]  # fmt: skip
                    if e.bank_account is not None:
                        payout_payees.append((*payout, e.payee_name, e.bank_account, e.bank))
                elif isinstance(e, Member.PayoutReturned):
                    statuses[(e.claim_id, e.bank_reference)] = "returned"
            elif isinstance(e, Member.PayoutConfirmed):
                statuses[(e.claim_id, e.bank_reference)] = "confirmed"
        for payout, status in list(statuses.items()):
            if payout in payouts:
                payouts[payout][5] = status
                del statuses[payout]
        db = self.db
        db.insert_many(cursor, "members", registered)
        db.insert_many(cursor, "payees", [r for k, r in payees.items() if k not in held_payees])
        db.replace(cursor, "payees", "member_id", [payees[k] for k in held_payees])
        db.insert_many(cursor, "claims", [r for k, r in claims.items() if k not in held_claims])
        db.replace(cursor, "claims", "claim_id", [claims[k] for k in held_claims & changed])
        db.insert_many(cursor, "payouts", list(payouts.values()))
        db.insert_many(cursor, "payout_payees", payout_payees)
        if statuses:
            cursor.executemany(
                db.sql(PAYOUT_STATUS), [(s, *payout) for payout, s in statuses.items()]
            )


PAYEE_EVENTS = Member.Enrolled | Member.DetailsChanged
"""The events that may give a member's name, account and bank."""
MONEY_EVENTS = (
    Member.PayoutMade | Member.PayoutReturned | Member.RecoveryCollected | Member.RecoveryWrittenOff
)
"""The events that change what the member has of a claim's money."""
CLAIM_EVENTS = (
    Member.ClaimApproved
    | Member.ClaimReassessed
    | Member.ClaimRejected
    | Member.ClaimProRated
    | Member.CarriedReleased
    | MONEY_EVENTS
)
"""The events that change a claim already submitted."""
CLAIM_COLUMNS = ("claim_id", "member_id", "county", "period", "status", "approved_fen", "paid_fen")
PAYEE_COLUMNS = ("member_id", "name", "bank_account", "bank")
PAYOUT_STATUS = "UPDATE {payouts} SET status = ? WHERE claim_id = ? AND bank_reference = ?"


class Claims(Projector):
    def __init__(self, log: EventLog, db: Database) -> None:
        super().__init__(log, ClaimsModel, db)

    def payable(self, period: int | None = None) -> list[Owed]:
        """Benefits not yet paid (or paid and returned), by member and claim, with the
        member's name and account as on record: approved ones, and what the fund owes back
        on a claim reversed; of one period, or of all."""
        return self._owed("approved_fen - paid_fen", "approved_fen > paid_fen", period)

    def receivable(self) -> list[Owed]:
        """Overpayments still to recover (paid beyond a benefit a reassessment reduced), by
        member and claim, with the member's name and account as on record."""
        return self._owed("paid_fen - approved_fen", "paid_fen > approved_fen")

    def undecided(self, period: int) -> list[str]:
        """The claims of a period submitted and neither approved nor rejected yet."""
        with self.db.transaction(commit=False) as cursor:
            cursor.execute(
                self.db.sql(
                    "SELECT claim_id FROM {claims} WHERE status = 'submitted' AND period = ? "
                    "ORDER BY claim_id"
                ),
                (period,),
            )
            return [r["claim_id"] for r in cursor.fetchall()]

    def awaiting_bank(self, period: int) -> list[str]:
        """The claims of a period with a payout the bank has neither confirmed nor returned."""
        with self.db.transaction(commit=False) as cursor:
            cursor.execute(
                self.db.sql(
                    "SELECT DISTINCT o.claim_id FROM {payouts} AS o JOIN {claims} AS c "
                    "ON c.claim_id = o.claim_id WHERE c.period = ? AND o.status = 'made' "
                    "ORDER BY o.claim_id"
                ),
                (period,),
            )
            return [r["claim_id"] for r in cursor.fetchall()]

    def _owed(self, due: str, where: str, period: int | None = None) -> list[Owed]:
        of_period = "" if period is None else " AND period = ?"
        with self.db.transaction(commit=False) as cursor:
            cursor.execute(
                self.db.sql(
                    f"SELECT c.member_id, claim_id, county, {due} AS due, name, bank_account "
                    "FROM {claims} AS c LEFT JOIN {payees} AS p ON p.member_id = c.member_id "
                    f"WHERE {where}{of_period} ORDER BY c.member_id, claim_id"
                ),
                () if period is None else (period,),
            )
            return [
                Owed(
                    r["member_id"],
                    r["claim_id"],
                    r["county"],
                    from_fen(int(r["due"])),
                    r["name"],
                    r["bank_account"],
                )
                for r in cursor.fetchall()
            ]

    def payments(
        self, bank_reference: str | None = None, prefix: str | None = None
    ) -> list[Payment]:
        """Payouts under one bank reference, or under every reference that starts with prefix."""
        if prefix is None:
            where, value = "o.bank_reference = ?", bank_reference
        else:
            where, value = f"substr(o.bank_reference, 1, {len(prefix)}) = ?", prefix
        return self._payments(where, [value])

    def payments_under(self, references: Sequence[str]) -> dict[str, list[Payment]]:
        """The payouts under each of many bank references, a few hundred to a query: what a
        bank's file of results names, read in bulk; a reference with none is left out."""
        found: dict[str, list[Payment]] = {}
        for start in range(0, len(references), IDS_PER_QUERY):
            part = list(references[start : start + IDS_PER_QUERY])
            marks = ", ".join("?" * len(part))
            for payment in self._payments(f"o.bank_reference IN ({marks})", part):
                found.setdefault(payment.bank_reference, []).append(payment)
        return found

    def _payments(self, where: str, params: Sequence[object]) -> list[Payment]:
        with self.db.transaction(commit=False) as cursor:
            cursor.execute(
                self.db.sql(
                    "SELECT member_id, o.claim_id, county, o.bank_reference, amount_fen, status, "
                    "name, bank_account, bank FROM {payouts} AS o LEFT JOIN {payout_payees} AS p "
                    "ON p.claim_id = o.claim_id AND p.bank_reference = o.bank_reference "
                    f"WHERE {where} ORDER BY member_id, o.claim_id"
                ),
                list(params),
            )
            return [
                Payment(
                    r["member_id"],
                    r["claim_id"],
                    r["county"],
                    r["bank_reference"],
                    from_fen(int(r["amount_fen"])),
                    r["status"],
                    r["name"],
                    r["bank_account"],
                    r["bank"],
                )
                for r in cursor.fetchall()
            ]
