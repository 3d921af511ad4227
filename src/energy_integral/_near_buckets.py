"""The intervals that lie inside one bucket or cross one edge, added up from the samples.

At a minute's spacing and 15-minute buckets that is every interval but a
series' first, a gap or a step of 0 s: each adds up in its sample's row by
``np.bincount``, without an interval of its own being built. The samples go
through in blocks, whose temporaries stay in cache and reuse their memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ._kernel import SATURATED, subtract_saturating
from .strategies import Strategy
from .timestamps import NAT, NS_PER_HOUR

__all__ = ["NO_WINDOW", "Grid", "Samples", "near_intervals"]

IntArray = npt.NDArray[np.int64]
IndexArray = npt.NDArray[np.intp]
FloatArray = npt.NDArray[np.float64]

#: The window of a call without ``start`` or ``end``: all time counts.
NO_WINDOW: tuple[int, int] = (NAT, int(np.iinfo(np.int64).max))


@dataclass(frozen=True)
class Samples:
    """A batch's accepted samples, grouped by series, each in time order."""

    ts: IntArray
    ps: FloatArray
    increments: FloatArray  # the engine's energy of the interval ending at each sample
    starts: npt.NDArray[np.intp]  # first position of each series
    bridge_t: IntArray  # per series: last sample of its incoming state (ns) ...
    bridge_p: FloatArray  # ... and its power,
    bridged: npt.NDArray[np.bool_]  # ... where the series has a state
    max_gap_ns: int | None
    outage: npt.NDArray[np.bool_] | None = None  # per sample: its interval is an outage


@dataclass(frozen=True)
class Grid:
    """What intervals are added up into: series ``s``'s bucket ``j`` is row ``row_of[s] + j``
    of ``rows``, bucket ``j`` spans ``edges[j]`` to ``edges[j + 1]``, only time inside
    ``window`` counts, and energy is the ``strategy``'s, times ``factor`` (units)."""

    row_of: IndexArray
    edges: IntArray
    rows: int
    strategy: Strategy
    factor: float
    window: tuple[int, int]

    @property
    def windowed(self) -> bool:
        """Whether only part of the time counts (``start`` or ``end`` was given)."""
        return self.window != NO_WINDOW


def _search(t: IntArray, edges: IntArray) -> IndexArray:
    """The bucket holding each of ``t`` (``-1`` before the first edge)."""
    return np.searchsorted(edges, t, side="right") - 1


def _even_width(edges: IntArray) -> int | None:
    """The width of every bucket, if all are alike and ``t - edges[0]`` always fits int64.

    >>> _even_width(np.array([10, 20, 30])), _even_width(np.array([10, 20, 40]))
    (10, None)
    """
    width = int(edges[1] - edges[0]) if edges.size > 1 else 0
    span = int(edges[-1]) - int(edges[0])  # a Python int: the span may not fit int64
    if width <= 0 or span >= SATURATED or not (np.diff(edges) == width).all():
        return None
    return width


#: Samples per pass of :func:`near_intervals`: a block's temporaries stay in cache
#: and their memory is reused, where batch-sized ones would each fault in fresh pages.
_BLOCK = 1 << 15


def near_intervals(samples: Samples, grid: Grid) -> tuple[list[FloatArray], IntArray, IndexArray]:
    """The sums of the intervals that lie inside one bucket or cross one edge (inside the
    window), straight from the samples; with each row's samples, and the samples whose
    interval is not among them.

    Nearly every interval ends in the bucket it starts in, or in the next: it adds up by
    ``np.bincount`` in its sample's row (or the one before, ending on the edge), the
    second piece of a crossing one there too and its first piece in the row before,
    with no interval of its own built. What is left (a series' first interval, a gap,
    a step of 0 s, one that crosses several edges or leaves the window) is cut by
    :func:`~._buckets.bucketize`.
    """
    s, n = samples, samples.ts.size
    edges, windowed = grid.edges, grid.windowed
    # Without a window every sample lies inside the edges, and rows only grow.
    width = None if windowed else _even_width(edges)
    offset = np.repeat(grid.row_of, np.diff(np.append(s.starts, n)))  # row of bucket 0, per sample
    sums = [np.zeros(grid.rows) for _ in range(5)]  # the last, extrapolated time, stays 0
    counts = np.zeros(grid.rows, dtype=np.int64)
    rest = [np.zeros(min(n, 1), dtype=np.intp)]  # the first sample starts a series
    for i in range(0, n, _BLOCK):
        # Samples i .. i + _BLOCK, and the one before as the start of the first interval.
        j = max(i - 1, 0)
        block = slice(j, min(i + _BLOCK, n))
        t = s.ts[block]
        in_bucket = _search(t, edges) if width is None else (t - edges[0]) // width
        row = in_bucket + offset[block]
        _count(counts, row[i - j :], t[i - j :], grid)
        if t.size < 2:
            continue
        # An interval ending on the first edge of its sample's bucket lies in the bucket
        # before; -1 marks the ones not taken here, whatever they cross.
        on_edge = edges[np.maximum(in_bucket[1:], 0) if windowed else in_bucket[1:]] == t[1:]
        crossed = in_bucket[1:] - in_bucket[:-1]
        crossed -= on_edge
        first = np.searchsorted(s.starts, [j + 1, block.stop])
        crossed[s.starts[first[0] : first[1]] - (j + 1)] = -1  # a series' first sample
        if s.max_gap_ns is not None or s.outage is not None or windowed:
            np.putmask(crossed, ~_kept(s, t, slice(j + 1, block.stop), grid), -1)
        energy = s.increments[j + 1 : block.stop]
        left = _add_block(sums, t, s.ps[block], energy, in_bucket, row[1:] - on_edge, crossed,
                          grid)  # fmt: skip
        rest.append(j + 1 + left)
    return sums, counts, np.concatenate(rest)


