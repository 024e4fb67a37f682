"""Importing feeds on both backends: rosters, premium lists, insurance settlements and bank
results, from real files in the encodings clerks' spreadsheets save."""

import csv
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from feed_files import CLAIM_HEADER, ROSTER_HEADER, claim, write_feed, write_workbook
from rosters import import_roster, roster_line

from domain.errors import LedgerError
from domain.member import Member, member_uuid
from ledger.application.app import MutualAidLedger
from ledger.application.books import Books
from ledger.application.feeds import NOT_ACCEPTED, ImportRefused, ImportSummary, Reject, import_feed
from ledger.application.files import FeedError
from ledger.application.policies import load_preset
from ledger.reports.payments import export_payouts

CLERK, APPROVER, CASHIER = "clerk", "approver", "cashier"
START, END = date(2025, 1, 1), date(2025, 12, 31)
RECEIVED = date(2026, 3, 31)
"""The day the tests' feeds reach the ledger: the last day of period 1's claim deadline."""

PREMIUM_HEADER = "receipt,member_id,period,source,amount,paid_on"
RESULT_HEADER = "bank_reference,status,return_reason,reported_on"


# Files, written as a clerk's spreadsheet would save them


def claims_file(path: Path, *lines: str) -> Path:
    return write_feed(path, CLAIM_HEADER, *lines)


# The ledger as a clerk sees it


def imported(books: Books, kind: str, path: Path, **options: Any) -> ImportSummary:
    """Import a feed that should go in whole, received on RECEIVED unless told; a refusal
    fails the test with its rejects."""
    options.setdefault("received_on", RECEIVED)
    try:
        return import_feed(books, kind, path, importer(kind), **options)
    except ImportRefused as refused:
        pytest.fail("\n".join(map(str, [refused, *refused.summary.rejects])))


def importer(kind: str) -> str:
    """Bank results are the cashier's to import, the other feeds the clerk's."""
    return CASHIER if kind == "payout-results" else CLERK


def events(books: Books) -> int | None:
    return books.app.recorder.max_notification_id()


def accounts(books: Books, county: str = "C1") -> dict[str, str]:
    accounts: dict[str, str] = books.report()["counties"][county]["accounts"]
    return accounts


def enrolled_on(books: Books, member_id: str) -> date:
    history = books.app.events.get(member_uuid(member_id))
    return next(e.effective_date for e in history if isinstance(e, Member.Enrolled))


def rejection_reason(books: Books, member_id: str, claim_id: str) -> str:
    history = books.app.events.get(member_uuid(member_id))
    return next(
        e.reason for e in history if isinstance(e, Member.ClaimRejected) and e.claim_id == claim_id
    )


def approved(books: Books, member_id: str, claim_id: str) -> Decimal:
    return books.app.member(member_id).claims[claim_id].approved


def enrol_unpaid(books: Books, *members: str, period: int = 1) -> None:
    import_roster(books, *(roster_line(m, period=period) for m in members), paid=False)


def open_scheme(db: str, preset: str, staff: Callable[[MutualAidLedger], None]) -> Books:
    """A scheme under a preset with counties C1 and C2 and period 1 (2025) open."""
    books = Books(db)
    books.app.create_scheme(preset.title(), preset, {"C1": "Danghu", "C2": "Zhapu"}, "admin", START)
    staff(books.app)
    books.app.open_period(1, START, END, load_preset(preset).policy_for(1), APPROVER, START)
    return books


@pytest.fixture
def scheme(db: str, staff: Callable[[MutualAidLedger], None]) -> Iterator[Callable[[str], Books]]:
    """Opens a scheme under the preset asked for, on each backend."""
    opened: list[Books] = []

    def under(preset: str) -> Books:
        opened.append(open_scheme(db, preset, staff))
        return opened[-1]

    yield under
    for books in opened:
        books.close()


# 1. Encodings and date forms


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


