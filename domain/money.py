"""Money: Decimal yuan with 2 places. The only module that parses or rounds amounts."""

import re
from decimal import ROUND_HALF_UP, Decimal

from domain.errors import InvalidAmount

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
LIMIT = Decimal("1000000000000")
"""No single amount reaches a trillion yuan; the limit keeps every sum within 64-bit fen."""
PLAIN = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$", re.ASCII)
"""Digits 0-9 (not full-width nor any other script's), optionally grouped in thousands by
commas, and a decimal point."""


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
            other = not text.isascii() and any(c.isdigit() for c in text)
            reason = (
                "not a finite number"
                if special
                else "written in other digits than 0-9"
                if other
                else "not a number in yuan"
            )
            raise InvalidAmount(field, value, reason)
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


def percent(rate: Decimal) -> str:
    """A rate as a percentage, exactly: 0.8 -> 80%, 0.125 -> 12.5%."""
    return f"{(rate * 100).normalize():f}%"


DIGITS = "零壹贰叁肆伍陆柒捌玖"
PLACES = ("仟", "佰", "拾", "")
GROUPS = ("亿", "万", "")
"""Groups of four digits, highest first; amounts stay below LIMIT (a trillion), so below 万亿."""


def _group(number: int) -> str:
    """1 to 9999 in capitals: 1009 -> 壹仟零玖, one 零 for a run of zeros, none at the end."""
    out, gap = "", False
    for digit, place in zip(f"{number:04d}", PLACES, strict=True):
        if digit == "0":
            gap = bool(out)
        else:
            out += ("零" if gap else "") + DIGITS[int(digit)] + place
            gap = False
    return out


def capitals(amount: Decimal) -> str:
    """An amount in financial capitals (大写), as cheques and payment lists write a total so
    that no digit can be added or altered: 1840.19 -> 壹仟捌佰肆拾元壹角玖分, 60 -> 陆拾元整."""
    fen = abs(to_fen(amount))
    yuan, jiao, cents = fen // 100, fen // 10 % 10, fen % 10
    out = ""
    for i, name in enumerate(GROUPS):
        group = yuan // 10 ** (4 * (len(GROUPS) - 1 - i)) % 10000
        if group:
            gap = bool(out) and (group < 1000 or out.endswith("零"))
            out += ("零" if gap and not out.endswith("零") else "") + _group(group) + name
        elif out and not out.endswith("零"):
            out += "零"
    out = out.rstrip("零")
    if yuan:
        out += "元"
    if jiao:
        out += DIGITS[jiao] + "角"
    if cents:
        out += ("零" if yuan and not jiao else "") + DIGITS[cents] + "分"
    else:
        out = (out or "零元") + "整"
    return ("负" if fen and amount < 0 else "") + out
