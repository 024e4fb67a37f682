"""Importing rosters on both backends: the encodings and date forms clerks' spreadsheets
save, a date cell outside the period, and a partial import whose rejects file is fixed and
imported."""

import csv
import io
from datetime import date, datetime
from pathlib import Path

import pytest
from feed_files import ROSTER_HEADER, write_feed, write_workbook
from ledger_feeds import CLERK, events, imported

from domain.errors import LedgerError
from domain.member import Member, member_uuid
from ledger.application.books import Books
from ledger.application.feeds import ImportRefused, Reject, import_feed


def enrolled_on(books: Books, member_id: str) -> date:
    history = books.app.events.get(member_uuid(member_id))
    return next(e.effective_date for e in history if isinstance(e, Member.Enrolled))


def test_a_gb18030_roster_with_chinese_headers_and_chinese_dates_is_imported(
    books: Books, tmp_path: Path
) -> None:
    roster = write_feed(
        tmp_path / "名册.csv",
        ROSTER_HEADER,
        "1,M001,张三,1,C1,平湖市总工会,,2025/1/6",
        "2,M002,李四,1,C2,嘉兴纺织厂,,2025年1月6日",
        encoding="gb18030",
    )
    with pytest.raises(UnicodeDecodeError):
        roster.read_bytes().decode("utf-8")

    summary = imported(books, "enrolments", roster)

    assert (summary.read, summary.imported, summary.rejected) == (2, 2, 0)
    first, second = books.app.member("M001"), books.app.member("M002")
    assert (first.enrolments[1].county, first.enrolments[1].unit) == ("C1", "平湖市总工会")
    assert (second.enrolments[1].county, second.enrolments[1].unit) == ("C2", "嘉兴纺织厂")
    assert enrolled_on(books, "M001") == enrolled_on(books, "M002") == date(2025, 1, 6)


def test_a_utf8_roster_with_a_bom_is_imported_with_its_first_column(
    books: Books, tmp_path: Path
) -> None:
    roster = write_feed(
        tmp_path / "roster.csv",
        ROSTER_HEADER,
        "1,M001,张三,1,C1,平湖市总工会,,2025-01-06",
        encoding="utf-8-sig",
    )
    assert roster.read_bytes().startswith(b"\xef\xbb\xbf")

    summary = imported(books, "enrolments", roster)

    assert (summary.read, summary.imported) == (1, 1)
    assert books.app.member("M001").enrolments[1].unit == "平湖市总工会"


def test_a_date_cell_outside_its_period_is_refused_as_a_date_in_text_is(
    books: Books, tmp_path: Path
) -> None:
    roster = write_workbook(
        tmp_path / "roster.xlsx",
        ROSTER_HEADER.split(","),
        ["1", "M1", "张三", 1, "C1", "U1", None, date(2025, 1, 6)],
        ["2", "M2", "李四", 1, "C1", "U1", None, date(2026, 1, 1)],
    )
    before = events(books)

    with pytest.raises(ImportRefused) as refused:
        import_feed(books, "enrolments", roster, CLERK)

    assert refused.value.summary.rejects == [
        Reject(
            3,
            "enrolled_on",
            datetime(2026, 1, 1),
            "member 'M2' cannot be enrolled in period 1 on 2026-01-01: the period ended on "
            "2025-12-31",
        )
    ]
    assert events(books) == before
    assert str(refused.value.summary.rejects[0]).startswith("line 3: enrolled_on = 2026-01-01: ")


def test_partial_import_writes_the_bad_records_back_in_gb18030_to_be_fixed(
    books: Books, tmp_path: Path
) -> None:
    feed = write_feed(
        tmp_path / "名册.csv",
        ROSTER_HEADER,
        "1,M001,张三,1,C1,平湖市总工会,,2025/1/6",
        "2,M002,李四,1,C9,嘉兴纺织厂,,2025/1/6",
        "3,M003,王五,1,C2,乍浦港务局,,2025/1/6",
        encoding="gb18030",
    )
    rejects = tmp_path / "退回.csv"

    summary = import_feed(books, "enrolments", feed, CLERK, partial=True, rejects_path=rejects)

    assert (summary.imported, summary.rejected) == (2, 1)
    assert sorted(m for m in ("M001", "M002", "M003") if m in _enrolled(books)) == [
        "M001",
        "M003",
    ]
    data = rejects.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    header, *lines = csv.reader(io.StringIO(data.decode("gb18030")))
    assert header == [*ROSTER_HEADER.split(","), "reason"]
    [(*cells, reason)] = lines
    assert cells == ["2", "M002", "李四", "1", "C9", "嘉兴纺织厂", "", "2025/1/6"]
    assert reason.startswith("county: county 'C9' is not part of this scheme")

    rejects.write_bytes(data.decode("gb18030").replace(",C9,", ",C1,").encode("gb18030"))
    fixed = imported(books, "enrolments", rejects)

    assert (fixed.read, fixed.imported) == (1, 1)
    assert _enrolled(books) == {"M001", "M002", "M003"}
    assert books.app.member("M002").enrolments[1].unit == "嘉兴纺织厂"


def _enrolled(books: Books) -> set[str]:
    found = set()
    for member_id in ("M001", "M002", "M003"):
        try:
            if 1 in books.app.member(member_id).enrolments:
                found.add(member_id)
        except LedgerError:  # an unknown member is not enrolled
            continue
    return found
