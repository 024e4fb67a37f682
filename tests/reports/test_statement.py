"""Period statements: the figures against the balances, reproducibility at a log position,
and no member named in full."""

import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from rosters import import_roster, roster_line
from statement_books import MEMBERS
from varied_policies import pinghu_varied

from domain.errors import LedgerError
from domain.policy import Policy
from ledger.application.books import Books
from ledger.application.policies import load_preset
from ledger.reports.disclosure import disclosure
from ledger.reports.render import write
from ledger.reports.render.document import disclosure_document, statement_document
from ledger.reports.render.html import render
from ledger.reports.statement import statement

D = Decimal


# The figures of a period, against the balances


def money(figure: str) -> Decimal:
    return D(figure)


def test_each_figure_equals_the_balances_report(closed: Books) -> None:
    found = statement(closed, 1)
    at = found.provenance.position
    report = closed.report(period=1, known_at=at)
    data = found.as_dict()
    for code in ("C1", "C2"):
        figures, accounts = data["counties"][code], report["counties"][code]["accounts"]
        for source, amount in figures["premium_income"].items():
            assert amount == accounts[f"premium_income:{source}"]
        assert figures["benefits_approved"] == accounts["benefit_expense"]
        assert figures["deficit_city_share"] == accounts["deficit_transfers_in"]
        assert figures["deficit_county_share"] == accounts["county_contributions"]
        assert figures["period_result"] == report["counties"][code]["surplus"]
        paid = money(accounts["benefit_expense"]) - money(accounts["benefits_payable"])
        assert money(figures["benefits_paid"]) == paid
    assert (
        data["city_pool"]["deficit_shares_paid"]
        == (report["city_pool"]["accounts"]["deficit_transfers_out"])
    )
    assert data["city"]["period_result"] == report["city"]["surplus"]
    assert data["city"]["closing_reserve"] == closed.report(known_at=at)["city"]["surplus"]


def test_the_city_figures_include_the_city_pools_own_adjustments(closed: Books) -> None:
    counties_before = statement(closed, 1).as_dict()["counties"]
    app, late = closed.app, date(2025, 12, 1)
    app.post_adjustment(1, "CITY", "bank", "premium_income:other", "100.00", "x", "approver", late)
    app.post_adjustment(1, "CITY", "benefit_expense", "bank", "30.00", "y", "approver", late)

    found = statement(closed, 1)
    report = closed.report(period=1, known_at=found.provenance.position)
    data = found.as_dict()
    city, accounts = data["city"], report["city"]["accounts"]

    for source, amount in city["premium_income"].items():
        assert amount == accounts[f"premium_income:{source}"]
    income = sum(money(a) for n, a in accounts.items() if n.startswith("premium_income:"))
    assert money(city["premium_income_total"]) == income == D("350.00")  # 250.00 + 100.00
    assert city["benefits_approved"] == accounts["benefit_expense"] == "10630.20"
    assert city["claims_ratio_percent"] == "3037.2"  # 10,630.20 / 350.00
    assert city["period_result"] == report["city"]["surplus"]
    # Deficit shares move money within the city; only the counties' own shares come in.
    assert money(city["result_before_sharing"]) + money(city["deficit_county_share"]) == money(
        city["period_result"]
    )
    for code, before in counties_before.items():
        after = dict(data["counties"][code])
        assert after.pop("premium_income") == {"other": "0.00", **before.pop("premium_income")}
        assert after == before
    assert data["city_pool"]["period_result"] == report["city_pool"]["surplus"]


