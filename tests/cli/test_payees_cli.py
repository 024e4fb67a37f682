"""Payee details from the command line, on both backends: `ledger enrol` takes them, bad
ones are refused in one line, and the payout export names who it could not pay."""

import csv
import io
import json
from pathlib import Path

from cli_runner import Ledger, create_scheme, events_in
from feed_files import CLAIM_HEADER, claim, write_feed

from ledger.store.turns import one_at_a_time

ENROLLED = ("--period", "1", "--county", "C1", "--unit", "U1", "--date", "2025-01-06")
ACCOUNT = "6222021204001234567"


def enrol_and_claim(ledger: Ledger, db: str, tmp_path: Path, member: str, *details: str) -> None:
    ledger.ok(db, "enrol", member, *ENROLLED, *details)
    ledger.ok(db, "pay-premium", member, "--period", "1", "--receipt", f"R-{member}")
    feed = write_feed(
        tmp_path / f"claims-{member}.csv", CLAIM_HEADER, claim(f"S-{member}", member, "20000.00")
    )
    ledger.ok(db, "import", "claims", str(feed), "--date", "2025-03-12")


def test_an_enrolment_with_details_is_paid_to_its_account_and_texted_at_its_phone(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    create_scheme(ledger, db)
    enrol_and_claim(
        ledger,
        db,
        tmp_path,
        "M1",
        *("--name", "张三", "--bank-account", ACCOUNT, "--bank", "工行", "--phone", "13857301234"),
    )
    out, sms = tmp_path / "bank.csv", tmp_path / "sms.jsonl"

    ledger.ok(db, "payouts", "export", "--batch", "B1", "--out", str(out), "--date", "2025-06-30")
    ledger.ok(db, "notifications", "export", "--out", str(sms))

    [line] = csv.DictReader(io.StringIO(out.read_text("utf-8")))
    assert (line["name"], line["bank_account"], line["bank"]) == ("张三", ACCOUNT, "工行")
    assert json.loads(sms.read_text("utf-8"))["phone"] == "13857301234"


def test_the_export_names_on_stderr_and_in_json_the_members_it_could_not_pay(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    create_scheme(ledger, db)
    enrol_and_claim(ledger, db, tmp_path, "M1", "--bank-account", ACCOUNT)
    enrol_and_claim(ledger, db, tmp_path, "M2", "--name", "李四")
    out = tmp_path / "bank.csv"

    shown = ledger(
        db, "payouts", "export", "--batch", "B1", "--out", str(out), "--date", "2025-06-30"
    )
    again = ledger.json(db, "payouts", "export", "--batch", "B1", "--out", str(out))

    assert shown.returncode == 0
    assert "1 payments" in shown.stdout and "1 member(s) not paid" in shown.stdout
    [named] = shown.stderr.splitlines()
    assert named.startswith("not paid: M2 (李四): ") and "no bank account on record" in named
    assert [u["member_id"] for u in again["no_bank_account"]] == ["M2"]  # type: ignore[attr-defined,index]
    assert again["already_recorded"] is True and again["payments"] == 1


def test_a_bad_account_or_phone_on_enrol_is_one_line_naming_it_and_records_nothing(
    ledger: Ledger, db: str
) -> None:
    create_scheme(ledger, db)
    before = events_in(db)

    account = ledger.refused(db, "enrol", "M1", *ENROLLED, "--bank-account", "6.22202E+18")
    phone = ledger.refused(db, "enrol", "M1", *ENROLLED, "--phone", "85123456")

    assert account.startswith("error: bank account '6.22202E+18': is in scientific notation")
    assert phone.startswith("error: phone '85123456': must be a mobile number of 11 digits")
    assert events_in(db) == before


def test_a_corrected_roster_says_how_many_members_changed_details(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    create_scheme(ledger, db)
    header = "名册行号,会员编号,姓名,期次,区县,单位,参保日期,银行账号,开户银行"
    first = write_feed(tmp_path / "r1.csv", header, "1,M1,张三,1,C1,U1,2025-01-06,,")
    fixed = write_feed(tmp_path / "r2.csv", header, f"2,M1,张三,1,C1,U1,2025-01-06,{ACCOUNT},工行")
    ledger.ok(db, "import", "enrolments", str(first))

    shown = ledger.ok(db, "import", "enrolments", str(fixed))

    assert "imported 1" in shown and "members with changed details: 1" in shown


def test_a_second_payout_export_while_one_runs_is_refused_and_writes_no_file(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    create_scheme(ledger, db)
    enrol_and_claim(ledger, db, tmp_path, "M1", "--bank-account", ACCOUNT)
    before = events_in(db)
    out = tmp_path / "bank.csv"
    export = ("payouts", "export", "--batch", "B1", "--out", str(out), "--date", "2025-06-30")
    with one_at_a_time(db, "payouts-export", 0, "unused"):  # another export, running
        refused = ledger.refused(db, *export)
    assert refused.startswith("error: another payout export is running on this ledger now")
    assert not out.exists() and events_in(db) == before
    assert "Batch B1" in ledger.ok(db, *export)
    assert out.exists() and events_in(db) == before + 1
