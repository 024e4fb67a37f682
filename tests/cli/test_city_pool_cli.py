"""The city pool's own money from the command line: a policy that retains a risk reserve
and advances the pool's share of a deficit; the pool funded by the city union; the close,
the balances and the statement agree on what each county owes the pool."""

import json
from pathlib import Path

from cli_runner import Ledger, create_scheme

from ledger.application.policies import load_preset


def advancing_policy(tmp_path: Path) -> Path:
    """Pinghu's policy, but the pool keeps 10% of premiums and advances its whole share."""
    data = load_preset("pinghu").policy_for(1).model_dump(mode="json")
    data["version"] = "pinghu-advancing"
    data["deficit_sharing"] = {"city_share": "1", "reserve_rate": "0.10", "city_cover": "advance"}
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_advances_reserves_and_funding_through_two_periods(
    ledger: Ledger, db: str, tmp_path: Path
) -> None:
    create_scheme(ledger, db)
    policy = str(advancing_policy(tmp_path))
    ledger.ok(db, "period", "open", "2", "--start", "2026-01-01", "--end", "2026-12-31",
              "--policy-file", policy)  # fmt: skip
    for period, day in (("1", "2025-03-01"), ("2", "2026-03-01")):
        on = ("--date", day)
        ledger.ok(db, "enrol", "m1", "--period", period, "--county", "C1", "--unit", "U", *on)
        ledger.ok(db, "pay-premium", "m1", "--period", period, "--receipt", f"R{period}", *on)
    ledger.ok(db, "claim", "submit", "m1", "--period", "2", "--self-paid", "1100",
              "--claim-id", "S1", "--date", "2026-03-01")  # fmt: skip
    ledger.ok(db, "--actor", "approver", "claim", "approve", "S1", "--date", "2026-03-02")
    ledger.ok(db, "pool", "fund", "--period", "2", "--source", "backstop", "--amount",
              "900000", "--reference", "BK-1", "--date", "2026-04-01")  # fmt: skip
    assert ledger.refused(
        db, "pool", "fund", "--period", "2", "--source", "gift", "--amount", "1",
        "--reference", "X",
    ) == (
        "error: city pool funding: unknown source 'gift' (sources: appropriation, backstop, "
        "interest)"
    )  # fmt: skip
    ledger.ok(db, "period", "close", "1", "--date", "2026-01-31")

    closed = ledger.json(db, "period", "close", "2", "--date", "2027-01-31")
    c1 = closed["counties"]["C1"]  # type: ignore[index]
    # 50 premium, 5.00 kept as reserve; 100 benefit (20% of 500 above 600): 55.00 advanced
    assert (c1["retained"], c1["deficit"], c1["city_share"], c1["city_cover"]) == (
        "5.00",
        "55.00",
        "55.00",
        "advance",
    )
    balances = json.loads(ledger.ok(db, "balances", "--json"))
    assert balances["trial_balance"] == "0.00"
    county, pool = balances["counties"]["C1"]["accounts"], balances["city_pool"]["accounts"]
    assert (county["advances_from_city"], pool["advances_to_counties"]) == ("55.00", "55.00")
    assert (county["reserve_transfers_out"], pool["reserve_transfers_in"]) == ("5.00", "5.00")
    assert pool["fund_income:backstop"] == "900000.00"
    assert pool["bank"] == "899950.00"  # the backstop and the reserve, less the advance

    statement = json.loads(ledger.ok(db, "statement", "--period", "2", "--format", "json"))
    assert statement["city_pool_money"] == {
        "funding": {"backstop": "900000.00"},
        "reserve_retained": {"C1": "5.00"},
        "advances_repaid": {},
        "advances_owed": {"C1": "55.00"},
    }
    assert [d["city_cover"] for d in statement["deficits"]] == ["advance"]
    html = tmp_path / "statement.html"
    ledger.ok(db, "statement", "--period", "2", "--format", "html", "--out", str(html))
    page = html.read_text(encoding="utf-8")
    assert "市级统筹资金 The city pool&#x27;s own money" in page
    assert "尚欠借垫 Advance still owed: " in page
