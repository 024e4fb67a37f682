"""Hypothesis strategies the domain tests share: amounts, rates and any valid benefit rule."""

from decimal import Decimal

from hypothesis import strategies as st

from domain.policy import BenefitRule

D = Decimal


def cents(low: int, high: int) -> st.SearchStrategy[Decimal]:
    return st.integers(low, high).map(lambda n: D(n).scaleb(-2))


rates = st.integers(0, 1000).map(lambda n: D(n).scaleb(-3))


@st.composite
def benefit_rules(draw: st.DrawFn) -> BenefitRule:
    deductible = draw(cents(0, 10_000_00))
    open_ended = draw(st.booleans())
    widths = draw(st.lists(cents(1, 50_000_00), min_size=0 if open_ended else 1, max_size=4))
    bounds = [deductible]
    for width in widths:
        bounds.append(bounds[-1] + width)
    uppers: list[Decimal | None] = [*bounds[1:]]
    if open_ended:
        uppers.append(None)
    bands = [
        {"lower": lower, "upper": upper, "rate": draw(rates)}
        for lower, upper in zip(bounds, uppers, strict=False)
    ]
    uplift = draw(st.none() | rates)
    group_cap = draw(st.none() | cents(0, 200_000_00))
    return BenefitRule.model_validate(
        {
            "deductible": deductible,
            "bands": bands,
            "annual_cap": draw(st.none() | cents(0, 200_000_00)),
            "uplifts": {} if uplift is None else {"group": uplift},
            "group_caps": {} if group_cap is None else {"group": group_cap},
            "claim_deadline_days": 90,
        }
    )
