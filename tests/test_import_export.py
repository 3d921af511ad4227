"""Energy imported and exported: each interval split exactly where power crosses zero.

The reference is the integral of the positive and negative parts of the
strategy's power curve, written per interval of ``dt`` hours from ``p0`` to ``p1``:

* trapezoid (power linear in between): with both ends of one sign the whole
  trapezoid; across zero at :math:`f = p_0 / (p_0 - p_1)` the two triangles
  :math:`\\tfrac12 p_0 f\\,\\Delta t` and :math:`\\tfrac12 p_1 (1 - f)\\,\\Delta t`,
  i.e. :math:`\\tfrac{\\Delta t}{2}\\, p_0^2 / (p_0 - p_1)` on ``p0``'s side;
* left (power held at ``p0``) and right (power ``p1`` for the interval): one sign each.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from series_strategies import GAP, NS_PER_HOUR, as_datetime64, energy_scale, series

import energy_integral as ei

REL = 1e-12
T = np.array(
    ["2026-01-01T00:00", "2026-01-01T01:00", "2026-01-01T02:00", "2026-01-01T05:00"],
    dtype="datetime64[ns]",
)


def _positive_part(method: str, dt: float, p0: float, p1: float) -> float:
    """Energy of the interval's power above zero (power-unit hours)."""
    if method == "left":
        return max(p0, 0.0) * dt
    if method == "right":
        return max(p1, 0.0) * dt
    if p0 >= 0 and p1 >= 0:
        return (p0 + p1) / 2 * dt
    if p0 <= 0 and p1 <= 0:
        return 0.0
    high, low = (p0, p1) if p0 > 0 else (p1, p0)
    return dt / 2 * high * high / (high - low)


