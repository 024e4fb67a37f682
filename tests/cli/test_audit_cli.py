"""`ledger audit trail` and `ledger balances --as-known-at / --explain` as an auditor uses
them."""

import codecs
import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cli_runner import Ledger, create_scheme


def claim_approved(ledger: Ledger, db: str, member: str = "m1") -> None:
    """A member of C1 enrolled and paid up, whose claim S1 (10380.00) tester submitted and
    approver approved."""
    create_scheme(ledger, db)
    enrol = ("enrol", member, "--period", "1", "--county", "C1", "--unit", "Glass Works")
    ledger.ok(db, *enrol, "--date", "2025-01-02")
    premium = ("pay-premium", member, "--period", "1", "--receipt", f"R-{member}")
    ledger.ok(db, *premium, "--date", "2025-01-02")
    submit = ("claim", "submit", member, "--period", "1", "--self-paid", "20000")
    ledger.ok(db, *submit, "--claim-id", "S1", "--date", "2025-03-01")
    ledger.ok(db, "--actor", "approver", "claim", "approve", "S1", "--date", "2025-03-05")


def trail_json(ledger: Ledger, db: str, *args: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = ledger.json(db, "audit", "trail", *args)["events"]  # type: ignore[assignment]
    return events


def test_a_members_trail_shows_each_event_with_its_actor_amounts_and_postings(
    ledger: Ledger, db: str
) -> None:
    claim_approved(ledger, db)
    ledger.ok(db, "payouts", "make", "S1", "--bank-ref", "B1", "--date", "2025-04-01")
    printed = ledger.ok(db, "audit", "trail", "--member", "m1")
    assert "Trail of member m1" in printed
    for shown in ("Registered", "PremiumPaid", "ClaimApproved", "approver", "PayoutMade"):
        assert shown in printed
    assert "C1 benefit_expense Dr 10380.00" in printed
    assert printed.rstrip().endswith("6 events.")
    events = trail_json(ledger, db, "--member", "m1")
    assert [(e["event"], e["actor"]) for e in events] == [
        ("Registered", "tester"),
        ("Enrolled", "tester"),
        ("PremiumPaid", "tester"),
        ("ClaimSubmitted", "tester"),
        ("ClaimApproved", "approver"),
        ("PayoutMade", "tester"),
    ]
    approved = events[4]
    assert approved["effective_date"] == "2025-03-05"
    assert approved["claim"] == "S1" and approved["member"] == "m1"
    assert approved["amounts"] == {"amount": "10380.00"}
    assert approved["postings"] == [
        {"entity": "C1", "account": "benefit_expense", "period": 1, "amount": "10380.00"},
        {"entity": "C1", "account": "benefits_payable", "period": 1, "amount": "-10380.00"},
    ]
    assert [e["position"] for e in events] == sorted(e["position"] for e in events)
    claim = trail_json(ledger, db, "--claim", "S1")
    assert [e["event"] for e in claim] == ["ClaimSubmitted", "ClaimApproved", "PayoutMade"]
    county = trail_json(ledger, db, "--county", "C1", "--period", "1")
    assert [e["event"] for e in county] == [
        "PeriodOpened",
        "PremiumPaid",
        "ClaimApproved",
        "PayoutMade",
    ]


def test_a_trail_exports_to_csv_one_row_per_posting_for_spreadsheets(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    claim_approved(ledger, db, member="张三")
    file = tmp_path / "trail.csv"
    printed = ledger.ok(db, "audit", "trail", "--member", "张三", "--csv", "-o", str(file))
    assert printed == f"Wrote 5 events in 8 rows to {file}.\n"
    raw = file.read_bytes()
    assert raw.startswith(codecs.BOM_UTF8)
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert [r["event"] for r in rows] == [
        "Registered",
        "Enrolled",
        "PremiumPaid",
        "PremiumPaid",
        "PremiumPaid",
        "ClaimSubmitted",
        "ClaimApproved",
        "ClaimApproved",
    ]
    assert {r["member"] for r in rows} == {"张三"}
    premium = [r for r in rows if r["event"] == "PremiumPaid"]
    assert [(r["posting_account"], r["posting_amount"]) for r in premium] == [
        ("bank", "50.00"),
        ("premium_income:union:city", "-49.00"),
        ("premium_income:worker", "-1.00"),
    ]
    assert premium[0]["amounts"] == "amounts.union:city=49.00; amounts.worker=1.00"
    assert rows[0]["posting_account"] == "" and rows[0]["recorded_at"].endswith("Z")
    to_stdout = ledger.ok(db, "audit", "trail", "--member", "张三", "--csv", "--out", "-")
    assert not to_stdout.startswith("\ufeff")
    assert list(csv.DictReader(io.StringIO(to_stdout))) == rows
    assert ledger.ok(db, "audit", "trail", "--member", "张三", "--csv") == to_stdout


LATE_RECEIPT = (
    "adjust",
    "--period",
    "1",
    "--entity",
    "C1",
    "--debit",
    "bank",
    "--credit",
    "premium_income:other",
    "--amount",
    "10.00",
    "--reason",
    "late receipt",
    "--date",
    "2025-07-01",
)


def test_balances_as_known_at_give_what_the_books_said_before_a_late_entry(
    ledger: Ledger, db: str
) -> None:
    claim_approved(ledger, db)
    issued = trail_json(ledger, db, "--member", "m1")[-1]["position"]
    issued_at = datetime.now(UTC).isoformat()
    statement = ledger.json(db, "balances", "--period", "1")
    ledger.ok(db, *LATE_RECEIPT)
    now = ledger.json(db, "balances", "--period", "1")
    assert now["counties"]["C1"]["accounts"]["premium_income:other"] == "10.00"  # type: ignore[index]
    for known in (str(issued), issued_at, issued_at.replace("+00:00", "Z")):
        then = ledger.json(db, "balances", "--period", "1", "--as-known-at", known)
        assert then["filters"] == {**statement["filters"], "known_at": issued}  # type: ignore[dict-item]
        assert then["counties"] == statement["counties"]
        assert then["city"] == statement["city"]
    county = ledger.json(db, "balances", "--county", "C1", "--as-known-at", str(issued))
    assert county["counties"] == {"C1": statement["counties"]["C1"]}  # type: ignore[index]
    printed = ledger.ok(db, "balances", "--as-known-at", str(issued))
    assert f"as known at position {issued}" in printed
    late = trail_json(ledger, db, "--county", "C1", "--period", "1")
    assert late[-1]["event"] == "AdjustmentPosted"
    assert late[-1]["effective_date"] == "2025-07-01"
    before = trail_json(ledger, db, "--county", "C1", "--period", "1", "--as-known-at", issued_at)
    assert before == late[:-1]


def test_explain_lists_the_postings_whose_total_is_the_balance(ledger: Ledger, db: str) -> None:
    claim_approved(ledger, db)
    payout = ("payouts", "make", "S1", "--bank-ref", "B1", "--amount", "380.00")
    ledger.ok(db, *payout, "--date", "2025-04-01")
    ledger.ok(db, *LATE_RECEIPT)
    ledger.ok(db, "period", "close", "1", "--date", "2026-01-31")
    balances = ledger.json(db, "balances")
    for county, account in [
        ("C1", "bank"),
        ("C1", "benefits_payable"),
        ("C1", "premium_income:other"),
        ("C1", "deficit_transfers_in"),
        ("CITY", "deficit_transfers_out"),
    ]:
        explained = ledger.json(db, "balances", "--county", county, "--explain", account)
        shown = balances["city_pool" if county == "CITY" else "counties"]
        if county != "CITY":
            shown = shown[county]  # type: ignore[index]
        assert explained["total"] == shown["accounts"][account], (county, account)  # type: ignore[index]
        assert explained["filters"]["entity"] == county  # type: ignore[index]
    bank = ledger.json(db, "balances", "--county", "C1", "--explain", "bank")
    assert [(p["event"], p["amount"]) for p in bank["postings"]] == [  # type: ignore[attr-defined]
        ("PremiumPaid", "50.00"),
        ("PayoutMade", "-380.00"),
        ("AdjustmentPosted", "10.00"),
        ("DeficitShared", "5160.00"),
        ("DeficitShared", "5160.00"),
    ]
    as_of = ledger.json(
        db, "balances", "--county", "C1", "--explain", "bank", "--as-of", "2025-06-30"
    )
    shown_as_of = ledger.json(db, "balances", "--county", "C1", "--as-of", "2025-06-30")
    assert as_of["total"] == shown_as_of["counties"]["C1"]["accounts"]["bank"]  # type: ignore[index]
    printed = ledger.ok(db, "balances", "--county", "C1", "--explain", "bank")
    assert "C1 bank" in printed and "AdjustmentPosted" in printed
    assert printed.rstrip().endswith("Total of 5 postings: 10000.00, the balance of C1 bank.")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("audit", "trail", "--member", "nobody"), "error: unknown member 'nobody'"),
        (("audit", "trail", "--claim", "S9"), "error: unknown claim 'S9'"),
        (("audit", "trail", "--member", "m1", "--claim", "S1"), "give one of --member ID"),
        (("audit", "trail"), "give one of --member ID"),
        (("audit", "trail", "--county", "C1"), "--county and --period go together"),
        (("audit", "trail", "--county", "C9", "--period", "1"), "county 'C9'"),
        (("audit", "trail", "--county", "C1", "--period", "3"), "period 3 has not been opened"),
        (("audit", "trail", "--member", "m1", "--csv", "--json"), "--csv and --json"),
        (("audit", "trail", "--member", "m1", "--out", "t.csv"), "--out: the trail is written"),
        (
            ("audit", "trail", "--member", "m1", "--as-known-at", "last week"),
            "--as-known-at: 'last week' is neither a log position nor a date and time",
        ),
        (("balances", "--as-known-at", "2026-01-31"), "is a date; give a date and time"),
        (("balances", "--as-known-at", "99999"), "position 99999 is beyond the end of the log"),
        (
            ("balances", "--as-known-at", "0001-01-01T00:00:00+08:00"),
            "--as-known-at: '0001-01-01T00:00:00+08:00' is out of range",
        ),
        (("balances", "--explain", "bank"), "--explain needs --county"),
        (("balances", "--county", "C1", "--explain", "cash"), "unknown account 'cash'"),
    ],
)
def test_a_bad_trail_or_point_in_time_request_is_a_one_line_error(
    ledger: Ledger, db: str, args: tuple[str, ...], message: str
) -> None:
    claim_approved(ledger, db)
    assert message in ledger.refused(db, *args)
