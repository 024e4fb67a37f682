"""A document as an XLSX workbook: a first sheet saying what it is and where in the log it
comes from, then one sheet per table. Figures are numbers, not text: money in yuan with
two places, counts as integers, ratios as percentages, so they can be added up; dates are
date cells, so they sort and filter as dates."""

import io
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from ledger.application.files import spreadsheet_cell, spreadsheet_row
from ledger.reports.render.document import AMOUNTS_IN, Cell, Document, Percent, Table

MONEY = "#,##0.00"
COUNT = "#,##0"
RATIO = "0.0%"
DATE = "yyyy-mm-dd"
HEADING = Font(bold=True)
HEADING_FILL = PatternFill("solid", fgColor="E2E9F1")


def write(document: Document, path: Path) -> None:
    book = Workbook()
    about = book.active
    assert about is not None
    about.title = "About"
    for line in (document.title, document.subtitle, AMOUNTS_IN, "", *document.provenance):
        about.append([spreadsheet_cell(line)])
    about["A1"].font = Font(bold=True, size=14)
    about.column_dimensions["A"].width = 110
    keys = {"About"}
    for section in document.sections:
        if section.table is None:
            continue
        key = _sheet_name(section.table.key, keys)
        keys.add(key)
        lines = (*section.lines, AMOUNTS_IN)
        _sheet(book.create_sheet(key), section.title, lines, section.table)
    book.properties.title = document.title
    book.properties.creator = "mutual-aid-ledger"
    moment = document.moment.replace(tzinfo=None)
    book.properties.created = book.properties.modified = moment
    book.properties.lastModifiedBy = "mutual-aid-ledger"
    written = io.BytesIO()
    # What Workbook.save does, except setting the modified time to now.
    ExcelWriter(book, zipfile.ZipFile(written, "w", zipfile.ZIP_DEFLATED)).save()
    path.write_bytes(_stamped(written.getvalue(), moment))


def _stamped(workbook: bytes, moment: datetime) -> bytes:
    """The same workbook with every part dated `moment`, the time of the log position it
    reports at, instead of the time it was written: the same document gives the same bytes."""
    stamped = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(workbook)) as source,
        zipfile.ZipFile(stamped, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for part in source.infolist():
            info = zipfile.ZipInfo(part.filename, moment.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, whatever the platform writing it
            info.external_attr = 0o644 << 16
            target.writestr(info, source.read(part))
    return stamped.getvalue()


def _sheet_name(key: str, taken: set[str]) -> str:
    name, n = key[:31], 2
    while name in taken:
        name = f"{key[:28]} {n}"
        n += 1
    return name


def _sheet(sheet: Worksheet, title: str, lines: tuple[str, ...], table: Table) -> None:
    sheet.append([spreadsheet_cell(title)])
    sheet["A1"].font = Font(bold=True, size=12)
    for line in lines:
        sheet.append([spreadsheet_cell(line)])
    sheet.append(spreadsheet_row(table.columns))
    header = sheet.max_row
    for cell in sheet[header]:
        cell.font = HEADING
        cell.fill = HEADING_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    if not table.rows:
        sheet.append([table.empty])
    for row in table.rows:
        sheet.append([_value(c) for c in row])
        for written, value in zip(sheet[sheet.max_row], row, strict=True):
            if isinstance(value, Percent):
                written.number_format = RATIO
            elif isinstance(value, date):
                written.number_format = DATE
            elif isinstance(value, Decimal):
                written.number_format = MONEY
            elif isinstance(value, int):
                written.number_format = COUNT
    sheet.freeze_panes = f"A{header + 1}"
    for i, column in enumerate(table.columns, start=1):
        longest = max([len(column) // 2, *(len(str(_value(r[i - 1]) or "")) for r in table.rows)])
        sheet.column_dimensions[get_column_letter(i)].width = min(max(longest + 4, 10), 48)


def _value(cell: Cell) -> str | int | Decimal | date | None:
    """Money and counts as numbers; a ratio as the fraction a percentage format shows; a
    text a spreadsheet would take for a formula, neutralised."""
    if isinstance(cell, Percent):
        return cell.value / 100
    if isinstance(cell, str):
        return str(spreadsheet_cell(cell))
    return cell
