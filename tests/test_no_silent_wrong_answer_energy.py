"""No silent wrong answer, for power, energy, intervals, states and tables: each input
gives the right kWh, a rejected row, or an error of the library's own hierarchy that
names the argument and the value (ids and times: ``test_no_silent_wrong_answer.py``).

Expected energies are worked out by hand.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from exact_errors import BIG, H, hours, raises_exactly

import energy_integral as ei

# -- power and energy ------------------------------------------------------------------------


def test_energy_that_overflows_is_rejected_and_other_meters_integrate() -> None:
    t = hours(0, 1, 2, 0, 1)
    res = ei.integrate_meters(["a", "a", "a", "b", "b"], t, [1.7e308, 1.7e308, 1.0, 2.0, 2.0])
    # a's first interval, 1.7e308 kW for 1 h, is finite; from the second on it is not.
    assert res.reason.tolist() == ["", "invalid-power", "invalid-power", "", ""]
    assert res.rejected.detail.tolist() == ["energy overflows float64"] * 2
    assert res.states["a"].count == 1
    assert res.states["a"].energy == 0.0
    assert res.states["b"].energy == 2.0
    assert np.isfinite(res.total)
    assert all(np.isfinite(s.energy) for s in res.states.values())


def test_an_overflowing_total_is_rejected_from_the_row_where_it_overflows() -> None:
    """Each interval is finite (5e307 kWh); their running sum passes 1.8e308 at the fourth."""
    res = ei.integrate_meters(["a"] * 5, hours(0, 1, 2, 3, 4), [5e307] * 5)
    assert res.reason.tolist() == ["", "", "", "", "invalid-power"]
    assert res.states["a"].energy == 1.5e308
    assert res.states["a"].count == 4


def test_a_duplicate_of_an_overflowing_row_does_not_take_its_place() -> None:
    """Found by the law in test_fleet_any_input_law: (1e308 + 0) / 2 kW for 4 h overflows at
    04:00, and the second 04:00 row, a duplicate, must go with the first, not replace it."""
    res = ei.integrate_meters(["a"] * 3, hours(4, 4, 0), [0.0, 0.0, 1e308])
    assert res.reason.tolist() == ["invalid-power", "invalid-power", ""]
    assert res.detail.tolist() == ["energy overflows float64"] * 2 + [""]
    assert res.states["a"].count == 1


def test_overflow_raises_where_asked_to() -> None:
    with raises_exactly(ei.InvalidSampleError, "power[1]=1.7e+308", "not finite"):
        ei.integrate(hours(0, 2), [1.7e308, 1.7e308])
    with raises_exactly(ei.InvalidSampleError, "power[1]", "on_invalid='raise'"):
        ei.integrate_meters(["a", "a"], hours(0, 2), [1.7e308] * 2, on_invalid="raise")


def test_pd_na_as_power_is_an_invalid_power_row() -> None:
    res = ei.integrate_meters(["a"] * 3, hours(0, 1, 2), [1.0, pd.NA, 1.0])
    assert res.reason.tolist() == ["", "invalid-power", ""]
    assert res.total == 2.0
    res = ei.integrate_meters(["a"] * 2, hours(0, 1), pd.Series([1.0, None], dtype="Float64"))
    assert res.reason.tolist() == ["", "invalid-power"]


def test_a_power_beyond_max_power_says_so() -> None:
    res = ei.integrate_meters(["a"] * 3, hours(0, 1, 2), [1.0, 9.0, 1.0], max_power=5)
    assert res.reason.tolist() == ["", "invalid-power", ""]
    assert res.detail.tolist() == ["", "|power| beyond max_power=5", ""]


def test_a_string_as_power_is_named() -> None:
    with raises_exactly(ei.InvalidTypeError, "power[1]='x' is str"):
        ei.integrate(hours(0, 1), pd.Series([1.0, "x"]))


@pytest.mark.parametrize(
    ("value", "cls"),
    [("100", ei.InvalidTypeError), (True, ei.InvalidTypeError), (-1, ei.InvalidArgumentError)],
)
def test_max_power_must_be_a_positive_number(value: Any, cls: type[Exception]) -> None:
    with raises_exactly(cls, f"max_power={value!r}"):
        ei.integrate_meters(["a"], hours(0), [1.0], max_power=value)


# -- intervals ------------------------------------------------------------------------------


@pytest.mark.parametrize("start", ["2262-04-11T23:00", "1677-09-21T00:20"])
def test_buckets_past_the_int64_range_raise_a_time_range_error(start: str) -> None:
    t = np.datetime64(start, "ns") + np.array([0, 20], "timedelta64[m]")
    with raises_exactly(ei.TimeRangeError, "every='15min'", "nanosecond range"):
        ei.energy_by_interval(t, [1.0, 1.0], "15min")


def test_buckets_near_the_limits_still_work() -> None:
    t = np.datetime64("2262-04-09T23:00", "ns") + np.array([0, 40], "timedelta64[m]")
    energy = ei.energy_by_interval(t, [1.0, 1.0], "15min").energy
    np.testing.assert_allclose(energy, [0.25, 0.25, 1 / 6], rtol=1e-12)


def test_buckets_of_powers_near_the_float64_limit_are_finite() -> None:
    """1e308 kW falling linearly to -1e308 kW over an hour: p1 - p0 overflows float64, the
    energy in each quarter does not (hand-derived: the mean power of the quarter × 0.25 h)."""
    t = np.datetime64("2026-01-01T00:00", "ns") + np.array([0, 60], "timedelta64[m]")
    out = ei.energy_by_interval(t, [1e308, -1e308], "15min")
    expected = [0.25 * 0.75e308, 0.25 * 0.25e308, -0.25 * 0.25e308, -0.25 * 0.75e308, 0.0]
    np.testing.assert_allclose(out.energy, expected, rtol=1e-12)


def test_the_mean_of_huge_duplicates_is_not_an_overflow() -> None:
    res = ei.integrate_meters(["a"] * 3, hours(0, 0, 1), [1e308, 1e308, 1.0], on_duplicate="mean")
    assert res.accepted.all()
    assert res.states["a"].first_power == 1e308
    assert res.states["a"].energy == 0.5 * (1e308 + 1.0)


def test_a_grid_over_the_bucket_limit_is_refused_naming_the_count() -> None:
    with raises_exactly(ei.BucketLimitError, "every='1ns'", "MAX_BUCKETS=50,000,000"):
        ei.energy_by_interval(hours(0, 1), [1.0, 1.0], "1ns")


# -- states ---------------------------------------------------------------------------------

GOOD = {"version": 1, "method": "trapezoid", "power_unit": "kW", "energy_unit": "kWh",
        "first_ts": 0, "first_power": 1.0, "last_ts": H, "last_power": 1.0, "energy": 1.0,
        "count": 2}  # fmt: skip


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("count", 2.7, "count=2.7"),
        ("count", True, "count=True"),
        ("count", "2", "count='2'"),
        ("count", -1, "count=-1"),
        ("count", 1, "count=1 holds one sample"),
        ("energy", None, "energy=None"),
        ("energy", float("nan"), "energy=nan"),
        ("energy", 10**400, "energy=1000"),
        ("first_power", "1", "first_power='1'"),
        ("last_ts", 1e30, "last_ts=1e+30"),
        ("last_ts", 10**30, "last_ts=" + str(10**30)),
        ("last_ts", 1.5e18, "last_ts=1.5e+18"),  # a float this large may have been rounded
        ("method", 3, "method=3"),
    ],
)
def test_a_tampered_state_is_refused_naming_the_field(
    field: str, value: Any, fragment: str
) -> None:
    with raises_exactly(ei.StateFormatError, fragment):
        ei.CumulativeState.from_dict({**GOOD, field: value})


def test_a_state_of_several_samples_at_one_time_is_a_step() -> None:
    # on_duplicate="step" keeps readings of one time as samples of their own, so
    # count=2 with first_ts == last_ts is a state a batch can leave behind.
    t = np.array(["2026-01-01T00:00:05"] * 2, dtype="datetime64[s]")
    step = ei.integrate_meters(["a", "a"], t, [10.0, 30.0], on_duplicate="step").states["a"]
    assert (step.count, step.first_ts, step.first_power, step.last_power) == (
        2, step.last_ts, 10.0, 30.0,
    )  # fmt: skip
    assert ei.CumulativeState.from_dict(step.to_dict()) == step


def test_a_state_that_is_no_mapping_is_refused() -> None:
    with raises_exactly(ei.StateFormatError, "must be a mapping; got list"):
        ei.CumulativeState.from_dict([1, 2])  # type: ignore[arg-type]


def test_combine_refuses_a_dict() -> None:
    with raises_exactly(ei.InvalidTypeError, "got dict", "from_dict"):
        ei.CumulativeState().combine(GOOD)  # type: ignore[arg-type]


def test_combine_refuses_an_energy_that_overflows() -> None:
    big = ei.CumulativeState.from_dict({**GOOD, "energy": 1.7e308})
    later = ei.CumulativeState.from_dict({**GOOD, "first_ts": 2 * H, "last_ts": 3 * H,
                                          "energy": 1.7e308})  # fmt: skip
    with raises_exactly(ei.InvalidSampleError, "overflows float64"):
        big.combine(later)


# -- the generator ---------------------------------------------------------------------------


def test_the_generator_names_a_bad_seed() -> None:
    with raises_exactly(ei.InvalidTypeError, "seed='x'"):
        ei.generate_readings(2, seed="x")  # type: ignore[arg-type]


def test_the_generator_refuses_dates_past_2262() -> None:
    with raises_exactly(ei.TimeRangeError, "start='2262-04-11T00:00'", "periods=10000"):
        ei.generate_readings(2, start="2262-04-11T00:00", periods=10_000)
    with raises_exactly(ei.TimeRangeError, "start='9999-01-01'"):
        ei.generate_readings(2, start="9999-01-01")


# -- tables ---------------------------------------------------------------------------------


@pytest.mark.parametrize("library", ["pandas", "polars", "pyarrow"])
def test_integrate_frame_keeps_big_nullable_ids_and_checks_times(library: str) -> None:
    ids = [BIG, BIG + 1, None, BIG, BIG + 1, BIG]
    when = np.array(
        ["2026-01-01T00", "2026-01-01T00", "2026-01-01T00", "2026-01-01T01", "2026-01-01T01",
         "9999-12-31T00"], dtype="datetime64[ms]",
    )  # fmt: skip
    kw = [1.0, 2.0, 1.0, 1.0, 2.0, 1.0]
    if library == "pandas":
        frame: Any = pd.DataFrame({"METER_ID": pd.array(ids, "Int64"), "TIMESTAMP": when, "KW": kw})
    elif library == "polars":
        frame = pl.DataFrame(
            {"METER_ID": pl.Series(ids, dtype=pl.Int64), "TIMESTAMP": when, "KW": kw}
        )
    else:
        frame = pa.table(
            {"METER_ID": pa.array(ids), "TIMESTAMP": pa.array(when), "KW": pa.array(kw)}
        )
    res = ei.integrate_frame(frame)
    assert {m: s.energy for m, s in res.states.items()} == {BIG: 1.0, BIG + 1: 2.0}
    assert res.reason.tolist() == ["", "", "invalid-meter", "", "", "invalid-time"]
