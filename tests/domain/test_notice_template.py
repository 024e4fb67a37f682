"""The SMS text payouts send, as the scheme records it: only the fields a payout fills in,
the amount among them, checked before it is kept for good."""

from collections.abc import Callable
from datetime import date

import pytest

from domain.errors import Conflict, FieldError, InvalidText
from domain.scheme import Scheme
from domain.text import FIRST_NOTICE, notice_template

WITH_REFERENCE = FIRST_NOTICE + "补助说明（申请号{claim_id}）可向单位工会索取。"


def test_the_first_text_and_one_referring_to_the_explanation_are_templates() -> None:
    assert notice_template(FIRST_NOTICE) == FIRST_NOTICE
    assert notice_template(f"  {WITH_REFERENCE} ") == WITH_REFERENCE
    assert notice_template("{amount} yuan, {{sic}}") == "{amount} yuan, {{sic}}"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "give the text"),
        ("{member_id} was paid", "it must say the amount paid: {amount}"),
        ("{amount} to {account}", "unknown field {account}"),
        ("{amount:>10}", "unknown field {amount}"),
        ("{amount!r}", "unknown field {amount}"),
        ("{0} {amount}", "unknown field {0}"),
        ("{amount} {", "write a brace itself as {{ or }}"),
        ("{amount}" + "元" * 300, "308 signs is over 300"),
    ],
)
def test_a_template_is_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(FieldError, match="SMS template") as refused:
        notice_template(text)
    assert reason in str(refused.value) and refused.value.field == "template"


def test_a_template_with_a_control_character_is_refused() -> None:
    with pytest.raises(InvalidText, match="template"):
        notice_template("{amount}\n元")


def test_a_scheme_records_its_text_and_refuses_the_same_again(
    open_scheme: Callable[..., Scheme],
) -> None:
    scheme = open_scheme()
    assert scheme.notice_template == FIRST_NOTICE
    scheme.change_notice_template(WITH_REFERENCE, "alice", date(2025, 5, 1))
    [changed] = scheme.collect_events()
    assert isinstance(changed, Scheme.NoticeTemplateChanged)
    assert scheme.notice_template == changed.template == WITH_REFERENCE
    with pytest.raises(Conflict, match="already that text"):
        scheme.change_notice_template(WITH_REFERENCE, "alice", date(2025, 5, 2))
