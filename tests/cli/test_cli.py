"""The `ledger` command end to end: real processes, real databases, what a user sees."""

import json
from datetime import date
from pathlib import Path

import pytest
from cli_runner import Ledger, console_script, create_scheme, events_in, one_line_error
from feed_files import CLAIM_HEADER, claim, write_feed
from rawdb import raw

from ledger.application.books import Books

IN_PERIOD_1 = ("--period", "1", "--county", "C1", "--unit", "U")


def test_a_clerk_records_a_whole_claim_from_the_command_line(ledger: Ledger, db: str) -> None:
    create_scheme(ledger, db)
    ledger.ok(
        db,
        "enrol",
        "m1",
        "--period",
        "1",
        "--county",
        "C1",
        "--unit",
        "Glass Works",
        "--date",
        "2025-01-02",
    )
    ledger.ok(
        db, "pay-premium", "m1", "--period", "1", "--receipt", "R1", "--source", "union:city=49"
    )
    assert "has paid 49.00 of the 50.00" in ledger.refused(
        db, "claim", "submit", "m1", "--period", "1", "--self-paid", "900", "--date", "2025-03-01"
    )
    ledger.ok(db, "pay-premium", "m1", "--period", "1", "--receipt", "R2")
    ledger.ok(
        db,
        "claim",
        "submit",
        "m1",
        "--period",
        "1",
        "--self-paid",
        "20000",
        "--claim-id",
        "S1",
        "--date",
        "2025-03-01",
    )
    approval = json.loads(ledger.ok(db, "--actor", "approver", "claim", "approve", "S1", "--json"))
    assert approval["benefit"] == "10380.00"
    assert [b["amount"] for b in approval["bands"]] == ["880.00", "2500.00", "7000.00"]
    ledger.ok(db, "payouts", "make", "S1", "--bank-ref", "B1")
    ledger.ok(db, "payouts", "return", "S1", "--bank-ref", "B1", "--reason", "account closed")
    report = json.loads(ledger.ok(db, "balances", "--json"))
    c1 = report["counties"]["C1"]["accounts"]
    assert c1["benefits_payable"] == "10380.00"
    assert c1["bank"] == "50.00"
    assert report["trial_balance"] == "0.00"
    ledger.ok(db, "period", "close", "1", "--date", "2026-01-31")
    closed = json.loads(ledger.ok(db, "balances", "--json", "--county", "C1"))
    assert closed["counties"]["C1"]["surplus"] == "0.00"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("claim", "approve", "nope"), "unknown claim 'nope'"),
        (("enrol", "m1", "--period", "1", "--county", "C9", "--unit", "U"), "county 'C9'"),
        (("enrol", "m1", "--period", "2", "--county", "C1", "--unit", "U"), "period 2"),
        (("balances", "--as-of", "2025-13-01"), "--as-of: '2025-13-01' is not a date"),
        (
            (
                "adjust",
                "--period",
                "1",
                "--entity",
                "C1",
                "--debit",
                "bank",
                "--credit",
                "premium_income:worker",
                "--amount",
                "1.005",
                "--reason",
                "x",
            ),
            "more than 2 decimal",
        ),
        (
            (
                "adjust",
                "--period",
                "1",
                "--entity",
                "C1",
                "--debit",
                "bank",
                "--credit",
                "premium_income:worker",
                "--amount",
                "NaN",
                "--reason",
                "x",
            ),
            "not a finite number",
        ),
        (
            (
                "adjust",
                "--period",
                "1",
                "--entity",
                "C1",
                "--debit",
                "cash",
                "--credit",
                "bank",
                "--amount",
                "1",
                "--reason",
                "x",
            ),
            "unknown account 'cash'",
        ),
        (
            ("period", "open", "1", "--start", "2025-01-01", "--end", "2025-12-31"),
            "period 1 is already open",
        ),
        (
            (
                "pay-premium",
                "m1",
                "--period",
                "1",
                "--receipt",
                "R",
                "--source",
                "worker=0.50",
                "--source",
                "worker=0.50",
            ),
            "'worker' given twice",
        ),
        (
            (
                "pay-premium",
                "m1",
                "--period",
                "1",
                "--receipt",
                "R",
                "--source",
                "union:city=4,9",
            ),
            "not a number in yuan",
        ),
        (
            (
                "claim",
                "submit",
                "m2",
                "--period",
                "1",
                "--self-paid",
                "1e2",
                "--date",
                "2025-03-01",
            ),
            "not a number",
        ),
        (("scheme", "create", "--name", "X", "--county", "A=B"), "already holds a scheme"),
        (
            (
                "period",
                "open",
                "2",
                "--start",
                "2026-01-01",
                "--end",
                "2026-12-31",
                "--policy-file",
                "/nonexistent.json",
            ),
            "cannot read",
        ),
    ],
)
def test_bad_requests_get_one_line_and_change_nothing(
    ledger: Ledger, db: str, args: tuple[str, ...], message: str
) -> None:
    create_scheme(ledger, db)
    for member in ("m1", "m2"):
        ledger.ok(db, "enrol", member, *IN_PERIOD_1, "--date", "2025-01-02")
    ledger.ok(db, "pay-premium", "m1", "--period", "1", "--receipt", "R1", "--source", "worker=1")
    ledger.ok(db, "pay-premium", "m2", "--period", "1", "--receipt", "R2")
    before = ledger.ok(db, "balances", "--json"), events_in(db)
    assert message in ledger.refused(db, *args)
    assert (ledger.ok(db, "balances", "--json"), events_in(db)) == before


