"""Feeds, bank batches and SMS texts from the command line, on both backends: what a clerk
types, what the files say and what the ledger then holds."""

import contextlib
import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import psycopg
import psycopg.sql
import pytest
from cli_runner import Ledger, console_script, create_scheme, events_in, on_a_terminal
from feed_files import CLAIM_HEADER, ROSTER_HEADER, claim, write_feed, write_workbook
from openpyxl import load_workbook

from domain.member import Member, member_uuid
from ledger.application.app import MutualAidLedger

PREMIUM_HEADER = "收据号,会员编号,期次,资金来源,金额,缴费日期"
RESULT_HEADER = "支付参考号,状态,退回原因,日期"
ENROLLED = ("--date", "2025-01-06")
CLAIMS_RECEIVED = "2025-03-12"
"""The day a claims feed arrives, unless a test says otherwise: after the discharges of
2025-03-10 (the day the policy approves the claims), well within period 1's claim deadline."""


def c1(ledger: Ledger, db: str) -> dict[str, str]:
    report = ledger.json(db, "balances")
    accounts: dict[str, str] = report["counties"]["C1"]["accounts"]  # type: ignore[index]
    return accounts


def pinghu_members(ledger: Ledger, db: str, tmp_path: Path, *members: str) -> None:
    """The Pinghu scheme, and members enrolled in C1 and paid up, all from feeds."""
    create_scheme(ledger, db)
    roster = [
        f"{n},{m},职工{n},1,C1,平湖市总工会,,2025/1/6,{account(m)},工商银行平湖支行,{phone(m)}"
        for n, m in enumerate(members, 1)
    ]
    header = f"{ROSTER_HEADER},银行账号,开户银行,手机号码"
    ledger.ok(
        db,
        "import",
        "enrolments",
        str(write_feed(tmp_path / "roster.csv", header, *roster, encoding="gb18030")),
    )
    premiums = [
        line
        for m in members
        for line in (f"W-{m},{m},1,worker,1.00,2025/1/6", f"U-{m},{m},1,union:city,49.00,2025/1/6")
    ]
    ledger.ok(
        db,
        "import",
        "premiums",
        str(write_feed(tmp_path / "premiums.csv", PREMIUM_HEADER, *premiums, encoding="gb18030")),
    )


def account(member: str) -> str:
    return f"62220212{int(member[1:]):011d}"


def phone(member: str) -> str:
    return f"138{int(member[1:]):08d}"


def import_claims(
    ledger: Ledger, db: str, path: Path, *lines: str, received: str = CLAIMS_RECEIVED
) -> None:
    feed = str(write_feed(path, CLAIM_HEADER, *lines))
    ledger.ok(db, "import", "claims", feed, "--date", received)


def bank_file(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text("utf-8"))))


# 4. All or nothing


