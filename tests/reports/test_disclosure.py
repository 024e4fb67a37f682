"""Disclosure to units: a unit beside the city, members masked, the unit in the county asked
for."""

import pytest

from domain.errors import LedgerError
from ledger.application.books import Books
from ledger.reports.disclosure import disclosure
from ledger.reports.render.document import disclosure_document
from ledger.reports.render.html import render


def test_a_disclosure_sets_a_unit_beside_the_city_with_members_masked(closed: Books) -> None:
    found = disclosure(closed, 1, "Harbour Union")
    data = found.as_dict()
    assert (data["county"], data["county_name"], data["unit"]) == ("C2", "Zhapu", "Harbour Union")
    unit, city = data["unit_figures"], data["city_figures"]
    assert (unit["members"], unit["claims"], unit["benefits_approved"]) == (2, 3, "120.00")
    assert unit["premium_income_total"] == "100.00" and city["premium_income_total"] == "250.00"
    assert (city["members"], city["claims"], city["benefits_paid"]) == (5, 5, "10440.00")
    assert [c["member"] for c in data["claims"]] == ["M00****01", "M00****02", "M00****02"]
    with pytest.raises(LedgerError, match="unit 'Nowhere'"):
        disclosure(closed, 1, "Nowhere")


# Units of the same name in two counties are two units


def test_a_disclosure_is_of_the_unit_in_the_county_asked_for(twins: Books) -> None:
    c1 = disclosure(twins, 1, "Glass Works", county="C1").as_dict()
    c2 = disclosure(twins, 1, "Glass Works", county="C2").as_dict()
    assert (c1["county"], c1["county_name"], c1["unit"]) == ("C1", "Danghu", "Glass Works")
    assert (c2["county"], c2["county_name"], c2["unit"]) == ("C2", "Zhapu", "Glass Works")
    mine = c1["unit_figures"]
    assert (mine["members"], mine["premium_income_total"]) == (2, "100.00")
    assert (mine["claims"], mine["benefits_approved"], mine["benefits_paid"]) == (
        1,
        "10380.00",
        "10380.00",
    )
    assert [c["member"] for c in c1["claims"]] == ["M00****01"]
    assert [c["self_paid"] for c in c1["claims"]] == ["20000.00"]
    theirs = c2["unit_figures"]
    assert (theirs["members"], theirs["premium_income_total"]) == (1, "50.00")
    assert (theirs["claims"], theirs["claims_rejected"], theirs["benefits_approved"]) == (
        2,
        0,
        "80.00",
    )
    assert [c["self_paid"] for c in c2["claims"]] == ["900.00", "700.00"]
    assert c1["city_figures"] == c2["city_figures"]
    assert c1["city_figures"]["members"] == 4
    html = render(disclosure_document(disclosure(twins, 1, "Glass Works", county="C2")))
    assert "County: Zhapu (C2)" in html and "本单位 Glass Works (C2)" in html
    harbour = disclosure(twins, 1, "Harbour Union").as_dict()
    assert (harbour["county"], harbour["unit_figures"]["claims_rejected"]) == ("C2", 1)
