"""Energy per bucket (15 minutes, an hour, a local calendar day), split exactly at the edges."""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from ._buckets import Samples, bucketize, intervals
from ._extrapolate import EXTRAPOLATE, extrapolation
from ._inputs import check_choice
from ._interval_batch import Batch, from_fleet, many_meters, one_series, single_as_meter
from ._near_buckets import NO_WINDOW
from .calendar import bucket_edges, every_ns, resolve_time_zone
from .errors import InvalidArgumentError, InvalidTypeError
from .fleet_result import FleetResult
from .interval_result import IntervalEnergy
from .registry import get_strategy
from .state import CumulativeState
from .strategies import Strategy
from .timestamps import NAT, as_datetime64, to_duration_ns, to_ns
from .units import energy_factor

__all__ = ["EXTRAPOLATE", "IntervalEnergy", "energy_by_interval", "extrapolated_by_interval"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: Policies energy_by_interval offers (a merged "mean" sample has no power of its own rows).
ON_INVALID: tuple[str, ...] = ("raise", "reject", "gap")
ON_DUPLICATE: tuple[str, ...] = ("raise", "reject", "last", "step")


def _instant(value: Any, name: str) -> int | None:
    """A window bound as ns since the epoch (UTC), or None."""
    if value is None:
        return None
    ns = int(to_ns(np.array([value]) if isinstance(value, np.datetime64) else [value], name)[0])
    if ns == NAT:
        raise InvalidArgumentError(f"{name}={value!r} is not a time")
    return ns


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
    start: Any = None,
    end: Any = None,
    extrapolate: str | None = None,
    on_invalid: str = "raise",
    on_duplicate: str = "raise",
    fleet: FleetResult | None = None,
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
        The meter of each sample; then buckets are per meter. Rows identical
        to a meter's last integrated sample are skipped.
    states : CumulativeState or mapping of meter → CumulativeState, optional
        The previous batch's state(s): the interval from a state's last sample
        to the batch's first one lands in the buckets it spans.
    power_unit, energy_unit, max_gap
        As for :func:`~energy_integral.integrate`; gaps add no energy, are not
        covered, and set ``largest_gap``.
    start, end : datetime, optional
        The window: every series gets the buckets from the one holding
        ``start`` to the one holding the last instant before ``end``, and only
        energy inside ``[start, end]`` counts (samples outside still shape the
        intervals that cross the bounds). By default the data's own extent.
    extrapolate : {None, "locf", "linear"}, optional
        Extend each series beyond its samples to ``start``/``end`` (at least one
        of them is needed): ``"locf"`` holds the last sample's power to ``end``;
        ``"linear"`` extends the last interval's line to ``end`` and the first
        one's back to ``start`` (a series without a state only), holding a
        single sample constant. An extension longer than ``max_gap`` is a gap;
        ``extrapolated`` says how much of each bucket is extended. Only series
        with samples in the call are extended (a state alone has no line).
    on_invalid : {"raise", "reject", "gap"}, optional
        Rows with a missing meter or time, or invalid power: raise (default),
        or reject them (see ``rejected``), with ``"gap"`` taking invalid power
        as an outage whose surrounding interval adds no energy and is a gap.
    on_duplicate : {"raise", "reject", "last", "step"}, optional
        Rows of one meter at one time: raise (default), keep the first or the
        last, or take them as a step (see
        :func:`~energy_integral.integrate_meters`).
    fleet : FleetResult, optional
        What :func:`~energy_integral.integrate_meters` returned for exactly
        these rows from exactly these ``states`` (with ``meter_ids``): its
        intervals are cut into buckets instead of integrating the rows again.
        Rows it rejected (on any policy) are left out; ``on_invalid`` and
        ``on_duplicate`` are then the ones it was called with.

    Returns
    -------
    IntervalEnergy
        Every bucket from the one holding the first point (``start``, else the
        state's last sample, if any, else the first sample) to the one holding
        the last (just before ``end``, else the last sample), empty ones included.

    Notes
    -----
    An interval :math:`[t_0, t_1]` that crosses an edge :math:`e` is split at
    the fraction :math:`f = (e - t_0)/(t_1 - t_0)`; the part before the edge
    gets the strategy's partial energy :math:`E(f)` and the part after
    :math:`E(1) - E(f)`. For the trapezoid rule power is interpolated linearly,

    .. math:: E(f) = \\tfrac12 \\bigl(p_0 + p_0 + f (p_1 - p_0)\\bigr)\\, f\\, \\Delta t,

    ``left`` holds :math:`p_0` and ``right`` holds :math:`p_1` across the edge.
    Hence the buckets add up to the energy :func:`~energy_integral.integrate`
    adds to the state (within ``[start, end]``), and splitting a series into
    batches (carrying the state) changes no bucket (merge the outputs with
    :meth:`IntervalEnergy.merge`; extrapolate only in the batch that holds
    the window's edge). Each piece of length :math:`\\delta` also bounds its
    energy by :math:`\\min(p_0, p_1)\\,\\delta` and :math:`\\max(p_0, p_1)\\,\\delta`
    (``energy_min``, ``energy_max``).

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

    The same readings to 00:45, the last power held (a provisional figure):

    >>> out = energy_by_interval(t, [1.0, 3.0, 3.0], "15min", method="left",
    ...                          end=np.datetime64("2026-01-01T00:45"), extrapolate="locf")
    >>> out.energy * 60, out.extrapolated.tolist()
    (array([15., 35., 45.]), [0.0, 0.0, 1.0])
    >>> (out.energy_min * 60).tolist(), (out.energy_max * 60).tolist()   # 1 to 3 kW till 00:20
    ([15.0, 35.0, 45.0], [45.0, 45.0, 45.0])
    """
    return _by_interval(
        timestamps, power, every, method=method, tz=tz, meter_ids=meter_ids, states=states,
        power_unit=power_unit, energy_unit=energy_unit, max_gap=max_gap, start=start, end=end,
        extrapolate=extrapolate, on_invalid=on_invalid, on_duplicate=on_duplicate, real=True,
        fleet=fleet,
    )  # fmt: skip


def extrapolated_by_interval(
    timestamps: Any, power: Any, every: Any = "15min", *, extrapolate: str, **options: Any
) -> IntervalEnergy:
    """Only the extrapolated stretches of :func:`energy_by_interval`, per bucket.

    Takes the same arguments; the buckets hold only the energy (and time) of
    the extensions beyond the samples, and no samples, so that

    ``energy_by_interval(x, extrapolate=e)`` equals
    ``IntervalEnergy.merge([energy_by_interval(x), extrapolated_by_interval(x, extrapolate=e)])``

    (to rounding). A stream integrated chunk by chunk uses this to extend each
    series once, from its first and last samples, after the last chunk.

    >>> t = np.array(["2026-01-01T00:00", "2026-01-01T00:10"], dtype="datetime64[m]")
    >>> out = extrapolated_by_interval(t, [1.0, 2.0], "15min", extrapolate="locf",
    ...                                end=np.datetime64("2026-01-01T00:30"))
    >>> (out.energy * 60).tolist(), out.samples.tolist()
    ([10.0, 30.0], [0, 0])
    """
    return _by_interval(timestamps, power, every, extrapolate=extrapolate, real=False, **options)


def _by_interval(
    timestamps: Any,
    power: Any,
    every: Any,
    *,
    method: str | Strategy = "trapezoid",
    tz: Any = None,
    meter_ids: Any = None,
    states: CumulativeState | Mapping[Hashable, CumulativeState] | None = None,
    power_unit: str = "kW",
    energy_unit: str = "kWh",
    max_gap: Any = None,
    start: Any = None,
    end: Any = None,
    extrapolate: str | None = None,
    on_invalid: str = "raise",
    on_duplicate: str = "raise",
    real: bool,
    fleet: FleetResult | None = None,
) -> IntervalEnergy:
    """energy_by_interval; with ``real`` False the extrapolated stretches alone."""
    strategy = get_strategy(method)
    factor = energy_factor(power_unit, energy_unit)
    every_ns(every)
    resolved = resolve_time_zone(tz)
    zone = None if resolved is None else resolved.key
    _check_states(states, meter_ids)
    if fleet is not None and meter_ids is None:
        raise InvalidArgumentError("fleet= needs the meter_ids integrate_meters was given")
    check_choice("on_invalid", on_invalid, ON_INVALID)
    check_choice("on_duplicate", on_duplicate, ON_DUPLICATE)
    start_ns, end_ns = _instant(start, "start"), _instant(end, "end")
    if start_ns is not None and end_ns is not None and end_ns <= start_ns:
        raise InvalidArgumentError(f"end={end!r} must be after start={start!r}")
    if extrapolate is not None:
        check_choice("extrapolate", extrapolate, EXTRAPOLATE)
        if start_ns is None and end_ns is None:
            raise InvalidArgumentError(
                f"extrapolate={extrapolate!r} needs start or end to extend to"
            )
    max_gap_ns = None if max_gap is None else to_duration_ns(max_gap, "max_gap")
    policies = on_invalid, on_duplicate
    if meter_ids is None:
        assert not isinstance(states, Mapping)
        args = (timestamps, power, states, strategy, power_unit, energy_unit, max_gap)
        if policies == ("raise", "raise"):
            batch = one_series(*args)
        else:  # policies only the fleet engine has
            batch = single_as_meter(*args, *policies)
    elif fleet is not None:
        assert states is None or isinstance(states, Mapping)
        if fleet.accepted.size != np.size(meter_ids):
            raise InvalidArgumentError(
                f"fleet holds {fleet.accepted.size:,} rows but meter_ids {np.size(meter_ids):,}; "
                "pass the result integrate_meters gave for these rows"
            )
        batch = from_fleet(fleet, states, strategy, power_unit, energy_unit)
    else:
        assert states is None or isinstance(states, Mapping)
        batch = many_meters(
            meter_ids, timestamps, power, states, strategy, power_unit, energy_unit, max_gap,
            *policies,
        )  # fmt: skip
    ts, starts = batch.ts, batch.starts
    if ts.size == 0:
        return _no_buckets(batch, energy_unit, power_unit, zone)
    taken = Samples(
        ts, batch.ps, batch.increments, starts, batch.bridge_t, batch.bridge_p, batch.bridged,
        max_gap_ns, batch.outage,
    )  # fmt: skip
    extended = None
    if extrapolate is not None:
        extended = extrapolation(
            intervals(taken), ts, batch.ps, starts, batch.bridged, batch.open_outage,
            extrapolate, start_ns, end_ns, factor, max_gap_ns,
        )  # fmt: skip
    span_lo = np.where(batch.bridged, batch.bridge_t, ts[starts])
    span_hi = ts[np.append(starts[1:], ts.size) - 1]
    if start_ns is not None:
        span_lo = np.full(starts.size, start_ns)
    if end_ns is not None:
        span_hi = np.full(starts.size, end_ns - 1)  # the window ends before end
    present = span_hi >= span_lo
    if not present.any():
        return _no_buckets(batch, energy_unit, power_unit, zone)
    edges = bucket_edges(int(span_lo[present].min()), int(span_hi[present].max()), every, tz)
    window = (
        NO_WINDOW[0] if start_ns is None else start_ns,
        NO_WINDOW[1] if end_ns is None else end_ns,
    )
    b = bucketize(
        taken if real else None, extended, span_lo, span_hi, edges, strategy, factor, window
    )
    return IntervalEnergy(
        start=as_datetime64(edges[b.bucket]),
        end=as_datetime64(edges[b.bucket + 1]),
        energy=b.energy,
        energy_min=b.energy_min,
        energy_max=b.energy_max,
        samples=b.samples,
        covered=b.covered,
        extrapolated=b.extrapolated,
        largest_gap=b.largest_gap.view("timedelta64[ns]"),
        meter=None if batch.labels is None else batch.labels[b.series],
        energy_unit=energy_unit,
        power_unit=power_unit,
        state=batch.state,
        rejected=batch.rejected,
        tz=zone,
    )


def _no_buckets(batch: Batch, energy_unit: str, power_unit: str, tz: str | None) -> IntervalEnergy:
    none = IntervalEnergy.empty(energy_unit, power_unit)
    return dataclasses.replace(
        none, meter=None if batch.labels is None else batch.labels[:0], state=batch.state,
        rejected=batch.rejected, tz=tz,
    )  # fmt: skip
