"""Claims and payouts as finance works with them: what is payable, to which account, and
under which bank reference each payment went out, to whom. Rebuildable from the log."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from domain.member import Member
from domain.money import from_fen, to_fen
from ledger.store.log import Entry, EventLog
from ledger.store.recorders import IDS_PER_QUERY
from projections.projector import Cursor, Database, Projector, ReadModel


@dataclass(frozen=True)
class Payable:
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
    """`payees`: each member's name and account as last given; `payout_payees`: the payee
    each payout recorded."""
    indexes = (
        "CREATE INDEX IF NOT EXISTS claims_payable ON {claims} (status, paid_fen, approved_fen)",
        "CREATE INDEX IF NOT EXISTS payouts_by_reference ON {payouts} (bank_reference)",
    )

    def apply(self, cursor: Cursor, entries: Sequence[Entry]) -> None:
        """One statement per kind of change, each over the whole batch: a batch of the log
        touches a claim in the order inserted, decided, paid, so applying the kinds in that
        order, each in log order, gives what applying event by event would."""
        members = []
        changes: dict[str, list[tuple[object, ...]]] = {statement: [] for statement in CHANGES}
        for _, originator, e in entries:
            if isinstance(e, Member.Registered):
                members.append((originator, e.member_id))
            elif isinstance(e, Member.Enrolled | Member.DetailsChanged):
                if e.name or e.bank_account or e.bank:
                    changes[PAYEE].append((e.name, e.bank_account, e.bank, originator))
            elif isinstance(e, Member.ClaimSubmitted):
                changes[CLAIM].append((e.claim_id, e.county, e.period, originator))
            elif isinstance(e, Member.ClaimApproved):
                changes[APPROVED].append((to_fen(e.amount), e.claim_id))
            elif isinstance(e, Member.ClaimRejected):
                changes[REJECTED].append((e.claim_id,))
            elif isinstance(e, Member.PayoutMade):
                fen = to_fen(e.amount)
                changes[PAID].append((fen, e.claim_id))
                changes[PAYOUT].append((e.claim_id, e.bank_reference, e.county, fen, originator))
                if e.bank_account is not None:
                    changes[PAYOUT_PAYEE].append(
                        (e.claim_id, e.bank_reference, e.payee_name, e.bank_account, e.bank)
                    )
            elif isinstance(e, Member.PayoutConfirmed):
                changes[PAYOUT_STATUS].append(("confirmed", e.claim_id, e.bank_reference))
            elif isinstance(e, Member.PayoutReturned):
                changes[PAID].append((-to_fen(e.amount), e.claim_id))
                changes[PAYOUT_STATUS].append(("returned", e.claim_id, e.bank_reference))
        self.db.insert_many(cursor, "members", members)
        for statement, rows in changes.items():
            if rows:
                cursor.executemany(self.db.sql(statement), rows)


PAYEE = (
    "INSERT INTO {payees} AS p SELECT member_id, ?, ?, ? FROM {members} WHERE originator_id = ? "
    "ON CONFLICT (member_id) DO UPDATE SET name = COALESCE(excluded.name, p.name), "
    "bank_account = COALESCE(excluded.bank_account, p.bank_account), "
    "bank = COALESCE(excluded.bank, p.bank)"
)
"""A detail not given keeps the one on record."""
CLAIM = (
    "INSERT INTO {claims} SELECT ?, member_id, ?, ?, 'submitted', 0, 0 "
    "FROM {members} WHERE originator_id = ?"
)
APPROVED = "UPDATE {claims} SET status = 'approved', approved_fen = ? WHERE claim_id = ?"
REJECTED = "UPDATE {claims} SET status = 'rejected' WHERE claim_id = ?"
PAID = "UPDATE {claims} SET paid_fen = paid_fen + ? WHERE claim_id = ?"
PAYOUT = (
    "INSERT INTO {payouts} SELECT ?, ?, member_id, ?, ?, 'made' "
    "FROM {members} WHERE originator_id = ?"
)
PAYOUT_PAYEE = "INSERT INTO {payout_payees} VALUES (?, ?, ?, ?, ?)"
PAYOUT_STATUS = "UPDATE {payouts} SET status = ? WHERE claim_id = ? AND bank_reference = ?"
CHANGES = (PAYEE, CLAIM, APPROVED, REJECTED, PAID, PAYOUT, PAYOUT_PAYEE, PAYOUT_STATUS)
"""In the order they apply to one claim, after its member is inserted. A payee's details
follow one another in log order; a payout takes its payee from its own event."""


class Claims(Projector):
    def __init__(self, log: EventLog, db: Database) -> None:
        super().__init__(log, ClaimsModel, db)

    def payable(self) -> list[Payable]:
        """Approved benefits not yet paid (or paid and returned), by member and claim, with
        the member's name and account as on record."""
        with self.db.transaction(commit=False) as cursor:
            cursor.execute(
                self.db.sql(
                    "SELECT c.member_id, claim_id, county, approved_fen - paid_fen AS due, "
                    "name, bank_account FROM {claims} AS c LEFT JOIN {payees} AS p "
                    "ON p.member_id = c.member_id "
                    "WHERE status = 'approved' AND approved_fen > paid_fen "
                    "ORDER BY c.member_id, claim_id"
                )
            )
            return [
                Payable(
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
