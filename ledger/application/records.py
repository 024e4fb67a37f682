"""Column schemas of the feeds: one pydantic model per kind of file.

Each field accepts its English name or the Chinese headers spreadsheets use; columns not
named here (a remark, the `reason` of a rejects file) are ignored.
Amounts go through domain.money, so a malformed amount is refused with its reason.
"""

import re
from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
)

from domain.member import Eligibility, MemberDetails
from domain.money import non_negative, positive
from domain.text import plain_text

DATE_FORMS = tuple(
    re.compile(form, re.ASCII)
    for form in (
        r"(?P<year>\d{4})(?P<mark>[-/.])(?P<month>\d{1,2})(?P=mark)(?P<day>\d{1,2})",
        r"(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})",
        r"(?P<year>\d{4})年(?P<month>\d{1,2})月(?P<day>\d{1,2})日",
    )
)
"""The date forms docs/feeds.md lists; a date in any other form is refused."""
DATE_EXAMPLES = "2025-03-01, 2025/3/1, 2025.3.1, 20250301 or 2025年3月1日"
TIME_OF_DAY = re.compile(r"(?P<day>\S+?)(?:T|\s+)\D*\d{1,2}:\d{2}\S*", re.ASCII)
NUMBER = re.compile(r"[+-]?\d+(\.\d+)?", re.ASCII)
EXCEL_SERIALS = (1, 2_958_466)
"""Excel's day numbers of 1900-01-01 and of the day after 9999-12-31."""
SHOWN = 40
"""The most characters of a bad value a reason quotes."""
PERIOD_NUMBER = re.compile(r"[1-9][0-9]{0,8}")
"""A period number as text: digits 0-9, from 1, no sign, no fraction, no full-width digits."""
STATUS_WORDS = {"成功": "paid", "已支付": "paid", "退回": "returned", "失败": "returned"}
"""Chinese words banks use in result files, mapped to the status names."""
STATUSES = ("paid", "returned")
STATUS_CHOICES = " or ".join(
    f"{status} ({', '.join(w for w, named in STATUS_WORDS.items() if named == status)})"
    for status in STATUSES
)
"""paid (成功, 已支付) or returned (退回, 失败): what a refused status is told to be."""
REMEMBERED = 4096
"""How many texts of dates, and of premiums, the readings below keep what they read for: a
feed's dates repeat from row to row (a year has 365 days, a feed a million rows), premiums
come in a few amounts, and reading a text costs more than most of the rest of its record
(bench/records.py). A text refused is not kept: it is read again each time, and each
refusal raised afresh."""


