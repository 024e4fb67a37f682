"""Feed records: the readings records.py remembers (of dates and premiums) change nothing.
For any rows, good and bad mixed, validation gives the same records and the same rejects
(line, field, value and reason, in order) whether every text is read anew or found among
those read in earlier rows."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.application import records
from ledger.application.feeds import Reject, _aliases, _parse
from ledger.application.files import ERROR, EXTRA, SourceRow
from ledger.application.records import RECORDS, Record

SPREADSHEET_CELLS = st.sampled_from(
    [
        *(None, 0, 1, 45_000, 86_400, True, 12.5),
        *(Decimal("2"), Decimal("1E+20"), Decimal("49.000")),
        *(date(2025, 3, 1), datetime(2025, 3, 1), datetime(2025, 3, 1, 9, 30)),
    ]
)
"""What a workbook or JSON Lines cell may hold besides text."""
GOOD: dict[str, list[object]] = {
    "day": [
        *("2025-03-01", " 2025-03-01 ", "2025/3/1", "2025.3.1", "20250301", "2025年3月1日"),
        *(date(2025, 3, 1), datetime(2025, 3, 1)),
    ],
    "amount": ["49.00", "1.00", "1", "49", " 1,234.50 ", "0.5", "12345.67", 1, Decimal("1")],
    "period": ["1", " 2 ", 1, Decimal("1")],
    "status": ["成功", "已支付", "退回", "失败", "paid", "returned"],
    "text": ["M1", "M2", "C1", "U1", "王五", "1", 7],
}
BAD: dict[str, list[object]] = {
    "day": [
        *("2025-3-1", "2025-02-30", "2025-03-01 10:00", "2025-03-01T00:00", "45000", "-3"),
        "\uff12\uff10\uff12\uff15-03-01",
        *(datetime(2025, 3, 1, 9, 30), 45_000),
    ],
    "amount": [
        *("0", "0.00", "-1.00", "1.234", "nan", "1e3", "abc", True, 1.0, Decimal("1.000")),
        *("\uff11\uff12", "\u0661\u0662"),  # full-width and Arabic-Indic digits
    ],
    "period": ["0", "1.5", "-1", "一", "+1", "0_1", "1.0", "\uff11", "\u0663"],
    "status": ["ok", "成 功"],
    "text": [" M1 ", "a\x07b", "  ", "M1\u200b", "M" * 3000],
}
"""Cells of each kind of column, good and bad, drawn from few values so that rows repeat
them: text, and cells equal to a text's reading that are read otherwise (1.0 and True are
equal to 1, but refused)."""
ANY_CELL = st.sampled_from([v for cells in (*GOOD.values(), *BAD.values()) for v in cells])
COLUMN_KINDS = {"amount": "amount", "total_cost": "amount", "insurance_paid": "amount"}
COLUMN_KINDS |= {"eligible_self_paid": "amount", "period": "period", "status": "status"}


@st.composite
def cell(draw: st.DrawFn, column: str) -> object:
    """Mostly a good cell of the column's kind; else a bad one, a cell of another kind, a
    workbook's or JSON's cell, or blank."""
    kind = "day" if column.endswith("_on") else COLUMN_KINDS.get(column, "text")
    chance = draw(st.integers(0, 29))
    if chance < 25:
        return draw(st.sampled_from(GOOD[kind]))
    if chance < 27:
        return draw(st.sampled_from(BAD[kind]))
    if chance == 27:
        return draw(ANY_CELL)
    if chance == 28:
        return draw(SPREADSHEET_CELLS)
    return draw(st.sampled_from([None, ""]))


@st.composite
def rows(draw: st.DrawFn, model: type[Record]) -> dict[str, object]:
    """A row under any of the headers of each column, any column missing now and then, its
    cells drawn from values that repeat, good and bad; now and then a row read badly."""
    fields: dict[str, object] = {}
    for name in model.model_fields:
        if draw(st.integers(0, 49)) == 0:
            continue
        fields[draw(st.sampled_from(_aliases(model, name)))] = draw(cell(name))
    trouble = draw(st.integers(0, 19))
    if trouble == 0:
        fields[EXTRA] = ["more"]
    elif trouble == 1:
        fields = {ERROR: "not valid JSON: Expecting value at column 1"}
    return fields


@st.composite
def feeds(draw: st.DrawFn) -> tuple[type[Record], list[SourceRow]]:
    model = draw(st.sampled_from(list(RECORDS.values())))
    drawn = draw(st.lists(rows(model), max_size=30))
    return model, [SourceRow(line, fields) for line, fields in enumerate(drawn, start=2)]


@contextmanager
def reading_anew() -> Iterator[None]:
    """The remembered readings swapped for the functions they remember."""
    with (
        mock.patch.object(records, "_day_of_text", records._day_of_text.__wrapped__),
        mock.patch.object(records, "_premium_of_text", records._premium_of_text.__wrapped__),
    ):
        yield


def shown(parsed: list[Record | Reject]) -> list[str]:
    """Each record or reject with every value as its repr shows it: Decimal('1.00') and
    Decimal('1.0') are equal, but not the same amount recorded."""
    return [f"{type(result).__name__}: {result!r}" for result in parsed]


@given(feeds())
@settings(max_examples=300, deadline=None)
def test_remembered_readings_validate_as_reading_every_text_anew(
    feed: tuple[type[Record], list[SourceRow]],
) -> None:
    model, feed_rows = feed
    with reading_anew():
        anew = [_parse(row, model) for row in feed_rows]
    first = [_parse(row, model) for row in feed_rows]
    again = [_parse(row, model) for row in reversed(feed_rows)][::-1]
    assert shown(first) == shown(anew)
    assert shown(again) == shown(anew)


def test_every_bad_cell_of_a_premium_line_is_refused_under_its_column() -> None:
    """A premium line good but for one cell is refused naming that cell's column: full-width
    and Arabic-Indic digits, a period +1, 0_1, 1.0 or 0, an id with a zero-width space or in
    full-width letters, a field of thousands of characters."""
    good = {"receipt": "R1", "member_id": "M1", "period": "1", "source": "worker",
            "amount": "1.00", "paid_on": "2025-03-01"}  # fmt: skip
    bad = {
        "amount": ["\uff11\uff12", "\u0661\u0662", "1\u200b"],
        "period": ["+1", "0_1", "1.0", "0", "\uff11", "\u0663"],
        "member_id": ["M1\u200b", "M1\u2060", "\ufeffM1", "M" * 3000],
        "receipt": ["R1\u200e"],
        "paid_on": ["\uff12\uff10\uff12\uff15-03-01", "2025-03-01T00:00"],
    }
    for column, cells in bad.items():
        for cell in cells:
            parsed = _parse(SourceRow(2, {**good, column: cell}), RECORDS["premiums"])
            assert isinstance(parsed, Reject) and parsed.field == column, (column, cell, parsed)
    assert not isinstance(_parse(SourceRow(2, good), RECORDS["premiums"]), Reject)
