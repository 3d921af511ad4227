"""Each input a real fleet sends gives the right kWh, a rejected row, or an error of the
library's own hierarchy that names the argument and the value — never a wrong number.

Expected energies are worked out by hand (or, for centuries, with ``datetime``
arithmetic, independent of the library's int64 nanoseconds).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from exact_errors import BIG, H, hours, raises_exactly

import energy_integral as ei
from energy_integral import errors
from energy_integral.timestamps import NAT, to_ns

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