def decided_claims(ledger: Ledger, db: str) -> None:
    """m1 and m2 paid up; S1 of m1 (20,000) submitted 2025-03-01, approved 2025-03-05 and
    paid 2025-03-10 under B1; S2 of m2 (500, below the deductible) submitted 2025-03-01."""
    create_scheme(ledger, db)
    for member in ("m1", "m2"):
        ledger.ok(db, "enrol", member, *IN_PERIOD_1, "--date", "2025-01-02")
        ledger.ok(db, "pay-premium", member, "--period", "1", "--receipt", f"R-{member}")
    for member, claim_id, amount in (("m1", "S1", "20000"), ("m2", "S2", "500")):
        ledger.ok(
            db,
            "claim",
            "submit",
            member,
            "--period",
            "1",
            "--self-paid",
            amount,
            "--claim-id",
            claim_id,
            "--date",
            "2025-03-01",
        )
    ledger.ok(db, "--actor", "approver", "claim", "approve", "S1", "--date", "2025-03-05")
    ledger.ok(db, "payouts", "make", "S1", "--bank-ref", "B1", "--date", "2025-03-10")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("period", "open", "3000000000", "--start", "2026-01-01", "--end", "2026-12-31"),
            "error: period 3000000000: period numbers run from 1 to 9999",
        ),
        (
            ("period", "open", "5", "--start", "9999-12-30", "--end", "9999-12-31"),
            "error: period 5 starts 9999-12-30: a period lies within the years 1900 to 9000, "
            "so that its claim deadline can be reckoned",
        ),
        (
            ("--actor", "approver", "claim", "approve", "S2", "--date", "2025-02-01"),
            "error: claim 'S2' was submitted on 2025-03-01: it cannot be approved on 2025-02-01",
        ),
        (
            (
                "--actor",
                "approver",
                "claim",
                "reject",
                "S2",
                "--reason",
                "x",
                "--date",
                "2025-02-01",
            ),
            "error: claim 'S2' was submitted on 2025-03-01: it cannot be rejected on 2025-02-01",
        ),
        (
            ("payouts", "make", "S1", "--bank-ref", "B2", "--date", "2025-03-04"),
            "error: claim 'S1' was approved on 2025-03-05: it cannot be paid on 2025-03-04",
        ),
        (
            (
                "payouts",
                "return",
                "S1",
                "--bank-ref",
                "B1",
                "--reason",
                "x",
                "--date",
                "2025-03-09",
            ),
            "error: payout 'B1' of claim 'S1' was made on 2025-03-10: it cannot be returned on "
            "2025-03-09",
        ),
        (
            ("enrol", "m3", *IN_PERIOD_1, "--date", "2026-01-01"),
            "error: member 'm3' cannot be enrolled in period 1 on 2026-01-01: the period ended "
            "on 2025-12-31",
        ),
        (
            ("enrol", "m1 ", *IN_PERIOD_1, "--date", "2025-01-02"),
            "error: member id 'm1 ': must not begin or end with spaces",
        ),
        (
            (
                "enrol",
                "m3",
                "--period",
                "1",
                "--county",
                "C1",
                "--unit",
                "Glass\x07Works",
                "--date",
                "2025-01-02",
            ),
            "error: unit 'Glass\\x07Works': contains a control character (U+0007)",
        ),
        (
            ("--actor", "approver", "claim", "reject", "S2", "--reason", "not\x1bcovered"),
            "error: reason 'not\\x1bcovered': contains a control character (U+001B)",
        ),
        (
            ("--actor", "approver", "claim", "approve", "S2"),
            "error: claim 'S2': the policy gives no benefit for it (eligible self-paid 500.00 is "
            "within the deductible of 600.00): reject it instead",
        ),
    ],
    ids=[
        "period-number-too-large",
        "period-at-the-end-of-the-calendar",
        "approved-before-submitted",
        "rejected-before-submitted",
        "paid-before-approved",
        "returned-before-paid",
        "enrolled-after-the-period",
        "member-id-with-a-space",
        "unit-with-a-bell",
        "reason-with-an-escape",
        "approved-for-nothing",
    ],
)
def test_impossible_facts_are_refused_in_one_line_and_record_nothing(
    ledger: Ledger, db: str, args: tuple[str, ...], message: str
) -> None:
    decided_claims(ledger, db)
    before = ledger.ok(db, "balances", "--json"), events_in(db)
    assert ledger.refused(db, *args) == message
    assert (ledger.ok(db, "balances", "--json"), events_in(db)) == before
    ledger.ok(db, "--actor", "approver", "claim", "reject", "S2", "--reason", "below")
    ledger.ok(db, "period", "close", "1", "--date", "2026-01-31")


