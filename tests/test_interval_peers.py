"""Cases from the peers' own test suites, reproduced with the option that matches each peer.

Every expected value is the peer's (or derived by hand from its definition, as
noted); the file each case comes from is named in its test.
"""

from __future__ import annotations

import numpy as np
import pytest

import energy_integral as ei

T0 = np.datetime64("2026-01-01T00:00", "ns")
SECOND = np.timedelta64(1, "s")
HOUR = np.timedelta64(1, "h")


def test_toolkit_locf_holds_the_last_reading_to_the_end_of_the_range() -> None:
    """timescale/timescaledb-toolkit, extension/src/time_weighted_average.rs (LOCF
    ``interpolated_integral`` with no next point): (10 s, 1 W), (20 s, 2 W) to 25 s is 20 J."""
    out = ei.energy_by_interval(
        T0 + np.array([10, 20]) * SECOND, [1.0, 2.0], "1h", method="left", power_unit="W",
        energy_unit="J", start=T0 + 10 * SECOND, end=T0 + 25 * SECOND, extrapolate="locf",
    )  # fmt: skip
    assert out.energy.tolist() == [20.0]
    # 5 of the bucket's 3600 s are held: provisional, and visibly so.
    assert out.extrapolated[0] == pytest.approx(5 / 3600, rel=1e-12)
    assert out.mean_power[0] == pytest.approx(20 / 15, rel=1e-12)  # 20 J over 15 s


def test_toolkit_daily_average_with_locf_from_the_day_before() -> None:
    """timescale/timescaledb-toolkit, extension/src/time_weighted_average.rs (a day's
    ``interpolated_average`` with LOCF): 30 W at 10:00, 0 W at 12:00, 35 W at 16:00 after
    a day ending at 25 W is 590 Wh and 24.583 W over the day."""
    day = np.datetime64("2026-01-02T00:00", "ns")
    before = ei.integrate(
        np.array([day - 4 * HOUR]), [25.0], method="left", power_unit="W", energy_unit="Wh"
    ).state
    out = ei.energy_by_interval(
        day + np.array([10, 12, 16]) * HOUR, [30.0, 0.0, 35.0], "1D", method="left",
        power_unit="W", energy_unit="Wh", states=before, start=day, end=day + 24 * HOUR,
        extrapolate="locf",
    )  # fmt: skip
    assert len(out) == 1
    assert out.start[0] == day
    # 25 W × 10 h + 30 W × 2 h + 0 W × 4 h + 35 W × 8 h (the last 8 h held)
    assert out.energy[0] == pytest.approx(590.0, rel=1e-12)
    assert out.mean_power[0] == pytest.approx(590.0 / 24, rel=1e-12)
    assert round(float(out.mean_power[0]), 3) == 24.583
    assert out.extrapolated[0] == pytest.approx(8 / 24, rel=1e-12)


def test_flux_linear_interpolation_extends_both_ends() -> None:
    """influxdata/flux, stdlib/universe/integral_test.go (``interpolate: "linear"``):
    1, 2, 3, 4 at 1–4 ns over [0, 5 ns] is 12.5 value·ns (the line p(t) = t)."""
    ns = np.timedelta64(1, "ns")
    out = ei.energy_by_interval(
        T0 + np.arange(1, 5) * ns, [1.0, 2.0, 3.0, 4.0], "1h", power_unit="W",
        energy_unit="J", start=T0, end=T0 + 5 * ns, extrapolate="linear",
    )  # fmt: skip
    assert out.energy[0] * 1e9 == pytest.approx(12.5, rel=1e-12)  # J = W·s = 1e9 W·ns
    # Monotone power between the samples (and along the extensions) bounds it by hand:
    # min: 0·1 + 1 + 2 + 3 + 4·1 = 10, max: 1 + 2 + 3 + 4 + 5 = 15.
    assert out.energy_min[0] * 1e9 == pytest.approx(10.0, rel=1e-12)
    assert out.energy_max[0] * 1e9 == pytest.approx(15.0, rel=1e-12)


