"""CumulativeState: construction rules, combine by hand and its errors, serialisation."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import energy_integral as ei

H = 3_600_000_000_000  # one hour in ns
S = ei.CumulativeState


def stretch(t0_h: float, t1_h: float, p0: float, p1: float, energy: float, count: int = 2) -> S:
    """A trapezoid kW/kWh state from hour ``t0_h`` to ``t1_h``."""
    return S(
        method="trapezoid",
        first_ts=round(t0_h * H),
        first_power=p0,
        last_ts=round(t1_h * H),
        last_power=p1,
        energy=energy,
        count=count,
    )


# -- combine by hand -------------------------------------------------------------------------


def test_combine_bridges_last_to_first() -> None:
    """a: 0-1 h (1 kWh), b: 2-3 h (5 kWh); bridge 1→2 h from 1 to 3 kW is 2 kWh."""
    a = stretch(0, 1, 1.0, 1.0, 1.0)
    b = stretch(2, 3, 3.0, 7.0, 5.0)
    c = a.combine(b)
    assert c == stretch(0, 3, 1.0, 7.0, 8.0, count=4)


@pytest.mark.parametrize(
    "max_gap",
    ["30min", dt.timedelta(minutes=30), np.timedelta64(30, "m"), np.timedelta64(1800, "s")],
)
def test_combine_drops_a_bridge_longer_than_max_gap(max_gap: Any) -> None:
    a = stretch(0, 1, 1.0, 1.0, 1.0)
    b = stretch(2, 3, 3.0, 7.0, 5.0)
    assert a.combine(b, max_gap=max_gap).energy == 6.0


def test_combine_keeps_a_bridge_equal_to_max_gap() -> None:
    a = stretch(0, 1, 1.0, 1.0, 1.0)
    b = stretch(2, 3, 3.0, 7.0, 5.0)
    assert a.combine(b, max_gap="1h").energy == 8.0


@pytest.mark.parametrize(("method", "bridge"), [("left", 1.0), ("right", 3.0), ("scipy", 2.0)])
def test_combine_bridges_with_the_states_method(method: str, bridge: float) -> None:
    a = dataclasses.replace(stretch(0, 1, 1.0, 1.0, 1.0), method=method)
    b = dataclasses.replace(stretch(2, 3, 3.0, 7.0, 5.0), method=method)
    assert a.combine(b).energy == 6.0 + bridge


def test_bridge_energy_converts_units() -> None:
    """2 MW to 4 MW over 30 min is 1.5 MWh = 5.4e9 J; dropped beyond a 15 min max_gap."""
    a = S(method="trapezoid", power_unit="MW", energy_unit="J", first_ts=0, first_power=2.0,
          last_ts=0, last_power=2.0, energy=0.0, count=1)  # fmt: skip
    assert a.bridge_energy(H // 2, 4.0) == pytest.approx(5.4e9, rel=1e-15)
    assert a.bridge_energy(H // 2, 4.0, max_gap_ns=H // 4) == 0.0
    assert S.empty().bridge_energy(H, 4.0) == 0.0


def test_combine_is_not_commutative() -> None:
    a = stretch(0, 1, 1.0, 1.0, 1.0)
    b = stretch(2, 3, 3.0, 7.0, 5.0)
    with pytest.raises(ei.OverlapError, match="not after"):
        b.combine(a)


@pytest.mark.parametrize("start_h", [0.5, 1.0])  # inside a, and exactly at a's last sample
def test_combine_refuses_overlap(start_h: float) -> None:
    a = stretch(0, 1, 1.0, 1.0, 1.0)
    b = stretch(start_h, 3, 3.0, 7.0, 5.0)
    at = "not after the first one's last sample at 1970-01-01T01:00:00"
    with pytest.raises(ei.OverlapError, match=re.escape(at)):
        a.combine(b)


def test_overlap_is_allowed_with_an_empty_side() -> None:
    a = stretch(0, 1, 1.0, 1.0, 1.0)
    assert a.combine(S.empty()) == a
    assert S.empty().combine(a) == a
    assert S.empty().combine(S.empty()) == S.empty()


def test_combine_refuses_another_method() -> None:
    a = stretch(0, 1, 1.0, 1.0, 1.0)
    with pytest.raises(ei.MethodMismatchError, match="'trapezoid' state with a 'left' state"):
        a.combine(S.empty("left"))
    assert isinstance(ei.MethodMismatchError("x"), ValueError)


@pytest.mark.parametrize(("power_unit", "energy_unit"), [("W", "kWh"), ("kW", "MJ")])
def test_combine_refuses_other_units(power_unit: str, energy_unit: str) -> None:
    a = stretch(0, 1, 1.0, 1.0, 1.0)
    other = S.empty(power_unit=power_unit, energy_unit=energy_unit)
    with pytest.raises(ei.UnitError, match=re.escape(f"({power_unit}, {energy_unit})")):
        a.combine(other)
    with pytest.raises(ei.UnitError):
        other.combine(a)


# -- construction ----------------------------------------------------------------------------


def test_empty_state() -> None:
    e = S.empty("left", power_unit="W", energy_unit="J")
    assert e.is_empty
    assert (e.method, e.power_unit, e.energy_unit, e.energy, e.count) == ("left", "W", "J", 0.0, 0)
    assert e.last_time is None


def test_empty_with_unknown_method_fails_early() -> None:
    with pytest.raises(ei.UnknownStrategyError, match="method='simpson'"):
        S.empty("simpson")


def test_empty_with_unknown_unit_names_it() -> None:
    with pytest.raises(ei.UnitError, match="energy_unit='BTU'"):
        S.empty(energy_unit="BTU")


def test_state_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        S.empty().energy = 1.0  # type: ignore[misc]


SAMPLES = {"first_ts": 0, "first_power": 1.0, "last_ts": H, "last_power": 1.0}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"count": 0, "energy": 1.0}, "empty state"),
        ({"count": 0, "first_ts": 0}, "empty state"),
        ({"count": 2, "first_ts": 0}, "needs first_ts"),
        ({**SAMPLES, "count": -1}, "count=-1"),
        ({**SAMPLES, "count": 2, "first_ts": 2 * H}, "before first_ts"),
        ({**SAMPLES, "count": 2, "first_power": np.nan}, "non-finite"),
        ({**SAMPLES, "count": 2, "energy": np.inf}, "non-finite"),
    ],
)
def test_inconsistent_state_is_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ei.StateFormatError, match=re.escape(message)):
        S(**fields)


def test_last_time_is_datetime64() -> None:
    assert stretch(0, 1, 1.0, 1.0, 1.0).last_time == np.datetime64("1970-01-01T01:00", "ns")


# -- serialisation ---------------------------------------------------------------------------


def test_to_dict_is_versioned_and_json_safe() -> None:
    state = ei.integrate(
        np.array(["2026-01-01T00:00", "2026-01-01T00:30"], dtype="datetime64[m]"), [1.0, 3.0]
    ).state
    d = state.to_dict()
    assert d["version"] == 1
    assert d == {
        "version": 1,
        "method": "trapezoid",
        "power_unit": "kW",
        "energy_unit": "kWh",
        "first_ts": 1_767_225_600_000_000_000,
        "first_power": 1.0,
        "last_ts": 1_767_225_600_000_000_000 + H // 2,
        "last_power": 3.0,
        "energy": 1.0,
        "count": 2,
    }
    text = json.dumps(d)
    assert S.from_dict(json.loads(text)) == state
    assert S.from_dict(json.loads(json.dumps(S.empty().to_dict()))) == S.empty()


def test_from_dict_accepts_numbers_as_other_types() -> None:
    """JSON readers (Snowflake VARIANT, JavaScript) may hand back ints as floats and vice versa."""
    d = stretch(0, 1, 1.0, 1.0, 1.0).to_dict()
    d.update(first_ts=float(d["first_ts"]), count=2.0, energy=1, first_power=1)
    state = S.from_dict(d)
    assert state == stretch(0, 1, 1.0, 1.0, 1.0)
    assert isinstance(state.count, int)
    assert isinstance(state.energy, float)


@pytest.mark.parametrize("version", [None, 0, 2, "1"])
def test_from_dict_refuses_other_versions(version: Any) -> None:
    d = S.empty().to_dict()
    if version is None:
        del d["version"]
    else:
        d["version"] = version
    with pytest.raises(
        ei.StateFormatError, match=re.escape(f"version={version!r} is not supported")
    ):
        S.from_dict(d)


def test_from_dict_refuses_unknown_fields() -> None:
    d = S.empty().to_dict() | {"meter": "M1", "tz": "UTC"}
    with pytest.raises(ei.StateFormatError, match="unknown fields: meter, tz"):
        S.from_dict(d)


def test_from_dict_refuses_missing_samples() -> None:
    d = stretch(0, 1, 1.0, 1.0, 1.0).to_dict()
    del d["last_power"]
    with pytest.raises(ei.StateFormatError, match="needs first_ts"):
        S.from_dict(d)


# -- JSON text -------------------------------------------------------------------------------
_finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@st.composite
def _states(draw: st.DrawFn) -> S:
    if draw(st.booleans()):
        return S.empty(draw(st.sampled_from(["trapezoid", "left", "right"])))
    first = draw(st.integers(-(2**62), 2**62))
    first_power = draw(_finite)
    count = draw(st.integers(1, 2**62))
    one = count == 1  # one sample is first and last
    return S(
        method=draw(st.sampled_from(["trapezoid", "left", "right"])),
        power_unit=draw(st.sampled_from(["W", "kW", "MW"])),
        energy_unit=draw(st.sampled_from(["Wh", "kWh", "MWh"])),
        first_ts=first,
        first_power=first_power,
        last_ts=first if one else first + draw(st.integers(0, 2**62 - 1)),
        last_power=first_power if one else draw(_finite),
        energy=draw(_finite),
        count=count,
    )


@given(_states())
def test_json_round_trip_is_exact(state: S) -> None:
    text = state.to_json()
    back = S.from_json(text)
    assert back == state
    assert json.loads(text)["version"] == 1
    # bit for bit, -0.0 included: == alone would let a sign or a last digit slip
    for name in ("first_power", "last_power", "energy"):
        assert repr(getattr(back, name)) == repr(getattr(state, name))


@pytest.mark.parametrize(
    ("text", "message"),
    [("{not json", "state is not JSON"), ("[1, 2]", "must be an object, got list")],
)
def test_from_json_refuses_what_is_no_state(text: str, message: str) -> None:
    with pytest.raises(ei.StateFormatError, match=re.escape(message)):
        S.from_json(text)
