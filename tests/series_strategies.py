"""Hypothesis strategies for power series, shared by the test modules.

A *series* is a pair ``(t, p)``: ``t`` a strictly increasing 1-D ``int64``
array of nanoseconds since the epoch (UTC), irregularly spaced, and ``p`` a
``float64`` array of the same length holding finite power values, negative
ones included (export). Pass ``t`` to the library as ``as_datetime64(t)``.

Functions
---------
series(min_size=1, max_size=40, ...)
    Strategy for ``(t, p)``. Steps between samples mix sub-second, minute and
    multi-hour spacings (so a ``max_gap`` of :data:`GAP` falls both inside and
    outside them); power is drawn from ``[-max_power, max_power]``.
cut_points(n, max_batches=6)
    Strategy for a sorted list of distinct cut indices in ``1..n-1`` that split a
    length-``n`` series into at most ``max_batches`` non-empty batches.
series_with_cuts(min_size=1, max_size=40, max_batches=6, ...)
    Strategy for ``(t, p, cuts)``: a series and a way to split it.
split(arrays, cuts)
    Split each of several equal-length arrays at ``cuts``; returns one tuple of
    pieces per batch.
energy_scale(t, p)
    :math:`\\sum_i \\max(|p_i|, |p_{i+1}|)\\,\\Delta t_i + \\max_i |p_i|` in
    power-unit hours, at least 1: a bound on the energy any strategy can
    produce, hence the scale of an absolute tolerance when comparing totals.
as_datetime64(t)
    View int64 nanoseconds as ``datetime64[ns]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from hypothesis import strategies as st

__all__ = [
    "EPOCH_2026_NS",
    "GAP",
    "NS_PER_HOUR",
    "as_datetime64",
    "cut_points",
    "energy_scale",
    "series",
    "series_with_cuts",
    "split",
]

NS_PER_HOUR = 3_600_000_000_000
#: 2026-01-01T00:00:00Z in ns; series start within a year of it.
EPOCH_2026_NS = 1_767_225_600_000_000_000
#: A max_gap (as numpy timedelta64) that some generated steps exceed and most do not.
GAP = np.timedelta64(2 * 3600, "s")

# Steps: sub-second (1 ns .. 1 s), typical meter cadence (1 s .. 15 min), and
# long outages (15 min .. 6 h) that exceed GAP about half the time.
_steps = st.one_of(
    st.integers(1, 10**9),
    st.integers(10**9, 15 * 60 * 10**9),
    st.integers(15 * 60 * 10**9, 6 * NS_PER_HOUR),
)


def as_datetime64(t: npt.ArrayLike) -> npt.NDArray[np.datetime64]:
    """View int64 nanoseconds as ``datetime64[ns]``."""
    return np.asarray(t, dtype=np.int64).view("datetime64[ns]")


@st.composite
def series(
    draw: st.DrawFn,
    /,
    min_size: int = 1,
    max_size: int = 40,
    max_power: float = 1e4,
    allow_negative: bool = True,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Strategy for an irregular series ``(t, p)`` of ``min_size..max_size`` samples."""
    n = draw(st.integers(min_size, max_size))
    start = EPOCH_2026_NS + draw(st.integers(0, 365 * 24 * NS_PER_HOUR))
    steps = draw(st.lists(_steps, min_size=max(n - 1, 0), max_size=max(n - 1, 0)))
    t = np.asarray([start, *steps], dtype=np.int64)[:n].cumsum()
    low = -max_power if allow_negative else 0.0
    powers = st.floats(low, max_power, allow_nan=False, allow_infinity=False)
    p = np.asarray(draw(st.lists(powers, min_size=n, max_size=n)), dtype=np.float64)
    return t, p


@st.composite
def cut_points(draw: st.DrawFn, /, n: int, max_batches: int = 6) -> list[int]:
    """Strategy for sorted distinct cuts in ``1..n-1`` (at most ``max_batches - 1`` of them)."""
    if n < 2 or max_batches < 2:
        return []
    cuts = draw(st.sets(st.integers(1, n - 1), max_size=min(max_batches - 1, n - 1)))
    return sorted(cuts)


@st.composite
def series_with_cuts(
    draw: st.DrawFn,
    /,
    min_size: int = 1,
    max_size: int = 40,
    max_batches: int = 6,
    **series_kwargs: Any,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], list[int]]:
    """Strategy for ``(t, p, cuts)``: a series and a split of it into non-empty batches."""
    t, p = draw(series(min_size=min_size, max_size=max_size, **series_kwargs))
    return t, p, draw(cut_points(t.size, max_batches))


def split(arrays: Sequence[npt.NDArray[Any]], cuts: Sequence[int]) -> list[tuple[Any, ...]]:
    """Split equal-length ``arrays`` at ``cuts``: one tuple of pieces per batch.

    >>> split([np.arange(4), np.arange(4) * 10], [1, 3])
    [(array([0]), array([0])), (array([1, 2]), array([10, 20])), (array([3]), array([30]))]
    """
    pieces = [np.split(np.asarray(a), list(cuts)) for a in arrays]
    return list(zip(*pieces, strict=True))


def energy_scale(t: npt.NDArray[np.int64], p: npt.NDArray[np.float64]) -> float:
    """Bound on any strategy's energy over ``(t, p)`` in power-unit hours (at least 1)."""
    if t.size == 0:
        return 1.0
    dt_h = np.diff(t) / NS_PER_HOUR
    absp = np.abs(p)
    scale = float(np.sum(np.maximum(absp[:-1], absp[1:]) * dt_h)) + float(absp.max())
    return max(scale, 1.0)
