"""Appeals, corrections and recoveries from the command line: a paid claim reduced, the
overpayment listed, the member's appeal decided by a third approver, the rest collected
and written off; the books, the statement and the explanation of benefit agree."""

import json

from cli_runner import Ledger, create_scheme, events_in

ON = ("--date", "2025-03-01")


def paid_claim(ledger: Ledger, db: str) -> None:
    """Claim S1 of member m1 (6,000 self-paid) approved for 1,380.00 and paid."""
    create_scheme(ledger, db)
    ledger.ok(db, "enrol", "m1", "--period", "1", "--county", "C1", "--unit", "U", *ON)
    ledger.ok(db, "pay-premium", "m1", "--period", "1", "--receipt", "R1", *ON)
    ledger.ok(
        db, "claim", "submit", "m1", "--period", "1", "--self-paid", "6000", "--claim-id", "S1", *ON
    )
    ledger.ok(db, "--actor", "approver", "claim", "approve", "S1", *ON)
    ledger.ok(db, "payouts", "make", "S1", "--bank-ref", "B1", *ON)


def c1(ledger: Ledger, db: str) -> dict[str, str]:
    report = json.loads(ledger.ok(db, "balances", "--json"))
    assert report["trial_balance"] == "0.00"
    accounts: dict[str, str] = report["counties"]["C1"]["accounts"]
    return accounts


def test_a_paid_claim_reduced_appealed_recovered_and_written_off(ledger: Ledger, db: str) -> None:
    paid_claim(ledger, db)
    corrected = ledger.json(
        db, "--actor", "approver", "claim", "correct", "S1", "--self-paid", "3000",
        "--reason", "insurance re-settled the bill", *ON,
    )  # fmt: skip
    assert corrected == {"claim": "S1", "benefit": "480.00"}
    owed = json.loads(ledger.ok(db, "recoveries", "list", "--json"))
    assert [(o["claim"], o["to_recover"]) for o in owed] == [("S1", "900.00")]
    books = c1(ledger, db)
    assert (books["recovery_receivable"], books["benefit_expense"]) == ("900.00", "480.00")

    ledger.ok(db, "claim", "appeal", "S1", "--grounds", "the first bill was right", *ON)
    assert ledger.refused(
        db, "--actor", "approver", "claim", "reassess", "S1", "--self-paid", "4000",
        "--reason", "checked", *ON,
    ) == "error: approver may not reassess claim S1: approver decided it"  # fmt: skip
    ledger.ok(db, "users", "grant", "reviewer", "approver")
    reassessed = ledger.json(
        db, "--actor", "reviewer", "claim", "reassess", "S1", "--self-paid", "4000",
        "--reason", "a stay was left out", *ON,
    )  # fmt: skip
    assert reassessed["benefit"] == "680.00"

    collected = ledger.json(
        db, "recoveries", "collect", "S1", "--receipt", "RC1", "--amount", "300", *ON
    )
    assert collected["collected"] == "300.00"
    written_off = ledger.json(
        db, "--actor", "approver", "recoveries", "write-off", "S1",
        "--reason", "the member cannot pay", *ON,
    )  # fmt: skip
    assert written_off["written_off"] == "400.00"
    assert json.loads(ledger.ok(db, "recoveries", "list", "--json")) == []
    books = c1(ledger, db)
    assert books["recovery_receivable"] == "0.00"
    assert (books["benefit_expense"], books["recoveries_written_off"]) == ("680.00", "400.00")
    assert books["bank"] == "-1030.00"  # 50 premium, 1,380 paid, 300 paid back

    explained = json.loads(ledger.ok(db, "claim", "explain", "S1"))
    assert (explained["status"], explained["benefit"], explained["eligible"]) == (
        "approved",
        "680.00",
        "4000.00",
    )
    assert (explained["paid"], explained["settled"], explained["to_recover"]) == (
        "1380.00",
        "700.00",
        "0.00",
    )
    assert [(d["benefit"], d["reason"]) for d in explained["decisions"]] == [
        ("1380.00", None),
        ("480.00", "insurance re-settled the bill"),
        ("680.00", "a stay was left out"),
    ]
    statement = json.loads(ledger.ok(db, "statement", "--period", "1", "--format", "json"))
    city = statement["city"]
    assert (city["benefits_approved"], city["benefits_paid"], city["claims"]) == (
        "680.00",
        "1080.00",
        1,
    )
    [largest] = statement["largest_claims"]  # as the last decision left it
    assert (largest["self_paid"], largest["benefit"]) == ("4000.00", "680.00")
    assert [(b["claims"], b["benefits"]) for b in statement["claims_by_size"] if b["claims"]] == [
        (1, "680.00")
    ]

    ledger.ok(db, "period", "close", "1", "--date", "2026-01-31")
    closed = json.loads(ledger.ok(db, "balances", "--json", "--county", "C1"))
    assert closed["counties"]["C1"]["surplus"] == "0.00"


