"""The example feeds in docs/examples import as docs/feeds.md says, on both backends."""

import json
from pathlib import Path

import pytest

from ledger.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def run(capsys: pytest.CaptureFixture[str], db: str, *args: str) -> str:
    capsys.readouterr()
    try:
        main(["--db", db, *args])
    except SystemExit as e:
        assert e.code == 0, capsys.readouterr().err
    return capsys.readouterr().out


def test_the_documented_feeds_walk_through_a_whole_payment_cycle(
    capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path
) -> None:
    run(
        capsys,
        db,
        "--actor",
        "admin",
        "scheme",
        "create",
        "--name",
        "平湖",
        "--preset",
        "pinghu",
        "--county",
        "DH=当湖",
        "--county",
        "ZP=乍浦",
        "--date",
        "2025-01-01",
    )
    for user in ("clerk", "approver", "cashier"):
        run(capsys, db, "--actor", "admin", "users", "grant", user, user)
    run(
        capsys,
        db,
        "--actor",
        "approver",
        "period",
        "open",
        "1",
        "--start",
        "2025-01-01",
        "--end",
        "2025-12-31",
    )
    # The settlements of the discharges of 2025-03-09 and 2025-04-20 arrive on 2025-04-30,
    # within period 1's claim deadline; the other feeds are dated in their records.
    for kind, name, received in (
        ("enrolments", "enrolments.csv", ()),
        ("premiums", "premiums.jsonl", ()),
        ("claims", "claims.csv", ("--date", "2025-04-30")),
    ):
        summary = json.loads(
            run(
                capsys,
                db,
                *("--actor", "clerk", "import", kind, str(EXAMPLES / name), *received, "--json"),
            )
        )
        assert summary["rejected"] == 0 and summary["imported"] == summary["read"] > 0
    bank_file = tmp_path / "pay.csv"
    run(
        capsys,
        db,
        "--actor",
        "cashier",
        "payouts",
        "export",
        "--batch",
        "2025-06",
        "--out",
        str(bank_file),
        "--date",
        "2025-06-01",
    )
    assert bank_file.read_text(encoding="utf-8").splitlines()[1:] == [
        "2025-06,2025-06/M0001,M0001,张三,6222021204001234567,中国工商银行平湖支行,DH,10380.00,1",
        "2025-06,2025-06/M0002,M0002,李四,6217001630009876543,中国建设银行乍浦支行,ZP,1180.00,1",
    ]
    results = json.loads(
        run(
            capsys,
            db,
            "--actor",
            "cashier",
            "import",
            "payout-results",
            str(EXAMPLES / "payout-results.csv"),
            "--json",
        )
    )
    assert results["amounts"] == {"confirmed": "1180.00", "returned": "10380.00"}
    balances = json.loads(run(capsys, db, "balances", "--json"))
    assert balances["counties"]["DH"]["accounts"]["benefits_payable"] == "10380.00"
    sms = tmp_path / "sms.jsonl"
    run(capsys, db, "--actor", "cashier", "notifications", "export", "--out", str(sms))
    sent = [json.loads(line) for line in sms.read_text(encoding="utf-8").splitlines()]
    # The 10,380.00 payout came back from the bank before the texts were handed over: its
    # text is withdrawn, and only the confirmed payout's is sent, to the roster's phone.
    assert [(m["member_id"], m["phone"]) for m in sent] == [("M0002", "13957305678")]
    assert "1180.00元" in sent[0]["text"] and sent[0]["text"].startswith("【平湖】")
