"""Bandwidth against message size as an SVG line chart: log2 x axis (bytes), linear y axis
(Gb/s), measured series as lines with points, reference levels (line rate, floor) as labelled
horizontal lines.

Generated here rather than with a plotting library: the two charts the report needs are one
shape, the output must be deterministic (the goldens compare it) and self-contained (no script,
no font or CDN), and every library that writes SVG adds weight (matplotlib: tens of MB and
per-run ids in its SVG; pygal: loads its tooltip script from a CDN unless told not to) for less
control over the classes the page's CSS and tests rely on.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from dualnet.report.svg import el, svg, tooltip


@dataclass(frozen=True)
class Series:
    name: str
    points: list[tuple[int, float]]  # (bytes, Gb/s)
    cls: str


@dataclass(frozen=True)
class Level:
    name: str
    value: float  # Gb/s
    cls: str


@dataclass
class Chart:
    key: str
    title: str
    y_label: str
    series: list[Series]
    levels: list[Level] = field(default_factory=list)


def size_label(n: int) -> str:
    for unit, k in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= k and n % k == 0:
            return f"{n // k}{unit}"
    return str(n)


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    mag: float = 10.0 ** math.floor(math.log10(v))
    for step in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if step * mag >= v:
            return float(step * mag)
    return 10.0 * mag


W, H = 640.0, 318.0
_L, _R, _T, _B = 58.0, 176.0, 30.0, 62.0


def chart_svg(chart: Chart) -> ET.Element:
    xs = [b for s in chart.series for b, _ in s.points if b > 0]
    ys = [v for s in chart.series for _, v in s.points] + [lv.value for lv in chart.levels]
    root = svg(W, H, cls="chart", label=chart.title, data_chart=chart.key)
    lo = math.log2(min(xs)) if xs else 0.0
    hi = math.log2(max(xs)) if xs else 1.0
    if hi <= lo:  # one message size: centre it
        lo, hi = lo - 1, hi + 1
    ymax = _nice_max(max(ys) * 1.08 if ys else 1.0)
    pw, ph = W - _L - _R, H - _T - _B

    def px(b: int) -> float:
        return _L + (math.log2(b) - lo) / (hi - lo) * pw

    def py(v: float) -> float:
        return _T + ph - v / ymax * ph

    el(root, "text", chart.title, cls="chart-title", x=_L, y=18)
    axes = el(root, "g", cls="axes")
    for i in range(6):
        v = ymax * i / 5
        el(axes, "line", cls="grid", x1=_L, x2=_L + pw, y1=py(v), y2=py(v))
        el(axes, "text", f"{v:g}", cls="tick y", x=_L - 6, y=py(v) + 4)
    step = max(1, math.ceil((hi - lo) / 10))
    e = math.ceil(lo)
    while e <= hi:
        el(axes, "line", cls="tick-mark", x1=px(2 ** e), x2=px(2 ** e), y1=_T + ph,
           y2=_T + ph + 4)
        el(axes, "text", size_label(int(2 ** e)), cls="tick x", x=px(2 ** e), y=_T + ph + 16)
        e += step
    el(axes, "text", "message size (bytes, log scale)", cls="axis-label", x=_L + pw / 2,
       y=_T + ph + 32)
    el(axes, "text", chart.y_label, cls="axis-label y", x=14, y=_T + ph / 2,
       transform=f"rotate(-90 14 {_T + ph / 2:.1f})")
    el(axes, "rect", cls="plot-frame", x=_L, y=_T, width=pw, height=ph)
    label_y = -1e9
    for lv in sorted(chart.levels, key=lambda lv: -lv.value):  # top first
        g = el(root, "g", cls=f"level {lv.cls}", data_level=lv.cls, data_value=f"{lv.value:g}")
        el(g, "line", cls="level-line", x1=_L, x2=_L + pw, y1=py(lv.value), y2=py(lv.value))
        label_y = max(py(lv.value) + 4, label_y + 13)  # close levels: labels one under another
        el(g, "text", f"{lv.name} {lv.value:g} Gb/s", cls="level-label", x=_L + pw + 6,
           y=label_y)
    legend_x = _L  # one row under the axis label
    for s in chart.series:
        pts = [(px(b), py(v)) for b, v in s.points if b > 0]
        g = el(root, "g", cls=f"series {s.cls}", data_series=s.cls, data_points=str(len(pts)))
        if pts:
            el(g, "polyline", cls="line",
               points=" ".join(f"{x:.1f},{y:.1f}" for x, y in pts))
        for (b, v), (x, y) in zip(s.points, pts, strict=False):
            c = el(g, "circle", cls="pt", cx=x, cy=y, r=2.6)
            tooltip(c, f"{s.name}: {size_label(b)} B → {v:.2f} Gb/s")
        legend_y = H - 10
        el(g, "line", cls="line legend-swatch", x1=legend_x, x2=legend_x + 16, y1=legend_y - 4,
           y2=legend_y - 4)
        el(g, "text", s.name, cls="legend", x=legend_x + 20, y=legend_y)
        legend_x += 20 + len(s.name) * 6.6 + 24
    return root