def test_a_refused_import_names_each_bad_record_on_stderr_and_stores_nothing(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    pinghu_members(ledger, db, tmp_path, "M1")
    before = events_in(db), ledger.ok(db, "balances", "--json")
    feed = write_feed(
        tmp_path / "claims.csv",
        CLAIM_HEADER,
        claim("S1", "M1", "20000.00"),
        "S2,M1,2025-03-01,2025-03-10,9000.00,5000.00,abc",
        claim("S3", "M1", "900.00"),
        claim("S4", "NOBODY", "900.00"),
    )

    result = ledger(db, "import", "claims", str(feed), "--date", CLAIMS_RECEIVED)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    *rejects, error = [line for line in result.stderr.splitlines() if line.strip()]
    assert rejects == [
        f"{feed}: line 3: eligible_self_paid = 'abc': not a number in yuan",
        f"{feed}: line 5: member_id = 'NOBODY': unknown member 'NOBODY'",
    ]
    assert error.startswith("error: ") and "2 bad record(s), nothing imported" in error
    assert (events_in(db), ledger.ok(db, "balances", "--json")) == before


# 5. --partial --rejects


def test_partial_import_leaves_bad_records_in_a_gb18030_rejects_file_to_fix_and_import(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    pinghu_members(ledger, db, tmp_path)
    for member in ("M1", "M2"):
        ledger.ok(db, "enrol", member, "--period", "1", "--county", "C1", "--unit", "U1", *ENROLLED)
    feed = write_feed(
        tmp_path / "缴费.csv",
        PREMIUM_HEADER,
        "W-M1,M1,1,worker,1.00,2025年1月6日",
        "U-M1,M1,1,union:city,四十九,2025年1月6日",
        "W-M2,M2,1,worker,1.00,2025年1月6日",
        "U-M2,M2,1,union:city,49.00,2025年1月6日",
        encoding="gb18030",
    )
    rejects = tmp_path / "缴费-退回.csv"

    partial = ledger(
        db, "import", "premiums", str(feed), "--partial", "--rejects", str(rejects), "--json"
    )

    assert partial.returncode == 3, partial.stderr
    summary = json.loads(partial.stdout)
    assert (summary["imported"], summary["rejected"]) == (3, 1)
    assert c1(ledger, db)["bank"] == "51.00"
    text = rejects.read_bytes().decode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        rejects.read_bytes().decode("utf-8")
    header, *lines = csv.reader(io.StringIO(text))
    assert header == [*PREMIUM_HEADER.split(","), "reason"]
    assert lines == [
        ["U-M1", "M1", "1", "union:city", "四十九", "2025年1月6日", "金额: not a number in yuan"]
    ]

    rejects.write_bytes(text.replace("四十九", "49.00").encode("gb18030"))
    fixed = ledger.json(db, "import", "premiums", str(rejects))

    assert (fixed["read"], fixed["imported"], fixed["rejected"]) == (1, 1, 0)
    assert c1(ledger, db)["bank"] == "100.00"


def test_a_rejects_file_that_cannot_be_written_is_refused_before_anything_is_stored(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    pinghu_members(ledger, db, tmp_path, "M1")
    before = events_in(db), ledger.ok(db, "balances", "--json")
    feed = write_feed(
        tmp_path / "claims.csv",
        CLAIM_HEADER,
        claim("S1", "M1", "20000.00"),
        claim("S2", "NOBODY", "900.00"),
    )
    nowhere = tmp_path / "no-such-folder" / "rejects.csv"

    result = ledger(
        db,
        "import",
        "claims",
        str(feed),
        "--date",
        CLAIMS_RECEIVED,
        "--partial",
        "--rejects",
        str(nowhere),
    )

    assert result.returncode == 1
    assert "cannot write" in result.stderr
    assert (events_in(db), ledger.ok(db, "balances", "--json")) == before


def test_an_import_exits_0_whole_1_refused_and_3_partial_as_its_help_says(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    pinghu_members(ledger, db, tmp_path, "M1")
    good, bad = claim("S1", "M1", "20000.00"), claim("S2", "NOBODY", "900.00")
    feed = write_feed(tmp_path / "claims.csv", CLAIM_HEADER, good, bad)
    received = ("--date", CLAIMS_RECEIVED)

    refused = ledger(db, "import", "claims", str(feed), *received)
    partial = ledger(
        db,
        "import",
        "claims",
        str(feed),
        *received,
        "--partial",
        "--rejects",
        str(tmp_path / "r.csv"),
    )

    assert (refused.returncode, partial.returncode) == (1, 3)
    assert "imported 1, already present 0, rejected 1" in partial.stdout
    fixed = write_feed(tmp_path / "fixed.csv", CLAIM_HEADER, good)
    assert ledger(db, "import", "claims", str(fixed), *received).returncode == 0
    shown = " ".join(ledger(db, "import", "--help").stdout.split())
    assert "Exit status: 0 when every record is imported or already present; 1 when" in shown
    assert "3 when --partial imported the good records and left rejects" in shown


def test_a_header_that_cannot_be_read_is_one_error_line_and_nothing_is_imported(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    pinghu_members(ledger, db, tmp_path)
    before = events_in(db)
    rows = [f"{n};M{n};1;C1;U1;2025-01-06" for n in range(1, 4)]
    roster = write_feed(tmp_path / "roster.csv", "名册行号;会员编号;期次;区县;单位;参保日期", *rows)

    error = ledger.refused(db, "import", "enrolments", str(roster))

    assert error.startswith(f"error: {roster}: line 1: headers found: 名册行号;会员编号;")
    assert "required columns missing: roster_line (名册行号, 名册编号, 行号)" in error
    assert "the header is one column holding semicolons" in error
    assert events_in(db) == before


# 6. xlsx workbooks


def test_an_xlsx_workbook_is_imported_with_its_date_and_number_cells_and_rejects_as_xlsx(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    pinghu_members(ledger, db, tmp_path)
    for member in ("M1", "M2", "M3"):
        ledger.ok(db, "enrol", member, "--period", "1", "--county", "C1", "--unit", "U1", *ENROLLED)
    workbook = write_workbook(
        tmp_path / "缴费.xlsx",
        ["说明：缴费清单在第二张表"],
        sheet="说明",
    )
    book = load_workbook(workbook)
    sheet = book.create_sheet("缴费")
    for row in [
        PREMIUM_HEADER.split(","),
        ["W-M1", "M1", 1, "worker", 1, date(2025, 1, 6)],  # a number, a date cell
        ["U-M1", "M1", 1, "union:city", "49.00", 45663],  # text; a day number shown as a date
        ["W-M2", "M2", 1, "worker", 1.0, "2025/1/6"],
        ["U-M2", "M2", 1, "union:city", 49.005, date(2025, 1, 6)],
        ["W-M3", "M3", 1, "worker", 1, 45663],  # a day number in a number cell
        ["U-M3", "M3", 1, "union:city", 49, datetime(2025, 1, 6, 9, 30)],
    ]:
        sheet.append(row)
    sheet["F3"].number_format = 'yyyy"年"m"月"d"日"'
    book.save(workbook)
    before = events_in(db)

    first_sheet = ledger.refused(db, "import", "premiums", str(workbook))
    assert (
        "headers found: 说明：缴费清单在第二张表; required columns missing: receipt" in first_sheet
    )
    assert "is there a title above the header?" in first_sheet
    of_the_sheet = ("import", "premiums", str(workbook), "--sheet", "缴费", "--partial")
    as_csv = ledger.refused(db, *of_the_sheet, "--rejects", str(tmp_path / "bad.csv"))
    assert "rejects are written in the feed's format, xlsx: name the file .xlsx" in as_csv
    assert events_in(db) == before

    rejects = tmp_path / "bad.xlsx"
    partial = ledger(
        db,
        *of_the_sheet,
        "--rejects",
        str(rejects),
        "--json",
    )

    assert partial.returncode == 3, partial.stderr
    summary = json.loads(partial.stdout)
    assert (summary["imported"], summary["rejected"]) == (3, 3)
    assert [(r["line"], r["field"], r["reason"]) for r in summary["rejects"]] == [
        (5, "金额", "more than 2 decimal places"),
        (
            6,
            "缴费日期",
            "45663 is not a date but looks like an Excel date serial number: format the column "
            "as a date (yyyy-mm-dd) in the spreadsheet and export the file again",
        ),
        (7, "缴费日期", "2025-01-06 09:30 has a time of day: give the date alone"),
    ]
    assert c1(ledger, db)["bank"] == "51.00"
    assert paid_on(db, "M1") == [date(2025, 1, 6), date(2025, 1, 6)]

    bad = load_workbook(rejects)
    assert bad.sheetnames == ["缴费"]
    cells = [[cell.value for cell in row] for row in bad["缴费"].iter_rows()]
    assert cells[0] == [*PREMIUM_HEADER.split(","), "reason"]
    assert [row[:5] for row in cells[1:]] == [
        ["U-M2", "M2", 1, "union:city", 49.005],
        ["W-M3", "M3", 1, "worker", 1],
        ["U-M3", "M3", 1, "union:city", 49],
    ]
    assert bad["缴费"]["F2"].is_date and bad["缴费"]["F4"].value == datetime(2025, 1, 6, 9, 30)
    assert cells[1][6] == "金额: more than 2 decimal places"

    bad["缴费"]["E2"] = 49
    bad["缴费"]["F3"] = "2025-01-06"
    bad["缴费"]["F4"] = date(2025, 1, 6)
    bad.save(rejects)
    fixed = ledger.json(db, "import", "premiums", str(rejects))

    assert (fixed["imported"], fixed["rejected"]) == (3, 0)
    assert c1(ledger, db)["bank"] == "150.00"


def paid_on(db: str, member_id: str) -> list[date]:
    """The effective dates of the member's premium payments, as the log holds them."""
    app = MutualAidLedger(db)
    try:
        history = app.events.get(member_uuid(member_id))
        return [e.effective_date for e in history if isinstance(e, Member.PremiumPaid)]
    finally:
        app.close()


# 8. Payout batches and bank results


@pytest.fixture
def june_batch(ledger: Ledger, db: str, tmp_path: Path) -> Path:
    """M1 has two approved claims (10,380.00 and 1,380.00), M2, M3 and M4 one each
    (10,380.00); all are paid under batch 2025-06."""
    pinghu_members(ledger, db, tmp_path, "M1", "M2", "M3", "M4")
    import_claims(
        ledger,
        db,
        tmp_path / "claims.csv",
        claim("S1", "M1", "20000.00"),
        claim("S2", "M1", "6000.00"),
        claim("S3", "M2", "20000.00"),
        claim("S4", "M3", "20000.00"),
        claim("S5", "M4", "20000.00"),
    )
    out = tmp_path / "2025-06.csv"
    ledger.ok(
        db, "payouts", "export", "--batch", "2025-06", "--out", str(out), "--date", "2025-06-30"
    )
    return out


def test_a_batch_pays_each_member_once_with_their_claims_summed(
    ledger: Ledger, db: str, june_batch: Path
) -> None:
    assert bank_file(june_batch) == [
        {
            "batch": "2025-06",
            "bank_reference": f"2025-06/{member}",
            "member_id": member,
            "name": name,
            "bank_account": account(member),
            "bank": "工商银行平湖支行",
            "county": "C1",
            "amount": amount,
            "claims": claims,
        }
        for member, name, amount, claims in [
            ("M1", "职工1", "11760.00", "2"),
            ("M2", "职工2", "10380.00", "1"),
            ("M3", "职工3", "10380.00", "1"),
            ("M4", "职工4", "10380.00", "1"),
        ]
    ]
    assert c1(ledger, db)["benefits_payable"] == "0.00"
    assert c1(ledger, db)["bank"] == f"{200 - 42900:.2f}"


def test_exporting_the_same_batch_again_records_nothing_and_writes_the_same_file(
    ledger: Ledger, db: str, june_batch: Path, tmp_path: Path
) -> None:
    recorded = events_in(db), june_batch.read_bytes()
    again = tmp_path / "2025-06-again.csv"

    shown = ledger.ok(
        db, "payouts", "export", "--batch", "2025-06", "--out", str(again), "--date", "2025-07-01"
    )

    assert "already recorded" in shown
    assert (events_in(db), again.read_bytes()) == recorded


def test_a_bank_file_written_again_keeps_the_permissions_it_was_given(
    ledger: Ledger, db: str, june_batch: Path
) -> None:
    """It holds members' ids and amounts: a file kept private stays private."""
    june_batch.chmod(0o600)
    ledger.ok(
        db,
        "payouts",
        "export",
        "--batch",
        "2025-06",
        "--out",
        str(june_batch),
        "--date",
        "2025-07-01",
    )
    assert june_batch.stat().st_mode & 0o777 == 0o600


def test_a_batch_with_nothing_payable_says_so_and_records_nothing(
    ledger: Ledger, db: str, june_batch: Path, tmp_path: Path
) -> None:
    before = events_in(db)
    empty = tmp_path / "2025-07.csv"

    shown = ledger.ok(
        db, "payouts", "export", "--batch", "2025-07", "--out", str(empty), "--date", "2025-07-31"
    )

    assert "nothing payable, nothing recorded" in shown and "already recorded" not in shown
    assert events_in(db) == before
    assert bank_file(empty) == []


def export_batch_to(ledger: Ledger, db: str, batch: str, out: Path) -> str:
    return ledger.refused(
        db, "payouts", "export", "--batch", batch, "--out", str(out), "--date", "2025-06-30"
    )


def test_a_bank_file_that_cannot_be_written_is_refused_before_anything_is_paid(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    pinghu_members(ledger, db, tmp_path, "M1")
    import_claims(ledger, db, tmp_path / "claims.csv", claim("S1", "M1", "20000.00"))
    before = events_in(db), ledger.ok(db, "balances", "--json")

    into_a_folder = export_batch_to(ledger, db, "2025-06", tmp_path)
    into_nowhere = export_batch_to(ledger, db, "2025-06", tmp_path / "no-such-folder" / "b.csv")

    assert into_a_folder == f"error: {tmp_path}: cannot write: Is a directory"
    assert "cannot write: No such file or directory" in into_nowhere
    assert (events_in(db), ledger.ok(db, "balances", "--json")) == before
    assert not list(tmp_path.glob(".*.part"))
    out = tmp_path / "2025-06.csv"
    shown = ledger.ok(
        db, "payouts", "export", "--batch", "2025-06", "--out", str(out), "--date", "2025-06-30"
    )
    assert "1 payments, 10380.00 yuan" in shown and "already recorded" not in shown


def test_a_bank_file_failing_after_the_batch_is_recorded_says_so_and_can_be_written_again(
    ledger: Ledger, db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pinghu_members(ledger, db, tmp_path, "M1")
    import_claims(ledger, db, tmp_path / "claims.csv", claim("S1", "M1", "20000.00"))
    before = events_in(db) or 0
    out = tmp_path / "2025-06.csv"

    def disk_full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr("ledger.reports.payments.os.replace", disk_full)
        error = export_batch_to(ledger, db, "2025-06", out)

    assert error == (
        f"error: {out}: cannot write: No space left on device; the payouts of batch 2025-06 "
        "are recorded as paid: `ledger payouts export --batch 2025-06 --out FILE` writes its "
        "file again"
    )
    assert (events_in(db) or 0) > before and c1(ledger, db)["benefits_payable"] == "0.00"
    assert not out.exists() and not list(tmp_path.glob(".*.part"))
    shown = ledger.ok(
        db, "payouts", "export", "--batch", "2025-06", "--out", str(out), "--date", "2025-06-30"
    )
    assert "already recorded" in shown
    assert [(p["bank_reference"], p["amount"]) for p in bank_file(out)] == [
        ("2025-06/M1", "10380.00")
    ]


def test_bank_results_return_or_confirm_payments_and_returned_ones_are_paid_again(
    ledger: Ledger, db: str, june_batch: Path, tmp_path: Path
) -> None:
    results = write_feed(
        tmp_path / "回盘.csv",
        RESULT_HEADER,
        "2025-06/M1,returned,账户已销户,2025/7/2",
        "2025-06/M2,退回,户名不符,2025/7/2",
        "2025-06/M3,paid,,2025/7/2",
        "2025-06/M4,成功,,2025/7/2",
        encoding="gb18030",
    )

    summary = ledger.json(db, "import", "payout-results", str(results))

    assert (summary["imported"], summary["rejected"]) == (4, 0)
    assert summary["amounts"] == {"confirmed": "20760.00", "returned": "22140.00"}
    assert c1(ledger, db)["benefits_payable"] == "22140.00"

    july = tmp_path / "2025-07.csv"
    ledger.ok(
        db, "payouts", "export", "--batch", "2025-07", "--out", str(july), "--date", "2025-07-31"
    )
    assert [(p["bank_reference"], p["amount"], p["claims"]) for p in bank_file(july)] == [
        ("2025-07/M1", "11760.00", "2"),
        ("2025-07/M2", "10380.00", "1"),
    ]
    assert c1(ledger, db)["benefits_payable"] == "0.00"


def test_importing_the_same_bank_results_again_counts_them_already_present(
    ledger: Ledger, db: str, june_batch: Path, tmp_path: Path
) -> None:
    results = write_feed(
        tmp_path / "results.csv",
        RESULT_HEADER,
        "2025-06/M1,退回,账户已销户,2025-07-02",
        "2025-06/M2,成功,,2025-07-02",
    )
    ledger.ok(db, "import", "payout-results", str(results))
    after = events_in(db), ledger.ok(db, "balances", "--json")

    again = ledger.json(db, "import", "payout-results", str(results))

    assert (again["read"], again["already_present"], again["imported"]) == (2, 2, 0)
    assert (events_in(db), ledger.ok(db, "balances", "--json")) == after


# 9. SMS texts


def handed_over(ledger: Ledger, db: str, out: Path) -> list[dict[str, str]]:
    """Export the pending SMS texts and read back what the sender was handed."""
    ledger.ok(db, "notifications", "export", "--out", str(out))
    return read_texts(out)


def read_texts(out: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in out.read_text("utf-8").splitlines()]


def test_each_payout_is_texted_once_even_across_a_rebuild(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    pinghu_members(ledger, db, tmp_path, "M1", "M2", "M3")
    import_claims(
        ledger,
        db,
        tmp_path / "march.csv",
        claim("S1", "M1", "20000.00"),
        claim("S2", "M2", "20000.00"),
    )
    b1 = tmp_path / "b1.csv"
    ledger.ok(
        db, "payouts", "export", "--batch", "2025-06", "--out", str(b1), "--date", "2025-06-30"
    )

    sent = handed_over(ledger, db, tmp_path / "sms-1.jsonl")
    assert [m["member_id"] for m in sent] == ["M1", "M2"]
    assert all("10380.00元" in m["text"] and "Pinghu" in m["text"] for m in sent)
    assert len({m["message_id"] for m in sent}) == 2

    assert handed_over(ledger, db, tmp_path / "sms-2.jsonl") == []

    ledger.ok(db, "projections", "rebuild")
    assert handed_over(ledger, db, tmp_path / "sms-3.jsonl") == []

    april = tmp_path / "april.csv"
    import_claims(ledger, db, april, claim("S3", "M3", "6000.00"), received="2025-04-02")
    b2 = tmp_path / "b2.csv"
    ledger.ok(
        db, "payouts", "export", "--batch", "2025-07", "--out", str(b2), "--date", "2025-07-31"
    )
    [new] = handed_over(ledger, db, tmp_path / "sms-4.jsonl")
    assert new["member_id"] == "M3"
    assert "1380.00元" in new["text"] and "Pinghu" in new["text"]


def test_a_payout_returned_before_its_text_is_handed_over_withdraws_the_text(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    pinghu_members(ledger, db, tmp_path, "M1", "M2")
    import_claims(
        ledger,
        db,
        tmp_path / "march.csv",
        claim("S1", "M1", "20000.00"),
        claim("S2", "M2", "20000.00"),
    )
    for number in ("1", "2"):
        ledger.ok(
            db, "payouts", "make", f"S{number}", "--bank-ref", f"B{number}", "--date", "2025-03-13"
        )
    ledger.ok(
        db,
        "payouts",
        "return",
        "S1",
        "--bank-ref",
        "B1",
        "--reason",
        "closed",
        "--date",
        "2025-03-14",
    )

    shown = ledger.ok(db, "notifications", "export", "--out", str(tmp_path / "sms-1.jsonl"))
    assert "Handed over 1 messages" in shown and "1 withdrawn" in shown
    assert [m["message_id"] for m in read_texts(tmp_path / "sms-1.jsonl")] == ["S2/B2"]

    ledger.ok(db, "projections", "rebuild")
    assert handed_over(ledger, db, tmp_path / "sms-2.jsonl") == []

    ledger.ok(db, "payouts", "make", "S1", "--bank-ref", "B1-again", "--date", "2025-03-20")
    [again] = handed_over(ledger, db, tmp_path / "sms-3.jsonl")
    assert again["message_id"] == "S1/B1-again" and "2025年3月20日" in again["text"]
    ledger.ok(db, "audit", "verify")


def test_a_payout_returned_after_its_text_was_handed_over_leaves_the_text_handed_over(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    pinghu_members(ledger, db, tmp_path, "M1")
    import_claims(ledger, db, tmp_path / "march.csv", claim("S1", "M1", "20000.00"))
    ledger.ok(db, "payouts", "make", "S1", "--bank-ref", "B1", "--date", "2025-03-13")
    [sent] = handed_over(ledger, db, tmp_path / "sms-1.jsonl")
    assert sent["message_id"] == "S1/B1"

    returned = ("payouts", "return", "S1", "--bank-ref", "B1", "--reason", "closed")
    ledger.ok(db, *returned, "--date", "2025-03-20")
    shown = ledger.ok(db, "notifications", "export", "--out", str(tmp_path / "sms-2.jsonl"))
    assert shown.strip() == f"Handed over 0 messages in {tmp_path / 'sms-2.jsonl'}."

    ledger.ok(db, "projections", "rebuild")
    assert handed_over(ledger, db, tmp_path / "sms-3.jsonl") == []
    ledger.ok(db, "audit", "verify")


ROWS = 20_000


def test_ctrl_c_during_an_import_leaves_no_traceback_and_a_rerun_completes_it(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    ledger.ok(db, "scheme", "create", "--name", "X", "--preset", "pinghu", "--county", "C1=A")
    for role in ("approver", "clerk"):
        ledger.ok(db, "users", "grant", "tester", role)
    ledger.ok(db, "period", "open", "1", "--start", "2025-01-01", "--end", "2025-12-31")
    roster = tmp_path / "roster.csv"
    lines = [f"{n},M{n:06d},1,C1,U1,2025-01-05" for n in range(ROWS)]
    write_feed(roster, "roster_line,member_id,period,county,unit,enrolled_on", *lines)
    command = [sys.executable, "-m", "ledger", "--db", db, "import", "enrolments", str(roster)]
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    before = saved_so_far(db)
    process = subprocess.Popen(
        command, stderr=subprocess.PIPE, text=True, env=env, preexec_fn=ctrl_c_heard
    )
    deadline = time.monotonic() + 120
    while saved_so_far(db) <= before:  # saving has begun: its first chunk is in
        if process.poll() is not None:
            pytest.fail(f"the import ended before it was interrupted: {process.communicate()[1]}")
        assert time.monotonic() < deadline, "the import saved nothing in time"
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode != 0
    assert "Traceback" not in stderr
    summary = json.loads(ledger.ok(db, "import", "enrolments", str(roster), "--json"))
    assert 0 < summary["already_present"] < ROWS
    assert summary["imported"] + summary["already_present"] == ROWS
    again = json.loads(ledger.ok(db, "import", "enrolments", str(roster), "--json"))
    assert again["already_present"] == ROWS


def ctrl_c_heard() -> None:
    """In the importer's process, before it starts: Ctrl-C as a terminal delivers it. A test
    worker of pytest-xdist ignores SIGINT, and a child would inherit that, and Python would
    then never raise KeyboardInterrupt in it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def saved_so_far(db: str) -> int:
    """Events stored so far, read with plain SQL: starting the application here would run the
    library's CREATE ... IF NOT EXISTS, which can race the importer's on PostgreSQL's catalog."""
    if not db.startswith("postgresql://"):
        with contextlib.closing(sqlite3.connect(db)) as conn:
            try:
                return int(conn.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0])
            except sqlite3.OperationalError:
                return 0
    parts = urlsplit(db)
    query = parse_qs(parts.query)
    schema = query.pop("schema")[0]
    url = urlunsplit(parts._replace(query=urlencode(query, doseq=True)))
    with psycopg.connect(url) as conn:
        table = psycopg.sql.Identifier(schema, "ledger_events")
        query = psycopg.sql.SQL("SELECT COUNT(*) FROM {}").format(table)
        try:
            row = conn.execute(query).fetchone()
        except psycopg.errors.UndefinedTable:
            return 0
        return int(row[0]) if row else 0


def test_an_import_draws_its_progress_on_a_terminal_and_not_into_a_file(
    ledger: Ledger, tmp_path: Path
) -> None:
    db = str(tmp_path / "ledger.db")
    create_scheme(ledger, db)
    rows = [f"{n},M{n:05d},1,C1,U1,2025-01-05" for n in range(3000)]
    header = "roster_line,member_id,period,county,unit,enrolled_on"
    roster = write_feed(tmp_path / "roster.csv", header, *rows[:1500])
    drawn = on_a_terminal("--db", db, "import", "enrolments", str(roster))
    for stage in ("validating", "saving", "projecting"):
        assert stage in drawn
    assert "1500/?" in drawn  # records validated, counted as they go
    assert "imported 1500" in drawn
    roster = write_feed(tmp_path / "roster.csv", header, *rows[1500:])
    piped = console_script("--db", db, "import", "enrolments", str(roster))
    assert piped.returncode == 0 and "imported 1500" in piped.stdout
    assert not any(stage in piped.stderr for stage in ("validating", "saving", "projecting"))


def test_a_bank_account_in_a_number_cell_too_long_for_excel_is_refused_not_rounded(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    """Excel keeps 15 significant digits: 6222021204001234 typed into a number cell is saved
    as 6222021204001230, which would pay a stranger's account."""
    create_scheme(ledger, db)
    header = [*ROSTER_HEADER.split(","), "银行账号"]
    workbook = write_workbook(
        tmp_path / "名册.xlsx",
        header,
        ["1", "M1", "张三", 1, "C1", "U1", None, date(2025, 1, 6), 622202120400123],
        ["2", "M2", "李四", 1, "C1", "U1", None, date(2025, 1, 6), 6222021204001230],
    )
    before = events_in(db)

    refused = ledger(db, "import", "enrolments", str(workbook))
    assert refused.returncode == 1
    error = refused.stderr

    assert f"{workbook}: line 3: 银行账号 = 6222021204001230: not text" in error
    assert "format the column as text" in error
    assert "line 2" not in error  # 15 digits are kept whole: that line is good
    assert events_in(db) == before


def test_overlapping_imports_take_turns_and_all_complete(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    """Three settlement feeds of the same members started at once, as three clerks would:
    each waits for the one before (the ledger's turn at importing) instead of finding the
    members changed under it and being told to import it again."""
    members = [f"M{n:05d}" for n in range(1, 1001)]
    pinghu_members(ledger, db, tmp_path, *members)
    env = {**os.environ, "PYTHONPATH": str(Path.cwd()), "LEDGER_ACTOR": "tester"}
    processes = []
    for clerk in range(3):
        feed = tmp_path / f"claims-{clerk}.csv"
        settlements = [claim(f"S{clerk}-{m}", m, "1500.00") for m in members]
        write_feed(feed, CLAIM_HEADER, *settlements)
        command = [sys.executable, "-m", "ledger", "--db", db, "import", "claims", str(feed),
                   "--date", CLAIMS_RECEIVED, "--json"]  # fmt: skip
        pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
        processes.append(subprocess.Popen(command, text=True, env=env, **pipes))
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        assert json.loads(out)["imported"] == len(members)
    assert ledger.json(db, "balances")["trial_balance"] == "0.00"