def _text(value: object) -> object:
    """A whole number stands for its digits: a spreadsheet's number cell holding an id."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value.strip() if isinstance(value, str) else value


def _plain(value: str | None, info: ValidationInfo) -> str | None:
    """Refused here, under its column, rather than by the domain after it."""
    return None if value is None else plain_text(value, info.field_name or "value")


def blank(value: object) -> bool:
    """An empty cell, a cell of spaces, or a JSON null: the value is missing."""
    return value is None or (isinstance(value, str) and not value.strip())


def _shown(value: object) -> str:
    """The value as a reason quotes it: text in quotes, anything long cut short."""
    shown = repr(value) if isinstance(value, str) else str(value)
    return shown if len(shown) <= SHOWN else shown[: SHOWN - 1] + "…"


def _optional(value: object) -> object:
    return None if blank(value) else _text(value)


YES_NO = {
    "是": True, "否": False, "yes": True, "no": False, "y": True, "n": False,
    "true": True, "false": False, "1": True, "0": False,
}  # fmt: skip


def _yes_no(value: object) -> bool | None:
    """A yes or a no as rosters write it (是/否, yes/no, 1/0, a spreadsheet's TRUE); blank:
    the roster does not say."""
    if blank(value):
        return None
    if isinstance(value, bool):
        return value
    answer = YES_NO.get(str(value).strip().lower())
    if answer is None:
        raise ValueError(f"{_shown(value)} is not a yes or a no: give 是 or 否 (yes or no)")
    return answer


def _day(value: object) -> date:
    """The one reading of a feed's dates: the forms of DATE_FORMS, or a spreadsheet's date
    cell. Anything else is refused in words that say what to do, numbers above all: pydantic
    would read 86400 as a Unix timestamp, 1970-01-02."""
    if isinstance(value, str):
        return _day_of_text(value)
    if isinstance(value, datetime):
        if value.time() != time():
            raise ValueError(f"{value:%Y-%m-%d %H:%M} has a time of day: give the date alone")
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        raise ValueError(_number_not_a_date(str(value)))
    raise ValueError(f"{_shown(value)} is not a date: give it as {DATE_EXAMPLES}")


@lru_cache(maxsize=REMEMBERED)
def _day_of_text(value: str) -> date:
    text = value.strip()
    found = _date_form(text)
    if found is not None:
        return found
    if NUMBER.fullmatch(text):
        raise ValueError(_number_not_a_date(text))
    timed = TIME_OF_DAY.fullmatch(text)
    if timed is not None and _date_form(timed["day"]) is not None:
        raise ValueError(
            f"{_shown(text)} has a time of day: give the date alone, such as 2025-03-01"
        )
    raise ValueError(f"{_shown(text)} is not a date: give it as {DATE_EXAMPLES}")


def _date_form(text: str) -> date | None:
    for form in DATE_FORMS:
        match = form.fullmatch(text)
        if match is not None:
            try:
                return date(int(match["year"]), int(match["month"]), int(match["day"]))
            except ValueError:
                raise ValueError(f"{_shown(text)} is not a day of the calendar") from None
    return None


def _number_not_a_date(number: str) -> str:
    low, high = EXCEL_SERIALS
    shown = _shown(Decimal(number))
    if low <= Decimal(number) < high:
        return (
            f"{shown} is not a date but looks like an Excel date serial number: format the "
            "column as a date (yyyy-mm-dd) in the spreadsheet and export the file again"
        )
    return f"{shown} is a number, not a date: give it as {DATE_EXAMPLES}"


def _period(value: object) -> int:
    """A whole number, as digits or a number cell: never true or false, never a fraction."""
    if isinstance(value, str) and PERIOD_NUMBER.fullmatch(value.strip()):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    if isinstance(value, Decimal) and value == value.to_integral_value() and 1 <= value < 10**9:
        return int(value)
    raise ValueError(
        f"{_shown(value)} is not a period number: give a whole number from 1 in digits 0-9, "
        "such as 1"
    )


def _optional_period(value: object) -> int | None:
    return None if blank(value) else _period(value)


def _optional_amount(value: object) -> Decimal | None:
    return None if blank(value) else non_negative(value)


def _optional_positive(value: object) -> Decimal | None:
    return None if blank(value) else positive(value)


def _status(value: object) -> str:
    text = _text(value)
    status = STATUS_WORDS.get(text, text) if isinstance(text, str) else None
    if status not in STATUSES:
        raise ValueError(f"{_shown(value)} is not a status: give {STATUS_CHOICES}")
    return status


def _premium(value: object) -> Decimal:
    """A premium, read as any positive amount. Only a premium's texts are remembered: a
    settlement's amounts, to the cent, are seldom seen twice, and keeping them costs more
    than it saves."""
    return _premium_of_text(value) if isinstance(value, str) else positive(value)


_premium_of_text = lru_cache(maxsize=REMEMBERED)(positive)


def column(*names: str) -> Any:
    return Field(validation_alias=AliasChoices(*names))


def optional_column(*names: str) -> Any:
    """A column a feed may leave out, or leave blank in a row."""
    return Field(None, validation_alias=AliasChoices(*names))


Text = Annotated[str, BeforeValidator(_text), Field(min_length=1), AfterValidator(_plain)]
OptionalText = Annotated[str | None, BeforeValidator(_optional), AfterValidator(_plain)]
OptionalYesNo = Annotated[bool | None, BeforeValidator(_yes_no)]
Day = Annotated[date, BeforeValidator(_day)]
PeriodNumber = Annotated[int, BeforeValidator(_period)]
OptionalPeriod = Annotated[int | None, BeforeValidator(_optional_period)]
Amount = Annotated[Decimal, BeforeValidator(non_negative)]
PositiveAmount = Annotated[Decimal, BeforeValidator(positive)]
OptionalAmount = Annotated[Decimal | None, BeforeValidator(_optional_amount)]
OptionalPositiveAmount = Annotated[Decimal | None, BeforeValidator(_optional_positive)]
Premium = Annotated[Decimal, BeforeValidator(_premium)]


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)
    kind: ClassVar[str]
    reference_field: ClassVar[str]
    """The field that identifies the record at its source: importing it twice adds nothing."""
    date_field: ClassVar[str]
    """The field holding the record's business date, blamed when it contradicts the log."""

    @property
    def reference(self) -> str:
        return str(getattr(self, self.reference_field))


class EnrolmentRecord(Record):
    kind = "enrolments"
    reference_field = "roster_line"
    date_field = "enrolled_on"

    roster_line: Text = column("roster_line", "名册行号", "名册编号", "行号")
    member_id: Text = column("member_id", "会员编号", "职工编号", "人员编号")
    period: PeriodNumber = column("period", "期次", "期")
    county: Text = column("county", "区县", "县市区", "区县代码")
    unit: Text = column("unit", "单位", "基层工会", "单位名称")
    group: OptionalText = optional_column("group", "人员类别", "类别")
    enrolled_on: Day = column("enrolled_on", "参保日期", "入会日期")
    name: OptionalText = optional_column("name", "姓名", "职工姓名")
    bank_account: OptionalText = optional_column("bank_account", "银行账号", "银行卡号", "账号")
    bank: OptionalText = optional_column("bank", "开户银行", "开户行")
    phone: OptionalText = optional_column("phone", "手机号码", "手机号", "联系电话")
    insured: OptionalYesNo = optional_column("insured", "是否参加职工医保", "参加职工医保")
    union_member: OptionalYesNo = optional_column("union_member", "是否工会会员", "工会会员")
    unit_registered: OptionalYesNo = optional_column(
        "unit_registered", "单位是否登记", "单位已登记"
    )

    @property
    def details(self) -> MemberDetails:
        return MemberDetails(self.name, self.bank_account, self.bank, self.phone)

    @property
    def eligibility(self) -> Eligibility:
        return Eligibility(self.insured, self.union_member, self.unit_registered)


class PremiumRecord(Record):
    kind = "premiums"
    reference_field = "receipt"
    date_field = "paid_on"

    receipt: Text = column("receipt", "收据号", "票据号", "缴费单号")
    member_id: Text = column("member_id", "会员编号", "职工编号", "人员编号")
    period: PeriodNumber = column("period", "期次", "期")
    source: Text = column("source", "资金来源", "来源")
    amount: Premium = column("amount", "金额", "缴费金额")
    paid_on: Day = column("paid_on", "缴费日期")


class SettlementRecord(Record):
    kind = "claims"
    reference_field = "settlement_no"
    date_field = "discharged_on"

    settlement_no: Text = column("settlement_no", "结算单号", "结算编号", "结算号")
    member_id: Text = column("member_id", "会员编号", "职工编号", "人员编号")
    admitted_on: Day = column("admitted_on", "入院日期")
    discharged_on: Day = column("discharged_on", "出院日期", "结算日期")
    total_cost: Amount = column("total_cost", "医疗总费用", "总费用")
    insurance_paid: Amount = column("insurance_paid", "统筹支付", "医保支付", "基本医保支付")
    eligible_self_paid: OptionalPositiveAmount = optional_column(
        "eligible_self_paid", "合规自付", "政策内自付", "合规自付费用"
    )
    """Given, or counted by the period's policy of the self-paid components below."""
    policy_self_paid: OptionalAmount = optional_column("policy_self_paid", "个人自付")
    out_of_catalogue: OptionalAmount = optional_column("out_of_catalogue", "自费", "全自费")
    insurance_deductible: OptionalAmount = optional_column(
        "insurance_deductible", "起付线", "起付标准"
    )
    above_ceiling: OptionalAmount = optional_column(
        "above_ceiling", "超限额费用", "超封顶线费用", "超最高支付限额"
    )
    period: OptionalPeriod = optional_column("period", "期次", "期")
    item: OptionalText = optional_column("item", "补助项目", "项目")
    """A benefit item of the period's policy besides the main one (a per-day item counts
    the stay's days); none: the main benefit."""

    @property
    def reference(self) -> str:
        """The claim's id: the settlement number; for a benefit item's claim on the stay, the
        item after it (JS-1/hospital_allowance), beside the stay's own claim."""
        return self.settlement_no if self.item is None else f"{self.settlement_no}/{self.item}"


class PayoutResultRecord(Record):
    kind = "payout-results"
    reference_field = "bank_reference"
    date_field = "reported_on"

    bank_reference: Text = column("bank_reference", "支付参考号", "银行流水号", "参考号")
    status: Annotated[Literal["paid", "returned"], BeforeValidator(_status)] = column(
        "status", "状态", "结果"
    )
    reason: OptionalText = optional_column("return_reason", "退回原因")
    reported_on: Day = column("reported_on", "日期", "回盘日期")


RECORDS: dict[str, type[Record]] = {
    r.kind: r for r in (EnrolmentRecord, PremiumRecord, SettlementRecord, PayoutResultRecord)
}
