"""Integrate one series of power samples, batch after batch."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ._inputs import all_finite, as_power, check_same_length
from ._kernel import gap_intervals, interval_increments, time_steps
from .errors import (
    InvalidSampleError,
    InvalidTypeError,
    MethodMismatchError,
    OrderError,
    OverlapError,
    UnitError,
)
from .gaps import GapReport
from .registry import get_strategy
from .state import CumulativeState
from .strategies import Strategy
from .timestamps import NAT, as_datetime64, to_duration_ns, to_ns
from .units import energy_factor

__all__ = ["IntegrationResult", "integrate", "resolve_state"]


@dataclass(frozen=True)
class IntegrationResult:
    """What :func:`integrate` returns.

    Attributes
    ----------
    timestamps : ndarray of datetime64[ns]
        The samples' times (UTC).
    power : ndarray of float64
        The samples' power.
    cumulative : ndarray of float64
        Running energy total at each sample, starting from the incoming state's energy.
    increments : ndarray of float64
        Energy of the interval ending at each sample (0 for a series' very first
        sample and for gaps).
    state : CumulativeState
        The state after this batch; pass it to the next call.
    gaps : GapReport
        Intervals skipped because they were longer than ``max_gap``.
    """

    timestamps: npt.NDArray[np.datetime64]
    power: npt.NDArray[np.float64]
    cumulative: npt.NDArray[np.float64]
    increments: npt.NDArray[np.float64]
    state: CumulativeState
    gaps: GapReport

    @property
    def total(self) -> float:
        """Energy integrated so far, including what the incoming state carried."""
        return self.state.energy


def resolve_state(
    state: CumulativeState | None, strategy: Strategy, power_unit: str, energy_unit: str
) -> CumulativeState:
    """The incoming state, or an empty one; raise if it disagrees with the call."""
    if state is None:
        return CumulativeState(method=strategy.name, power_unit=power_unit, energy_unit=energy_unit)
    if not isinstance(state, CumulativeState):
        raise InvalidTypeError(
            f"state must be a CumulativeState or None; got {type(state).__name__}"
        )
    if state.method != strategy.name:
        raise MethodMismatchError(
            f"state was integrated with method={state.method!r} but method={strategy.name!r}"
        )
    if (state.power_unit, state.energy_unit) != (power_unit, energy_unit):
        raise UnitError(
            f"state is in ({state.power_unit}, {state.energy_unit}) but the call asks for "
            f"power_unit={power_unit!r}, energy_unit={energy_unit!r}"
        )
    return state


def _check_series(
    t: npt.NDArray[np.int64], p: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.int64], int]:
    """Raise unless every sample is valid and times strictly increase; return the intervals.

    The checks are reductions (the common case passes without temporaries);
    the position of a bad sample is looked up only to name it. The result holds
    ``t[i] - t[i - 1]`` from ``i = 1``, for the kernel, and ``t.min()``.
    """
    low = int(t.min())
    if low == NAT:
        i = int(np.flatnonzero(t == NAT)[0])
        raise InvalidSampleError(
            f"timestamps[{i}] is missing (NaT); integrate_meters can quarantine it"
        )
    if not all_finite(p):
        i = int(np.flatnonzero(~np.isfinite(p))[0])
        raise InvalidSampleError(
            f"power[{i}]={p[i]} is not finite; integrate_meters can quarantine it"
        )
    dt_ns = time_steps(t, low)
    if t.size > 1 and int(dt_ns[1:].min()) <= 0:
        i = int(np.flatnonzero(dt_ns[1:] <= 0)[0]) + 1
        when = as_datetime64(t[i - 1 : i + 1])
        raise OrderError(
            f"timestamps must be strictly increasing: timestamps[{i}]={when[1]} is not after "
            f"timestamps[{i - 1}]={when[0]}; sort them, or use integrate_meters for policies"
        )
    return dt_ns, low


def integrate(
    timestamps: Any,
    power: Any,
    *,
    method: str | Strategy = "trapezoid",
    state: CumulativeState | None = None,
    power_unit: str = "kW",
    energy_unit: str = "kWh",
    max_gap: Any = None,
) -> IntegrationResult:
    """Integrate power samples of one series into energy, continuing from ``state``.

    Parameters
    ----------
    timestamps : array_like of datetimes
        Strictly increasing sample times (numpy datetime64 of any unit, pandas
        datetimes — naive is UTC — or Python datetimes).
    power : array_like of float
        Power at each sample, in ``power_unit``; must be finite (see
        :func:`~energy_integral.integrate_meters` for policies on bad samples).
    method : str or Strategy, optional
        A registered strategy name (default ``"trapezoid"``).
    state : CumulativeState, optional
        The state returned for the previous batch; its last sample bridges to
        this batch's first one.
    power_unit, energy_unit : str, optional
        Units of ``power`` (W, kW, MW, GW) and of the result (Wh, kWh, MWh, GWh, J, kJ, MJ).
    max_gap : timedelta, numpy timedelta64 or str, optional
        An interval longer than this adds no energy and is reported in ``gaps``.

    Returns
    -------
    IntegrationResult

    Notes
    -----
    With the trapezoid rule the running total after sample :math:`k` is

    .. math:: E_k = E_{state} + \\sum_{i \\le k} \\tfrac12 (p_{i-1} + p_i)(t_i - t_{i-1})

    where sample :math:`0` is the state's last sample, if any. Integrating a
    series in any split into batches, carrying the state, gives the same
    cumulative values as integrating it at once.

    Examples
    --------
    Constant 2 kW for 90 minutes, in two batches:

    >>> t = np.array(["2026-01-01T00:00", "2026-01-01T01:00", "2026-01-01T01:30"],
    ...              dtype="datetime64[m]")
    >>> first = integrate(t[:2], [2.0, 2.0])
    >>> integrate(t[2:], [2.0], state=first.state).total
    3.0
    >>> integrate(t, [2.0, 2.0, 2.0], max_gap="45min").gaps.duration
    array([3600000000000], dtype='timedelta64[ns]')
    """
    strategy = get_strategy(method)
    factor = energy_factor(power_unit, energy_unit)
    state = resolve_state(state, strategy, power_unit, energy_unit)
    max_gap_ns = None if max_gap is None else to_duration_ns(max_gap, "max_gap")
    t = to_ns(timestamps)
    p = as_power(power)
    n = check_same_length(timestamps=t, power=p)
    if n == 0:
        empty = np.empty(0, dtype=np.float64)
        return IntegrationResult(as_datetime64(t), p, empty, empty.copy(), state, GapReport())
    dt_ns, low = _check_series(t, p)
    if state.last_ts is not None and t[0] <= state.last_ts:
        raise OverlapError(
            f"timestamps[0]={as_datetime64(t[:1])[0]} is not after the state's last sample "
            f"{state.last_time}; integrate_meters can quarantine late rows"
        )

    bridged = np.array([state.last_ts is not None])
    start = np.zeros(1, dtype=np.intp)
    bridge_t = np.array([state.last_ts if state.last_ts is not None else 0], dtype=np.int64)
    increments, gap, scratch = interval_increments(
        strategy,
        t,
        p,
        start,
        bridge_t,
        np.array([state.last_power if state.last_power is not None else 0.0]),
        bridged,
        factor,
        max_gap_ns,
        dt_ns=dt_ns,
        low=low,
    )
    if state.outage:  # the state ends in an outage: its bridge adds nothing
        increments[0], gap[0] = 0.0, True
    _, gap_starts, gap_ends = gap_intervals(gap, t, start, bridge_t)
    gaps = GapReport.from_ns(gap_starts, gap_ends)
    # The intervals are used up: their memory takes the running sum (a fresh array
    # this large costs a page fault per 4 KiB). E_state + cumsum, added in place.
    with np.errstate(over="ignore", invalid="ignore"):
        cumulative = np.cumsum(increments, out=scratch)
        cumulative += state.energy
    if not np.isfinite(cumulative[-1]):  # once inf or NaN, always: the first one is the culprit
        i = int(np.flatnonzero(~np.isfinite(cumulative))[0])
        raise InvalidSampleError(
            f"power[{i}]={p[i]}: the energy up to timestamps[{i}] is not finite (overflows "
            "float64); integrate_meters can quarantine it"
        )
    new_state = dataclasses.replace(
        state,
        first_ts=state.first_ts if state.first_ts is not None else int(t[0]),
        first_power=state.first_power if state.first_power is not None else float(p[0]),
        last_ts=int(t[-1]),
        last_power=float(p[-1]),
        energy=float(cumulative[-1]),
        count=state.count + n,
        outage=False,
    )
    return IntegrationResult(as_datetime64(t), p, cumulative, increments, new_state, gaps)
