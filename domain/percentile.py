"""Nearest-rank percentiles: the p-th percentile of n sorted values is the value at rank ceil(p·n/100), so the
median of an even count is the lower middle value and every percentile is an observed value."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

N = TypeVar("N", int, float)


def nearest_rank(values: Sequence[N], percent: float) -> N | None:
    """The nearest-rank percentile of `values` (None when there are none)."""
    if not values:
        return None
    return nearest_rank_sorted(sorted(values), percent)


def nearest_rank_sorted(ordered: Sequence[N], percent: float) -> N | None:
    """`nearest_rank` of values already in ascending order (no sort)."""
    if not ordered:
        return None
    return ordered[max(1, math.ceil(percent * len(ordered) / 100)) - 1]
