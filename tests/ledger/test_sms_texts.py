"""The SMS texts on each backend: payouts after the scheme records a new text send it, with
the claim's reference to its explanation of benefit; those before keep theirs, through a
replay of the log."""

from datetime import date

import pytest
from rosters import import_roster, roster_line

from domain.errors import DutyRefused
from domain.text import FIRST_NOTICE
from ledger.application.books import Books
from ledger.reports.audit import check_read_models

WITH_REFERENCE = FIRST_NOTICE + "补助说明（申请号{claim_id}）可向单位工会索取。"
PAID_ON = date(2025, 3, 10)


def paid(books: Books, member: str) -> str:
    claim = books.app.submit_claim(member, 1, "2000.00", "clerk", date(2025, 3, 1))  # 280.00
    books.app.approve_claim(claim, "approver", date(2025, 3, 2))
    books.app.make_payout(claim, None, f"B-{member}", "cashier", PAID_ON)
    return claim


def test_payouts_after_a_new_text_send_it_and_those_before_keep_theirs(books: Books) -> None:
    import_roster(books, roster_line("M1"), roster_line("M2"))
    paid(books, "M1")
    books.app.change_notice_template(WITH_REFERENCE, "admin", date(2025, 3, 5))
    second = paid(books, "M2")
    books.catch_up()
    texts = {m.member_id: m.text for m in books.notifications.pending()}
    assert texts["M1"] == (
        "【Pinghu】M1您好：您的职工医疗互助保障金280.00元已于2025年3月10日支付到您的银行账户，"
        "请注意查收。"
    )
    assert texts["M2"] == texts["M1"].replace("M1", "M2") + (
        f"补助说明（申请号{second}）可向单位工会索取。"
    )
    assert check_read_models(books).differences == []


def test_only_an_admin_changes_the_text(books: Books) -> None:
    with pytest.raises(DutyRefused, match="change the SMS text"):
        books.app.change_notice_template(WITH_REFERENCE, "cashier", date(2025, 3, 5))
    assert books.app.scheme().notice_template == FIRST_NOTICE
