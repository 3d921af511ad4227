"""Ten million irregular samples over a year, against an exact rational reference.

Power is piecewise linear (for ``trapezoid``) or piecewise constant (for
``left``) between 1 000 breakpoints that are themselves samples, so the rule is
exact on every segment and the only error is float rounding. The reference is
summed with :class:`fractions.Fraction` over the breakpoints alone: for a line
from ``(T_a, v_a)`` to ``(T_b, v_b)`` the energy is ``(v_a + v_b)/2 · (T_b - T_a)``,
for a held value ``v_a · (T_b - T_a)``. The series is fed in ten batches of a
million samples, carrying the state, so the process stays near 300 MB.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import numpy.typing as npt
import pytest

import energy_integral as ei

N = 10_000_000
SEGMENT = 10_000  # samples per piece of the profile
BATCH = 1_000_000
NS_PER_HOUR = 3_600_000_000_000
YEAR_NS = 365 * 24 * NS_PER_HOUR
START = np.datetime64("2026-01-01T00:00:00", "ns")


@pytest.fixture(scope="module")
def profile() -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.intp]]:
    """Sample times (ns from START), breakpoint values, and breakpoint sample indices."""
    rng = np.random.default_rng(20260101)
    mean_step = YEAR_NS // (N - 1)
    steps = rng.integers(mean_step // 3, 2 * mean_step - mean_step // 3, size=N - 1)
    t = np.concatenate(([0], np.cumsum(steps)))
    assert 0.99 * YEAR_NS < t[-1] < 1.01 * YEAR_NS
    bp_idx = np.append(np.arange(0, N, SEGMENT), N - 1)
    # Values on a 1/64 kW grid (exact in binary), imports and some exports.
    bp_val = np.round(rng.uniform(-50.0, 500.0, size=bp_idx.size) * 64) / 64
    return t, bp_val, bp_idx


def _integrate_in_batches(
    method: str, t: npt.NDArray[np.int64], p: npt.NDArray[np.float64]
) -> float:
    state = None
    for lo in range(0, N, BATCH):
        stamps = START + t[lo : lo + BATCH].astype("timedelta64[ns]")
        state = ei.integrate(stamps, p[lo : lo + BATCH], method=method, state=state).state
    assert state is not None
    assert state.count == N
    return state.energy


def test_piecewise_linear_year_with_trapezoid(
    profile: tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.intp]],
) -> None:
    t, bp_val, bp_idx = profile
    # Linear interpolation between breakpoints, positions from exact int64 offsets.
    p = np.empty(N)
    for k in range(bp_idx.size - 1):
        a, b = bp_idx[k], bp_idx[k + 1]
        frac = (t[a : b + 1] - t[a]) / (t[b] - t[a])
        p[a : b + 1] = bp_val[k] + (bp_val[k + 1] - bp_val[k]) * frac
    np.testing.assert_array_equal(p[bp_idx], bp_val)  # breakpoints are hit exactly

    t_bp = [int(x) for x in t[bp_idx]]
    v_bp = [Fraction(float(v)) for v in bp_val]
    exact = sum(
        (v_bp[k] + v_bp[k + 1]) / 2 * (t_bp[k + 1] - t_bp[k]) for k in range(len(t_bp) - 1)
    ) / Fraction(NS_PER_HOUR)

    total = _integrate_in_batches("trapezoid", t, p)
    assert abs(Fraction(total) - exact) <= Fraction(1, 10**9) * abs(exact)


def test_step_profile_year_with_left(
    profile: tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.intp]],
) -> None:
    t, bp_val, bp_idx = profile
    # Each breakpoint's value is held until the next breakpoint.
    p = np.repeat(bp_val[:-1], np.diff(bp_idx))
    p = np.append(p, bp_val[-1])

    t_bp = [int(x) for x in t[bp_idx]]
    v_bp = [Fraction(float(v)) for v in bp_val]
    exact = sum(v_bp[k] * (t_bp[k + 1] - t_bp[k]) for k in range(len(t_bp) - 1)) / Fraction(
        NS_PER_HOUR
    )

    total = _integrate_in_batches("left", t, p)
    assert abs(Fraction(total) - exact) <= Fraction(1, 10**9) * abs(exact)
