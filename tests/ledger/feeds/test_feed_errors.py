"""Bad feeds on both backends: every rejection with its line, field, value and reason, in
the project's words, never pydantic's; a header the kind cannot read; and a feed with one
bad record, which stores nothing."""

import json
import pickle
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from feed_files import CLAIM_HEADER, ROSTER_HEADER, claim, write_feed
from ledger_feeds import (
    CLERK,
    PREMIUM_HEADER,
    RECEIVED,
    RESULT_HEADER,
    claims_file,
    events,
    importer,
)

from ledger.application.books import Books
from ledger.application.feeds import NOT_ACCEPTED, ImportRefused, Reject, import_feed
from ledger.application.files import FeedError

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
        Reject(
            2, "group", "hardship", "group 'hardship' is no member group of period 1 (groups: none)"
        ),
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
        Reject(
            2,
            "period",
            "1.5",
            "'1.5' is not a period number: give a whole number from 1 in digits 0-9, such as 1",
        ),
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
        blank = value is None or (isinstance(value, str) and not value.strip())
        if kind == "claims" and name == "eligible_self_paid" and blank:
            # optional where the settlement gives its components; this one does not
            assert (rejects[line].field, rejects[line].reason) == (
                name,
                "give the eligible self-paid amount, or the settlement's self-paid components",
            )


def blank_and_required(kind: str, name: str, value: object) -> bool:
    optional = {"group", "return_reason"} | (
        {"period", "eligible_self_paid"} if kind == "claims" else set()
    )
    return name not in optional and (
        value is None or (isinstance(value, str) and not value.strip())
    )


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
    # it crosses to another process (a pool's worker) whole, its summary with it
    crossed = pickle.loads(pickle.dumps(refused.value))
    assert (str(crossed), crossed.summary) == (str(refused.value), summary)
