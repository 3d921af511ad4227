"""The laws of the fleet engine, proven by hypothesis against a row-by-row model.

For any unsorted multi-meter batch — string or integer meter ids, incoming
states, missing meters and times, NaN/±inf power, duplicates, rows at or before
a meter's state — :func:`integrate_meters`

* classifies every row as a plain Python model (:func:`expected_reasons`, one
  row at a time, written from the documented rules) says;
* gives, for every meter, exactly what :func:`integrate` gives on that meter's
  accepted rows sorted by time, continuing its incoming state: the cumulative
  and increments bit for bit, and equal states;
* accounts for every row once: accepted, or in ``rejected`` with the reason
  that ``reason`` shows;
* is indifferent to the order of the rows except for their alignment;
* gives the same per-meter totals when the batch arrives split across calls,
  whichever way the states are carried (the :class:`StateTable`, a plain
  dict, or each state through ``to_dict``/``from_dict``);
* adds exactly nothing when a batch is delivered again.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from collections import defaultdict
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from series_strategies import (
    EPOCH_2026_NS,
    GAP,
    NAT,
    NS_PER_HOUR,
    FleetBatch,
    as_datetime64,
    fleet_batches,
)

import energy_integral as ei

METHODS = ("trapezoid", "left", "right", "scipy")
REL = 1e-12


# -- the model ---------------------------------------------------------------------------
def incoming_states(batch: FleetBatch, method: str) -> dict[Any, ei.CumulativeState]:
    return {
        m: ei.CumulativeState.from_dict({**d, "method": method}) for m, d in batch.states.items()
    }


def expected_reasons(
    batch: FleetBatch,
    states: dict[Any, ei.CumulativeState],
    on_duplicate: str = "reject",
    max_power: float | None = None,
) -> list[str]:
    """The reason of every row by the documented rules, one row at a time."""
    reasons = []
    for meter, t, p in zip(batch.meters, batch.t.tolist(), batch.p.tolist(), strict=True):
        state = states.get(meter) if meter is not None else None
        if meter is None:
            reasons.append("invalid-meter")
        elif t == NAT:
            reasons.append("invalid-time")
        elif not math.isfinite(p) or (max_power is not None and abs(p) > max_power):
            reasons.append("invalid-power")
        elif state is not None and state.last_ts is not None and t <= state.last_ts:
            same = t == state.last_ts and p == state.last_power
            reasons.append("already-integrated" if same else "late")
        else:
            reasons.append("")
    groups: dict[tuple[Any, int], list[int]] = defaultdict(list)
    for i, meter in enumerate(batch.meters):
        if reasons[i] == "":
            groups[(meter, int(batch.t[i]))].append(i)
    for rows in groups.values():
        if on_duplicate == "mean":
            continue
        keep = rows[-1] if on_duplicate == "last" else rows[0]
        for i in rows:
            if i != keep:
                reasons[i] = "duplicate"
    return reasons


def expected_per_meter(
    batch: FleetBatch,
    reasons: list[str],
    states: dict[Any, ei.CumulativeState],
    method: str,
    max_gap: Any,
    on_duplicate: str = "reject",
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], dict[Any, Any], set[tuple[Any, ...]]]:
    """``integrate`` per meter on its accepted rows, sorted by time, scattered back to rows."""
    n = len(batch)
    cumulative, increments = np.full(n, np.nan), np.full(n, np.nan)
    out_states: dict[Any, Any] = dict(states)
    gaps: set[tuple[Any, ...]] = set()
    rows_of: dict[Any, list[int]] = defaultdict(list)
    for i, meter in enumerate(batch.meters):
        if meter is not None:
            rows_of.setdefault(meter, [])  # a named meter has a state even if all rows fail
        if reasons[i] == "":
            rows_of[meter].append(i)
    for meter, rows in rows_of.items():
        by_time: dict[int, list[int]] = defaultdict(list)
        for i in rows:
            by_time[int(batch.t[i])].append(i)
        times = sorted(by_time)
        # "mean" merges a group into one sample (a single row is its own mean, exactly).
        power = [math.fsum(batch.p[i] for i in by_time[x]) / len(by_time[x]) for x in times]
        res = ei.integrate(
            as_datetime64(times),
            np.asarray(power, dtype=np.float64),
            method=method,
            state=states.get(meter),
            max_gap=max_gap,
        )
        for k, x in enumerate(times):
            first, *rest = by_time[x]
            cumulative[by_time[x]] = res.cumulative[k]
            increments[first] = res.increments[k]
            increments[rest] = 0.0
        out_states[meter] = res.state
        gaps |= {(meter, s, e) for s, e in zip(res.gaps.start, res.gaps.end, strict=True)}
    return cumulative, increments, out_states, gaps


def assert_accounted(res: ei.FleetResult, batch: FleetBatch) -> None:
    """Every row is accepted or rejected exactly once, and both views agree."""
    n = len(batch)
    rej = res.rejected
    assert len(rej) == rej.row.size == int((~res.accepted).sum())
    np.testing.assert_array_equal(
        np.sort(np.concatenate([np.flatnonzero(res.accepted), rej.row])), np.arange(n)
    )
    assert np.all(np.diff(rej.row) > 0)  # input order, no row twice
    assert res.reason.shape == res.accepted.shape == res.cumulative.shape == (n,)
    assert set(res.reason[res.accepted]) <= {""}
    assert res.reason[rej.row].tolist() == rej.reason.tolist()
    assert set(rej.reason.tolist()) <= set(ei.REJECTION_REASONS)
    assert [batch.meters[i] for i in rej.row] == rej.meter.tolist()
    np.testing.assert_array_equal(rej.timestamp, as_datetime64(batch.t[rej.row]))
    np.testing.assert_array_equal(rej.power, batch.p[rej.row])  # NaN equals NaN here
    # Rows that were not integrated carry no energy; integrated ones carry finite energy.
    assert np.isnan(res.cumulative[~res.accepted]).all()
    assert np.isnan(res.increments[~res.accepted]).all()
    assert np.isfinite(res.cumulative[res.accepted]).all()


def energy_bound(batch: FleetBatch, states: dict[Any, ei.CumulativeState]) -> float:
    """A bound on any energy in the batch (power-unit hours): the scale of a tolerance."""
    powers = [abs(x) for x in batch.p.tolist() if math.isfinite(x)]
    times = [x for x in batch.t.tolist() if x != NAT]
    energy = 0.0
    for s in states.values():
        powers += [abs(s.first_power or 0.0), abs(s.last_power or 0.0)]
        times += [s.first_ts, s.last_ts] if s.first_ts is not None else []
        energy = max(energy, abs(s.energy))
    span_h = (max(times) - min(times)) / NS_PER_HOUR if times else 0.0
    return 1.0 + energy + max(powers, default=0.0) * span_h


def assert_same_state(
    got: ei.CumulativeState, want: ei.CumulativeState, scale: float, power_abs: float = 0.0
) -> None:
    """Equal states, energy up to rounding (and powers up to ``power_abs``, for means)."""
    assert got.energy == pytest.approx(want.energy, rel=REL, abs=REL * scale)
    for name in ("first_power", "last_power"):
        if getattr(want, name) is None:  # an empty state: approx(None) is an error in pytest 9.2
            assert getattr(got, name) is None
        else:
            assert getattr(got, name) == pytest.approx(getattr(want, name), rel=0, abs=power_abs)
    same = {"energy": got.energy, "first_power": got.first_power, "last_power": got.last_power}
    assert got == dataclasses.replace(want, **same)


def run(batch: FleetBatch, **kwargs: Any) -> ei.FleetResult:
    return ei.integrate_meters(batch.meter_ids, as_datetime64(batch.t), batch.p, **kwargs)


methods = st.sampled_from(METHODS)
max_gaps = st.sampled_from([None, GAP])


# -- the laws ----------------------------------------------------------------------------
@settings(max_examples=150)
@given(
    batch=fleet_batches(),
    method=methods,
    max_gap=max_gaps,
    on_duplicate=st.sampled_from(["reject", "last", "mean"]),
    max_power=st.sampled_from([None, 5e3]),
)
def test_equals_integrate_per_meter_on_accepted_rows(
    batch: FleetBatch, method: str, max_gap: Any, on_duplicate: str, max_power: float | None
) -> None:
    states = incoming_states(batch, method)
    res = run(
        batch,
        states=states,
        method=method,
        max_gap=max_gap,
        on_duplicate=on_duplicate,
        max_power=max_power,
    )
    reasons = expected_reasons(batch, states, on_duplicate, max_power)
    assert res.reason.tolist() == reasons
    np.testing.assert_array_equal(res.accepted, np.asarray(reasons) == "")
    assert_accounted(res, batch)

    cumulative, increments, out_states, gaps = expected_per_meter(
        batch, reasons, states, method, max_gap, on_duplicate
    )
    assert set(res.states) == set(out_states)
    assert len(res.states) == len(out_states)
    if on_duplicate == "mean":
        # A mean of several powers may round either way depending on summation order.
        scale = energy_bound(batch, states)
        max_abs_power = float(np.abs(batch.p[np.isfinite(batch.p)]).max(initial=0.0))
        np.testing.assert_allclose(res.cumulative, cumulative, rtol=REL, atol=REL * scale)
        np.testing.assert_allclose(res.increments, increments, rtol=REL, atol=REL * scale)
        for meter, state in out_states.items():
            assert_same_state(res.states[meter], state, scale, power_abs=REL * max_abs_power)
    else:
        assert np.array_equal(res.cumulative, cumulative, equal_nan=True)
        assert np.array_equal(res.increments, increments, equal_nan=True)
        for meter, state in out_states.items():
            assert meter in res.states
            assert res.states[meter] == state
        assert res.states == out_states
    assert res.total == pytest.approx(sum(s.energy for s in out_states.values()), rel=REL)
    meters = res.gaps.meter if res.gaps.meter is not None else []
    got_gaps = set(zip(meters, res.gaps.start, res.gaps.end, strict=True))
    assert got_gaps == gaps
    assert len(res.gaps) == len(gaps)


@settings(max_examples=150)
@given(batch=fleet_batches(), method=methods, data=st.data())
def test_shuffling_rows_changes_only_their_alignment(
    batch: FleetBatch, method: str, data: st.DataObject
) -> None:
    # Which of two conflicting duplicates is kept depends on input order by design,
    # so keep one valid row per (meter, time); invalid and stale rows stay.
    states = incoming_states(batch, method)
    seen: set[tuple[Any, int]] = set()
    keep = []
    for i, (meter, t) in enumerate(zip(batch.meters, batch.t.tolist(), strict=True)):
        if meter is None or t == NAT or not math.isfinite(batch.p[i]):
            keep.append(i)
        elif (meter, t) not in seen:
            seen.add((meter, t))
            keep.append(i)
    batch = batch.take(keep)
    perm = np.asarray(data.draw(st.permutations(range(len(batch)))), dtype=np.intp)
    shuffled = batch.take(perm)

    res = run(batch, states=states, method=method, max_gap=GAP)
    out = run(shuffled, states=states, method=method, max_gap=GAP)
    assert np.array_equal(out.cumulative, res.cumulative[perm], equal_nan=True)
    assert np.array_equal(out.increments, res.increments[perm], equal_nan=True)
    np.testing.assert_array_equal(out.accepted, res.accepted[perm])
    assert out.reason.tolist() == res.reason[perm].tolist()
    assert sorted(perm[out.rejected.row].tolist()) == res.rejected.row.tolist()
    assert out.states == res.states
    assert sorted(zip(out.gaps.start.tolist(), out.gaps.end.tolist(), strict=True)) == sorted(
        zip(res.gaps.start.tolist(), res.gaps.end.tolist(), strict=True)
    )


def _carry(states: ei.StateTable, how: str) -> Any:
    if how == "table":
        return states
    if how == "dict":
        return dict(states)
    return {
        m: ei.CumulativeState.from_dict(json.loads(json.dumps(s.to_dict())))
        for m, s in states.items()
    }


@st.composite
def _split_batch(draw: st.DrawFn, /) -> tuple[FleetBatch, list[int]]:
    """A batch ordered by time (ties and chunks in any order) and cuts into chunks.

    Splitting a batch is only meaningful along time: a row delivered after a
    newer row of its meter is late by definition, so each chunk holds times no
    earlier than the previous chunk's.
    """
    batch = draw(fleet_batches(max_rows=40))
    order = np.argsort(batch.t, kind="stable")
    batch = batch.take(order)
    n = len(batch)
    cuts = sorted(draw(st.sets(st.integers(1, max(n - 1, 1)), max_size=5))) if n > 1 else []
    bounds = [0, *cuts, n]
    rows: list[int] = []
    for a, b in itertools.pairwise(bounds):
        rows.extend(a + np.asarray(draw(st.permutations(range(b - a))), dtype=int))
    return batch.take(rows), cuts


@settings(max_examples=150)
@given(
    split=_split_batch(),
    method=methods,
    max_gap=max_gaps,
    how=st.sampled_from(["table", "dict", "to_dict"]),
)
def test_batch_split_across_calls_gives_the_same_totals(
    split: tuple[FleetBatch, list[int]], method: str, max_gap: Any, how: str
) -> None:
    batch, cuts = split
    states0 = incoming_states(batch, method)
    whole = run(batch, states=states0, method=method, max_gap=max_gap)

    carried: Any = states0
    accepted = []
    for rows in np.split(np.arange(len(batch)), cuts):
        part = run(batch.take(rows), states=carried, method=method, max_gap=max_gap)
        assert_accounted(part, batch.take(rows))
        accepted.append(part.accepted)
        carried = _carry(part.states, how)

    assert set(carried) == set(whole.states)
    # A duplicate split from its first row comes back late, not duplicate: the same row wins.
    np.testing.assert_array_equal(np.concatenate(accepted), whole.accepted)
    scale = energy_bound(batch, states0)
    for meter, state in whole.states.items():
        assert_same_state(carried[meter], state, scale)


@settings(max_examples=100)
@given(batch=fleet_batches(clean=True), method=methods, max_gap=max_gaps)
def test_redelivered_batch_adds_nothing(batch: FleetBatch, method: str, max_gap: Any) -> None:
    states = incoming_states(batch, method)
    first = run(batch, states=states, method=method, max_gap=max_gap)
    again = run(batch, states=first.states, method=method, max_gap=max_gap)

    assert again.total == first.total  # exactly: no row was integrated twice
    assert again.states == first.states
    assert not again.accepted.any()
    assert np.isnan(again.cumulative).all()
    assert np.isnan(again.increments).all()
    assert_accounted(again, batch)
    # The state keeps one sample per meter: a row equal to it is recognised as
    # already integrated; an earlier row cannot be told from a late one.
    for i, meter in enumerate(batch.meters):
        last = first.states[meter]
        same = batch.t[i] == last.last_ts and batch.p[i] == last.last_power
        assert again.reason[i] == ("already-integrated" if same else "late")


@settings(max_examples=100)
@given(batch=fleet_batches(clean=True, with_states=False), method=methods)
def test_redelivered_one_reading_per_meter_is_all_already_integrated(
    batch: FleetBatch, method: str
) -> None:
    # The minute-by-minute case: each meter sends one reading per batch.
    seen: set[Any] = set()
    rows = [i for i, m in enumerate(batch.meters) if not (m in seen or seen.add(m))]
    batch = batch.take(rows)
    first = run(batch, method=method)
    assert first.accepted.all()
    again = run(batch, states=first.states, method=method)
    assert again.reason.tolist() == ["already-integrated"] * len(batch)
    assert again.rejected.counts() == {"already-integrated": len(batch)}
    assert again.total == first.total
    assert again.states == first.states


@pytest.mark.parametrize("n_meters", [300, 40_000], ids=["int16-codes", "wide-codes"])
def test_large_shuffled_fleet(n_meters: int) -> None:
    # Meter m draws m kW at 0 h, 1 h and 2 h: 2·m kWh. More meters than an int16 holds
    # takes the general sort; the rows arrive shuffled in meter and time.
    rng = np.random.default_rng(n_meters)
    meters = np.repeat(np.arange(n_meters) * 7 + 1_000_003, 3)  # ids outside any lookup table
    t = np.tile(np.array([0, 1, 2]) * NS_PER_HOUR, n_meters) + EPOCH_2026_NS
    p = (meters - 1_000_003) / 7.0
    perm = rng.permutation(meters.size)
    res = ei.integrate_meters(meters[perm], as_datetime64(t[perm]), p[perm])
    assert res.accepted.all()
    energy = {m: s.energy for m, s in res.states.items()}
    assert energy == {int(m): 2.0 * (m - 1_000_003) / 7 for m in meters[::3]}
    expected_cum = np.where(t == EPOCH_2026_NS, 0.0, (t - EPOCH_2026_NS) / NS_PER_HOUR * p)
    np.testing.assert_array_equal(res.cumulative, expected_cum[perm])
    sorted_res = ei.integrate_meters(meters, as_datetime64(t), p)
    np.testing.assert_array_equal(sorted_res.cumulative[perm], res.cumulative)
    assert sorted_res.states == res.states
