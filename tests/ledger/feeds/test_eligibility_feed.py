"""A roster under a policy that enrols only insured union members: the columns insurance
and union systems export (是否参加职工医保, 是否工会会员) read as yes or no, each line
refused that does not attest what the policy requires, naming its column; what a line
attests is recorded with its enrolment."""

from collections.abc import Callable
from pathlib import Path

from feed_files import write_feed
from ledger_feeds import CLERK

from domain.member import Member, member_uuid
from domain.policy import Policy
from ledger.application.books import Books
from ledger.application.feeds import import_feed
from ledger.application.policies import load_preset

HEADER = "名册行号,会员编号,期次,区县,单位,参保日期,是否参加职工医保,是否工会会员"


def test_a_roster_line_not_attesting_what_the_policy_requires_is_refused_by_its_column(
    under: Callable[[Policy], Books], tmp_path: Path
) -> None:
    data = load_preset("pinghu").policy_for(1).model_dump(mode="json")
    books = under(Policy.model_validate({**data, "eligibility": ["insured", "union_member"]}))
    roster = write_feed(
        tmp_path / "名册.csv",
        HEADER,
        "1,M001,1,C1,平湖市总工会,2025-01-06,是,是",
        "2,M002,1,C1,平湖市总工会,2025-01-06,是,否",
        "3,M003,1,C1,平湖市总工会,2025-01-06,,是",
        "4,M004,1,C1,平湖市总工会,2025-01-06,也许,是",
        "5,M005,1,C1,平湖市总工会,2025-01-06,yes,TRUE",
    )
    rejects = tmp_path / "退回.csv"
    summary = import_feed(books, "enrolments", roster, CLERK, partial=True, rejects_path=rejects)
    assert (summary.imported, summary.rejected) == (2, 3)
    assert [(r.line, r.field) for r in summary.rejects] == [
        (3, "union_member"),
        (4, "insured"),
        (5, "是否参加职工医保"),  # as the file names the column it cannot read
    ]
    reasons = [r.reason for r in summary.rejects]
    assert reasons[0].endswith("enrols only members union members (工会会员): the roster says no")
    assert reasons[1].endswith("the roster does not say")
    assert "'也许' is not a yes or a no" in reasons[2]
    [enrolled] = [
        e for e in books.app.events.get(member_uuid("M005")) if isinstance(e, Member.Enrolled)
    ]
    assert (enrolled.insured, enrolled.union_member, enrolled.unit_registered) == (
        True,
        True,
        None,
    )
