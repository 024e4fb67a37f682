"""Benefit items from the command line: Weihai's hospital allowance of 40 yuan a day claimed
beside its hospital item, shown by item in the statement; claims that do not fit their
item refused in one line."""

import json

from cli_runner import Ledger


def weihai(ledger: Ledger, db: str) -> None:
    ledger.ok(db, "scheme", "create", "--name", "Weihai", "--preset", "weihai",
              "--county", "HC=Huancui", "--date", "2025-01-01")  # fmt: skip
    for role in ("clerk", "approver", "cashier"):
        ledger.ok(db, "users", "grant", "tester", role)
    ledger.ok(db, "users", "grant", "approver", "approver")
    ledger.ok(db, "period", "open", "1", "--start", "2025-01-01", "--end", "2025-12-31")
    on = ("--date", "2025-02-01")
    ledger.ok(db, "enrol", "m1", "--period", "1", "--county", "HC", "--unit", "U", *on)
    ledger.ok(db, "pay-premium", "m1", "--period", "1", "--receipt", "R1", *on)


def test_a_hospital_allowance_is_claimed_by_the_day_and_shown_by_item(
    ledger: Ledger, db: str
) -> None:
    weihai(ledger, db)
    on = ("--date", "2025-03-01")
    ledger.ok(db, "claim", "submit", "m1", "--period", "1", "--self-paid", "10000",
              "--claim-id", "H1", *on)  # fmt: skip
    ledger.ok(db, "claim", "submit", "m1", "--period", "1", "--item", "hospital_allowance",
              "--days", "12", "--claim-id", "A1", *on)  # fmt: skip
    approved = ledger.json(db, "--actor", "approver", "claim", "approve", "A1", *on)
    assert approved["benefit"] == "480.00"
    ledger.ok(db, "--actor", "approver", "claim", "approve", "H1", *on)  # (10000-8000) x 50%

    data = json.loads(ledger.ok(db, "statement", "--period", "1", "--format", "json"))
    assert [(r["item"], r["claims"], r["benefits_approved"]) for r in data["by_item"]] == [
        ("inpatient", 1, "1000.00"),
        ("hospital_allowance", 1, "480.00"),
    ]


def test_claims_that_do_not_fit_their_item_are_refused_in_one_line(ledger: Ledger, db: str) -> None:
    weihai(ledger, db)
    claim = ("claim", "submit", "m1", "--period", "1", "--date", "2025-03-01")
    assert ledger.refused(db, *claim, "--item", "dental") == (
        "error: claim 'm1-1-1': 'dental' is no benefit item of the policy (hospital_allowance)"
    )
    assert ledger.refused(db, *claim, "--item", "hospital_allowance", "--self-paid", "100") == (
        "error: claim 'm1-1-1': 'hospital_allowance' pays by the day in hospital, on no eligible "
        "amount: give none"
    )
    assert ledger.refused(db, *claim, "--item", "hospital_allowance") == (
        "error: claim 'm1-1-1': a claim of 'hospital_allowance' needs the days in hospital, from "
        "1 to 366"
    )
    assert ledger.refused(db, *claim) == (
        "error: claim 'm1-1-1': give the eligible self-paid amount, or the settlement's self-paid "
        "components"
    )
