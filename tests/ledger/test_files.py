"""Feed files as spreadsheets export them: real bytes in UTF-8, UTF-8 with BOM and GB18030,
and xlsx workbooks written by openpyxl as Excel writes them; and the cells the ledger
writes back, never a formula."""

import codecs
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from feed_files import write_workbook
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from ledger.application.files import (
    ERROR,
    EXTRA,
    FORMULA_START,
    PLAIN_NUMBER,
    REASON,
    FeedError,
    SourceRow,
    open_feed,
    read_rows,
    spreadsheet_cell,
    write_rejects,
)

ENCODINGS = ["utf-8", "utf-8-sig", "gb18030"]

# Line 3 is blank, the record on line 4 has a quoted cell running onto line 5, line 6 is
# a row of empty cells, line 7 is short of cells and line 8 has one too many.
ROSTER = (
    "会员编号, 姓名 ,单位,备注\r\n"
    "M001,张三,平湖市总工会,\r\n"
    "\r\n"
    'M002, 李四 ,"嘉兴,纺织厂","第一行\r\n第二行"\r\n'
    ",,,\r\n"
    "M003,王五\r\n"
    "M004,赵六,单位丙,无,多余\r\n"
)
HEADERS = ("会员编号", "姓名", "单位", "备注")


def write(path: Path, text: str, encoding: str) -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_a_gb18030_roster_is_not_utf8() -> None:
    """Otherwise the GB18030 cases below would be read as UTF-8 and prove nothing."""
    with pytest.raises(UnicodeDecodeError):
        ROSTER.encode("gb18030").decode("utf-8")


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_csv_records_are_read_with_their_lines_in_each_encoding(
    tmp_path: Path, encoding: str
) -> None:
    feed = open_feed(write(tmp_path / "roster.csv", ROSTER, encoding))
    assert (feed.format, feed.encoding, feed.headers) == ("csv", encoding, HEADERS)
    assert list(read_rows(feed)) == [
        SourceRow(2, {"会员编号": "M001", "姓名": "张三", "单位": "平湖市总工会", "备注": ""}),
        SourceRow(
            4,
            {"会员编号": "M002", "姓名": "李四", "单位": "嘉兴,纺织厂", "备注": "第一行\r\n第二行"},
        ),
        SourceRow(7, {"会员编号": "M003", "姓名": "王五"}),
        SourceRow(
            8,
            {"会员编号": "M004", "姓名": "赵六", "单位": "单位丙", "备注": "无", EXTRA: ["多余"]},
        ),
    ]


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_csv_rejects_are_written_in_the_feeds_encoding_with_a_reason(
    tmp_path: Path, encoding: str
) -> None:
    feed = open_feed(write(tmp_path / "roster.csv", ROSTER, encoding))
    rows = {row.line: row for row in read_rows(feed)}
    rejects = tmp_path / "rejects.csv"

    assert write_rejects(feed, rejects, [(rows[4], "单位不存在"), (rows[8], "多余的单元格")]) == 2

    expected = (
        "会员编号,姓名,单位,备注,reason\r\n"
        'M002,李四,"嘉兴,纺织厂","第一行\r\n第二行",单位不存在\r\n'
        "M004,赵六,单位丙,无,多余的单元格,多余\r\n"
    )
    assert rejects.read_bytes() == expected.encode(encoding)
    reread = open_feed(rejects)
    assert reread.encoding == encoding
    assert next(read_rows(reread)).fields == {**rows[4].fields, REASON: "单位不存在"}


def test_gb18030_rejects_are_not_utf8_and_bom_rejects_keep_the_bom(tmp_path: Path) -> None:
    written = {}
    for encoding in ("gb18030", "utf-8-sig"):
        feed = open_feed(write(tmp_path / f"{encoding}.csv", ROSTER, encoding))
        rejects = tmp_path / f"{encoding}-rejects.csv"
        write_rejects(feed, rejects, [(next(read_rows(feed)), "重复")])
        written[encoding] = rejects.read_bytes()

    with pytest.raises(UnicodeDecodeError):
        written["gb18030"].decode("utf-8")
    assert written["gb18030"].decode("gb18030").startswith("会员编号,姓名,单位,备注,reason\r\n")
    assert written["utf-8-sig"].startswith(codecs.BOM_UTF8 + "会员编号".encode())


