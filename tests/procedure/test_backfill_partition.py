"""The backfill's partition functions on pandas: straight, chunked per day, from a state."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import energy_integral as ei
from energy_integral_snowflake.batch import Policy, state_from_json, state_to_json
from energy_integral_snowflake.partition import (
    OUTPUT_COLUMNS,
    chunk_offsets,
    integrate_partition,
    integrate_windows,
)

METHODS = ["trapezoid", "left", "right", "scipy"]
HOUR = np.timedelta64(3600, "s")


def _fleet(seed: int = 3, meters: int = 4, periods: int = 300) -> pd.DataFrame:
    """Three days of 15-minute readings with outages, duplicates and invalid power; IDs in order."""
    readings = ei.generate_readings(
        meters, periods=periods, cadence="15min", seed=seed, outages=3,
        duplicate_fraction=0.04, invalid_fraction=0.04,
    )  # fmt: skip
    frame: pd.DataFrame = readings.to_pandas()
    return frame.assign(ID=np.arange(1, len(frame) + 1))


def _close(a: np.ndarray, b: np.ndarray) -> None:
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("max_gap", [None, "40min"])
@pytest.mark.parametrize("method", METHODS)
def test_straight_and_chunked_equal_the_fleet_engine(method: str, max_gap: str | None) -> None:
    frame = _fleet()
    policy = Policy(method, max_gap)
    oneshot = ei.integrate_meters(
        frame["METER_ID"], frame["TIMESTAMP"], frame["KW"], method=method, max_gap=max_gap
    )
    assert frame["TIMESTAMP"].dt.normalize().nunique() >= 3  # really several chunks
    for chunked in (False, True):
        out = integrate_windows(frame, policy, chunked=chunked).sort_values("ID")
        _close(out["CUMULATIVE_KWH"].to_numpy(), oneshot.cumulative)
        _close(out["INTERVAL_KWH"].to_numpy(), oneshot.increments)
        assert out["REASON"].tolist() == oneshot.reason.astype(str).tolist()
        finals = out[out["STATE"].notna()].sort_values("TIMESTAMP").groupby("METER_ID").last()
        for meter, text in finals["STATE"].items():
            got, want = state_from_json(text), oneshot.states[meter]
            assert (got.first_ts, got.last_ts, got.count) == (
                want.first_ts,
                want.last_ts,
                want.count,
            )
            assert got.energy == pytest.approx(want.energy, rel=1e-12)


def test_two_days_of_constant_power_fold_with_the_overnight_bridge() -> None:
    # 2 kW read at 22:00 and 23:00 on day 1 and 01:00 on day 2: each day alone holds
    # 2 kWh and 0 kWh; the bridge 23:00 -> 01:00 adds 4 kWh, so day 2 starts at 6 kWh.
    t = pd.to_datetime(["2026-01-01 22:00", "2026-01-01 23:00", "2026-01-02 01:00"])
    rows = pd.DataFrame({"ID": [1, 2, 3], "METER_ID": "m", "TIMESTAMP": t, "KW": 2.0})
    out = integrate_windows(rows, Policy("trapezoid"), chunked=True).sort_values("ID")
    assert out["CUMULATIVE_KWH"].tolist() == [0.0, 2.0, 6.0]
    assert out["INTERVAL_KWH"].tolist() == [0.0, 2.0, 4.0]
    gapped = integrate_windows(rows, Policy("trapezoid", "90min"), chunked=True)
    assert gapped.sort_values("ID")["CUMULATIVE_KWH"].tolist() == [0.0, 2.0, 2.0]


def test_chunk_offsets_continue_an_incoming_state() -> None:
    h = 3_600 * 10**9
    incoming = ei.CumulativeState("left", first_ts=0, first_power=1.0, last_ts=h,
                                  last_power=3.0, energy=1.0, count=2)  # fmt: skip
    day = ei.CumulativeState("left", first_ts=2 * h, first_power=5.0,
                             last_ts=3 * h, last_power=5.0, energy=5.0, count=2)  # fmt: skip
    chunks = pd.DataFrame(
        {"METER_ID": ["m"], "CHUNK": [0], "STATE": [state_to_json(day)],
         "INCOMING": [state_to_json(incoming)]}
    )  # fmt: skip
    out = chunk_offsets(chunks, Policy("left"))
    # left Riemann: the bridge 01:00 -> 02:00 is the 3 kW before it for an hour.
    assert out["BRIDGE_KWH"].tolist() == [3.0]
    assert out["OFFSET_KWH"].tolist() == [4.0]
    assert state_from_json(out["STATE"].iloc[0]).energy == 9.0


@settings(max_examples=25, deadline=None)
@given(split=st.integers(1, 299), method=st.sampled_from(METHODS))
def test_a_window_continuing_its_incoming_state_equals_the_whole(split: int, method: str) -> None:
    frame = _fleet(seed=5, meters=1, periods=300).drop(columns="ID")
    frame = frame[np.isfinite(frame["KW"])].drop_duplicates("TIMESTAMP").reset_index(drop=True)
    frame = frame.assign(ID=np.arange(len(frame)))
    split = min(split, len(frame) - 1)
    whole = integrate_partition(frame, Policy(method))
    head = integrate_partition(frame.iloc[:split], Policy(method))
    state = head["STATE"].dropna().iloc[0]
    tail = integrate_partition(frame.iloc[split:].assign(INCOMING=state), Policy(method))
    _close(tail["CUMULATIVE_KWH"].to_numpy(), whole["CUMULATIVE_KWH"].to_numpy()[split:])
    for chunked_tail in (integrate_windows(frame.iloc[split:].assign(INCOMING=state),
                                           Policy(method), chunked=True),):  # fmt: skip
        _close(
            chunked_tail.sort_values("ID")["CUMULATIVE_KWH"].to_numpy(),
            whole["CUMULATIVE_KWH"].to_numpy()[split:],
        )


def test_output_columns_and_first_of_duplicates_by_id() -> None:
    t = pd.to_datetime(["2026-01-01 00:00", "2026-01-01 01:00", "2026-01-01 01:00"])
    rows = pd.DataFrame({"ID": [9, 4, 7], "METER_ID": "m", "TIMESTAMP": t, "KW": [1.0, 3.0, 5.0]})
    out = integrate_partition(rows, Policy())
    assert tuple(out.columns) == OUTPUT_COLUMNS
    assert out["ID"].tolist() == [4, 7, 9]  # ID order: the first delivered of two wins
    assert out["REASON"].tolist() == ["", "duplicate", ""]
    assert out["CUMULATIVE_KWH"].iloc[0] == 2.0  # (1 + 3) / 2 kW for an hour
    assert out["IS_FIRST"].tolist() == [False, False, True]
    assert out["STATE"].notna().tolist() == [True, False, False]


def test_a_partition_of_two_meters_is_refused() -> None:
    rows = pd.DataFrame(
        {"ID": [1, 2], "METER_ID": ["a", "b"], "KW": 1.0,
         "TIMESTAMP": pd.to_datetime(["2026-01-01", "2026-01-02"])}
    )  # fmt: skip
    with pytest.raises(ValueError, match="one meter"):
        integrate_partition(rows, Policy())