def test_a_jsonl_premium_list_is_imported_and_posted(books: Books, tmp_path: Path) -> None:
    enrol_unpaid(books, "M001")
    premiums = write_feed(
        tmp_path / "premiums.jsonl",
        '{"receipt": "P1", "member_id": "M001", "period": 1, "source": "worker", '
        '"amount": 1, "paid_on": "2025/1/6"}',
        '{"收据号": "P2", "会员编号": "M001", "期次": 1, "资金来源": "union:city", '
        '"金额": 49.00, "缴费日期": "2025年1月6日"}',
    )

    summary = imported(books, "premiums", premiums)

    assert (summary.imported, summary.amounts) == (2, {"premiums": Decimal("50.00")})
    c1 = accounts(books)
    assert (c1["bank"], c1["premium_income:worker"], c1["premium_income:union:city"]) == (
        "50.00",
        "1.00",
        "49.00",
    )
    assert books.app.member("M001").enrolments[1].paid_up


def test_a_jsonl_amount_with_a_fraction_is_an_exact_decimal(books: Books, tmp_path: Path) -> None:
    enrol_unpaid(books, "M001")
    premiums = write_feed(
        tmp_path / "premiums.jsonl",
        '{"receipt": "P1", "member_id": "M001", "period": 1, "source": "union:city", '
        '"amount": 12.5, "paid_on": "2025-01-06"}',
    )

    imported(books, "premiums", premiums)

    assert accounts(books)["premium_income:union:city"] == "12.50"


# 2. Every rejection, with its line, field, value and reason


@pytest.fixture
def members(books: Books) -> Books:
    """M1 enrolled and paid up in C1; M2 enrolled without paying; M3 enrolled only in
    period 2 (2026)."""
    import_roster(books, roster_line("M1"))
    enrol_unpaid(books, "M2")
    books.app.open_period(
        2,
        date(2026, 1, 1),
        date(2026, 12, 31),
        load_preset("pinghu").policy_for(2),
        APPROVER,
        START,
    )
    enrol_unpaid(books, "M3", period=2)
    return books


