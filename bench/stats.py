"""Percentiles without numpy on the hot path of the report."""

from __future__ import annotations

import math


def percentile(sorted_values: list[float], q: float) -> float:
    """The ``q`` percentile (0..100) of already sorted values, by linear interpolation."""
    if not sorted_values:
        return math.nan
    pos = (len(sorted_values) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50_ms": percentile(ordered, 50), "p95_ms": percentile(ordered, 95), "p99_ms": percentile(ordered, 99),
            "max_ms": ordered[-1] if ordered else math.nan, "samples": float(len(ordered))}
