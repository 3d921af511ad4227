"""Time inputs become int64 UTC nanoseconds; units convert by hand-checked factors."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import energy_integral as ei
from energy_integral.timestamps import NAT, parse_duration, to_duration_ns, to_ns
from energy_integral.units import energy_factor, validate_units

UTC = dt.timezone.utc
# 2026-01-01T00:00:00Z, worked out by hand: 56 years of which 14 leap (1972..2024).
JAN_2026_NS = (56 * 365 + 14) * 86_400 * 10**9


def test_epoch_constant_by_hand() -> None:
    assert to_ns(np.array(["2026-01-01"], dtype="datetime64[D]"))[0] == JAN_2026_NS


# -- numpy -----------------------------------------------------------------------------------


@given(seconds=st.lists(st.integers(0, 10**9), min_size=1, max_size=20))
def test_datetime64_units_s_ms_us_ns_agree(seconds: list[int]) -> None:
    base = np.array(seconds, dtype=np.int64)
    arrays = {
        "s": base.astype("datetime64[s]"),
        "ms": (base * 1_000).astype("datetime64[ms]"),
        "us": (base * 1_000_000).astype("datetime64[us]"),
        "ns": (base * 1_000_000_000).astype("datetime64[ns]"),
    }
    expected = base * 1_000_000_000
    for arr in arrays.values():
        np.testing.assert_array_equal(to_ns(arr), expected)


def test_datetime64_units_give_the_same_energy() -> None:
    minutes = np.array([0, 15, 45, 120])
    p = [1.0, 4.0, 2.0, 0.5]
    totals = {
        unit: ei.integrate((minutes * factor).astype(f"datetime64[{unit}]"), p).total
        for unit, factor in [
            ("m", 1),
            ("s", 60),
            ("ms", 60_000),
            ("us", 60_000_000),
            ("ns", 60 * 10**9),
        ]
    }
    # By hand: 0.25 h · 2.5 + 0.5 h · 3 + 1.25 h · 1.25 = 0.625 + 1.5 + 1.5625.
    assert set(totals.values()) == {3.6875}


def test_nat_becomes_the_sentinel() -> None:
    arr = np.array(["2026-01-01", "NaT"], dtype="datetime64[s]")
    np.testing.assert_array_equal(to_ns(arr), [JAN_2026_NS, NAT])


def test_datetime64_outside_the_nanosecond_range_is_refused() -> None:
    with pytest.raises(ValueError, match=re.escape("timestamps[1]=2300-01-01T00:00:00 is outside")):
        to_ns(np.array(["2026-01-01", "2300-01-01"], dtype="datetime64[s]"))


def test_generic_datetime64_is_refused() -> None:
    with pytest.raises(TypeError, match="without a unit"):
        to_ns(np.array(["NaT", "NaT"], dtype="datetime64"))


@pytest.mark.parametrize("values", [[0, 3_600_000_000_000], np.arange(2), np.array([0.0, 1.0])])
def test_integer_and_float_timestamps_are_refused(values: Any) -> None:
    with pytest.raises(TypeError, match="expected datetimes"):
        ei.integrate(values, [1.0, 1.0])


def test_two_dimensional_timestamps_are_refused() -> None:
    with pytest.raises(ValueError, match=re.escape("one-dimensional; got shape (1, 2)")):
        to_ns(np.zeros((1, 2), dtype="datetime64[s]"))


def test_strings_are_refused_naming_the_dtype() -> None:
    with pytest.raises(TypeError, match="dtype <U10"):
        to_ns(["2026-01-01", "2026-01-02"])


# -- Python datetimes ------------------------------------------------------------------------


def test_naive_datetimes_are_utc() -> None:
    got = to_ns([dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 1, 0, 0, 0, 1)])
    np.testing.assert_array_equal(got, [JAN_2026_NS, JAN_2026_NS + 1_000])


def test_aware_datetimes_are_converted() -> None:
    plus_two = dt.timezone(dt.timedelta(hours=2))
    minus_five = dt.timezone(dt.timedelta(hours=-5))
    got = to_ns(
        [
            dt.datetime(2026, 1, 1, 2, tzinfo=plus_two),
            dt.datetime(2025, 12, 31, 20, tzinfo=minus_five),
        ]
    )
    np.testing.assert_array_equal(got, [JAN_2026_NS, JAN_2026_NS + 3_600 * 10**9])


@pytest.mark.parametrize("aware_first", [True, False])
def test_naive_and_aware_mixed_is_refused(aware_first: bool) -> None:
    naive, aware = dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 1, 1, tzinfo=UTC)
    values = [aware, naive] if aware_first else [naive, aware]
    with pytest.raises(
        TypeError, match=re.escape("mixes tz-naive and tz-aware datetimes (first at timestamps[1])")
    ):
        ei.integrate(values, [1.0, 1.0])


def test_non_datetime_in_a_list_names_its_position() -> None:
    with pytest.raises(TypeError, match=re.escape("timestamps[1]='x' is str")):
        to_ns(np.array([dt.datetime(2026, 1, 1), "x"], dtype=object))


@pytest.mark.parametrize("year", [1600, 2300])
def test_datetimes_outside_the_nanosecond_range_are_refused(year: int) -> None:
    """int64 ns covers 1677..2262; beyond it a date must not wrap round to another one."""
    with pytest.raises(
        ValueError, match=re.escape(f"timestamps[1]=datetime.datetime({year}, 1, 1")
    ):
        to_ns([dt.datetime(2026, 1, 1), dt.datetime(year, 1, 1)])


def test_none_is_a_missing_time() -> None:
    np.testing.assert_array_equal(to_ns([dt.datetime(2026, 1, 1), None]), [JAN_2026_NS, NAT])


# -- pandas ----------------------------------------------------------------------------------


def test_tz_aware_pandas_is_converted_to_utc() -> None:
    """Midnight and 01:00 in Berlin (UTC+1 in winter) are 23:00 and 00:00 UTC."""
    local = pd.Series(
        pd.to_datetime(["2026-01-01 00:00", "2026-01-01 01:00"]).tz_localize("Europe/Berlin")
    )
    expected = [JAN_2026_NS - 3_600 * 10**9, JAN_2026_NS]
    np.testing.assert_array_equal(to_ns(local), expected)
    np.testing.assert_array_equal(to_ns(pd.DatetimeIndex(local)), expected)


def test_tz_aware_pandas_across_a_dst_change() -> None:
    """Europe/Berlin springs forward at 01:00 UTC on 2026-03-29: 01:30 → 03:30 local is 1 h."""
    local = pd.DatetimeIndex(["2026-03-29 01:30", "2026-03-29 03:30"]).tz_localize("Europe/Berlin")
    res = ei.integrate(local, [2.0, 2.0])
    assert res.total == 2.0  # one real hour at 2 kW, not two
    assert str(res.timestamps[0]) == "2026-03-29T00:30:00.000000000"


def test_naive_pandas_is_utc_and_agrees_with_numpy() -> None:
    stamps = np.array(
        ["2026-01-01T00:00", "2026-01-01T00:20", "2026-01-01T01:00"], dtype="datetime64[m]"
    )
    p = [3.0, 6.0, 0.0]
    expected = ei.integrate(stamps, p).cumulative
    for series in (
        pd.Series(stamps),
        pd.DatetimeIndex(stamps),
        pd.Series(stamps).astype("datetime64[s]"),
    ):
        np.testing.assert_array_equal(ei.integrate(series, pd.Series(p)).cumulative, expected)
    np.testing.assert_array_equal(expected, [0.0, 1.5, 3.5])  # 1/3 h · 4.5, then 2/3 h · 3


def test_pandas_timestamps_in_a_list() -> None:
    values = [
        pd.Timestamp("2026-01-01T00:00:00.000000001"),
        pd.Timestamp("2026-01-01T01:00", tz="UTC+01:00"),
    ]
    np.testing.assert_array_equal(to_ns(values[:1]), [JAN_2026_NS + 1])
    np.testing.assert_array_equal(to_ns(values[1:]), [JAN_2026_NS])


# -- durations -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ns"),
    [
        ("15min", 15 * 60 * 10**9),
        ("1h", 3_600 * 10**9),
        ("1.5h", 5_400 * 10**9),
        ("30s", 30 * 10**9),
        ("1D", 86_400 * 10**9),
        ("h", 3_600 * 10**9),
        (dt.timedelta(minutes=15), 15 * 60 * 10**9),
        (dt.timedelta(days=3650, microseconds=1), 3650 * 86_400 * 10**9 + 1_000),
        (np.timedelta64(15, "m"), 15 * 60 * 10**9),
        (np.timedelta64(1, "ns"), 1),
        (pd.Timedelta(1, "ns"), 1),
        (pd.Timedelta("15min"), 15 * 60 * 10**9),
    ],
)
def test_durations(value: Any, ns: int) -> None:
    assert to_duration_ns(value, "max_gap") == ns


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        ("soon", ValueError, "duration 'soon' is not understood"),
        ("0min", ValueError, "max_gap='0min' must be a positive duration"),
        (dt.timedelta(minutes=-5), ValueError, "must be a positive duration"),
        (np.timedelta64("NaT"), ValueError, "max_gap=NaT is not a duration"),
        (900, TypeError, "max_gap=900 is int"),
        (0.25, TypeError, "max_gap=0.25 is float"),
    ],
)
def test_bad_durations_name_the_argument(value: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=re.escape(message)):
        ei.integrate(np.array(["2026-01-01"], dtype="datetime64[s]"), [1.0], max_gap=value)


def test_parse_duration_rejects_garbage() -> None:
    with pytest.raises(ValueError, match=re.escape("use e.g.")):
        parse_duration("15 minutes please")


# -- units -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("power_unit", "energy_unit", "factor"),
    # Power-unit × hour in energy units, by hand: 1 W·h = 1 Wh = 3600 J.
    [
        ("W", "Wh", 1.0),
        ("W", "kWh", 1e-3),
        ("W", "J", 3_600.0),
        ("W", "kJ", 3.6),
        ("kW", "kWh", 1.0),
        ("kW", "MJ", 3.6),
        ("MW", "kWh", 1e3),
        ("MW", "J", 3.6e9),
        ("GW", "GWh", 1.0),
        ("GW", "MWh", 1e3),
        ("GW", "MJ", 3.6e6),
        ("kW", "GWh", 1e-6),
    ],
)
def test_energy_factors_by_hand(power_unit: str, energy_unit: str, factor: float) -> None:
    assert energy_factor(power_unit, energy_unit) == pytest.approx(factor, rel=1e-15)


@pytest.mark.parametrize(
    ("power", "power_unit", "minutes", "energy_unit", "expected"),
    [
        (1.0, "MW", 30, "kWh", 500.0),
        (1.0, "MW", 30, "J", 1.8e9),
        (250.0, "W", 120, "Wh", 500.0),
        (250.0, "W", 120, "kJ", 1_800.0),
        (2.0, "GW", 15, "GWh", 0.5),
        (2.0, "GW", 15, "MJ", 1.8e6),
    ],
)
def test_integrate_in_units(
    power: float, power_unit: str, minutes: int, energy_unit: str, expected: float
) -> None:
    t = np.array([0, minutes], dtype="datetime64[m]")
    res = ei.integrate(t, [power, power], power_unit=power_unit, energy_unit=energy_unit)
    assert res.total == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize(
    ("power_unit", "energy_unit", "message"),
    [
        ("hp", "kWh", "power_unit='hp' is not a power unit; use one of W, kW, MW, GW"),
        ("kw", "kWh", "power_unit='kw'"),
        (
            "kW",
            "BTU",
            "energy_unit='BTU' is not an energy unit; use one of Wh, kWh, MWh, GWh, J, kJ, MJ",
        ),
        ("kW", "kW", "energy_unit='kW'"),
    ],
)
def test_unknown_unit_is_named(power_unit: str, energy_unit: str, message: str) -> None:
    with pytest.raises(ei.UnitError, match=re.escape(message)) as info:
        validate_units(power_unit, energy_unit)
    assert isinstance(info.value, ValueError)
    with pytest.raises(ei.UnitError, match=re.escape(message)):
        energy_factor(power_unit, energy_unit)
