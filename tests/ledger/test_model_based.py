"""A model of the fund run against the real books, on both backends (hypothesis stateful
testing, as TigerBeetle's simulator does for its invariants): random sequences of
enrolments, premiums, claims, decisions, payouts, returns, adjustments and the close, with
the invariants checked after every step. Each run gets a ledger of its own.

The invariants: the trial balance is zero; no member's benefits approved in the period
exceed the annual cap; no claim is paid beyond what was approved; the period closes once;
its deficits are shared once (one share per county); every read model equals its replay
from the log; and the store refuses nothing the model expects to land."""

import uuid
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from psycopg import sql

from domain.errors import ClaimError, LedgerError
from domain.money import ZERO
from domain.policy import Policy
from domain.scheme import Scheme
from ledger.application.books import Books
from ledger.application.policies import load_preset
from ledger.reports.audit import check_read_models

START, END, ON, CLOSED_ON = (
    date(2025, 1, 1),
    date(2025, 12, 31),
    date(2025, 3, 1),
    date(2026, 1, 31),
)
CAP = Decimal("6000.00")
COUNTIES = ("C1", "C2")
AMOUNTS = st.sampled_from(["700.00", "1200.00", "4999.99", "8000.00", "15000.00", "30000.00"])


def capped_policy() -> Policy:
    """Pinghu's bands, with an annual cap low enough for a few claims to reach it."""
    policy = load_preset("pinghu").policy_for(1)
    benefit = policy.benefit.model_copy(update={"annual_cap": CAP})
    return policy.model_copy(update={"benefit": benefit, "version": "pinghu-capped"})


