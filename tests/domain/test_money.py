"""Money: exact yuan with two places, parsed in one place and rounded half up."""

import re
from collections.abc import Callable
from decimal import Decimal

import pytest
from capitals import read_capitals
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidAmount, LedgerError
from domain.money import (
    capitals,
    fmt,
    from_fen,
    money,
    non_negative,
    positive,
    round_yuan,
    to_fen,
)

TWO_PLACES = re.compile(r"^-?\d+\.\d{2}$")


def refusal(
    value: object, parse: Callable[[object, str], Decimal] = money, field: str = "amount"
) -> InvalidAmount:
    with pytest.raises(InvalidAmount) as caught:
        parse(value, field)
    return caught.value


@pytest.mark.parametrize(
    ("given_value", "expected"),
    [
        ("12.3", "12.30"),
        ("12", "12.00"),
        ("0.01", "0.01"),
        ("-7.5", "-7.50"),
        (" 1,234.50 ", "1234.50"),
        (12, "12.00"),
        (0, "0.00"),
        (Decimal("7.5"), "7.50"),
        (Decimal("3.10"), "3.10"),
    ],
)
def test_money_parses_strings_ints_and_decimals_to_two_places(
    given_value: object, expected: str
) -> None:
    amount = money(given_value)
    assert isinstance(amount, Decimal)
    assert str(amount) == expected


@pytest.mark.parametrize(
    ("given_value", "reason"),
    [
        (0.1, "floats are not accepted"),
        (50.5, "floats are not accepted"),
        (1.0, "floats are not accepted"),
        (True, "floats are not accepted"),
        (False, "floats are not accepted"),
        ("NaN", "not a finite number"),
        ("Infinity", "not a finite number"),
        ("-inf", "not a finite number"),
        (Decimal("NaN"), "not a finite number"),
        (Decimal("-Infinity"), "not a finite number"),
        ("abc", "not a number"),
        ("", "not a number"),
        ("1E+2", "not a number"),
        ("4,9", "not a number"),
        ("1_0", "not a number"),
        ("1.005", "more than 2 decimal places"),
        (Decimal("0.001"), "more than 2 decimal places"),
        (None, "unsupported type NoneType"),
        ([1], "unsupported type list"),
    ],
)
def test_money_refuses_anything_that_could_hide_a_rounding_error(
    given_value: object, reason: str
) -> None:
    error = refusal(given_value, field="premium")
    assert error.field == "premium"
    assert error.reason.startswith(reason)
    assert error.value is given_value
    assert str(error).startswith("premium: ")


def test_an_invalid_amount_is_a_ledger_error_and_a_value_error() -> None:
    error = refusal("abc")
    assert isinstance(error, LedgerError)
    assert isinstance(error, ValueError)


def test_an_amount_of_a_trillion_yuan_or_more_is_refused_as_too_large() -> None:
    error = refusal("1" + "0" * 30)
    assert error.field == "amount"
    assert "too large" in error.reason
    assert refusal(Decimal("1000000000000")).reason.startswith("too large")
    assert money("999999999999.99") == Decimal("999999999999.99")


@pytest.mark.parametrize("given_value", [0, "0", "0.00", "-0.01", -5])
def test_positive_refuses_zero_and_negative_amounts(given_value: object) -> None:
    error = refusal(given_value, positive, "payout amount")
    assert (error.field, error.reason) == ("payout amount", "must be greater than zero")


def test_positive_accepts_the_smallest_amount() -> None:
    assert positive("0.01") == Decimal("0.01")


@pytest.mark.parametrize("given_value", ["-0.01", -1, Decimal("-100")])
def test_non_negative_refuses_negative_amounts(given_value: object) -> None:
    error = refusal(given_value, non_negative, "premium")
    assert (error.field, error.reason) == ("premium", "must not be negative")


def test_non_negative_accepts_zero() -> None:
    assert str(non_negative(0)) == "0.00"


def test_positive_and_non_negative_refuse_what_money_refuses() -> None:
    assert refusal(0.5, positive).reason.startswith("floats are not accepted")
    assert refusal("1.001", non_negative).reason == "more than 2 decimal places"


