"""Feed files exported from Chinese spreadsheets: CSV and JSON Lines, in UTF-8 or GB18030,
and xlsx workbooks.

Reading never loses where a record came from (its line, or a sheet's row), and rejected
records go back out in the file's own format and encoding, so a clerk can fix them in the
same spreadsheet.
"""

import codecs
import csv
import json
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Literal, NoReturn, TextIO
from xml.etree.ElementTree import ParseError

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from domain.errors import LedgerError

Format = Literal["csv", "jsonl", "xlsx"]

REASON = "reason"
"""The column (CSV) or key (JSONL) that write_rejects adds; importers must ignore it."""
EXTRA = "__extra__"
"""Holds the cells of a CSV record beyond its headers, so the importer can reject it."""
ERROR = "__error__"
"""Holds why a JSONL line is not a JSON object, so the importer can reject just that line."""
LINE = "__line__"
"""Stands in a JSONL reject for the original line, which could not be kept."""

FORMATS: dict[str, Format] = {"csv": "csv", "jsonl": "jsonl", "xlsx": "xlsx"}
SUFFIXES: dict[str, Format] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".xlsx": "xlsx",
}
DAMAGED = (zipfile.BadZipFile, zlib.error, EOFError, KeyError, ParseError)
"""What openpyxl raises on a workbook whose zip or XML is broken (a part missing included)."""
NOT_A_WORKBOOK = (
    "is not an xlsx workbook (an old .xls, a workbook with a password, or another file "
    "renamed?): save it from the spreadsheet as an Excel workbook (.xlsx), or as CSV"
)


class FeedError(LedgerError):
    """A feed file that cannot be read (or a rejects file written) at all: nothing was imported."""

    def __init__(self, path: Path, reason: str, line: int | None = None) -> None:
        self.path, self.reason, self.line = path, reason, line
        where = f"{path}: line {line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class SourceRow:
    """One record as found in the feed, with the line it starts on for the clerk to look up."""

    line: int
    fields: dict[str, object]


@dataclass(frozen=True)
class FeedFile:
    path: Path
    format: Format
    encoding: str
    """Of a text feed; a workbook's parts are XML in UTF-8."""
    headers: tuple[str, ...]
    header_line: int = 0
    """The line (a sheet's row) of the headers; 0 in JSON Lines, which has none."""
    sheet: str | None = None
    """The worksheet an xlsx feed is read from."""


def open_feed(path: Path, format: str | None = None, sheet: str | None = None) -> FeedFile:
    """Checks that the file can be read at all, before any record is imported from it.
    A workbook is read from its first sheet, or from `sheet`."""
    kind = _format_of(path, format)
    if sheet is not None and kind != "xlsx":
        raise FeedError(path, "is not an xlsx workbook: --sheet names a sheet of a workbook")
    if kind == "xlsx":
        with _workbook(path) as book:
            worksheet = _worksheet(path, book, sheet)
            header = next(_sheet_records(path, worksheet), None)
        if header is None:
            raise FeedError(
                path, f"sheet {worksheet.title!r} is empty: a feed starts with a header row"
            )
        line, cells = header
        headers = _checked_headers(path, line, ["" if c is None else str(c) for c in cells])
        return FeedFile(path, kind, "utf-8", headers, line, worksheet.title)
    encoding = _detect_encoding(path)
    if kind == "jsonl":
        return FeedFile(path, kind, encoding, ())
    with _open_text(path, encoding) as text:
        first = next(_csv_records(path, text), None)
    if first is None:
        raise FeedError(path, "is empty: a CSV feed starts with a header row")
    return FeedFile(path, kind, encoding, _checked_headers(path, *first), first[0])


def read_rows(feed: FeedFile) -> Iterator[SourceRow]:
    """Streams the records, so a feed of any size is imported in constant memory."""
    if feed.format == "xlsx":
        with _workbook(feed.path) as book:
            records = _sheet_records(feed.path, _worksheet(feed.path, book, feed.sheet))
            next(records, None)  # the header, checked by open_feed
            for line, cells in records:
                yield SourceRow(line, _fields(feed.headers, cells))
        return
    with _open_text(feed.path, feed.encoding) as text:
        if feed.format == "jsonl":
            for line, raw in enumerate(text, 1):
                if raw.strip():
                    yield SourceRow(line, _json_fields(raw))
            return
        rows = _csv_records(feed.path, text)
        next(rows, None)  # the header, checked by open_feed
        for line, texts in rows:
            yield SourceRow(line, _fields(feed.headers, texts))