REJECTIONS = [
    pytest.param(
        "claims",
        "c.csv",
        [CLAIM_HEADER, claim("S1", "NOBODY", "900.00")],
        Reject(2, "member_id", "NOBODY", "unknown member 'NOBODY'"),
        id="unknown-member",
    ),
    pytest.param(
        "premiums",
        "p.csv",
        [PREMIUM_HEADER, "R9,M3,1,worker,1.00,2025-01-06"],
        Reject(2, "period", "1", "member 'M3' is not enrolled in period 1"),
        id="not-enrolled-in-that-period",
    ),
    pytest.param(
        "claims",
        "c.csv",
        [CLAIM_HEADER, claim("S1", "M2", "900.00")],
        Reject(2, "member_id", "M2", "has paid 0.00 of the 50.00 premium for period 1"),
        id="premium-not-paid-up",
    ),
    pytest.param(
        "claims",
        "c.csv",
        [CLAIM_HEADER + ",period", claim("S1", "M1", "900.00", discharged="2026-04-01") + ",1"],
        Reject(
            2,
            "discharged_on",
            "2026-04-01",
            "claim 'S1' was discharged on 2026-04-01: it cannot be received on 2026-03-31",
        ),
        id="discharged-after-the-feed-was-received",
    ),
    pytest.param(
        "enrolments",
        "e.csv",
        [ROSTER_HEADER, "1,M7,王五,1,C1,U1,,2026-01-01"],
        Reject(
            2,
            "enrolled_on",
            "2026-01-01",
            "'M7' cannot be enrolled in period 1 on 2026-01-01: the period ended on 2025-12-31",
        ),
        id="enrolled-after-the-period-ended",
    ),
    pytest.param(
        "enrolments",
        "e.csv",
        [ROSTER_HEADER, "1,M7,王五,1,C1,Glass\x07Works,,2025-01-06"],
        Reject(2, "单位", "Glass\x07Works", "contains a control character (U+0007)"),
        id="unit-with-a-control-character",
    ),
    pytest.param(
        "enrolments",
        "e.jsonl",
        [
            '{"roster_line": "1", "member_id": "M\\u001b7", "period": 1, "county": "C1", '
            '"unit": "U1", "enrolled_on": "2025-01-06"}'
        ],
        Reject(1, "member_id", "M\x1b7", "contains a control character (U+001B)"),
        id="member-id-with-a-control-character",
    ),
    pytest.param(
        "claims",
        "c.csv",
        [CLAIM_HEADER, "S\x001,M1,2025-03-01,2025-03-10,5900.00,5000.00,900.00"],
        Reject(2, "settlement_no", "S\x001", "contains a control character (U+0000)"),
        id="settlement-number-with-a-control-character",
    ),
    pytest.param(
        "claims",
        "c.csv",
        [CLAIM_HEADER, "S1,M1,2025-03-01,2025-03-10,9000.00,5000.00,12.345"],
        Reject(2, "eligible_self_paid", "12.345", "more than 2 decimal places"),
        id="amount-with-three-decimals",
    ),
    pytest.param(
        "claims",
        "c.csv",
        [CLAIM_HEADER, "S1,M1,2025-03-01,2025-03-10,abc,5000.00,900.00"],
        Reject(2, "total_cost", "abc", "not a number in yuan"),
        id="amount-not-a-number",
    ),
    pytest.param(
        "premiums",
        "p.jsonl",
        [
            '{"receipt": "P1", "member_id": "M2", "period": 1, "source": "union:city", '
            '"amount": 12.345, "paid_on": "2025-01-06"}'
        ],
        Reject(1, "amount", Decimal("12.345"), "more than 2 decimal places"),
        id="jsonl-amount-with-three-decimals",
    ),
    pytest.param(
        "claims",
        "c.csv",
        [CLAIM_HEADER, "S1,M1,2025-03-10,2025-03-01,9000.00,5000.00,900.00"],
        Reject(
            2, "discharged_on", "2025-03-01", "discharged 2025-03-01 before admitted 2025-03-10"
        ),
        id="dates-inverted",
    ),
    pytest.param(
        "claims",
        "c.csv",
        [CLAIM_HEADER, "S1,M1,2025-03-01,2025-03-10,1000.00,600.00,500.00"],
        Reject(
            2,
            "eligible_self_paid",
            "500.00",
            "eligible self-paid 500.00 exceeds what insurance left to pay (400.00)",
        ),
        id="eligible-above-what-insurance-left",
    ),
    pytest.param(
        "claims",
        "c.csv",
        [CLAIM_HEADER, claim("S1", "M1", "900.00"), claim("S1", "M1", "900.00")],
        Reject(3, "settlement_no", "S1", "duplicate of line 2"),
        id="duplicate-within-the-file",
    ),
    pytest.param(
        "enrolments",
        "e.csv",
        [ROSTER_HEADER, "1,M7,王五,1,C9,U1,,2025-01-06"],
        Reject(2, "county", "C9", "county 'C9' is not part of this scheme"),
        id="unknown-county",
    ),
    pytest.param(
        "enrolments",
        "e.csv",
        [ROSTER_HEADER, "1,M7,王五,1,C1,U1,hardship,2025-01-06"],
        Reject(2, "group", "hardship", "group 'hardship' has no uplift in period 1"),
        id="unknown-group",
    ),
    pytest.param(
        "premiums",
        "p.csv",
        [PREMIUM_HEADER, "R9,M2,1,employer,1.00,2025-01-06"],
        Reject(2, "source", "employer", "'employer' is not a funding source of period 1"),
        id="unknown-funding-source",
    ),
    pytest.param(
        "premiums",
        "p.csv",
        [PREMIUM_HEADER, "R9,M2,1,worker,2.00,2025-01-06"],
        Reject(2, "amount", "2.00", "would have paid 2.00, more than the 1.00 premium"),
        id="overpaid-premium",
    ),
    pytest.param(
        "payout-results",
        "r.csv",
        [RESULT_HEADER, "2025-06/NOBODY,paid,,2025-07-01"],
        Reject(2, "bank_reference", "2025-06/NOBODY", "no payout was made under '2025-06/NOBODY'"),
        id="unknown-bank-reference",
    ),
    pytest.param(
        "claims",
        "c.jsonl",
        [
            '{"settlement_no": "S1", "member_id": "M1", "admitted_on": "2025-03-01", '
            '"discharged_on": "2025-03-10", "total_cost": 5900, "insurance_paid": 5000, '
            '"eligible_self_paid": 900}',
            '{"settlement_no": "S2", "member_id": "M1",',
        ],
        Reject(2, "(line)", "", "not valid JSON"),
        id="jsonl-line-not-json",
    ),
    pytest.param(
        "claims",
        "c.csv",
        [CLAIM_HEADER, claim("S1", "M1", "900.00"), claim("S2", "M1", "900.00") + ",extra"],
        Reject(3, "(line)", ["extra"], "more cells than columns"),
        id="more-cells-than-headers",
    ),
    pytest.param(
        "enrolments",
        "e.csv",
        [ROSTER_HEADER, "1,M7,王五,1,C1,U1,,"],
        Reject(2, "参保日期", "", "missing"),
        id="missing-date",
    ),
    pytest.param(
        "premiums",
        "p.csv",
        [PREMIUM_HEADER, "R9,M2,1,worker,,2025-01-06"],
        Reject(2, "amount", "", "missing"),
        id="missing-amount",
    ),
    pytest.param(
        "premiums",
        "p.csv",
        ["收据号,会员编号,期次,资金来源,金额,缴费日期", "R9,M2,1,worker,1.00,86400"],
        Reject(
            2,
            "缴费日期",
            "86400",
            "86400 is not a date but looks like an Excel date serial number: format the column "
            "as a date (yyyy-mm-dd) in the spreadsheet and export the file again",
        ),
        id="date-as-a-number-of-seconds-not-1970",
    ),
    pytest.param(
        "premiums",
        "p.jsonl",
        [
            '{"receipt": "P1", "member_id": "M2", "period": 1, "source": "worker", '
            '"amount": "1.00", "paid_on": 0}'
        ],
        Reject(1, "paid_on", 0, "0 is a number, not a date: give it as 2025-03-01, 2025/3/1"),
        id="jsonl-date-as-a-number-not-1970",
    ),
    pytest.param(
        "enrolments",
        "e.csv",
        [ROSTER_HEADER, "1,M7,王五,1,C1,U1,,45663"],
        Reject(2, "参保日期", "45663", "looks like an Excel date serial number"),
        id="date-as-an-excel-day-number",
    ),
    pytest.param(
        "claims",
        "c.csv",
        [CLAIM_HEADER, "S1,M1,2025-03-01,2025-03-10 08:30,5900.00,5000.00,900.00"],
        Reject(
            2,
            "discharged_on",
            "2025-03-10 08:30",
            "'2025-03-10 08:30' has a time of day: give the date alone, such as 2025-03-01",
        ),
        id="date-with-a-time-of-day",
    ),
    pytest.param(
        "claims",
        "c.csv",
        [CLAIM_HEADER, "S1,M1,2025-02-30,2025-03-10,5900.00,5000.00,900.00"],
        Reject(2, "admitted_on", "2025-02-30", "'2025-02-30' is not a day of the calendar"),
        id="date-not-in-the-calendar",
    ),
    pytest.param(
        "premiums",
        "p.csv",
        [PREMIUM_HEADER, "R9,M2,1.5,worker,1.00,2025-01-06"],
        Reject(2, "period", "1.5", "'1.5' is not a period number: give a whole number, such as 1"),
        id="period-not-a-whole-number",
    ),
    pytest.param(
        "premiums",
        "p.jsonl",
        [
            '{"receipt": "P1", "member_id": "M2", "period": true, "source": "worker", '
            '"amount": "1.00", "paid_on": "2025-01-06"}'
        ],
        Reject(1, "period", True, "True is not a period number"),
        id="period-true-is-not-period-1",
    ),
    pytest.param(
        "payout-results",
        "r.jsonl",
        ['{"bank_reference": "2025-06/M1", "status": "ok", "reported_on": "2025-07-01"}'],
        Reject(
            1,
            "status",
            "ok",
            "'ok' is not a status: give paid (成功, 已支付) or returned (退回, 失败)",
        ),
        id="status-unknown",
    ),
]


