"""A document as an A4 PDF with Chinese text: DejaVu Sans Condensed for Latin script and
Droid Sans Fallback (CJK) for the rest, both embedded (subset) from
ledger/reports/render/fonts. Tables take the width their content needs and shrink their type
to fit the page. Lines break between words only, so the digest (one word) moves to the next
line whole."""

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import WrapMode
from fpdf.fonts import FontFace
from fpdf.line_break import TextLine

from ledger.reports.render.chart import HEIGHT, WIDTH, Line, Rect, bars
from ledger.reports.render.document import (
    AMOUNTS_IN,
    Chart,
    Document,
    Percent,
    Section,
    Table,
    text,
)

FONTS = Path(__file__).resolve().parent / "fonts"
LATIN, CJK = "dejavu", "droid"
MARGIN = 14.0
BODY, SMALL = 9.0, 7.5
TABLE_SIZES = (8.5, 8.0, 7.5, 7.0, 6.5, 6.0)
CELL_PADDING = 1.2


class _Pdf(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.footer_text = footer_text
        self.add_font(LATIN, fname=FONTS / "DejaVuSansCondensed.ttf")
        self.add_font(LATIN, style="B", fname=FONTS / "DejaVuSansCondensed-Bold.ttf")
        self.add_font(CJK, fname=FONTS / "DroidSansFallbackFull.ttf")
        self.set_fallback_fonts([CJK], exact_match=False)
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=MARGIN + 4)

    def font(self, size: float, bold: bool = False) -> None:
        self.set_font(LATIN, "B" if bold else "", size)

    def _render_styled_text_line(self, text_line: TextLine, *args: Any, **kwargs: Any) -> bool:
        """After a line with a fragment in the CJK font, set the font again before the next
        line: PDF keeps the last font past the end of a text object, and fpdf2 (2.8) assumes
        it does not, so a following Latin-only line came out in the CJK font's glyphs."""
        rendered = super()._render_styled_text_line(text_line, *args, **kwargs)
        if any(f.font is not self.current_font for f in text_line.fragments):
            self.current_font_is_set_on_page = False
        return bool(rendered)

    def footer(self) -> None:
        self.set_y(-MARGIN)
        self.font(SMALL - 0.5)
        self.set_text_color(90, 100, 110)
        self.cell(0, 4, f"{self.footer_text} · {self.page_no()}/{{nb}}", align="C")
        self.set_text_color(0, 0, 0)


def write(document: Document, path: Path) -> None:
    pdf = _Pdf(document.provenance[1] if len(document.provenance) > 1 else document.title)
    pdf.set_title(document.title)
    pdf.set_subject(document.subtitle)
    pdf.set_creator("mutual-aid-ledger")
    pdf.set_creation_date(document.moment)
    pdf.add_page()
    pdf.font(15, bold=True)
    pdf.multi_cell(0, 8, document.title, new_x="LMARGIN", new_y="NEXT")
    pdf.font(10)
    pdf.multi_cell(0, 5.5, document.subtitle, new_x="LMARGIN", new_y="NEXT")
    pdf.font(BODY)
    pdf.multi_cell(0, 4.6, AMOUNTS_IN, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1.5)
    pdf.set_fill_color(243, 246, 249)
    for line in document.provenance:
        pdf.font(SMALL)
        pdf.multi_cell(
            0, 3.8, line, fill=True, new_x="LMARGIN", new_y="NEXT", wrapmode=WrapMode.WORD
        )
    for i, section in enumerate(document.sections):
        _section(pdf, section)
        if i == 0 and document.charts:
            _charts(pdf, document.charts)
    pdf.output(str(path))


