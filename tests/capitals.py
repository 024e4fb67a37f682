"""Amounts in financial capitals (大写) read back independently of domain.money, to check
what the documents print."""

from decimal import Decimal

NUMERALS = {d: i for i, d in enumerate("零壹贰叁肆伍陆柒捌玖")}
PLACE = {"拾": 10, "佰": 100, "仟": 1000}


def read_capitals(written: str) -> Decimal:
    """Read an amount in capitals back, as a bank clerk would: digits times their places,
    sections of 万 and 亿, then 元, 角 and 分."""
    sign = -1 if written.startswith("负") else 1
    total, section, digit, fen = 0, 0, 0, 0
    for char in written.lstrip("负"):
        if char in NUMERALS:
            digit = NUMERALS[char]
        elif char in PLACE:
            section, digit = section + digit * PLACE[char], 0
        elif char == "亿":
            total, section, digit = (total + section + digit) * 10**8, 0, 0
        elif char == "万":
            total, section, digit = total + (section + digit) * 10**4, 0, 0
        elif char == "元":
            total, section, digit = total + section + digit, 0, 0
        elif char in "角分":
            fen, digit = fen + digit * (10 if char == "角" else 1), 0
        else:
            assert char == "整", written
    return sign * (Decimal(total) + Decimal(fen) / 100)