@pytest.mark.parametrize(
    ("computed", "rounded"),
    [
        ("0.005", "0.01"),
        ("2.675", "2.68"),
        ("0.0049999", "0.00"),
        ("1.2349", "1.23"),
        ("1.235", "1.24"),
        # ROUND_HALF_UP rounds ties away from zero, so negatives mirror positives.
        ("-0.005", "-0.01"),
        ("-2.675", "-2.68"),
        ("-1.2349", "-1.23"),
        ("7", "7.00"),
    ],
)
def test_round_yuan_rounds_to_the_cent_half_up(computed: str, rounded: str) -> None:
    assert str(round_yuan(Decimal(computed))) == rounded


@pytest.mark.parametrize(
    ("amount", "fen"),
    [("12.34", 1234), ("0.01", 1), ("-0.05", -5), ("0", 0), ("1000000", 100000000)],
)
def test_to_fen_and_from_fen_convert_exactly(amount: str, fen: int) -> None:
    assert to_fen(Decimal(amount)) == fen
    assert isinstance(to_fen(Decimal(amount)), int)
    assert from_fen(fen) == Decimal(amount)
    assert str(from_fen(fen)) == fmt(Decimal(amount))


def test_to_fen_rounds_a_computed_amount_half_up() -> None:
    assert to_fen(Decimal("0.005")) == 1
    assert to_fen(Decimal("2.674")) == 267


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("5", "5.00"),
        ("0.1", "0.10"),
        ("1E+3", "1000.00"),
        ("1234567.8", "1234567.80"),
        ("2.675", "2.68"),
        ("-3.5", "-3.50"),
    ],
)
def test_fmt_always_gives_two_places_and_no_exponent(amount: str, text: str) -> None:
    assert fmt(Decimal(amount)) == text


amounts = st.decimals(
    min_value=Decimal("-1000000000"),
    max_value=Decimal("1000000000"),
    places=2,
    allow_nan=False,
    allow_infinity=False,
)


@settings(max_examples=200)
@given(amounts)
def test_an_amount_survives_fen_and_text_round_trips(amount: Decimal) -> None:
    assert from_fen(to_fen(amount)) == amount
    assert money(str(amount)) == amount
    assert money(fmt(amount)) == amount
    assert TWO_PLACES.match(fmt(amount))


@settings(max_examples=200)
@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_fen_survive_a_round_trip_through_yuan(fen: int) -> None:
    assert to_fen(from_fen(fen)) == fen


@pytest.mark.parametrize(
    ("amount", "written"),
    [
        ("1840.19", "壹仟捌佰肆拾元壹角玖分"),
        ("1840.00", "壹仟捌佰肆拾元整"),
        ("60.00", "陆拾元整"),
        ("10.00", "壹拾元整"),
        ("1409.50", "壹仟肆佰零玖元伍角整"),
        ("6007.14", "陆仟零柒元壹角肆分"),
        ("325.04", "叁佰贰拾伍元零肆分"),
        ("107000.53", "壹拾万柒仟元伍角叁分"),
        ("20145720.00", "贰仟零壹拾肆万伍仟柒佰贰拾元整"),
        ("5150705.00", "伍佰壹拾伍万零柒佰零伍元整"),
        ("1000000.00", "壹佰万元整"),
        ("100000001.00", "壹亿零壹元整"),
        ("100010000.00", "壹亿零壹万元整"),
        ("100001000.00", "壹亿零壹仟元整"),
        ("0.50", "伍角整"),
        ("0.05", "伍分"),
        ("0.00", "零元整"),
        ("-60.00", "负陆拾元整"),
    ],
)
def test_an_amount_in_capitals_reads_as_a_cheque_writes_it(amount: str, written: str) -> None:
    assert capitals(Decimal(amount)) == written


@given(st.decimals(min_value=-(10**11), max_value=10**12 - 1, places=2, allow_nan=False))
def test_an_amount_in_capitals_reads_back_as_the_same_amount(amount: Decimal) -> None:
    written = capitals(amount)
    assert read_capitals(written) == amount
    assert "零零" not in written
    assert amount == 0 or not re.search("零[元万亿角分整]", written)
    assert written.endswith("分") != (amount * 100 % 10 == 0)
    assert written.startswith("零") == (amount == 0)