class Fund(RuleBasedStateMachine):
    """The model keeps what the books must show; the books are the system under test."""

    new_ledger: Callable[[], str]

    members = Bundle("members")
    submitted = Bundle("submitted")
    approved = Bundle("approved")
    paid = Bundle("paid")

    @initialize()
    def open_the_books(self) -> None:
        self.books = Books(self.new_ledger())
        app = self.books.app
        app.create_scheme("Model", None, {c: c for c in COUNTIES}, "admin", START)
        for user in ("clerk", "approver", "cashier"):
            app.grant_role(user, user, "admin", START)
        app.open_period(1, START, END, capped_policy(), "approver", START)
        self.approved_of: dict[str, Decimal] = {}
        self.member_of: dict[str, str] = {}
        self.paid_of: dict[str, Decimal] = {}
        self.reference_of: dict[str, str] = {}
        self.closed = False
        self.count = 0

    def teardown(self) -> None:
        self.books.close()

    def _next(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    @precondition(lambda self: not self.closed)
    @rule(target=members, county=st.sampled_from(COUNTIES))
    def enrol_and_pay(self, county: str) -> str:
        member = self._next("M")
        self.books.app.enrol(member, 1, county, "U1", None, "clerk", ON)
        self.books.app.pay_premium(member, 1, None, f"R-{member}", "clerk", ON)
        return member

    @precondition(lambda self: not self.closed)
    @rule(target=submitted, member=members, amount=AMOUNTS)
    def submit(self, member: str, amount: str) -> str:
        claim = self.books.app.submit_claim(member, 1, amount, "clerk", ON)
        self.member_of[claim] = member
        return claim

    @precondition(lambda self: not self.closed)
    @rule(target=approved, claim=consumes(submitted))
    def approve(self, claim: str) -> str:
        member = self.member_of[claim]
        used = sum((b for c, b in self.approved_of.items() if self.member_of[c] == member), ZERO)
        if used >= CAP:  # nothing left of the cap: the ledger has it rejected instead
            with pytest.raises(ClaimError, match=r"annual cap of 6000\.00 is used up"):
                self.books.app.approve_claim(claim, "approver", ON)
            self.books.app.reject_claim(claim, "cap used up", "approver", ON)
            self.approved_of[claim] = ZERO
            return claim
        calculation = self.books.app.approve_claim(claim, "approver", ON)
        assert calculation.benefit <= CAP - used
        self.approved_of[claim] = calculation.benefit
        return claim

    @precondition(lambda self: not self.closed)
    @rule(claim=consumes(submitted))
    def reject(self, claim: str) -> None:
        self.books.app.reject_claim(claim, "not covered", "approver", ON)

    @precondition(lambda self: not self.closed)
    @rule(target=paid, claim=consumes(approved))
    def pay(self, claim: str) -> str:
        reference = self._next("B-")
        if self.approved_of[claim] == 0:  # a benefit of nothing: nothing to pay
            with pytest.raises(LedgerError):
                self.books.app.make_payout(claim, None, reference, "cashier", ON)
            return claim
        self.paid_of[claim] = self.books.app.make_payout(claim, None, reference, "cashier", ON)
        self.reference_of[claim] = reference
        return claim

    @precondition(lambda self: not self.closed)
    @rule(claim=paid)
    def pay_again(self, claim: str) -> None:
        """A second payout of a paid claim is refused: nothing is payable."""
        with pytest.raises(LedgerError):
            self.books.app.make_payout(claim, None, self._next("again-"), "cashier", ON)

    @precondition(lambda self: not self.closed)
    @rule(target=approved, claim=consumes(paid))
    def bank_returns(self, claim: str) -> str:
        if claim in self.paid_of:
            reference = self.reference_of[claim]
            self.books.app.return_payout(claim, reference, "account closed", "cashier", ON)
            self.paid_of.pop(claim)
        return claim  # payable again: it may be paid again, under a new reference

    @precondition(lambda self: not self.closed)
    @rule(county=st.sampled_from(COUNTIES), amount=st.sampled_from(["10.00", "250.00"]))
    def adjust(self, county: str, amount: str) -> None:
        self.books.app.post_adjustment(
            1, county, "bank", "premium_income:other", amount, "late receipt", "approver", ON
        )

    @precondition(lambda self: not self.closed and len(self.approved_of) >= 3)
    @rule()
    def close(self) -> None:
        """Once a few claims were decided: a close at the start ends the run early."""
        self.books.close_period(1, "approver", CLOSED_ON)
        self.closed = True

    @precondition(lambda self: self.closed)
    @rule()
    def close_again(self) -> None:
        with pytest.raises(LedgerError, match="period 1 is closed"):
            self.books.close_period(1, "approver", CLOSED_ON)

    @invariant()
    def the_books_balance(self) -> None:
        assert self.books.report()["trial_balance"] == "0.00"

    @invariant()
    def approved_within_the_cap_and_paid_within_approved(self) -> None:
        per_member: dict[str, Decimal] = {}
        for claim, benefit in self.approved_of.items():
            member = self.member_of[claim]
            per_member[member] = per_member.get(member, Decimal(0)) + benefit
        assert all(total <= CAP for total in per_member.values()), per_member
        assert all(self.paid_of[c] <= self.approved_of[c] for c in self.paid_of)
        self.books.claims.catch_up()
        for owed in self.books.claims.payable():
            assert owed.amount >= 0

    @invariant()
    def closed_once_and_shared_once(self) -> None:
        events = [e for _, e in self.books.log.events_after(0, 100_000)]
        closes = [e for e in events if isinstance(e, Scheme.PeriodClosed)]
        assert len(closes) == (1 if self.closed else 0)
        shares = [e for e in events if isinstance(e, Scheme.DeficitShared)]
        assert len({e.county for e in shares}) == len(shares) <= len(COUNTIES)

    @invariant()
    def every_read_model_equals_its_replay(self) -> None:
        self.books.catch_up()
        assert check_read_models(self.books).differences == []


def new_ledgers(db: str) -> tuple[Callable[[], str], Callable[[], None]]:
    """A fresh ledger for each run of the machine, beside `db`, and what drops them all."""
    made: list[str] = []

    def new() -> str:
        name = uuid.uuid4().hex[:10]
        made.append(f"{db}-{name}.db" if "://" not in db else f"{db}{name}")
        return made[-1]

    def drop() -> None:
        for url in made:
            if "://" in url:
                server, _, schema = url.partition("?schema=")
                with psycopg.connect(server, autocommit=True) as conn:
                    conn.execute(
                        sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
                    )

    return new, drop


def test_random_histories_keep_every_invariant(db: str) -> None:
    new, drop = new_ledgers(db)
    machine: Any = type("FundHere", (Fund,), {"new_ledger": staticmethod(new)})
    try:
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=12,
                stateful_step_count=24,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
    finally:
        drop()
