"""Cut integrated intervals at bucket edges and add up the pieces per bucket, all series at once.

Nearly every interval lies inside one bucket or crosses one edge: those are
added up straight from the samples (:mod:`._near_buckets`). Every other one
is cut here, whole-array: an interval that crosses many edges becomes many
pieces through ``np.repeat``, and pieces are summed per bucket with
``np.bincount``; nothing loops over intervals or buckets.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ._kernel import SATURATED, subtract_saturating
from ._near_buckets import NO_WINDOW, Grid, Samples, near_intervals
from .calendar import MAX_BUCKETS
from .errors import BucketLimitError
from .strategies import Strategy, TrapezoidStrategy
from .timestamps import NS_PER_HOUR

__all__ = ["Buckets", "Intervals", "Samples", "bucketize", "intervals"]

IntArray = npt.NDArray[np.int64]
IndexArray = npt.NDArray[np.intp]
FloatArray = npt.NDArray[np.float64]

LINE = TrapezoidStrategy()  # an extrapolated stretch follows a line, whatever the method


@dataclass(frozen=True)
class Intervals:
    """Integrated intervals of one or more series, grouped by series."""

    series: IndexArray  # series number of each interval
    a: IntArray  # start, ns
    b: IntArray  # end, ns
    p0: FloatArray
    p1: FloatArray
    energy: FloatArray  # the engine's energy of the whole interval (0 for gaps)
    gap: npt.NDArray[np.bool_]
    extrapolated: npt.NDArray[np.bool_]  # beyond the samples: power follows a line

    @classmethod
    def concat(cls, parts: list[Intervals]) -> Intervals:
        """All intervals of ``parts``, one after the other."""
        if len(parts) == 1:
            return parts[0]
        fields = (f.name for f in dataclasses.fields(cls))
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in fields))


@dataclass(frozen=True)
class Buckets:
    """Per output row (series, then time): what :func:`bucketize` adds up."""

    series: IndexArray  # series of the row
    bucket: IndexArray  # index into the edges
    energy: FloatArray
    energy_min: FloatArray
    energy_max: FloatArray
    samples: IntArray
    covered: FloatArray  # fraction of the bucket
    extrapolated: FloatArray  # fraction of the bucket
    largest_gap: IntArray  # ns


def intervals(samples: Samples, at: IndexArray | None = None) -> Intervals:
    """The interval ending at each sample (or at the samples ``at``, ascending), whose
    predecessor is the previous sample of its series, or the series' incoming state for
    its first sample (dropped when there is none).

    An interval is a gap when it lasts longer than ``max_gap_ns``, or when its sample
    is marked as an ``outage`` (a gap whatever its length).
    """
    s = samples
    if at is None:
        at = np.arange(s.ts.size)
    series = np.searchsorted(s.starts, at, side="right") - 1
    first = s.starts[series] == at
    keep = ~first | s.bridged[series]
    if not keep.all():
        at, series, first = at[keep], series[keep], first[keep]
    before = np.maximum(at - 1, 0)  # a series' first sample has none: its state instead
    a = np.where(first, s.bridge_t[series], s.ts[before])
    p0 = np.where(first, s.bridge_p[series], s.ps[before])
    b = s.ts[at]
    # Saturating, as the engine's: a step of more than 292 years is a gap, not a negative one.
    gap = (
        np.zeros(b.size, dtype=bool)
        if s.max_gap_ns is None
        else subtract_saturating(b, a) > s.max_gap_ns
    )
    if s.outage is not None:
        gap |= s.outage[at]
    extrapolated = np.zeros(b.size, dtype=bool)
    return Intervals(series, a, b, p0, s.ps[at], s.increments[at], gap, extrapolated)


def _split_at_edges(
    iv: Intervals,
    edges: IntArray,
    strategy: Strategy,
    factor: float,
    window: tuple[int, int],
) -> tuple[npt.NDArray[np.bool_], IndexArray, _Pieces]:
    """Cut every interval at every edge it crosses, keeping what lies inside ``window``.

    Most intervals lie inside one bucket and the window: they are marked
    ``whole`` (each is one piece, in bucket ``first``) and not cut. The others
    are cut into pieces; the energy up to a cut is the strategy's partial
    energy (the line's, for an extrapolated interval), and a piece that ends
    where its interval does takes the rest of the engine's energy, so the
    pieces of an interval add up to exactly it.
    """
    a, b = iv.a, iv.b
    clipped = window != NO_WINDOW
    if clipped:
        a, b = np.maximum(a, window[0]), np.minimum(b, window[1])
    first = np.searchsorted(edges, a, side="right") - 1
    last = np.searchsorted(edges, b, side="left") - 1  # ending on an edge stops there
    held = a < b  # a 0 s interval (a step) holds no energy and no time
    whole = (first == last) & held
    if clipped:
        whole &= (a == iv.a) & (b == iv.b)
    many = np.flatnonzero(held & ~whole)
    count = last[many] - first[many] + 1
    owner = np.repeat(many, count)
    bucket = first[owner] + np.arange(owner.size) - np.repeat(np.cumsum(count) - count, count)
    lo = np.maximum(a[owner], edges[bucket])
    hi = np.minimum(b[owner], edges[bucket + 1])
    energy = iv.energy[owner]
    cut = np.flatnonzero(((lo != iv.a[owner]) | (hi != iv.b[owner])) & ~iv.gap[owner])
    if cut.size:
        o = owner[cut]
        start, length = iv.a[o], subtract_saturating(iv.b[o], iv.a[o]).astype(np.float64)
        wrapped = length >= SATURATED  # a step beyond int64: its length from floats
        length[wrapped] = iv.b[o][wrapped].astype(np.float64) - start[wrapped].astype(np.float64)
        dt, p0, p1, line = length / NS_PER_HOUR, iv.p0[o], iv.p1[o], iv.extrapolated[o]

        def upto(t: IntArray) -> FloatArray:
            into = subtract_saturating(t, start).astype(np.float64)
            far = into >= SATURATED
            into[far] = t[far].astype(np.float64) - start[far].astype(np.float64)
            f = into / length
            e = np.asarray(strategy.partial_energy(dt, p0, p1, f), dtype=np.float64)
            if line.any():
                e = np.where(line, LINE.partial_energy(dt, p0, p1, f), e)
            return e * factor

        at_hi = np.where(hi[cut] == iv.b[o], energy[cut], upto(hi[cut]))
        at_lo = np.where(lo[cut] == start, 0.0, upto(lo[cut]))
        energy[cut] = at_hi - at_lo
    return whole, first, _Pieces(owner, bucket, hi - lo, energy)


@dataclass(frozen=True)
class _Pieces:
    """The pieces of the intervals cut at edges or at the window."""

    owner: IndexArray  # interval of each piece
    bucket: IndexArray  # index into the edges
    held: IntArray  # ns
    energy: FloatArray


def _sums(
    rows: int,
    row: IndexArray,
    held: IntArray,
    energy: FloatArray,
    p0: FloatArray,
    p1: FloatArray,
    gap: npt.NDArray[np.bool_],
    extrapolated: npt.NDArray[np.bool_],
    factor: float,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Per output row: energy, its lower and upper bound, ns held and ns extrapolated."""
    if gap.any():
        held = np.where(gap, 0, held)

    def per_row(weights: npt.ArrayLike) -> FloatArray:
        return np.asarray(np.bincount(row, weights, rows), dtype=np.float64)

    hours = held * (factor / NS_PER_HOUR)  # ns below 2**53 are exact in float64: 104 days
    return (
        per_row(energy),
        per_row(np.minimum(p0, p1) * hours),  # in hours before the product: power near the
        per_row(np.maximum(p0, p1) * hours),  # float64 limit times ns would overflow
        per_row(held),
        per_row(np.where(extrapolated, held, 0)) if extrapolated.any() else np.zeros(rows),
    )


def _cut_sums(iv: Intervals, grid: Grid) -> tuple[list[FloatArray], IntArray]:
    """The sums of ``iv`` cut at the edges and the window, and each row's largest gap."""
    row_of, rows, factor = grid.row_of, grid.rows, grid.factor
    edges, strategy, window = grid.edges, grid.strategy, grid.window
    whole, in_bucket, pieces = _split_at_edges(iv, edges, strategy, factor, window)
    # The whole intervals are added up where they stand (the others with weight 0 in row 0),
    # the pieces of the cut ones after them.
    row = np.where(whole, row_of[iv.series] + in_bucket, 0)
    held = np.where(whole, iv.b - iv.a, 0)  # inside one bucket: no overflow
    energy = np.where(whole, iv.energy, 0.0)
    sums = list(_sums(rows, row, held, energy, iv.p0, iv.p1, iv.gap, iv.extrapolated, factor))
    o = pieces.owner
    piece_row = row_of[iv.series[o]] + pieces.bucket
    if o.size:
        cut = _sums(
            rows, piece_row, pieces.held, pieces.energy, iv.p0[o], iv.p1[o], iv.gap[o],
            iv.extrapolated[o], factor,
        )  # fmt: skip
        sums = [w + c for w, c in zip(sums, cut, strict=True)]
    largest_gap = np.zeros(rows, dtype=np.int64)
    if iv.gap.any():
        gap = np.flatnonzero(whole & iv.gap)
        np.maximum.at(largest_gap, row[gap], subtract_saturating(iv.b[gap], iv.a[gap]))
        gap = np.flatnonzero(iv.gap[o])
        if gap.size:
            g = o[gap]
            np.maximum.at(largest_gap, piece_row[gap], subtract_saturating(iv.b[g], iv.a[g]))
    return sums, largest_gap


def bucketize(
    samples: Samples | None,
    extra: Intervals | None,
    span_lo: IntArray,
    span_hi: IntArray,
    edges: IntArray,
    strategy: Strategy,
    factor: float,
    window: tuple[int, int] = NO_WINDOW,
) -> Buckets:
    """Buckets of all series at once, on the one grid ``edges``.

    The intervals are those ending at the ``samples`` (none when None; then
    no sample is counted either) and the ``extra`` ones (extrapolated
    stretches). Series ``s`` gets every bucket from the one holding
    ``span_lo[s]`` to the one holding ``span_hi[s]`` (none when
    ``span_hi[s] < span_lo[s]``); rows are grouped by series, then in time
    order. Only time inside ``window`` (ns, end excluded for samples) is counted.

    Each piece of an interval from :math:`(t_0, p_0)` to :math:`(t_1, p_1)` also
    bounds its energy: if power moves monotonically between the samples, the
    piece of length :math:`\\delta` holds between :math:`\\min(p_0, p_1)\\,\\delta`
    and :math:`\\max(p_0, p_1)\\,\\delta`; gaps hold 0.
    """
    first = np.searchsorted(edges, span_lo, side="right") - 1
    count = np.maximum(np.searchsorted(edges, span_hi, side="right") - first, 0)
    rows = int(count.sum())
    if rows > MAX_BUCKETS:  # before allocating them
        raise BucketLimitError(
            f"the result would hold {rows:,} buckets over {count.size:,} series, more than "
            f"MAX_BUCKETS={MAX_BUCKETS:,}; choose a longer every or fewer meters per call"
        )
    series = np.repeat(np.arange(count.size), count)
    row0 = np.cumsum(count) - count
    bucket = first[series] + np.arange(rows) - row0[series]
    grid = Grid(row0 - first, edges, rows, strategy, factor, window)

    sums = [np.zeros(rows) for _ in range(5)]
    samples_per_row = np.zeros(rows, dtype=np.int64)
    cut = extra
    if samples is not None and samples.ts.size:
        sums, samples_per_row, rest = near_intervals(samples, grid)
        left = intervals(samples, rest)
        cut = left if extra is None else Intervals.concat([left, extra])
    largest_gap = np.zeros(rows, dtype=np.int64)
    if cut is not None and cut.series.size:
        more, largest_gap = _cut_sums(cut, grid)
        sums = [w + c for w, c in zip(sums, more, strict=True)]
    length = edges[bucket + 1] - edges[bucket]
    energy, energy_min, energy_max, held_ns, extrapolated_ns = sums
    return Buckets(
        series,
        bucket,
        energy,
        energy_min,
        energy_max,
        samples_per_row,
        held_ns / length,
        extrapolated_ns / length,
        largest_gap,
    )
