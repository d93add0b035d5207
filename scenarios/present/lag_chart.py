"""Consumer lag over time: a terminal sparkline and a self-contained HTML file with an SVG chart.

Standard library only. ``series`` maps a label (e.g. "payments-0") to lag samples; ``times_ms`` are
the sample times shared by every series.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

BARS = "▁▂▃▄▅▆▇█"
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def sparkline(values: Sequence[int | float], *, top: float | None = None) -> str:
    """One character per value, scaled to ``top`` (default: the largest value); "" for no values."""
    if not values:
        return ""
    top = max(values) if top is None else top
    if top <= 0:
        return BARS[0] * len(values)
    return "".join(BARS[min(len(BARS) - 1, int(v / top * (len(BARS) - 1) + 0.5))] for v in values)


def downsample(values: Sequence[int | float], width: int) -> list[int | float]:
    """At most ``width`` values, each the maximum of its bucket (a lag peak must not vanish)."""
    if len(values) <= width:
        return list(values)
    out = []
    for i in range(width):
        lo, hi = i * len(values) // width, (i + 1) * len(values) // width
        out.append(max(values[lo:max(hi, lo + 1)]))
    return out


def sparklines(series: Mapping[str, Sequence[int]], width: int = 60) -> list[str]:
    """One line per series, all on one scale, with the last value."""
    top = max((max(v) for v in series.values() if v), default=0)
    name_width = max((len(n) for n in series), default=0)
    return [f"{name:<{name_width}} {sparkline(downsample(v, width), top=top)} {v[-1] if v else 0}"
            for name, v in series.items()]


def svg_chart(times_ms: Sequence[int], series: Mapping[str, Sequence[int]], *, title: str,
              marks: Mapping[int, str] | None = None, width: int = 760, height: int = 320) -> str:
    left, right, top_pad, bottom = 56, 16, 30, 40
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    t0 = times_ms[0] if times_ms else 0
    t1 = times_ms[-1] if times_ms else 1
    span = max(1, t1 - t0)
    top = max([max(v) for v in series.values() if v] + [1])

    def x(t: int) -> float:
        return left + (t - t0) / span * plot_w

    def y(v: float) -> float:
        return top_pad + plot_h - v / top * plot_h

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
             f'<text x="{left}" y="18" font-weight="bold">{html.escape(title)}</text>',
             f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{left + plot_w}" y2="{top_pad + plot_h}" stroke="#333"/>',
             f'<line x1="{left}" y1="{top_pad}" x2="{left}" y2="{top_pad + plot_h}" stroke="#333"/>']
    for frac in (0, 0.5, 1):
        v = top * frac
        parts.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.0f}</text>')
    parts.append(f'<text x="{left}" y="{height - 8}">{t0 / 1000:.1f}s</text>')
    parts.append(f'<text x="{left + plot_w}" y="{height - 8}" text-anchor="end">{t1 / 1000:.1f}s</text>')
    for t, label in sorted((marks or {}).items()):
        parts.append(f'<line x1="{x(t):.1f}" y1="{top_pad}" x2="{x(t):.1f}" y2="{top_pad + plot_h}" '
                     'stroke="#999" stroke-dasharray="4 3"/>')
        parts.append(f'<text x="{x(t) + 4:.1f}" y="{top_pad + 12}" fill="#555">{html.escape(label)}</text>')
    for i, (name, values) in enumerate(series.items()):
        colour = COLOURS[i % len(COLOURS)]
        points = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in zip(times_ms, values, strict=False))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        parts.append(f'<text x="{left + plot_w - 110}" y="{top_pad + 16 * (i + 1)}" fill="{colour}">'
                     f'{html.escape(name)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def write_html(path: str | Path, times_ms: Sequence[int], series: Mapping[str, Sequence[int]], *, title: str,
               marks: Mapping[int, str] | None = None) -> Path:
    """A standalone HTML page: the chart, then the samples as a table (so the numbers can be checked)."""
    path = Path(path)
    rows = "\n".join(
        "<tr><td>" + f"{t / 1000:.1f}" + "</td>" + "".join(f"<td>{v[i]}</td>" for v in series.values()) + "</tr>"
        for i, t in enumerate(times_ms)
    )
    head = "".join(f"<th>{html.escape(n)}</th>" for n in series)
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head><body>\n"
            f"{svg_chart(times_ms, series, title=title, marks=marks)}\n"
            f"<table border='1' cellpadding='3'><tr><th>t (s)</th>{head}</tr>\n{rows}\n</table></body></html>\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page)
    return path


def write_lag_chart(path: str | Path, obs: Any, lab: str) -> Path:
    """The chart of every lag watch of one phase (an Observation), marks included."""
    (key, samples), *_ = [(k, v) for k, v in sorted(obs.lag.items()) if v] or [("", [])]
    kind, _, topic = key.partition("/")
    times = [t for t, _ in samples]
    partitions = sorted(samples[-1][1]) if samples else []
    series = {f"{topic}-{p}": [lags.get(p, 0) for _, lags in samples] for p in partitions}
    marks = dict(obs.marks)
    if obs.load_end_ms is not None:
        marks[obs.load_end_ms] = "load ends"
    return write_html(path, times, series, title=f"{lab}: {kind}-service lag on {topic}", marks=marks)
