"""The explanation of benefit for a member, on each backend: the bill, the bands that make
the benefit, the cap before and after, what was paid; the same at its log position
whatever is recorded later, and drawn as each document format."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

from feed_files import write_feed
from rosters import import_roster, roster_line

from ledger.application.app import MutualAidLedger
from ledger.application.books import Books
from ledger.application.feeds import import_feed
from ledger.reports.benefit_notice import benefit_notice
from ledger.reports.render import write
from ledger.reports.render.document import benefit_notice_document
from ledger.reports.render.html import render

D = Decimal
ON = date(2025, 3, 20)
HEADER = "结算单号,会员编号,入院日期,出院日期,医疗总费用,统筹支付,个人自付,自费,起付线"


def test_a_settlement_is_explained_from_its_bill_to_its_payment(
    books: Books, tmp_path: Path
) -> None:
    import_roster(books, roster_line("M1"))
    feed = write_feed(
        tmp_path / "s.csv",
        HEADER,
        "S1,M1,2025-03-01,2025-03-10,32000.00,18000.00,12000.00,2000.00,600.00",
    )
    import_feed(books, "claims", feed, "clerk", received_on=ON)
    books.app.make_payout("S1", D("1000.00"), "B-1", "cashier", ON)
    notice = benefit_notice(books, "S1")
    assert notice.settlement == {
        "total_cost": D("32000.00"),
        "insurance_paid": D("18000.00"),
        "policy_self_paid": D("12000.00"),
        "out_of_catalogue": D("2000.00"),
        "insurance_deductible": D("600.00"),
    }
    assert notice.eligible == D("12000.00")  # policy self-pay alone, under Pinghu
    assert notice.status == "approved"
    bands = notice.breakdown["bands"] if notice.breakdown else []
    assert sum(D(b["amount"]) for b in bands) == notice.benefit == D("4780.00")
    # 4,400 x 20% + 5,000 x 50% + 2,000 x 70%
    assert (notice.cap, notice.cap_left_before, notice.cap_left_after) == (None, None, None)
    assert notice.as_dict()["payable"] == "3780.00"
    at = notice.provenance.position
    books.app.make_payout("S1", D("3780.00"), "B-2", "cashier", ON)
    assert benefit_notice(books, "S1", at) == notice
    assert benefit_notice(books, "S1").paid == D("4780.00")


def test_the_cap_used_before_a_claim_and_left_after_it(
    db: str, staff: Callable[[MutualAidLedger], None], tmp_path: Path
) -> None:
    """Nanyang: half above 1,000, at most 100,000 a member a year."""
    books = Books(db)
    try:
        start = date(2025, 1, 1)
        books.app.create_scheme("Nanyang", "nanyang", {"C1": "Wancheng"}, "admin", start)
        staff(books.app)
        books.app.open_period(1, start, date(2025, 12, 31), None, "approver", start)
        import_roster(books, roster_line("M1"))
        for n, amount in enumerate(("161000", "61000"), 1):
            books.app.submit_claim("M1", 1, amount, "clerk", ON, f"K{n}")
            books.app.approve_claim(f"K{n}", "approver", ON)
        first, second = benefit_notice(books, "K1"), benefit_notice(books, "K2")
        assert (first.cap_left_before, first.benefit, first.cap_left_after) == (
            D("100000.00"),
            D("80000.00"),
            D("20000.00"),
        )
        assert (second.cap, second.cap_left_before, second.benefit, second.cap_left_after) == (
            D("100000.00"),
            D("20000.00"),
            D("20000.00"),  # 30,000 before the cap
            D("0.00"),
        )
        page = render(benefit_notice_document(second))
        assert "补助说明 Explanation of benefit" in page and "K2" in page and "20,000.00" in page
        for format in ("pdf", "xlsx"):
            path = tmp_path / f"K2.{format}"
            write(benefit_notice_document(second), format, path)
            assert path.stat().st_size > 1000
    finally:
        books.close()
