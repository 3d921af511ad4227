"""Time differences never wrap: saturating int64 subtraction and exact hours beyond it."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import energy_integral as ei
from energy_integral._kernel import SATURATED, subtract_saturating

INT64 = st.integers(-(2**63) + 1, 2**63 - 1)  # NaT (the minimum) is never a time


@given(pairs=st.lists(st.tuples(INT64, INT64), min_size=1, max_size=50))
def test_subtract_saturating_is_the_exact_difference_clipped(pairs: list[tuple[int, int]]) -> None:
    a = np.array([x for x, _ in pairs], dtype=np.int64)
    b = np.array([y for _, y in pairs], dtype=np.int64)
    expected = [max(-SATURATED, min(SATURATED, x - y)) for x, y in pairs]
    assert subtract_saturating(a, b).tolist() == expected


@given(
    first=st.integers(-(2**63) + 1, -(2**62)),
    second=st.integers(2**62, 2**63 - 1),
    p=st.floats(-10, 10),
)
def test_energy_across_centuries_is_power_times_the_exact_hours(
    first: int, second: int, p: float
) -> None:
    """Two samples further apart than int64 ns hold: the energy is p * hours, computed from
    Python ints (exact), never from a wrapped difference."""
    t = np.array([first, second], dtype=np.int64).view("datetime64[ns]")
    hours = (second - first) / 3.6e12
    got = ei.integrate(t, [p, p]).total
    assert np.isclose(got, p * hours, rtol=1e-12, atol=1e-300)
    assert ei.integrate(t, [p, p], max_gap="1D").total == 0.0
    meters = ei.integrate_meters(["m", "m"], t, [p, p])
    assert meters.total == got
