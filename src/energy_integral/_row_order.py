"""Rows in (meter, time) order: the order every per-meter pass of the fleet engine needs.

Shared by the engine and by the bucketing of its result (``energy_by_interval(...,
fleet=)``), so that a batch is ordered the same way, and as cheaply, by both.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ._segments import grouping_order, segmented_argsort

__all__ = ["is_grouped_sorted", "meter_time_order"]

IntArray = npt.NDArray[np.intp]


def meter_time_order(
    codes: npt.NDArray[np.int64], t: npt.NDArray[np.int64], valid: IntArray | None
) -> tuple[IntArray | None, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The rows ``valid`` ordered by (meter code, time), stable so ties keep input order.

    Returns their positions (None: every row, already in order) and their codes
    and times in that order. ``valid`` None means every row; codes are
    non-negative. The same order as ``valid[np.lexsort((t[valid], codes[valid]))]``.

    >>> rows, c, tt = meter_time_order(np.array([1, 0, 1, 0]), np.array([5, 9, 3, 9]), None)
    >>> rows.tolist(), c.tolist(), tt.tolist()
    ([1, 3, 2, 0], [0, 0, 1, 1], [9, 9, 3, 5])
    """
    c, tt = (codes, t) if valid is None else (codes[valid], t[valid])
    if is_grouped_sorted(c, tt):
        return valid, c, tt
    # Group by meter in one sort of packed values, then sort each meter's times in short
    # per-meter sorts, which beat one global sort. A batch in time order (as a stream
    # delivers) is sorted within each meter once grouped, and skips the second step.
    order = grouping_order(c)
    tt = np.take(tt, order)  # np.take gathers ~20 % faster than indexing
    sizes = np.bincount(c)  # the grouped codes, written in order rather than gathered
    c = np.repeat(np.arange(sizes.size, dtype=c.dtype), sizes)
    starts = (np.cumsum(sizes) - sizes)[sizes > 0]
    if not is_grouped_sorted(c, tt):
        within = segmented_argsort(tt, starts)  # moves rows inside their meter only,
        order = np.take(order, within)  # codes stay as they are; one gather at a time
        tt = np.take(tt, within)  # keeps a single stale copy alive
    return (order if valid is None else valid[order]), c, tt


def is_grouped_sorted(c: npt.NDArray[Any], t: npt.NDArray[np.int64]) -> bool:
    """True when ``c`` is non-decreasing and ``t`` non-decreasing within each run of ``c``.

    >>> is_grouped_sorted(np.array([0, 0, 1]), np.array([1, 2, 0]))
    True
    >>> is_grouped_sorted(np.array([0, 1, 0]), np.array([1, 2, 3]))
    False
    """
    head_c, head_t = c[:1024], t[:1024]  # a shuffled batch gives itself away at once
    if not _grouped_sorted_mask(head_c, head_t).all():
        return False
    return bool(_grouped_sorted_mask(c, t).all())


def _grouped_sorted_mask(c: npt.NDArray[Any], t: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    return np.asarray((c[1:] > c[:-1]) | ((c[1:] == c[:-1]) & (t[1:] >= t[:-1])))
