"""Energy per bucket (15 minutes, an hour, a local calendar day), split exactly at the edges."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ._buckets import bucketize, intervals
from ._factorize import factorize
from ._inputs import as_power
from ._segments import segment_starts
from .calendar import bucket_edges, every_ns, resolve_time_zone
from .errors import InvalidArgumentError, InvalidTypeError
from .fleet import integrate_meters
from .integrate import integrate
from .registry import get_strategy
from .state import CumulativeState
from .state_table import StateTable
from .strategies import Strategy
from .timestamps import as_datetime64, to_duration_ns, to_ns
from .units import energy_factor

__all__ = ["IntervalEnergy", "energy_by_interval"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class IntervalEnergy:
    """What :func:`energy_by_interval` returns: one row per bucket (per meter), in time order.

    Attributes
    ----------
    start, end : ndarray of datetime64[ns]
        The bucket's edges (UTC); the bucket is ``[start, end)``.
    energy : ndarray of float64
        Energy integrated inside the bucket, in ``energy_unit``.
    samples : ndarray of int64
        Samples of this batch inside the bucket (a state's carried sample is not counted).
    covered : ndarray of float64
        Fraction (0..1) of the bucket's time covered by integrated intervals;
        time before the first sample, after the last and inside gaps is not covered.
    largest_gap : ndarray of timedelta64[ns]
        Length of the longest gap (an interval longer than ``max_gap``) that
        overlaps the bucket, 0 where none does.
    meter : ndarray or None
        The meter of each bucket when ``meter_ids`` was given.
    energy_unit : str
        Unit of ``energy``.
    state : CumulativeState or StateTable or None
        The state(s) after the batch, to pass as ``states`` to the next call.
    """

    start: npt.NDArray[np.datetime64]
    end: npt.NDArray[np.datetime64]
    energy: FloatArray
    samples: IntArray
    covered: FloatArray
    largest_gap: npt.NDArray[np.timedelta64]
    meter: npt.NDArray[Any] | None = None
    energy_unit: str = "kWh"
    state: CumulativeState | StateTable | None = None

    def __len__(self) -> int:
        return int(self.start.size)

    @property
    def total(self) -> float:
        """Energy of all buckets."""
        return float(self.energy.sum())

    def to_pandas(self) -> Any:
        """A DataFrame with columns (``meter``,) ``start``, ``end``, ``energy``, ``samples``,
        ``covered``, ``largest_gap``; ``start`` and ``end`` are tz-aware UTC."""
        import pandas as pd

        columns: dict[str, Any] = {} if self.meter is None else {"meter": self.meter}
        columns.update(
            start=pd.DatetimeIndex(self.start).tz_localize("UTC"),
            end=pd.DatetimeIndex(self.end).tz_localize("UTC"),
            energy=self.energy,
            samples=self.samples,
            covered=self.covered,
            largest_gap=self.largest_gap,
        )
        return pd.DataFrame(columns)

    @classmethod
    def merge(cls, parts: Sequence[IntervalEnergy]) -> IntervalEnergy:
        """Combine the outputs of consecutive batches into one, bucket by bucket.

        Rows with the same meter and start are one bucket: energy, samples and
        covered add up (the batches' intervals do not overlap) and the largest
        gap is the larger one. Since a batch boundary never moves energy
        between buckets, merging per-batch outputs equals one call over all rows.
        The state is the last part's.
        """
        if not parts:
            raise InvalidArgumentError("parts must hold at least one IntervalEnergy")
        units = {p.energy_unit for p in parts}
        if len(units) > 1:
            raise InvalidArgumentError(f"parts mix energy units: {sorted(units)}")
        has_meter = {p.meter is not None for p in parts}
        if len(has_meter) > 1:
            raise InvalidArgumentError("parts mix per-meter and single-series results")

        def cat(name: str) -> npt.NDArray[Any]:
            return np.concatenate([getattr(p, name) for p in parts])

        start, end = cat("start").view(np.int64), cat("end").view(np.int64)
        if has_meter == {True}:
            code, meters = factorize(cat("meter"), "meter")
        else:
            code, meters = np.zeros(start.size, dtype=np.int64), None
        order = np.lexsort((start, code))
        code, start, end = code[order], start[order], end[order]
        new = np.ones(start.size, dtype=bool)
        new[1:] = (code[1:] != code[:-1]) | (start[1:] != start[:-1])
        firsts = np.flatnonzero(new)
        if np.any(end != end[firsts][np.cumsum(new) - 1]):
            raise InvalidArgumentError(
                "parts disagree on a bucket's end; were they made with one every/tz?"
            )
        gaps = cat("largest_gap").view(np.int64)[order]
        return cls(
            as_datetime64(start[firsts]),
            as_datetime64(end[firsts]),
            np.add.reduceat(cat("energy")[order], firsts) if start.size else cat("energy"),
            np.add.reduceat(cat("samples")[order], firsts) if start.size else cat("samples"),
            np.add.reduceat(cat("covered")[order], firsts) if start.size else cat("covered"),
            (np.maximum.reduceat(gaps, firsts) if start.size else gaps).view("timedelta64[ns]"),
            None if meters is None else meters[code[firsts]],
            parts[0].energy_unit,
            parts[-1].state,
        )


_Batch = tuple[
    IntArray,  # sample times, grouped by series, each in time order
    FloatArray,  # power
    FloatArray,  # energy of the interval ending at each sample
    npt.NDArray[np.intp],  # first position of each series
    IntArray,  # per series: last sample of its incoming state (ns) ...
    FloatArray,  # ... and its power,
    npt.NDArray[np.bool_],  # ... where the series has a state
    "npt.NDArray[Any] | None",  # meter of each series
    "CumulativeState | StateTable",  # the state(s) after the batch
]


def _one_series(
    timestamps: Any,
    power: Any,
    state: CumulativeState | None,
    strategy: Strategy,
    power_unit: str,
    energy_unit: str,
    max_gap: Any,
) -> _Batch:
    res = integrate(
        timestamps, power, method=strategy, state=state, power_unit=power_unit,
        energy_unit=energy_unit, max_gap=max_gap,
    )  # fmt: skip
    ts = res.timestamps.view(np.int64)
    one = min(ts.size, 1)  # no series at all when there are no samples
    last_ts = None if state is None else state.last_ts
    last_p = None if state is None else state.last_power
    return (
        ts,
        res.power,
        res.increments,
        np.zeros(one, dtype=np.intp),
        np.array([last_ts or 0], dtype=np.int64)[:one],
        np.array([last_p or 0.0])[:one],
        np.array([last_ts is not None])[:one],
        None,
        res.state,
    )


def _many_meters(
    meter_ids: Any,
    timestamps: Any,
    power: Any,
    states: Mapping[Hashable, CumulativeState] | None,
    strategy: Strategy,
    power_unit: str,
    energy_unit: str,
    max_gap: Any,
) -> _Batch:
    res = integrate_meters(
        meter_ids, timestamps, power, states=states, method=strategy, power_unit=power_unit,
        energy_unit=energy_unit, max_gap=max_gap, on_late="raise", on_duplicate="raise",
        on_invalid="raise",
    )  # fmt: skip
    # The engine raised on every bad row; what it did not accept repeats a state's last sample.
    codes, meters = factorize(meter_ids)
    t, p = to_ns(timestamps), as_power(power)
    kept = np.flatnonzero(res.accepted)
    rows = kept[np.lexsort((t[kept], codes[kept]))]
    c = codes[rows]
    starts = segment_starts(c)
    incoming = StateTable.lookup(states, meters, strategy.name, power_unit, energy_unit)
    first = c[starts]
    return (
        t[rows],
        p[rows],
        res.increments[rows],
        starts,
        incoming.last_ts[first],
        incoming.last_power[first],
        incoming.has_state[first],
        meters[first],
        res.states,
    )


def _check_states(states: Any, meter_ids: Any) -> None:
    if meter_ids is None and isinstance(states, Mapping):
        raise InvalidTypeError(
            "states is a mapping of meter -> CumulativeState; pass meter_ids too"
        )
    if meter_ids is not None and not (states is None or isinstance(states, Mapping)):
        raise InvalidTypeError(
            f"with meter_ids, states must be a mapping of meter -> CumulativeState; "
            f"got {type(states).__name__}"
        )


def energy_by_interval(
    timestamps: Any,
    power: Any,
    every: Any = "15min",
    *,
    method: str | Strategy = "trapezoid",
    tz: Any = None,
    meter_ids: Any = None,
    states: CumulativeState | Mapping[Hashable, CumulativeState] | None = None,
    power_unit: str = "kW",
    energy_unit: str = "kWh",
    max_gap: Any = None,
) -> IntervalEnergy:
    """Energy per bucket of ``every`` (per meter), each interval split exactly at the edges.

    Parameters
    ----------
    timestamps, power : array_like
        Samples as for :func:`~energy_integral.integrate` (one series) or
        :func:`~energy_integral.integrate_meters` (with ``meter_ids``).
    every : str, timedelta or numpy timedelta64, optional
        Bucket length: ``"15min"`` (default), ``"1h"``, ``"1D"``, ``"1W"``, …
    method : str or Strategy, optional
        Integration strategy (default ``"trapezoid"``).
    tz : str, optional
        IANA time zone (e.g. ``"Europe/Berlin"``) whose wall clock places the
        edges; buckets are in UTC without it. See :mod:`energy_integral.calendar`.
    meter_ids : array_like, optional
        The meter of each sample; then buckets are per meter. Bad rows raise
        (clean them with :func:`~energy_integral.integrate_meters` first);
        rows identical to a meter's last integrated sample are skipped.
    states : CumulativeState or mapping of meter → CumulativeState, optional
        The previous batch's state(s): the interval from a state's last sample
        to the batch's first one lands in the buckets it spans.
    power_unit, energy_unit, max_gap
        As for :func:`~energy_integral.integrate`; gaps add no energy, are not
        covered, and set ``largest_gap``.

    Returns
    -------
    IntervalEnergy
        Every bucket from the one holding the first point (the state's last
        sample, if any, else the first sample) to the one holding the last
        sample, empty ones included.

    Notes
    -----
    An interval :math:`[t_0, t_1]` that crosses an edge :math:`e` is split at
    the fraction :math:`f = (e - t_0)/(t_1 - t_0)`; the part before the edge
    gets the strategy's partial energy :math:`E(f)` and the part after
    :math:`E(1) - E(f)`. For the trapezoid rule power is interpolated linearly,

    .. math:: E(f) = \\tfrac12 \\bigl(p_0 + p_0 + f (p_1 - p_0)\\bigr)\\, f\\, \\Delta t,

    ``left`` holds :math:`p_0` and ``right`` holds :math:`p_1` across the edge.
    Hence the buckets add up to the energy :func:`~energy_integral.integrate`
    adds to the state, and splitting a series into batches (carrying the
    state) changes no bucket (merge the outputs with :meth:`IntervalEnergy.merge`).

    Examples
    --------
    1 kW, then 3 kW from 00:20 on, in 15-minute buckets:

    >>> t = np.array(["2026-01-01T00:00", "2026-01-01T00:20", "2026-01-01T00:30"],
    ...              dtype="datetime64[m]")
    >>> out = energy_by_interval(t, [1.0, 3.0, 3.0], "15min", method="left")
    >>> out.energy * 60   # kWh per bucket, as kW·min
    array([15., 35.,  0.])
    >>> out.samples.tolist(), out.covered.tolist()
    ([1, 1, 1], [1.0, 1.0, 0.0])
    """
    strategy = get_strategy(method)
    factor = energy_factor(power_unit, energy_unit)
    every_ns(every)
    resolve_time_zone(tz)
    _check_states(states, meter_ids)
    max_gap_ns = None if max_gap is None else to_duration_ns(max_gap, "max_gap")
    if meter_ids is None:
        assert not isinstance(states, Mapping)
        batch = _one_series(timestamps, power, states, strategy, power_unit, energy_unit, max_gap)
    else:
        assert states is None or isinstance(states, Mapping)
        batch = _many_meters(
            meter_ids, timestamps, power, states, strategy, power_unit, energy_unit, max_gap
        )
    ts, ps, increments, starts, bridge_t, bridge_p, bridged, labels, state = batch
    if ts.size == 0:
        empty = as_datetime64(np.empty(0, dtype=np.int64))
        zeros = np.zeros(0)
        return IntervalEnergy(
            empty, empty.copy(), zeros, np.zeros(0, dtype=np.int64), zeros.copy(),
            np.zeros(0, dtype="timedelta64[ns]"), None if labels is None else labels[:0],
            energy_unit, state,
        )  # fmt: skip
    iv = intervals(ts, ps, increments, starts, bridge_t, bridge_p, bridged, max_gap_ns)
    span_lo = np.where(bridged, bridge_t, ts[starts])
    span_hi = ts[np.append(starts[1:], ts.size) - 1]
    edges = bucket_edges(int(span_lo.min()), int(span_hi.max()), every, tz)
    series, bucket, energy, samples, covered, gap = bucketize(
        iv, ts, starts, span_lo, span_hi, edges, strategy, factor
    )
    return IntervalEnergy(
        as_datetime64(edges[bucket]),
        as_datetime64(edges[bucket + 1]),
        energy,
        samples,
        covered,
        gap.view("timedelta64[ns]"),
        None if labels is None else labels[series],
        energy_unit,
        state,
    )
