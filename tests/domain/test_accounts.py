"""The chart of accounts as documents name it: each account and funding source has a name a
board reads, so no code (`union:city`, `premium_income:other`) reaches a document."""

import pytest

from domain.accounts import CHART, account_title, premium_income, source_title


@pytest.mark.parametrize(
    ("source", "title"),
    [
        ("worker", "职工个人"),
        ("employer", "单位"),
        ("other", "其他"),
        ("union:city", "工会补助(市级)"),
        ("union:county", "工会补助(县级)"),
    ],
)
def test_a_funding_source_is_named_in_chinese(source: str, title: str) -> None:
    assert source_title(source) == title


def test_every_account_has_a_chinese_name_and_a_premium_account_names_its_source() -> None:
    titles = [account_title(a.name) for a in CHART]
    assert len(set(titles)) == len(CHART)
    assert all(t and not t.isascii() for t in titles)
    assert account_title(premium_income("union:city")) == "保费收入-工会补助(市级)"
    assert account_title("bank") == "银行存款"