def test_a_period_statement_counts_members_claims_and_shares(closed: Books) -> None:
    data = statement(closed, 1).as_dict()
    c1, c2, city = data["counties"]["C1"], data["counties"]["C2"], data["city"]
    assert (c1["members"], c1["units"], c2["members"], c2["units"]) == (3, 2, 2, 1)
    assert c1["premium_income"] == {"union:city": "147.00", "worker": "3.00"}
    assert (c1["claims"], c1["claims_rejected"], c1["members_helped"]) == (2, 1, 2)
    assert (c1["benefits_approved"], c1["benefits_paid"]) == ("10480.20", "10380.00")
    assert c1["result_before_sharing"] == "-10330.20"
    assert (c1["deficit_city_share"], c1["deficit_county_share"]) == ("5165.10", "5165.10")
    assert (c2["claims"], c2["members_helped"], c2["average_benefit_per_claim"]) == (
        3,
        2,
        "40.00",
    )
    assert c2["claims_ratio_percent"] == "120.0"
    assert (city["members"], city["units"], city["claims"]) == (5, 3, 5)
    assert city["claims_ratio_percent"] == "4240.1"  # 10,600.20 / 250.00
    assert data["city_pool"]["closing_reserve"] == "-5175.10"
    assert [(d["county"], d["deficit"]) for d in data["deficits"]] == [
        ("C1", "10330.20"),
        ("C2", "20.00"),
    ]
    assert data["period"]["closed_on"] == "2026-01-31"
    assert [c["benefit"] for c in data["largest_claims"]] == [
        "10380.00",
        "100.20",
        "60.00",
        "40.00",
        "20.00",
    ]
    assert [(b["band"], b["claims"]) for b in data["claims_by_size"]][:2] == [
        ("0-1,000", 4),
        ("1,000-5,000", 0),
    ]
    one = statement(closed, 1, county="C2", largest=1).as_dict()
    assert list(one["counties"]) == ["C2"] and "city" not in one
    assert [c["member"] for c in one["largest_claims"]] == ["M00****01"]


def test_a_statement_at_its_position_is_the_same_after_later_entries(
    closed: Books, tmp_path: Path
) -> None:
    first = statement(closed, 1)
    at = first.provenance.position
    write(statement_document(first), "xlsx", tmp_path / "then.xlsx")
    app = closed.app
    late = date(2025, 6, 30)  # recorded after the close, dated back into the period
    app.post_adjustment(1, "C1", "bank", "premium_income:other", "10.00", "late", "approver", late)
    app.return_payout("M0020001-1-1", "B-3", "account closed", "cashier", date(2026, 2, 1))
    app.open_period(2, date(2026, 1, 1), date(2026, 12, 31), pinghu(2), "approver", late)
    import_roster(closed, roster_line("M0030001", "C1", "Glass Works", period=2, on=late))
    again = statement(closed, 1, known_at=at)
    assert json.dumps(again.as_dict()) == json.dumps(first.as_dict())
    write(statement_document(again), "xlsx", tmp_path / "again.xlsx")
    assert workbook_values(tmp_path / "again.xlsx") == workbook_values(tmp_path / "then.xlsx")
    now = statement(closed, 1).as_dict()
    assert now["known_at"]["position"] > at
    assert now["counties"]["C1"]["premium_income"]["other"] == "10.00"
    assert now["adjustments"][0]["reason"] == "late"


def pinghu(period: int) -> Policy:
    return load_preset("pinghu").policy_for(period)


def workbook_values(path: Path) -> dict[str, list[tuple[object, ...]]]:
    book = load_workbook(path)
    return {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}


def test_the_next_period_opens_on_the_last_closing_reserve_and_compares_with_it(
    closed: Books,
) -> None:
    closed.app.open_period(
        2, date(2026, 1, 1), date(2026, 12, 31), pinghu(2), "approver", date(2026, 1, 1)
    )
    line = roster_line("M0030001", "C2", "Harbour Union", period=2, on=date(2026, 1, 2))
    import_roster(closed, line)
    first, second = statement(closed, 1).as_dict(), statement(closed, 2).as_dict()
    assert second["city"]["opening_reserve"] == first["city"]["closing_reserve"]
    assert second["counties"]["C2"]["opening_reserve"] == "0.00"
    assert second["previous"]["city"] == first["city"]
    assert second["city"]["members"] == 1
    assert [r["period"] for r in second["reserve_by_period"]] == [1, 2]
    assert second["period"]["closed_on"] is None


