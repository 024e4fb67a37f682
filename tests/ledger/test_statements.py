"""Period statements, screening and disclosure: the arithmetic, the figures against the
balances, reproducibility at a log position, and masking."""

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from rosters import import_roster, roster_line
from statement_books import MEMBERS, TWINS, record_period, record_twin_units

from domain.errors import LedgerError
from domain.policy import Policy
from ledger.application.books import Books
from ledger.application.policies import load_preset
from ledger.reports.render import write
from ledger.reports.render.chart import HEIGHT, WIDTH, Label, Shape, bars, width
from ledger.reports.render.document import (
    Chart,
    disclosure_document,
    screening_document,
    statement_document,
)
from ledger.reports.render.html import render
from ledger.reports.statements import (
    Figures,
    Unit,
    average,
    disclosure,
    mask,
    percent,
    screening,
    statement,
)

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


# The figures of a period, against the balances


@pytest.fixture
def closed(books: Books) -> Books:
    record_period(books)
    return books


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


def test_a_statement_needs_a_period_and_a_position_in_the_log(closed: Books) -> None:
    with pytest.raises(LedgerError, match="period 3 had not been opened"):
        statement(closed, 3)
    end = closed.app.recorder.max_notification_id() or 0
    with pytest.raises(LedgerError, match=f"position {end + 1} is not in the log"):
        statement(closed, 1, known_at=end + 1)
    with pytest.raises(LedgerError, match="county 'C9'"):
        statement(closed, 1, county="C9")


# Screening and disclosure


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


# Units of the same name in two counties are two units


@pytest.fixture
def twins(books: Books) -> Books:
    record_twin_units(books)
    return books


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


def label_boxes(shapes: list[Shape]) -> list[tuple[str, float, float, float, float]]:
    """Each label's box on the canvas: (text, left, top, right, bottom)."""
    boxes = []
    for s in shapes:
        if isinstance(s, Label):
            w = width(s.text, s.size)
            left = s.x - {"start": 0.0, "middle": w / 2, "end": w}[s.anchor]
            boxes.append((s.text, left, s.y - s.size * 0.8, left + w, s.y + s.size * 0.2))
    return boxes


@pytest.mark.parametrize(
    ("counties", "base"),
    [(3, D("977958.00")), (4, D("1777958.00")), (12, D("1777958.00")), (30, D("52000.00"))],
)
def test_chart_labels_never_overlap_and_stay_on_the_canvas(counties: int, base: D) -> None:
    chart = Chart(
        "保费收入与批准补助 Premium income and benefits by county",
        tuple(f"县{i} County {i}" for i in range(counties)),
        (
            ("保费收入 Premium income", tuple(base + i * 1111 for i in range(counties))),
            ("批准补助 Benefits", tuple(-base / 3 + i for i in range(counties))),
        ),
        "元",
    )
    boxes = label_boxes(bars(chart))
    for text, left, top, right, bottom in boxes:
        assert left >= 0 and right <= WIDTH and top >= 0 and bottom <= HEIGHT, text
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = a[3] <= b[1] or b[3] <= a[1] or a[4] <= b[2] or b[4] <= a[2]
            assert apart, (a, b)
    texts = {b[0] for b in boxes}
    assert ("单位：万元" in texts) == (base >= 1_000_000)
    if counties <= 4:  # room for every bar's figure
        assert f"{(base + 1111) / 10000:,.1f}" in texts or f"{base + 1111:,.0f}" in texts
