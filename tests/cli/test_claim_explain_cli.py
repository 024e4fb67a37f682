"""`ledger claim explain`: the explanation of benefit for a claim, as JSON or a document."""

import json
from pathlib import Path

from cli_runner import Ledger, create_scheme


def test_a_claim_is_explained_as_json_and_as_a_document(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    create_scheme(ledger, db)
    on = ("--date", "2025-03-01")
    ledger.ok(db, "enrol", "m1", "--period", "1", "--county", "C1", "--unit", "U", *on)
    ledger.ok(db, "pay-premium", "m1", "--period", "1", "--receipt", "R1", *on)
    ledger.ok(
        db, "claim", "submit", "m1", "--period", "1", "--self-paid", "6000", "--claim-id", "S1", *on
    )
    ledger.ok(db, "--actor", "approver", "claim", "approve", "S1", *on)
    found = json.loads(ledger.ok(db, "claim", "explain", "S1"))
    assert (found["eligible"], found["benefit"], found["payable"]) == (
        "6000.00",
        "1380.00",
        "1380.00",
    )
    pdf = tmp_path / "S1.pdf"
    written = ledger.json(db, "claim", "explain", "S1", "--format", "pdf", "--out", str(pdf))
    assert written["files"] == [str(pdf)] and pdf.read_bytes().startswith(b"%PDF-")
    assert ledger.refused(db, "claim", "explain", "NOPE") == "error: unknown claim 'NOPE'"
