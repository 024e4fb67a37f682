"""Screening and referral slips: high costs and frequent claims found by unit, each unit's
slips its own."""

from decimal import Decimal

import pytest
from statement_books import TWINS

from domain.errors import LedgerError
from ledger.application.books import Books
from ledger.reports.figures import Unit
from ledger.reports.render.document import screening_document
from ledger.reports.render.html import render
from ledger.reports.screening import screening

D = Decimal


def test_screening_finds_high_costs_and_frequent_claims_by_unit(closed: Books) -> None:
    found = screening(closed, 1, D("5000.00"), frequent=2)
    slips = {unit: [s.member_id for s in unit_slips] for unit, unit_slips in found.slips.items()}
    assert slips == {("C1", "Glass Works"): ["M0010001"], ("C2", "Harbour Union"): ["M0020002"]}
    (frequent,) = found.slips[Unit("C2", "Harbour Union")]
    assert [c.self_paid for c in frequent.claims] == [D("700.00"), D("800.00")]
    assert frequent.reasons == ["本期申请 2 次（不少于 2 次） 2 claims in the period (at least 2)"]
    assert screening(closed, 1, D("5000.00")).slips.keys() == {("C1", "Glass Works")}
    only = screening(closed, 1, D("0.00"), unit="Dye House")
    assert only.unit == ("C1", "Dye House")
    assert [s.member_id for s in only.slips[Unit("C1", "Dye House")]] == ["M0010003"]
    with pytest.raises(LedgerError, match="unit 'Nowhere'"):
        screening(closed, 1, D("0.00"), unit="Nowhere")


def test_a_unit_sees_its_own_members_only_on_its_own_slips(closed: Books) -> None:
    found = screening(closed, 1, D("5000.00"), frequent=2)
    glass = render(screening_document(found, Unit("C1", "Glass Works")))
    harbour = render(screening_document(found, Unit("C2", "Harbour Union")))
    assert "M0010001" in glass and "M0020002" not in glass
    assert "M0020002" in harbour and "M0010001" not in harbour


# Units of the same name in two counties are two units


def test_screening_keeps_same_named_units_of_two_counties_apart(twins: Books) -> None:
    found = screening(twins, 1, D("5000.00"), frequent=2)
    slips = {unit: [s.member_id for s in unit_slips] for unit, unit_slips in found.slips.items()}
    assert slips == {
        ("C1", "Glass Works"): ["M0010101"],
        ("C2", "Glass Works"): ["M0020101"],
        ("C2", "Harbour Union"): ["M0020102"],
    }
    (c1,) = found.slips[Unit("C1", "Glass Works")]
    (c2,) = found.slips[Unit("C2", "Glass Works")]
    assert (c1.county, c1.self_paid, c2.county, c2.self_paid) == (
        "C1",
        D("20000.00"),
        "C2",
        D("1600.00"),
    )
    documents = {
        unit: render(screening_document(found, unit))
        for unit in (Unit("C1", "Glass Works"), Unit("C2", "Glass Works"))
    }
    for unit, html in documents.items():
        assert f"County: {found.county_names[unit.county]} ({unit.county})" in html
        for member, home in TWINS.items():  # each slip in its own county's unit's file only
            assert (member in html) == (home == unit and member in ("M0010101", "M0020101"))
    for county in ("C1", "C2"):
        one = screening(twins, 1, D("5000.00"), frequent=2, unit="Glass Works", county=county)
        assert one.unit == (county, "Glass Works")
        assert list(one.slips) == [(county, "Glass Works")]
        assert one.slips[Unit(county, "Glass Works")] == found.slips[Unit(county, "Glass Works")]
    in_c2 = screening(twins, 1, D("5000.00"), frequent=2, county="C2")
    assert list(in_c2.slips) == [("C2", "Glass Works"), ("C2", "Harbour Union")]
    alone = screening(twins, 1, D("0.00"), unit="Harbour Union")
    assert alone.unit == ("C2", "Harbour Union")
    assert [s.member_id for s in alone.slips[Unit("C2", "Harbour Union")]] == ["M0020102"]