def _section(pdf: _Pdf, section: Section) -> None:
    if section.new_page or pdf.get_y() > pdf.h - MARGIN - 40:
        pdf.add_page()
    else:
        pdf.ln(3)
    pdf.font(11, bold=True)
    pdf.multi_cell(0, 6, section.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(47, 111, 159)
    pdf.line(MARGIN, pdf.get_y(), pdf.w - MARGIN, pdf.get_y())
    pdf.set_draw_color(0, 0, 0)
    pdf.ln(1.2)
    pdf.font(BODY)
    for line in section.lines:
        pdf.multi_cell(0, 4.6, line, new_x="LMARGIN", new_y="NEXT", align="L")
    if section.table is not None:
        pdf.ln(1)
        _table(pdf, section.table)
    for field in section.form:
        pdf.ln(2)
        pdf.font(BODY)
        pdf.multi_cell(0, 5, field, border="LTR", new_x="LMARGIN", new_y="NEXT", align="L")
        pdf.cell(0, 16, "", border="LBR", new_x="LMARGIN", new_y="NEXT")
    _signatures(pdf, section.signatures)


def _signatures(pdf: _Pdf, roles: tuple[str, ...]) -> None:
    """A line to sign and a line to date for each role, kept together on one page."""
    if not roles:
        return
    row = 11.0
    if pdf.get_y() + row * len(roles) + 4 > pdf.h - MARGIN - 4:
        pdf.add_page()
    pdf.ln(4)
    pdf.font(BODY)
    label, signed, dated = 42.0, 62.0, 40.0
    for role in roles:
        y = pdf.get_y() + row - 3
        pdf.set_xy(MARGIN, y - 4)
        pdf.cell(label, 5, f"{role}：")
        pdf.line(MARGIN + label, y + 1, MARGIN + label + signed, y + 1)
        pdf.set_xy(MARGIN + label + signed + 6, y - 4)
        pdf.cell(22, 5, "日期 Date：")
        pdf.line(MARGIN + label + signed + 28, y + 1, MARGIN + label + signed + 28 + dated, y + 1)
        pdf.set_xy(MARGIN, y + 3)


def _numeric(table: Table, column: int) -> bool:
    return all(
        row[column] is None or isinstance(row[column], int | Decimal | Percent)
        for row in table.rows
    )


def _table(pdf: _Pdf, table: Table) -> None:
    """A table as wide as its content, in the largest type that fits the page: headings
    may wrap between words, figures never do."""
    if not table.rows:
        pdf.font(BODY)
        pdf.multi_cell(0, 4.6, table.empty, new_x="LMARGIN", new_y="NEXT")
        return
    rows = [[text(c) for c in row] for row in table.rows]
    widths = _fit(pdf, table.columns, rows)
    aligns = tuple("RIGHT" if _numeric(table, i) else "LEFT" for i in range(len(widths)))
    pdf.set_fill_color(250, 251, 252)
    with pdf.table(
        col_widths=tuple(widths),
        width=min(sum(widths), pdf.epw),
        align="LEFT",
        text_align=aligns,
        headings_style=FontFace(emphasis="BOLD", fill_color=(226, 233, 241)),
        line_height=pdf.font_size * 1.45,
        padding=CELL_PADDING,
        borders_layout="ALL",
        cell_fill_color=(248, 250, 252),
        cell_fill_mode="ROWS",
    ) as drawn:
        for values in [list(table.columns), *rows]:
            line = drawn.row()
            for value in values:
                line.cell(value)
    pdf.font(BODY)


def _fit(pdf: _Pdf, columns: Sequence[str], rows: list[list[str]]) -> list[float]:
    """Column widths, leaving the type set in the size chosen."""
    page, pad = pdf.epw, 2 * CELL_PADDING + 1.0
    for size in TABLE_SIZES:
        pdf.font(size, bold=True)
        whole = [pdf.get_string_width(c) + pad for c in columns]
        words = [max(pdf.get_string_width(w) for w in c.split()) + pad for c in columns]
        pdf.font(size)
        data = [max(pdf.get_string_width(r[i]) for r in rows) + pad for i in range(len(columns))]
        natural = [max(d, h) for d, h in zip(data, whole, strict=True)]
        if sum(natural) <= page:
            return natural
        compact = [max(d, w) for d, w in zip(data, words, strict=True)]
        if sum(compact) <= page:
            spare = page - sum(compact)
            wanted = [n - c for n, c in zip(natural, compact, strict=True)]
            return [c + spare * w / sum(wanted) for c, w in zip(compact, wanted, strict=True)]
    return [w * page / sum(compact) for w in compact]


def _charts(pdf: _Pdf, charts: tuple[Chart, ...]) -> None:
    """Two charts a row, each half the page wide."""
    scale = (pdf.w - 2 * MARGIN) / 2 / WIDTH
    height = HEIGHT * scale
    pdf.ln(3)
    pdf.font(11, bold=True)
    pdf.multi_cell(0, 6, "图表 Charts", new_x="LMARGIN", new_y="NEXT")
    pdf.set_auto_page_break(False)
    top = pdf.get_y()
    for i, chart in enumerate(charts):
        column = i % 2
        if column == 0 and top + height > pdf.h - MARGIN - 6:
            pdf.add_page()
            top = pdf.get_y()
        _chart(pdf, chart, MARGIN + column * WIDTH * scale, top, scale)
        if column == 1:
            top += height + 2
    pdf.set_auto_page_break(True, margin=MARGIN + 4)
    pdf.set_xy(MARGIN, top + (height + 2 if len(charts) % 2 else 0))


def _chart(pdf: _Pdf, chart: Chart, x0: float, y0: float, scale: float) -> None:
    """Draw the chart's shapes, whose units are points of the SVG canvas."""
    points = scale * 72 / 25.4
    for shape in bars(chart):
        if isinstance(shape, Rect):
            pdf.set_fill_color(*_rgb(shape.colour))
            pdf.rect(
                x0 + shape.x * scale,
                y0 + shape.y * scale,
                shape.w * scale,
                shape.h * scale,
                style="F",
            )
        elif isinstance(shape, Line):
            pdf.set_draw_color(*_rgb(shape.colour))
            pdf.set_line_width(0.2)
            pdf.line(
                x0 + shape.x1 * scale,
                y0 + shape.y1 * scale,
                x0 + shape.x2 * scale,
                y0 + shape.y2 * scale,
            )
        else:
            pdf.font(shape.size * points, bold=shape.bold)
            pdf.set_text_color(*_rgb(shape.colour))
            width = pdf.get_string_width(shape.text)
            shift = {"start": 0.0, "middle": width / 2, "end": width}[shape.anchor]
            pdf.set_xy(x0 + shape.x * scale - shift, y0 + shape.y * scale - pdf.font_size * 0.8)
            pdf.cell(width, pdf.font_size, shape.text)  # a cell, not text(): it falls back to CJK
    pdf.set_text_color(0, 0, 0)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_fill_color(255, 255, 255)
    pdf.font(BODY)


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)
