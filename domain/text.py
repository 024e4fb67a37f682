"""Free text that events record: ids, names, units, references, reasons.

An event is kept for good and shown in every statement after it, so its text is checked
before it is recorded: a control character (a bell, an escape) would break the XLSX
writer for ever, and an id with spaces around it would name a second member.
"""

import re
import unicodedata

from domain.errors import InvalidText

REFUSED_CATEGORIES = {"Cc": "a control character", "Cs": "an unpaired surrogate"}
"""Unicode categories no record may hold: C0 and C1 controls (tab and newline included),
and surrogates, which cannot even be stored as UTF-8."""


def plain_text(value: str, field: str) -> str:
    """The value unchanged, if it holds nothing a statement cannot show."""
    if value.isprintable():  # the usual case, at C speed: every refused sign is unprintable
        return value
    for char in value:
        kind = REFUSED_CATEGORIES.get(unicodedata.category(char))
        if kind is None and _noncharacter(char):
            kind = "a noncharacter"  # XML, and so XLSX, cannot hold one
        if kind is not None:
            raise InvalidText(field, value, f"contains {kind} (U+{ord(char):04X})")
    return value


def _noncharacter(char: str) -> bool:
    code = ord(char)
    return code & 0xFFFE == 0xFFFE or 0xFDD0 <= code <= 0xFDEF


def identifier(value: str, field: str) -> str:
    """An id is recorded as given, so it must be given exactly: not blank, no spaces around."""
    if not value.strip():
        raise InvalidText(field, value, "must not be blank")
    if value != value.strip():
        raise InvalidText(field, value, "must not begin or end with spaces")
    return plain_text(value, field)


BANK_ACCOUNT = re.compile(r"[0-9]{12,30}")
MOBILE = re.compile(r"1[3-9][0-9]{9}")
"""ASCII digits only: \\d would also take the full-width ones a bank or an SMS gateway
cannot read."""


def bank_account(value: str, field: str) -> str:
    """A bank account number, as the bank file must carry it: digits only. A number Excel
    turned into 6.22202E+18 has lost its last digits and is refused as such."""
    if BANK_ACCOUNT.fullmatch(value):
        return value
    if "E+" in value.upper():
        raise InvalidText(
            field, value, "is in scientific notation (Excel lost its digits): format it as text"
        )
    raise InvalidText(field, value, "must be 12 to 30 digits, without spaces or dashes")


def mobile_phone(value: str, field: str) -> str:
    """A mainland mobile number, for the SMS texts: 11 digits, the first 1."""
    if not MOBILE.fullmatch(value):
        raise InvalidText(field, value, "must be a mobile number of 11 digits, such as 13812345678")
    return value
