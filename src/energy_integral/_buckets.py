"""Cut integrated intervals at bucket edges and add up the pieces per bucket, all series at once.

Everything here is whole-array: an interval that crosses many edges becomes
many pieces through ``np.repeat``, and pieces are summed per bucket with
``np.bincount``; nothing loops over samples, intervals or buckets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ._kernel import SATURATED, subtract_saturating
from ._segments import segment_ids
from .calendar import MAX_BUCKETS
from .errors import BucketLimitError
from .strategies import Strategy
from .timestamps import NS_PER_HOUR

__all__ = ["Intervals", "bucketize", "intervals"]

IntArray = npt.NDArray[np.int64]
IndexArray = npt.NDArray[np.intp]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Intervals:
    """Integrated intervals of one or more series, grouped by series and in time order."""

    series: IndexArray  # series number of each interval
    a: IntArray  # start, ns
    b: IntArray  # end, ns
    p0: FloatArray
    p1: FloatArray
    energy: FloatArray  # the engine's energy of the whole interval (0 for gaps)
    gap: npt.NDArray[np.bool_]


def intervals(
    ts: IntArray,
    ps: FloatArray,
    increments: FloatArray,
    starts: npt.NDArray[np.intp],
    bridge_t: IntArray,
    bridge_p: FloatArray,
    bridged: npt.NDArray[np.bool_],
    max_gap_ns: int | None,
) -> Intervals:
    """The interval ending at each sample, whose predecessor is the previous sample of its
    series, or the series' incoming state for its first sample (dropped when there is none)."""
    a = np.empty_like(ts)
    a[1:] = ts[:-1]
    a[starts] = bridge_t
    p0 = np.empty_like(ps)
    p0[1:] = ps[:-1]
    p0[starts] = bridge_p
    keep = np.ones(ts.size, dtype=bool)
    keep[starts[~bridged]] = False
    series = segment_ids(starts, ts.size)[keep]
    a, b = a[keep], ts[keep]
    # Saturating, as the engine's: a step of more than 292 years is a gap, not a negative one.
    gap = (
        np.zeros(b.size, dtype=bool)
        if max_gap_ns is None
        else subtract_saturating(b, a) > max_gap_ns
    )
    return Intervals(series, a, b, p0[keep], ps[keep], increments[keep], gap)


def _split_at_edges(
    iv: Intervals,
    edges: IntArray,
    strategy: Strategy,
    factor: float,
) -> tuple[IndexArray, IndexArray, IntArray, IntArray, FloatArray]:
    """Cut every interval at every edge it crosses.

    Returns, per piece: its interval, its bucket (index into ``edges``), its
    start and end (ns) and its energy. The energy up to an edge is the
    strategy's partial energy; an interval's last piece takes the rest of the
    engine's energy, so the pieces of an interval add up to exactly it.
    """
    first = np.searchsorted(edges, iv.a, side="right") - 1
    last = np.searchsorted(edges, iv.b, side="left") - 1  # an interval ending on an edge stops
    count = last - first + 1
    owner = np.repeat(np.arange(iv.a.size), count)
    bucket = first[owner] + np.arange(owner.size) - np.repeat(np.cumsum(count) - count, count)
    lo = np.maximum(iv.a[owner], edges[bucket])
    hi = np.minimum(iv.b[owner], edges[bucket + 1])
    energy = iv.energy[owner]
    cut = np.flatnonzero((count[owner] > 1) & ~iv.gap[owner])
    if cut.size:
        o = owner[cut]
        a, length = iv.a[o], subtract_saturating(iv.b[o], iv.a[o]).astype(np.float64)
        wrapped = length >= SATURATED  # a step beyond int64: its length from floats
        length[wrapped] = iv.b[o][wrapped].astype(np.float64) - a[wrapped].astype(np.float64)
        dt, p0, p1 = length / NS_PER_HOUR, iv.p0[o], iv.p1[o]

        def upto(t: IntArray) -> FloatArray:
            into = subtract_saturating(t, a).astype(np.float64)
            far = into >= SATURATED
            into[far] = t[far].astype(np.float64) - a[far].astype(np.float64)
            f = into / length
            return np.asarray(strategy.partial_energy(dt, p0, p1, f), dtype=np.float64) * factor

        at_hi = np.where(hi[cut] == iv.b[o], energy[cut], upto(hi[cut]))
        at_lo = np.where(lo[cut] == a, 0.0, upto(lo[cut]))
        energy[cut] = at_hi - at_lo
    return owner, bucket, lo, hi, energy


def bucketize(
    iv: Intervals,
    ts: IntArray,
    starts: npt.NDArray[np.intp],
    span_lo: IntArray,
    span_hi: IntArray,
    edges: IntArray,
    strategy: Strategy,
    factor: float,
) -> tuple[IndexArray, IndexArray, FloatArray, IntArray, FloatArray, IntArray]:
    """Buckets of all series at once: series, bucket index, energy, samples, covered, gap.

    Series ``s`` gets every bucket from the one holding ``span_lo[s]`` to the
    one holding ``span_hi[s]``, all series on the one grid ``edges``; output
    rows are grouped by series, then in time order.
    """
    first = np.searchsorted(edges, span_lo, side="right") - 1
    count = np.searchsorted(edges, span_hi, side="right") - first
    rows = int(count.sum())
    if rows > MAX_BUCKETS:  # before allocating them
        raise BucketLimitError(
            f"the result would hold {rows:,} buckets over {count.size:,} series, more than "
            f"MAX_BUCKETS={MAX_BUCKETS:,}; choose a longer every or fewer meters per call"
        )
    series = np.repeat(np.arange(count.size), count)
    row0 = np.cumsum(count) - count
    bucket = first[series] + np.arange(rows) - row0[series]
    row_of = row0 - first  # series s's bucket j is row row_of[s] + j

    owner, piece_bucket, lo, hi, piece_energy = _split_at_edges(iv, edges, strategy, factor)
    piece_row = row_of[iv.series[owner]] + piece_bucket
    gap = iv.gap[owner]
    energy = np.asarray(np.bincount(piece_row, piece_energy, rows), dtype=np.float64)
    # ns counts below 2**53 are exact in float64: up to 104 days of cover per bucket.
    covered_ns = np.bincount(piece_row, weights=np.where(gap, 0, hi - lo), minlength=rows)
    covered = covered_ns / (edges[bucket + 1] - edges[bucket])
    sample_row = row_of[segment_ids(starts, ts.size)] + np.searchsorted(edges, ts, "right") - 1
    samples = np.bincount(sample_row, minlength=rows).astype(np.int64)
    largest_gap = np.zeros(rows, dtype=np.int64)
    np.maximum.at(largest_gap, piece_row[gap], subtract_saturating(iv.b, iv.a)[owner[gap]])
    return series, bucket, energy, samples, covered, largest_gap
