"""Each input a real fleet sends gives the right kWh, a rejected row, or an error of the
library's own hierarchy that names the argument and the value — never a wrong number.

Expected energies are worked out by hand (or, for centuries, with ``datetime``
arithmetic, independent of the library's int64 nanoseconds).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import energy_integral as ei
from energy_integral import errors
from energy_integral.timestamps import NAT, to_ns

H = 3_600 * 10**9
BIG = 2**53  # float64 cannot tell BIG from BIG + 1


@contextmanager
def raises_exactly(cls: type[BaseException], *fragments: str) -> Iterator[None]:
    """The error is of exactly ``cls`` and its message holds every fragment."""
    with pytest.raises(cls) as info:
        yield
    assert info.type is cls, f"{info.type.__name__} is not {cls.__name__}: {info.value}"
    for fragment in fragments:
        assert fragment in str(info.value), f"{fragment!r} not in {str(info.value)!r}"


def hours(*h: float) -> np.ndarray:
    return np.datetime64("2026-01-01T00:00", "ns") + (np.array(h) * H).astype("timedelta64[ns]")


# -- the hierarchy -------------------------------------------------------------------------


@pytest.mark.parametrize("name", errors.__all__)
def test_every_error_is_an_energy_integral_error_and_the_expected_builtin(name: str) -> None:
    cls = getattr(errors, name)
    assert getattr(ei, name) is cls  # exported from the package
    assert issubclass(cls, ei.EnergyIntegralError)
    if cls is ei.MissingExtraError:  # a package not installed: what Python calls it
        assert issubclass(cls, ImportError)
        assert not issubclass(cls, ValueError | TypeError)
    elif cls is not ei.EnergyIntegralError:
        assert issubclass(cls, ValueError) != issubclass(cls, TypeError)
    assert issubclass(ei.InvalidTypeError, TypeError)
    assert issubclass(ei.InvalidArgumentError, ValueError)


def test_readings_file_error_lives_with_the_others() -> None:
    from energy_integral.filereader import ReadingsFileError

    assert ReadingsFileError is ei.ReadingsFileError is errors.ReadingsFileError


# -- ids -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ids",
    [
        pa.array([BIG, BIG + 1, None, BIG, BIG + 1]),
        pl.Series([BIG, BIG + 1, None, BIG, BIG + 1]),
        pd.Series([BIG, BIG + 1, None, BIG, BIG + 1], dtype="Int64"),
    ],
    ids=["pyarrow", "polars", "pandas-Int64"],
)
def test_nullable_ids_above_2_53_stay_two_meters(ids: Any) -> None:
    res = ei.integrate_meters(ids, hours(0, 0, 0, 1, 1), [1.0, 2.0, 5.0, 1.0, 2.0])
    assert {m: s.energy for m, s in res.states.items()} == {BIG: 1.0, BIG + 1: 2.0}
    assert res.reason.tolist() == ["", "", "invalid-meter", "", ""]


@pytest.mark.parametrize(
    "ids",
    [
        [BIG + 1, BIG + 1, pd.NA],
        pd.Series([BIG + 1, BIG + 1, None], dtype="Int64").to_numpy(dtype=object),
    ],
    ids=["list", "object-array"],
)
def test_pandas_na_is_a_missing_id(ids: Any) -> None:
    """What ``Series.to_numpy(dtype=object)`` of a nullable column gives: ints and pd.NA."""
    res = ei.integrate_meters(ids, hours(0, 1, 1), [1.0, 1.0, 1.0])
    assert res.reason.tolist() == ["", "", "invalid-meter"]
    assert {m: s.energy for m, s in res.states.items()} == {BIG + 1: 1.0}


def test_states_keyed_by_strings_and_int_ids_are_refused_not_forked() -> None:
    first = ei.integrate_meters(["1", "1"], hours(0, 1), [1.0, 1.0])
    for states in (first.states, dict(first.states)):
        with raises_exactly(ei.MeterIdError, "states are keyed by text ids", "'1'"):
            ei.integrate_meters([1, 1], hours(0, 1), [1.0, 1.0], states=states)


@pytest.mark.parametrize(
    "ids", [np.array(["1", 1], dtype=object), ["1", 1], pd.Series(["1", 1])], ids=str
)
def test_one_batch_mixing_string_and_int_ids_is_refused(ids: Any) -> None:
    """A list too: numpy alone would make it two strings "1" and merge the meters."""
    with raises_exactly(ei.MeterIdError, "mixes ids of different types", "'1'", "(number)"):
        ei.integrate_meters(ids, hours(0, 1), [1.0, 1.0])
    with raises_exactly(ei.MeterIdError, "mixes ids of different types"):
        ei.ids.to_ids(ids)


def test_an_unhashable_id_is_named() -> None:
    with raises_exactly(ei.InvalidTypeError, "meter_ids holds {'a': 1} (dict)"):
        ei.integrate_meters([{"a": 1}, {"a": 1}], hours(0, 1), [1.0, 1.0])


def test_to_ids_keeps_nullable_integers_exact() -> None:
    got = ei.ids.to_ids(pd.Series([BIG + 1, None, BIG], dtype="Int64"))
    assert got.tolist() == [BIG + 1, None, BIG]
    assert [type(v) for v in got.tolist()] == [int, type(None), int]


# -- time ----------------------------------------------------------------------------------

FAR = np.array(["1700-01-01", "2250-01-01"], dtype="datetime64[s]")
FAR_HOURS = (dt.datetime(2250, 1, 1) - dt.datetime(1700, 1, 1)).days * 24  # 1 kW -> kWh


def test_samples_550_years_apart_do_not_overflow() -> None:
    assert FAR_HOURS == 4_821_192
    assert ei.integrate(FAR, [1.0, 1.0]).total == FAR_HOURS
    assert ei.integrate_meters(["a", "a"], FAR, [1.0, 1.0]).total == FAR_HOURS


def test_max_gap_catches_a_step_of_550_years() -> None:
    res = ei.integrate_meters(["a", "a"], FAR, [1.0, 1.0], max_gap="1h")
    assert res.total == 0.0
    assert res.gaps.start.tolist() == [FAR[0].astype("datetime64[ns]").tolist()]
    assert ei.integrate(FAR, [1.0, 1.0], max_gap="1h").total == 0.0


def test_bridging_and_combining_550_years_are_right() -> None:
    first = ei.integrate(FAR[:1], [1.0]).state
    second = ei.integrate(FAR[1:], [1.0]).state
    assert ei.integrate(FAR[1:], [1.0], state=first).total == FAR_HOURS
    assert ei.integrate(FAR[1:], [1.0], state=first, max_gap="1h").total == 0.0
    assert first.combine(second).energy == FAR_HOURS
    assert first.combine(second, max_gap="1h").energy == 0.0
    bridged = ei.integrate_meters(["a"], FAR[1:], [1.0], states={"a": first})
    assert bridged.total == FAR_HOURS


SENTINEL = np.array(["2026-01-01T00:00", "9999-12-31T00:00", "2026-01-01T01:00"], "datetime64[s]")


@pytest.mark.parametrize(
    "column",
    [
        SENTINEL,
        pd.Series(SENTINEL),
        pa.array(SENTINEL),
        pa.array(SENTINEL.astype(np.int64), pa.timestamp("s", tz="Europe/Berlin")),
        pl.Series(SENTINEL.astype("datetime64[ms]")),
        [dt.datetime(2026, 1, 1), dt.datetime(9999, 12, 31), dt.datetime(2026, 1, 1, 1)],
    ],
    ids=["numpy", "pandas", "pyarrow", "pyarrow-tz", "polars", "list"],
)
def test_a_9999_sentinel_is_an_invalid_time_row_never_a_wrapped_date(column: Any) -> None:
    res = ei.integrate_meters(["a"] * 3, column, [1.0, 1000.0, 1.0])
    assert res.reason.tolist() == ["", "invalid-time", ""]
    assert res.detail.tolist() == ["", "time outside 1677-09-21..2262-04-11", ""]
    assert res.total == 1.0
    with raises_exactly(ei.TimeRangeError, "timestamps[1]=", "outside the nanosecond range"):
        to_ns(column)
    assert to_ns(column, out_of_range="nat").tolist()[1] == NAT


def test_integrate_and_raise_policies_refuse_a_sentinel() -> None:
    with raises_exactly(ei.TimeRangeError, "timestamps[1]=9999-12-31T00:00:00"):
        ei.integrate(SENTINEL, [1.0, 1.0, 1.0])
    with raises_exactly(ei.TimeRangeError, "timestamps[1]"):
        ei.integrate_meters(["a"] * 3, SENTINEL, [1.0] * 3, on_invalid="raise")


@pytest.mark.parametrize(
    "series",
    [
        pd.Series([0, H]),
        pd.Series([0.0, 1.0]),
        pd.Series(pd.to_timedelta([0, 1], unit="h")),
        pa.array([0, H]),
        pl.Series([0, H]),
    ],
    ids=["pandas-int", "pandas-float", "pandas-timedelta", "pyarrow-int", "polars-int"],
)
def test_numbers_as_timestamps_are_ambiguous_in_every_container(series: Any) -> None:
    with raises_exactly(ei.InvalidTypeError, "timestamps has", "Numbers are ambiguous"):
        ei.integrate(series, [1.0, 1.0])


def test_a_pandas_object_series_mixing_naive_and_aware_is_refused_like_a_list() -> None:
    values = pd.Series([dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 1, 1, tzinfo=dt.UTC)])
    with raises_exactly(ei.InvalidTypeError, "mixes tz-naive and tz-aware", "timestamps[1]"):
        ei.integrate(values, [1.0, 1.0])


def test_a_garbage_string_in_a_pandas_series_is_named() -> None:
    values = pd.Series([pd.Timestamp("2026-01-01"), "soon"])
    with raises_exactly(ei.InvalidTypeError, "timestamps[1]='soon' is str"):
        ei.integrate(values, [1.0, 1.0])


def test_pd_nat_in_a_list_is_a_missing_time() -> None:
    values = [pd.Timestamp("2026-01-01"), pd.NaT, pd.Timestamp("2026-01-01 01:00")]
    res = ei.integrate_meters(["a"] * 3, values, [1.0, 1.0, 1.0])
    assert res.reason.tolist() == ["", "invalid-time", ""]
    assert res.detail.tolist() == ["", "", ""]  # missing, not out of range
    assert res.total == 1.0
    with raises_exactly(ei.InvalidSampleError, "timestamps[1] is missing"):
        ei.integrate(values, [1.0, 1.0, 1.0])


@pytest.mark.parametrize(
    "values",
    [
        np.array([10**18], dtype="datetime64[10ns]"),  # a multiple of ns can overflow too
        [dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1)))],  # before year 1 in UTC
    ],
    ids=["10ns", "year-0"],
)
def test_edge_units_and_offsets_are_range_checked(values: Any) -> None:
    with raises_exactly(ei.TimeRangeError, "timestamps[0]=", "outside the nanosecond range"):
        to_ns(values)
    assert to_ns(values, out_of_range="nat").tolist() == [NAT]


@pytest.mark.parametrize("value", ["300Y", np.timedelta64(300 * 366, "D"), dt.timedelta.max])
def test_a_max_gap_beyond_int64_is_refused(value: Any) -> None:
    with raises_exactly(ei.InvalidArgumentError, "max_gap="):
        ei.integrate(hours(0, 1), [1.0, 1.0], max_gap=value)


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
