"""Members enrolled as the ledger takes any roster, through the feeds' one bulk path, and
then, one by one, paying what their enrolment leaves due."""

from dataclasses import asdict
from datetime import date

from domain.member import NO_DETAILS, MemberDetails
from ledger.application.books import Books
from ledger.application.feeds import import_records
from ledger.application.records import EnrolmentRecord

START = date(2025, 1, 1)
CLERK = "clerk"


def roster_line(
    member_id: str,
    county: str = "C1",
    unit: str = "U1",
    group: str | None = None,
    details: MemberDetails = NO_DETAILS,
    *,
    period: int = 1,
    on: date = START,
) -> EnrolmentRecord:
    """A roster line enrolling `member_id` in `period` on `on`; the line's id is
    MEMBER/PERIOD."""
    return EnrolmentRecord(
        roster_line=f"{member_id}/{period}",
        member_id=member_id,
        period=period,
        county=county,
        unit=unit,
        group=group,
        enrolled_on=on,
        **asdict(details),
    )


def import_roster(books: Books, *lines: EnrolmentRecord, paid: bool = True) -> None:
    """Import the roster `lines`, all or nothing (ImportRefused). Unless not `paid`, each
    member then pays all that is due on the day of enrolment under one receipt, R-MEMBER,
    as `ledger pay-premium` does by default: one premium event of every funding source."""
    import_records(books, "enrolments", lines, CLERK)
    if not paid:
        return
    for line in lines:
        books.app.pay_premium(
            line.member_id, line.period, None, f"R-{line.member_id}", CLERK, line.enrolled_on
        )
