"""The fleet engine's fast path for batches grouped by meter and sorted by time.

A batch already in (meter, time) order is integrated without per-row
bookkeeping when nothing in it needs a policy. The laws: the fast path is
taken exactly when the batch is clean, and whichever path runs, the result
equals (bit for bit) that of the same rows in another order. A clean batch
in another order (a stream's time order, shuffled) is put in (meter, time)
order and takes the same fast path, or, in time order, is integrated block
by block in input order; its result equals the general path's.
"""

from __future__ import annotations

import math
from typing import Any
from unittest import mock

import numpy as np
import numpy.typing as npt
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from series_strategies import GAP, NAT, FleetBatch, as_datetime64, fleet_batches

import energy_integral as ei
import energy_integral._time_order as time_order_module
import energy_integral.fleet as fleet_module
from energy_integral._clean_batch import integrate_clean
from energy_integral._rules import IntegrationRules

METHODS = ("trapezoid", "left", "right", "scipy")


def _grouped_numeric(batch: FleetBatch, fresh_only: bool) -> FleetBatch:
    """The batch with integer meter ids, one valid row per (meter, time), in (meter, time) order.

    Rows without a meter are dropped (an integer array cannot hold one), and so
    are the later of two rows at one (meter, time) with valid power: which one
    wins depends on row order by design, and this law is about order. With
    ``fresh_only``, rows at or before their meter's state go too, so that clean
    batches continuing a state (with its carried energy) come up often.
    """
    meters = batch.meters
    rank = {m: i for i, m in enumerate(sorted({str(m) for m in meters if m is not None}))}
    last = {m: s["last_ts"] for m, s in batch.states.items()}
    seen: set[tuple[int, int]] = set()
    keep, ids = [], []
    for i, (meter, t) in enumerate(zip(meters, batch.t.tolist(), strict=True)):
        if meter is None or (fresh_only and meter in last and t <= last[meter]):
            continue
        key = (rank[str(meter)], t)
        valid = t != NAT and math.isfinite(batch.p[i])
        if valid and key in seen:
            continue
        if valid:
            seen.add(key)
        keep.append(i)
        ids.append(key[0])
    states = {rank[str(m)]: s for m, s in batch.states.items() if str(m) in rank}
    ids_arr = np.asarray(ids, dtype=np.int64)
    order = np.lexsort((batch.t[keep], ids_arr))
    rows = np.asarray(keep, dtype=np.intp)[order]
    return FleetBatch(ids_arr[order], batch.t[rows], batch.p[rows], states)


def _is_clean(batch: FleetBatch, states: dict[Any, ei.CumulativeState], max_power: float) -> bool:
    """Nothing for a policy: every row valid, none at or before its meter's state."""
    for meter, t, p in zip(batch.meter_ids.tolist(), batch.t.tolist(), batch.p, strict=True):
        if t == NAT or not math.isfinite(p) or abs(p) > max_power:
            return False
        if meter in states and t <= states[meter].last_ts:
            return False
    return len(batch) > 0