def test_the_claims_ratio_by_calendar_sets_what_was_paid_in_the_dates_against_what_came_in(
    books: Books,
) -> None:
    """Nanyang's way: a season's payouts, mostly on the season before's claims, against the
    premiums received in the season, some of them for the next one."""
    app = books.app
    import_roster(
        books, roster_line("M1", on=date(2025, 1, 2)), roster_line("M2", on=date(2025, 1, 2))
    )
    claim = app.submit_claim("M1", 1, "2000.00", "clerk", date(2025, 12, 1))  # 280.00
    app.approve_claim(claim, "approver", date(2025, 12, 5))
    app.open_period(
        2, date(2026, 1, 1), date(2026, 12, 31), pinghu(2), "approver", date(2025, 12, 1)
    )
    for member, on in (("M1", date(2025, 12, 20)), ("M2", date(2026, 1, 5))):
        import_roster(books, roster_line(member, period=2, on=on), paid=False)
        app.pay_premium(member, 2, None, f"R2-{member}", "clerk", on)
    app.make_payout(claim, None, "B-1", "cashier", date(2026, 1, 15))

    first, second = statement(books, 1).as_dict(), statement(books, 2).as_dict()
    assert (first["city"]["benefits_approved"], first["city"]["claims_ratio_percent"]) == (
        "280.00",
        "280.0",  # 280.00 of the period's 100.00
    )
    assert first["city"]["claims_ratio_calendar"] == {
        "paid": "0.00",  # paid in 2026
        "premiums_received": "150.00",  # period 1's 100.00 and M1's 50.00 for period 2
        "percent": "0.0",
    }
    assert second["city"]["claims_ratio_percent"] == "0.0"
    assert second["counties"]["C1"]["claims_ratio_calendar"] == {
        "paid": "280.00",
        "premiums_received": "50.00",
        "percent": "560.0",
    }
    assert (
        second["city"]["claims_ratio_calendar"] == second["counties"]["C1"]["claims_ratio_calendar"]
    )
    assert second["counties"]["C2"]["claims_ratio_calendar"]["percent"] is None


def test_a_statement_needs_a_period_and_a_position_in_the_log(closed: Books) -> None:
    with pytest.raises(LedgerError, match="period 3 had not been opened"):
        statement(closed, 3)
    end = closed.app.recorder.max_notification_id() or 0
    with pytest.raises(LedgerError, match=f"position {end + 1} is beyond the end of the log"):
        statement(closed, 1, known_at=end + 1)
    with pytest.raises(LedgerError, match="county 'C9'"):
        statement(closed, 1, county="C9")


# No member named in full


def test_no_full_member_id_is_in_a_statement_or_a_disclosure(closed: Books, tmp_path: Path) -> None:
    shown = [
        json.dumps(statement(closed, 1).as_dict()),
        render(statement_document(statement(closed, 1))),
        *(json.dumps(disclosure(closed, 1, unit).as_dict()) for unit in units()),
        *(render(disclosure_document(disclosure(closed, 1, unit))) for unit in units()),
    ]
    write(statement_document(statement(closed, 1)), "xlsx", tmp_path / "s.xlsx")
    shown.append(repr(workbook_values(tmp_path / "s.xlsx")))
    for member in MEMBERS:
        assert not [text for text in shown if member in text]


def units() -> list[str]:
    return sorted({unit for _, unit in MEMBERS.values()})


# The facts behind the figures


def test_the_facts_are_the_same_read_in_batches_of_one_and_rebuilt(closed: Books) -> None:
    statements = closed.statements
    whole = statement(closed, 1).as_dict()
    rows = facts(closed)
    statements.reset()
    statements.catch_up(batch_size=1)
    assert facts(closed) == rows
    assert statement(closed, 1).as_dict() == whole
    statements.rebuild()
    assert facts(closed) == rows


def facts(books: Books) -> list[tuple[str, ...]]:
    db = books.statements.db
    with db.transaction(commit=False) as cursor:
        cursor.execute(db.sql("SELECT * FROM {facts} ORDER BY notification_id, seq"))
        return [tuple(str(v) for v in dict(r).values()) for r in cursor.fetchall()]


