"""`--json` for machines on every listing, summary and document command, and `--out` (`-o`)
for every file written, with `-` for a json document on standard output."""

import json
from decimal import Decimal
from pathlib import Path

from capitals import read_capitals
from cli_runner import Ledger, create_scheme, events_in

IN_U = ("--period", "1", "--county", "C1", "--unit", "U", "--date", "2025-01-02")


def with_a_claim(ledger: Ledger, db: str) -> str:
    """Period 1 with m1 and m2 in unit U, and m1's claim S1 of 9,000 approved: its benefit."""
    create_scheme(ledger, db)
    for member in ("m1", "m2"):
        ledger.ok(db, "enrol", member, *IN_U, "--bank-account", "6222021204001234567")
        ledger.ok(db, "pay-premium", member, "--period", "1", "--receipt", f"R-{member}")
    submitted = ledger.json(
        db, "claim", "submit", "m1", "--period", "1", "--self-paid", "9000",
        "--claim-id", "S1", "--date", "2025-03-01",
    )  # fmt: skip
    assert submitted == {"claim": "S1", "member": "m1", "period": 1}
    approved = ledger.json(
        db, "--actor", "approver", "claim", "approve", "S1", "--date", "2025-03-05"
    )
    assert isinstance(approved["benefit"], str)
    return approved["benefit"]


def test_documents_say_in_json_what_they_wrote_and_where(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    with_a_claim(ledger, db)
    digest = ledger.ok(db, "audit", "digest").strip()
    position = int(digest.split(":")[0])
    pdf = tmp_path / "statement.pdf"
    written = ledger.json(db, "statement", "--period", "1", "--format", "pdf", "-o", str(pdf))
    assert written == {
        "files": [str(pdf)],
        "position": position,
        "digest": digest,
        "recorded_at": written["recorded_at"],
    }
    assert pdf.read_bytes().startswith(b"%PDF")
    page = tmp_path / "unit.html"
    disclosed = ledger.json(
        db, "disclosure", "--period", "1", "--unit", "U", "--format", "html", "-o", str(page)
    )
    assert disclosed["files"] == [str(page)] and disclosed["digest"] == digest
    assert page.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    slips = tmp_path / "slips"
    screened = json.loads(ledger.ok(
        db, "screening", "--period", "1", "--threshold", "5000", "--format", "html",
        "-o", str(slips), "--json",
    ))  # fmt: skip
    assert screened["digest"] == digest
    assert screened["units"] == [
        {"file": screened["files"][0], "unit": "U", "county": "C1", "slips": 1}
    ]
    assert [str(p) for p in slips.iterdir()] == screened["files"]


def test_a_json_document_goes_to_standard_output_with_out_dash(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    with_a_claim(ledger, db)
    statement = ledger.ok(db, "statement", "--period", "1", "--format", "json")
    assert ledger.ok(db, "statement", "--period", "1", "--format", "json", "--out", "-") == (
        statement
    )
    assert json.loads(statement)["known_at"]["digest"] == ledger.ok(db, "audit", "digest").strip()
    unit = ("disclosure", "--period", "1", "--unit", "U", "--format", "json")
    assert ledger.ok(db, *unit, "-o", "-") == ledger.ok(db, *unit)
    assert not (tmp_path / "-").exists()


def test_out_dash_and_json_are_refused_where_they_cannot_mean_anything(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    with_a_claim(ledger, db)
    before = events_in(db)
    assert "--out: a pdf file needs a path" in ledger.refused(
        db, "statement", "--period", "1", "--format", "pdf", "--out", "-"
    )
    assert "the document itself goes to standard output" in ledger.refused(
        db, "statement", "--period", "1", "--format", "json", "--json"
    )
    assert "this command writes a file" in ledger.refused(
        db, "payouts", "export", "--batch", "B1", "--out", "-", "--date", "2025-06-01"
    )
    assert "this command writes a file" in ledger.refused(
        db, "notifications", "export", "--out", "-"
    )
    assert events_in(db) == before
    assert not (tmp_path / "-").exists() and not Path("-").exists()


def test_exports_closing_and_rebuilding_summarise_in_json(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    benefit = with_a_claim(ledger, db)
    bank = tmp_path / "bank.csv"
    batch = ledger.json(
        db, "payouts", "export", "--batch", "B1", "-o", str(bank), "--date", "2025-06-01"
    )
    assert batch == {
        "batch": "B1",
        "files": [str(bank)],
        "payments": 1,
        "total": benefit,
        "claims_paid": 1,
        "already_recorded": False,
        "no_bank_account": [],
        "total_in_words": batch["total_in_words"],
        "digest": ledger.ok(db, "audit", "digest").strip(),  # the log's, after the batch
    }
    assert read_capitals(batch["total_in_words"]) == Decimal(benefit)
    assert len(bank.read_text(encoding="utf-8").splitlines()) == 2
    again = ledger.json(
        db, "payouts", "export", "--batch", "B1", "-o", str(bank), "--date", "2025-06-01"
    )
    assert again["already_recorded"] is True and again["claims_paid"] == 0
    sms = tmp_path / "sms.jsonl"
    handed = ledger.json(db, "notifications", "export", "-o", str(sms))
    assert handed == {
        "files": [str(sms)],
        "handed_over": 1,
        "withdrawn": 0,
        "without_phone": ["m1"],
    }
    assert len(sms.read_text(encoding="utf-8").splitlines()) == 1
    paid = ledger.ok(db, "balances", "--json")
    closed = ledger.json(db, "period", "close", "1", "--date", "2026-01-31")
    deficit = f"{Decimal(benefit) - Decimal('100.00'):.2f}"  # two premiums of 50.00
    assert closed == {
        "period": 1,
        "counties": {
            "C1": {
                "income": "100.00",
                "benefits": benefit,
                "retained": "0.00",
                "deficit": deficit,
                "city_share": f"{Decimal(deficit) / 2:.2f}",
                "city_cover": "grant",
                "repaid": "0.00",
            },
            "C2": {
                "income": "0.00",
                "benefits": "0.00",
                "retained": "0.00",
                "deficit": "0.00",
                "city_share": "0.00",
                "city_cover": "grant",
                "repaid": "0.00",
            },
        },
        "digest": ledger.ok(db, "audit", "digest").strip(),
    }
    assert ledger.ok(db, "balances", "--json") != paid  # the deficit was shared
    rebuilt = ledger.json(db, "projections", "rebuild")
    assert rebuilt == {
        "read_models": ["balances", "claims", "notifications", "statements"],
        "events": events_in(db),
    }


def test_the_chart_of_accounts_and_a_payout_in_json(ledger: Ledger, db: str) -> None:
    with_a_claim(ledger, db)
    chart = json.loads(ledger.ok(db, "accounts", "--json"))["accounts"]
    shown = ledger.ok(db, "accounts")
    assert [a["account"] for a in chart if a["by_source"]] == ["premium_income"]
    for account in chart:
        assert account["account"] in shown and account["kind"] in shown
    paid = ledger.json(
        db, "payouts", "make", "S1", "--bank-ref", "B-1", "--amount", "100", "--date", "2025-03-06"
    )
    assert paid == {"claim": "S1", "paid": "100.00", "bank_reference": "B-1"}