@settings(max_examples=200)
@given(
    batch=st.one_of(fleet_batches(), fleet_batches(clean=True)),
    method=st.sampled_from(METHODS),
    max_power=st.sampled_from([math.inf, 5e3]),
    fresh_only=st.booleans(),
)
def test_fast_path_runs_exactly_for_clean_batches_and_changes_no_bit(
    batch: FleetBatch, method: str, max_power: float, fresh_only: bool
) -> None:
    grouped = _grouped_numeric(batch, fresh_only)
    states = {
        m: ei.CumulativeState.from_dict({**d, "method": method}) for m, d in grouped.states.items()
    }
    options: dict[str, Any] = {
        "states": states,
        "method": method,
        "max_gap": GAP,
        "max_power": None if math.isinf(max_power) else max_power,
    }
    outcomes: list[bool] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        result = integrate_clean(*args, **kwargs)
        outcomes.append(result is not None)
        return result

    t = as_datetime64(grouped.t)
    with mock.patch.object(fleet_module, "integrate_clean", spy):
        fast = ei.integrate_meters(grouped.meter_ids, t, grouped.p, **options)
    assert outcomes == ([_is_clean(grouped, states, max_power)] if len(grouped) else [])
    event(f"fast path taken: {outcomes}")

    back = np.arange(len(grouped))[::-1]  # reversed: not grouped-sorted unless a single row
    general = ei.integrate_meters(grouped.meter_ids[back], t[back], grouped.p[back], **options)
    assert np.array_equal(general.cumulative, fast.cumulative[back], equal_nan=True)
    assert np.array_equal(general.increments, fast.increments[back], equal_nan=True)
    assert general.reason.tolist() == fast.reason[back].tolist()
    assert sorted(back[general.rejected.row].tolist()) == fast.rejected.row.tolist()
    assert general.states == fast.states
    assert sorted(zip(general.gaps.meter.tolist(), general.gaps.start.tolist(), strict=True)) == (
        sorted(zip(fast.gaps.meter.tolist(), fast.gaps.start.tolist(), strict=True))
    )


def test_a_clean_sorted_fleet_matches_the_hand_computed_energy() -> None:
    # Meter m holds m kW from 0 h to 2 h in steps of 30 min (5 rows): 2·m kWh, the
    # running sum m/2 kWh per step. Meter 1 carries 10 kWh and its last reading at -30 min.
    meters = np.repeat(np.array([1, 2, 5]), 5)
    hours = np.tile(np.arange(5) * 0.5, 3)
    t = np.datetime64("2026-01-01T00:00", "ns") + (hours * 3600e9).astype("timedelta64[ns]")
    p = meters.astype(np.float64)
    carried = ei.integrate(t[:1] - np.timedelta64(30, "m"), [1.0])
    carried = ei.CumulativeState.from_dict({**carried.state.to_dict(), "energy": 10.0})
    res = ei.integrate_meters(meters, t, p, states={1: carried})
    assert res.accepted.all()
    assert len(res.rejected) == 0
    expected = np.where(meters == 1, 10.0 + 0.5 + hours, hours * meters)
    np.testing.assert_allclose(res.cumulative, expected, rtol=1e-15)
    assert {m: s.energy for m, s in res.states.items()} == {1: 12.5, 2: 4.0, 5: 10.0}
    assert res.states[1].count == carried.count + 5


@settings(max_examples=400)
@given(
    batch=st.one_of(
        fleet_batches(),
        fleet_batches(clean=True, max_rows=60),
        fleet_batches(clean=True, max_rows=60, with_states=False),
    ),
    method=st.sampled_from(METHODS),
    arrival=st.sampled_from(["time order", "interleaved", "shuffled", "reversed"]),
    seed=st.integers(0, 2**32 - 1),
    string_ids=st.booleans(),
    block_rows=st.integers(1, 8),
    keep_sorted=st.booleans(),
)
def test_a_clean_batch_in_any_order_is_reordered_onto_the_fast_path_bit_for_bit(
    batch: FleetBatch,
    method: str,
    arrival: str,
    seed: int,
    string_ids: bool,
    block_rows: int,
    keep_sorted: bool,
) -> None:
    """Rows not grouped by meter are integrated by a fast path when clean — block by block
    when each meter's rows are in time order (a stream's order, the meters interleaved any
    way), else once put in (meter, time) order — and the result equals the general path's,
    bit for bit, whatever the size of the blocks."""
    grouped = _grouped_numeric(batch, fresh_only=True)
    n = len(grouped)
    if arrival == "time order":
        order = np.argsort(grouped.t, kind="stable")
    elif arrival == "interleaved":  # each meter's rows in time order, the meters mixed at random
        labels = grouped.meter_ids[np.random.default_rng(seed).permutation(n)]
        order = np.empty(n, dtype=np.intp)
        order[np.argsort(labels, kind="stable")] = np.arange(n)
    elif arrival == "shuffled":
        order = np.random.default_rng(seed).permutation(n)
    else:
        order = np.arange(n)[::-1]
    ids = grouped.meter_ids[order]
    states = grouped_states(grouped, method)
    clean = _is_clean(grouped, states, math.inf)
    if string_ids:
        ids = np.array([f"m{i}" for i in ids.tolist()], dtype=str)
        states = {f"m{m}": s for m, s in states.items()}
    t, p = as_datetime64(grouped.t[order]), grouped.p[order]
    options: dict[str, Any] = {
        "states": states, "method": method, "max_gap": GAP, "keep_sorted": keep_sorted
    }  # fmt: skip
    fast, general, taken = _fast_and_general(ids, t, p, options, block_rows)
    if taken:  # not tried: the batch was grouped already (the other fast path) or empty
        # Each meter's rows in time order: integrated block by block. Otherwise that path
        # says so (or, first, that a row needs a policy) and the batch is sorted whole, as
        # it always is when its sorted rows are to be kept.
        if keep_sorted:
            assert taken == [("_integrate_reordered", clean)]
        elif _each_meter_in_time_order(grouped.meter_ids[order], grouped.t[order]):
            assert taken == [("integrate_time_order", clean)]
        elif clean:
            assert taken == [("integrate_time_order", False), ("_integrate_reordered", True)]
        else:
            assert taken[0] == ("integrate_time_order", False)
            assert taken[1:] in ([], [("_integrate_reordered", False)])
    event(f"path taken: {taken}")
    _assert_same_result(general, fast)


