"""The fleet engine's states: a read-only Mapping of meter → CumulativeState.

``res.states`` is a :class:`StateTable` (columns, states built on lookup). It
must behave exactly like the dict it stands for, keep the incoming state of
every meter the batch did not touch, and be accepted back as ``states=``
with the same result as its ``dict(...)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from series_strategies import FleetBatch, as_datetime64, fleet_batches

import energy_integral as ei
from energy_integral._factorize import id_kind

H = 3_600_000_000_000
T0 = np.datetime64("2026-01-01T00:00", "ns")


def hours(*h: float) -> npt.NDArray[np.datetime64]:
    return np.array([T0 + np.timedelta64(int(x * H), "ns") for x in h], dtype="datetime64[ns]")


def _first_batch() -> ei.FleetResult:
    # a: 1 kW for 1 h = 1 kWh; b: 2 kW for 2 h = 4 kWh; c: a single sample, 0 kWh.
    return ei.integrate_meters(
        ["a", "b", "a", "b", "c"], hours(0, 0, 1, 2, 0), [1.0, 2.0, 1.0, 2.0, 5.0]
    )


def test_behaves_as_a_mapping() -> None:
    states = _first_batch().states
    assert isinstance(states, Mapping)
    assert isinstance(states, ei.StateTable)
    assert len(states) == 3
    assert sorted(states) == ["a", "b", "c"]
    assert len(list(states)) == len(set(states))  # each meter once
    assert "a" in states
    assert "z" not in states
    assert None not in states
    assert states["b"].energy == 4.0
    assert states["c"].count == 1
    assert states.get("z") is None
    with pytest.raises(KeyError):
        states["z"]
    plain = dict(states)
    assert list(plain) == list(states)
    assert all(isinstance(s, ei.CumulativeState) for s in plain.values())
    assert states == plain
    assert plain == states
    assert dict(states.items()) == plain
    assert list(states.values()) == list(plain.values())
    assert states.total_energy() == 5.0
    assert "3 meters" in repr(states)


def test_equality_sees_every_field_and_every_meter() -> None:
    states = _first_batch().states
    plain = dict(states)
    changed = {**plain, "a": ei.CumulativeState.from_dict({**plain["a"].to_dict(), "count": 3})}
    assert states != changed
    assert states != {k: v for k, v in plain.items() if k != "c"}
    assert states != {**plain, "d": ei.CumulativeState()}
    assert states == _first_batch().states


@pytest.mark.parametrize("carry", [lambda s: s, dict], ids=["StateTable", "dict"])
def test_meters_without_rows_keep_their_incoming_state(carry: Any) -> None:
    first = _first_batch()
    incoming = carry(first.states)
    # Only a reports: 1 kW → 3 kW over the next hour adds (1 + 3) / 2 = 2 kWh.
    res = ei.integrate_meters(["a"], hours(2), [3.0], states=incoming)
    assert set(res.states) == {"a", "b", "c"}
    assert res.states["a"].energy == 3.0
    assert res.states["b"] == first.states["b"]
    assert res.states["c"] == first.states["c"]
    assert res.total == 3.0 + 4.0
    # A meter whose rows were all rejected keeps its incoming state too.
    res = ei.integrate_meters(["b", "c"], hours(1, 3), [2.0, np.nan], states=incoming)
    assert res.reason.tolist() == ["late", "invalid-power"]
    assert res.states == first.states


def test_dict_input_states_are_passed_through_unchanged() -> None:
    kept = ei.CumulativeState("trapezoid", "kW", "kWh", 0, 1.0, H, 1.0, 1.0, 2)
    res = ei.integrate_meters(["a"], hours(0), [1.0], states={"z": kept})
    assert res.states["z"] is kept
    assert set(res.states) == {"a", "z"}


def test_empty_incoming_states_are_kept_as_empty() -> None:
    empty = ei.CumulativeState.empty()
    res = ei.integrate_meters(["a"], hours(0), [1.0], states={"a": empty, "z": empty})
    assert res.states["a"].count == 1
    assert res.states["z"] == empty


def test_a_meter_whose_only_row_is_rejected_has_an_empty_state() -> None:
    res = ei.integrate_meters(["a", "b"], hours(0, 0), [1.0, np.inf])
    assert res.states["b"] == ei.CumulativeState.empty()
    assert "b" in res.states


def test_states_carry_through_many_batches_with_changing_meters() -> None:
    # Every meter draws 1 kW, sampled hourly; each batch holds a different subset.
    states: Any = None
    batches = [["a", "b"], ["b", "c"], ["c"], ["a", "d"], []]
    for hour, meters in enumerate(batches):
        times = hours(*[hour] * len(meters))
        res = ei.integrate_meters(meters, times, [1.0] * len(meters), states=states)
        states = res.states
    assert sorted(states) == ["a", "b", "c", "d"]
    # a: hours 0 and 3 → 3 kWh; b: 0, 1 → 1; c: 1, 2 → 1; d: one sample → 0.
    assert {m: s.energy for m, s in states.items()} == {"a": 3.0, "b": 1.0, "c": 1.0, "d": 0.0}
    assert {m: s.count for m, s in states.items()} == {"a": 2, "b": 2, "c": 2, "d": 1}


@settings(max_examples=60)
@given(first=fleet_batches(), second=fleet_batches())
def test_state_table_and_its_dict_are_interchangeable(
    first: FleetBatch, second: FleetBatch
) -> None:
    incoming = {m: ei.CumulativeState.from_dict(d) for m, d in first.states.items()}
    one = ei.integrate_meters(first.meter_ids, as_datetime64(first.t), first.p, states=incoming)
    args = (second.meter_ids, as_datetime64(second.t), second.p)
    kinds = {id_kind(m) for m in [*one.states, *second.meters] if m is not None}
    if len(kinds) > 1:  # "1" and 1 would fork a meter: refused, whichever form the states take
        for states in (one.states, dict(one.states)):
            with pytest.raises(ei.MeterIdError, match="states are keyed by"):
                ei.integrate_meters(*args, states=states)
        return
    via_table = ei.integrate_meters(*args, states=one.states)
    via_dict = ei.integrate_meters(*args, states=dict(one.states))
    assert np.array_equal(via_table.cumulative, via_dict.cumulative, equal_nan=True)
    assert via_table.reason.tolist() == via_dict.reason.tolist()
    assert via_table.states == via_dict.states
    assert dict(via_table.states) == dict(via_dict.states)
    assert via_table.total == via_dict.total
