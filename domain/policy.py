"""Scheme policies as data: premium and its funding split, benefit rule, deficit sharing.

A policy version is published for a period and never edited; a change is a new version
that applies from a later period. Presets are JSON files read by ledger.application.presets.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from domain.errors import InvalidPolicy
from domain.money import ZERO, fmt, non_negative, round_yuan

ONE = Decimal(1)
FUNDING_SOURCES = {
    "worker": "职工个人",
    "employer": "单位",
    "government": "政府补助",
    "donation": "社会捐助",
    "other": "其他",
}
UNION_LEVELS = {
    "national": "全国",
    "province": "省级",
    "city": "市级",
    "county": "县级",
    "district": "区级",
    "town": "乡镇",
    "industry": "产业",
}
"""Who pays a share of the premium, by name as documents give it: a source of
FUNDING_SOURCES, or `union:<level>`, 工会补助 at that level (a level of UNION_LEVELS, or
another of lower-case letters). Each source has its own premium income account."""
_UNION_LEVEL = re.compile(r"[a-z_]+")


def is_funding_source(source: str) -> bool:
    kind, colon, level = source.partition(":")
    if kind == "union" and colon:
        return bool(_UNION_LEVEL.fullmatch(level))
    return not colon and source in FUNDING_SOURCES


def _rate(value: object) -> Decimal:
    if not isinstance(value, str | Decimal | int) or isinstance(value, bool):
        raise ValueError("a rate is a string such as '0.20'")
    try:
        rate = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"rate {value!r} is not a number") from None
    if not rate.is_finite() or not ZERO <= rate <= ONE:
        raise ValueError(f"rate {value!r} must be between 0 and 1")
    return rate


Amount = Annotated[Decimal, BeforeValidator(non_negative)]
Rate = Annotated[Decimal, BeforeValidator(_rate)]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Recorded(Frozen):
    """A part of a policy that has gained parameters since policies were first recorded
    (`added_later`): left at their defaults, it is written as before they existed, so that
    a policy recorded then reads back the same, byte for byte."""

    added_later: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _as_recorded(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for name in self.added_later:
            if getattr(self, name) == type(self).model_fields[name].default:
                del data[name]
        return data


class Band(Frozen):
    """Part of the eligible self-paid amount between lower and upper, reimbursed at rate."""

    lower: Amount
    upper: Amount | None = None
    rate: Rate


class BenefitRule(Recorded):
    added_later = ("above_ceiling", "eligible_from", "group_caps", "claim_deadline_from")

    deductible: Amount
    bands: tuple[Band, ...]
    annual_cap: Amount | None = None
    uplifts: dict[str, Rate] = {}
    """Percentage points added to every band rate for a member group (0.05 = +5 points)."""
    above_ceiling: tuple[Band, ...] = ()
    """Bands of their own for the costs above the basic insurance's annual ceiling, which
    it pays none of (Beijing pays 40% to 90% of them by amount), from 0 and contiguous;
    none: those costs get nothing."""
    eligible_from: dict[Literal["policy_self_paid", "out_of_catalogue"], Rate] = {}
    """How much of each of a settlement's self-paid components the eligible base counts:
    policy self-pay (个人自付, within the catalogue) and out-of-catalogue costs (自费); none
    given: policy self-pay alone."""
    group_caps: dict[str, Amount] = {}
    """A member group's own annual cap, in place of `annual_cap` (Weihai raised the cap of
    hardship families)."""
    claim_deadline_days: Annotated[int, Field(strict=True, ge=0, le=3650)]
    claim_deadline_from: Literal["period_end", "discharge"] = "period_end"
    """What the deadline counts its days from: the period's end (claims within the period
    plus N days), or the claim's own date, its discharge (within N days of it)."""

    @property
    def groups(self) -> frozenset[str]:
        """The member groups the rule treats apart: by an uplift, or a cap of their own."""
        return frozenset(self.uplifts) | frozenset(self.group_caps)

    def cap_for(self, group: str | None) -> Decimal | None:
        """The annual cap of a member of `group` (None: no group); None: no cap."""
        return self.group_caps.get(group, self.annual_cap) if group else self.annual_cap

    def eligible_base(self, components: Mapping[str, Decimal]) -> Decimal:
        """The eligible self-paid amount the rule counts of a settlement's components; a
        component it counts and the settlement does not give is an error (KeyError)."""
        shares = self.eligible_from or {"policy_self_paid": ONE}
        return round_yuan(sum((components[c] * s for c, s in shares.items() if s), ZERO))

    @model_validator(mode="after")
    def _bands_are_contiguous(self) -> "BenefitRule":
        if not self.bands:
            raise ValueError("at least one band is required")
        if self.bands[0].lower != self.deductible:
            raise ValueError("the first band must start at the deductible")
        _contiguous_from(self.bands, self.deductible)
        _contiguous_from(self.above_ceiling, ZERO, "above_ceiling")
        return self