@pytest.mark.parametrize(("kind", "name", "lines", "expected"), REJECTIONS)
def test_a_bad_record_is_reported_with_its_line_field_value_and_reason(
    members: Books, tmp_path: Path, kind: str, name: str, lines: list[str], expected: Reject
) -> None:
    books = members
    before = events(books), books.report()
    feed = write_feed(tmp_path / name, *lines)

    with pytest.raises(ImportRefused) as refused:
        import_feed(books, kind, feed, importer(kind), received_on=RECEIVED)

    [reject] = refused.value.summary.rejects
    assert (reject.line, reject.field, reject.value) == (
        expected.line,
        expected.field,
        expected.value,
    ), str(reject)
    assert expected.reason in reject.reason
    assert (events(books), books.report()) == before


ROSTER_COLUMNS = ["名册行号", "会员编号", "期次", "区县", "单位", "参保日期"]
RECORD = ["1", "M7", "1", "C1", "U1", "2025-01-06"]
HEADER_PROBLEMS = [
    pytest.param(
        ";".join(ROSTER_COLUMNS) + "\r\n" + ";".join(RECORD) + "\r\n",
        "utf-8",
        [
            f"line 1: headers found: {';'.join(ROSTER_COLUMNS)}; required columns missing: "
            "roster_line (名册行号, 名册编号, 行号), member_id (会员编号, 职工编号, 人员编号), ",
            "the header is one column holding semicolons: separate the columns with commas",
        ],
        id="semicolons",
    ),
    pytest.param(
        "\t".join(ROSTER_COLUMNS) + "\r\n" + "\t".join(RECORD) + "\r\n",
        "gb18030",
        ["the header is one column holding tabs: separate the columns with commas"],
        id="tabs",
    ),
    pytest.param(
        "名册行号,会员编码,备注,期次,区县,单位,参保日\r\n1,M7,无,1,C1,U1,2025-01-06\r\n",
        "utf-8",
        [
            "line 1: headers found: 名册行号, 会员编码, 备注, 期次, 区县, 单位, 参保日; "
            "required columns missing: member_id (会员编号, 职工编号, 人员编号), enrolled_on "
            "(参保日期, 入会日期); not understood: 会员编码 (会员编号?), 备注, 参保日 (参保日期?)"
        ],
        id="misspelt",
    ),
    pytest.param(
        "名冊行號,會員編號,期次,區縣,單位,參保日期\r\n1,M7,1,C1,U1,2025-01-06\r\n",
        "big5",
        [
            "no header is known: if the file is in another encoding than UTF-8 or GB18030 "
            "(Big5, say), save it as CSV UTF-8"
        ],
        id="big5",
    ),
]