def test_premiums_from_the_government_and_donations_are_income_of_their_own(
    under: Callable[[Policy], Books],
) -> None:
    """Wenling funds its premium four ways: workers, the union, the government, donations."""
    funding = {"worker": "10.00", "union:town": "20.00", "government": "15.00", "donation": "5.00"}
    books = under(pinghu_varied("four-ways", funding))
    import_roster(books, roster_line("m1"), roster_line("m2"))
    accounts = books.report()["counties"]["C1"]["accounts"]
    assert {a: accounts[f"premium_income:{a}"] for a in funding} == {
        source: str(D(amount) * 2) for source, amount in funding.items()
    }
    found = statement(books, 1)
    assert found.as_dict()["city"]["premium_income"] == {
        source: str(D(amount) * 2) for source, amount in sorted(funding.items())
    }
    page = render(statement_document(found))
    assert all(title in page for title in ("政府补助", "社会捐助", "工会补助(乡镇)"))


# Figures by member group and by unit


def test_the_figures_by_group_count_each_member_in_the_group_enrolled_with(
    under: Callable[[Policy], Books],
) -> None:
    """Beijing's way of telling hardship and model workers apart: each group's members,
    premiums and benefits, adding up to the city's."""
    books = under(pinghu_varied("groups", uplifts={"hardship": "0.05", "model_worker": "0.05"}))
    import_roster(
        books,
        roster_line("M1", group="hardship"),
        roster_line("M2", group="hardship"),
        roster_line("M3", group="model_worker"),
        roster_line("M4"),
    )
    app = books.app
    for member in ("M1", "M4"):
        claim = app.submit_claim(member, 1, "2000.00", "clerk", date(2025, 3, 1))
        app.approve_claim(claim, "approver", date(2025, 3, 2))
    below = app.submit_claim("M2", 1, "500.00", "clerk", date(2025, 3, 1))
    app.reject_claim(below, "below the deductible", "approver", date(2025, 3, 2))
    data = statement(books, 1).as_dict()
    groups = {g["group"]: g for g in data["by_group"]}
    assert list(groups) == [None, "hardship", "model_worker"]
    assert [(g["members"], g["claims"], g["claims_rejected"]) for g in groups.values()] == [
        (1, 1, 0),
        (2, 1, 1),  # 500.00 is below the deductible
        (1, 0, 0),
    ]
    assert groups["hardship"]["benefits_approved"] == "350.00"  # 20% + 5 points of 1,400.00
    assert groups[None]["benefits_approved"] == "280.00"  # 20%
    for figure in ("premium_income_total", "benefits_approved", "members"):
        assert sum(D(str(g[figure])) for g in groups.values()) == D(str(data["city"][figure]))
    page = render(statement_document(statement(books, 1)))
    assert "按人群 By member group" in page and "model_worker" in page


def test_the_units_table_has_every_unit_as_its_disclosure_shows_it(closed: Books) -> None:
    data = statement(closed, 1).as_dict()
    units = {(u["county"], u["unit"]): u for u in data["units"]}
    assert list(units) == [("C1", "Dye House"), ("C1", "Glass Works"), ("C2", "Harbour Union")]
    for (county, name), row in units.items():
        shown = disclosure(closed, 1, name, county=county).as_dict()["unit_figures"]
        assert {k: v for k, v in row.items() if k not in ("county", "unit")} == shown
    for figure in ("premium_income_total", "benefits_approved", "members"):
        assert sum(D(str(u[figure])) for u in units.values()) == D(str(data["city"][figure]))
    c2 = statement(closed, 1, county="C2").as_dict()
    assert [(u["county"], u["unit"]) for u in c2["units"]] == [("C2", "Harbour Union")]
    assert sum(g["members"] for g in c2["by_group"]) == c2["counties"]["C2"]["members"]
    page = render(statement_document(statement(closed, 1), units=True))
    assert "各单位情况 All units (3)" in page and "Dye House" in page
    assert "各单位情况" not in render(statement_document(statement(closed, 1)))


def test_units_of_one_name_in_two_counties_are_two_rows(twins: Books) -> None:
    rows = [(u["county"], u["unit"], u["members"]) for u in statement(twins, 1).as_dict()["units"]]
    assert rows == [("C1", "Glass Works", 2), ("C2", "Glass Works", 1), ("C2", "Harbour Union", 1)]
