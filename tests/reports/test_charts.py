"""The charts documents draw: labels apart from one another and on the canvas."""

from decimal import Decimal

import pytest

from ledger.reports.render.chart import HEIGHT, WIDTH, Label, Shape, bars, width
from ledger.reports.render.document import Chart

D = Decimal


def label_boxes(shapes: list[Shape]) -> list[tuple[str, float, float, float, float]]:
    """Each label's box on the canvas: (text, left, top, right, bottom)."""
    boxes = []
    for s in shapes:
        if isinstance(s, Label):
            w = width(s.text, s.size)
            left = s.x - {"start": 0.0, "middle": w / 2, "end": w}[s.anchor]
            boxes.append((s.text, left, s.y - s.size * 0.8, left + w, s.y + s.size * 0.2))
    return boxes


@pytest.mark.parametrize(
    ("counties", "base"),
    [(3, D("977958.00")), (4, D("1777958.00")), (12, D("1777958.00")), (30, D("52000.00"))],
)
def test_chart_labels_never_overlap_and_stay_on_the_canvas(counties: int, base: D) -> None:
    chart = Chart(
        "保费收入与批准补助 Premium income and benefits by county",
        tuple(f"县{i} County {i}" for i in range(counties)),
        (
            ("保费收入 Premium income", tuple(base + i * 1111 for i in range(counties))),
            ("批准补助 Benefits", tuple(-base / 3 + i for i in range(counties))),
        ),
        "元",
    )
    boxes = label_boxes(bars(chart))
    for text, left, top, right, bottom in boxes:
        assert left >= 0 and right <= WIDTH and top >= 0 and bottom <= HEIGHT, text
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = a[3] <= b[1] or b[3] <= a[1] or a[4] <= b[2] or b[4] <= a[2]
            assert apart, (a, b)
    texts = {b[0] for b in boxes}
    assert ("单位：万元" in texts) == (base >= 1_000_000)
    if counties <= 4:  # room for every bar's figure
        assert f"{(base + 1111) / 10000:,.1f}" in texts or f"{base + 1111:,.0f}" in texts
