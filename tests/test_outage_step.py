"""Outage markers (on_invalid="gap") and step duplicates (on_duplicate="step") in the engine."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from series_strategies import NAT, as_datetime64, fleet_batches

import energy_integral as ei
from energy_integral.errors import StateFormatError

HOUR = 3_600 * 10**9


def _state(**kwargs: Any) -> ei.CumulativeState:
    base = {"first_ts": 0, "first_power": 1.0, "last_ts": HOUR, "last_power": 1.0,
            "energy": 1.0, "count": 2}  # fmt: skip
    return ei.CumulativeState(**{**base, **kwargs})


def test_an_open_outage_is_written_only_when_set() -> None:
    assert "outage" not in _state().to_dict()  # stored states read as before
    opened = _state(outage=True)
    assert opened.to_dict()["outage"] is True
    assert ei.CumulativeState.from_dict(opened.to_dict()) == opened
    with pytest.raises(StateFormatError, match="outage"):
        ei.CumulativeState(outage=True)
    with pytest.raises(StateFormatError, match="outage=1"):
        _state(outage=1)


def test_combine_drops_the_bridge_after_an_outage() -> None:
    after = ei.CumulativeState(first_ts=2 * HOUR, first_power=3.0, last_ts=2 * HOUR,
                               last_power=3.0, count=1)  # fmt: skip
    assert _state().combine(after).energy == 3.0  # 1 kWh + (1 + 3) / 2 kW × 1 h
    assert _state(outage=True).combine(after).energy == 1.0
    assert not _state(outage=True).combine(after).outage
    assert _state().combine(_state(first_ts=2 * HOUR, last_ts=3 * HOUR, outage=True)).outage
    t = as_datetime64([2 * HOUR, 3 * HOUR])
    res = ei.integrate(t, [3.0, 3.0], state=_state(outage=True))
    assert res.increments.tolist() == [0.0, 3.0]
    assert len(res.gaps) == 1
    assert not res.state.outage


def test_an_invalid_reading_delivered_after_a_valid_one_of_its_time_opens_the_next() -> None:
    t = as_datetime64([0, HOUR, HOUR, 2 * HOUR, 3 * HOUR])
    res = ei.integrate_meters(["m"] * 5, t, [1.0, 1.0, np.nan, 1.0, 1.0], on_invalid="gap")
    assert res.increments[[1, 3, 4]].tolist() == [1.0, 0.0, 1.0]
    res = ei.integrate_meters(["m"] * 5, t, [1.0, np.nan, 1.0, 1.0, 1.0], on_invalid="gap")
    assert res.increments[[2, 3, 4]].tolist() == [0.0, 1.0, 1.0]


def test_a_step_may_come_back_to_the_state_power() -> None:
    """(5 h, 10) ends a batch; the next delivers (5 h, 30), (5 h, 10), (6 h, 10)."""
    state = ei.CumulativeState(first_ts=5 * HOUR, first_power=10.0, last_ts=5 * HOUR,
                               last_power=10.0, count=1)  # fmt: skip
    t = as_datetime64([5 * HOUR, 5 * HOUR, 6 * HOUR])
    res = ei.integrate_meters(
        ["m"] * 3, t, [30.0, 10.0, 10.0], states={"m": state}, on_duplicate="step"
    )
    assert res.accepted.all()
    assert res.states["m"].energy == 10.0
    again = ei.integrate_meters(["m"], t[:1], [10.0], states={"m": state}, on_duplicate="step")
    assert again.reason.tolist() == ["already-integrated"]  # a re-delivery, not a step


@settings(max_examples=150, deadline=None)
@given(batch=fleet_batches(), cuts=st.data(),
       method=st.sampled_from(["trapezoid", "left", "right"]))  # fmt: skip
def test_batches_of_a_stream_carry_outages_and_steps(
    batch: Any, cuts: st.DataObject, method: str
) -> None:
    """A stream in time order (ties in delivery order), split into batches carrying the
    states, gives every row the cumulative energy of one call, and the same states."""
    meters = np.asarray(batch.meter_ids, dtype=object)
    known = np.array([m is not None for m in meters], dtype=bool) & (batch.t != NAT)
    rows = np.flatnonzero(known)
    rows = rows[np.argsort(batch.t[rows], kind="stable")]
    ids, t, p = meters[rows].tolist(), batch.t[rows], batch.p[rows]
    states = {m: ei.CumulativeState.from_dict({**s, "method": method})
              for m, s in batch.states.items()}  # fmt: skip
    kwargs = {"method": method, "on_invalid": "gap", "on_duplicate": "step"}
    whole = ei.integrate_meters(ids, as_datetime64(t), p, states=states, **kwargs)
    where = sorted(cuts.draw(st.sets(st.integers(1, max(len(ids) - 1, 1)), max_size=4)))
    bounds = [0, *(c for c in where if c < len(ids)), len(ids)]
    carried: Any = states
    cumulative, reasons, gaps = [], [], 0
    for a, b in itertools.pairwise(bounds):
        part = ei.integrate_meters(ids[a:b], as_datetime64(t[a:b]), p[a:b], states=carried,
                                   **kwargs)  # fmt: skip
        cumulative.append(part.cumulative)
        reasons.extend(part.reason.tolist())
        gaps += len(part.gaps)
        carried = part.states
    assert reasons == whole.reason.tolist()
    np.testing.assert_allclose(
        np.concatenate(cumulative) if cumulative else [], whole.cumulative, rtol=1e-12,
        atol=1e-9,
    )  # fmt: skip
    assert gaps == len(whole.gaps)
    for meter in whole.states:
        got, want = carried[meter], whole.states[meter]
        assert (got.last_ts, got.last_power, got.count, got.outage) == (
            want.last_ts, want.last_power, want.count, want.outage,
        )  # fmt: skip
        assert got.energy == pytest.approx(want.energy, rel=1e-12, abs=1e-9)
