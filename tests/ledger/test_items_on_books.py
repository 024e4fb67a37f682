"""Benefit items on each backend: claims of each item by command and by feed, decided
within each item's own cap, and the statement's figures by item adding up to the city's."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from feed_files import write_feed
from rosters import import_roster, roster_line

from domain.errors import FieldError
from domain.policy import Policy
from ledger.application.books import Books
from ledger.application.feeds import ImportRefused, import_feed
from ledger.application.policies import load_preset
from ledger.reports.benefit_notice import benefit_notice
from ledger.reports.render.document import statement_document
from ledger.reports.render.html import render
from ledger.reports.screening import screening
from ledger.reports.statement import statement

ON = date(2025, 3, 1)
RECEIVED = date(2025, 3, 20)
ITEMS: dict[str, Any] = {
    "hospital_allowance": {
        "title": "住院津贴 Hospital allowance",
        "pays": "per_day",
        "per_day": "40.00",
        "annual_cap": "1000.00",
    },
    "condolence": {"title": "慰问金 Condolence", "pays": "lump_sum", "lump_sum": "500.00"},
}


@pytest.fixture
def with_items(under: Callable[[Policy], Books]) -> Books:
    data = load_preset("pinghu").policy_for(1).model_dump(mode="json")
    books = under(Policy.model_validate({**data, "version": "items", "items": ITEMS}))
    import_roster(books, roster_line("M1"), roster_line("M2"))
    return books


def test_claims_of_each_item_are_decided_and_shown_by_item(with_items: Books) -> None:
    books = with_items
    app = books.app
    stay = app.submit_claim("M1", 1, "2000.00", "clerk", ON)  # 280.00, the main benefit
    days = app.submit_claim("M1", 1, None, "clerk", ON, item="hospital_allowance", days=20)
    more = app.submit_claim("M1", 1, None, "clerk", ON, item="hospital_allowance", days=10)
    lump = app.submit_claim("M2", 1, None, "clerk", ON, item="condolence")
    benefits = [app.approve_claim(c, "approver", ON).benefit for c in (stay, days, more, lump)]
    assert [str(b) for b in benefits] == ["280.00", "800.00", "200.00", "500.00"]  # cap 1000
    app.make_payout(lump, None, "B-1", "cashier", ON)

    figures = statement(books, 1).as_dict()
    by_item = {row["item"]: row for row in figures["by_item"]}
    assert list(by_item) == ["inpatient", "hospital_allowance", "condolence"]  # the policy's
    assert [
        (r["claims"], r["benefits_approved"], r["members_helped"]) for r in by_item.values()
    ] == [
        (1, "280.00", 1),
        (2, "1000.00", 1),
        (1, "500.00", 1),
    ]
    assert by_item["condolence"]["benefits_paid"] == "500.00"
    assert figures["city"]["benefits_approved"] == "1780.00"  # the items add up to the city
    page = render(statement_document(statement(books, 1)))
    assert "按补助项目 By benefit item" in page and "住院津贴 Hospital allowance" in page

    explained = benefit_notice(books, more).as_dict()  # the item's cap, not the main rule's
    assert (explained["item"], explained["days"], explained["eligible"]) == (
        "住院津贴 Hospital allowance",
        10,
        "400.00",
    )
    assert (explained["cap"], explained["cap_left_before"], explained["benefit"]) == (
        "1000.00",
        "200.00",
        "200.00",
    )


def test_a_statement_of_a_policy_without_items_has_no_item_table(books: Books) -> None:
    import_roster(books, roster_line("M1"))
    books.app.approve_claim(books.app.submit_claim("M1", 1, "2000", "clerk", ON), "approver", ON)
    assert statement(books, 1).as_dict()["by_item"] == []
    assert "按补助项目" not in render(statement_document(statement(books, 1)))


def test_a_feed_claims_an_item_and_counts_its_days_from_the_stay(
    with_items: Books, tmp_path: Path
) -> None:
    header = "结算单号,会员编号,入院日期,出院日期,医疗总费用,统筹支付,补助项目"
    feed = write_feed(
        tmp_path / "allowance.csv",
        header,
        "JS-1,M1,2025-03-01,2025-03-08,9000,6000,hospital_allowance",
    )
    summary = import_feed(with_items, "claims", feed, "clerk", received_on=RECEIVED)
    assert summary.counts["approved"] == 1
    claim = with_items.app.member("M1").claim("JS-1/hospital_allowance")
    assert (claim.item, claim.days, str(claim.approved)) == ("hospital_allowance", 7, "280.00")


def test_a_feed_line_of_an_unknown_item_is_refused_naming_the_field(
    with_items: Books, tmp_path: Path
) -> None:
    header = "settlement_no,member_id,admitted_on,discharged_on,total_cost,insurance_paid,item"
    feed = write_feed(tmp_path / "c.csv", header, "JS-2,M1,2025-03-01,2025-03-08,9000,6000,dental")
    before = with_items.app.recorder.max_notification_id()
    with pytest.raises(ImportRefused) as refused:
        import_feed(with_items, "claims", feed, "clerk", received_on=RECEIVED)
    assert [str(r) for r in refused.value.summary.rejects] == [
        "line 2: item = 'dental': 'dental' is no benefit item of the policy "
        "(condolence, hospital_allowance)"
    ]
    assert with_items.app.recorder.max_notification_id() == before


def test_an_item_claim_of_a_policy_without_items_is_refused(books: Books) -> None:
    import_roster(books, roster_line("M1"))
    with pytest.raises(
        FieldError, match="'condolence' is no benefit item of the policy \\(none\\)"
    ):
        books.app.submit_claim("M1", 1, None, "clerk", ON, item="condolence")


def test_an_item_claim_is_decided_again_on_its_own_base_or_reversed(with_items: Books) -> None:
    """A lump sum or a day's rate is not an eligible amount to argue over: an appeal or a
    correction of such a claim decides it again on its own base, or reverses it."""
    app = with_items.app
    app.grant_role("li", "approver", "admin", ON)
    lump = app.submit_claim("M1", 1, None, "clerk", ON, item="condolence")
    app.approve_claim(lump, "approver", ON)
    app.appeal_claim(lump, "more, please", "clerk", ON)
    with pytest.raises(FieldError, match="'condolence' pays a lump sum: it is decided again on"):
        app.reassess_claim(lump, "99999", "more", "li", ON)
    assert app.reassess_claim(lump, None, "as it was", "li", ON) == 500
    with pytest.raises(FieldError, match="on its own base, or reversed"):
        app.correct_claim(lump, "100.00", False, "less", "li", ON)
    assert app.correct_claim(lump, None, True, "paid twice", "li", ON) == 0


def test_a_stay_and_its_allowance_are_two_claims_of_one_settlement(
    with_items: Books, tmp_path: Path
) -> None:
    header = "结算单号,会员编号,入院日期,出院日期,医疗总费用,统筹支付,合规自付,补助项目"
    feed = write_feed(
        tmp_path / "stay.csv",
        header,
        "JS-1,M1,2025-03-01,2025-03-11,9000,6000,3000,",
        "JS-1,M1,2025-03-01,2025-03-11,9000,6000,,hospital_allowance",
    )
    summary = import_feed(with_items, "claims", feed, "clerk", received_on=RECEIVED)
    assert summary.counts["approved"] == 2
    claims = with_items.app.member("M1").claims
    assert {c: str(claims[c].approved) for c in claims} == {
        "JS-1": "480.00",  # (3000 - 600) x 20%
        "JS-1/hospital_allowance": "400.00",  # 10 days x 40
    }
    again = import_feed(with_items, "claims", feed, "clerk", received_on=RECEIVED)
    assert again.already_present == 2


def test_an_items_base_is_no_self_paid_cost_to_screen_or_rank(with_items: Books) -> None:
    app = with_items.app
    for _ in range(3):
        claim = app.submit_claim("M1", 1, None, "clerk", ON, item="hospital_allowance", days=9)
        app.approve_claim(claim, "approver", ON)  # 360.00 each, 1,080.00 of the cap of 1,000
    assert screening(with_items, 1, Decimal("500")).slips == {}
    largest = statement(with_items, 1).as_dict()["largest_claims"]
    assert [c["self_paid"] for c in largest] == ["0.00", "0.00", "0.00"]


def test_only_a_per_day_items_claim_gives_days(with_items: Books) -> None:
    with pytest.raises(FieldError, match="only a per-day item's claim gives days"):
        with_items.app.submit_claim("M1", 1, "2000", "clerk", ON, days=5)
    claim = with_items.app.submit_claim("M1", 1, "2000", "clerk", ON, item="inpatient")
    assert with_items.app.member("M1").claim(claim).item is None