def test_a_reversal_leaves_the_claim_out_of_the_statement_and_the_payable(
    ledger: Ledger, db: str
) -> None:
    create_scheme(ledger, db)
    ledger.ok(db, "enrol", "m1", "--period", "1", "--county", "C1", "--unit", "U", *ON)
    ledger.ok(db, "pay-premium", "m1", "--period", "1", "--receipt", "R1", *ON)
    ledger.ok(
        db, "claim", "submit", "m1", "--period", "1", "--self-paid", "6000", "--claim-id", "S1", *ON
    )
    ledger.ok(db, "--actor", "approver", "claim", "approve", "S1", *ON)
    ledger.ok(
        db, "--actor", "approver", "claim", "correct", "S1", "--reverse",
        "--reason", "duplicate settlement", *ON,
    )  # fmt: skip
    statement = json.loads(ledger.ok(db, "statement", "--period", "1", "--format", "json"))
    assert (statement["city"]["claims"], statement["city"]["benefits_approved"]) == (0, "0.00")
    assert statement["largest_claims"] == []
    assert [b["claims"] for b in statement["claims_by_size"]] == [0, 0, 0, 0, 0]
    assert c1(ledger, db)["benefits_payable"] == "0.00"
    assert ledger.refused(db, "payouts", "make", "S1", "--bank-ref", "B1", *ON) == (
        "error: claim 'S1' is reversed, not approved"
    )


def test_bad_corrections_appeals_and_recoveries_are_refused_whole(ledger: Ledger, db: str) -> None:
    paid_claim(ledger, db)
    before = events_in(db)
    as_approver = ("--actor", "approver")
    for args, message in [
        (
            (*as_approver, "claim", "correct", "S1", "--reason", "wrong"),
            "error: claim 'S1': give either the corrected eligible self-paid amount or a reversal",
        ),
        (
            (*as_approver, "claim", "correct", "S1", "--reverse", "--self-paid", "1", "--reason",
             "x"),
            "error: claim 'S1': give either the corrected eligible self-paid amount or a reversal",
        ),
        (
            (*as_approver, "claim", "correct", "S1", "--reverse", "--reason", " "),
            "error: claim 'S1': a reassessment needs a reason",
        ),
        (
            ("claim", "correct", "S1", "--reverse", "--reason", "fraud"),
            "error: tester may not correct claim S1: tester submitted it",
        ),
        (
            (*as_approver, "claim", "correct", "S1", "--self-paid", "-5", "--reason", "x"),
            "error: eligible self-paid amount: '-5' is not a valid amount: must be greater "
            "than zero",
        ),
        (
            ("claim", "appeal", "S1", "--grounds", ""),
            "error: claim 'S1': an appeal needs its grounds",
        ),
        (
            ("claim", "reassess", "S1", "--reason", "x"),
            "error: tester may not reassess claim S1: tester submitted it",
        ),
        (
            ("recoveries", "collect", "S1", "--receipt", "RC1"),
            "error: claim 'S1': nothing is to be recovered",
        ),
        (
            (*as_approver, "recoveries", "write-off", "NOPE", "--reason", "x"),
            "error: unknown claim 'NOPE'",
        ),
    ]:  # fmt: skip
        assert ledger.refused(db, *args, *ON) == message
    assert events_in(db) == before