@settings(max_examples=300)
@given(
    batch=st.one_of(
        fleet_batches(max_meters=8, max_rows=60),
        fleet_batches(clean=True, max_meters=8, max_rows=60),
        fleet_batches(clean=True, max_meters=8, max_rows=60, with_states=False),
    ),
    method=st.sampled_from(METHODS),
    max_gap=st.sampled_from([None, GAP]),
    block_rows=st.integers(1, 16),
)
def test_a_stream_in_time_order_is_integrated_block_by_block_bit_for_bit(
    batch: FleetBatch, method: str, max_gap: Any, block_rows: int
) -> None:
    """A batch in time order, meters interleaved (as a stream delivers it), takes the
    block-by-block path exactly when it is clean, and gives the general path's result."""
    grouped = _grouped_numeric(batch, fresh_only=True)
    order = np.argsort(grouped.t, kind="stable")
    states = grouped_states(grouped, method)
    clean = _is_clean(grouped, states, math.inf)
    t, p = as_datetime64(grouped.t[order]), grouped.p[order]
    options: dict[str, Any] = {"states": states, "method": method, "max_gap": max_gap}
    fast, general, taken = _fast_and_general(grouped.meter_ids[order], t, p, options, block_rows)
    if taken:  # not tried: the batch was grouped already (the other fast path) or empty
        assert taken == [("integrate_time_order", clean)]
    event(f"path taken: {taken}")
    _assert_same_result(general, fast)


