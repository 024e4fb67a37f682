"""`ledger statement`, `screening` and `disclosure` as a board member or a unit union would
use them: every format written, read back (XLSX cells, the PDF's text, the PDF drawn to an
image) and checked against the JSON figures."""

import json
import re
import time
from datetime import date, datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pypdfium2
import pytest
from capitals import read_capitals
from cli_runner import Ledger
from openpyxl import load_workbook
from statement_books import CLOSED_ON, MEMBERS, TWINS, record_period, record_twin_units

from domain.accounts import CHART
from ledger.application.books import Books
from ledger.cli.reports import _unit_file


@pytest.fixture
def closed(books: Books) -> Books:
    record_period(books)
    return books


def pdf_text(path: Path) -> str:
    document = pypdfium2.PdfDocument(path)
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


class _Visible(HTMLParser):
    """The text a reader sees: everything but the style sheet (and its embedded font)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self.in_style = False

    def handle_data(self, data: str) -> None:
        if not self.in_style:
            self.parts.append(data)


def html_text(path: Path) -> str:
    visible = _Visible()
    visible.feed(path.read_text(encoding="utf-8"))
    return "\n".join(visible.parts)


def xlsx_text(path: Path) -> str:
    book = load_workbook(path)
    return "\n".join(
        str(value)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value is not None
    )


def shown(figure: str) -> str:
    """A JSON money figure as the documents print it."""
    return f"{Decimal(figure):,.2f}"


def test_a_statement_in_every_format_shows_the_same_figures(
    ledger: Ledger, db: str, closed: Books, tmp_path: Path
) -> None:
    figures = json.loads(ledger.ok(db, "statement", "--period", "1", "--format", "json"))
    digest = figures["known_at"]["digest"]
    for format in ("json", "html", "pdf", "xlsx"):
        path = tmp_path / f"statement.{format}"
        said = ledger.ok(db, "statement", "--period", "1", "--format", format, "--out", str(path))
        assert digest in said and path.stat().st_size > 0
    assert json.loads((tmp_path / "statement.json").read_text(encoding="utf-8")) == figures

    book = load_workbook(tmp_path / "statement.xlsx")
    about = [str(row[0]) for row in book["About"].iter_rows(values_only=True)]
    assert any(f"Chain digest: {digest}" in line for line in about)
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True)}
    city = figures["city"]
    assert summary["参保人数 Members enrolled"] == city["members"]
    for label, key in (
        ("保费收入合计 Premium income", "premium_income_total"),
        ("批准补助 Benefits approved", "benefits_approved"),
        ("已支付补助 Benefits paid", "benefits_paid"),
        ("件均补助 Average benefit per claim", "average_benefit_per_claim"),
        ("期末储备 Closing reserve", "closing_reserve"),
    ):
        assert isinstance(summary[label], int | float)
        assert Decimal(str(summary[label])) == Decimal(city[key])
    for label, ratio in (
        ("赔付率（按期）Claims ratio by cohort", city["claims_ratio_percent"]),
        ("赔付率（按年）Claims ratio by calendar", city["claims_ratio_calendar"]["percent"]),
    ):
        shown_ratio = summary[label]
        assert isinstance(shown_ratio, float) and round(shown_ratio * 100, 1) == float(ratio)
    by_county = [row for row in book["By county"].iter_rows(values_only=True) if row[1] is not None]
    for row in by_county[1:]:
        assert all(isinstance(v, int | float) for v in row[1:])
    rows = {row[0]: row for row in by_county}
    c1 = figures["counties"]["C1"]
    assert rows["Danghu (C1)"][1:5] == (
        c1["units"],
        c1["members"],
        float(c1["premium_income_total"]),
        float(c1["benefits_approved"]),
    )

    text = pdf_text(tmp_path / "statement.pdf")
    assert "职工医疗互助保障 期间报告" in text and "赔付率" in text and digest in text
    for entity in [city, *figures["counties"].values()]:
        for key in ("premium_income_total", "benefits_approved", "closing_reserve"):
            assert shown(entity[key]) in text
        assert f"{entity['claims_ratio_percent']}%" in text

    page = pypdfium2.PdfDocument(tmp_path / "statement.pdf")[0]
    image = page.render(scale=1).to_pil().convert("L")
    image.save(tmp_path / "statement-page-1.png")
    inked = sum(image.histogram()[:128])
    assert inked > image.width * image.height // 100

    html = (tmp_path / "statement.html").read_text(encoding="utf-8")
    assert html.count("<svg") == 3 and digest in html and "期间报告" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html)
    assert "<script" not in html
    assert re.findall(r"url\((.{5})", html) == ["data:"], "only the embedded font"
    xlsx = repr([list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets])
    assert not [m for m in MEMBERS if m in text or m in html or m in xlsx]


def test_a_summary_in_every_format_shows_each_period_and_the_total(
    ledger: Ledger, db: str, closed: Books, tmp_path: Path
) -> None:
    figures = json.loads(ledger.ok(db, "summary", "--periods", "1-1", "--format", "json"))
    assert figures["periods"][0]["closing_reserve"] == figures["total"]["closing_reserve"]
    for format in ("json", "html", "pdf", "xlsx"):
        path = tmp_path / f"summary.{format}"
        said = ledger.ok(db, "summary", "--periods", "1", "--format", format, "-o", str(path))
        assert figures["known_at"]["digest"] in said and "periods 1 to 1" in said
    assert json.loads((tmp_path / "summary.json").read_text(encoding="utf-8")) == figures
    rows = list(load_workbook(tmp_path / "summary.xlsx")["By period"].iter_rows(values_only=True))
    by_name = {row[0]: row for row in rows if row[0] in ("第1期 Period 1", "合计 Total")}
    for name, column in (
        ("第1期 Period 1", figures["periods"][0]),
        ("合计 Total", figures["total"]),
    ):
        assert by_name[name][1:4] == (
            column["members"],
            float(column["premium_income_total"]),
            float(column["benefits_approved"]),
        )
    for text in (pdf_text(tmp_path / "summary.pdf"), html_text(tmp_path / "summary.html")):
        assert "多期汇总" in text and shown(figures["total"]["benefits_approved"]) in text


def test_a_statement_produced_again_at_its_position_is_the_same_file(
    ledger: Ledger, db: str, closed: Books, tmp_path: Path
) -> None:
    at = str(closed.app.recorder.max_notification_id())
    formats = ("pdf", "html", "xlsx")
    for format in formats:
        before = tmp_path / f"before.{format}"
        ledger.ok(db, "statement", "--period", "1", "--format", format, "--out", str(before))
    closed.app.post_adjustment(
        1, "C2", "bank", "premium_income:other", "5.00", "late", "approver", date(2025, 5, 1)
    )
    time.sleep(2)  # files written at a later time, down to the zip format's 2 seconds
    for format in formats:
        after = tmp_path / f"after.{format}"
        args = ("--period", "1", "--as-known-at", at, "--format", format, "--out", str(after))
        ledger.ok(db, "statement", *args)
        assert after.read_bytes() == (tmp_path / f"before.{format}").read_bytes(), format
    now = json.loads(ledger.ok(db, "statement", "--period", "1", "--format", "json"))
    assert now["counties"]["C2"]["premium_income"]["other"] == "5.00"


def test_screening_writes_each_unit_its_own_slips(
    ledger: Ledger, db: str, closed: Books, tmp_path: Path
) -> None:
    args = ("--period", "1", "--threshold", "5000", "--frequent", "2", "--format", "pdf")
    listed = ledger.ok(db, "screening", *args, "--out", str(tmp_path / "slips"))
    files = {line.split("\t")[1]: Path(line.split("\t")[0]) for line in listed.splitlines()[:-1]}
    assert sorted(files) == ["Glass Works", "Harbour Union"]
    assert files["Glass Works"].name == "screening-1-C1-Glass_Works.pdf"
    glass, harbour = pdf_text(files["Glass Works"]), pdf_text(files["Harbour Union"])
    assert "反馈单" in glass and "M0010001" in glass and "20,000.00" in glass
    assert "M0020002" in harbour
    for member in MEMBERS:
        if member != "M0010001":
            assert member not in glass
        if member != "M0020002":
            assert member not in harbour
    one = tmp_path / "harbour.html"
    said = ledger.ok(
        db, "screening", *args[:-1], "html", "--unit", "Harbour Union", "--out", str(one)
    )
    assert "1 referral slip(s) for Harbour Union (C2)" in said
    assert "M0020002" in one.read_text(encoding="utf-8")


def test_a_disclosure_shows_the_unit_beside_the_city_without_names(
    ledger: Ledger, db: str, closed: Books, tmp_path: Path
) -> None:
    args = ("disclosure", "--period", "1", "--unit", "Glass Works")
    figures = json.loads(ledger.ok(db, *args, "--format", "json"))
    assert figures["unit_figures"]["benefits_approved"] == "10480.20"
    for format in ("html", "pdf"):
        ledger.ok(db, *args, "--format", format, "--out", str(tmp_path / f"d.{format}"))
    text = pdf_text(tmp_path / "d.pdf")
    html = (tmp_path / "d.html").read_text(encoding="utf-8")
    assert "信息公开" in text and "10,480.20" in text and "M00****01" in text
    assert not [m for m in MEMBERS if m in text or m in html]


@pytest.fixture
def twins(books: Books) -> Books:
    record_twin_units(books)
    return books


SLIPPED = {"M0010101", "M0020101", "M0020102"}
"""The members of TWINS with a slip at --threshold 5000 --frequent 2."""


def test_same_named_units_of_two_counties_get_files_of_their_own(
    ledger: Ledger, db: str, twins: Books, tmp_path: Path
) -> None:
    args = ("--period", "1", "--threshold", "5000", "--frequent", "2", "--format", "pdf")
    listed = ledger.ok(db, "screening", *args, "--out", str(tmp_path / "slips"))
    lines = [line.split("\t") for line in listed.splitlines()[:-1]]
    files = {(county, unit): Path(path) for path, unit, county, _ in lines}
    assert {unit: path.name for unit, path in files.items()} == {
        ("C1", "Glass Works"): "screening-1-C1-Glass_Works.pdf",
        ("C2", "Glass Works"): "screening-1-C2-Glass_Works.pdf",
        ("C2", "Harbour Union"): "screening-1-C2-Harbour_Union.pdf",
    }
    assert [line[3] for line in lines] == ["1 slip(s)"] * 3
    assert "3 member(s) in 3 unit(s)" in listed.splitlines()[-1]
    for (county, unit), path in files.items():
        text = pdf_text(path)
        assert f"{unit} · 县 County: {'Danghu' if county == 'C1' else 'Zhapu'} ({county})" in text
        for member in TWINS:  # a member is on their own county's unit's slips, and only there
            assert (member in text) == (member in SLIPPED and TWINS[member] == (county, unit))

    c2 = tmp_path / "c2-glass.html"
    said = ledger.ok(
        db,
        "screening",
        *args[:-1],
        "html",
        "--unit",
        "Glass Works",
        "--county",
        "C2",
        "--out",
        str(c2),
    )
    assert "1 referral slip(s) for Glass Works (C2)" in said
    html = c2.read_text(encoding="utf-8")
    assert "M0020101" in html and "Zhapu (C2)" in html
    assert not [m for m in TWINS if m != "M0020101" and m in html]

    only = tmp_path / "only-c1"
    listed = ledger.ok(db, "screening", *args, "--county", "C1", "--out", str(only))
    assert [p.name for p in only.iterdir()] == ["screening-1-C1-Glass_Works.pdf"]
    assert "1 member(s) in 1 unit(s)" in listed


def test_a_disclosure_is_of_the_same_named_unit_in_its_own_county(
    ledger: Ledger, db: str, twins: Books, tmp_path: Path
) -> None:
    args = ("disclosure", "--period", "1", "--unit", "Glass Works")
    c1 = json.loads(ledger.ok(db, *args, "--county", "C1", "--format", "json"))
    c2 = json.loads(ledger.ok(db, *args, "--county", "C2", "--format", "json"))
    assert (c1["county"], c1["unit"], c2["county"], c2["unit"]) == (
        "C1",
        "Glass Works",
        "C2",
        "Glass Works",
    )
    assert (c1["unit_figures"]["members"], c1["unit_figures"]["benefits_approved"]) == (
        2,
        "10380.00",
    )
    assert (c2["unit_figures"]["members"], c2["unit_figures"]["benefits_approved"]) == (1, "80.00")
    path = tmp_path / "c2.pdf"
    said = ledger.ok(db, *args, "--county", "C2", "--format", "pdf", "--out", str(path))
    assert "the disclosure to Glass Works (C2)" in said
    text = pdf_text(path)
    assert "Zhapu (C2)" in text and "900.00" in text and "20,000.00" not in text  # C1's claim
    harbour = ("disclosure", "--period", "1", "--unit", "Harbour Union", "--format", "json")
    assert json.loads(ledger.ok(db, *harbour))["county"] == "C2"


@pytest.mark.parametrize(
    "args",
    [
        ("screening", "--period", "1", "--threshold", "0", "--format", "pdf", "--out", "x.pdf"),
        ("disclosure", "--period", "1", "--format", "pdf", "--out", "x.pdf"),
    ],
)
def test_a_unit_name_in_two_counties_is_refused_without_county(
    ledger: Ledger, db: str, twins: Books, tmp_path: Path, args: tuple[str, ...]
) -> None:
    out = tmp_path / "x.pdf"
    args = tuple(str(out) if a == "x.pdf" else a for a in args)
    result = ledger(db, *args, "--unit", "Glass Works")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    error = ledger.refused(db, *args, "--unit", "Glass Works")
    assert error == (
        "error: unit 'Glass Works' is ambiguous: units of that name had members enrolled in "
        "period 1 in counties C1 (Danghu) and C2 (Zhapu); say which with --county C1 or "
        "--county C2"
    )
    assert not out.exists()
    absent = ledger.refused(db, *args, "--unit", "Harbour Union", "--county", "C1")
    assert "unit 'Harbour Union' had no members enrolled in county C1 in period 1" in absent
    assert "county 'C9'" in ledger.refused(db, *args, "--unit", "Glass Works", "--county", "C9")
    assert not out.exists()


def test_a_unit_file_name_has_the_county_and_the_unit_made_safe() -> None:
    taken: set[str] = set()
    assert _unit_file("s-1", "C1", "Glass Works", "pdf", taken) == "s-1-C1-Glass_Works.pdf"
    assert _unit_file("s-1", "C2", "Glass Works", "pdf", taken) == "s-1-C2-Glass_Works.pdf"
    assert _unit_file("s-1", "C1", "Glass/Works", "pdf", taken) == "s-1-C1-Glass_Works-2.pdf"
    assert _unit_file("s-1", "C1", "Glass..Works?", "pdf", taken) == "s-1-C1-Glass..Works.pdf"
    assert _unit_file("s-1", "../", "..", "html", taken) == "s-1-county-unit.html"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("statement", "--period", "1", "--format", "doc"), "--format: 'doc'"),
        (("statement", "--period", "1", "--format", "pdf"), "--out: a pdf file needs a path"),
        (("statement", "--period", "9", "--format", "json"), "period 9 had not been opened"),
        (
            ("statement", "--period", "1", "--format", "json", "--as-known-at", "0"),
            "position 0 is not in the log",
        ),
        (
            ("screening", "--period", "1", "--threshold", "x", "--format", "pdf", "--out", "o"),
            "--threshold",
        ),
        (
            ("disclosure", "--period", "1", "--unit", "Nowhere", "--format", "json"),
            "unit 'Nowhere'",
        ),
        (("statement", "--period", "1", "--format", "pdf", "--out", "."), ".: Is a directory"),
        (
            ("statement", "--period", "1", "--format", "json", "--out", "no/such/dir/s.json"),
            "no/such/dir/s.json: No such file or directory",
        ),
        (
            (
                "screening",
                "--period",
                "1",
                "--threshold",
                "1",
                "--format",
                "html",
                "--out",
                "/dev/null/x",
            ),
            "/dev/null/x: Not a directory",
        ),
        (("summary", "--periods", "1-x", "--format", "json"), "--periods: '1-x' is not"),
        (("summary", "--periods", "1-2", "--format", "json"), "period 2 had not been opened"),
        (("summary", "--periods", "0-1", "--format", "json"), "period 0: period numbers"),
        (
            ("summary", "--periods", "1", "--format", "json", "--per-head-sources", "wages"),
            "--per-head-sources: 'wages' is not a funding source",
        ),
    ],
)
def test_statement_commands_refuse_bad_requests_in_one_line(
    ledger: Ledger, db: str, closed: Books, args: tuple[str, ...], message: str
) -> None:
    assert message in ledger.refused(db, *args)


def test_a_reader_reports_up_to_the_end_of_the_log_though_the_read_models_lag(
    ledger: Ledger, db: str, closed: Books
) -> None:
    args = ("statement", "--period", "1", "--format", "json")
    first = json.loads(ledger.ok(db, *args))
    at = first["known_at"]["position"]
    closed.app.post_adjustment(
        1, "C1", "bank", "premium_income:other", "1.00", "late", "approver", date(2025, 5, 1)
    )
    read = json.loads(ledger.ok(db, "--read-only", *args))
    assert read["known_at"]["position"] == at + 1
    assert read == json.loads(ledger.ok(db, "--read-only", *args, "--as-known-at", str(at + 1)))
    assert json.loads(ledger.ok(db, "--read-only", *args, "--as-known-at", str(at))) == first
    assert json.loads(ledger.ok(db, *args)) == read  # a writer's, once caught up


def english_only(text: str) -> list[str]:
    """Sentences (four words or more) with no Chinese beside them, but for the command line
    that checks the digest."""
    return [
        line
        for line in text.splitlines()
        if re.search(r"[A-Za-z]+ [A-Za-z]+ [A-Za-z]+ [A-Za-z]+", line)
        and not re.search("[\u2e80-\uffff]", line)
        and not line.startswith("ledger audit verify")
    ]


RAW_CODES = re.compile(
    r"\b(" + "|".join([a.name for a in CHART] + [r"union:\w+", "worker", "employer"]) + r")\b"
)
"""Account and funding-source codes, which board documents name instead."""


def test_board_documents_name_their_figures_in_chinese_and_state_the_unit(
    ledger: Ledger, db: str, closed: Books, tmp_path: Path
) -> None:
    closed.app.post_adjustment(
        1, "C2", "bank", "premium_income:other", "5.00", "late", "approver", date(2025, 5, 1)
    )
    texts = {}
    for command, extra in (("statement", ()), ("disclosure", ("--unit", "Glass Works"))):
        for format, read in (("pdf", pdf_text), ("html", html_text), ("xlsx", xlsx_text)):
            if command == "disclosure" and format == "xlsx":
                continue
            path = tmp_path / f"{command}.{format}"
            args = ("--period", "1", *extra, "--format", format, "--out", str(path))
            ledger.ok(db, command, *args)
            texts[path.name] = read(path)
    for name, text in texts.items():
        assert "赔付率" in text and "申领率" not in text, name
        assert RAW_CODES.findall(text) == [], name
        assert "单位：元" in text, name
        assert "工会补助(市级)" in text, name
    for name in ("statement.pdf", "statement.html", "statement.xlsx"):
        assert "银行存款" in texts[name] and "保费收入-其他" in texts[name], name
    for name in ("statement.pdf", "statement.html", "disclosure.pdf", "disclosure.html"):
        for role in ("编制", "审核", "负责人"):
            assert texts[name].count(role) == 1, (name, role)
        assert texts[name].count("日期 Date：") == 3, name
    assert english_only(texts["statement.html"] + texts["disclosure.html"]) == []


def test_a_statements_totals_are_written_in_capitals_that_read_as_the_figures(
    ledger: Ledger, db: str, closed: Books, tmp_path: Path
) -> None:
    city = json.loads(ledger.ok(db, "statement", "--period", "1", "--format", "json"))["city"]
    for format, read in (("pdf", pdf_text), ("html", html_text)):
        path = tmp_path / f"statement.{format}"
        ledger.ok(db, "statement", "--period", "1", "--format", format, "--out", str(path))
        found = {
            label: (figure, written)
            for label, figure, written in re.findall(
                r"(\w+合计) [^:\n]*: ([\d,.-]+) 元 · 大写 In words: 人民币(\w+)", read(path)
            )
        }
        for label, key in (
            ("保费收入合计", "premium_income_total"),
            ("批准补助合计", "benefits_approved"),
        ):
            figure, written = found[label]
            assert Decimal(figure.replace(",", "")) == Decimal(city[key]), (format, label)
            assert read_capitals(written) == Decimal(city[key]), (format, label, written)


def test_the_digest_is_printed_whole_on_every_line_that_carries_it(
    ledger: Ledger, db: str, closed: Books, tmp_path: Path
) -> None:
    path = tmp_path / "statement.pdf"
    said = ledger.ok(db, "statement", "--period", "1", "--format", "pdf", "--out", str(path))
    digest = re.search(r"digest (\d+:[0-9a-f]{64})", said)
    assert digest is not None
    pages = len(pypdfium2.PdfDocument(path))
    text = pdf_text(path)
    # the provenance line, the command that checks it, and each page's footer
    assert text.count(digest[1]) == 2 + pages
    assert f"ledger audit verify --digest {digest[1]}" in text


def test_xlsx_dates_are_date_cells(ledger: Ledger, db: str, closed: Books, tmp_path: Path) -> None:
    path = tmp_path / "statement.xlsx"
    ledger.ok(db, "statement", "--period", "1", "--format", "xlsx", "--out", str(path))
    book = load_workbook(path)
    for sheet, heading in (
        ("Largest claims", "批准日 Approved"),
        ("Deficit sharing", "分担日 Shared on"),
    ):
        rows = list(book[sheet].iter_rows())
        top = next(i for i, row in enumerate(rows) if heading in [c.value for c in row])
        column = [c.value for c in rows[top]].index(heading)
        cells = [row[column] for row in rows[top + 1 :]]
        assert cells and all(isinstance(c.value, datetime) for c in cells), sheet
        assert {c.number_format for c in cells} == {"yyyy-mm-dd"}, sheet
    shared = [row[4] for row in book["Deficit sharing"].iter_rows(values_only=True)][-1]
    assert shared == datetime(CLOSED_ON.year, CLOSED_ON.month, CLOSED_ON.day)


def test_a_units_slips_begin_on_the_first_page_one_signed_slip_a_page(
    ledger: Ledger, db: str, closed: Books, tmp_path: Path
) -> None:
    path = tmp_path / "glass.pdf"
    args = ("--period", "1", "--threshold", "0", "--unit", "Glass Works")
    ledger.ok(db, "screening", *args, "--format", "pdf", "--out", str(path))
    document = pypdfium2.PdfDocument(path)
    pages = [page.get_textpage().get_text_range() for page in document]
    assert len(pages) == 2
    for page, member in zip(pages, ("M0010001", "M0010002"), strict=True):
        assert f"反馈单 Referral slip: {member}" in page
        assert all(page.count(role) == 1 for role in ("编制", "审核", "负责人"))
        assert "大写 In words: 人民币" in page and "单位：元" in pages[0]
    html = tmp_path / "glass.html"
    ledger.ok(db, "screening", *args, "--format", "html", "--out", str(html))
    assert html_text(html).count("负责人") == 2
    assert english_only(html_text(html)) == []


def test_the_table_of_all_units_is_drawn_when_asked_for(
    ledger: Ledger, db: str, closed: Books, tmp_path: Path
) -> None:
    plain, with_units = tmp_path / "plain.html", tmp_path / "units.html"
    ledger.ok(db, "statement", "--period", "1", "--format", "html", "-o", str(plain))
    ledger.ok(
        db, "statement", "--period", "1", "--format", "html", "--units", "-o", str(with_units)
    )
    assert "各单位情况" not in html_text(plain)
    assert "各单位情况 All units (3)" in html_text(with_units) and "Dye House" in html_text(
        with_units
    )