def test_a_settlement_imported_after_its_deadline_is_rejected_and_nothing_recorded(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    """The feed is received today, long after period 1's deadline of 2026-03-31."""
    decided_claims(ledger, db)
    feed = write_feed(tmp_path / "late.csv", CLAIM_HEADER, claim("S9", "m1", "900.00"))
    before = events_in(db)
    result = ledger(db, "import", "claims", str(feed))
    assert result.returncode == 1
    assert (
        "line 2: discharged_on = '2025-03-10': claim 'S9' received on "
        f"{date.today()} after the deadline 2026-03-31"
    ) in result.stderr
    assert events_in(db) == before


@pytest.mark.parametrize(
    ("args", "period"),
    [
        (("balances", "--period", "3000000000"), "3000000000"),
        (("period", "close", "99999999999999999999"), "99999999999999999999"),
        (("statement", "--period", "0", "--format", "json"), "0"),
    ],
    ids=["balances-beyond-any-period", "close-beyond-any-integer", "statement-of-period-0"],
)
def test_a_period_number_out_of_range_is_refused_in_one_line_before_any_query(
    ledger: Ledger, db: str, args: tuple[str, ...], period: str
) -> None:
    create_scheme(ledger, db)
    before = events_in(db)
    assert ledger.refused(db, *args) == (
        f"error: period {period}: period numbers run from 1 to 9999"
    )
    assert events_in(db) == before


def test_bad_database_urls_and_policy_files_are_one_line(ledger: Ledger, tmp_path: Path) -> None:
    assert "not a valid PostgreSQL URL" in ledger.refused("postgresql://[bad", "balances")
    assert "is a directory" in ledger.refused(str(tmp_path), "balances")
    db = str(tmp_path / "x.db")
    ledger.ok(db, "scheme", "create", "--name", "X", "--county", "C1=A")
    latin = tmp_path / "policy.json"
    latin.write_bytes('{"version": "é"}'.encode("latin-1"))
    assert "not UTF-8" in ledger.refused(
        db,
        "period",
        "open",
        "1",
        "--start",
        "2025-01-01",
        "--end",
        "2025-12-31",
        "--policy-file",
        str(latin),
    )
    latin.write_text('{"version": "v1"}', encoding="utf-8")
    message = ledger.refused(
        db,
        "period",
        "open",
        "1",
        "--start",
        "2025-01-01",
        "--end",
        "2025-12-31",
        "--policy-file",
        str(latin),
    )
    assert "premium: Field required" in message


def test_a_ledger_without_a_scheme_says_so(ledger: Ledger, tmp_path: Path) -> None:
    db = str(tmp_path / "new.db")
    Books(db, create=True).close()  # tables, no events: as a ledger of an older version
    assert "no scheme yet" in ledger.refused(db, "balances")


def test_an_unreachable_database_is_one_line() -> None:
    result = console_script("--db", "postgresql://nobody@127.0.0.1:1/none", "balances")
    assert one_line_error(result).startswith("error: database:")


def test_the_benefit_calculator_explains_its_figure(ledger: Ledger, tmp_path: Path) -> None:
    data = json.loads(
        ledger.ok(
            str(tmp_path / "x.db"), "benefit", "beijing", "11300", "--group", "hardship", "--json"
        )
    )
    assert data["benefit"] == "5500.00"  # (11,300 - 1,300) x (50% + 5 points)
    assert data["bands"][0]["rate"] == "0.55"
    weihai_15 = json.loads(
        ledger.ok(str(tmp_path / "x.db"), "benefit", "weihai", "10000", "--period", "15", "--json")
    )
    assert weihai_15["deductible"] == "6000.00" and weihai_15["benefit"] == "2000.00"
    assert "unknown preset 'atlantis'" in ledger.refused(
        str(tmp_path / "x.db"), "benefit", "atlantis", "1"
    )


def test_the_demo_gives_byte_identical_balances_on_sqlite_and_postgresql(
    ledger: Ledger, tmp_path: Path, postgres_url: str
) -> None:
    outputs = []
    for db in (str(tmp_path / "demo.db"), postgres_url):
        shown = ledger.ok(db, "demo", "--members", "400", "--counties", "3", "--seed", "11")
        assert "Trial balance (debits - credits): 0.00" in shown
        outputs.append(ledger.ok(db, "balances", "--json"))
    assert outputs[0] == outputs[1]
    report = json.loads(outputs[0])
    shared = [
        c for c in report["counties"].values() if c["accounts"]["deficit_transfers_in"] != "0.00"
    ]
    assert shared, "the demo shares at least one county deficit"


def test_the_demo_refuses_a_ledger_that_already_holds_a_scheme(ledger: Ledger, db: str) -> None:
    create_scheme(ledger, db)
    assert "needs an empty ledger" in ledger.refused(db, "demo")


def test_a_rebuild_gives_the_same_balances(ledger: Ledger, db: str) -> None:
    ledger.ok(db, "demo", "--members", "300", "--counties", "2")
    before = ledger.ok(db, "balances", "--json")
    assert "Rebuilt 4 read models" in ledger.ok(db, "projections", "rebuild")
    assert ledger.ok(db, "balances", "--json") == before


def test_a_read_model_set_back_is_one_line_naming_the_rebuild(ledger: Ledger, db: str) -> None:
    ledger.ok(db, "demo", "--members", "60", "--counties", "2")
    before = ledger.ok(db, "balances", "--json")
    books = Books(db, read_only=True)
    table = books.db.tracking_table
    books.close()
    with raw(db) as r:
        r.execute(
            f"UPDATE {table} SET notification_id = 5 WHERE application_name LIKE ?", "%balances"
        )
    refused = ledger.refused(db, "balances")
    assert refused.startswith("error: the read model balances already holds events after its ")
    assert "rebuilt with `ledger projections rebuild`" in refused
    ledger.ok(db, "projections", "rebuild")
    assert ledger.ok(db, "balances", "--json") == before


def test_the_database_defaults_to_ledger_db_in_the_working_directory(tmp_path: Path) -> None:
    result = console_script("demo", "--members", "200", "--counties", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "ledger.db").exists()
    assert "Trial balance (debits - credits): 0.00" in result.stdout
