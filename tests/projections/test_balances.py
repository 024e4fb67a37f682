"""The balances read model: double entry, rebuilds, exactly-once after a crash, queries."""

import os
import signal
import subprocess
import sys
import textwrap
from collections import defaultdict
from datetime import date

from ledger.application.books import Books
from ledger.application.demo import CASHIER, run_demo
from projections.balances import Balances, Filters
from projections.projector import catch_up_together


def demo_books(db: str, members: int = 300) -> Books:
    books = Books(db)
    run_demo(books, "pinghu", counties=3, members=members, seed=7)
    return books


def test_every_event_posts_a_balanced_entry(db: str) -> None:
    books = demo_books(db)
    per_event: dict[str, int] = defaultdict(int)
    for row in books.balances.rows():
        notification_id, amount_fen = row[0], int(row[-1])
        per_event[notification_id] += amount_fen
    assert per_event and set(per_event.values()) == {0}
    assert books.report()["trial_balance"] == "0.00"
    books.close()


def test_a_rebuild_equals_the_incrementally_built_model(db: str) -> None:
    books = demo_books(db)
    incremental = books.balances.rows()
    books.balances.rebuild()
    assert books.balances.rows() == incremental
    assert books.balances.position == books.app.recorder.max_notification_id()
    books.close()


def test_catching_up_twice_applies_nothing_the_second_time(db: str) -> None:
    books = demo_books(db)
    before = books.balances.rows()
    assert books.balances.catch_up() == 0
    assert books.balances.rows() == before
    books.close()


KILL_AFTER_THREE_BATCHES = textwrap.dedent(
    """
    import os, signal, sys
    from ledger.application.books import Books

    batches = []

    def die_after_three(position):
        batches.append(position)
        if len(batches) == 3:
            os.kill(os.getpid(), signal.SIGKILL)

    Books(sys.argv[1]).balances.catch_up(batch_size=50, on_batch=die_after_three)
    """
)


def test_a_killed_projection_resumes_with_no_event_lost_or_applied_twice(db: str) -> None:
    books = demo_books(db)
    expected = books.balances.rows()
    books.balances.reset()
    result = subprocess.run(
        [sys.executable, "-c", KILL_AFTER_THREE_BATCHES, db],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    assert result.returncode == -signal.SIGKILL, result.stderr.decode()
    resumed = Balances(books.log, books.db)
    killed_at = resumed.position
    notifications = books.app.recorder.select_notifications(start=1, limit=150)
    assert killed_at == notifications[149].id  # three whole batches of 50 were committed
    assert resumed.catch_up() > 0
    assert resumed.rows() == expected
    books.close()


def test_balances_can_be_asked_per_county_period_and_date(db: str) -> None:
    books = demo_books(db)
    everything = books.report()
    county = books.report(county="C01")
    assert county["counties"]["C01"] == everything["counties"]["C01"]
    assert "city" not in county
    assert books.report(period=1)["city"] == everything["city"]
    before_any_claim = books.report(as_of=date(2025, 1, 1))
    assert before_any_claim["city"]["accounts"]["benefit_expense"] == "0.00"
    assert before_any_claim["city"]["accounts"]["premium_income:worker"] == "300.00"
    assert before_any_claim["trial_balance"] == "0.00"
    totals_c01 = books.balances.totals(Filters(entity="C01"))
    assert all(entity == "C01" for entity, _ in totals_c01)
    books.close()


def test_two_catch_ups_at_once_apply_each_event_once(db: str) -> None:
    books = demo_books(db)
    expected = books.balances.rows()
    books.balances.reset()
    rival = Books(db).balances
    overtaken = []

    def rival_runs_ahead(position: int) -> None:
        if not overtaken:
            overtaken.append(rival.catch_up(batch_size=100))

    books.balances.catch_up(batch_size=100, on_batch=rival_runs_ahead)
    assert overtaken[0] > 0
    assert books.balances.rows() == expected
    books.close()


def test_models_at_different_positions_catch_up_together_without_applying_twice(
    db: str,
) -> None:
    books = demo_books(db)
    books.catch_up()
    paid = books.claims.payments(prefix="BANK-")[0]
    books.app.return_payout(paid.claim_id, paid.bank_reference, "closed", CASHIER, date.today())
    books.catch_up()
    payable, postings = books.claims.payable(), books.balances.rows()
    assert paid.claim_id in [p.claim_id for p in payable]
    books.balances.reset()  # balances far behind, claims and the outbox at the end of the log
    catch_up_together(books.projectors, batch_size=50)
    assert books.claims.payable() == payable
    assert books.balances.rows() == postings
    books.close()
