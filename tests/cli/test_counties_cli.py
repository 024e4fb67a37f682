"""Counties joining and leaving the city pool from the command line: the scheme shows from
when, bad requests are refused in one line with a non-zero exit, and nothing is recorded."""

from cli_runner import Ledger, create_scheme


def test_a_county_joins_and_another_leaves(ledger: Ledger, db: str) -> None:
    create_scheme(ledger, db)
    ledger.ok(db, "period", "open", "2", "--start", "2026-01-01", "--end", "2026-12-31")
    said = ledger.ok(
        db, "county", "join", "YH", "--name", "Yunhe", "--period", "2",
        "--opening-balance", "8000.00", "--reference", "T-YH", "--date", "2026-01-05",
    )  # fmt: skip
    assert said.strip() == "County YH joined the city pool from period 2, bringing 8000.00."
    ledger.ok(
        db, "enrol", "m1", "--period", "1", "--county", "C2", "--unit", "U", "--date", "2025-03-01"
    )
    ledger.ok(db, "pay-premium", "m1", "--period", "1", "--receipt", "R1", "--date", "2025-03-01")
    assert (
        ledger.refused(
            db,
            "enrol",
            "m2",
            "--period",
            "1",
            "--county",
            "YH",
            "--unit",
            "U",
            "--date",
            "2025-03-01",
        )
        == "error: county 'YH' is not in the city pool in period 1: it joins in period 2"
    )
    ledger.ok(db, "period", "close", "1", "--date", "2026-01-31")
    said = ledger.ok(db, "county", "leave", "C2", "--after-period", "1", "--reference", "T-C2")
    assert said.strip() == "County C2 left the city pool after period 1; 50.00 transferred to it."
    shown = ledger.json(db, "scheme", "show")
    assert (shown["joined"], shown["left"]) == ({"YH": 2}, {"C2": 1})
    assert "county YH: Yunhe, from period 2" in ledger.ok(db, "scheme", "show")
    balances = ledger.json(db, "balances")
    assert balances["counties"]["YH"]["accounts"]["fund_transfers_in"] == "8000.00"  # type: ignore[index]
    assert balances["counties"]["C2"]["accounts"]["fund_transfers_out"] == "50.00"  # type: ignore[index]
    assert balances["trial_balance"] == "0.00"


def test_joining_and_leaving_refuse_bad_requests_in_one_line(ledger: Ledger, db: str) -> None:
    create_scheme(ledger, db)
    before = ledger.json(db, "audit", "digest")
    for args, message in (
        (("join", "C1", "--name", "Again", "--period", "1"), "'C1' is already in the scheme"),
        (("join", "YH", "--name", "Yunhe", "--period", "1", "--opening-balance", "ten"),
         "opening_balance: 'ten' is not a valid amount"),
        (("join", "YH", "--name", "Yunhe", "--period", "1", "--opening-balance", "10"),
         "county 'YH' joining: give the bank's reference of the transfer"),
        (("join", "YH", "--name", "Yunhe", "--period", "4"), "period 4 has not been opened"),
        (("leave", "C2", "--after-period", "1"), "period 1 is open: close it before county 'C2'"),
        (("leave", "C9", "--after-period", "1"), "county 'C9' is not part of this scheme"),
    ):  # fmt: skip
        assert message in ledger.refused(db, "county", *args), args
    assert ledger.json(db, "audit", "digest") == before
    assert ledger.refused(
        db, "--actor", "approver", "county", "join", "YH", "--name", "Yunhe", "--period", "1"
    ).startswith("error: approver may not bring counties into the city pool")
    refusal = ledger.json(db, "audit", "digest")  # the refusal is recorded, and nothing else
    assert refusal["position"] == before["position"] + 1  # type: ignore[operator]
