"""Feed files as a clerk's spreadsheet saves them, for the import tests of every layer."""

from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook

ROSTER_HEADER = "名册行号,会员编号,姓名,期次,区县,单位,人员类别,参保日期"
CLAIM_HEADER = (
    "settlement_no,member_id,admitted_on,discharged_on,total_cost,insurance_paid,eligible_self_paid"
)


def write_feed(path: Path, *lines: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def claim(number: str, member: str, eligible: str, discharged: str = "2025-03-10") -> str:
    """A settlement line whose figures add up: insurance paid 5,000 of the total cost."""
    total = Decimal(eligible) + 5000
    return f"{number},{member},2025-03-01,{discharged},{total},5000.00,{eligible}"


def write_workbook(
    path: Path, *rows: Sequence[object], sheet: str = "Sheet1", formats: Mapping[str, str] = {}
) -> Path:
    """An xlsx workbook as a clerk's spreadsheet saves it: a sheet of rows, each cell typed as
    given (text, int, float, date, datetime; an empty row is blank), and number formats by
    cell, such as {"D5": 'yyyy"年"m"月"d"日"'} for a day number shown as a date."""
    book = Workbook()
    worksheet = book.active
    assert worksheet is not None
    worksheet.title = sheet
    for row in rows:
        worksheet.append(list(row))
    for cell, number_format in formats.items():
        worksheet[cell].number_format = number_format
    book.save(path)
    return path
