"""Stretches beyond a series' samples, up to a window's start or end (``extrapolate=``).

* ``"locf"`` holds the last sample's power forward to the end (the last
  observation carried forward); nothing comes before the first sample.
* ``"linear"`` extends the line of a series' last interval forward to the end
  and the line of its first interval back to the start; a series with one
  sample, or whose outermost interval is a gap or lasts 0 s, is held constant.

The backward stretch is only for a series without an incoming state: with one,
the bridge from the state's last sample already reaches back. Each stretch is
an interval of its own, integrated as the line it is (constant or not,
whatever the method), longer than ``max_gap`` a gap like any other, and a gap
too after an open outage (a state's ``outage``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ._buckets import LINE, Intervals
from ._kernel import SATURATED, subtract_saturating
from .timestamps import NS_PER_HOUR

__all__ = ["EXTRAPOLATE", "extrapolation"]

#: How energy_by_interval may extend a series beyond its samples (None: not at all).
EXTRAPOLATE: tuple[str, ...] = ("locf", "linear")

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.intp]


def _owns(iv: Intervals, k: npt.NDArray[np.intp], s: IndexArray) -> npt.NDArray[np.bool_]:
    """Where interval ``k`` exists and belongs to series ``s``."""
    ok = (k >= 0) & (k < iv.series.size)
    ok[ok] = iv.series[k[ok]] == s[ok]
    return ok


def _slope(iv: Intervals, k: npt.NDArray[np.intp], usable: npt.NDArray[np.bool_]) -> FloatArray:
    """Power per ns along intervals ``k`` where ``usable``, 0 elsewhere."""
    ok = usable.copy()
    ok[usable] = ~iv.gap[k[usable]] & (iv.b[k[usable]] > iv.a[k[usable]])
    slope = np.zeros(k.size)
    j = k[ok]
    slope[ok] = (iv.p1[j] - iv.p0[j]) / (iv.b[j] - iv.a[j]).astype(np.float64)
    return slope


def extrapolation(
    iv: Intervals,
    ts: IntArray,
    ps: FloatArray,
    starts: npt.NDArray[np.intp],
    bridged: npt.NDArray[np.bool_],
    open_outage: npt.NDArray[np.bool_],
    how: str,
    start: int | None,
    end: int | None,
    factor: float,
    max_gap_ns: int | None,
) -> Intervals:
    """The extrapolated intervals of every series (``iv`` holds its real ones).

    Examples
    --------
    Samples 1, 2, 3, 4 at 1–4 ns extended linearly to [0, 5 ns] (power 0 and 5 there):

    >>> from energy_integral._buckets import Samples, intervals
    >>> ts, ps = np.arange(1, 5), np.arange(1.0, 5.0)
    >>> none = np.zeros(1, dtype=bool)
    >>> iv = intervals(Samples(ts, ps, np.zeros(4), np.array([0]), np.zeros(1, np.int64),
    ...                        np.zeros(1), none, None))
    >>> ext = extrapolation(iv, ts, ps, np.array([0]), none, none, "linear", 0, 5, 1.0, None)
    >>> ext.a.tolist(), ext.b.tolist(), ext.p0.tolist(), ext.p1.tolist()
    ([0, 4], [1, 5], [0.0, 4.0], [1.0, 5.0])
    """
    n_series = starts.size
    series = np.arange(n_series)
    last = np.append(starts[1:], ts.size) - 1
    parts: list[tuple[IntArray, IntArray, IntArray, FloatArray, FloatArray, npt.NDArray[np.bool_]]]
    parts = []
    if start is not None and how == "linear":
        s = series[~bridged & (ts[starts] > start)]
        k = np.searchsorted(iv.series, s, side="left")  # each series' first interval
        p_first = ps[starts[s]]
        p_start = p_first - _slope(iv, k, _owns(iv, k, s)) * (ts[starts[s]] - start)
        parts.append((s, np.full(s.size, start), ts[starts[s]], p_start, p_first, s < 0))
    if end is not None:
        s = series[ts[last] < end]
        k = np.searchsorted(iv.series, s, side="right") - 1  # each series' last interval
        p_last = ps[last[s]]
        slope = _slope(iv, k, _owns(iv, k, s)) if how == "linear" else np.zeros(s.size)
        p_end = p_last + slope * (end - ts[last[s]])
        parts.append((s, ts[last[s]], np.full(s.size, end), p_last, p_end, open_outage[s]))
    if not parts:
        parts.append((series[:0], ts[:0], ts[:0], ps[:0], ps[:0], np.zeros(0, dtype=bool)))
    s, a, b, p0, p1, closed = (np.concatenate(column) for column in zip(*parts, strict=True))
    span = subtract_saturating(b, a)  # a window may end centuries after the last sample
    gap = closed | (np.zeros(s.size, dtype=bool) if max_gap_ns is None else span > max_gap_ns)
    far = np.abs(span) >= SATURATED
    hours = np.where(far, b.astype(np.float64) - a.astype(np.float64), span) / NS_PER_HOUR
    energy = np.where(gap, 0.0, LINE.interval_energy(hours, p0, p1) * factor)
    return Intervals(s.astype(np.intp), a, b, p0, p1, energy, gap, np.ones(s.size, dtype=bool))