def test_influxql_takes_two_readings_of_one_time_as_a_step() -> None:
    """influxdata/influxdb, query/functions_test.go (``INTEGRAL()`` with two points at one
    time): (0 s, 20), (5 s, 10), (5 s, 30), (10 s, 40) is 250 W·s."""
    t = T0 + np.array([0, 5, 5, 10]) * SECOND
    p = [20.0, 10.0, 30.0, 40.0]
    out = ei.energy_by_interval(t, p, "1h", power_unit="W", energy_unit="J", on_duplicate="step")
    assert out.energy.tolist() == [250.0]  # (20 + 10)/2 · 5 + (30 + 40)/2 · 5
    assert out.samples.tolist() == [4]
    fleet = ei.integrate_meters(
        ["m"] * 4, t, p, power_unit="W", energy_unit="J", on_duplicate="step"
    )
    assert fleet.states["m"].energy == 250.0
    assert fleet.accepted.all()


def test_influxql_step_split_between_batches_gives_the_same_energy() -> None:
    """The InfluxQL case again, the step's two readings in two batches."""
    t = T0 + np.array([0, 5, 5, 10]) * SECOND
    p = np.array([20.0, 10.0, 30.0, 40.0])
    kwargs = {"power_unit": "W", "energy_unit": "J", "on_duplicate": "step"}
    first = ei.integrate_meters(["m"] * 2, t[:2], p[:2], **kwargs)
    second = ei.integrate_meters(["m"] * 2, t[2:], p[2:], states=first.states, **kwargs)
    assert second.states["m"].energy == 250.0
    assert second.accepted.all()


@pytest.mark.parametrize("method", ["trapezoid", "left"])
def test_home_assistant_unavailable_stops_the_integration_around_it(method: str) -> None:
    """home-assistant/core, tests/components/integration/test_sensor.py::test_state:
    1 kW at 0 h and 1 h, ``unavailable`` at 2 h, 2 kW at 3 h and 4 h read 1, 1, 3 kWh
    after the readings at 1 h, 3 h and 4 h (trapezoidal and left)."""
    t = T0 + np.arange(5) * HOUR
    p = [1.0, 1.0, np.nan, 2.0, 2.0]
    fleet = ei.integrate_meters(["power"] * 5, t, p, method=method, on_invalid="gap")
    assert fleet.cumulative[[1, 3, 4]].tolist() == [1.0, 1.0, 3.0]
    assert fleet.rejected.reason.tolist() == ["invalid-power"]
    assert (fleet.gaps.start == t[1:2]).all()
    assert (fleet.gaps.end == t[3:4]).all()
    assert len(fleet.gaps) == 1
    out = ei.energy_by_interval(t, p, "1h", method=method, on_invalid="gap")
    assert np.cumsum(out.energy)[[0, 2, 3]].tolist() == [1.0, 1.0, 3.0]
    assert out.covered.tolist() == [1.0, 0.0, 0.0, 1.0, 0.0]
    assert (out.largest_gap[1:3] == 2 * HOUR).all()
    assert out.rejected.reason.tolist() == ["invalid-power"]


def test_home_assistant_outage_at_the_end_of_a_batch_carries_to_the_next() -> None:
    """The Home Assistant case, ``unavailable`` the last reading of its batch."""
    t = T0 + np.arange(5) * HOUR
    first = ei.integrate_meters(["power"] * 3, t[:3], [1.0, 1.0, np.nan], on_invalid="gap")
    assert first.states["power"].outage
    assert ei.CumulativeState.from_dict(first.states["power"].to_dict()).outage
    second = ei.integrate_meters(["power"] * 2, t[3:], [2.0, 2.0], states=first.states)
    assert second.cumulative.tolist() == [1.0, 3.0]
    assert not second.states["power"].outage
    assert len(second.gaps) == 1