@pytest.mark.parametrize(("text", "encoding", "expected"), HEADER_PROBLEMS)
def test_a_header_the_kind_cannot_read_is_one_error_before_any_record(
    books: Books, tmp_path: Path, text: str, encoding: str, expected: list[str]
) -> None:
    before = events(books), books.report()
    roster = tmp_path / "roster.csv"
    roster.write_bytes(text.encode(encoding))

    with pytest.raises(FeedError) as refused:
        import_feed(books, "enrolments", roster, CLERK)

    message = str(refused.value)
    assert message.startswith(f"{roster}: line 1: headers found: ")
    for part in expected:
        assert part in message
    assert (events(books), books.report()) == before


RAW_PYDANTIC = ("Input should", "valid integer", "should have", "Value error", "validation error")
BAD_VALUES: list[object] = [
    None,
    "",
    "  ",
    [],
    {"a": 1},
    True,
    False,
    Decimal("1.5"),
    -1,
    0,
    "abc",
    "9" * 5000,
    "1e400",
    "2025-01-06T08:00",
    "2025-13-01",
]
"""Values no field takes as they stand, or takes only in some columns: each goes into each
field of a record otherwise good."""
GOOD_RECORDS: dict[str, dict[str, object]] = {
    "enrolments": {
        "roster_line": "1",
        "member_id": "M1",
        "period": 1,
        "county": "C1",
        "unit": "U1",
        "group": None,
        "enrolled_on": "2025-01-06",
    },
    "premiums": {
        "receipt": "P1",
        "member_id": "M2",
        "period": 1,
        "source": "worker",
        "amount": "1.00",
        "paid_on": "2025-01-06",
    },
    "claims": {
        "settlement_no": "S1",
        "member_id": "M1",
        "admitted_on": "2025-03-01",
        "discharged_on": "2025-03-10",
        "total_cost": "5900.00",
        "insurance_paid": "5000.00",
        "eligible_self_paid": "900.00",
        "period": 1,
    },
    "payout-results": {
        "bank_reference": "2025-06/M1",
        "status": "paid",
        "return_reason": None,
        "reported_on": "2025-07-01",
    },
}
REFERENCES = {
    "enrolments": "roster_line",
    "premiums": "receipt",
    "claims": "settlement_no",
    "payout-results": "bank_reference",
}