def reference(
    method: str,
    t: npt.NDArray[np.int64],
    p: npt.NDArray[np.float64],
    counted: npt.NDArray[np.bool_],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Imported and exported energy of the interval ending at each sample ``i >= 1``."""
    imported, exported = np.zeros(t.size), np.zeros(t.size)
    for i in range(1, t.size):
        if counted[i]:
            dt = (t[i] - t[i - 1]) / NS_PER_HOUR
            imported[i] = _positive_part(method, dt, p[i - 1], p[i])
            exported[i] = _positive_part(method, dt, -p[i - 1], -p[i])
    return imported, exported


@settings(max_examples=100)
@given(
    data=series(min_size=1, max_size=40),
    method=st.sampled_from(["trapezoid", "left", "right", "scipy"]),
    max_gap=st.sampled_from([None, GAP]),
    cut=st.integers(0, 40),
)
def test_matches_the_positive_and_negative_parts(
    data: tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]],
    method: str,
    max_gap: Any,
    cut: int,
) -> None:
    # The first `cut` samples become the incoming state; the rest is split.
    t, p = data
    cut = min(cut, t.size - 1)
    scale = energy_scale(t, p)
    counted = np.ones(t.size, dtype=bool)
    counted[0] = False
    if max_gap is not None:
        counted[1:] = np.diff(t) <= GAP.astype("timedelta64[ns]").astype(np.int64)
    imp, exp = reference("trapezoid" if method == "scipy" else method, t, p, counted)

    state = None
    if cut:
        state = ei.integrate(as_datetime64(t[:cut]), p[:cut], method=method, max_gap=max_gap).state
    split = ei.split_import_export(
        as_datetime64(t[cut:]), p[cut:], method=method, state=state, max_gap=max_gap
    )
    assert (split.imported >= 0).all()
    assert (split.exported >= 0).all()
    np.testing.assert_allclose(
        split.imported - split.exported, split.result.increments, rtol=REL, atol=REL * scale
    )
    np.testing.assert_allclose(split.imported, imp[cut:], rtol=REL, atol=REL * scale)
    np.testing.assert_allclose(split.exported, exp[cut:], rtol=REL, atol=REL * scale)
    assert split.total_imported == pytest.approx(imp[cut:].sum(), rel=REL, abs=REL * scale)
    # The integration is the plain one.
    plain = ei.integrate(
        as_datetime64(t[cut:]), p[cut:], method=method, state=state, max_gap=max_gap
    )
    np.testing.assert_array_equal(split.result.cumulative, plain.cumulative)
    assert split.result.state == plain.state


@pytest.mark.parametrize(
    ("method", "imported", "exported"),
    [
        # Line from +2 to -1 kW over 1 h crosses zero at f = 2 / 3 (40 min):
        # import ½·2·(2/3) = 2/3 kWh, export ½·1·(1/3) = 1/6 kWh; net ½·(2 - 1) = ½.
        ("trapezoid", 2 / 3, 1 / 6),
        ("scipy", 2 / 3, 1 / 6),
        # Left holds +2 kW for the hour, right takes -1 kW for it: no crossing inside.
        ("left", 2.0, 0.0),
        ("right", 0.0, 1.0),
    ],
)
def test_hand_worked_crossing(method: str, imported: float, exported: float) -> None:
    split = ei.split_import_export(T[:2], [2.0, -1.0], method=method)
    assert split.imported[0] == split.exported[0] == 0.0  # a series' first sample
    assert split.imported[1] == pytest.approx(imported, rel=1e-15)
    assert split.exported[1] == pytest.approx(exported, rel=1e-15)
    assert split.total_imported == pytest.approx(imported, rel=1e-15)
    assert split.total_exported == pytest.approx(exported, rel=1e-15)
    # Reversed in time-order of signs (-1 → +2): the trapezoid's parts swap sides, not sizes.
    back = ei.split_import_export(T[:2], [-1.0, 2.0], method=method)
    if method in ("trapezoid", "scipy"):
        assert back.total_imported == pytest.approx(2 / 3, rel=1e-15)
        assert back.total_exported == pytest.approx(1 / 6, rel=1e-15)


def test_crossing_bridged_from_the_state() -> None:
    # The state ends at +2 kW at 00:00; the batch's only sample is -1 kW at 01:00:
    # the same 2/3 kWh import and 1/6 kWh export, on the batch's first row.
    state = ei.integrate(T[:1], [2.0]).state
    split = ei.split_import_export(T[1:2], [-1.0], state=state)
    assert split.imported[0] == pytest.approx(2 / 3, rel=1e-15)
    assert split.exported[0] == pytest.approx(1 / 6, rel=1e-15)
    assert split.result.total == pytest.approx(0.5, rel=1e-15)


def test_gap_longer_than_max_gap_counts_neither_way() -> None:
    # 02:00 → 05:00 (3 h) from -4 to +4 kW is beyond max_gap=2h: nothing; the first hour
    # +2 → -1 kW counts as above, 01:00 → 02:00 from -1 to -4 kW exports ½·5 = 2.5 kWh.
    split = ei.split_import_export(T, [2.0, -1.0, -4.0, 4.0], max_gap="2h")
    np.testing.assert_allclose(split.imported, [0.0, 2 / 3, 0.0, 0.0], rtol=1e-15)
    np.testing.assert_allclose(split.exported, [0.0, 1 / 6, 2.5, 0.0], rtol=1e-15)
    assert len(split.result.gaps) == 1
    # Bridged from a state across a gap: nothing either.
    state = ei.integrate(T[:1], [2.0]).state
    far = ei.split_import_export(T[3:], [-1.0], state=state, max_gap="2h")
    assert far.imported.tolist() == far.exported.tolist() == [0.0]


def test_units() -> None:
    # 2000 W → -1000 W over 1 h: 2/3 kWh = 666.67 Wh in, 1/6 kWh = 0.6 MJ out.
    split = ei.split_import_export(T[:2], [2000.0, -1000.0], power_unit="W", energy_unit="Wh")
    assert split.total_imported == pytest.approx(2000 / 3, rel=1e-15)
    split = ei.split_import_export(T[:2], [2.0, -1.0], energy_unit="MJ")
    assert split.total_exported == pytest.approx(0.6, rel=1e-14)
    assert split.total_imported - split.total_exported == pytest.approx(1.8, rel=1e-14)


def test_touching_zero_is_not_a_crossing() -> None:
    # 0 → -2 kW over 1 h: all export, ½·2 = 1 kWh; -2 → 0 kW: 1 kWh more.
    split = ei.split_import_export(T[:3], [0.0, -2.0, 0.0])
    assert split.imported.tolist() == [0.0, 0.0, 0.0]
    assert split.exported.tolist() == [0.0, 1.0, 1.0]


def test_empty_series() -> None:
    split = ei.split_import_export(T[:0], [])
    assert split.imported.size == split.exported.size == 0
    assert split.total_imported == split.total_exported == 0.0