def _fields(headers: tuple[str, ...], cells: list[str] | list[object]) -> dict[str, object]:
    """The cells under their headers; those beyond the headers kept apart, to be rejected."""
    fields: dict[str, object] = dict(zip(headers, cells, strict=False))
    if len(cells) > len(headers):
        fields[EXTRA] = cells[len(headers) :]
    return fields


def write_rejects(feed: FeedFile, path: Path, rejects: Iterable[tuple[SourceRow, str]]) -> int:
    """Writes the rejected records in the feed's format and encoding, each with its reason.

    CSV: the feed's headers plus a `reason` column (an existing one is overwritten); the
    cells beyond the headers of a record that had too many follow the reason, so none is
    lost. JSONL: each object plus a `reason` key, amounts with their digits as read. A
    JSONL line that was not a JSON object cannot be written back from its fields, so it
    becomes {"__line__": <its line in the feed>, "reason": ...}. xlsx: a workbook laid out
    as the CSV, its cells as read (dates as date cells), at a path ending in .xlsx. No
    path may name another format by its suffix: CSV written into `bad.xlsx` is no workbook.
    Returns how many records were written.
    """
    check_rejects_path(feed, path)
    if feed.format == "xlsx":
        return _write_xlsx_rejects(feed, path, rejects)
    # A JSON string may hold an escaped lone surrogate, which no encoding can write:
    # backslashreplace writes it as the same JSON escape again.
    errors = "backslashreplace" if feed.format == "jsonl" else "strict"
    try:
        out = path.open("w", encoding=feed.encoding, errors=errors, newline="")
    except OSError as e:
        raise FeedError(path, f"cannot write: {e.strerror}") from None
    written = 0
    with out:
        if feed.format == "csv":
            written = _write_csv_rejects(feed.headers, out, rejects)
        else:
            for row, reason in rejects:
                original = {LINE: row.line} if ERROR in row.fields else row.fields
                out.write(_json_text({**original, REASON: reason}) + "\n")
                written += 1
    return written


def check_rejects_path(feed: FeedFile, path: Path) -> None:
    """Refuses a rejects file that would overwrite the feed, or that its suffix names in
    another format; called before the feed is read, so that no time is lost on it."""
    if path.resolve() == feed.path.resolve():
        raise FeedError(path, "is the feed itself: write the rejects to another file")
    named = SUFFIXES.get(path.suffix.lower())
    if (named or feed.format) != feed.format or (feed.format == "xlsx" and named is None):
        suffix = next(s for s, f in SUFFIXES.items() if f == feed.format)
        raise FeedError(
            path, f"rejects are written in the feed's format, {feed.format}: name the file {suffix}"
        )


def _format_of(path: Path, format: str | None) -> Format:
    if format is not None:
        if format not in FORMATS:
            raise FeedError(path, f"unknown format {format!r}: use csv, jsonl or xlsx")
        return FORMATS[format]
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise FeedError(
            path,
            f"cannot tell the format from the suffix {suffix!r}: pass --format csv, jsonl or "
            "xlsx"
            + (
                " (an old .xls workbook: save it as .xlsx or CSV first)" if suffix == ".xls" else ""
            ),
        )
    return SUFFIXES[suffix]


def _detect_encoding(path: Path) -> str:
    """Spreadsheets on Chinese Windows save "CSV" in GB18030 (GBK), elsewhere in UTF-8,
    Excel's "CSV UTF-8" with a BOM. UTF-8 is tried first: UTF-8 Chinese often also decodes
    as GB18030, as mojibake, while GB18030 Chinese is almost never valid UTF-8."""
    try:
        with path.open("rb") as raw:
            head = raw.read(len(codecs.BOM_UTF8))
    except OSError as e:
        raise FeedError(path, f"cannot read: {e.strerror}") from None
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FeedError(path, "is UTF-16 text: save it from the spreadsheet as CSV (UTF-8)")
    if head == codecs.BOM_UTF8:
        bad = _first_undecodable(path, "utf-8")
        if bad is not None:
            line, byte = bad
            raise FeedError(
                path, f"byte {byte} is not UTF-8, though the file has a UTF-8 BOM", line
            )
        return "utf-8-sig"
    not_utf8 = _first_undecodable(path, "utf-8")
    if not_utf8 is None:
        return "utf-8"
    bad = _first_undecodable(path, "gb18030")
    if bad is not None:
        line, byte = bad
        raise FeedError(path, f"byte {byte} is neither UTF-8 nor GB18030 text", line)
    utf8 = _first_utf8_chinese(path)
    if utf8 is not None:
        line, byte = not_utf8
        raise FeedError(
            path,
            f"mixes encodings: line {utf8} is UTF-8 text, this line is not (byte {byte}); read "
            "as GB18030 the UTF-8 lines would be garbled: save the whole file again in one "
            "encoding, UTF-8",
            line,
        )
    return "gb18030"