@pytest.mark.parametrize("kind", GOOD_RECORDS)
def test_no_bad_value_in_any_field_is_refused_in_pydantics_words(
    members: Books, tmp_path: Path, kind: str
) -> None:
    lines, bad = [], {}
    for name in GOOD_RECORDS[kind]:
        for value in BAD_VALUES:
            record = {**GOOD_RECORDS[kind], REFERENCES[kind]: f"R{len(lines)}", name: value}
            lines.append(json.dumps(record, default=float))
            bad[len(lines)] = (name, value)
    feed = write_feed(tmp_path / f"{kind}.jsonl", *lines)

    with pytest.raises(ImportRefused) as refused:
        import_feed(members, kind, feed, importer(kind), received_on=RECEIVED)

    rejects = {r.line: r for r in refused.value.summary.rejects}
    for reject in rejects.values():
        assert not any(raw in reject.reason for raw in RAW_PYDANTIC), str(reject)
        assert NOT_ACCEPTED not in reject.reason, str(reject)
    for line, (name, value) in bad.items():
        missing = blank_and_required(kind, name, value)
        if missing or isinstance(value, list | dict | bool):
            assert rejects[line].field == name, (name, value, rejects.get(line))
        if missing:
            assert rejects[line].reason == "missing"


def blank_and_required(kind: str, name: str, value: object) -> bool:
    optional = {"group", "return_reason"} | ({"period"} if kind == "claims" else set())
    return name not in optional and (
        value is None or (isinstance(value, str) and not value.strip())
    )


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


# 2b. The claim deadline counts to the day a settlement is received


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


def test_a_bank_result_dated_before_the_payment_it_reports_is_rejected(
    books: Books, enrol: Callable[..., None], tmp_path: Path
) -> None:
    enrol("M1")
    imported(books, "claims", claims_file(tmp_path / "c.csv", claim("S1", "M1", "900.00")))
    export_payouts(books, "2025-06", tmp_path / "batch.csv", CASHIER, date(2025, 6, 30))
    before = events(books)
    results = write_feed(tmp_path / "results.csv", RESULT_HEADER, "2025-06/M1,paid,,2025-06-29")

    with pytest.raises(ImportRefused) as refused:
        import_feed(books, "payout-results", results, CASHIER)

    assert refused.value.summary.rejects == [
        Reject(
            2,
            "reported_on",
            "2025-06-29",
            "payout '2025-06/M1' of claim 'S1' was made on 2025-06-30: it cannot be confirmed "
            "on 2025-06-29",
        )
    ]
    assert events(books) == before


# 3. Idempotency


def roster(path: Path, *members: str) -> Path:
    lines = [f"{n},{m},某,1,C1,U1,,2025-01-06" for n, m in enumerate(members, 1)]
    return write_feed(path, ROSTER_HEADER, *lines)


def premiums(path: Path, *members: str) -> Path:
    lines = [f"P-{m},{m},1,union:city,49.00,2025-01-06" for m in members]
    return write_feed(path, PREMIUM_HEADER, *lines)


def claims(path: Path, *numbers: int) -> Path:
    return claims_file(path, *(claim(f"S{n}", "M1", f"{1000 * n}.00") for n in numbers))


