"""The bulk path records what the Member aggregate's commands record for the same records.

A generated city (a roster with hardship members and payees, a second roster correcting
some details, premiums, settlements below the deductible, within the bands and beyond the
annual cap, a payout batch, and bank results paying and returning) goes into two ledgers on
the same backend: through the feeds (`import_records`: plain member state, events built
directly), and record by record through the aggregates' own commands, each saved on its
own, as the feeds did before. The two logs hold the same events (each aggregate's, in the
same places, byte for byte but the moment each was recorded), both chains verify, the
read models hold the same rows (by table digests) and the board statements are the same;
the feeds run again add nothing. For seed 1 both logs also hold byte for byte the events
the commands recorded before the bulk path was rewritten (tests/data/bulk-golden, made with
commit 93bb3f6), so a change to a fact both paths share cannot pass unseen; seed 2 runs
with chunks of a few members, so that members' records fall across chunks.
"""

import json
import random
from collections.abc import Callable, Iterator, Sequence
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from ledger_feeds import CASHIER, CLERK, START, open_scheme
from psycopg import sql

from domain.member import ClaimIndex, Member, MemberDetails, Settlement
from ledger.application import batch, feeds
from ledger.application.app import MutualAidLedger
from ledger.application.books import Books
from ledger.application.feeds import import_records
from ledger.application.records import (
    EnrolmentRecord,
    PayoutResultRecord,
    PremiumRecord,
    Record,
    SettlementRecord,
)
from ledger.reports.audit import verify
from ledger.reports.statement import statement
from ledger.store.recorders import POSTS_INTO

GOLDEN = Path(__file__).parents[2] / "data" / "bulk-golden" / "city-seed-1.json"
RECEIVED = date(2026, 1, 20)
PAID_ON = date(2026, 2, 1)


def city(seed: int, members: int = 40) -> list[tuple[str, Sequence[Record]]]:
    """The feeds of a generated city year, each with its kind, in the order they come. (A
    batch records each member's events together, a feed's records one after the other; a
    feed that names each member once, or in turn, gives both the same order.)"""
    rng = random.Random(seed)
    ids = [f"M{i:03d}" for i in range(members)]
    roster = [
        EnrolmentRecord(
            roster_line=f"L{i}",
            member_id=m,
            period=1,
            county=rng.choice(["C1", "C2"]),
            unit=f"U{rng.randrange(4)}",
            group=rng.choice([None, None, "hardship", "model_worker"]),
            enrolled_on=START + timedelta(days=rng.randrange(20)),
            name=f"会员{i}",
            bank_account=f"62220212{i:011d}" if rng.random() < 0.9 else None,
            phone=f"139{i:08d}" if rng.random() < 0.5 else None,
        )
        for i, m in enumerate(ids)
    ]
    corrections = [
        line.model_copy(update={"roster_line": f"L{i}b", "phone": f"138{i:08d}"})
        for i, line in enumerate(roster)
        if rng.random() < 0.2
    ]
    premiums = [
        PremiumRecord(
            receipt=f"R{i}",
            member_id=line.member_id,
            period=1,
            source="union:city",
            amount=Decimal("60.00"),
            paid_on=line.enrolled_on + timedelta(days=1),
        )
        for i, line in enumerate(roster)
    ]
    settlements = []
    for line in roster:
        for k in range(rng.choice([0, 1, 1, 2, 3])):
            eligible = Decimal(rng.choice([500, 1_800, 9_000, 60_000, 150_000])) + Decimal(
                rng.randrange(100)
            )
            admitted = date(2025, 2, 1) + timedelta(days=rng.randrange(250))
            settlements.append(
                SettlementRecord(
                    settlement_no=f"S-{line.member_id}-{k}",
                    member_id=line.member_id,
                    admitted_on=admitted,
                    discharged_on=admitted + timedelta(days=rng.randrange(1, 15)),
                    total_cost=eligible * 2,
                    insurance_paid=eligible,
                    eligible_self_paid=eligible,
                )
            )
    return [
        ("enrolments", roster),
        ("premiums", premiums),
        ("enrolments", corrections),
        ("claims", settlements),
    ]


def bank_results(payees: Sequence[str], seed: int) -> list[Record]:
    rng = random.Random(seed)
    return [
        PayoutResultRecord(
            bank_reference=f"PAY-{member}",
            status="returned" if rng.random() < 0.25 else "paid",
            reason=None,
            reported_on=PAID_ON + timedelta(days=3),
        )
        for member in payees
    ]