def _first_utf8_chinese(path: Path) -> int | None:
    """The first line that is UTF-8 with characters of three bytes or more (Chinese is):
    in a GB18030 file such a line is almost never there by chance, as GB18030 Chinese is
    almost never valid UTF-8; in a file otherwise GB18030 it is a line saved in UTF-8."""
    with path.open("rb") as raw:
        for line, data in enumerate(raw, 1):
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                continue
            if any(ord(c) >= 0x800 for c in text):
                return line
    return None


def _first_undecodable(path: Path, encoding: str) -> tuple[int, str] | None:
    """The line and byte where decoding fails. Decoding line by line is exact: in neither
    UTF-8 nor GB18030 can a newline byte be part of a multi-byte character."""
    with path.open("rb") as raw:
        for line, data in enumerate(raw, 1):
            try:
                data.decode(encoding)
            except UnicodeDecodeError as e:
                return line, f"0x{data[e.start]:02X}"
    return None


def _open_text(path: Path, encoding: str) -> TextIO:
    try:
        return path.open(encoding=encoding, newline="")
    except OSError as e:
        raise FeedError(path, f"cannot read: {e.strerror}") from None


def _csv_records(path: Path, text: TextIO) -> Iterator[tuple[int, list[str]]]:
    """The non-blank records, cells stripped, each with the line it starts on. Strict
    quoting: a stray quote would otherwise swallow every later record into one cell."""
    reader = csv.reader(text, dialect="excel", strict=True)
    start = 1
    try:
        for cells in reader:
            stripped = [cell.strip() for cell in cells]
            if any(stripped):
                yield start, stripped
            start = reader.line_num + 1
    except csv.Error as e:
        raise FeedError(path, f"not readable as CSV: {e}", start) from None


def _checked_headers(path: Path, line: int, cells: list[str]) -> tuple[str, ...]:
    unnamed = [str(column) for column, name in enumerate(cells, 1) if not name]
    if unnamed:
        raise FeedError(path, f"columns without a name in the header: {', '.join(unnamed)}", line)
    duplicated = list(dict.fromkeys(name for name in cells if cells.count(name) > 1))
    if duplicated:
        raise FeedError(path, f"duplicate columns in the header: {', '.join(duplicated)}", line)
    return tuple(cells)


def _json_fields(raw: str) -> dict[str, object]:
    try:
        data: object = json.loads(raw, parse_float=Decimal, parse_constant=_not_a_number)
    except json.JSONDecodeError as e:
        return {ERROR: f"not valid JSON: {e.msg} at column {e.colno}"}
    except ValueError as e:
        return {ERROR: f"not valid JSON: {e}"}
    except RecursionError:
        return {ERROR: "not valid JSON: nested too deeply"}
    if not isinstance(data, dict):
        return {ERROR: "not a JSON object"}
    return data


def _not_a_number(name: str) -> NoReturn:
    """NaN and Infinity are not JSON, and json.loads would make them floats."""
    raise ValueError(f"{name} is not a number")


def _write_csv_rejects(
    headers: tuple[str, ...], out: TextIO, rejects: Iterable[tuple[SourceRow, str]]
) -> int:
    writer = csv.writer(out, dialect="excel")
    writer.writerow(spreadsheet_row(_reject_headers(headers)))
    written = 0
    for row, reason in rejects:
        writer.writerow(spreadsheet_row(_reject_cells(headers, row, reason)))
        written += 1
    return written


