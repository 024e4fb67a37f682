"""Free text before it is recorded: ids given exactly, and nothing a statement cannot show."""

import pytest

from domain.errors import FieldError, InvalidText
from domain.text import identifier, plain_text


@pytest.mark.parametrize("value", ["Glass Works", "平湖市总工会", "O'Brien & Sons", "", "A/B-7"])
def test_plain_text_is_returned_as_it_was_given(value: str) -> None:
    assert plain_text(value, "unit") == value


@pytest.mark.parametrize(
    ("value", "code"), [("a\ufffe", "FFFE"), ("\uffff", "FFFF"), ("\ufdd0", "FDD0")]
)
def test_a_noncharacter_is_refused_for_an_xlsx_file_could_not_hold_it(
    value: str, code: str
) -> None:
    with pytest.raises(InvalidText, match=rf"contains a noncharacter \(U\+{code}\)"):
        plain_text(value, "unit")


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("a\x07b", "0007"),
        ("\x00", "0000"),
        ("tab\there", "0009"),
        ("line\nbreak", "000A"),
        ("del\x7f", "007F"),
        ("c1\x85", "0085"),
    ],
)
def test_a_control_character_is_refused_naming_the_field_and_the_character(
    value: str, code: str
) -> None:
    with pytest.raises(InvalidText) as refused:
        plain_text(value, "unit")
    assert str(refused.value) == f"unit {value!r}: contains a control character (U+{code})"
    assert (refused.value.field, refused.value.value) == ("unit", value)
    assert isinstance(refused.value, FieldError)


def test_an_unpaired_surrogate_is_refused() -> None:
    with pytest.raises(InvalidText, match=r"an unpaired surrogate \(U\+D800\)"):
        plain_text("a\ud800", "reason")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "must not be blank"),
        (" \t", "must not be blank"),
        ("M001 ", "must not begin or end with spaces"),
        ("\u3000M001", "must not begin or end with spaces"),
        ("M0\x1b01", "contains a control character (U+001B)"),
    ],
)
def test_an_identifier_is_given_exactly(value: str, reason: str) -> None:
    with pytest.raises(InvalidText) as refused:
        identifier(value, "member_id")
    assert str(refused.value) == f"member id {value!r}: {reason}"


def test_an_identifier_may_hold_spaces_inside() -> None:
    assert identifier("M 001", "member_id") == "M 001"