@pytest.mark.parametrize("arrival", ["time order", "jittered"])
def test_a_stream_of_several_full_blocks_gives_the_general_paths_result_bit_for_bit(
    arrival: str,
) -> None:
    # 2,000 meters, 300 irregular readings each (some 3 min apart: gaps), in time order or
    # each up to 20 s late (so each meter's rows stay in time order, the batch does not):
    # 600,000 rows, three blocks of the real size; half the meters continue a state.
    rng = np.random.default_rng(7)
    steps = rng.choice([55, 60, 65, 180], size=(2_000, 300), p=[0.3, 0.4, 0.29, 0.01])
    t = (np.cumsum(steps, axis=1) * 1_000_000_000 + 1_767_225_600_000_000_000).ravel()
    ids = np.repeat(np.arange(2_000), 300)
    p = rng.normal(2.0, 1.0, size=ids.size)
    late = rng.integers(0, 20 * 10**9, size=t.size) if arrival == "jittered" else 0
    order = np.argsort(t + late, kind="stable")
    assert (arrival == "jittered") == bool(np.any(np.diff(t[order]) < 0))
    continued = np.repeat(np.arange(0, 2_000, 2), 2)  # two readings each, 100 s apart
    earlier = np.tile([t.min() - 150 * 10**9, t.min() - 50 * 10**9], 1_000)
    before = ei.integrate_meters(continued, as_datetime64(earlier), np.ones(continued.size))
    options: dict[str, Any] = {"states": before.states, "max_gap": "2min"}
    fast, general, taken = _fast_and_general(
        ids[order], as_datetime64(t[order]), p[order], options, time_order_module.BLOCK_ROWS
    )
    assert ids.size > 2 * time_order_module.BLOCK_ROWS
    assert taken == [("integrate_time_order", True)]
    assert len(general.gaps) > 0
    assert any(s.energy != 0 for s in before.states.values())
    _assert_same_result(general, fast)


@pytest.mark.parametrize(("max_meters", "path"), [(3, "blocks"), (2, "sorted whole")])
def test_a_stream_of_more_meters_than_the_blocks_pay_for_is_sorted_whole(
    max_meters: int, path: str
) -> None:
    # Three meters at 1, 2 and 3 kW, read hourly from 0 h to 3 h, in time order: 3, 6, 9 kWh.
    ids = np.tile(np.arange(3), 4)
    t = as_datetime64(np.repeat(np.arange(4), 3) * 3_600_000_000_000)
    p = (ids + 1).astype(np.float64)
    with mock.patch.object(time_order_module, "MAX_METERS", max_meters):
        fast, general, taken = _fast_and_general(ids, t, p, {}, time_order_module.BLOCK_ROWS)
    if path == "blocks":
        assert taken == [("integrate_time_order", True)]
    else:
        assert taken == [("integrate_time_order", False), ("_integrate_reordered", True)]
    assert {m: s.energy for m, s in fast.states.items()} == {0: 3.0, 1: 6.0, 2: 9.0}
    _assert_same_result(general, fast)


def test_a_shuffled_batch_is_told_from_its_first_rows_before_any_block() -> None:
    # Two meters read hourly, one of them shuffled within the head: no block is integrated.
    ids = np.tile(np.arange(2), 40)
    hours = np.repeat(np.arange(40), 2)
    hours[[0, 2]] = hours[[2, 0]]  # meter 0's first two readings swapped
    t = as_datetime64(hours * 3_600_000_000_000)
    p = np.ones(ids.size)
    head = mock.patch.object(time_order_module, "HEAD_ROWS", 16)  # the batch is 80 rows
    with head, mock.patch.object(time_order_module, "clean_increments") as blocks:
        reason = time_order_module.integrate_time_order(
            ids, np.arange(2), t.view(np.int64), p,
            ei.StateTable.lookup(None, np.arange(2), "trapezoid", "kW", "kWh"),
            IntegrationRules.checked("trapezoid", "kW", "kWh"),
        )  # fmt: skip
    assert reason is time_order_module.SortWhole.UNORDERED
    blocks.assert_not_called()
    # Both meters hold 1 kW for 39 hours, whichever path integrates them.
    assert {m: s.energy for m, s in ei.integrate_meters(ids, t, p).states.items()} == {
        0: 39.0,
        1: 39.0,
    }


