"""Free text that events record: ids, names, units, references, reasons.

An event is kept for good and shown in every statement after it, so its text is checked
before it is recorded: a control character (a bell, an escape) would break the XLSX
writer for ever, and an id with spaces around it would name a second member.
"""

import re
import string
import unicodedata

from domain.errors import FieldError, InvalidText

REFUSED_CATEGORIES = {
    "Cc": "a control character",
    "Cs": "an unpaired surrogate",
    "Cf": "an invisible format character",
}
"""Unicode categories no record may hold: C0 and C1 controls (tab and newline included);
surrogates, which cannot even be stored as UTF-8; and format characters (zero-width space,
word joiner, direction marks, BOM), which show as nothing and would make `JS-777` and
`JS-777` followed by one two settlements, two members, two users."""
TEXT_LIMIT = 2000
"""The most characters a recorded text holds (a reason, a name, a unit)."""
ID_LIMIT = 64
"""The most characters an id holds (a member, a claim, a receipt, a user)."""


def plain_text(value: str, field: str) -> str:
    """The value unchanged, if it holds nothing a statement cannot show, and is not longer
    than TEXT_LIMIT."""
    if len(value) > TEXT_LIMIT:
        raise InvalidText(
            field, value[:40] + "...", f"is {len(value):,} characters, over {TEXT_LIMIT:,}"
        )
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
    if len(value) > ID_LIMIT:
        raise InvalidText(
            field, value[:40] + "...", f"is {len(value):,} characters, over {ID_LIMIT} for an id"
        )
    plain_text(value, field)
    seen = unicodedata.normalize("NFKC", value)
    if seen != value:
        raise InvalidText(
            field, value, f"is written in characters that read as {seen!r}: write it so"
        )
    return value


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


NOTICE_FIELDS = {
    "scheme": "the scheme's name",
    "member_id": "the member's id",
    "amount": "the amount paid, in yuan",
    "day": "the day paid, as 2025年6月1日",
    "claim_id": "the claim's id, under which its explanation of benefit is produced",
}
"""What a payout's SMS text may say, each filled in from the payout."""
FIRST_NOTICE = (
    "【{scheme}】{member_id}您好：您的职工医疗互助保障金{amount}元已于{day}支付到您的银行账户，"
    "请注意查收。"
)
"""The SMS text of every payout until a scheme records another."""
NOTICE_LENGTH = 300


def notice_template(text: str) -> str:
    """An SMS template as it may be recorded: plain text of at most NOTICE_LENGTH signs, its
    fields those of NOTICE_FIELDS, bare (no format or conversion), the amount among them."""
    record = "SMS template"
    text = plain_text(text.strip(), "template")
    if not text:
        raise FieldError(record, "template", "give the text")
    if len(text) > NOTICE_LENGTH:
        raise FieldError(record, "template", f"{len(text)} signs is over {NOTICE_LENGTH}")
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as e:
        raise FieldError(record, "template", f"{e}: write a brace itself as {{{{ or }}}}") from None
    fields = set()
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in NOTICE_FIELDS or spec or conversion:
            known = ", ".join(f"{{{f}}}" for f in NOTICE_FIELDS)
            raise FieldError(record, "template", f"unknown field {{{name}}} (fields: {known})")
        fields.add(name)
    if "amount" not in fields:
        raise FieldError(record, "template", "it must say the amount paid: {amount}")
    return text
