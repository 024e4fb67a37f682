"""Importing insurance settlements on both backends: the period found by the discharge
date, the claim deadline counted to the day the feed is received, and each settlement
adjudicated by the period's policy."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from feed_files import CLAIM_HEADER, ROSTER_HEADER, claim, write_feed
from ledger_feeds import (
    APPROVER,
    CLERK,
    PREMIUM_HEADER,
    RECEIVED,
    accounts,
    claims_file,
    events,
    imported,
)
from rosters import import_roster, roster_line
from varied_policies import pinghu_varied

from domain.member import Member, member_uuid
from domain.policy import Policy
from ledger.application.books import Books
from ledger.application.feeds import ImportRefused, Reject, import_feed
from ledger.reports.benefit_notice import benefit_notice


def rejection_reason(books: Books, member_id: str, claim_id: str) -> str:
    history = books.app.events.get(member_uuid(member_id))
    return next(
        e.reason for e in history if isinstance(e, Member.ClaimRejected) and e.claim_id == claim_id
    )


def approved(books: Books, member_id: str, claim_id: str) -> Decimal:
    return books.app.member(member_id).claims[claim_id].approved


def test_a_discharge_after_the_period_but_before_the_deadline_needs_the_period_column(
    books: Books, enrol: Callable[..., None], tmp_path: Path
) -> None:
    enrol("M1")
    late = claim("S1", "M1", "900.00", discharged="2026-03-31")
    without_period = claims_file(tmp_path / "late.csv", late)
    with pytest.raises(ImportRefused) as refused:
        import_feed(books, "claims", without_period, CLERK, received_on=RECEIVED)
    assert refused.value.summary.rejects == [
        Reject(2, "discharged_on", "2026-03-31", "no period covers 2026-03-31")
    ]

    with_period = write_feed(tmp_path / "late-1.csv", CLAIM_HEADER + ",period", late + ",1")
    summary = imported(books, "claims", with_period)

    assert summary.counts == {"approved": 1}
    assert approved(books, "M1", "S1") == Decimal("60.00")


def test_a_stay_discharged_before_the_members_enrolment_is_not_covered(
    books: Books, tmp_path: Path
) -> None:
    import_roster(books, roster_line("M1", on=date(2025, 3, 11)))
    before = events(books)
    march = claims_file(tmp_path / "march.csv", claim("S1", "M1", "900.00"))
    with pytest.raises(ImportRefused) as refused:
        import_feed(books, "claims", march, CLERK, received_on=RECEIVED)
    assert refused.value.summary.rejects == [
        Reject(
            2,
            "discharged_on",
            "2025-03-10",
            "claim 'S1' dated 2025-03-10, before member 'M1' was covered: enrolled on 2025-03-11",
        )
    ]
    assert events(books) == before


@pytest.fixture
def settlement_of_march(tmp_path: Path) -> Path:
    """A stay discharged on 2025-03-10, in period 1, whose claim deadline is 2026-03-31."""
    return claims_file(tmp_path / "settlements.csv", claim("S1", "M1", "900.00"))


def test_a_settlement_received_after_its_period_deadline_is_rejected(
    books: Books, enrol: Callable[..., None], settlement_of_march: Path
) -> None:
    enrol("M1")
    before = events(books), books.report()

    with pytest.raises(ImportRefused) as refused:
        import_feed(books, "claims", settlement_of_march, CLERK, received_on=date(2026, 4, 1))

    assert refused.value.summary.rejects == [
        Reject(
            2,
            "discharged_on",
            "2025-03-10",
            "claim 'S1' received on 2026-04-01 after the deadline 2026-03-31",
        )
    ]
    assert (events(books), books.report()) == before


def test_a_settlement_received_by_its_deadline_keeps_its_discharge_date(
    books: Books, enrol: Callable[..., None], settlement_of_march: Path
) -> None:
    enrol("M1")

    summary = imported(books, "claims", settlement_of_march, received_on=date(2026, 3, 31))

    assert summary.counts == {"approved": 1}
    history = books.app.events.get(member_uuid("M1"))
    submitted = next(e for e in history if isinstance(e, Member.ClaimSubmitted))
    decided = next(e for e in history if isinstance(e, Member.ClaimApproved))
    assert (submitted.effective_date, submitted.received_on) == (
        date(2025, 3, 10),
        date(2026, 3, 31),
    )
    assert decided.effective_date == date(2025, 3, 10)
    as_of_march = books.report(as_of=date(2025, 3, 31))["counties"]["C1"]["accounts"]
    assert as_of_march["benefits_payable"] == "60.00"


def test_a_settlement_feed_is_received_today_unless_told(
    books: Books, enrol: Callable[..., None], settlement_of_march: Path
) -> None:
    enrol("M1")
    with pytest.raises(ImportRefused) as refused:
        import_feed(books, "claims", settlement_of_march, CLERK)
    [reject] = refused.value.summary.rejects
    assert reject.reason == (f"claim 'S1' received on {date.today()} after the deadline 2026-03-31")


def test_a_settlement_below_the_deductible_is_a_rejected_claim(
    books: Books, enrol: Callable[..., None], tmp_path: Path
) -> None:
    enrol("M1")

    summary = imported(
        books, "claims", claims_file(tmp_path / "c.csv", claim("S1", "M1", "500.00"))
    )

    assert summary.counts == {"rejected_by_policy": 1}
    assert books.app.member("M1").claims["S1"].status == "rejected"
    assert rejection_reason(books, "M1", "S1") == "below the deductible"
    assert accounts(books)["benefits_payable"] == "0.00"


def test_a_settlement_above_the_deductible_is_approved_with_the_policys_benefit(
    books: Books, enrol: Callable[..., None], tmp_path: Path
) -> None:
    enrol("M1")

    summary = imported(
        books, "claims", claims_file(tmp_path / "c.csv", claim("S1", "M1", "20000.00"))
    )

    assert summary.counts == {"approved": 1}
    assert summary.amounts["benefits_approved"] == Decimal("10380.00")
    assert approved(books, "M1", "S1") == Decimal("10380.00")
    c1 = accounts(books)
    assert (c1["benefits_payable"], c1["benefit_expense"]) == ("10380.00", "10380.00")


def test_the_hardship_uplift_comes_from_the_group_on_the_roster(
    scheme: Callable[[str], Books], tmp_path: Path
) -> None:
    books = scheme("beijing")
    imported(
        books,
        "enrolments",
        write_feed(
            tmp_path / "roster.csv",
            ROSTER_HEADER,
            "1,M1,张三,1,C1,U1,hardship,2025-01-06",
            "2,M2,李四,1,C1,U1,,2025-01-06",
            encoding="gb18030",
        ),
    )
    imported(
        books,
        "premiums",
        write_feed(
            tmp_path / "premiums.csv",
            PREMIUM_HEADER,
            "P1,M1,1,union:city,60.00,2025-01-06",
            "P2,M2,1,union:city,60.00,2025-01-06",
        ),
    )

    summary = imported(
        books,
        "claims",
        claims_file(
            tmp_path / "c.csv", claim("S1", "M1", "11300.00"), claim("S2", "M2", "11300.00")
        ),
    )

    assert summary.counts == {"approved": 2}
    assert approved(books, "M1", "S1") == Decimal("5500.00")  # 10,000 x (50% + 5 points)
    assert approved(books, "M2", "S2") == Decimal("5000.00")  # 10,000 x 50%


def test_a_weihai_settlement_is_due_within_180_days_of_its_discharge(
    scheme: Callable[[str], Books], tmp_path: Path
) -> None:
    books = scheme("weihai")
    import_roster(books, roster_line("M1"))
    march = claims_file(tmp_path / "march.csv", claim("S1", "M1", "9000.00"))  # 2025-03-10
    before = events(books)
    with pytest.raises(ImportRefused) as refused:
        import_feed(books, "claims", march, CLERK, received_on=date(2025, 9, 7))
    assert refused.value.summary.rejects == [
        Reject(
            2,
            "discharged_on",
            "2025-03-10",
            "claim 'S1' received on 2025-09-07 after the deadline 2025-09-06",
        )
    ]
    assert events(books) == before
    summary = import_feed(books, "claims", march, CLERK, received_on=date(2025, 9, 6))
    assert summary.counts == {"approved": 1}


def test_claims_beyond_the_annual_cap_are_rejected_once_it_is_used_up(
    scheme: Callable[[str], Books], tmp_path: Path
) -> None:
    books = scheme("nanyang")
    import_roster(books, roster_line("M1"))

    summary = imported(
        books,
        "claims",
        claims_file(
            tmp_path / "c.csv",
            claim("S1", "M1", "150000.00"),
            claim("S2", "M1", "60000.00", discharged="2025-05-10"),
            claim("S3", "M1", "5000.00", discharged="2025-07-10"),
        ),
    )

    assert approved(books, "M1", "S1") == Decimal("74500.00")  # (150,000 - 1,000) x 50%
    assert approved(books, "M1", "S2") == Decimal("25500.00")  # what is left of 100,000
    assert books.app.member("M1").claims["S3"].status == "rejected"
    assert rejection_reason(books, "M1", "S3") == "annual cap reached"
    assert summary.counts == {"approved": 2, "rejected_by_policy": 1}
    assert accounts(books)["benefits_payable"] == "100000.00"


def test_a_settlement_of_a_closed_period_is_blamed_on_its_discharge_not_an_absent_column(
    members: Books, tmp_path: Path
) -> None:
    """The period was taken from the discharge date (the feed has no period column), so
    the discharge date is what the clerk must look at."""
    books = members
    books.close_period(1, APPROVER, date(2026, 1, 31))
    feed = claims_file(tmp_path / "late.csv", claim("JS-1", "M1", "20000.00"))

    with pytest.raises(ImportRefused) as refused:
        import_feed(books, "claims", feed, CLERK, received_on=RECEIVED)

    [reject] = refused.value.summary.rejects
    assert (reject.field, reject.value) == ("discharged_on", "2025-03-10")
    assert "period 1 is closed" in reject.reason


INSURANCE_HEADER = "结算单号,会员编号,入院日期,出院日期,医疗总费用,统筹支付,个人自付,自费,起付线"
"""A settlement as the basic medical insurance system exports it: no eligible column."""


def test_a_settlement_exported_with_its_components_is_claimed_on_its_policy_self_pay(
    books: Books, enrol: Callable[..., None], tmp_path: Path
) -> None:
    enrol("M1")
    feed = write_feed(
        tmp_path / "insurance.csv",
        INSURANCE_HEADER,
        "S1,M1,2025-03-01,2025-03-10,10000.00,6000.00,3000.00,1000.00,600.00",
    )
    summary = imported(books, "claims", feed)
    assert summary.amounts["eligible_self_paid"] == Decimal("3000.00")
    assert approved(books, "M1", "S1") == Decimal("480.00")  # 2,400 x 20%
    [submitted] = [
        e for e in books.app.events.get(member_uuid("M1")) if type(e).__name__ == "ClaimSubmitted"
    ]
    assert submitted.eligible == Decimal("3000.00")
    assert submitted.settlement["policy_self_paid"] == Decimal("3000.00")
    assert submitted.settlement["out_of_catalogue"] == Decimal("1000.00")
    assert submitted.settlement["insurance_deductible"] == Decimal("600.00")


def test_components_that_do_not_add_up_are_rejected_naming_the_column(
    books: Books, enrol: Callable[..., None], tmp_path: Path
) -> None:
    enrol("M1")
    before = events(books)
    feed = write_feed(
        tmp_path / "insurance.csv",
        INSURANCE_HEADER,
        "S1,M1,2025-03-01,2025-03-10,10000.00,6000.00,3000.00,1500.00,600.00",
        "S2,M1,2025-03-01,2025-03-10,10000.00,6000.00,-5.00,0.00,0.00",
        "S3,M1,2025-03-01,2025-03-10,10000.00,6000.00,,,",
    )
    with pytest.raises(ImportRefused) as refused:
        import_feed(books, "claims", feed, CLERK, received_on=RECEIVED)
    assert [(r.line, r.field) for r in refused.value.summary.rejects] == [
        (2, "out_of_catalogue"),
        (3, "个人自付"),  # refused as read: named as the file names it
        (4, "eligible_self_paid"),
    ]
    assert "add up to 10500.00, more than the total cost" in refused.value.summary.rejects[0].reason
    assert events(books) == before


def test_costs_above_the_insurance_ceiling_are_paid_by_the_policys_own_bands(
    under: Callable[[Policy], Books], tmp_path: Path
) -> None:
    beyond = [
        {"lower": "0", "upper": "10000.00", "rate": "0.40"},
        {"lower": "10000.00", "rate": "0.60"},
    ]
    books = under(pinghu_varied("beyond", above_ceiling=beyond))
    import_roster(books, roster_line("M1"))
    feed = write_feed(
        tmp_path / "beyond.csv",
        "结算单号,会员编号,入院日期,出院日期,医疗总费用,统筹支付,个人自付,超限额费用",
        "S1,M1,2025-03-01,2025-03-10,400000.00,375000.00,5000.00,20000.00",
    )
    imported(books, "claims", feed)
    # 4,400 x 20% within the bands; 10,000 x 40% + 10,000 x 60% above the ceiling
    assert approved(books, "M1", "S1") == Decimal("10880.00")
    assert benefit_notice(books, "S1").settlement["above_ceiling"] == Decimal("20000.00")
    assert books.app.member("M1").claims["S1"].above_ceiling == Decimal("20000.00")