def one_at_a_time(app: MutualAidLedger, kind: str, records: Sequence[Record]) -> None:
    """Each record applied by the aggregates' own commands and saved on its own."""
    period = app.scheme().open_period_for_posting(1)
    for record in records:
        if isinstance(record, EnrolmentRecord):
            member = _member_or_none(app, record.member_id)
            details = MemberDetails(record.name, record.bank_account, record.bank, record.phone)
            if member is None or 1 not in member.enrolments:
                member = member or Member.register(record.member_id, CLERK, record.enrolled_on)
                member.enrol(
                    period,
                    record.county,
                    record.unit,
                    record.group,
                    CLERK,
                    record.enrolled_on,
                    details,
                    record.roster_line,
                )
            else:
                member.change_details(details, CLERK, record.enrolled_on, record.roster_line)
            app.save(member, **{POSTS_INTO: 1})
        elif isinstance(record, PremiumRecord):
            member = app.member(record.member_id)
            amounts: dict[str, object] = {record.source: record.amount}
            member.pay_premium(1, amounts, record.receipt, CLERK, record.paid_on)
            app.save(member, **{POSTS_INTO: 1})
        elif isinstance(record, SettlementRecord):
            member = app.member(record.member_id)
            on = record.discharged_on
            settlement = Settlement(
                record.settlement_no,
                record.admitted_on,
                on,
                record.total_cost,
                record.insurance_paid,
            )
            member.submit_claim(
                record.settlement_no,
                period,
                record.eligible_self_paid,
                CLERK,
                on,
                settlement,
                received_on=RECEIVED,
            )
            member.adjudicate_claim(record.settlement_no, period, on)
            index = ClaimIndex(record.settlement_no, record.member_id, CLERK, on)
            app.save(member, index, **{POSTS_INTO: 1})
        elif isinstance(record, PayoutResultRecord):
            member = app.member(record.bank_reference.removeprefix("PAY-"))
            for claim_id, claim in member.claims.items():
                if record.bank_reference not in claim.payouts:
                    continue
                if record.status == "paid":
                    member.confirm_payout(
                        claim_id, record.bank_reference, CASHIER, record.reported_on
                    )
                else:
                    member.return_payout(
                        claim_id,
                        record.bank_reference,
                        "returned by the bank",
                        CASHIER,
                        record.reported_on,
                    )
            app.save(member)


def _member_or_none(app: MutualAidLedger, member_id: str) -> Member | None:
    loaded = app.load_many([Member.create_id(member_id)]).get(Member.create_id(member_id))
    return loaded if isinstance(loaded, Member) else None


def pay_out(books: Books) -> list[str]:
    """Pay every approved claim, each member's under PAY-MEMBER; the members paid."""
    books.catch_up()
    payees: dict[str, list[str]] = {}
    for due in books.claims.payable():
        if due.bank_account is not None:
            payees.setdefault(due.member_id, []).append(due.claim_id)
    books.app.pay_out_batch(payees, "PAY-", CASHIER, PAID_ON)
    return sorted(payees)


def stored(app: MutualAidLedger) -> list[list[Any]]:
    """Every event in log order: its aggregate, version, type and stored JSON, in its order,
    but the moment it was recorded."""
    return [
        [str(e.originator_id), e.originator_version, e.topic, _without_moment(e.state)]
        for e in app.recorder.select_notifications(0, 1_000_000)
    ]


def _without_moment(state: bytes) -> str:
    fields: dict[str, Any] = orjson.loads(state)
    fields.pop("timestamp")
    return orjson.dumps(fields).decode()


@pytest.fixture
def second_db(db: str, tmp_path: Path) -> Iterator[str]:
    """Another new ledger on the same backend as `db`."""
    if not db.startswith("postgresql"):
        yield str(tmp_path / "one-at-a-time.db")
        return
    schema = "t_other_" + tmp_path.name[-8:].lower().replace("-", "_")
    url, _, _ = db.rpartition("schema=")
    yield f"{url}schema={schema}"
    with psycopg.connect(url.rstrip("?&"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.mark.parametrize("seed", [1, 2])
def test_the_bulk_path_records_what_the_commands_record_one_at_a_time(
    db: str,
    second_db: str,
    staff: Callable[[MutualAidLedger], None],
    seed: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if seed == 2:
        monkeypatch.setattr(feeds, "READ_CHUNK", 7)
        monkeypatch.setattr(batch, "CHUNK", 5)
    bulk, plain = open_scheme(db, "beijing", staff), open_scheme(second_db, "beijing", staff)
    try:
        for kind, records in city(seed):
            import_records(bulk, kind, records, CLERK, received_on=RECEIVED)
            one_at_a_time(plain.app, kind, records)
        payees = pay_out(bulk)
        assert pay_out(plain) == payees
        results = bank_results(payees, seed)
        import_records(bulk, "payout-results", results, CASHIER)
        one_at_a_time(plain.app, "payout-results", results)
        for books in (bulk, plain):
            books.catch_up()

        assert stored(bulk.app) == stored(plain.app)
        if seed == 1:
            assert stored(bulk.app) == json.loads(GOLDEN.read_text("utf-8"))
        outcomes = {e[2].rpartition(".")[2] for e in stored(bulk.app)}
        assert {"ClaimApproved", "ClaimRejected", "DetailsChanged", "PayoutReturned"} <= outcomes
        for books in (bulk, plain):
            chain, replay = verify(books)
            assert chain.findings == [] and replay.differences == []
        for live_bulk, live_plain in zip(bulk.live, plain.live, strict=True):
            for table in live_bulk.model.tables:
                leave_out = live_bulk.model.not_replayed
                assert live_bulk.db.digest(table, leave_out) == live_plain.db.digest(
                    table, leave_out
                ), table
        board = [statement(books, 1).as_dict() for books in (bulk, plain)]
        known_at = [figures.pop("known_at") for figures in board]
        assert known_at[0]["position"] == known_at[1]["position"]
        assert board[0] == board[1]
        assert board[0]["largest_claims"]

        end = bulk.log.last_position()
        for kind, records in city(seed):
            again = import_records(bulk, kind, records, CLERK, received_on=RECEIVED)
            assert again.imported == 0 and again.already_present == len(records)
        assert bulk.log.last_position() == end
    finally:
        bulk.close()
        plain.close()
