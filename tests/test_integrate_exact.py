"""Cases whose energy is derived by hand, and the errors ``integrate`` raises on bad input."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from series_strategies import NS_PER_HOUR, as_datetime64, series

import energy_integral as ei

BUILTINS = ("trapezoid", "left", "right", "scipy")
T0 = np.datetime64("2026-03-01T00:00", "ns")


def at_minutes(*minutes: float) -> np.ndarray[Any, np.dtype[np.datetime64]]:
    """Times ``minutes`` after T0 (whole seconds)."""
    return T0 + np.array([round(m * 60) for m in minutes], dtype="timedelta64[s]")


# -- constant power --------------------------------------------------------------------------


@pytest.mark.parametrize("method", BUILTINS)
@pytest.mark.parametrize(("power", "hours"), [(7.25, 5.5), (-3.0, 2.0), (0.0, 1.0), (1e4, 24.0)])
def test_constant_power_is_power_times_hours(method: str, power: float, hours: float) -> None:
    # Irregular samples, first at 0 and last at `hours`.
    minutes = [0.0, 1.0, 7.5, 30.0, 31.0, 100.0, hours * 60]
    t = at_minutes(*sorted(set(m for m in minutes if m <= hours * 60)))
    res = ei.integrate(t, np.full(t.size, power), method=method)
    assert res.total == pytest.approx(power * hours, rel=1e-14, abs=1e-12)
    assert res.increments[0] == 0.0
    # Every running total is P times the hours elapsed so far.
    elapsed_h = (t - t[0]).astype(np.int64) / NS_PER_HOUR
    np.testing.assert_allclose(res.cumulative, power * elapsed_h, rtol=1e-14, atol=1e-12)


# -- linear ramp -----------------------------------------------------------------------------


@pytest.mark.parametrize("slope", [2.5, -2.5])
def test_linear_ramp_exact_for_trapezoid_and_offset_for_left_and_right(slope: float) -> None:
    r"""Power :math:`p(t) = a + b t` (t in hours) sampled every ``h`` hours over ``H``.

    Exact: :math:`\int_0^H p = aH + bH^2/2`, and the trapezoid rule is exact on a line.
    Left: :math:`\sum_{k<N} (a + bkh)h = aH + bh^2 N(N-1)/2 = aH + bH(H-h)/2`, i.e.
    exact :math:`- bHh/2`; right is exact :math:`+ bHh/2` by symmetry. So an
    increasing ramp (b > 0) has left < exact < right, a decreasing one the reverse.
    """
    a, b, h, big_h = 10.0, slope, 0.25, 6.0
    k = np.arange(int(big_h / h) + 1)
    t = T0 + (k * 15).astype("timedelta64[m]")
    p = a + b * k * h
    exact = a * big_h + b * big_h**2 / 2
    total = {m: ei.integrate(t, p, method=m).total for m in BUILTINS}
    assert total["trapezoid"] == pytest.approx(exact, rel=1e-14)
    assert total["scipy"] == pytest.approx(exact, rel=1e-14)
    assert total["left"] == pytest.approx(exact - b * big_h * h / 2, rel=1e-14)
    assert total["right"] == pytest.approx(exact + b * big_h * h / 2, rel=1e-14)
    if b > 0:
        assert total["left"] < total["trapezoid"] < total["right"]
    else:
        assert total["right"] < total["trapezoid"] < total["left"]


@given(
    data=series(min_size=2, max_size=30),
    a=st.floats(-1e3, 1e3),
    b=st.floats(-1e3, 1e3),
)
def test_any_sampled_ramp_is_exact_for_trapezoid_and_bracketed(
    data: Any, a: float, b: float
) -> None:
    """On a line, at any irregular sample times, the trapezoid is exact and lies between
    left and right (below right when rising, above it when falling)."""
    t, _ = data
    hours = (t - t[0]) / NS_PER_HOUR
    p = a + b * hours
    big_h = hours[-1]
    exact = a * big_h + b * big_h**2 / 2
    scale = (abs(a) + abs(b) * big_h) * big_h + 1e-9
    total = {m: ei.integrate(as_datetime64(t), p, method=m).total for m in BUILTINS}
    assert total["trapezoid"] == pytest.approx(exact, rel=1e-9, abs=1e-12 * scale)
    lo, hi = (total["left"], total["right"]) if b >= 0 else (total["right"], total["left"])
    assert lo - 1e-12 * scale <= total["trapezoid"] <= hi + 1e-12 * scale


# -- step function ---------------------------------------------------------------------------


def test_step_function_is_exact_for_left() -> None:
    """Power held between readings: 2 kW for 1 h, 5 kW for 30 min, -1 kW (export) for 15 min.

    Exact: 2·1 + 5·0.5 - 1·0.25 = 4.25 kWh. Left (LOCF) is exact. Right instead
    charges each interval at its closing reading: 5·1 - 1·0.5 + 0·0.25 = 4.5 kWh.
    """
    t = at_minutes(0, 60, 90, 105)
    p = [2.0, 5.0, -1.0, 0.0]
    left = ei.integrate(t, p, method="left")
    assert left.total == 4.25
    np.testing.assert_array_equal(left.increments, [0.0, 2.0, 2.5, -0.25])
    np.testing.assert_array_equal(left.cumulative, [0.0, 2.0, 4.5, 4.25])
    assert ei.integrate(t, p, method="right").total == 4.5


# -- units -----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", BUILTINS)
@pytest.mark.parametrize(
    ("energy_unit", "expected"),
    [
        ("kWh", 500.0),
        ("MWh", 0.5),
        ("Wh", 5e5),
        ("GWh", 5e-4),
        ("J", 1.8e9),
        ("kJ", 1.8e6),
        ("MJ", 1.8e3),
    ],
)
def test_one_megawatt_for_half_an_hour(method: str, energy_unit: str, expected: float) -> None:
    res = ei.integrate(
        at_minutes(0, 30), [1.0, 1.0], method=method, power_unit="MW", energy_unit=energy_unit
    )
    assert res.total == pytest.approx(expected, rel=1e-15)
    assert res.state.energy_unit == energy_unit
    assert res.state.power_unit == "MW"


@pytest.mark.parametrize("argument", ["power_unit", "energy_unit"])
def test_unknown_unit_is_an_error_naming_it(argument: str) -> None:
    units: dict[str, Any] = {argument: "hp"}
    with pytest.raises(ei.UnitError, match=f"{argument}='hp'"):
        ei.integrate(at_minutes(0, 30), [1.0, 1.0], **units)


# -- max_gap ---------------------------------------------------------------------------------


def test_max_gap_skips_and_reports_long_intervals() -> None:
    """Samples at 0, 10, 70, 80 min with max_gap 30 min: the 60-min interval adds nothing."""
    t = at_minutes(0, 10, 70, 80)
    res = ei.integrate(t, [6.0, 6.0, 6.0, 6.0], max_gap="30min")
    assert res.total == pytest.approx(6.0 * 20 / 60, rel=1e-15)
    np.testing.assert_array_equal(res.increments, [0.0, 1.0, 0.0, 1.0])
    np.testing.assert_array_equal(res.gaps.start, t[1:2])
    np.testing.assert_array_equal(res.gaps.end, t[2:3])
    assert len(res.gaps) == 1


def test_max_gap_equal_to_the_interval_is_not_a_gap() -> None:
    res = ei.integrate(at_minutes(0, 30), [2.0, 2.0], max_gap=np.timedelta64(30, "m"))
    assert res.total == 1.0
    assert len(res.gaps) == 0


def test_max_gap_applies_when_bridging_from_the_state() -> None:
    first = ei.integrate(at_minutes(0, 10), [6.0, 6.0], max_gap="30min")
    second = ei.integrate(at_minutes(70, 80), [6.0, 6.0], state=first.state, max_gap="30min")
    assert second.total == pytest.approx(2.0, rel=1e-15)
    np.testing.assert_array_equal(second.gaps.start, at_minutes(10))
    np.testing.assert_array_equal(second.gaps.end, at_minutes(70))


# -- state in and out ------------------------------------------------------------------------


def test_cumulative_starts_from_the_carried_energy() -> None:
    first = ei.integrate(at_minutes(0, 60), [1.0, 3.0])  # 2 kWh
    second = ei.integrate(at_minutes(90, 120), [3.0, 1.0], state=first.state)
    # Bridge 60→90 min at 3 kW = 1.5 kWh, then 90→120 min from 3 to 1 kW = 1 kWh.
    np.testing.assert_array_equal(second.increments, [1.5, 1.0])
    np.testing.assert_array_equal(second.cumulative, [3.5, 4.5])
    s = second.state
    assert (s.first_ts, s.first_power, s.last_power, s.count) == (first.state.first_ts, 1.0, 1.0, 4)
    assert s.last_ts == int(at_minutes(120)[0].astype(np.int64))


def test_empty_batch_returns_the_state_unchanged() -> None:
    first = ei.integrate(at_minutes(0, 60), [1.0, 3.0])
    res = ei.integrate(np.array([], dtype="datetime64[ns]"), [], state=first.state)
    assert res.state == first.state
    assert res.total == 2.0
    assert res.cumulative.size == res.increments.size == 0


# -- errors ----------------------------------------------------------------------------------


def test_unknown_method_lists_the_known_ones() -> None:
    with pytest.raises(ei.UnknownStrategyError) as info:
        ei.integrate(at_minutes(0, 1), [1.0, 1.0], method="simpson")
    message = str(info.value)
    assert "method='simpson'" in message
    for name in BUILTINS:
        assert name in message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("minutes", [(0, 10, 10, 20), (0, 10, 5, 20)])
def test_non_increasing_timestamps_name_the_index(minutes: tuple[int, ...]) -> None:
    with pytest.raises(ei.OrderError, match=re.escape("timestamps[2]=")) as info:
        ei.integrate(at_minutes(*minutes), [1.0] * 4)
    assert "timestamps[1]=" in str(info.value)
    assert "strictly increasing" in str(info.value)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_power_names_the_index(bad: float) -> None:
    with pytest.raises(ei.InvalidSampleError, match=re.escape(f"power[1]={bad}")):
        ei.integrate(at_minutes(0, 1, 2), [1.0, bad, 1.0])


def test_missing_time_names_the_index() -> None:
    t = at_minutes(0, 1, 2)
    t[2] = np.datetime64("NaT")
    with pytest.raises(ei.InvalidSampleError, match=re.escape("timestamps[2] is missing")):
        ei.integrate(t, [1.0, 1.0, 1.0])


def test_mismatched_lengths_name_both_arguments() -> None:
    with pytest.raises(ValueError, match="timestamps has 3, power has 2"):
        ei.integrate(at_minutes(0, 1, 2), [1.0, 1.0])


def test_state_of_another_method_is_refused() -> None:
    state = ei.integrate(at_minutes(0, 1), [1.0, 1.0], method="left").state
    with pytest.raises(ei.MethodMismatchError, match=r"method='left'.*method='trapezoid'"):
        ei.integrate(at_minutes(2, 3), [1.0, 1.0], state=state)


def test_state_in_other_units_is_refused() -> None:
    state = ei.integrate(at_minutes(0, 1), [1.0, 1.0], power_unit="W", energy_unit="Wh").state
    with pytest.raises(ei.UnitError, match="power_unit='kW'"):
        ei.integrate(at_minutes(2, 3), [1.0, 1.0], state=state)


@pytest.mark.parametrize("start", [0, 1])  # before, and exactly at, the state's last sample
def test_batch_overlapping_the_state_is_refused(start: int) -> None:
    state = ei.integrate(at_minutes(0, 1), [1.0, 1.0]).state
    with pytest.raises(ei.OverlapError, match=re.escape("timestamps[0]=")):
        ei.integrate(at_minutes(start, 5), [1.0, 1.0], state=state)


def test_state_must_be_a_cumulative_state() -> None:
    with pytest.raises(TypeError, match="state must be a CumulativeState"):
        ei.integrate(at_minutes(0, 1), [1.0, 1.0], state={"energy": 1.0})  # type: ignore[arg-type]


def test_non_numeric_power_is_refused() -> None:
    with pytest.raises(TypeError, match="power must be numeric"):
        ei.integrate(at_minutes(0, 1), ["a", "b"])
