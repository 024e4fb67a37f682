"""Feeds fuzzed at volume: over 10,000 malformed records of every kind (wrong types, huge and
negative amounts, NaN and infinities, full-width digits, direction and zero-width
characters, control characters, very long fields, impossible dates, truncated lines), as
CSV and as JSON Lines, each beside good records. Each bad one is rejected with its line,
field and reason; nothing is applied under the all-or-nothing default; no traceback. Then
the faults of a whole file: duplicate headers, mixed encodings, a quote never closed, a
truncated JSON line, each refused in one line naming where."""

import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from feed_files import write_feed
from ledger_feeds import PREMIUM_HEADER, importer

from ledger.application.books import Books
from ledger.application.feeds import ImportRefused, import_feed
from ledger.application.files import FeedError

PER_KIND = 2_600
"""Bad records of each of the four kinds: 10,400 in all, in each format."""

BAD_TEXT = [
    "\u200bM1",  # zero-width space
    "M\u202e1",  # right-to-left override
    "M\x001",  # NUL
    "M\x07",  # a control character
    "\uff2d\uff11",  # full-width M1
    "x" * 3000,  # past the length limit
    "",
]
FULL_WIDTH_99 = "\uff19\uff19.\uff10\uff10"
ARABIC_INDIC_123 = "\u0661\u0662\u0663"
BAD_AMOUNT = ["NaN", "Infinity", "-Infinity", "-50.00", "1e400", FULL_WIDTH_99, "12.345",
              "1" * 400, "abc", "0x10", ARABIC_INDIC_123, "50.00\u200b"]  # fmt: skip
BAD_DATE = ["2025-02-30", "2025-13-01", "0000-01-01", "\uff12\uff10\uff12\uff15-01-06",
            "2025-01-06T10:00", "yesterday", "2025/02/29", "99999-01-01"]  # fmt: skip
BAD_PERIOD = ["0", "-1", "1.0", "+1", "0_1", "\uff11", "NaN", "9" * 40, "true"]


def bad_rows(kind: str, rng: random.Random) -> list[dict[str, str]]:
    """PER_KIND records of `kind`, each with one field made bad, the others good."""
    good: dict[str, Callable[[int], dict[str, str]]] = {
        "enrolments": lambda n: {"roster_line": f"R{n}", "member_id": f"F{n:06d}", "period": "1",
                                 "county": "C1", "unit": "U1", "enrolled_on": "2025-01-06"},
        "premiums": lambda n: {"receipt": f"P{n}", "member_id": "m1", "period": "1",
                               "source": "worker", "amount": "1.00", "paid_on": "2025-01-06"},
        "claims": lambda n: {"settlement_no": f"S{n}", "member_id": "m1",
                             "admitted_on": "2025-03-01", "discharged_on": "2025-03-10",
                             "total_cost": "7000.00", "insurance_paid": "5000.00",
                             "eligible_self_paid": "2000.00"},
        "payout-results": lambda n: {"bank_reference": f"NO-SUCH-{n}", "status": "paid",
                                     "return_reason": "", "reported_on": "2025-07-05"},
    }  # fmt: skip
    spoil: dict[str, list[tuple[str, list[str]]]] = {
        "enrolments": [("member_id", BAD_TEXT), ("period", BAD_PERIOD),
                       ("enrolled_on", BAD_DATE), ("county", [*BAD_TEXT, "C9"])],
        "premiums": [("amount", BAD_AMOUNT), ("period", BAD_PERIOD), ("paid_on", BAD_DATE),
                     ("source", ["nobody", "", "union:"]), ("receipt", BAD_TEXT)],
        "claims": [("total_cost", BAD_AMOUNT), ("eligible_self_paid", BAD_AMOUNT),
                   ("discharged_on", BAD_DATE), ("settlement_no", BAD_TEXT)],
        "payout-results": [("bank_reference", BAD_TEXT), ("reported_on", BAD_DATE),
                           ("status", ["maybe", "", "PAID\u200b"])],
    }  # fmt: skip
    rows = []
    for n in range(PER_KIND):
        row = good[kind](n)
        column, values = rng.choice(spoil[kind])
        row[column] = rng.choice(values)
        rows.append(row)
    return rows


