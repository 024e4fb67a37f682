"""Column schemas of the feeds: one pydantic model per kind of file.

Each field accepts its English name or the Chinese headers spreadsheets use; columns not
named here (a remark, the `reason` of a rejects file) are ignored.
Amounts go through domain.money, so a malformed amount is refused with its reason.
"""

import re
from datetime import date
from decimal import Decimal
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

from domain.member import MemberDetails
from domain.money import non_negative, positive
from domain.text import plain_text

DATE_FORMS = re.compile(r"^(\d{4})(?:[-/.年]?)(\d{1,2})(?:[-/.月]?)(\d{1,2})日?$")
STATUS_WORDS = {"成功": "paid", "已支付": "paid", "退回": "returned", "失败": "returned"}
"""Chinese words banks use in result files, mapped to the status names."""


def _text(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _plain(value: str | None, info: ValidationInfo) -> str | None:
    """Refused here, under its column, rather than by the domain after it."""
    return None if value is None else plain_text(value, info.field_name or "value")


def _optional(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else _text(value)


def _digits(value: object) -> object:
    """An account or phone number a JSON Lines file gives as a number: its digits, exactly."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _day(value: object) -> object:
    """ISO dates, and the forms Chinese spreadsheets export: 2025/3/1, 20250301, 2025年3月1日."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    match = DATE_FORMS.match(text)
    if match is None:
        return text
    year, month, day = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return text


def _status(value: object) -> object:
    text = _text(value)
    return STATUS_WORDS.get(text, text) if isinstance(text, str) else text


def column(*names: str) -> Any:
    return Field(validation_alias=AliasChoices(*names))


Text = Annotated[str, BeforeValidator(_text), Field(min_length=1), AfterValidator(_plain)]
OptionalText = Annotated[str | None, BeforeValidator(_optional), AfterValidator(_plain)]
OptionalDigits = Annotated[
    str | None, BeforeValidator(_optional), BeforeValidator(_digits), AfterValidator(_plain)
]
Day = Annotated[date, BeforeValidator(_day)]
OptionalPeriod = Annotated[int | None, BeforeValidator(_optional)]
Amount = Annotated[Decimal, BeforeValidator(non_negative)]
PositiveAmount = Annotated[Decimal, BeforeValidator(positive)]


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
    period: int = column("period", "期次", "期")
    county: Text = column("county", "区县", "县市区", "区县代码")
    unit: Text = column("unit", "单位", "基层工会", "单位名称")
    group: OptionalText = Field(None, validation_alias=AliasChoices("group", "人员类别", "类别"))
    enrolled_on: Day = column("enrolled_on", "参保日期", "入会日期")
    name: OptionalText = Field(None, validation_alias=AliasChoices("name", "姓名", "职工姓名"))
    bank_account: OptionalDigits = Field(
        None, validation_alias=AliasChoices("bank_account", "银行账号", "银行卡号", "账号")
    )
    bank: OptionalText = Field(None, validation_alias=AliasChoices("bank", "开户银行", "开户行"))
    phone: OptionalDigits = Field(
        None, validation_alias=AliasChoices("phone", "手机号码", "手机号", "联系电话")
    )

    @property
    def details(self) -> MemberDetails:
        return MemberDetails(self.name, self.bank_account, self.bank, self.phone)


class PremiumRecord(Record):
    kind = "premiums"
    reference_field = "receipt"
    date_field = "paid_on"

    receipt: Text = column("receipt", "收据号", "票据号", "缴费单号")
    member_id: Text = column("member_id", "会员编号", "职工编号", "人员编号")
    period: int = column("period", "期次", "期")
    source: Text = column("source", "资金来源", "来源")
    amount: PositiveAmount = column("amount", "金额", "缴费金额")
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
    eligible_self_paid: PositiveAmount = column(
        "eligible_self_paid", "合规自付", "政策内自付", "合规自付费用"
    )
    period: OptionalPeriod = Field(None, validation_alias=AliasChoices("period", "期次", "期"))


class PayoutResultRecord(Record):
    kind = "payout-results"
    reference_field = "bank_reference"
    date_field = "reported_on"

    bank_reference: Text = column("bank_reference", "支付参考号", "银行流水号", "参考号")
    status: Annotated[Literal["paid", "returned"], BeforeValidator(_status)] = column(
        "status", "状态", "结果"
    )
    reason: OptionalText = Field(None, validation_alias=AliasChoices("return_reason", "退回原因"))
    reported_on: Day = column("reported_on", "日期", "回盘日期")


RECORDS: dict[str, type[Record]] = {
    r.kind: r for r in (EnrolmentRecord, PremiumRecord, SettlementRecord, PayoutResultRecord)
}