def _contiguous_from(bands: tuple[Band, ...], start: Decimal, name: str = "") -> None:
    """A band set that starts at `start`, each band where the one before ends; `name`, the
    set's, where it is not the main one."""
    of = f"{name}: " if name else ""
    if bands and bands[0].lower != start:
        raise ValueError(f"{of}the first band must start at {start}")
    for below, above in pairwise(bands):
        if below.upper is None or below.upper != above.lower:
            raise ValueError(f"{of}bands must be contiguous: {below.upper} then {above.lower}")
    for band in bands:
        if band.upper is not None and band.upper <= band.lower:
            raise ValueError(f"{of}band {band.lower}-{band.upper} is empty")


MAIN_ITEM = "inpatient"
"""The benefit item of a policy's main rule (`Policy.benefit`): the second reimbursement
of a hospital stay's self-paid costs."""
_ITEM_CODE = re.compile(r"[a-z][a-z_]*")


class BenefitItem(Frozen):
    """A benefit of the scheme besides its main one, with its own rule and annual cap: by
    bands of an eligible amount (outpatient care of chronic and special diseases), by the
    day in hospital (Weihai pays 40 yuan a day), or a lump sum (Lishui's condolence money,
    慰问金). Its claims keep the period's deadline; its cap is the item's alone."""

    title: str
    """The item as documents name it: 住院津贴 Hospital allowance."""
    pays: Literal["bands", "per_day", "lump_sum"]
    deductible: Amount = ZERO
    bands: tuple[Band, ...] = ()
    """For `bands`: contiguous from the deductible, as the main rule's."""
    per_day: Amount | None = None
    """For `per_day`: yuan a day in hospital."""
    max_days: Annotated[int, Field(strict=True, ge=1, le=366)] | None = None
    """For `per_day`: the days a claim is paid for at most; none: all of them."""
    lump_sum: Amount | None = None
    """For `lump_sum`: what each claim is paid."""
    annual_cap: Amount | None = None
    """What a member is paid of the item in a period at most; none: no cap."""

    @model_validator(mode="after")
    def _pays_one_way(self) -> "BenefitItem":
        given = {
            "bands": bool(self.bands),
            "per_day": self.per_day is not None,
            "lump_sum": self.lump_sum is not None,
        }
        if not given[self.pays]:
            raise ValueError(f"an item that pays {self.pays} needs its {self.pays}")
        if extra := [name for name, present in given.items() if present and name != self.pays]:
            raise ValueError(f"an item that pays {self.pays} has no {extra[0]}")
        if self.bands:
            _contiguous_from(self.bands, self.deductible, "bands")
        return self

    def base(self, days: int | None) -> Decimal:
        """What a per-day or lump-sum claim is worth before the cap: the days (as many as
        the item pays for) at the day's rate, or the lump sum."""
        if self.pays == "per_day":
            assert self.per_day is not None and days is not None
            counted = days if self.max_days is None else min(days, self.max_days)
            return self.per_day * counted
        assert self.lump_sum is not None
        return self.lump_sum

    def rule(self, main: "BenefitRule") -> "BenefitRule":
        """The item as the rule the calculation takes: its bands (a per-day or lump-sum item
        pays its base whole) and its cap, under the main rule's claim deadline."""
        bands = self.bands or (Band.model_construct(lower=ZERO, upper=None, rate=ONE),)
        return BenefitRule.model_construct(
            deductible=self.deductible if self.bands else ZERO,
            bands=bands,
            annual_cap=self.annual_cap,
            uplifts={},
            above_ceiling=(),
            eligible_from={},
            group_caps={},
            claim_deadline_days=main.claim_deadline_days,
            claim_deadline_from=main.claim_deadline_from,
        )