def csv_file(path: Path, rows: list[dict[str, str]], rng: random.Random) -> Path:
    """CSV, one line in twenty truncated after its second cell."""
    header = list(rows[0])
    lines = [",".join(header)]
    for row in rows:
        cells = [f'"{row[c].replace(chr(34), chr(34) * 2)}"' for c in header]
        lines.append(",".join(cells[:2] if rng.random() < 0.05 else cells))
    return write_feed(path, *lines)


def jsonl_file(path: Path, rows: list[dict[str, str]], rng: random.Random) -> Path:
    """JSON Lines with the wrong JSON types too: numbers for text, NaN and infinities as
    JSON's non-standard literals, lists, nulls."""
    lines = []
    for row in rows:
        record: dict[str, object] = dict(row)
        twist = rng.random()
        if twist < 0.1:
            record[next(iter(row))] = [1, 2]
        elif twist < 0.2:
            record[next(iter(row))] = None
        lines.append(json.dumps(record, ensure_ascii=False, allow_nan=True))
    lines = [line.replace('"NaN"', "NaN").replace('"Infinity"', "Infinity") for line in lines]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("kind", ["enrolments", "premiums", "claims", "payout-results"])
@pytest.mark.parametrize("format", ["csv", "jsonl"])
def test_thousands_of_malformed_records_are_each_rejected_and_nothing_applied(
    books: Books, enrol: Callable[..., None], tmp_path: Path, kind: str, format: str
) -> None:
    enrol("m1")
    rng = random.Random(f"{kind}-{format}")
    rows = bad_rows(kind, rng)
    path = tmp_path / f"{kind}.{format}"
    feed = csv_file(path, rows, rng) if format == "csv" else jsonl_file(path, rows, rng)
    before = books.app.recorder.max_notification_id(), books.report()
    with pytest.raises(ImportRefused) as refused:
        import_feed(books, kind, feed, importer(kind), received_on=None)
    summary = refused.value.summary
    assert summary.rejected == PER_KIND == summary.read
    first = 2 if format == "csv" else 1
    assert sorted(r.line for r in summary.rejects) == list(range(first, first + PER_KIND))
    for reject in summary.rejects:
        assert reject.field and reject.reason, reject
        assert "Traceback" not in reject.reason
    assert (books.app.recorder.max_notification_id(), books.report()) == before


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        ("duplicate headers", f"{PREMIUM_HEADER},amount\nR1,m1,1,worker,1.00,2025-01-06,2.00\n"
         .encode(), "amount"),
        ("mixed encodings", "会员编号,期次\n张三,1\n".encode() + "李四,1\n".encode("gb18030"),
         "mixes encodings"),
        ("a quote never closed", f'{PREMIUM_HEADER}\n"P1,m1,1,worker,1.00,2025-01-06\n'.encode(),
         "not readable as CSV"),
    ],
)  # fmt: skip
def test_a_file_broken_as_a_whole_is_refused_in_one_line(
    books: Books, tmp_path: Path, name: str, content: bytes, said: str
) -> None:
    path = tmp_path / "feed.csv"
    path.write_bytes(content)
    before = books.app.recorder.max_notification_id()
    with pytest.raises((FeedError, ImportRefused)) as refused:
        import_feed(books, "premiums", path, "clerk")
    assert said in str(refused.value) and "\n" not in str(refused.value), name
    assert books.app.recorder.max_notification_id() == before


def test_a_truncated_json_line_is_rejected_naming_its_line(books: Books, tmp_path: Path) -> None:
    path = tmp_path / "premiums.jsonl"
    good = json.dumps(
        dict(
            zip(
                PREMIUM_HEADER.split(","),
                ["P1", "m1", "1", "worker", "1.00", "2025-01-06"],
                strict=True,
            )
        )
    )
    path.write_text(good + "\n" + good[: len(good) // 2] + "\n", encoding="utf-8")  # fmt: skip
    with pytest.raises((FeedError, ImportRefused)) as refused:
        import_feed(books, "premiums", path, "clerk")
    found = str(refused.value)
    if isinstance(refused.value, ImportRefused):
        found = " ".join(str(r) for r in refused.value.summary.rejects)
    assert "line 2" in found
