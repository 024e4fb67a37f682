"""Money: Decimal yuan with 2 places. The only module that parses or rounds amounts."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from domain.errors import InvalidAmount

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def money(value: object, field: str = "amount") -> Decimal:
    """Parse an exact amount in yuan; refuse anything that could hide a rounding error."""
    if isinstance(value, float | bool):
        raise InvalidAmount(field, value, "floats are not accepted; give a string or Decimal")
    if isinstance(value, Decimal | int):
        amount = Decimal(value)
    elif isinstance(value, str):
        try:
            amount = Decimal(value.strip().replace(",", ""))
        except InvalidOperation:
            raise InvalidAmount(field, value, "not a number") from None
    else:
        raise InvalidAmount(field, value, f"unsupported type {type(value).__name__}")
    if not amount.is_finite():
        raise InvalidAmount(field, value, "not a finite number")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise InvalidAmount(field, value, "more than 2 decimal places")
    try:
        return amount.quantize(CENT)
    except InvalidOperation:
        raise InvalidAmount(field, value, "too large") from None


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
