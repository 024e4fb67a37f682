"""A document as one self-contained HTML file: inline CSS, charts as inline SVG drawn here,
no scripts and no external references, so it opens, prints (A4) and files as it is."""

from decimal import Decimal
from html import escape
from pathlib import Path

from ledger.render.chart import HEIGHT, WIDTH, Line, Rect, bars
from ledger.render.document import Cell, Chart, Document, Percent, Section, Table, text

STYLE = """
@page { size: A4; margin: 14mm; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC",
  "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif; color: #1d2733; margin: 2em auto;
  max-width: 60em; padding: 0 1em; font-size: 14px; line-height: 1.45; }
h1 { font-size: 1.6em; margin: 0 0 .2em; }
h2 { font-size: 1.15em; margin: 1.6em 0 .4em; border-bottom: 2px solid #2f6f9f;
  padding-bottom: .15em; }
.subtitle { font-size: 1.1em; margin: 0 0 .8em; color: #3b4a5a; }
.provenance { font-size: .85em; color: #3b4a5a; background: #f3f6f9; padding: .5em .8em;
  border-left: 3px solid #2f6f9f; word-break: break-all; }
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
.new-page { break-before: page; }
section { break-inside: avoid-page; }
"""


def render(document: Document) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(document.title)}</title><style>{STYLE}</style></head><body>",
        f"<header><h1>{escape(document.title)}</h1>",
        f'<p class="subtitle">{escape(document.subtitle)}</p>',
        '<div class="provenance">',
        *(f"<p>{escape(line)}</p>" for line in document.provenance),
        "</div></header>",
    ]
    for i, section in enumerate(document.sections):
        parts.append(_section(section))
        if i == 0 and document.charts:
            parts.append('<section><h2>图表 Charts</h2><div class="charts">')
            parts += [f'<div class="chart">{bar_chart(c)}</div>' for c in document.charts]
            parts.append("</div></section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write(document: Document, path: Path) -> None:
    path.write_text(render(document), encoding="utf-8")


def _section(section: Section) -> str:
    parts = [f"<section{' class=new-page' if section.new_page else ''}>"]
    parts.append(f"<h2>{escape(section.title)}</h2>")
    parts += [f'<p class="note">{escape(line)}</p>' for line in section.lines]
    if section.table is not None:
        parts.append(_table(section.table))
    if section.form:
        parts.append('<div class="form">')
        parts += [f"<div>{escape(field)}</div>" for field in section.form]
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
        f'<svg role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        'font-family="sans-serif">',
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