def _fast_and_general(
    ids: Any, t: Any, p: Any, options: dict[str, Any], block_rows: int
) -> tuple[ei.FleetResult, ei.FleetResult, list[tuple[str, bool]]]:
    """The engine's result, with blocks of ``block_rows`` rows; the general path's; and which
    fast path was tried, with whether it gave the result."""
    taken: list[tuple[str, bool]] = []

    def spying(name: str) -> Any:
        path = getattr(fleet_module, name)

        def spy(*args: Any) -> Any:
            result = path(*args)
            taken.append((name, isinstance(result, ei.FleetResult)))
            return result

        return mock.patch.object(fleet_module, name, spy)

    # Blocks of a few rows: a meter's state and running sum carry across many blocks.
    blocks = mock.patch.object(time_order_module, "BLOCK_ROWS", block_rows)
    with spying("_integrate_reordered"), spying("integrate_time_order"), blocks:
        fast = ei.integrate_meters(ids, t, p, **options)
    with (
        mock.patch.object(fleet_module, "_integrate_reordered", return_value=None),
        mock.patch.object(fleet_module, "integrate_time_order", return_value=None),
    ):
        general = ei.integrate_meters(ids, t, p, **options)
    return fast, general, taken


def _each_meter_in_time_order(ids: npt.NDArray[np.int64], t: npt.NDArray[np.int64]) -> bool:
    """Whether each meter's times never decrease in row order (a missing time, int64's
    minimum, after a valid one does)."""
    by_meter: dict[int, list[int]] = {}
    for meter, time in zip(ids.tolist(), t.tolist(), strict=True):
        by_meter.setdefault(meter, []).append(time)
    return all(times == sorted(times) for times in by_meter.values())


def _assert_same_result(general: ei.FleetResult, fast: ei.FleetResult) -> None:
    assert np.array_equal(general.cumulative, fast.cumulative, equal_nan=True)
    assert np.array_equal(general.increments, fast.increments, equal_nan=True)
    assert general.reason.tolist() == fast.reason.tolist()
    assert general.meter.tolist() == fast.meter.tolist()
    assert general.states == fast.states
    assert general.gaps.meter.tolist() == fast.gaps.meter.tolist()
    assert general.gaps.start.tolist() == fast.gaps.start.tolist()
    assert general.gaps.end.tolist() == fast.gaps.end.tolist()


def grouped_states(batch: FleetBatch, method: str) -> dict[Any, ei.CumulativeState]:
    return {
        m: ei.CumulativeState.from_dict({**d, "method": method}) for m, d in batch.states.items()
    }


@pytest.mark.parametrize("library", ["pandas", "polars", "pyarrow"])
def test_a_reordered_batch_reaches_frames_and_interval_buckets_unchanged(library: str) -> None:
    """The reordered path's results, as any other path's, go into a table's columns and
    into ``energy_by_interval(fleet=)`` with the values of the grouped batch."""
    rng = np.random.default_rng(3)
    meters = np.repeat(np.arange(5), 40)
    t = np.tile(np.arange(40) * 600, 5) * 10**9 + rng.integers(0, 10**9, 200)
    p = rng.normal(2.0, 1.0, 200)
    arrival = np.argsort(t, kind="stable")  # time order, meters interleaved
    grouped = ei.integrate_meters(meters, as_datetime64(t), p)
    res = ei.integrate_meters(meters[arrival], as_datetime64(t[arrival]), p[arrival])
    assert np.array_equal(res.cumulative, grouped.cumulative[arrival])
    assert np.array_equal(res.increments, grouped.increments[arrival])

    frame = pd.DataFrame(
        {"METER_ID": meters[arrival], "TIMESTAMP": as_datetime64(t[arrival]), "KW": p[arrival]}
    )
    table = {"pandas": frame, "polars": pl.from_pandas(frame), "pyarrow": pa.table(frame)}
    out = ei.integrate_frame(table[library]).frame
    for name, want in (("CUMULATIVE_KWH", res.cumulative), ("INTERVAL_KWH", res.increments)):
        column = out.column(name).to_numpy() if library == "pyarrow" else out[name].to_numpy()
        assert np.array_equal(column, want)

    buckets = ei.energy_by_interval(
        as_datetime64(t[arrival]), p[arrival], "1h", meter_ids=meters[arrival], fleet=res
    )
    again = ei.energy_by_interval(as_datetime64(t), p, "1h", meter_ids=meters)
    assert buckets.energy.tolist() == again.energy.tolist()
    assert buckets.start.tolist() == again.start.tolist()
