"""Several runs of a cell, summarised: the median of every figure and its spread.

The spread is min–max; with four runs or more the interquartile range is given too (fewer runs give
no honest quartiles). Figures are flattened to dotted names (``latency_ms.p99``).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any


def flatten(figures: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """The numeric leaves of nested figures; booleans, strings and None are left out."""
    flat: dict[str, float] = {}
    for key, value in figures.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            flat[name] = float(value)
    return flat


def spread(values: Sequence[float]) -> dict[str, Any]:
    ordered = sorted(values)
    out: dict[str, Any] = {"median": statistics.median(ordered), "min": ordered[0], "max": ordered[-1],
                           "n": len(ordered)}
    if len(ordered) >= 4:
        q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
        out["iqr"] = [q1, q3]
    return out


def summarise_runs(runs: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """For each figure every run has: median, min, max, n (and iqr from four runs on)."""
    if not runs:
        return {}
    flat = [flatten(run) for run in runs]
    names = [n for n in flat[0] if all(n in f for f in flat[1:])]
    return {name: spread([f[name] for f in flat]) for name in names}


def medians(summary: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    return {name: s["median"] for name, s in summary.items()}
