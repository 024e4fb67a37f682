"""Money: Decimal yuan with 2 places. The only module that parses or rounds amounts."""

import re
from decimal import ROUND_HALF_UP, Decimal

from domain.errors import InvalidAmount

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
LIMIT = Decimal("1000000000000")
"""No single amount reaches a trillion yuan; the limit keeps every sum within 64-bit fen."""
PLAIN = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")
"""Digits, optionally grouped in thousands by commas, and a decimal point."""


def money(value: object, field: str = "amount") -> Decimal:
    """Parse an exact amount in yuan; refuse anything that could hide a rounding error."""
    if isinstance(value, float | bool):
        raise InvalidAmount(field, value, "floats are not accepted; give a string or Decimal")
    if isinstance(value, Decimal | int):
        amount = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if not PLAIN.match(text):
            special = text.lower().lstrip("+-") in {"nan", "snan", "inf", "infinity"}
            raise InvalidAmount(
                field, value, "not a finite number" if special else "not a number in yuan"
            )
        amount = Decimal(text.replace(",", ""))
    else:
        raise InvalidAmount(field, value, f"unsupported type {type(value).__name__}")
    if not amount.is_finite():
        raise InvalidAmount(field, value, "not a finite number")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise InvalidAmount(field, value, "more than 2 decimal places")
    if abs(amount) >= LIMIT:
        raise InvalidAmount(field, value, f"too large (the limit is {LIMIT:,} yuan)")
    return amount.quantize(CENT)


def positive(value: object, field: str = "amount") -> Decimal:
    amount = money(value, field)
    if amount <= 0:
        raise InvalidAmount(field, value, "must be greater than zero")
    return amount


def non_negative(value: object, field: str = "amount") -> Decimal:
    amount = money(value, field)
    if amount < 0:
        raise InvalidAmount(field, value, "must not be negative")
    return amount


def round_yuan(value: Decimal) -> Decimal:
    """Round a computed amount (for example base x rate) to the cent, half up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def to_fen(amount: Decimal) -> int:
    """Exact integer cents, for storage in read models."""
    return int(round_yuan(amount) * 100)


def from_fen(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(CENT)


def fmt(amount: Decimal) -> str:
    """Canonical text form: always two places, no exponent."""
    rounded = round_yuan(amount)
    return f"{rounded if rounded else ZERO:.2f}"
