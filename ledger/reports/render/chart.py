"""Bar charts as plain shapes (rectangles, lines, labels) on a canvas of points, so that
HTML draws them as inline SVG and the PDF with its own pen, from one geometry."""

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from ledger.reports.render.document import Chart

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


def width(text: str, size: float) -> float:
    """A label's width, a little above what either renderer's fonts take: a CJK sign is
    one em, any other about 0.62 of one (DejaVu Sans's figures are 0.64)."""
    return sum(size if ord(c) >= 0x2E80 else size * 0.64 for c in text)


def fitted(text: str, room: float, size: float, smallest: float) -> float | None:
    """The largest size up to `size` at which `text` fits `room`, or None below `smallest`."""
    fit = min(size, size * room / max(width(text, size), 1))
    return fit if fit >= smallest else None


def _common(sizes: list[float | None]) -> float | None:
    """One size for a row of labels: the smallest that fits them all, None if one does not."""
    if None in sizes:
        return None
    return min((s for s in sizes if s is not None), default=None)


def scale(values: list[Decimal]) -> tuple[Decimal, str]:
    """The divisor and its prefix: amounts of a million and more are shown in 万 (ten
    thousands), so that labels stay short."""
    if max([abs(v) for v in values] or [Decimal(0)]) >= 1_000_000:
        return Decimal(10_000), "万"
    return Decimal(1), ""


def short(value: Decimal, divisor: Decimal = Decimal(1)) -> str:
    """A figure as a chart labels it: whole units with separators, or tenths of 万."""
    if divisor == 1:
        return f"{value:,.0f}"
    return f"{value / divisor:,.1f}"


def bars(chart: Chart) -> list[Shape]:
    """Grouped bars, negative values below the axis, with ticks, labels and a legend. No two
    labels overlap: the scale is in 万 for large amounts, the margin is as wide as the
    longest tick, a bar's figure is set smaller where the bar is narrow (and left to the
    tooltip and the tables where it would be unreadable), and category names that do not
    fit side by side are set on two staggered rows."""
    right, top, bottom = 12.0, 46.0, 44.0
    raw = [v for _, series in chart.series for v in series]
    divisor, prefix = scale(raw)
    high, low = max([Decimal(0), *raw]) / divisor, min([Decimal(0), *raw]) / divisor
    step = nice_step(high - low)
    top_tick = (high / step).to_integral_value(ROUND_CEILING) * step
    low_tick = (low / step).to_integral_value(ROUND_FLOOR) * step
    if top_tick == low_tick:  # nothing to show: an empty scale above the axis
        top_tick += step
    span = top_tick - low_tick
    ticks = [low_tick + i * step for i in range(int(span / step) + 1)]
    left = max(40.0, max(width(short(t), 11) for t in ticks) + 12)
    plot_w, plot_h = WIDTH - left - right, HEIGHT - top - bottom

    def y(value: Decimal) -> float:
        return top + float((top_tick - value / divisor) / span) * plot_h

    title_size = fitted(chart.title, WIDTH - 8, 13, 1) or 13
    shapes: list[Shape] = [Label(WIDTH / 2, 16, chart.title, "middle", title_size, True)]
    for tick in ticks:
        at = y(tick * divisor)
        shapes.append(Line(left, at, WIDTH - right, at, AXIS if tick == 0 else GRID))
        shapes.append(Label(left - 5, at + 4, short(tick), "end"))
    groups = max(len(chart.categories), 1)
    group_w = plot_w / groups
    bar_w = min(group_w * 0.7 / max(len(chart.series), 1), MAX_BAR)
    middles = [left + (i + 0.5) * group_w for i in range(len(chart.categories))]

    def room(i: int, half: float) -> float:
        """Twice the half-width a name may take at its bar: `half`, or less at an edge."""
        return 2 * min(half, middles[i] - 1, WIDTH - middles[i] - 1)

    names = _common(
        [fitted(c, room(i, group_w / 2 - 2), 11, 7) for i, c in enumerate(chart.categories)]
    )
    staggered = names is None
    if names is None:
        wide = [fitted(c, room(i, group_w - 2), 10, 1) for i, c in enumerate(chart.categories)]
        names = _common(wide) or 10
    figures = [short(v, divisor) for _, series in chart.series for v in series]
    figure_size = _common([fitted(f, bar_w - 1, 8.5, 5.5) for f in figures])
    for i, (category, middle) in enumerate(zip(chart.categories, middles, strict=True)):
        x0 = middle - bar_w * len(chart.series) / 2
        for j, (_, series) in enumerate(chart.series):
            value, x = series[i], x0 + j * bar_w
            y0, y1 = y(max(value, Decimal(0))), y(min(value, Decimal(0)))
            colour = COLOURS[j % len(COLOURS)]
            figure = short(value, divisor)
            shapes.append(Rect(x + 1, y0, bar_w - 2, max(y1 - y0, 0.5), colour, figure))
            if figure_size is not None:
                label_y = y0 - 3 if value >= 0 else y1 + figure_size + 1.5
                shapes.append(Label(x + bar_w / 2, label_y, figure, "middle", figure_size))
        row = HEIGHT - bottom + 14 + (i % 2 * 13 if staggered else 0)
        shapes.append(Label(middle, row, category, "middle", names))
    x = left
    for j, (name, _) in enumerate(chart.series):
        shapes.append(Rect(x, 25, 10, 10, COLOURS[j % len(COLOURS)], name))
        shapes.append(Label(x + 14, 34, name))
        x += 14 + width(name, 11) + 16
    unit = f"单位：{prefix}{chart.unit}"
    shapes.append(Label(WIDTH - right, 34, unit, "end", 10, colour=MUTED))
    return shapes