def test_a_reimported_rejects_file_gets_its_reason_overwritten_not_doubled(
    tmp_path: Path,
) -> None:
    first = open_feed(write(tmp_path / "roster.csv", ROSTER, "gb18030"))
    rejects = tmp_path / "rejects.csv"
    write_rejects(first, rejects, [(next(read_rows(first)), "旧原因")])
    again = open_feed(rejects)
    write_rejects(again, tmp_path / "again.csv", [(next(read_rows(again)), "新原因")])

    expected = "会员编号,姓名,单位,备注,reason\r\nM001,张三,平湖市总工会,,新原因\r\n"
    assert (tmp_path / "again.csv").read_bytes() == expected.encode("gb18030")


PREMIUMS = (
    '{"会员编号": "M001", "姓名": "张三", "金额": 12.30, "月数": 50, "比例": 1.5e2}\n'
    "\n"
    '{"会员编号": "M002", "金额": 0.10,\n'
    "[1, 2]\n"
    '{"会员编号": "M003", "金额": NaN}\n'
    '{"会员编号": "M004", "明细": [{"金额": 100.00}, null, true]}\n'
)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_jsonl_amounts_are_decimals_and_bad_lines_are_single_records(
    tmp_path: Path, encoding: str
) -> None:
    feed = open_feed(write(tmp_path / "premiums.jsonl", PREMIUMS, encoding))
    assert (feed.format, feed.encoding, feed.headers) == ("jsonl", encoding, ())
    rows = list(read_rows(feed))

    assert [row.line for row in rows] == [1, 3, 4, 5, 6]
    first = rows[0].fields
    assert first == {
        "会员编号": "M001",
        "姓名": "张三",
        "金额": Decimal("12.30"),
        "月数": 50,
        "比例": Decimal("1.5e2"),
    }
    assert str(first["金额"]) == "12.30"
    assert type(first["月数"]) is int
    assert str(rows[1].fields[ERROR]).startswith("not valid JSON: Expecting")
    assert rows[2].fields == {ERROR: "not a JSON object"}
    assert rows[3].fields == {ERROR: "not valid JSON: NaN is not a number"}
    assert rows[4].fields["明细"] == [{"金额": Decimal("100.00")}, None, True]


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_jsonl_rejects_round_trip_exactly_in_the_feeds_encoding(
    tmp_path: Path, encoding: str
) -> None:
    feed = open_feed(write(tmp_path / "premiums.jsonl", PREMIUMS, encoding))
    rows = list(read_rows(feed))
    rejects = tmp_path / "rejects.jsonl"

    assert write_rejects(feed, rejects, [(rows[0], "未参保"), (rows[1], "格式错误")]) == 2

    expected = (
        '{"会员编号": "M001", "姓名": "张三", "金额": 12.30, "月数": 50, "比例": 1.5E+2, '
        '"reason": "未参保"}\n'
        '{"__line__": 3, "reason": "格式错误"}\n'
    )
    assert rejects.read_bytes() == expected.encode(encoding)
    reread = open_feed(rejects)
    assert reread.encoding == encoding
    assert next(read_rows(reread)).fields == {**rows[0].fields, REASON: "未参保"}


def test_jsonl_rejects_keep_an_escaped_lone_surrogate_escaped(tmp_path: Path) -> None:
    feed = open_feed(write(tmp_path / "odd.jsonl", '{"姓名": "\\ud800"}\n', "gb18030"))
    rejects = tmp_path / "rejects.jsonl"
    write_rejects(feed, rejects, [(next(read_rows(feed)), "姓名无效")])
    assert next(read_rows(open_feed(rejects))).fields == {"姓名": "\ud800", REASON: "姓名无效"}


@pytest.mark.parametrize(
    ("name", "format", "expected"),
    [
        ("a.CSV", None, "csv"),
        ("a.jsonl", None, "jsonl"),
        ("a.ndjson", None, "jsonl"),
        ("a.json", None, "jsonl"),
        ("a.txt", "csv", "csv"),
        ("a.csv", "jsonl", "jsonl"),
    ],
)
def test_the_format_comes_from_the_suffix_unless_given(
    tmp_path: Path, name: str, format: str | None, expected: str
) -> None:
    assert open_feed(write(tmp_path / name, "a,b\n", "utf-8"), format).format == expected


