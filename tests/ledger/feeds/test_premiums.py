"""Importing premium lists on both backends: JSON Lines with exact amounts, posted by
funding source, and a partial import whose rejects keep the amounts as read."""

from decimal import Decimal
from pathlib import Path

import pytest
from feed_files import write_feed
from ledger_feeds import CLERK, accounts, enrol_unpaid, imported

from ledger.application.books import Books
from ledger.application.feeds import import_feed


def test_a_jsonl_premium_list_is_imported_and_posted(books: Books, tmp_path: Path) -> None:
    enrol_unpaid(books, "M001")
    premiums = write_feed(
        tmp_path / "premiums.jsonl",
        '{"receipt": "P1", "member_id": "M001", "period": 1, "source": "worker", '
        '"amount": 1, "paid_on": "2025/1/6"}',
        '{"收据号": "P2", "会员编号": "M001", "期次": 1, "资金来源": "union:city", '
        '"金额": 49.00, "缴费日期": "2025年1月6日"}',
    )

    summary = imported(books, "premiums", premiums)

    assert (summary.imported, summary.amounts) == (2, {"premiums": Decimal("50.00")})
    c1 = accounts(books)
    assert (c1["bank"], c1["premium_income:worker"], c1["premium_income:union:city"]) == (
        "50.00",
        "1.00",
        "49.00",
    )
    assert books.app.member("M001").enrolments[1].paid_up


def test_a_jsonl_amount_with_a_fraction_is_an_exact_decimal(books: Books, tmp_path: Path) -> None:
    enrol_unpaid(books, "M001")
    premiums = write_feed(
        tmp_path / "premiums.jsonl",
        '{"receipt": "P1", "member_id": "M001", "period": 1, "source": "union:city", '
        '"amount": 12.5, "paid_on": "2025-01-06"}',
    )

    imported(books, "premiums", premiums)

    assert accounts(books)["premium_income:union:city"] == "12.50"


def test_partial_import_of_gb18030_jsonl_writes_gb18030_jsonl_rejects_with_amounts_as_read(
    books: Books, tmp_path: Path
) -> None:
    enrol_unpaid(books, "M1", "M2")
    feed = write_feed(
        tmp_path / "premiums.jsonl",
        '{"receipt": "P1", "member_id": "M1", "姓名": "张三", "period": 1, '
        '"source": "union:city", "amount": 49.00, "paid_on": "2025-01-06"}',
        '{"receipt": "P2", "member_id": "M2", "姓名": "李四", "period": 1, '
        '"source": "union:city", "amount": 49.005, "paid_on": "2025-01-06"}',
        encoding="gb18030",
    )
    rejects = tmp_path / "rejects.jsonl"

    summary = import_feed(books, "premiums", feed, CLERK, partial=True, rejects_path=rejects)

    assert (summary.imported, summary.rejected) == (1, 1)
    with pytest.raises(UnicodeDecodeError):
        rejects.read_bytes().decode("utf-8")
    [line] = rejects.read_text("gb18030").splitlines()
    assert '"姓名": "李四"' in line and '"amount": 49.005' in line
    assert '"reason": "amount: more than 2 decimal places"' in line

    rejects.write_text(line.replace("49.005", "49.00"), "gb18030")
    fixed = imported(books, "premiums", rejects)

    assert (fixed.imported, accounts(books)["premium_income:union:city"]) == (1, "98.00")
