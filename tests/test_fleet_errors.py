"""Bad arguments to the fleet engine: each raises a precise error naming the argument and value.

Bad *data* (a NaN, a late row) is rejected row by row; a bad *call* is an
error before anything is integrated.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import numpy as np
import pandas as pd
import pytest

import energy_integral as ei

T = np.array(["2026-01-01T00:00", "2026-01-01T01:00", "2026-01-01T02:00"], dtype="datetime64[ns]")
M = ["a", "a", "a"]
P = [1.0, 2.0, 3.0]


def call(**overrides: Any) -> ei.FleetResult:
    args: dict[str, Any] = {"meter_ids": M, "timestamps": T, "power": P}
    args.update(overrides)
    return ei.integrate_meters(
        args.pop("meter_ids"), args.pop("timestamps"), args.pop("power"), **args
    )


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"meter_ids": ["a", "a"]}, "meter_ids has 2"),
        ({"timestamps": T[:1]}, "timestamps has 1"),
        ({"power": [1.0] * 4}, "power has 4"),
    ],
)
def test_mismatched_lengths(overrides: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match="same length") as info:
        call(**overrides)
    assert named in str(info.value)


@pytest.mark.parametrize(
    ("policy", "value", "choices"),
    [
        ("on_late", "drop", "reject, raise"),
        ("on_duplicate", "first", "reject, last, mean, step, raise"),
        ("on_invalid", "ignore", "reject, gap, raise"),
    ],
)
def test_unknown_policy(policy: str, value: str, choices: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"{policy}={value!r}")) as info:
        call(**{policy: value})
    assert choices in str(info.value)


def test_policies_offer_no_silent_drop() -> None:
    for policy in ("on_late", "on_duplicate", "on_invalid"):
        with pytest.raises(ValueError, match="'drop' is not valid"):
            call(**{policy: "drop"})


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"power": ["1", "2", "3"]}, TypeError, "power must be numeric; got dtype <U1"),
        ({"power": [1.0, "x", 3.0]}, TypeError, "power must be numeric"),
        ({"timestamps": T.view(np.int64)}, TypeError, "timestamps has dtype int64"),
        ({"timestamps": ["2026-01-01"] * 3}, TypeError, "timestamps has dtype <U10"),
        ({"meter_ids": T}, TypeError, "meter_ids has dtype datetime64[ns]"),
        ({"meter_ids": np.array([M])}, ValueError, "meter_ids must be one-dimensional"),
        ({"power": np.array([P])}, ValueError, "power must be one-dimensional"),
    ],
    ids=["power-str", "power-object", "time-int", "time-str", "meter-time", "meter-2d", "power-2d"],
)
def test_wrong_dtype_or_shape(overrides: dict[str, Any], error: type, message: str) -> None:
    with pytest.raises(error, match=re.escape(message)):
        call(**overrides)


def test_tz_naive_and_aware_mixed() -> None:
    times = [
        dt.datetime(2026, 1, 1, 0),
        dt.datetime(2026, 1, 1, 1, tzinfo=dt.timezone.utc),
        dt.datetime(2026, 1, 1, 2),
    ]
    with pytest.raises(
        TypeError, match=re.escape("timestamps mixes tz-naive and tz-aware")
    ) as info:
        call(timestamps=times)
    assert "timestamps[1]" in str(info.value)


def test_tz_aware_datetimes_are_converted_not_rejected() -> None:
    # 01:00+01:00 is 00:00Z: the same instants as T.
    plus1 = dt.timezone(dt.timedelta(hours=1))
    times = [dt.datetime(2026, 1, 1, h + 1, tzinfo=plus1) for h in range(3)]
    aware = pd.Series(pd.to_datetime(T)).dt.tz_localize("UTC").dt.tz_convert("Asia/Tokyo")
    for given in (times, aware):
        assert call(timestamps=given).states == call().states


def test_unknown_method() -> None:
    with pytest.raises(ei.UnknownStrategyError, match=re.escape("method='simpson'")) as info:
        call(method="simpson")
    assert "trapezoid" in str(info.value)  # the known ones are listed


@pytest.mark.parametrize("bound", [-1.0, 0.0, float("nan")])
def test_max_power_must_be_positive(bound: float) -> None:
    with pytest.raises(ValueError, match=re.escape(f"max_power={bound!r}")):
        call(max_power=bound)


def test_unknown_units() -> None:
    with pytest.raises(ei.UnitError, match=re.escape("energy_unit='kWs'")):
        call(energy_unit="kWs")
    with pytest.raises(ei.UnitError, match=re.escape("power_unit='hp'")):
        call(power_unit="hp")


def test_bad_max_gap() -> None:
    with pytest.raises(TypeError, match=re.escape("max_gap=5 is int")):
        call(max_gap=5)
    with pytest.raises(ValueError, match="max_gap"):
        call(max_gap=np.timedelta64(-5, "m"))


@pytest.mark.parametrize("carry", [lambda s: s, dict], ids=["StateTable", "dict"])
def test_states_of_another_method(carry: Any) -> None:
    left = call(method="left").states
    with pytest.raises(ei.MethodMismatchError, match=re.escape("method='left'")) as info:
        call(states=carry(left))
    assert "method='trapezoid'" in str(info.value)
    assert "states" in str(info.value)
    # Also when the mismatched state belongs to a meter that has no rows in the batch.
    with pytest.raises(ei.MethodMismatchError, match=re.escape("method='left'")):
        call(meter_ids=["b"] * 3, states=carry(left))


@pytest.mark.parametrize("carry", [lambda s: s, dict], ids=["StateTable", "dict"])
def test_states_in_other_units(carry: Any) -> None:
    watts = call(power_unit="W", energy_unit="Wh").states
    with pytest.raises(ei.UnitError, match=re.escape("(W, Wh)")) as info:
        call(states=carry(watts))
    assert "power_unit='kW', energy_unit='kWh'" in str(info.value)
    assert "states" in str(info.value)


def test_state_that_is_not_a_cumulative_state() -> None:
    as_dict = call().states["a"].to_dict()
    with pytest.raises(
        TypeError, match=re.escape("states['a'] must be a CumulativeState; got dict")
    ):
        call(states={"a": as_dict})


@pytest.mark.parametrize("states", [[1, 2], "a", 3])
def test_states_that_is_not_a_mapping(states: Any) -> None:
    with pytest.raises(TypeError, match="states must be a mapping") as info:
        call(states=states)
    assert type(states).__name__ in str(info.value)


def test_errors_are_library_errors_and_builtins() -> None:
    # Callers can catch either the library's base class or the builtin they expect.
    with pytest.raises(ei.EnergyIntegralError):
        call(method="simpson")
    with pytest.raises(ValueError, match="simpson"):
        call(method="simpson")