def assert_feed_error(
    path: Path, reason: str, format: str | None = None, sheet: str | None = None
) -> None:
    with pytest.raises(FeedError) as raised:
        open_feed(path, format, sheet)
    assert str(raised.value).startswith(f"{path}: ")
    assert reason in str(raised.value)


def test_an_unknown_suffix_asks_for_a_format(tmp_path: Path) -> None:
    assert_feed_error(write(tmp_path / "roster.txt", ROSTER, "utf-8"), "pass --format")


def test_an_old_xls_workbook_is_told_to_be_saved_as_xlsx_or_csv(tmp_path: Path) -> None:
    path = write(tmp_path / "roster.xls", ROSTER, "utf-8")
    assert_feed_error(path, "an old .xls workbook: save it as .xlsx or CSV first")


def test_a_csv_named_xlsx_is_not_a_workbook_and_says_how_to_save_one(tmp_path: Path) -> None:
    path = write(tmp_path / "roster.xlsx", ROSTER, "gb18030")
    assert_feed_error(path, "is not an xlsx workbook")
    assert_feed_error(path, "save it from the spreadsheet as an Excel workbook (.xlsx), or as CSV")


def test_an_unknown_format_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "roster.csv", ROSTER, "utf-8")
    assert_feed_error(path, "unknown format 'xls': use csv, jsonl or xlsx", "xls")


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    assert_feed_error(tmp_path / "missing.csv", "cannot read: No such file or directory")


def test_a_directory_is_not_a_feed(tmp_path: Path) -> None:
    (tmp_path / "dir.csv").mkdir()
    assert_feed_error(tmp_path / "dir.csv", "cannot read: Is a directory")


def test_bytes_that_are_neither_utf8_nor_gb18030_are_reported_with_their_line(
    tmp_path: Path,
) -> None:
    bad = b"\xff\xfe\xff"
    for encoding in ("utf-8", "gb18030"):
        with pytest.raises(UnicodeDecodeError):
            bad.decode(encoding)
    path = tmp_path / "roster.csv"
    path.write_bytes("会员编号,姓名\r\nM001,张三\r\nM002,".encode("gb18030") + bad + b"\r\n")
    assert_feed_error(path, "line 3: byte 0xFF is neither UTF-8 nor GB18030 text")


