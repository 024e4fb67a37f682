"""A document as one self-contained HTML file: inline CSS, charts as inline SVG drawn here,
no scripts and no external references, so it opens, prints (A4) and files as it is. The
Chinese characters it uses come with it, as a subset of the PDF's CJK font embedded in the
CSS, so that a machine without a Chinese font draws them too."""

import base64
import io
from decimal import Decimal
from functools import lru_cache
from html import escape
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

from ledger.reports.render.chart import HEIGHT, WIDTH, Line, Rect, bars
from ledger.reports.render.document import (
    AMOUNTS_IN,
    Cell,
    Chart,
    Document,
    Percent,
    Section,
    Table,
    text,
)

CJK_FONT = Path(__file__).resolve().parent / "fonts" / "DroidSansFallbackFull.ttf"
EMBEDDED = "Ledger CJK"
FIRST_CJK = 0x2E80
"""From the CJK radicals on: ideographs, CJK punctuation and full-width forms."""

STYLE = """
@page { size: A4; margin: 14mm; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC",
  "Microsoft YaHei", "WenQuanYi Micro Hei", "Ledger CJK", sans-serif; color: #1d2733;
  margin: 2em auto; max-width: 60em; padding: 0 1em; font-size: 14px; line-height: 1.45; }
h1 { font-size: 1.6em; margin: 0 0 .2em; }
h2 { font-size: 1.15em; margin: 1.6em 0 .4em; border-bottom: 2px solid #2f6f9f;
  padding-bottom: .15em; }
.subtitle { font-size: 1.1em; margin: 0 0 .8em; color: #3b4a5a; }
.provenance { font-size: .85em; color: #3b4a5a; background: #f3f6f9; padding: .5em .8em;
  border-left: 3px solid #2f6f9f; }
.provenance p { margin: .15em 0; }
table { border-collapse: collapse; margin: .4em 0 .8em; font-size: .92em; }
th, td { border: 1px solid #c5ced8; padding: .25em .55em; vertical-align: top; }
th { background: #e8eef4; text-align: left; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr:nth-child(even) td { background: #fafbfc; }
.note { font-size: .9em; color: #3b4a5a; margin: .2em 0; }
.charts { display: flex; flex-wrap: wrap; gap: 1em; }
.chart { border: 1px solid #d7dee6; padding: .4em; break-inside: avoid; flex: 1 1 360px;
  max-width: 480px; }
.chart svg { width: 100%; height: auto; }
.form { margin-top: .6em; }
.form div { border: 1px solid #9aa7b4; min-height: 3.2em; padding: .2em .5em; margin: .3em 0;
  font-size: .9em; color: #3b4a5a; }
.signatures { margin-top: 1.2em; break-inside: avoid; }
.signatures div { display: flex; gap: .6em; align-items: flex-end; margin: 1.1em 0; }
.signatures span.line { display: inline-block; border-bottom: 1px solid #1d2733;
  width: 14em; height: 1.2em; }
.signatures span.role { width: 13em; }
.signatures span.date { width: 8em; }
.new-page { break-before: page; }
@media print { table { font-size: .74em; } th, td { padding: .2em .35em; }
  .chart { flex-basis: 300px; } }
section { break-inside: avoid-page; }
"""


def render(document: Document) -> str:
    parts = [
        f"<header><h1>{escape(document.title)}</h1>",
        f'<p class="subtitle">{escape(document.subtitle)}</p>',
        f'<p class="note">{escape(AMOUNTS_IN)}</p>',
        '<div class="provenance">',
        *(f"<p>{escape(line)}</p>" for line in document.provenance),
        "</div></header>",
    ]
    for i, each in enumerate(document.sections):
        parts.append(section(each))
        if i == 0 and document.charts:
            parts.append(charts(document.charts))
    body = "\n".join(parts)
    head = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(document.title)}</title>",
        f"<style>{font_face(document.title + body)}{STYLE}</style></head><body>",
    ]
    return "\n".join([*head, body, "</body></html>"]) + "\n"