class DeficitSharing(Recorded):
    """How each county's period is settled with the city pool at close."""

    added_later = ("reserve_rate", "city_cover", "shortfall")

    city_share: Rate
    """Fraction of a county's period deficit the city pool bears; the county bears the rest."""
    reserve_rate: Rate = Decimal(0)
    """Fraction of each county's premium income the city pool retains as its risk reserve."""
    city_cover: Literal["grant", "advance"] = "grant"
    """How the city pool bears its share: a grant, or an advance that the county repays
    from the surpluses of its later periods."""
    shortfall: Literal["forfeit", "carry"] = "forfeit"
    """When a period's benefits are pro-rated (the city pool cannot cover them), what
    becomes of the part not paid: forfeited, or carried, to be paid out of a later period."""


ELIGIBILITY = {
    "insured": "insured under the employees' basic medical insurance (参加职工医保)",
    "union_member": "union members (工会会员)",
    "unit_registered": "of a unit registered with the scheme (单位已登记)",
}
"""What a roster may attest of a member at enrolment, and a policy require of them."""


class Policy(Recorded):
    added_later = ("eligibility", "items")

    version: str
    premium: Amount
    funding: dict[str, Amount]
    """Premium per member by funding source (FUNDING_SOURCES, or union:<level>)."""
    benefit: BenefitRule
    deficit_sharing: DeficitSharing
    eligibility: tuple[str, ...] = ()
    """What the roster must attest of a member to enrol them (ELIGIBILITY); none: nothing."""
    items: dict[str, BenefitItem] = {}
    """The benefit items besides the main one (MAIN_ITEM, `benefit`), by code."""

    @field_validator("items")
    @classmethod
    def _item_codes(cls, items: dict[str, BenefitItem]) -> dict[str, BenefitItem]:
        for code in items:
            if code == MAIN_ITEM or not _ITEM_CODE.fullmatch(code):
                raise ValueError(
                    f"item code {code!r}: lower-case letters and _, and not {MAIN_ITEM!r} "
                    "(the main rule's)"
                )
        return items

    def rule_for(self, item: str | None) -> BenefitRule:
        """The rule a claim of the item (None: the main one) is decided by."""
        return self.benefit if item is None else self.items[item].rule(self.benefit)

    @field_validator("eligibility")
    @classmethod
    def _known_requirements(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        for name in names:
            if name not in ELIGIBILITY:
                raise ValueError(f"unknown eligibility {name!r}: use {', '.join(ELIGIBILITY)}")
        return names

    @model_validator(mode="after")
    def _funding_adds_up(self) -> "Policy":
        for source in self.funding:
            if not is_funding_source(source):
                raise ValueError(
                    f"unknown funding source {source!r}: use {', '.join(FUNDING_SOURCES)} "
                    "or union:<level>"
                )
        total = sum(self.funding.values(), ZERO)
        if total != self.premium:
            raise ValueError(f"funding sources add up to {total}, not the premium {self.premium}")
        return self


class PolicyVersion(Frozen):
    """A policy and the periods it applies to (to_period None: until superseded)."""

    from_period: int
    to_period: int | None = None
    policy: Policy


class SchemePreset(Frozen):
    name: str
    city: str
    source: str
    assumptions: dict[str, str]
    """Parameter path -> why it was assumed; everything else is stated in the source."""
    policies: tuple[PolicyVersion, ...]

    @model_validator(mode="after")
    def _one_policy_per_period(self) -> "SchemePreset":
        previous_end: int | None = 0
        for version in self.policies:
            if previous_end is None or version.from_period != previous_end + 1:
                raise ValueError("policy versions must cover consecutive periods from period 1")
            if version.to_period is not None and version.to_period < version.from_period:
                raise ValueError(
                    f"a policy version ends (period {version.to_period}) before it starts "
                    f"(period {version.from_period})"
                )
            previous_end = version.to_period
        data = self.model_dump()
        for path in self.assumptions:
            if not _has_path(data, path.split(".")):
                raise ValueError(f"assumption about {path!r}, which is not a parameter")
        return self

    def policy_for(self, period: int) -> Policy:
        for version in self.policies:
            if version.from_period <= period and (
                version.to_period is None or period <= version.to_period
            ):
                return version.policy
        raise InvalidPolicy(f"preset {self.name!r} has no policy for period {period}")


def _has_path(data: object, parts: list[str]) -> bool:
    for part in parts:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list | tuple) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return False
    return True


def describe_validation_error(error: ValidationError, source: str) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    return f"{source}: {where}: {first['msg']} ({error.error_count()} error(s))"