FEEDS = {
    "enrolments": lambda path: roster(path, "M1", "M2", "M3"),
    "premiums": lambda path: premiums(path, "M1", "M2", "M3"),
    "claims": lambda path: claims(path, 1, 2, 3),
}


@pytest.mark.parametrize("kind", FEEDS)
def test_importing_the_same_file_twice_adds_nothing_the_second_time(
    books: Books, tmp_path: Path, kind: str
) -> None:
    if kind == "premiums":
        enrol_unpaid(books, "M1", "M2", "M3")
    if kind == "claims":
        import_roster(books, roster_line("M1"))
    feed = FEEDS[kind](tmp_path / "feed.csv")
    first = imported(books, kind, feed)
    after_first = events(books), books.report()

    again = imported(books, kind, feed)

    assert first.imported == 3
    assert (again.read, again.already_present, again.imported) == (3, 3, 0)
    assert again.amounts == {}
    assert (events(books), books.report()) == after_first


def test_an_overlapping_file_imports_only_its_new_records(
    books: Books, enrol: Callable[..., None], tmp_path: Path
) -> None:
    enrol("M1")
    imported(books, "claims", claims(tmp_path / "march.csv", 1, 2, 3, 4))
    payable = accounts(books)["benefits_payable"]

    summary = imported(books, "claims", claims(tmp_path / "march-april.csv", 3, 4, 5, 6))

    assert (summary.read, summary.already_present, summary.imported) == (4, 2, 2)
    assert sorted(books.app.member("M1").claims) == ["S1", "S2", "S3", "S4", "S5", "S6"]
    # S5 (5,000) gets 880, S6 (6,000) gets 880 + 500: 2,260 more is payable.
    assert Decimal(accounts(books)["benefits_payable"]) == Decimal(payable) + Decimal("2260.00")


# 4. All or nothing by default


def test_a_file_with_one_bad_record_stores_nothing(
    books: Books, enrol: Callable[..., None], tmp_path: Path
) -> None:
    enrol("M1")
    before = events(books), books.report()
    feed = claims_file(
        tmp_path / "claims.csv",
        claim("S1", "M1", "20000.00"),
        claim("S2", "M1", "900.00"),
        "S3,M1,2025-03-01,2025-03-10,9000.00,5000.00,abc",
        claim("S4", "M1", "3000.00"),
    )

    with pytest.raises(ImportRefused, match="1 bad record") as refused:
        import_feed(books, "claims", feed, CLERK, received_on=RECEIVED)

    summary = refused.value.summary
    assert (summary.read, summary.rejected, summary.imported) == (4, 1, 0)
    assert [r.line for r in summary.rejects] == [4]
    assert (events(books), books.report()) == before
    assert books.app.member("M1").claims == {}


# 5. Partial import with a rejects file


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


def test_partial_import_of_gb18030_jsonl_writes_gb18030_jsonl_rejects_with_amounts_as_read(
    books: Books, tmp_path: Path
) -> None:
    enrol_unpaid(books, "M1", "M2")
    feed = write_feed(
        tmp_path / "premiums.jsonl",
        '{"receipt": "P1", "member_id": "M1", "姓名": "张三", "period": 1, '
        '"source": "union:city", "amount": 49.00, "paid_on": "2025-01-06"}',
        '{"receipt": "P2", "member_id": "M2", "姓名": "李四", "period": 1, '
        '"source": "union:city", "amount": 49.005, "paid_on": "2025-01-06"}',
        encoding="gb18030",
    )
    rejects = tmp_path / "rejects.jsonl"

    summary = import_feed(books, "premiums", feed, CLERK, partial=True, rejects_path=rejects)

    assert (summary.imported, summary.rejected) == (1, 1)
    with pytest.raises(UnicodeDecodeError):
        rejects.read_bytes().decode("utf-8")
    [line] = rejects.read_text("gb18030").splitlines()
    assert '"姓名": "李四"' in line and '"amount": 49.005' in line
    assert '"reason": "amount: more than 2 decimal places"' in line

    rejects.write_text(line.replace("49.005", "49.00"), "gb18030")
    fixed = imported(books, "premiums", rejects)

    assert (fixed.imported, accounts(books)["premium_income:union:city"]) == (1, "98.00")