def test_a_bom_file_must_be_utf8_throughout(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_bytes(codecs.BOM_UTF8 + "会员编号\r\n".encode() + "张三\r\n".encode("gb18030"))
    assert_feed_error(path, "line 2: byte 0xD5 is not UTF-8, though the file has a UTF-8 BOM")


def test_utf16_text_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_bytes(ROSTER.encode("utf-16"))
    assert_feed_error(path, "is UTF-16 text: save it from the spreadsheet as CSV (UTF-8)")


@pytest.mark.parametrize("content", ["", "\r\n\r\n", ",,\r\n"])
def test_a_csv_without_a_header_is_refused(tmp_path: Path, content: str) -> None:
    path = write(tmp_path / "roster.csv", content, "utf-8")
    assert_feed_error(path, "is empty: a CSV feed starts with a header row")


def test_duplicate_headers_are_named(tmp_path: Path) -> None:
    path = write(tmp_path / "roster.csv", "单位,姓名, 单位 ,姓名,金额\r\n", "gb18030")
    assert_feed_error(path, "line 1: duplicate columns in the header: 单位, 姓名")


def test_unnamed_headers_are_named_by_column(tmp_path: Path) -> None:
    path = write(tmp_path / "roster.csv", "\r\n会员编号,,姓名, \r\n", "utf-8")
    assert_feed_error(path, "line 2: columns without a name in the header: 2, 4")


def test_a_stray_quote_stops_the_import_where_the_record_starts(tmp_path: Path) -> None:
    """Records stream one by one, so the good ones before the broken one arrive first."""
    text = '会员编号,姓名\r\nM001,张三\r\nM002,"李四\r\nM003,王五\r\n'
    path = write(tmp_path / "roster.csv", text, "utf-8")
    rows = read_rows(open_feed(path))
    assert next(rows).line == 2
    with pytest.raises(FeedError, match=r"roster\.csv: line 3: not readable as CSV"):
        next(rows)


def test_rejects_are_never_written_over_the_feed(tmp_path: Path) -> None:
    path = write(tmp_path / "roster.csv", ROSTER, "utf-8")
    feed = open_feed(path)
    with pytest.raises(FeedError, match="is the feed itself"):
        write_rejects(feed, tmp_path / "." / "roster.csv", [])
    assert path.read_bytes() == ROSTER.encode()


def test_a_jsonl_line_nested_too_deeply_is_one_bad_record(tmp_path: Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    feed = open_feed(
        write(tmp_path / "premiums.jsonl", f'{{"会员编号": "M001"}}\n{deep}\n', "utf-8")
    )
    rows = list(read_rows(feed))
    assert rows[1].fields == {ERROR: "not valid JSON: nested too deeply"}


# xlsx workbooks, as Excel and WPS save them

PREMIUM_HEADERS = ("收据号", "会员编号", "金额", "缴费日期", "备注")
DAY_SHOWN_AS_DATE = 'yyyy"年"m"月"d"日"'


def premium_workbook(path: Path) -> Path:
    """Row 1 is blank and the headers are on row 2; row 4 is blank; row 5's date is Excel's
    day number 45663 shown as a date; row 6 has a cell beyond the headers."""
    return write_workbook(
        path,
        [],
        PREMIUM_HEADERS,
        ["P1", 1001, 49.0, date(2025, 1, 6), " 第一 "],
        [],
        ["P2", "M002", "49.00", 45663, None],
        ["P3", "M003", 49.005, "2025/1/6", None, "多余"],
        ["P4", None, 12.3, datetime(2025, 1, 6, 8, 30)],
        formats={"D5": DAY_SHOWN_AS_DATE},
    )


def test_xlsx_rows_keep_their_row_numbers_and_cells_their_types_never_floats(
    tmp_path: Path,
) -> None:
    feed = open_feed(premium_workbook(tmp_path / "premiums.xlsx"))
    assert (feed.format, feed.headers, feed.header_line, feed.sheet) == (
        "xlsx",
        PREMIUM_HEADERS,
        2,
        "Sheet1",
    )
    rows = list(read_rows(feed))

    assert rows == [
        SourceRow(
            3,
            {
                "收据号": "P1",
                "会员编号": 1001,
                "金额": Decimal("49.0"),
                "缴费日期": datetime(2025, 1, 6),
                "备注": "第一",
            },
        ),
        SourceRow(
            5,
            {"收据号": "P2", "会员编号": "M002", "金额": "49.00", "缴费日期": datetime(2025, 1, 6)},
        ),
        SourceRow(
            6,
            {
                "收据号": "P3",
                "会员编号": "M003",
                "金额": Decimal("49.005"),
                "缴费日期": "2025/1/6",
                "备注": None,
                EXTRA: ["多余"],
            },
        ),
        SourceRow(
            7,
            {
                "收据号": "P4",
                "会员编号": None,
                "金额": Decimal("12.3"),
                "缴费日期": datetime(2025, 1, 6, 8, 30),
            },
        ),
    ]
    assert not any(isinstance(v, float) for row in rows for v in row.fields.values())


def test_xlsx_is_read_from_the_sheet_named_else_the_first(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "book.xlsx", ["会员编号"], ["M001"], sheet="一月")
    book = load_workbook(path)
    book.create_sheet("二月").append(["会员编号"])
    book["二月"].append(["M002"])
    book.save(path)

    first, named = open_feed(path), open_feed(path, sheet="二月")

    assert [r.fields for r in read_rows(first)] == [{"会员编号": "M001"}]
    assert [r.fields for r in read_rows(named)] == [{"会员编号": "M002"}]
    assert_feed_error(path, "has no sheet '三月' (sheets: 一月, 二月)", sheet="三月")


def test_a_sheet_is_named_only_for_a_workbook(tmp_path: Path) -> None:
    path = write(tmp_path / "roster.csv", ROSTER, "utf-8")
    assert_feed_error(path, "is not an xlsx workbook: --sheet names a sheet", sheet="Sheet1")


def test_a_sheets_unnamed_headers_are_named_by_column(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "roster.xlsx", ["会员编号", None, "姓名", None])
    assert_feed_error(path, "line 1: columns without a name in the header: 2")


def test_a_damaged_sheet_is_refused_with_the_last_row_read(tmp_path: Path) -> None:
    good = write_workbook(tmp_path / "good.xlsx", ["会员编号"], ["M001"], ["M002"])
    damaged = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(good) as whole, zipfile.ZipFile(damaged, "w") as out:
        for item in whole.infolist():
            data = whole.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b'<row r="3"', b'<row r="3" <<')
            out.writestr(item, data)
    rows = read_rows(open_feed(damaged))
    assert next(rows).line == 2
    with pytest.raises(FeedError, match=r"the sheet is damaged after row 2: save the workbook"):
        next(rows)


def test_an_empty_sheet_is_refused(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "empty.xlsx", [], [None, " "])
    assert_feed_error(path, "sheet 'Sheet1' is empty: a feed starts with a header row")


def test_xlsx_rejects_are_a_workbook_with_the_header_a_reason_and_date_cells(
    tmp_path: Path,
) -> None:
    feed = open_feed(premium_workbook(tmp_path / "premiums.xlsx"))
    rows = {row.line: row for row in read_rows(feed)}
    rejects = tmp_path / "rejects.xlsx"

    assert write_rejects(feed, rejects, [(rows[3], "金额: 未参保"), (rows[6], "多余")]) == 2

    sheet = load_workbook(rejects).active
    assert sheet is not None
    assert [[cell.value for cell in row] for row in sheet.iter_rows()] == [
        [*PREMIUM_HEADERS, "reason", None],
        ["P1", 1001, 49, datetime(2025, 1, 6), "第一", "金额: 未参保", None],
        ["P3", "M003", 49.005, "2025/1/6", None, "多余", "多余"],
    ]
    assert sheet["D2"].is_date and sheet["D2"].number_format == "yyyy-mm-dd"
    reread = open_feed(rejects)
    assert (reread.format, reread.headers) == ("xlsx", (*PREMIUM_HEADERS, REASON))
    assert next(read_rows(reread)) == SourceRow(2, {**rows[3].fields, REASON: "金额: 未参保"})


@pytest.mark.parametrize(
    ("feed_name", "rejects_name"), [("p.xlsx", "bad.csv"), ("p.csv", "bad.xlsx")]
)
def test_rejects_are_written_in_the_feeds_format_and_must_be_named_so(
    tmp_path: Path, feed_name: str, rejects_name: str
) -> None:
    if feed_name.endswith(".xlsx"):
        path = premium_workbook(tmp_path / feed_name)
    else:
        path = write(tmp_path / feed_name, ROSTER, "utf-8")
    feed = open_feed(path)
    with pytest.raises(
        FeedError, match=f"rejects are written in the feed.s format, {feed.format}: name the file"
    ):
        write_rejects(feed, tmp_path / rejects_name, [(next(read_rows(feed)), "x")])
    assert not (tmp_path / rejects_name).exists()


@given(st.text(max_size=20))
def test_no_exported_cell_begins_a_formula_but_a_number(text: str) -> None:
    cell = spreadsheet_cell(text)
    assert isinstance(cell, str)
    if cell != text:
        assert cell == "'" + text  # the text itself is kept, after the apostrophe
    assert not cell.startswith(FORMULA_START) or PLAIN_NUMBER.fullmatch(cell)


def test_numbers_and_amounts_stay_as_they_are() -> None:
    assert [spreadsheet_cell(v) for v in (-716, "-716.92", "+3", "12", None)] == [
        -716, "-716.92", "+3", "12", None
    ]  # fmt: skip
    assert spreadsheet_cell("=1+1") == "'=1+1" and spreadsheet_cell("-1+1") == "'-1+1"


def test_a_file_mixing_utf8_and_gb18030_lines_is_refused_naming_the_line(tmp_path: Path) -> None:
    """Read as GB18030 (the one encoding both decode in), the UTF-8 lines would come in as
    mojibake: 平湖玻璃 as 骞虫箹鐜荤拑."""
    path = tmp_path / "roster.csv"
    path.write_bytes(
        "会员编号,姓名,单位\r\nM001,张三,平湖玻璃\r\n".encode()
        + "M002,李四,嘉兴纺织\r\n".encode("gb18030")
    )
    assert "平湖玻璃".encode().decode("gb18030") == "骞虫箹鐜荤拑"
    with pytest.raises(FeedError) as raised:
        open_feed(path)
    assert str(raised.value).startswith(
        f"{path}: line 3: mixes encodings: line 1 is UTF-8 text, this line is not (byte 0x"
    )