def parse_policy(data: dict[str, Any], source: str) -> Policy:
    try:
        return Policy.model_validate(data)
    except ValidationError as e:
        raise InvalidPolicy(describe_validation_error(e, source)) from None


@dataclass(frozen=True)
class BandShare:
    lower: Decimal
    upper: Decimal | None
    base: Decimal
    rate: Decimal
    amount: Decimal


@dataclass(frozen=True)
class BenefitCalculation:
    """The benefit for one claim and how it was reached, as recorded on approval."""

    eligible: Decimal
    deductible: Decimal
    bands: tuple[BandShare, ...]
    uplift: Decimal
    before_cap: Decimal
    cap_remaining: Decimal | None
    cap_applied: bool
    benefit: Decimal
    above_ceiling: tuple[BandShare, ...] = ()
    """The shares of the costs above the insurance's ceiling, where a claim has them."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "eligible": fmt(self.eligible),
            "deductible": fmt(self.deductible),
            "bands": _shares(self.bands),
            "uplift": str(self.uplift),
            "before_cap": fmt(self.before_cap),
            "cap_remaining": None if self.cap_remaining is None else fmt(self.cap_remaining),
            "cap_applied": self.cap_applied,
            "benefit": fmt(self.benefit),
            **({"above_ceiling": _shares(self.above_ceiling)} if self.above_ceiling else {}),
        }


def _shares(shares: tuple[BandShare, ...]) -> list[dict[str, Any]]:
    return [
        {
            "lower": fmt(b.lower),
            "upper": None if b.upper is None else fmt(b.upper),
            "base": fmt(b.base),
            "rate": str(b.rate),
            "amount": fmt(b.amount),
        }
        for b in shares
    ]


def _banded(bands: tuple[Band, ...], amount: Decimal, uplift: Decimal) -> tuple[BandShare, ...]:
    """Each band's base of `amount` times its rate (with the uplift, at most 100%),
    rounded per band."""
    shares = []
    for band in bands:
        top = amount if band.upper is None else min(amount, band.upper)
        base = max(ZERO, top - band.lower)
        rate = min(ONE, band.rate + uplift)
        shares.append(BandShare(band.lower, band.upper, base, rate, round_yuan(base * rate)))
    return tuple(shares)


def cap_left(rule: BenefitRule, group: str | None, used: Decimal) -> Decimal | None:
    """What is left of the group's annual cap once `used` is approved in the period; None:
    no cap."""
    cap = rule.cap_for(group)
    return None if cap is None else max(ZERO, cap - used)


def calculate_benefit(
    rule: BenefitRule,
    eligible: object,
    group: str | None = None,
    approved_so_far: Decimal = ZERO,
    above_ceiling: Decimal = ZERO,
) -> BenefitCalculation:
    """Second reimbursement of an eligible self-paid amount, and of the costs above the
    insurance's ceiling under their own bands, within what is left of the cap."""
    amount = non_negative(eligible, "eligible self-paid amount")
    uplift = rule.uplifts.get(group, ZERO) if group else ZERO
    shares = _banded(rule.bands, amount, uplift)
    beyond = _banded(rule.above_ceiling, above_ceiling, uplift) if above_ceiling else ()
    before_cap = sum((s.amount for s in (*shares, *beyond)), ZERO)
    remaining = cap_left(rule, group, approved_so_far)
    benefit = before_cap if remaining is None else min(before_cap, remaining)
    return BenefitCalculation(
        eligible=amount,
        deductible=rule.deductible,
        bands=shares,
        uplift=uplift,
        before_cap=before_cap,
        cap_remaining=remaining,
        cap_applied=benefit < before_cap,
        benefit=benefit,
        above_ceiling=beyond,
    )


def rejection_reason(calculation: BenefitCalculation) -> str:
    """Why the policy rejects a claim it gives nothing for, as the rejection records it."""
    if calculation.cap_applied:
        return "annual cap reached"
    if calculation.eligible <= calculation.deductible:
        return "below the deductible"
    return "no band pays for this amount"


def why_no_benefit(calculation: BenefitCalculation, rule: BenefitRule, group: str | None) -> str:
    """The same, told to whoever asks to approve such a claim."""
    if calculation.cap_applied:
        return f"the member's annual cap of {rule.cap_for(group)} is used up"
    if calculation.eligible <= calculation.deductible:
        return (
            f"eligible self-paid {calculation.eligible} is within the deductible of "
            f"{calculation.deductible}"
        )
    return f"its bands give nothing for eligible self-paid {calculation.eligible}"
