"""The contract of a :class:`~energy_integral.Strategy`, checked for every built-in.

One shared test class (parametrised by strategy name) pins what the engine
relies on: the rule is vectorised and element-wise, zero-length intervals hold
no energy, energy scales with the interval's length, a constant power ``P``
gives ``P·dt``, an interval's energy lies between ``min(p0, p1)·dt`` and
``max(p0, p1)·dt``, partial energy runs from 0 at the start to the whole
interval at the end, and a zero crossing (where reported) lies inside the
interval. :func:`check_strategy_contract` is reused for plug-ins.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import energy_integral as ei

BUILTINS = ("trapezoid", "left", "right", "scipy")
Floats = npt.NDArray[np.float64]

powers = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
durations = st.floats(0.0, 1e4, allow_nan=False, allow_infinity=False)


@st.composite
def intervals(draw: st.DrawFn, /, max_size: int = 20) -> tuple[Floats, Floats, Floats]:
    """Arrays ``(dt_hours, p0, p1)`` of one common length."""
    n = draw(st.integers(0, max_size))
    dt = draw(arrays(np.float64, n, elements=durations))
    p0 = draw(arrays(np.float64, n, elements=powers))
    p1 = draw(arrays(np.float64, n, elements=powers))
    return dt, p0, p1


def _tol(dt: Floats, p0: Floats, p1: Floats) -> Floats:
    """A few ulps of the largest energy an interval could hold."""
    return 1e-12 * np.maximum(np.abs(p0), np.abs(p1)) * dt + 1e-300


def _within(actual: Any, expected: Any, tol: Floats) -> None:
    """Element-wise ``|actual - expected| <= tol`` (tolerances differ per interval)."""
    diff = np.abs(np.asarray(actual) - np.asarray(expected))
    assert (diff <= tol).all(), f"off by {diff.max()} (tolerance {tol})"


def check_strategy_contract(strategy: ei.Strategy, dt: Floats, p0: Floats, p1: Floats) -> None:
    """Assert the contract on one batch of intervals (also used for plug-ins)."""
    energy = strategy.interval_energy(dt, p0, p1)
    assert isinstance(energy, np.ndarray)
    assert energy.dtype == np.float64
    assert energy.shape == dt.shape
    assert np.isfinite(energy).all()
    # Element-wise: each interval alone gives the same as in the batch.
    for i in range(dt.size):
        alone = strategy.interval_energy(dt[i : i + 1], p0[i : i + 1], p1[i : i + 1])
        assert alone[0] == pytest.approx(energy[i], rel=1e-15, abs=1e-300)
    tol = _tol(dt, p0, p1)
    lo = np.minimum(p0, p1) * dt
    hi = np.maximum(p0, p1) * dt
    assert (energy >= lo - tol).all()
    assert (energy <= hi + tol).all()
    # A zero-length interval holds nothing; doubling the length doubles the energy.
    np.testing.assert_array_equal(strategy.interval_energy(np.zeros_like(dt), p0, p1), 0.0)
    _within(strategy.interval_energy(2 * dt, p0, p1), 2 * energy, 2 * tol)
    # Constant power P for dt hours is P·dt.
    _within(strategy.interval_energy(dt, p0, p0), p0 * dt, tol)
    # Partial energy: 0 at the start, the whole interval at the end, bounded in between.
    zeros, ones = np.zeros_like(dt), np.ones_like(dt)
    _within(strategy.partial_energy(dt, p0, p1, zeros), 0.0, tol)
    _within(strategy.partial_energy(dt, p0, p1, ones), energy, tol)
    half = strategy.partial_energy(dt, p0, p1, 0.5 * ones)
    assert (half >= 0.5 * lo - tol).all()
    assert (half <= 0.5 * hi + tol).all()
    # A reported zero crossing lies within the interval, and only where the sign changes.
    f = strategy.zero_crossing(p0, p1)
    assert f.shape == p0.shape
    crossing = ~np.isnan(f)
    assert ((f[crossing] >= 0.0) & (f[crossing] <= 1.0)).all()
    assert (p0[crossing] * p1[crossing] <= 0.0).all()


@pytest.mark.parametrize("name", BUILTINS)
class TestStrategyContract:
    """The same contract for every built-in strategy."""

    def test_registered_under_its_name(self, name: str) -> None:
        strategy = ei.get_strategy(name)
        assert isinstance(strategy, ei.Strategy)
        assert strategy.name == name
        assert name in ei.available_strategies()
        assert ei.get_strategy(strategy) is strategy  # a Strategy passes through
        assert repr(strategy) == f"<{type(strategy).__name__} {name!r}>"

    def test_builtins_are_chunk_invariant(self, name: str) -> None:
        assert ei.get_strategy(name).chunk_invariant is True

    @given(data=intervals())
    def test_contract(self, name: str, data: Any) -> None:
        check_strategy_contract(ei.get_strategy(name), *data)

    def test_empty_arrays(self, name: str) -> None:
        empty = np.empty(0)
        assert ei.get_strategy(name).interval_energy(empty, empty, empty).shape == (0,)


@pytest.mark.parametrize(
    ("name", "expected"),
    # 30 minutes from 1 kW to 3 kW, by hand: mean 2 kW → 1.0; held 1 kW → 0.5; 3 kW → 1.5.
    [("trapezoid", 1.0), ("left", 0.5), ("right", 1.5), ("scipy", 1.0)],
)
def test_one_interval_by_hand(name: str, expected: float) -> None:
    strategy = ei.get_strategy(name)
    energy = strategy.interval_energy(np.array([0.5]), np.array([1.0]), np.array([3.0]))
    assert energy[0] == expected


def test_trapezoid_partial_energy_and_zero_crossing_by_hand() -> None:
    """From 4 kW to -2 kW over 3 h the line is 4 - 2t: zero at t = 2 h, i.e. f = 2/3.

    Energy to f·3 h is the integral of 4 - 2t from 0 to 3f = 12f - 9f²; at f = 2/3
    that is 8 - 4 = 4 kWh, and over the whole interval 12 - 9 = 3 kWh.
    """
    trap = ei.get_strategy("trapezoid")
    dt, p0, p1 = np.array([3.0]), np.array([4.0]), np.array([-2.0])
    f = trap.zero_crossing(p0, p1)
    assert f[0] == pytest.approx(2 / 3, rel=1e-15)
    for frac in (0.0, 0.25, 2 / 3, 1.0):
        expected = 12 * frac - 9 * frac**2
        got = trap.partial_energy(dt, p0, p1, np.array([frac]))[0]
        assert got == pytest.approx(expected, rel=1e-14, abs=1e-14)


@pytest.mark.parametrize("name", ["left", "right"])
def test_held_power_never_crosses_zero_inside_an_interval(name: str) -> None:
    """Power held constant within an interval changes sign only at a sample."""
    f = ei.get_strategy(name).zero_crossing(np.array([4.0, -1.0]), np.array([-2.0, 3.0]))
    assert np.isnan(f).all()


class _Plugin(ei.Strategy):
    """A plug-in that implements only interval_energy: the defaults do the rest."""

    name = "plugin-mean"

    def interval_energy(self, dt: Floats, p0: Floats, p1: Floats) -> Floats:
        return np.asarray((p0 + p1) / 2 * dt, dtype=np.float64)


@given(batch=intervals(), cuts=st.lists(st.integers(0, 19), max_size=4), data=st.data())
@pytest.mark.parametrize("name", [*BUILTINS, "plugin"])
def test_series_energy_is_interval_energy_on_the_shifted_samples_bit_for_bit(
    name: str, batch: tuple[Floats, Floats, Floats], cuts: list[int], data: st.DataObject
) -> None:
    """The engine's layout (series back to back, p0 the previous sample or a series' first
    p0): reading the shifted samples in place gives the bits of building p0 first."""
    dt, _, p = batch
    n = dt.size
    starts = np.unique(np.array([0, *cuts], dtype=np.intp)) if n else np.empty(0, np.intp)
    starts = starts[starts < n]
    first_p0 = data.draw(arrays(np.float64, starts.size, elements=powers))
    strategy = _Plugin() if name == "plugin" else ei.get_strategy(name)
    p0 = np.empty_like(p)
    p0[1:] = p[:-1]
    p0[starts] = first_p0
    want = strategy.interval_energy_scratch(dt, p0.copy(), p.copy())
    got = strategy.series_energy(dt, p.copy(), first_p0, starts)
    assert np.array_equal(got, want)
