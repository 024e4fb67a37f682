"""Free text before it is recorded: ids given exactly, and nothing a statement cannot show."""

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import FieldError, InvalidText
from domain.text import bank_account, identifier, mobile_phone, plain_text


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


FULL_WIDTH_PHONE = "".join(chr(ord(c) + 0xFEE0) for c in "13857301234")
"""As a Chinese input method in full-width mode types digits."""


@pytest.mark.parametrize("value", ["622202120400123", "6222021204001234567", "0" * 30])
def test_a_bank_account_of_digits_is_taken_as_given(value: str) -> None:
    assert bank_account(value, "bank_account") == value


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("6.22202E+18", "is in scientific notation (Excel lost its digits): format it as text"),
        ("6.22202e+18", "is in scientific notation (Excel lost its digits): format it as text"),
        ("6222 0212 0400 1234", "must be 12 to 30 digits, without spaces or dashes"),
        ("6222-0212-0400-1234", "must be 12 to 30 digits, without spaces or dashes"),
        ("12345678901", "must be 12 to 30 digits, without spaces or dashes"),
        (
            "".join(chr(ord(c) + 0xFEE0) for c in "6222021204001234"),
            "must be 12 to 30 digits, without spaces or dashes",
        ),
    ],
)
def test_a_bank_account_that_a_bank_could_not_pay_is_refused(value: str, reason: str) -> None:
    with pytest.raises(InvalidText) as refused:
        bank_account(value, "bank_account")
    assert str(refused.value) == f"bank account {value!r}: {reason}"
    assert refused.value.field == "bank_account"


@pytest.mark.parametrize("value", ["13857301234", "19912345678"])
def test_a_mobile_number_is_taken_as_given(value: str) -> None:
    assert mobile_phone(value, "phone") == value


@pytest.mark.parametrize(
    "value",
    [
        "1385730123",
        "138573012345",
        "0573-85123456",
        "+8613857301234",
        "12857301234",
        FULL_WIDTH_PHONE,
    ],
)
def test_a_phone_an_sms_cannot_reach_is_refused(value: str) -> None:
    with pytest.raises(InvalidText) as refused:
        mobile_phone(value, "phone")
    assert str(refused.value) == (
        f"phone {value!r}: must be a mobile number of 11 digits, such as 13812345678"
    )


@settings(max_examples=500)
@given(st.text(st.characters(codec=None, exclude_categories=())))
def test_plain_text_refuses_exactly_the_controls_surrogates_and_noncharacters(value: str) -> None:
    """Its quick test of printable text must agree with the rule, sign by sign."""
    refused = any(
        unicodedata.category(c) in ("Cc", "Cs", "Cf")
        or ord(c) & 0xFFFE == 0xFFFE
        or 0xFDD0 <= ord(c) <= 0xFDEF
        for c in value
    )
    try:
        plain_text(value, "unit")
    except InvalidText:
        assert refused
    else:
        assert not refused


@pytest.mark.parametrize("mark", ["\u200b", "\u2060", "\u200e", "\u200f", "\ufeff", "\u202e"])
def test_an_invisible_format_character_makes_no_second_identity(mark: str) -> None:
    """`JS-777` and `JS-777` with a zero-width space after it show alike: the second is
    refused, as a second settlement, member or user would otherwise be made of it."""
    for value, check in ((f"JS-777{mark}", identifier), (f"wang{mark}", identifier)):
        with pytest.raises(InvalidText, match="contains an invisible format character"):
            check(value, "settlement_no")
    with pytest.raises(InvalidText, match="invisible format character"):
        plain_text(f"平湖{mark}玻璃", "unit")


@pytest.mark.parametrize(
    ("value", "seen"),
    [("\uff2d\uff2f01", "MO01"), ("M\uff10\uff11", "M01"), ("\uff57\uff41\uff4e\uff47", "wang")],
)
def test_an_id_in_characters_that_read_as_another_is_refused(value: str, seen: str) -> None:
    """Full-width letters and digits read as their plain twins."""
    with pytest.raises(InvalidText, match=f"read as '{seen}': write it so"):
        identifier(value, "member_id")


def test_texts_and_ids_have_a_length_limit() -> None:
    assert plain_text("长" * 2000, "reason") == "长" * 2000
    with pytest.raises(InvalidText, match="is 100,000 characters, over 2,000"):
        plain_text("x" * 100_000, "reason")
    with pytest.raises(InvalidText, match="is 65 characters, over 64 for an id"):
        identifier("M" * 65, "member_id")
