"""One hand-worked batch per rejection reason and per data-quality policy.

Every expected energy is derived in the comment above it from the strategy's
formula; times are whole hours after 2026-01-01T00:00Z.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

import energy_integral as ei

H = 3_600_000_000_000
T0 = np.datetime64("2026-01-01T00:00", "ns")


def hours(*h: float) -> npt.NDArray[np.datetime64]:
    """Times ``h`` hours after :data:`T0` (``None`` for NaT)."""
    values = [
        np.datetime64("NaT") if x is None else T0 + np.timedelta64(int(x * H), "ns") for x in h
    ]
    return np.array(values, dtype="datetime64[ns]")


def state(
    last_h: float, last_power: float, energy: float = 0.0, method: str = "trapezoid"
) -> ei.CumulativeState:
    """A state ending at ``last_h`` (one sample if ``energy`` is 0, else from hour -10)."""
    last_ts = int(hours(last_h).view(np.int64)[0])
    first_ts = last_ts if energy == 0.0 else last_ts - 10 * H
    return ei.CumulativeState(
        method, "kW", "kWh", first_ts, last_power, last_ts, last_power, energy, 1 + (energy != 0)
    )


def reasons(res: ei.FleetResult) -> list[str]:
    return [str(r) for r in res.reason]


def test_rejection_reasons_are_the_documented_set() -> None:
    assert ei.REJECTION_REASONS == (
        "invalid-meter",
        "invalid-time",
        "invalid-power",
        "late",
        "already-integrated",
        "duplicate",
        "correction",
    )


# -- invalid rows -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "meters",
    [
        ["a", None, "a"],
        np.array(["a", None, "a"], dtype=object),
        pd.Series(["a", None, "a"]),
        np.array([7.0, np.nan, 7.0]),
        [7, None, 7],
    ],
    ids=["list", "object", "pandas", "float-nan", "int-none"],
)
def test_missing_meter_is_invalid_meter(meters: Any) -> None:
    # Meter's rows 0 and 2 at 1 kW, two hours apart: 1 kW · 2 h = 2 kWh; row 1 is skipped.
    res = ei.integrate_meters(meters, hours(0, 1, 2), [1.0, 50.0, 1.0])
    assert reasons(res) == ["", "invalid-meter", ""]
    (meter,) = list(res.states)
    assert res.states[meter].energy == 2.0
    assert res.rejected.meter.tolist() == [None]
    assert res.rejected.row.tolist() == [1]
    np.testing.assert_array_equal(res.cumulative, [0.0, np.nan, 2.0])
    np.testing.assert_array_equal(res.increments, [0.0, np.nan, 2.0])


@pytest.mark.parametrize(
    "times",
    [
        hours(0, None, 2),
        [dt.datetime(2026, 1, 1, 0), None, dt.datetime(2026, 1, 1, 2)],
        pd.Series(pd.to_datetime(["2026-01-01 00:00", None, "2026-01-01 02:00"])),
    ],
    ids=["numpy-nat", "python-none", "pandas-nat"],
)
def test_missing_time_is_invalid_time(times: Any) -> None:
    # 1 kW then 3 kW two hours later: (1 + 3) / 2 · 2 h = 4 kWh.
    res = ei.integrate_meters(["a", "a", "a"], times, [1.0, 99.0, 3.0])
    assert reasons(res) == ["", "invalid-time", ""]
    assert res.states["a"].energy == 4.0
    assert np.isnat(res.rejected.timestamp[0])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, None])
def test_non_finite_power_is_invalid_power_and_never_poisons_the_sum(bad: Any) -> None:
    # 2 kW at 0 h and 4 kW at 2 h around the bad row: (2 + 4) / 2 · 2 h = 6 kWh;
    # 4 kW held to 3 h adds 4 kWh more. NumPy's cumsum would be NaN from row 1 on.
    power = np.array([2.0, np.nan if bad is None else bad, 4.0, 4.0])
    res = ei.integrate_meters(["a"] * 4, hours(0, 1, 2, 3), power)
    assert reasons(res) == ["", "invalid-power", "", ""]
    np.testing.assert_array_equal(res.cumulative, [0.0, np.nan, 6.0, 10.0])
    assert res.states["a"].energy == 10.0
    assert res.states["a"].count == 3


def test_power_beyond_max_power_is_invalid_power_in_either_sign() -> None:
    # |p| > 5 is rejected, |p| == 5 is not; export (-5 kW) is valid power.
    # Rows kept: 5 kW at 0 h, -5 kW at 3 h: (5 - 5) / 2 · 3 h = 0 kWh; then 1 kW at 4 h:
    # (-5 + 1) / 2 · 1 h = -2 kWh.
    power = [5.0, 5.5, -6.0, -5.0, 1.0]
    res = ei.integrate_meters(["a"] * 5, hours(0, 1, 2, 3, 4), power, max_power=5.0)
    assert reasons(res) == ["", "invalid-power", "invalid-power", "", ""]
    assert res.states["a"].energy == -2.0
    assert res.rejected.power.tolist() == [5.5, -6.0]
    # Without the bound every row counts.
    assert ei.integrate_meters(["a"] * 5, hours(0, 1, 2, 3, 4), power).accepted.all()


def test_invalid_reasons_take_the_documented_precedence() -> None:
    # meter before time before power; an invalid row is never also late or a duplicate.
    meters = [None, None, "a", "a", "a", "a"]
    times = hours(None, 0, None, 1, 1, 0.5)
    power = [np.nan, np.nan, np.nan, np.nan, 2.0, 2.0]
    res = ei.integrate_meters(meters, times, power, states={"a": state(0.5, 2.0)})
    assert reasons(res) == [
        "invalid-meter",
        "invalid-meter",
        "invalid-time",
        "invalid-power",
        "",
        "already-integrated",
    ]


# -- late and already integrated --------------------------------------------------------
def test_row_at_or_before_the_state_is_late() -> None:
    # State: 10 kWh so far, last sample 2 kW at 1 h. Rows at 0.5 h and at 1 h with
    # another power are late; the row at 2 h (4 kW) bridges: (2 + 4) / 2 · 1 h = 3 kWh.
    incoming = state(1, 2.0, energy=10.0)
    res = ei.integrate_meters(
        ["a", "a", "a"], hours(2, 0.5, 1), [4.0, 7.0, 3.0], states={"a": incoming}
    )
    assert reasons(res) == ["", "late", "late"]
    np.testing.assert_array_equal(res.cumulative, [13.0, np.nan, np.nan])
    np.testing.assert_array_equal(res.increments, [3.0, np.nan, np.nan])
    out = res.states["a"]
    assert (out.energy, out.count, out.first_ts, out.last_power) == (
        13.0,
        3,
        incoming.first_ts,
        4.0,
    )
    assert out.last_ts == int(hours(2).view(np.int64)[0])


def test_row_identical_to_the_state_is_already_integrated() -> None:
    # Same time and power as the state's last sample: harmless, 0 kWh.
    res = ei.integrate_meters(["a"], hours(1), [2.0], states={"a": state(1, 2.0, energy=5.0)})
    assert reasons(res) == ["already-integrated"]
    assert res.states["a"] == state(1, 2.0, energy=5.0)
    assert res.rejected.counts() == {"already-integrated": 1}


def test_late_rows_of_one_meter_leave_other_meters_alone() -> None:
    # b has no state: its row at 0 h is its first sample, not late.
    res = ei.integrate_meters(
        ["a", "b", "b"], hours(0, 0, 1), [1.0, 1.0, 3.0], states={"a": state(1, 2.0)}
    )
    assert reasons(res) == ["late", "", ""]
    assert res.states["b"].energy == 2.0  # (1 + 3) / 2 · 1 h
    assert res.states["a"] == state(1, 2.0)


# -- duplicates -------------------------------------------------------------------------
# Input order: 2 kW at 1 h, 1 kW at 0 h, 4 kW at 1 h (a duplicate of row 0's time), 1 kW at 2 h.
DUP_T = hours(1, 0, 1, 2)
DUP_P = [2.0, 1.0, 4.0, 1.0]


@pytest.mark.parametrize(
    ("policy", "reason", "kept_power"),
    [
        ("reject", ["", "", "duplicate", ""], 2.0),  # the first by input order wins
        ("last", ["duplicate", "", "", ""], 4.0),  # the last by input order wins
        ("mean", ["", "", "", ""], 3.0),  # one sample of (2 + 4) / 2 kW
    ],
)
def test_duplicate_policies(policy: str, reason: list[str], kept_power: float) -> None:
    # With x the power kept at 1 h: (1 + x) / 2 · 1 h, then (x + 1) / 2 · 1 h; total 1 + x.
    # reject: 1.5 + 1.5 = 3 kWh; last: 2.5 + 2.5 = 5 kWh; mean: 2 + 2 = 4 kWh.
    res = ei.integrate_meters(["m"] * 4, DUP_T, DUP_P, on_duplicate=policy)
    half = (1.0 + kept_power) / 2
    assert reasons(res) == reason
    assert res.states["m"].energy == 1.0 + kept_power
    assert res.states["m"].count == 3  # one sample per distinct time
    expected_cum = {
        "reject": [half, 0.0, np.nan, 2 * half],
        "last": [np.nan, 0.0, half, 2 * half],
        "mean": [half, 0.0, half, 2 * half],
    }[policy]
    np.testing.assert_array_equal(res.cumulative, expected_cum)
    # The interval's energy is counted once: on the first merged row under "mean".
    assert np.nansum(res.increments) == 1.0 + kept_power
    if policy == "mean":
        np.testing.assert_array_equal(res.increments, [half, 0.0, 0.0, half])


def test_mean_of_three_duplicates_and_the_state_it_leaves() -> None:
    # 1, 2 and 6 kW at 1 h merge into 3 kW; from 1 kW at 0 h: (1 + 3) / 2 · 1 h = 2 kWh.
    res = ei.integrate_meters(
        ["a"] * 4, hours(1, 0, 1, 1), [1.0, 1.0, 2.0, 6.0], on_duplicate="mean"
    )
    assert res.accepted.all()
    assert res.states["a"].last_power == 3.0
    assert res.states["a"].energy == 2.0


def test_same_time_on_different_meters_is_not_a_duplicate() -> None:
    res = ei.integrate_meters(["a", "b", "1"], hours(1, 1, 1), [1.0, 2.0, 3.0])
    assert res.accepted.all()
    assert len(res.states) == 3


def test_late_takes_precedence_over_duplicate() -> None:
    # Two rows at the state's time: both are judged against the state, not each other.
    res = ei.integrate_meters(
        ["a", "a", "a"], hours(1, 1, 1), [2.0, 3.0, 2.0], states={"a": state(1, 2.0)}
    )
    assert reasons(res) == ["already-integrated", "late", "already-integrated"]


# -- the raise policies -----------------------------------------------------------------
def test_on_invalid_raise_names_the_row_and_value() -> None:
    with pytest.raises(
        ei.InvalidSampleError, match=r"power\[2\] is invalid \(inf\).*on_invalid='raise'"
    ):
        ei.integrate_meters(["a"] * 3, hours(0, 1, 2), [1.0, 2.0, np.inf], on_invalid="raise")
    with pytest.raises(ei.InvalidSampleError, match=r"timestamps\[1\] is invalid"):
        ei.integrate_meters(["a"] * 3, hours(0, None, 2), [1.0, 2.0, 3.0], on_invalid="raise")
    with pytest.raises(ei.InvalidSampleError, match=r"meter_ids\[0\] is invalid"):
        ei.integrate_meters([None, "a"], hours(0, 1), [1.0, 2.0], on_invalid="raise")
    with pytest.raises(ei.InvalidSampleError, match=r"power\[1\] is invalid \(9\.0\)"):
        ei.integrate_meters(["a"] * 2, hours(0, 1), [1.0, 9.0], on_invalid="raise", max_power=8)


def test_on_late_raise_names_the_row() -> None:
    with pytest.raises(ei.OverlapError, match=r"row 2 \(2026-01-01T00:30:00.*on_late='raise'"):
        ei.integrate_meters(
            ["a", "a", "a"],
            hours(2, 3, 0.5),
            [1.0, 1.0, 1.0],
            states={"a": state(1, 2.0)},
            on_late="raise",
        )
    # A re-delivered sample is harmless, not late: no error.
    res = ei.integrate_meters(["a"], hours(1), [2.0], states={"a": state(1, 2.0)}, on_late="raise")
    assert reasons(res) == ["already-integrated"]


def test_on_duplicate_raise_names_the_row() -> None:
    with pytest.raises(ei.OrderError, match=r"row 2 duplicates an earlier row"):
        ei.integrate_meters(["m"] * 4, DUP_T, DUP_P, on_duplicate="raise")


def test_raise_policies_are_value_errors_of_the_library() -> None:
    for error in (ei.OrderError, ei.OverlapError):
        assert issubclass(error, ei.EnergyIntegralError)
        assert issubclass(error, ValueError)


# -- gaps, units and the rejection table ------------------------------------------------
def test_gaps_are_reported_per_meter() -> None:
    # a: 0 h, 1 h, 4 h with max_gap 2 h: the 3-hour interval is a gap; b: 0 h, 2 h is not.
    res = ei.integrate_meters(
        ["a", "b", "a", "a", "b"], hours(0, 0, 1, 4, 2), [1.0, 1.0, 1.0, 1.0, 1.0], max_gap="2h"
    )
    assert res.gaps.meter is not None
    assert res.gaps.meter.tolist() == ["a"]
    np.testing.assert_array_equal(res.gaps.start, hours(1))
    np.testing.assert_array_equal(res.gaps.end, hours(4))
    assert res.gaps.duration[0] == np.timedelta64(3 * H, "ns")
    assert res.states["a"].energy == 1.0  # only 0 h → 1 h counts
    assert res.states["b"].energy == 2.0
    assert res.gaps.to_pandas().columns.tolist() == ["meter", "start", "end", "duration"]


def test_units_scale_the_energy() -> None:
    # 1500 W for 2 h = 3000 Wh = 3 kWh = 10.8 MJ.
    res = ei.integrate_meters(["a"] * 2, hours(0, 2), [1500.0, 1500.0], power_unit="W")
    assert res.states["a"].energy == 3.0
    res = ei.integrate_meters(["a"] * 2, hours(0, 2), [1.5, 1.5], energy_unit="MJ")
    assert res.states["a"].energy == pytest.approx(10.8, rel=1e-15)


def test_rejections_table() -> None:
    res = ei.integrate_meters(["a", None, "a", "a"], hours(0, 0, None, 0), [1.0, 1.0, 1.0, 2.0])
    table = res.rejected.to_pandas()
    assert table.columns.tolist() == ["row", "meter", "timestamp", "power", "reason", "detail"]
    assert table["row"].tolist() == [1, 2, 3]
    assert table["reason"].tolist() == ["invalid-meter", "invalid-time", "duplicate"]
    assert table["meter"].tolist() == [None, "a", "a"]
    assert res.rejected.counts() == {"duplicate": 1, "invalid-meter": 1, "invalid-time": 1}


def test_clean_batch_rejects_nothing() -> None:
    res = ei.integrate_meters(["a", "b"], hours(0, 0), [1.0, 1.0])
    assert len(res.rejected) == 0
    assert res.rejected.to_pandas().empty
    assert res.rejected.counts() == {}


def test_empty_batch() -> None:
    incoming = {"a": state(1, 2.0, energy=3.0)}
    res = ei.integrate_meters([], hours(), [], states=incoming)
    assert res.cumulative.shape == res.accepted.shape == (0,)
    assert dict(res.states) == incoming
    assert res.total == 3.0
