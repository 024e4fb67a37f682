"""Bar charts as plain shapes (rectangles, lines, labels) on a canvas of points, so that
HTML draws them as inline SVG and the PDF with its own pen, from one geometry."""

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from ledger.render.document import Chart

WIDTH, HEIGHT = 460, 260
COLOURS = ("#2f6f9f", "#d9822b", "#5a9e6f")
AXIS, GRID, MUTED = "#555555", "#dde3e9", "#555555"
MAX_BAR = 56.0


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    colour: str
    tip: str


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    colour: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    """The baseline."""
    text: str
    anchor: str = "start"
    """start, middle or end."""
    size: float = 11
    bold: bool = False
    colour: str = "#1d2733"


Shape = Rect | Line | Label


def nice_step(span: Decimal) -> Decimal:
    """A round tick step (1, 2 or 5 times a power of ten, at least 1) for about 4 ticks."""
    rough = span / 4
    if rough <= 1:
        return Decimal(1)
    power = Decimal(10) ** (len(str(int(rough))) - 1)
    return next(power * f for f in (1, 2, 5, 10) if power * f >= rough)


def short(value: Decimal) -> str:
    """A figure as a chart labels it: whole units with separators."""
    return f"{value:,.0f}"


def bars(chart: Chart) -> list[Shape]:
    """Grouped bars, negative values below the axis, with ticks, labels and a legend."""
    left, right, top, bottom = 64.0, 12.0, 46.0, 40.0
    values = [v for _, series in chart.series for v in series]
    high, low = max([Decimal(0), *values]), min([Decimal(0), *values])
    step = nice_step(high - low)
    top_tick = (high / step).to_integral_value(ROUND_CEILING) * step
    low_tick = (low / step).to_integral_value(ROUND_FLOOR) * step
    if top_tick == low_tick:  # nothing to show: an empty scale above the axis
        top_tick += step
    span = top_tick - low_tick
    plot_w, plot_h = WIDTH - left - right, HEIGHT - top - bottom

    def y(value: Decimal) -> float:
        return top + float((top_tick - value) / span) * plot_h

    shapes: list[Shape] = [Label(WIDTH / 2, 16, chart.title, "middle", 13, True)]
    tick = low_tick
    while tick <= top_tick:
        shapes.append(Line(left, y(tick), WIDTH - right, y(tick), AXIS if tick == 0 else GRID))
        shapes.append(Label(left - 5, y(tick) + 4, short(tick), "end"))
        tick += step
    groups = max(len(chart.categories), 1)
    group_w = plot_w / groups
    bar_w = min(group_w * 0.7 / max(len(chart.series), 1), MAX_BAR)
    for i, category in enumerate(chart.categories):
        middle = left + (i + 0.5) * group_w
        x0 = middle - bar_w * len(chart.series) / 2
        for j, (_, series) in enumerate(chart.series):
            value, x = series[i], x0 + j * bar_w
            y0, y1 = y(max(value, Decimal(0))), y(min(value, Decimal(0)))
            colour = COLOURS[j % len(COLOURS)]
            shapes.append(Rect(x + 1, y0, bar_w - 2, max(y1 - y0, 0.5), colour, short(value)))
            label_y = y0 - 3 if value >= 0 else y1 + 10
            shapes.append(Label(x + bar_w / 2, label_y, short(value), "middle", 8.5))
        shapes.append(Label(middle, HEIGHT - bottom + 15, category, "middle"))
    for j, (name, _) in enumerate(chart.series):
        x = left + j * 180
        shapes.append(Rect(x, 25, 10, 10, COLOURS[j % len(COLOURS)], name))
        shapes.append(Label(x + 14, 34, name))
    shapes.append(Label(left, HEIGHT - 6, chart.unit, colour=MUTED, size=10))
    return shapes
