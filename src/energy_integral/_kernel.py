"""The vectorised heart shared by :func:`integrate` and :func:`integrate_meters`.

Time differences are int64 nanoseconds, which hold ~292 years; two samples
further apart (a 1700 reading next to a 2250 one) would wrap to a negative or
wrong interval. Every difference here is *saturating*: one that does not fit
becomes ``±INT64_MAX`` (longer than any ``max_gap``, and of the right sign for
order checks), and its length in hours is computed exactly from the two times
in floating point, so its energy is right too.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .strategies import Strategy
from .timestamps import NS_PER_HOUR

__all__ = [
    "SATURATED",
    "gap_intervals",
    "interval_hours",
    "interval_increments",
    "previous_times",
    "subtract_saturating",
    "time_steps",
]

#: A time difference that does not fit int64 nanoseconds is stored as ``±SATURATED``.
SATURATED: int = int(np.iinfo(np.int64).max)
_INT64_MIN = np.iinfo(np.int64).min

IntArray = npt.NDArray[np.int64]

_BLOCK = 1 << 14  # elements converted in place at a time (128 KiB)


def subtract_saturating(a: IntArray, b: IntArray, out: IntArray | None = None) -> IntArray:
    """``a - b`` where it fits ``±SATURATED``, else that with the true difference's sign.

    >>> ns_1700, ns_2250 = -8_835_984_000_000_000_000, 8_520_652_800_000_000_000
    >>> subtract_saturating(np.array([ns_2250, 5]), np.array([ns_1700, 2])).tolist()
    [9223372036854775807, 3]
    """
    out = np.subtract(a, b, out=out)
    # a - b overflowed exactly when a and b differ in sign and the result's sign is not a's.
    # Its one exact value int64's minimum is clipped too: it is NaT's, and its abs wraps.
    wrapped = (((a ^ b) & (a ^ out)) < 0) | (out == _INT64_MIN)
    if wrapped.any():
        out[wrapped] = np.where(np.asarray(a)[wrapped] > np.asarray(b)[wrapped], 1, -1) * SATURATED
    return out


def _may_wrap(t: IntArray, low: int) -> bool:
    """Whether two values of ``t`` (whose minimum is ``low``) can be further apart than int64
    holds: only if one is before 1970."""
    return t.size > 1 and low < 0 and int(t.max()) - low > SATURATED


def time_steps(t: IntArray, low: int | None = None) -> IntArray:
    """``t[i] - t[i - 1]`` (saturating) at every ``i >= 1``; entry 0 is left unset.

    A series' first step bridges from its state, so the caller writes it (and
    every other series start of a fleet) itself. ``low`` is ``t.min()`` if the
    caller has it already (it saves a pass).
    """
    dt_ns = np.empty_like(t)
    if t.size and _may_wrap(t, int(t.min()) if low is None else low):
        subtract_saturating(t[1:], t[:-1], out=dt_ns[1:])
    else:
        np.subtract(t[1:], t[:-1], out=dt_ns[1:])
    return dt_ns


def previous_times(
    t: IntArray,
    starts: npt.NDArray[np.intp],
    bridge_t: IntArray,
    rows: npt.NDArray[np.intp],
) -> IntArray:
    """The time of the sample before each of ``rows``: its series' previous one, or for a
    series' first row that series' ``bridge_t`` (exact even where the step saturated)."""
    return _previous_times(t, starts, bridge_t, rows, _series_of(starts, rows))


def gap_intervals(
    gap: npt.NDArray[np.bool_], t: IntArray, starts: npt.NDArray[np.intp], bridge_t: IntArray
) -> tuple[npt.NDArray[np.intp], IntArray, IntArray]:
    """The intervals flagged in ``gap`` (one flag per sample, for the interval ending
    there): each one's series (its index in ``starts``), start and end, in ns.

    >>> series, start, end = gap_intervals(np.array([False, True, True]), np.array([5, 9, 4]),
    ...                                    np.array([0, 2]), np.array([0, 1]))
    >>> series.tolist(), start.tolist(), end.tolist()
    ([0, 1], [5, 1], [9, 4])
    """
    rows = np.flatnonzero(gap)
    series = _series_of(starts, rows)
    return series, _previous_times(t, starts, bridge_t, rows, series), t[rows]


def _series_of(starts: npt.NDArray[np.intp], rows: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
    return np.searchsorted(starts, rows, side="right") - 1


def _previous_times(
    t: IntArray,
    starts: npt.NDArray[np.intp],
    bridge_t: IntArray,
    rows: npt.NDArray[np.intp],
    series: npt.NDArray[np.intp],
) -> IntArray:
    first = rows == starts[series]
    return np.where(first, bridge_t[series], t[rows - 1])


def interval_hours(
    t: IntArray,
    starts: npt.NDArray[np.intp],
    bridge_t: IntArray,
    dt_ns: IntArray,
    low: int,
) -> npt.NDArray[np.float64]:
    """``dt_ns`` in hours, written over ``dt_ns``'s memory (which is used up); a saturated
    step's hours come from its two times in float64.

    ``low`` is the smallest of ``t`` and ``bridge_t``: a step can saturate only if it
    is negative (before 1970).
    """
    long = np.flatnonzero(np.abs(dt_ns) == SATURATED) if low < 0 else np.arange(0)
    hours = dt_ns.view(np.float64)
    # numpy copies the whole input when a casting ufunc writes over it; block by block
    # the copy stays in cache, and no batch-sized array is allocated.
    for i in range(0, dt_ns.size, _BLOCK):
        np.divide(dt_ns[i : i + _BLOCK], NS_PER_HOUR, out=hours[i : i + _BLOCK])
    if long.size:
        before = previous_times(t, starts, bridge_t, long)
        hours[long] = (t[long].astype(np.float64) - before.astype(np.float64)) / NS_PER_HOUR
    return hours


def interval_increments(
    strategy: Strategy,
    t: IntArray,
    p: npt.NDArray[np.float64],
    starts: npt.NDArray[np.intp],
    bridge_t: IntArray,
    bridge_p: npt.NDArray[np.float64],
    bridged: npt.NDArray[np.bool_],
    factor: float,
    max_gap_ns: int | None,
    dt_ns: IntArray | None = None,
    low: int | None = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """Energy of the interval ending at each sample, which intervals were gaps, and a buffer.

    ``t`` and ``p`` hold one or more series back to back, each sorted by time;
    ``starts`` are the series' first positions. Inside a series the interval
    ending at sample ``i`` starts at sample ``i - 1``; a series' first sample
    bridges from ``(bridge_t, bridge_p)`` (its incoming state's last sample)
    where ``bridged``, and otherwise gets 0. Intervals longer than
    ``max_gap_ns`` get 0 and are flagged. A caller that already holds
    :func:`time_steps` of ``t`` passes it as ``dt_ns`` (its series' first
    entries are overwritten) to save a pass, and ``low``, ``t.min()``, if it has
    it. Lengths are saturating (see the module); the start of an interval is
    :func:`previous_times`. The buffer (float64, one per sample, its content
    used up) is ``dt_ns``'s memory, for the caller's running sums.
    """
    if low is None and t.size:
        low = int(t.min())
    if dt_ns is None:
        dt_ns = time_steps(t, low)
    bridge_t = np.where(bridged, bridge_t, t[starts])  # an unbridged start: a 0-length step
    dt_ns[starts] = subtract_saturating(t[starts], bridge_t)
    first_p0 = np.where(bridged, bridge_p, 0.0)
    # A series' unbridged first sample has dt 0: never a gap.
    gap = np.zeros(t.size, dtype=bool) if max_gap_ns is None else dt_ns > max_gap_ns

    if t.size:
        assert low is not None
        lowest = min(low, int(bridge_t.min())) if bridge_t.size else low
        hours = interval_hours(t, starts, bridge_t, dt_ns, lowest)
    else:
        hours = dt_ns.view(np.float64)
    # Huge finite powers can overflow to inf: the callers check the totals and reject them.
    with np.errstate(over="ignore", invalid="ignore"):
        energy = np.asarray(strategy.series_energy(hours, p, first_p0, starts), np.float64)
        if not energy.flags.owndata or np.may_share_memory(energy, p):
            energy = energy.copy()  # a plug-in may hand back its input (the caller's power)
        if factor != 1.0:
            energy *= factor
    energy[starts[~bridged]] = 0.0
    if max_gap_ns is not None:
        energy[gap] = 0.0
    return energy, gap, hours