def _kept(s: Samples, t: IntArray, after: slice, grid: Grid) -> npt.NDArray[np.bool_]:
    """Of the intervals ending at ``t[1:]``, those neither a gap nor leaving the window."""
    keep = np.ones(t.size - 1, dtype=bool)
    if s.max_gap_ns is not None:
        keep &= subtract_saturating(t[1:], t[:-1]) <= s.max_gap_ns
    if s.outage is not None:
        keep &= ~s.outage[after]
    if grid.windowed:
        keep &= (t[:-1] >= grid.window[0]) & (t[1:] <= grid.window[1])
    return keep


def _add_block(
    sums: list[FloatArray],
    t: IntArray,
    p: FloatArray,
    energy: FloatArray,
    in_bucket: IndexArray,
    last: IndexArray,
    crossed: IndexArray,
    grid: Grid,
) -> IndexArray:
    """Add the block's intervals ``(t[k], t[k + 1])`` that cross no edge or one (``crossed``
    0 or 1), ending in row ``last[k]``, to ``sums``; return the positions ``k`` of the others.

    An interval from :math:`(t_0, p_0)` to :math:`(t_1, p_1)` across the edge :math:`e`
    is cut at :math:`f = (e - t_0) / (t_1 - t_0)`: the row before gets the strategy's
    partial energy :math:`E_f`, this row the rest :math:`E - E_f` of the engine's energy
    :math:`E`, so the two pieces add up to it exactly. Each piece of length
    :math:`\\delta` is bounded by :math:`\\min(p_0, p_1)\\,\\delta` and
    :math:`\\max(p_0, p_1)\\,\\delta`.
    """
    edges, strategy, factor = grid.edges, grid.strategy, grid.factor
    taken = crossed.view(np.uint64) <= 1  # -1 and more than one edge are not
    left = np.flatnonzero(~taken)
    if left.size == taken.size:
        return left
    if grid.windowed:  # outside the window a sample may have no row
        r0 = max(int(last[taken].min()) - 1, 0)
        last = np.where(taken, last - r0, 0)
    else:  # rows only grow, and the first piece of a crossing one is one row before
        r0 = max(int(last[0]) - 1, 0)
        last -= r0
        last[left] = 0  # a step of 0 s on the first edge would point before row 0
    held = t[1:] - t[:-1]  # for the ones taken here: no overflow
    held[left] = 0
    energy = np.where(taken, energy, 0.0)
    c = np.flatnonzero(crossed == 1)
    if c.size:  # cut at the edge: the second piece here, the first in the row before
        a, b, edge = t[c], t[c + 1], edges[in_bucket[c] + 1]
        length = (b - a).astype(np.float64)
        into = strategy.partial_energy(
            length / NS_PER_HOUR, p[c], p[c + 1], (edge - a).astype(np.float64) / length
        )  # fmt: skip
        into = np.asarray(into, dtype=np.float64) * factor
        energy[c] -= into
        held[c] = b - edge
        low, high = np.minimum(p[c], p[c + 1]), np.maximum(p[c], p[c + 1])
        hours = (edge - a) * (factor / NS_PER_HOUR)
        before = last[c] - 1
        for total, w in zip(sums[:4], (into, low * hours, high * hours, edge - a), strict=True):
            _add_rows(total, r0, before, w)
    hours = held * (factor / NS_PER_HOUR)
    low, high = np.minimum(p[1:], p[:-1]), np.maximum(p[1:], p[:-1])
    low *= hours
    high *= hours
    for total, w in zip(sums[:4], (energy, low, high, held), strict=True):
        _add_rows(total, r0, last, w)
    return left


def _count(counts: IntArray, row: IndexArray, t: IntArray, grid: Grid) -> None:
    """Add the samples at times ``t`` inside the window to the ``counts`` of their ``row``."""
    if grid.windowed:
        row = row[(t >= grid.window[0]) & (t < grid.window[1])]
    if row.size:
        r0 = int(row.min()) if grid.windowed else int(row[0])  # without a window rows only grow
        _add_rows(counts, r0, row - r0)


def _add_rows(
    total: npt.NDArray[Any], r0: int, rows: IndexArray, weights: FloatArray | None = None
) -> None:
    """``total[r0 + k] += weights`` summed over the entries whose row is ``k``: a block's
    rows are a short range from ``r0``, so its bincount stays small.

    >>> total = np.zeros(4)
    >>> _add_rows(total, 1, np.array([0, 2, 0]), np.array([1.0, 2.0, 3.0]))
    >>> total.tolist()
    [0.0, 4.0, 0.0, 2.0]
    """
    part = np.bincount(rows, weights)
    total[r0 : r0 + part.size] += part