def font_face(page: str) -> str:
    """A CSS @font-face with the CJK font cut down to the characters of `page`."""
    characters = "".join(sorted({c for c in page if ord(c) >= FIRST_CJK}))
    if not characters:
        return ""
    return (
        f'@font-face {{ font-family: "{EMBEDDED}"; '
        f'src: url(data:font/woff;base64,{_woff(characters)}) format("woff"); }}\n'
    )


@lru_cache(maxsize=32)
def _woff(characters: str) -> str:
    """The font's subset as base64 WOFF (zlib: WOFF2 would need Brotli). The same characters
    give the same bytes, the font's own timestamps kept; cached, since cutting it takes
    about a second and a unit's slips often use the same characters as the last."""
    options = subset.Options()
    options.flavor = "woff"
    font = TTFont(CJK_FONT, recalcTimestamp=False, lazy=True)
    cutter = subset.Subsetter(options)
    cutter.populate(text=characters)
    cutter.subset(font)
    woff = io.BytesIO()
    font.flavor = "woff"
    font.save(woff)
    return base64.b64encode(woff.getvalue()).decode("ascii")


def write(document: Document, path: Path) -> None:
    path.write_text(render(document), encoding="utf-8")


def charts(drawn: tuple[Chart, ...]) -> str:
    """The charts' section, each chart as inline SVG: a statement's, or a page's."""
    return "\n".join(
        [
            '<section><h2>图表 Charts</h2><div class="charts">',
            *(f'<div class="chart">{bar_chart(c)}</div>' for c in drawn),
            "</div></section>",
        ]
    )


def section(part: Section) -> str:
    """A section as HTML: the statements' and the service's pages'."""
    parts = [f"<section{' class=new-page' if part.new_page else ''}>"]
    parts.append(f"<h2>{escape(part.title)}</h2>")
    parts += [f'<p class="note">{escape(line)}</p>' for line in part.lines]
    if part.table is not None:
        parts.append(_table(part.table))
    if part.form:
        parts.append('<div class="form">')
        parts += [f"<div>{escape(field)}</div>" for field in part.form]
        parts.append("</div>")
    if part.signatures:
        parts.append('<div class="signatures">')
        parts += [
            f'<div><span class="role">{escape(role)}：</span><span class="line"></span>'
            '<span>日期 Date：</span><span class="line date"></span></div>'
            for role in part.signatures
        ]
        parts.append("</div>")
    parts.append("</section>")
    return "\n".join(parts)


def _table(table: Table) -> str:
    if not table.rows:
        return f'<p class="note">{escape(table.empty)}</p>'
    head = "".join(f"<th>{escape(c)}</th>" for c in table.columns)
    rows = "\n".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in table.rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>\n{rows}\n</tbody></table>"


def _cell(cell: Cell) -> str:
    numeric = cell is None or isinstance(cell, int | Decimal | Percent)
    css = ' class="num"' if numeric else ""
    return f"<td{css}>{escape(text(cell))}</td>"


def bar_chart(chart: Chart) -> str:
    """The chart as inline SVG."""
    out = [
        f'<svg role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}">',
        f"<title>{escape(chart.title)}</title>",
    ]
    for shape in bars(chart):
        if isinstance(shape, Rect):
            out.append(
                f'<rect x="{shape.x:.1f}" y="{shape.y:.1f}" width="{shape.w:.1f}" '
                f'height="{shape.h:.1f}" fill="{shape.colour}"><title>{escape(shape.tip)}'
                "</title></rect>"
            )
        elif isinstance(shape, Line):
            out.append(
                f'<line x1="{shape.x1:.1f}" y1="{shape.y1:.1f}" x2="{shape.x2:.1f}" '
                f'y2="{shape.y2:.1f}" stroke="{shape.colour}"/>'
            )
        else:
            weight = ' font-weight="bold"' if shape.bold else ""
            out.append(
                f'<text x="{shape.x:.1f}" y="{shape.y:.1f}" text-anchor="{shape.anchor}" '
                f'font-size="{shape.size}" fill="{shape.colour}"{weight}>{escape(shape.text)}'
                "</text>"
            )
    out.append("</svg>")
    return "".join(out)