def _write_xlsx_rejects(
    feed: FeedFile, path: Path, rejects: Iterable[tuple[SourceRow, str]]
) -> int:
    """A workbook of one sheet, named as the feed's, its dates written as date cells again."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(feed.sheet)
    sheet.append(spreadsheet_row(_reject_headers(feed.headers)))
    written = 0
    for row, reason in rejects:
        cells = spreadsheet_row(_reject_cells(feed.headers, row, reason))
        sheet.append([_written_cell(sheet, cell) for cell in cells])
        written += 1
    try:
        book.save(path)
    except OSError as e:
        raise FeedError(path, f"cannot write: {e.strerror}") from None
    return written


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet takes a cell beginning with for a formula: a name `=cmd|' /C calc'!A0`
in a bank file or a rejects file would run when a clerk opened it."""
PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def spreadsheet_cell(value: object) -> object:
    """A cell of an exported file (CSV or XLSX), a text a spreadsheet would take for a
    formula neutralised by a leading apostrophe, as spreadsheets themselves write one; a
    number, and a text that is only a number (an amount of -716.92), as it is."""
    formula = isinstance(value, str) and value.startswith(FORMULA_START)
    if formula and not PLAIN_NUMBER.fullmatch(str(value)):
        return f"'{value}"
    return value


def spreadsheet_row(cells: Iterable[object]) -> list[object]:
    return [spreadsheet_cell(c) for c in cells]


def _reject_headers(headers: tuple[str, ...]) -> tuple[str, ...]:
    return headers if REASON in headers else (*headers, REASON)


def _reject_cells(headers: tuple[str, ...], row: SourceRow, reason: str) -> list[object]:
    """The record's cells under the headers, the reason in its column, and any cells beyond
    the headers after it."""
    cells = [reason if name == REASON else row.fields.get(name, "") for name in headers]
    if REASON not in headers:
        cells.append(reason)
    extra = row.fields.get(EXTRA)
    if isinstance(extra, list):
        cells.extend(extra)
    return cells


def _written_cell(sheet: WriteOnlyWorksheet, value: object) -> object:
    if not isinstance(value, datetime):
        return value
    cell = WriteOnlyCell(sheet, value)
    cell.number_format = "yyyy-mm-dd" if value.time() == time() else "yyyy-mm-dd hh:mm"
    return cell


@contextmanager
def _workbook(path: Path) -> Iterator[Workbook]:
    """A workbook opened to stream its rows (read-only), with the values its formulas had
    when it was last saved."""
    try:
        raw = path.open("rb")
    except OSError as e:
        raise FeedError(path, f"cannot read: {e.strerror}") from None
    with raw:
        try:
            book = load_workbook(raw, read_only=True, data_only=True)
        except (*DAMAGED, InvalidFileException, ValueError):
            raise FeedError(path, NOT_A_WORKBOOK) from None
        try:
            yield book
        finally:
            book.close()


def _worksheet(path: Path, book: Workbook, name: str | None) -> ReadOnlyWorksheet:
    sheets = {
        sheet.title: sheet for sheet in book.worksheets if isinstance(sheet, ReadOnlyWorksheet)
    }
    if not sheets:
        raise FeedError(path, "has no worksheet")
    if name is None:
        return next(iter(sheets.values()))
    if name not in sheets:
        raise FeedError(path, f"has no sheet {name!r} (sheets: {', '.join(sheets)})")
    return sheets[name]


def _sheet_records(path: Path, sheet: ReadOnlyWorksheet) -> Iterator[tuple[int, list[object]]]:
    """The non-blank rows, with their row numbers, and their cells as the feeds' values:
    text stripped, whole numbers as int, other numbers as the Decimal of their shortest
    repr (never a float: 12.3 stays 12.3), date cells as datetime."""
    sheet.reset_dimensions()  # some writers state a wrong size: read every cell there is
    line = 0
    try:
        for line, values in enumerate(sheet.values, 1):
            cells = [_cell_value(value) for value in values]
            while cells and cells[-1] in (None, ""):
                cells.pop()
            if cells:
                yield line, cells
    except DAMAGED:
        raise FeedError(
            path, f"the sheet is damaged after row {line}: save the workbook again (.xlsx)"
        ) from None


EXCEL_DIGITS = 15
"""Excel keeps a number to 15 significant digits: a longer one (a bank card number typed
into a number cell) has lost its last digits before it reaches us."""


def _cell_value(value: object) -> object:
    """A whole number too long for Excel to have kept is given as a Decimal, never as an
    int: an id or account column refuses it (format the column as text), where an int
    would pass for its digits."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**EXCEL_DIGITS:
        return Decimal(value)
    return value


def _json_text(value: object) -> str:
    """As json.dumps, but a Decimal keeps its digits: 12.30 is written 12.30, not "12.30"."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        members = (
            f"{json.dumps(k, ensure_ascii=False)}: {_json_text(v)}" for k, v in value.items()
        )
        return "{" + ", ".join(members) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_json_text(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)
