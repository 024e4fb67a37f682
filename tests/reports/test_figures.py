"""What the documents share: the arithmetic the boards expect, masks, and units found by
name."""

from decimal import Decimal

import pytest

from domain.errors import LedgerError
from ledger.application.books import Books
from ledger.reports.disclosure import disclosure
from ledger.reports.figures import Figures, average, mask, percent
from ledger.reports.screening import screening

D = Decimal


# The arithmetic the boards expect (Taizhou 2015)


def test_the_taizhou_claims_ratio_and_benefit_per_claim() -> None:
    assert percent(D("5150705.00"), D("20145720.00")) == D("25.6")
    assert average(D("5150705.00"), 2799) == D("1840.19")
    taizhou = Figures(
        members=508_010,
        premiums={"union:city": D("15000000.00"), "worker": D("5145720.00")},
        benefits_approved=D("5150705.00"),
        claims=2799,
    )
    assert taizhou.premium_income == D("20145720.00")
    assert (taizhou.claims_ratio, taizhou.average_benefit) == (D("25.6"), D("1840.19"))
    figures = taizhou.as_dict()
    assert figures["claims_ratio_percent"] == "25.6"
    assert figures["average_benefit_per_claim"] == "1840.19"
    assert figures["members"] == 508_010


def test_ratios_round_half_up_once_and_need_something_to_divide_by() -> None:
    assert percent(D("1.25"), D("10")) == D("12.5")
    assert percent(D("0.12345"), D("1")) == D("12.3")
    assert percent(D("0.12350"), D("1")) == D("12.4")
    assert percent(D("1"), D("0")) is None
    assert average(D("0.05"), 2) == D("0.03")
    assert average(D("10"), 0) is None
    assert Figures().as_dict()["claims_ratio_percent"] is None


def test_a_member_id_is_masked_to_its_first_three_and_last_two_signs() -> None:
    assert mask("M001234") == "M00****34"
    assert mask(" 330102199001011234 ") == "330****34"
    assert mask("M12345") == "M****"
    assert mask("m1") == "m****"


# Units of the same name in two counties are two units


def test_a_unit_name_in_two_counties_is_refused_without_its_county(twins: Books) -> None:
    expected = (
        "unit 'Glass Works' is ambiguous: units of that name had members enrolled in period 1 "
        "in counties C1 (Danghu) and C2 (Zhapu); say which with --county C1 or --county C2"
    )
    with pytest.raises(LedgerError) as refused:
        screening(twins, 1, D("0.00"), unit="Glass Works")
    assert str(refused.value) == expected
    with pytest.raises(LedgerError) as refused:
        disclosure(twins, 1, "Glass Works")
    assert str(refused.value) == expected
    absent = "unit 'Harbour Union' had no members enrolled in county C1 in period 1"
    with pytest.raises(LedgerError, match=absent):
        disclosure(twins, 1, "Harbour Union", county="C1")
    with pytest.raises(LedgerError, match=absent):
        screening(twins, 1, D("0.00"), unit="Harbour Union", county="C1")
    with pytest.raises(LedgerError, match="county 'C9' is not part of this scheme"):
        disclosure(twins, 1, "Glass Works", county="C9")
    with pytest.raises(LedgerError, match="county 'C9' is not part of this scheme"):
        screening(twins, 1, D("0.00"), county="C9")
