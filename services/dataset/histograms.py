"""Histograms of lengths (characters, estimated tokens) over every row, on one fixed scheme of bucket bounds.

Bucket i holds the integer values from its lower bound to `upper_bounds[i]`, both included: the lower
bound is `lower_bound` for the first bucket and the previous upper bound plus one after it. The bounds
are every integer up to 8, then four buckets per doubling (10, 12, 14, 16, 20, 24, 28, 32, 40, ...,
384, 448, 512, 640, ...), so the number of values over any bound (say a max sequence length of 512 or
384) is exact, lengths of every size get a readable number of buckets, and histograms of two datasets
line up. Empty buckets before the first and after the last value are left out.
"""

from __future__ import annotations

import numpy as np

_SMALL = 8  # every integer up to here is its own bucket
_PER_DOUBLING = 4


def bucket_bounds(up_to: int) -> np.ndarray:
    """The scheme's upper bounds, ascending, up to the first one at or above `up_to`."""
    bounds = list(range(_SMALL + 1))
    base = _SMALL
    while bounds[-1] < up_to:
        step = base // _PER_DOUBLING
        bounds += [base + step * j for j in range(1, _PER_DOUBLING + 1)]
        base *= 2
    bounds = np.array(bounds, dtype=np.int64)
    return bounds[: np.searchsorted(bounds, up_to) + 1]


def empty_histogram() -> dict:
    return {"lower_bound": 0, "upper_bounds": [], "counts": []}


def histogram(values: np.ndarray) -> dict:
    """`{"lower_bound", "upper_bounds", "counts"}` of non-negative integer `values` (no buckets when none)."""
    if not len(values):
        return empty_histogram()
    bounds = bucket_bounds(int(values.max()))
    counts = np.bincount(np.searchsorted(bounds, values, side="left"), minlength=len(bounds))
    used = np.flatnonzero(counts)
    first, last = int(used[0]), int(used[-1])
    return {
        "lower_bound": int(bounds[first - 1]) + 1 if first else 0,
        "upper_bounds": bounds[first : last + 1].tolist(),
        "counts": counts[first : last + 1].tolist(),
    }
