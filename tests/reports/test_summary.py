"""Summaries over several periods: each period's column is its statement's figures, the
totals add them up, per head figures count the sources asked for, and the whole is the
same at its log position whatever is recorded later."""

from datetime import date
from decimal import Decimal

import pytest
from rosters import import_roster, roster_line

from domain.errors import LedgerError
from ledger.application.books import Books
from ledger.application.policies import load_preset
from ledger.reports.render.document import summary_document
from ledger.reports.render.html import render
from ledger.reports.statement import statement
from ledger.reports.summary import summary

D = Decimal
PERIOD_FIGURES = (
    "members",
    "premium_income",
    "benefits_approved",
    "benefits_paid",
    "claims",
    "opening_reserve",
    "period_result",
    "closing_reserve",
    "claims_ratio_percent",
    "claims_ratio_calendar",
)


@pytest.fixture
def two_periods(closed: Books) -> Books:
    """The statement books' closed period 1, and a period 2 with one member and a claim."""
    app = closed.app
    app.open_period(
        2,
        date(2026, 1, 1),
        date(2026, 12, 31),
        load_preset("pinghu").policy_for(2),
        "approver",
        date(2026, 1, 1),
    )
    import_roster(
        closed, roster_line("M0030001", "C2", "Harbour Union", period=2, on=date(2026, 1, 2))
    )
    claim = app.submit_claim("M0030001", 2, "2000.00", "clerk", date(2026, 3, 1))
    app.approve_claim(claim, "approver", date(2026, 3, 2))
    return closed


def test_each_period_is_its_statements_figures_and_the_total_adds_them(two_periods: Books) -> None:
    found = summary(two_periods, 1, 2).as_dict()
    for column, number in zip(found["periods"], (1, 2), strict=True):
        city = statement(two_periods, number).as_dict()["city"]
        assert column["period"]["number"] == number
        assert {k: column[k] for k in PERIOD_FIGURES} == {k: city[k] for k in PERIOD_FIGURES}
    first, second, whole = found["periods"][0], found["periods"][1], found["total"]
    for figure in ("premium_income_total", "benefits_approved", "benefits_paid", "period_result"):
        assert D(whole[figure]) == D(first[figure]) + D(second[figure])
    assert whole["members"] == first["members"] + second["members"] == 6
    assert whole["opening_reserve"] == first["opening_reserve"] == "0.00"
    assert whole["closing_reserve"] == second["closing_reserve"]
    page = render(summary_document(summary(two_periods, 1, 2)))
    assert "多期汇总" in page and "合计 Total" in page and "Periods still open" in page


def test_a_county_summary_is_that_countys_figures(two_periods: Books) -> None:
    found = summary(two_periods, 1, 2, county="C2").as_dict()
    county = [statement(two_periods, n, county="C2").as_dict()["counties"]["C2"] for n in (1, 2)]
    assert [p["closing_reserve"] for p in found["periods"]] == [
        c["closing_reserve"] for c in county
    ]
    assert found["county_names"] == {"C2": "Zhapu"}


def test_the_premium_per_member_counts_the_sources_asked_for(two_periods: Books) -> None:
    """Pinghu's 50 yuan is 49 from the union and 1 from the worker."""
    every = summary(two_periods, 1, 1).as_dict()
    workers = summary(two_periods, 1, 1, per_head_sources=["worker"]).as_dict()
    assert (every["per_head_sources"], workers["per_head_sources"]) == (None, ["worker"])
    assert every["periods"][0]["premium_per_member"] == "50.00"
    assert workers["periods"][0]["premium_per_member"] == "1.00"
    assert workers["periods"][0]["benefits_approved_per_member"] == "2120.04"  # 10,600.20 / 5
    page = render(summary_document(summary(two_periods, 1, 1, per_head_sources=["worker"])))
    assert "Premium per member counts: 职工个人" in page


def test_a_summary_at_its_position_is_the_same_after_later_entries(two_periods: Books) -> None:
    before = summary(two_periods, 1, 2)
    claim = two_periods.app.submit_claim("M0030001", 2, "3000.00", "clerk", date(2026, 4, 1))
    two_periods.app.approve_claim(claim, "approver", date(2026, 4, 2))
    again = summary(two_periods, 1, 2, known_at=before.provenance.position)
    assert again.as_dict() == before.as_dict()
    assert summary(two_periods, 1, 2).as_dict()["total"] != before.as_dict()["total"]


def test_a_summary_needs_periods_in_order_that_were_opened_and_known_sources(
    two_periods: Books,
) -> None:
    with pytest.raises(LedgerError, match="2-1 runs backwards"):
        summary(two_periods, 2, 1)
    with pytest.raises(LedgerError, match="period 3 had not been opened"):
        summary(two_periods, 1, 3)
    with pytest.raises(LedgerError, match="'wrkr' is not a funding source"):
        summary(two_periods, 1, 2, per_head_sources=["wrkr"])
    with pytest.raises(LedgerError, match="county 'C9'"):
        summary(two_periods, 1, 2, county="C9")