def _enrolled(books: Books) -> set[str]:
    found = set()
    for member_id in ("M001", "M002", "M003"):
        try:
            if 1 in books.app.member(member_id).enrolments:
                found.add(member_id)
        except LedgerError:  # an unknown member is not enrolled
            continue
    return found


def test_a_bank_result_rejected_in_a_partial_import_changes_nothing(
    books: Books, enrol: Callable[..., None], tmp_path: Path
) -> None:
    """M1's two claims went out under one reference; finance then recorded one of the two
    payments as returned. The bank reports the whole reference paid: the line cannot be
    applied whole, so it is rejected, and must leave both payments as they were."""
    enrol("M1")
    imported(
        books,
        "claims",
        claims_file(
            tmp_path / "c.csv", claim("S1", "M1", "20000.00"), claim("S2", "M1", "6000.00")
        ),
    )
    export_payouts(books, "2025-06", tmp_path / "batch.csv", CASHIER, date(2025, 6, 30))
    books.app.return_payout("S2", "2025-06/M1", "bounced", CASHIER, date(2025, 7, 1))
    before = events(books)
    results = write_feed(tmp_path / "results.csv", RESULT_HEADER, "2025-06/M1,paid,,2025-07-02")

    summary = import_feed(
        books, "payout-results", results, CASHIER, partial=True, rejects_path=tmp_path / "r.csv"
    )

    assert (summary.imported, summary.rejected) == (0, 1)
    assert [(p.claim_id, p.status) for p in books.claims.payments("2025-06/M1")] == [
        ("S1", "made"),
        ("S2", "returned"),
    ]
    assert events(books) == before
    assert summary.amounts == {}


# 6. A killed import, resumed

KILL_WHILE_SAVING = textwrap.dedent(
    """
    import os, signal, sys
    from datetime import date
    from pathlib import Path

    import ledger.application.feeds
    import ledger.application.work
    from ledger.application.books import Books

    def die_once_ten_are_saved(stage, done):
        if stage == "saving" and done >= 10:
            os.kill(os.getpid(), signal.SIGKILL)

    ledger.application.work.CHUNK = 5
    books = Books(sys.argv[1])
    ledger.application.feeds.import_feed(
        books,
        "claims",
        Path(sys.argv[2]),
        "clerk",
        progress=die_once_ten_are_saved,
        received_on=date(2026, 3, 31),
    )
    """
)
MEMBERS = [f"M{n:02}" for n in range(1, 31)]


def enrol_thirty(books: Books) -> None:
    import_roster(books, *(roster_line(m, "C1" if n % 2 else "C2") for n, m in enumerate(MEMBERS)))


def sixty_settlements(path: Path) -> Path:
    lines = [
        claim(f"S{m}-{k}", m, f"{(n * 997 + k * 3001) % 25000 + 100}.00")
        for n, m in enumerate(MEMBERS)
        for k in (1, 2)
    ]
    return claims_file(path, *lines)


def claims_stored(books: Books) -> int:
    return sum(len(books.app.member(m).claims) for m in MEMBERS)


def test_a_killed_import_run_again_ends_as_if_never_interrupted(
    db: str, books: Books, tmp_path: Path, staff: Callable[[MutualAidLedger], None]
) -> None:
    enrol_thirty(books)
    feed = sixty_settlements(tmp_path / "settlements.csv")

    killed = subprocess.run(
        [sys.executable, "-c", KILL_WHILE_SAVING, db, str(feed)],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )

    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()
    assert 0 < claims_stored(books) < 60
    resumed = imported(books, "claims", feed)
    assert resumed.already_present > 0
    assert resumed.imported + resumed.already_present == 60
    assert claims_stored(books) == 60

    uninterrupted = open_scheme(str(tmp_path / "uninterrupted.db"), "pinghu", staff)
    try:
        enrol_thirty(uninterrupted)
        imported(uninterrupted, "claims", feed)
        assert books.report() == uninterrupted.report()
    finally:
        uninterrupted.close()


# 7. Automatic adjudication


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
