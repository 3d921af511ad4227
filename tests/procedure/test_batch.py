"""One landed batch → rows for every table: stream actions, reasons, counts, hand-derived kWh."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import energy_integral as ei
from energy_integral_snowflake.batch import (
    Policy,
    integrate_batch,
    merge_duplicates,
    state_from_json,
    state_to_json,
)
from energy_integral_snowflake.schema import tables

NOW = dt.datetime(2026, 1, 2)
T0 = pd.Timestamp("2026-01-01T00:00")


def _landed(rows: list[tuple[object, ...]], batch_id: int = 1) -> pd.DataFrame:
    """Rows of (ID, ACTION, IS_UPDATE, METER_ID, minutes after T0 or None, KW)."""
    out = [
        (batch_id, f"r{i}", action, upd, i, meter,
         None if minutes is None else T0 + pd.Timedelta(minutes=minutes), kw, NOW)
        for i, action, upd, meter, minutes, kw in rows
    ]  # fmt: skip
    return pd.DataFrame(out, columns=tables().landing.column_names)


def test_a_ramp_integrates_to_its_hand_derived_energy() -> None:
    # P(t) = 2 + 6 t (t in hours) sampled every 10 min for one hour: trapezoid is exact,
    # E = 2·1 + 6·1²/2 = 5 kWh.
    rows = [(i + 1, "INSERT", False, "m", 10 * i, 2 + 6 * (i / 6)) for i in range(7)]
    out = integrate_batch(_landed(rows), {}, 1, Policy("trapezoid"), NOW)
    assert math.isclose(out.kwh_added, 5.0, rel_tol=1e-12)
    assert math.isclose(out.results[-1][4], 5.0, rel_tol=1e-12)
    assert [r[6] for r in out.results] == [1] * 7
    assert state_from_json(out.states[0][2]).energy == pytest.approx(5.0, rel=1e-12)


def test_deletes_and_updates_of_integrated_readings_are_corrections() -> None:
    before = ei.CumulativeState("trapezoid", first_ts=0, first_power=1.0,
                                last_ts=T0.value, last_power=4.0, energy=9.0, count=5)  # fmt: skip
    rows = [
        (1, "DELETE", False, "m", 0, 4.0),  # a deleted source row
        (2, "DELETE", True, "m", -10, 3.0),  # an update's old half
        (2, "INSERT", True, "m", -10, 3.5),  # its new half: older than the state
        (3, "INSERT", False, "m", 10, 4.0),  # a normal new reading
    ]
    out = integrate_batch(_landed(rows), {"m": before}, 2, Policy(), NOW)
    reasons = sorted((q[2], q[6]) for q in out.quarantine)
    assert reasons == [(1, "correction"), (2, "correction"), (2, "replaced")]
    keys = [(q[0], q[1], q[6]) for q in out.quarantine]  # (BATCH_ID, ROW_ID, REASON)
    assert len(set(keys)) == len(keys)  # the update's two halves: two distinct keys
    assert out.rows_integrated == 1
    # only the new reading adds energy: 10 minutes at 4 kW
    assert out.kwh_added == pytest.approx(4.0 / 6, rel=1e-12)
    assert out.results[0][4] == pytest.approx(9.0 + 4.0 / 6, rel=1e-12)


def test_rejected_rows_keep_their_values_and_a_reason() -> None:
    rows = [
        (1, "INSERT", False, None, 0, 1.0),
        (2, "INSERT", False, "m", None, 1.0),
        (3, "INSERT", False, "m", 0, float("nan")),
        (4, "INSERT", False, "m", 1, 1.0),
        (5, "INSERT", False, "m", 1, 2.0),
    ]
    out = integrate_batch(_landed(rows), {}, 1, Policy(), NOW)
    by_id = {q[2]: q for q in out.quarantine}
    assert {i: q[6] for i, q in by_id.items()} == {
        1: "invalid-meter", 2: "invalid-time", 3: "invalid-power", 5: "duplicate"
    }  # fmt: skip
    assert by_id[3][5] is None  # NaN power is stored as NULL
    assert by_id[5][5] == 2.0
    assert all(q[7] for q in out.quarantine)  # every rejection explains itself


def test_a_merged_duplicate_group_is_one_result_row_with_the_mean_power() -> None:
    rows = [
        (1, "INSERT", False, "m", 0, 2.0),
        (4, "INSERT", False, "m", 15, 8.0),
        (2, "INSERT", False, "m", 15, 4.0),  # the group's first row by ID
        (3, "INSERT", False, "m", 15, float("nan")),  # invalid: not part of the mean
        (5, "INSERT", False, "m", 30, 2.0),
        (6, "INSERT", False, "n", 0, 1.0),
        (7, "INSERT", False, "n", 0, 3.0),
    ]
    out = integrate_batch(_landed(rows), {}, 1, Policy("trapezoid", on_duplicate="mean"), NOW)
    # m: 2 kW, then (4 + 8)/2 = 6 kW, then 2 kW, 15 minutes apart: each interval is
    # (2 + 6)/2 · 0.25 h = 1 kWh. n: one sample of (1 + 3)/2 = 2 kW, no interval yet.
    got = [(r[0], r[1], r[2], r[3], r[4]) for r in out.results]
    t = [(T0 + pd.Timedelta(minutes=k)).to_pydatetime() for k in (0, 15, 30)]
    assert got == [
        ("m", t[0], 2.0, 0.0, 0.0),
        ("m", t[1], 6.0, 1.0, 1.0),
        ("m", t[2], 2.0, 1.0, 2.0),
        ("n", t[0], 2.0, 0.0, 0.0),
    ]
    # Every landed row is accounted for: 6 integrated (2 of them merged) and 1 rejected.
    assert (out.rows_read, out.rows_integrated, out.rows_merged, out.rows_rejected) == (7, 6, 2, 1)
    assert [(q[2], q[6]) for q in out.quarantine] == [(3, "invalid-power")]
    assert out.kwh_added == 2.0
    n = state_from_json(out.states[1][2])
    assert (n.last_power, n.count) == (2.0, 1)


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", None]),
            st.integers(0, 5),  # few times, so that duplicates are common
            st.sampled_from([1.0, 2.5, -3.0, float("nan")]),
            st.sampled_from(["INSERT", "DELETE"]),
        ),
        max_size=30,
    ),
    st.sampled_from(["reject", "last", "mean"]),
)
def test_every_landed_row_is_integrated_or_quarantined_once(
    rows: list[tuple[object, ...]], on_duplicate: str
) -> None:
    landed = _landed([(i, a, False, m, t, kw) for i, (m, t, kw, a) in enumerate(rows, 1)])
    out = integrate_batch(landed, {}, 1, Policy(on_duplicate=on_duplicate), NOW)
    # Integrated — possibly merged into another row's result — or quarantined.
    assert out.rows_read == len(rows) == out.rows_integrated + out.rows_rejected
    assert len(out.results) == out.rows_integrated - out.rows_merged
    assert out.rows_merged == 0 or on_duplicate == "mean"
    keys = [(r[0], r[1]) for r in out.results]
    assert len(set(keys)) == len(keys)
    # Each result row's kW is the mean of the valid live rows at its meter and time.
    live = landed[landed["ACTION"] == "INSERT"]
    for meter, ts, kw, *_ in out.results:
        same = live[(live["METER_ID"] == meter) & (live["TIMESTAMP"] == pd.Timestamp(ts))]
        powers = same["KW"].dropna()
        if on_duplicate == "mean":
            assert kw == pytest.approx(powers.mean(), rel=1e-12)
        else:
            assert kw in set(powers)
    # per meter, the results' cumulative kWh is the running sum of their intervals
    for meter in {k[0] for k in keys}:
        mine = sorted((r for r in out.results if r[0] == meter), key=lambda r: r[1])
        np.testing.assert_allclose(
            [r[4] for r in mine], np.cumsum([r[3] for r in mine]), rtol=1e-12, atol=1e-12
        )


@settings(max_examples=40)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b"]), st.integers(0, 3), st.sampled_from([1.0, 2.5, -3.0, 4.0])
        ),
        min_size=2,
        max_size=20,
    )
)
def test_under_mean_each_meter_and_time_is_one_result_row_of_the_mean(
    rows: list[tuple[str, int, float]],
) -> None:
    landed = _landed([(i, "INSERT", False, m, t, kw) for i, (m, t, kw) in enumerate(rows, 1)])
    out = integrate_batch(landed, {}, 1, Policy(on_duplicate="mean"), NOW)
    groups: dict[tuple[str, int], list[float]] = {}
    for m, t, kw in rows:
        groups.setdefault((m, t), []).append(kw)
    assert (out.rows_integrated, out.rows_rejected) == (len(rows), 0)
    assert out.rows_merged == len(rows) - len(groups)
    got = {(r[0], round((pd.Timestamp(r[1]) - T0) / pd.Timedelta(minutes=1))): r[2]
           for r in out.results}  # fmt: skip
    assert len(got) == len(out.results)  # one row per (meter, time)
    assert got.keys() == groups.keys()
    for key, kw in got.items():
        assert kw == pytest.approx(sum(groups[key]) / len(groups[key]), rel=1e-12)


def test_state_json_round_trips_and_rejects_garbage() -> None:
    s = ei.CumulativeState("left", first_ts=1, first_power=2.0, last_ts=3, last_power=4.0,
                           energy=5.0, count=2)  # fmt: skip
    assert state_from_json(state_to_json(s)) == s
    with pytest.raises(ei.StateFormatError, match="not JSON"):
        state_from_json("{nope")
    with pytest.raises(ei.StateFormatError, match="not a JSON object"):
        state_from_json("[1, 2]")


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 3), st.floats(-5, 5), st.booleans()),
        max_size=25,
    ),
    st.sampled_from(["mean", "step"]),
)
def test_merged_duplicates_are_the_groups_of_accepted_rows_at_one_meter_and_time(
    rows: list[tuple[str, int, float, bool]], on_duplicate: str
) -> None:
    meters = np.array([r[0] for r in rows], dtype=object)
    times = np.array([r[1] for r in rows], dtype="datetime64[m]")
    power = np.array([r[2] for r in rows], dtype=np.float64)
    accepted = np.array([r[3] for r in rows], dtype=bool)
    increments = np.arange(len(rows), dtype=np.float64)
    own, kw, interval = merge_duplicates(meters, times, power, accepted, increments, on_duplicate)
    groups: dict[tuple[str, int], list[int]] = {}
    for i, (m, t, _, ok) in enumerate(rows):
        if ok:
            groups.setdefault((m, t), []).append(i)
    kept = {g[-1] if on_duplicate == "step" else g[0]: g for g in groups.values()}
    assert np.flatnonzero(own).tolist() == sorted(kept)
    for i, group in kept.items():
        assert interval[i] == sum(increments[j] for j in group)
        want = sum(power[j] for j in group) / len(group) if on_duplicate == "mean" else power[i]
        assert kw[i] == pytest.approx(want, rel=1e-12, abs=1e-12)
    others = [i for g in groups.values() for i in g if i not in kept]
    assert all(interval[i] == 0.0 for i in others)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.integers(0, 40),  # minutes
            st.sampled_from([1.0, 2.5, -3.0, float("nan"), 1e308]),
        ),
        max_size=30,
    ),
    st.sampled_from([None, "5min"]),
    st.booleans(),
)
def test_states_as_json_are_the_text_of_each_state_object(
    rows: list[tuple[str, int, float]], max_gap: str | None, carried: bool
) -> None:
    from energy_integral_snowflake.batch import states_to_json

    before = ei.integrate_meters(["a", "d"], np.array([T0, T0], "M8[ns]"), [1.0, 2.0])
    res = ei.integrate_meters(
        [m for m, _, _ in rows],
        np.array([T0 + pd.Timedelta(minutes=t) for _, t, _ in rows], "M8[ns]"),
        [kw for _, _, kw in rows],
        states=dict(before.states) if carried else None,
        max_gap=max_gap,
        on_invalid="gap" if max_gap else "reject",
    )
    meters = sorted(res.states)  # the batch's meters, and those it only carried
    assert states_to_json(res.states, meters) == [state_to_json(res.states[m]) for m in meters]
