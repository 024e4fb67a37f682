"""Counties over time on each backend: a county joining in a later period takes enrolments
from that period, its fund's balance on its books, and the statements show it from then on
(and, at an earlier position, as before); a county leaving is settled on its reserve as the
balances have it, and takes nothing after."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from rosters import import_roster, roster_line

from domain.errors import Conflict, CountyNotInPeriod, DutyRefused, LedgerError
from domain.policy import Policy
from ledger.application.batch import Batch
from ledger.application.books import Books
from ledger.application.feeds import ImportRefused
from ledger.application.policies import load_preset
from ledger.reports.render.document import statement_document
from ledger.reports.render.html import render
from ledger.reports.statement import statement
from ledger.reports.summary import summary

JOINED_ON = date(2026, 1, 5)


def open_period_two(books: Books) -> None:
    policy = load_preset("pinghu").policy_for(2)
    books.app.open_period(2, date(2026, 1, 1), date(2026, 12, 31), policy, "approver", JOINED_ON)


def test_a_county_joining_later_is_in_the_pool_from_its_period(books: Books) -> None:
    import_roster(books, roster_line("M1", "C1"))
    open_period_two(books)
    before = books.app.recorder.max_notification_id() or 0
    books.app.join_county("YH", "Yunhe", 2, "8000.00", "T-YH", "admin", JOINED_ON)

    with pytest.raises(ImportRefused) as refused:
        import_roster(books, roster_line("M2", "YH"))
    assert [str(r) for r in refused.value.summary.rejects] == [
        "line 1: county = 'YH': county 'YH' is not in the city pool in period 1: it joins in "
        "period 2"
    ]
    with pytest.raises(CountyNotInPeriod, match="it joins in period 2"):
        books.app.enrol("M2", 1, "YH", "U1", None, "clerk", JOINED_ON)
    import_roster(books, roster_line("M2", "YH", period=2, on=JOINED_ON))
    books.close_period(1, "approver", date(2026, 1, 31))  # C1 and C2's results alone

    yh = books.report(county="YH")["counties"]["YH"]
    assert (yh["accounts"]["fund_transfers_in"], yh["accounts"]["bank"]) == ("8000.00", "8050.00")
    second = statement(books, 2).as_dict()
    assert sorted(second["counties"]) == ["C1", "C2", "YH"]
    assert second["counties"]["YH"]["closing_reserve"] == "8050.00"
    assert second["county_changes"] == [
        {
            "county": "YH",
            "change": "joined",
            "period": 2,
            "amount": "8000.00",
            "effective_date": "2026-01-05",
        }
    ]
    page = render(statement_document(statement(books, 2)))
    assert "统筹范围 Counties joining and leaving the city pool" in page
    assert "Yunhe (YH)" in page and "8,000.00" in page
    assert "统筹范围" not in render(statement_document(statement(books, 1)))
    first = statement(books, 1).as_dict()
    assert sorted(first["counties"]) == ["C1", "C2"] and first["county_changes"] == []
    assert statement(books, 2, county="YH").as_dict()["previous"] is None
    with pytest.raises(CountyNotInPeriod, match="in period 1: it joined in period 2"):
        statement(books, 1, county="YH")
    as_before = statement(books, 2, known_at=before).as_dict()
    assert sorted(as_before["counties"]) == ["C1", "C2"] and as_before["county_changes"] == []
    assert sorted(summary(books, 1, 2).as_dict()["county_names"]) == ["C1", "C2", "YH"]


def test_only_an_admin_brings_a_county_in(books: Books) -> None:
    with pytest.raises(DutyRefused, match="bring counties into the city pool"):
        books.app.join_county("YH", "Yunhe", 1, "0", "", "approver", JOINED_ON)
    assert "YH" not in books.app.scheme().counties


def test_a_county_leaving_is_settled_on_its_reserve_and_takes_nothing_after(books: Books) -> None:
    import_roster(books, roster_line("M1", "C1"), roster_line("M2", "C2"), roster_line("M3", "C2"))
    claim = books.app.submit_claim("M2", 1, "2000.00", "clerk", date(2025, 3, 1))  # 280.00
    books.app.approve_claim(claim, "approver", date(2025, 3, 2))
    open_period_two(books)
    with pytest.raises(Conflict, match="period 1 is open: close it before county 'C2' leaves"):
        books.leave_county("C2", 1, "T-C2", "admin", date(2026, 2, 1))
    books.close_period(1, "approver", date(2026, 1, 31))  # C2: 100.00 against 280.00
    import_roster(books, roster_line("M3", "C2", period=2, on=JOINED_ON), paid=False)
    with pytest.raises(Conflict, match="'C2' has postings in period 2"):
        books.leave_county("C2", 1, "T-C2", "admin", date(2026, 2, 1))


def test_a_county_leaves_with_its_reserve_transferred(books: Books) -> None:
    import_roster(books, roster_line("M1", "C1"), roster_line("M2", "C2"), roster_line("M3", "C2"))
    open_period_two(books)
    books.close_period(1, "approver", date(2026, 1, 31))
    assert books.leave_county("C2", 1, "T-C2", "admin", date(2026, 2, 1)) == 100
    c2 = books.report(county="C2")["counties"]["C2"]
    assert (c2["accounts"]["fund_transfers_out"], c2["accounts"]["bank"]) == ("100.00", "0.00")
    first = statement(books, 1).as_dict()
    assert first["counties"]["C2"]["closing_reserve"] == "0.00"
    assert [c["change"] for c in first["county_changes"]] == ["left"]
    assert sorted(statement(books, 2).as_dict()["counties"]) == ["C1"]
    with pytest.raises(CountyNotInPeriod, match="it left after period 1"):
        books.app.enrol("M4", 2, "C2", "U1", None, "clerk", JOINED_ON)
    with pytest.raises(Conflict, match="'C2' left the city pool after period 1"):
        books.leave_county("C2", 1, "T-C2", "admin", date(2026, 2, 2))


def test_a_county_owing_advances_repays_them_and_leaves_with_nothing(
    under: Callable[[Policy], Books],
) -> None:
    """The pool advanced C1's whole deficit: C1's reserve is short by that debt until the
    county tops it up; then it repays the pool, takes its reserve, and ends at nothing."""
    data = load_preset("pinghu").policy_for(1).model_dump(mode="json")
    data["deficit_sharing"] = {"city_share": "1", "city_cover": "advance"}
    books = under(Policy.model_validate({**data, "version": "advancing"}))
    import_roster(books, roster_line("M1"), roster_line("M2"))  # 100.00
    claim = books.app.submit_claim("M1", 1, "2000.00", "clerk", date(2025, 3, 1))  # 280.00
    books.app.approve_claim(claim, "approver", date(2025, 3, 2))
    books.app.make_payout(claim, None, "B-1", "cashier", date(2025, 3, 10))
    open_period_two(books)
    books.close_period(1, "approver", date(2026, 1, 31))  # 180.00 advanced
    with pytest.raises(Conflict, match=r"reserve of -180\.00: settle it by an adjustment"):
        books.leave_county("C1", 1, "T-C1", "admin", date(2026, 2, 1))
    books.app.post_adjustment(
        1, "C1", "bank", "county_contributions", "500.00", "county top-up", "approver",
        date(2026, 2, 1),
    )  # fmt: skip
    assert books.leave_county("C1", 1, "T-C1", "admin", date(2026, 2, 2)) == Decimal("320.00")
    report = books.report()
    c1, pool = report["counties"]["C1"], report["city_pool"]["accounts"]
    assert (c1["surplus"], c1["accounts"]["bank"], c1["accounts"]["advances_from_city"]) == (
        "0.00",
        "0.00",
        "0.00",
    )
    assert (pool["advances_to_counties"], report["trial_balance"]) == ("0.00", "0.00")
    assert statement(books, 1).as_dict()["counties"]["C1"]["closing_reserve"] == "0.00"
    with pytest.raises(Conflict, match="left the city pool after period 1: its books were settled"):
        books.app.post_adjustment(
            1, "C1", "bank", "county_contributions", "1.00", "late", "approver", date(2026, 3, 1)
        )


def test_an_adjustment_is_refused_for_a_period_before_the_county_joined(books: Books) -> None:
    open_period_two(books)
    books.app.join_county("YH", "Yunhe", 2, "0", "", "admin", JOINED_ON)
    with pytest.raises(CountyNotInPeriod, match="it joins in period 2"):
        books.app.post_adjustment(
            1, "YH", "bank", "county_contributions", "1.00", "early", "approver", JOINED_ON
        )


def test_a_feed_decided_before_its_county_left_saves_nothing(
    books: Books, db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An enrolment feed for C2's next period, decided while C2 was in the pool, meets C2
    leaving (in another process's connection) before it saves: it is refused whole."""
    import_roster(books, roster_line("M1", "C2"))
    open_period_two(books)
    books.close_period(1, "approver", date(2026, 1, 31))
    save = Batch.save

    def leaving_first(batch: Batch, progress: Callable[[int], None]) -> None:
        other = Books(db)
        try:
            other.leave_county("C2", 1, "T-C2", "admin", date(2026, 2, 1))
        finally:
            other.close()
        save(batch, progress)

    monkeypatch.setattr(Batch, "save", leaving_first)
    with pytest.raises(LedgerError, match="the ledger changed while this feed was imported"):
        import_roster(books, roster_line("M2", "C2", period=2, on=JOINED_ON), paid=False)
    monkeypatch.undo()
    books.catch_up()
    assert books.statements.periods_of("C2", books.log.last_position()) == [1]
    assert books.app.scheme().left == {"C2": 1}
