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
fleet_batches(max_meters=4, max_rows=30, ...)
    Strategy for a :class:`FleetBatch`: an unsorted multi-meter batch (string or
    integer meter ids) with duplicates, rows at or before the meters' incoming
    states, and, unless ``clean``, missing meters (None), NaT and NaN/±inf power.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from hypothesis import strategies as st

__all__ = [
    "EPOCH_2026_NS",
    "GAP",
    "NAT",
    "NS_PER_HOUR",
    "FleetBatch",
    "as_datetime64",
    "cut_points",
    "energy_scale",
    "fleet_batches",
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


#: The int64 value of ``NaT``.
NAT = int(np.iinfo(np.int64).min)


@dataclass
class FleetBatch:
    """One multi-meter batch as the fleet engine receives it.

    ``meter_ids`` is a list, a numpy string/integer array or an object array
    (holding ``None`` for a missing meter); ``t`` is int64 ns with :data:`NAT`
    for a missing time (pass ``as_datetime64(t)``); ``p`` may hold NaN/±inf.
    ``states`` maps some meters to an incoming :class:`CumulativeState` (as
    the ``to_dict`` of one, so this module needs no library import).
    """

    meter_ids: Any
    t: npt.NDArray[np.int64]
    p: npt.NDArray[np.float64]
    states: dict[Any, dict[str, Any]] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.t.size)

    @property
    def meters(self) -> list[Any]:
        """The meter id of every row as a Python list (``None`` where missing)."""
        return list(np.asarray(self.meter_ids, dtype=object).tolist())

    def take(self, rows: npt.ArrayLike) -> FleetBatch:
        """The batch restricted to (or reordered by) ``rows``, same container kind."""
        rows = np.asarray(rows, dtype=np.intp)
        ids = np.asarray(self.meter_ids, dtype=object)[rows]
        if isinstance(self.meter_ids, np.ndarray):
            ids = ids.astype(self.meter_ids.dtype)
        return FleetBatch(ids, self.t[rows], self.p[rows], self.states)


# No NUL in ids: numpy's str dtype drops trailing NULs and pandas' hash table stops at
# the first one, so "a" and "a\x00" are one meter to both (a known limitation).
# No NUL and no lone surrogates: neither survives UTF-8 (Arrow, polars, Snowflake).
_id_chars = st.characters(exclude_characters="\x00", exclude_categories=("Cs",))
_string_ids = st.lists(st.text(_id_chars, max_size=3), min_size=1, max_size=6, unique=True)
_int_ids = st.one_of(
    st.lists(st.integers(0, 40), min_size=1, max_size=6, unique=True),  # small: a lookup table
    st.lists(st.integers(-(2**40), 2**40), min_size=1, max_size=6, unique=True),
)
_bad_power = st.sampled_from([np.nan, np.inf, -np.inf])


@st.composite
def fleet_batches(
    draw: st.DrawFn,
    /,
    max_meters: int = 4,
    max_rows: int = 30,
    clean: bool = False,
    with_states: bool = True,
    max_power: float = 1e4,
) -> FleetBatch:
    """Strategy for an unsorted multi-meter batch.

    Each meter has a grid of sample times (an irregular :func:`series`); rows
    pick grid points with replacement, so the same (meter, time) recurs, with
    the grid's power or another one (a conflicting duplicate). An incoming
    state ends on one of the meter's grid points, with that point's power or
    another, so rows at or before it are ``late`` or ``already-integrated``.
    """
    ids = draw(st.one_of(_string_ids, _int_ids))[:max_meters]
    grids = [draw(series(min_size=1, max_size=8, max_power=max_power)) for _ in ids]
    n = draw(st.integers(0 if not clean else 1, max_rows))
    powers = st.floats(-max_power, max_power, allow_nan=False, allow_infinity=False)
    # Half the batches have no missing meter, so numpy string/integer arrays come up too.
    faults = ["meter", "time", "power"] if not clean and draw(st.booleans()) else ["time", "power"]
    rows_meter: list[Any] = []
    t = np.empty(n, dtype=np.int64)
    p = np.empty(n, dtype=np.float64)
    for i in range(n):
        k = draw(st.integers(0, len(ids) - 1))
        gt, gp = grids[k]
        j = draw(st.integers(0, gt.size - 1))
        rows_meter.append(ids[k])
        t[i] = gt[j]
        p[i] = gp[j] if draw(st.booleans()) else draw(powers)
        if not clean:
            fault = draw(st.sampled_from(["none"] * 7 + faults))
            if fault == "meter":
                rows_meter[i] = None
            elif fault == "time":
                t[i] = NAT
            elif fault == "power":
                p[i] = draw(_bad_power)
    states: dict[Any, dict[str, Any]] = {}
    if with_states:
        for k, meter in enumerate(ids):
            if not draw(st.booleans()):
                continue
            gt, gp = grids[k]
            j = draw(st.integers(0, gt.size - 1))
            last_power = float(gp[j]) if draw(st.booleans()) else draw(powers)
            first = int(gt[j]) - draw(st.integers(0, 10 * NS_PER_HOUR))
            count = 1 if first == gt[j] else draw(st.integers(2, 10**6))
            states[meter] = {
                "version": 1,
                "first_ts": first,
                "first_power": draw(powers) if count > 1 else last_power,
                "last_ts": int(gt[j]),
                "last_power": last_power,
                "energy": draw(powers) if count > 1 else 0.0,
                "count": count,
            }
    container = draw(st.sampled_from(["list", "numpy", "object"]))
    if container == "list":
        meter_ids: Any = rows_meter
    elif container == "object" or any(m is None for m in rows_meter) or not rows_meter:
        meter_ids = np.array([*rows_meter, 0], dtype=object)[:n]  # never a 2-D object array
    else:
        meter_ids = np.asarray(rows_meter)
    return FleetBatch(meter_ids, t, p, states)
