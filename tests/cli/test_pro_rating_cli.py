"""Pro-rating from the command line: the board's rate declared for a period the city pool
cannot cover, the claims paid at it, the statement saying so; bad rates refused in one
line with nothing recorded."""

import json
from pathlib import Path

from cli_runner import Ledger, create_scheme


def two_claims(ledger: Ledger, db: str) -> None:
    """m1 and m2 enrolled and paid up (100.00); benefits of 280.00 and 480.00 approved."""
    for member, self_paid in (("m1", "2000"), ("m2", "3000")):
        on = ("--date", "2025-03-01")
        ledger.ok(db, "enrol", member, "--period", "1", "--county", "C1", "--unit", "U", *on)
        ledger.ok(db, "pay-premium", member, "--period", "1", "--receipt", f"R-{member}", *on)
        ledger.ok(db, "claim", "submit", member, "--period", "1", "--self-paid", self_paid,
                  "--claim-id", f"S-{member}", *on)  # fmt: skip
        ledger.ok(db, "--actor", "approver", "claim", "approve", f"S-{member}",
                  "--date", "2025-03-02")  # fmt: skip


def test_a_period_pro_rated_pays_its_claims_at_the_rate_and_the_statement_says_so(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    create_scheme(ledger, db)
    two_claims(ledger, db)
    said = ledger.ok(db, "period", "pro-rate", "1", "--percent", "62.5", "--reference",
                     "BOARD-2026-03", "--date", "2026-01-10")  # fmt: skip
    assert said == (
        "Pro-rated period 1 at 62.5%: 2 claim(s), 760.00 payable, 475.00 to be paid, 285.00 "
        "forfeited.\n"
    )
    c1 = json.loads(ledger.ok(db, "balances", "--json"))["counties"]["C1"]["accounts"]
    assert (c1["benefits_payable"], c1["benefit_expense"]) == ("475.00", "475.00")
    assert "open, benefits pro-rated at 62.5%" in " ".join(ledger.ok(db, "scheme", "show").split())
    periods = ledger.json(db, "scheme", "show")["periods"]
    assert periods["1"]["pro_rated"] == "0.625"  # type: ignore[index]
    closed = ledger.json(db, "period", "close", "1", "--date", "2026-01-31")
    assert closed["counties"]["C1"]["benefits"] == "475.00"  # type: ignore[index]

    data = json.loads(ledger.ok(db, "statement", "--period", "1", "--format", "json"))
    assert data["pro_rating"]["rate"] == "0.625"
    assert (data["pro_rating"]["paid_at_rate"], data["pro_rating"]["forfeited"]) == (
        "475.00",
        "285.00",
    )
    page = tmp_path / "statement.html"
    ledger.ok(db, "statement", "--period", "1", "--format", "html", "--out", str(page))
    html = page.read_text("utf-8")
    assert "按比例支付 Benefits pro-rated" in html
    assert "paid at 62.5%" in html and "285.00" in html


def test_bad_rates_and_a_second_pro_rating_are_refused_in_one_line(ledger: Ledger, db: str) -> None:
    create_scheme(ledger, db)
    two_claims(ledger, db)
    late = ("--reference", "B-1", "--date", "2026-01-10")
    assert ledger.refused(db, "period", "pro-rate", "1", "--percent", "eighty", *late) == (
        "error: --percent: 'eighty' is not a percentage (such as 80 or 62.5)"
    )
    assert ledger.refused(db, "period", "pro-rate", "1", "--percent", "150", *late) == (
        "error: --percent: '150' is not a percentage from 0 to 100"
    )
    assert ledger.refused(db, "period", "pro-rate", "1", "--percent", "100", *late) == (
        "error: pro-rating of period 1: percent 100% is not from 0% to below 100%: benefits "
        "need no pro-rating"
    )
    early = ("--reference", "B-1", "--date", "2025-12-31")
    assert ledger.refused(db, "period", "pro-rate", "1", "--percent", "80", *early) == (
        "error: period 1 ends 2025-12-31: its benefits can be pro-rated from the day after"
    )
    c1 = json.loads(ledger.ok(db, "balances", "--json"))["counties"]["C1"]["accounts"]
    assert c1["benefits_payable"] == "760.00"
    ledger.ok(db, "period", "pro-rate", "1", "--percent", "80", *late)
    assert ledger.refused(db, "period", "pro-rate", "1", "--percent", "80", *late) == (
        "error: period 1's benefits were pro-rated at 80%: its claims can no longer be "
        "submitted or decided"
    )
