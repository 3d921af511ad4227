"""A batch's accepted samples, grouped by series, as energy_by_interval buckets them.

One series without policies goes through :func:`~energy_integral.integrate`;
meters, and the data-quality policies only the fleet engine has, through
:func:`~energy_integral.integrate_meters`.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ._row_order import meter_time_order
from ._segments import segment_starts
from .fleet import integrate_meters
from .fleet_result import FleetResult
from .integrate import integrate, resolve_state
from .quality import Rejections
from .state import CumulativeState
from .state_table import StateTable
from .strategies import Strategy
from .timestamps import as_datetime64, to_ns

__all__ = ["Batch", "from_fleet", "many_meters", "one_series", "single_as_meter"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Batch:
    """A batch's accepted samples, grouped by series, each in time order."""

    ts: IntArray
    ps: FloatArray
    increments: FloatArray  # energy of the interval ending at each sample
    starts: npt.NDArray[np.intp]  # first position of each series
    bridge_t: IntArray  # per series: last sample of its incoming state (ns) ...
    bridge_p: FloatArray  # ... and its power,
    bridged: npt.NDArray[np.bool_]  # ... where the series has a state
    outage: npt.NDArray[np.bool_] | None  # per sample: its interval is an outage
    labels: npt.NDArray[Any] | None  # meter of each series
    state: CumulativeState | StateTable  # the state(s) after the batch
    open_outage: npt.NDArray[np.bool_]  # per series: the state after ends in an outage
    rejected: Rejections


def one_series(
    timestamps: Any,
    power: Any,
    state: CumulativeState | None,
    strategy: Strategy,
    power_unit: str,
    energy_unit: str,
    max_gap: Any,
) -> Batch:
    res = integrate(
        timestamps, power, method=strategy, state=state, power_unit=power_unit,
        energy_unit=energy_unit, max_gap=max_gap,
    )  # fmt: skip
    ts = res.timestamps.view(np.int64)
    one = min(ts.size, 1)  # no series at all when there are no samples
    last_ts = None if state is None else state.last_ts
    last_p = None if state is None else state.last_power
    outage = None
    if state is not None and state.outage and ts.size:
        outage = np.arange(ts.size) == 0
    return Batch(
        ts,
        res.power,
        res.increments,
        np.zeros(one, dtype=np.intp),
        np.array([last_ts or 0], dtype=np.int64)[:one],
        np.array([last_p or 0.0])[:one],
        np.array([last_ts is not None])[:one],
        outage,
        None,
        res.state,
        np.array([res.state.outage])[:one],
        Rejections.empty(),
    )


def many_meters(
    meter_ids: Any,
    timestamps: Any,
    power: Any,
    states: Mapping[Hashable, CumulativeState] | None,
    strategy: Strategy,
    power_unit: str,
    energy_unit: str,
    max_gap: Any,
    on_invalid: str,
    on_duplicate: str,
) -> Batch:
    res = integrate_meters(
        meter_ids, timestamps, power, states=states, method=strategy, power_unit=power_unit,
        energy_unit=energy_unit, max_gap=max_gap, on_late="raise", on_duplicate=on_duplicate,
        on_invalid=on_invalid, keep_sorted=True,
    )  # fmt: skip
    return from_fleet(res, states, strategy, power_unit, energy_unit)


def from_fleet(
    res: FleetResult,
    states: Mapping[Hashable, CumulativeState] | None,
    strategy: Strategy,
    power_unit: str,
    energy_unit: str,
) -> Batch:
    """The samples ``res`` integrated, from the states it started at, without integrating again."""
    meters = res._meters
    if res._sorted is not None:  # the engine's own order, kept: every meter has rows
        rows = res._sorted
        ts, ps, increments, starts = rows.t, rows.p, rows.increments, rows.starts
        first, outage = np.arange(starts.size), None
    else:
        # What the engine did not accept was rejected with its reason, or repeats a state's
        # last sample; the rest, in (meter, time) order with ties in input order, as it took them.
        kept = None if res.accepted.all() else np.flatnonzero(res.accepted)
        order, c, ts = meter_time_order(res._row_codes(), res._t, kept)

        def take(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
            return values if order is None else np.take(values, order)

        starts = segment_starts(c)
        first = c[starts]
        ps, increments = take(res._p), take(res.increments)
        outage = None if res.outage is None else take(res.outage)
    incoming = StateTable.lookup(states, meters, strategy.name, power_unit, energy_unit)
    after = StateTable.lookup(res.states, meters[first], strategy.name, power_unit, energy_unit)
    return Batch(
        ts,
        ps,
        increments,
        starts,
        incoming.last_ts[first],
        incoming.last_power[first],
        incoming.has_state[first],
        outage,
        meters[first],
        res.states,
        after.outage,
        res.rejected,
    )


def single_as_meter(
    timestamps: Any,
    power: Any,
    state: CumulativeState | None,
    strategy: Strategy,
    power_unit: str,
    energy_unit: str,
    max_gap: Any,
    on_invalid: str,
    on_duplicate: str,
) -> Batch:
    """One series through the fleet engine, for the policies only it has."""
    t = to_ns(timestamps)
    batch = many_meters(
        np.zeros(t.size, dtype=np.int64), as_datetime64(t), power,
        None if state is None else {0: state},
        strategy, power_unit, energy_unit, max_gap, on_invalid, on_duplicate,
    )  # fmt: skip
    assert isinstance(batch.state, StateTable)
    after = batch.state.get(0) or resolve_state(state, strategy, power_unit, energy_unit)
    rejected = batch.rejected
    if len(rejected):
        rejected = Rejections(
            rejected.row, np.full(len(rejected), None), rejected.timestamp, rejected.power,
            rejected.reason, rejected.detail,
        )  # fmt: skip
    return Batch(
        batch.ts, batch.ps, batch.increments, batch.starts, batch.bridge_t, batch.bridge_p,
        batch.bridged, batch.outage, None, after, batch.open_outage, rejected,
    )  # fmt: skip
