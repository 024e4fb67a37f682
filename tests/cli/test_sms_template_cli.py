"""The SMS text from the command line: shown, changed by an admin to refer the member to the
claim's explanation of benefit, sent for the payouts after it; a bad text refused in one
line with nothing recorded."""

import json
from pathlib import Path

from cli_runner import Ledger, create_scheme

WITH_REFERENCE = (
    "【{scheme}】{member_id}您好：您的职工医疗互助保障金{amount}元已于{day}支付到您的银行账户，"
    "请注意查收。补助说明（申请号{claim_id}）可向单位工会索取。"
)


def test_the_text_is_changed_and_the_next_payout_sends_it(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    create_scheme(ledger, db)
    assert "请注意查收。" in ledger.json(db, "notifications", "template")["template"]  # type: ignore[operator]
    said = ledger.ok(db, "notifications", "template", "--text", WITH_REFERENCE)
    assert said.strip() == f"The SMS text for payouts from now on:\n{WITH_REFERENCE}"
    on = ("--date", "2025-03-01")
    ledger.ok(db, "enrol", "m1", "--period", "1", "--county", "C1", "--unit", "U", *on)
    ledger.ok(db, "pay-premium", "m1", "--period", "1", "--receipt", "R1", *on)
    ledger.ok(db, "claim", "submit", "m1", "--period", "1", "--self-paid", "2000",
              "--claim-id", "S-1", *on)  # fmt: skip
    ledger.ok(db, "--actor", "approver", "claim", "approve", "S-1", *on)
    ledger.ok(db, "payouts", "make", "S-1", "--bank-ref", "B-1", "--date", "2025-03-10")
    sms = tmp_path / "sms.jsonl"
    ledger.ok(db, "notifications", "export", "--out", str(sms))
    [sent] = [json.loads(line) for line in sms.read_text("utf-8").splitlines()]
    assert sent["text"] == (
        "【Pinghu】m1您好：您的职工医疗互助保障金280.00元已于2025年3月10日支付到您的银行账户，"
        "请注意查收。补助说明（申请号S-1）可向单位工会索取。"
    )


def test_a_bad_text_is_refused_in_one_line_and_nothing_recorded(ledger: Ledger, db: str) -> None:
    create_scheme(ledger, db)
    before = ledger.json(db, "audit", "digest")
    assert ledger.refused(db, "notifications", "template", "--text", "{amount} to {iban}") == (
        "error: SMS template: unknown field {iban} (fields: {scheme}, {member_id}, {amount}, "
        "{day}, {claim_id})"
    )
    assert ledger.refused(db, "notifications", "template", "--text", "paid") == (
        "error: SMS template: it must say the amount paid: {amount}"
    )
    assert ledger.json(db, "audit", "digest") == before
