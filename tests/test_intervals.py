"""Energy per bucket: exact at edges, adds up to the total, and blind to batch boundaries."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from series_strategies import GAP, NS_PER_HOUR, as_datetime64, energy_scale, series, split

import energy_integral as ei
from energy_integral.errors import OrderError

MINUTE = 60 * 10**9
EVERY = st.sampled_from([("7min", 7 * MINUTE), ("15min", 15 * MINUTE), ("1h", 60 * MINUTE)])
METHODS = st.sampled_from(["trapezoid", "left", "right", "scipy"])


def minutes(*values: float) -> npt.NDArray[np.datetime64]:
    """Times at the given minutes after 2026-01-01T00:00Z."""
    start = np.datetime64("2026-01-01T00:00", "ns")
    return start + (np.asarray(values) * MINUTE).astype("timedelta64[ns]")


def reference(
    t: npt.NDArray[np.int64], p: npt.NDArray[np.float64], step: int, method: str
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Bucket starts and energies (power-unit hours) from the overlap of every interval with
    every bucket: power is linear inside an interval (trapezoid), or held at p0 (left) or p1
    (right). Written from the definition, without the library's fractions or partial energy."""
    starts = np.arange(t[0] - t[0] % step, t[-1] + 1, step)
    a, b, p0, p1 = t[:-1, None], t[1:, None], p[:-1, None], p[1:, None]
    lo = np.maximum(a, starts[None, :])
    hi = np.minimum(b, starts[None, :] + step)
    inside = hi > lo
    if method in ("trapezoid", "scipy"):
        slope = (p1 - p0) / (b - a)
        height = p0 + slope * ((lo - a) + (hi - a)) / 2  # power at the middle of the overlap
    else:
        height = np.broadcast_to(p0 if method == "left" else p1, inside.shape)
    energy = np.where(inside, height * (hi - lo), 0.0).sum(axis=0) / NS_PER_HOUR
    return starts, energy


@settings(max_examples=100)
@given(data=series(min_size=2, max_size=30), every=EVERY, method=METHODS)
def test_each_bucket_matches_the_power_curve_integrated_by_hand(
    data: tuple[Any, Any], every: tuple[str, int], method: str
) -> None:
    t, p = data
    out = ei.energy_by_interval(as_datetime64(t), p, every[0], method=method)
    starts, expected = reference(t, p, every[1], method)
    assert out.start.view(np.int64).tolist() == starts.tolist()
    np.testing.assert_allclose(out.energy, expected, rtol=0, atol=1e-11 * energy_scale(t, p))
    assert (out.end - out.start == np.timedelta64(every[1], "ns")).all()


@settings(max_examples=100)
@given(
    data=series(min_size=1, max_size=40),
    every=st.sampled_from(["15min", "1h", "1D"]),
    method=METHODS,
    gap=st.sampled_from([None, GAP]),
    tz=st.sampled_from([None, "Europe/Berlin", "America/St_Johns"]),
)
def test_buckets_add_up_to_the_integrated_total(
    data: tuple[Any, Any], every: str, method: str, gap: Any, tz: str | None
) -> None:
    t, p = data
    out = ei.energy_by_interval(as_datetime64(t), p, every, method=method, max_gap=gap, tz=tz)
    total = ei.integrate(as_datetime64(t), p, method=method, max_gap=gap).total
    assert abs(out.total - total) <= 1e-12 * energy_scale(t, p)
    assert out.samples.sum() == t.size
    assert (out.start[1:] == out.end[:-1]).all()  # no silent holes
    assert ((out.covered >= 0) & (out.covered <= 1 + 1e-12)).all()
    assert out.state == ei.integrate(as_datetime64(t), p, method=method, max_gap=gap).state


def run_in_batches(
    t: Any, p: Any, cuts: list[int], **kwargs: Any
) -> tuple[list[ei.IntervalEnergy], ei.CumulativeState | None]:
    state = None
    outs = []
    for bt, bp in split([t, p], cuts):
        out = ei.energy_by_interval(as_datetime64(bt), bp, states=state, **kwargs)
        outs.append(out)
        state = out.state
    return outs, state


@settings(max_examples=100)
@given(
    data=series(min_size=1, max_size=40),
    cuts=st.data(),
    every=st.sampled_from(["15min", "1h", "1D"]),
    method=METHODS,
    gap=st.sampled_from([None, GAP]),
)
def test_a_batch_boundary_never_moves_energy_between_buckets(
    data: tuple[Any, Any], cuts: st.DataObject, every: str, method: str, gap: Any
) -> None:
    t, p = data
    where = sorted(cuts.draw(st.sets(st.integers(1, max(t.size - 1, 1)), max_size=5)))
    where = [c for c in where if c < t.size]
    kwargs = {"every": every, "method": method, "max_gap": gap, "tz": "Europe/Berlin"}
    whole = ei.energy_by_interval(as_datetime64(t), p, **kwargs).to_pandas()
    outs, _ = run_in_batches(t, p, where, **kwargs)
    # Merge by hand: sum per bucket start, the largest gap is the largest.
    parts = [o.to_pandas() for o in outs]
    import pandas as pd

    merged = (
        pd.concat(parts)
        .groupby("start")
        .agg(
            end=("end", "first"),
            energy=("energy", "sum"),
            samples=("samples", "sum"),
            covered=("covered", "sum"),
            largest_gap=("largest_gap", "max"),
        )
        .reset_index()
    )
    assert merged["start"].tolist() == whole["start"].tolist()
    assert merged["end"].tolist() == whole["end"].tolist()
    assert merged["samples"].tolist() == whole["samples"].tolist()
    assert merged["largest_gap"].tolist() == whole["largest_gap"].tolist()
    scale = energy_scale(t, p)
    np.testing.assert_allclose(merged["energy"], whole["energy"], rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(merged["covered"], whole["covered"], rtol=0, atol=1e-12)
    # The library's merge agrees with the hand-made one.
    again = ei.IntervalEnergy.merge(outs).to_pandas()
    assert again["start"].tolist() == whole["start"].tolist()
    np.testing.assert_allclose(again["energy"], merged["energy"], rtol=0, atol=1e-12 * scale)


def test_constant_power_gives_23_and_25_kwh_on_berlin_dst_days() -> None:
    t = np.arange(
        np.datetime64("2026-03-27T00:00", "ns"),
        np.datetime64("2026-11-01T00:00", "ns"),
        np.timedelta64(10, "m"),
    )
    out = ei.energy_by_interval(t, np.ones(t.size), "1D", tz="Europe/Berlin")
    day = {str(s.astype("datetime64[m]")): e for s, e in zip(out.start, out.energy, strict=True)}
    assert day["2026-03-28T23:00"] == pytest.approx(23.0, rel=1e-12)  # 2026-03-29 local
    assert day["2026-10-24T22:00"] == pytest.approx(25.0, rel=1e-12)  # 2026-10-25 local
    assert day["2026-06-14T22:00"] == pytest.approx(24.0, rel=1e-12)
    full_days = out.energy[1:-1]
    assert set(np.round(full_days, 9)) == {23.0, 24.0, 25.0}


def test_a_two_hour_hole_shows_in_exactly_the_buckets_it_overlaps() -> None:
    # 1 kW every minute 08:00-10:30 and 12:30-14:00, nothing in between.
    t = minutes(*range(8 * 60, 10 * 60 + 31), *range(12 * 60 + 30, 14 * 60 + 1))
    out = ei.energy_by_interval(t, np.ones(t.size), "1h", max_gap="5min")
    hours = out.start.astype("datetime64[h]").astype(np.int64) % 24
    assert hours.tolist() == [8, 9, 10, 11, 12, 13, 14]
    np.testing.assert_allclose(out.covered, [1, 1, 0.5, 0, 0.5, 1, 0])
    np.testing.assert_allclose(out.energy, [1, 1, 0.5, 0, 0.5, 1, 0])
    two_hours = np.timedelta64(2, "h")
    assert (out.largest_gap == two_hours).tolist() == [0, 0, 1, 1, 1, 0, 0]
    assert (out.largest_gap[[0, 1, 5, 6]] == np.timedelta64(0)).all()
    assert out.samples.tolist() == [60, 60, 31, 0, 30, 60, 1]


def test_a_long_bridge_from_the_state_lands_in_every_bucket_it_spans() -> None:
    first = ei.integrate(minutes(0, 10), [2.0, 2.0])
    out = ei.energy_by_interval(minutes(190), [2.0], "1h", states=first.state)
    # 00:10 -> 03:10 at 2 kW: 50 min, 60, 60, 10 min in four hourly buckets.
    np.testing.assert_allclose(out.energy, np.array([50, 60, 60, 10]) * 2 / 60)
    assert out.samples.tolist() == [0, 0, 0, 1]
    np.testing.assert_allclose(out.covered, [50 / 60, 1, 1, 10 / 60])
    assert out.state is not None
    assert out.state.energy == pytest.approx(first.state.energy + 6.0)


def test_trapezoid_splits_an_interval_at_the_interpolated_power() -> None:
    # 0 kW at 00:00 rising linearly to 4 kW at 01:00, in 15-minute buckets:
    # power at the edges is 1, 2, 3 kW, so the buckets hold (0+1)/2, (1+2)/2, ... x 0.25 h.
    out = ei.energy_by_interval(minutes(0, 60), [0.0, 4.0], "15min")
    np.testing.assert_allclose(out.energy, [0.125, 0.375, 0.625, 0.875, 0.0])
    left = ei.energy_by_interval(minutes(0, 60), [0.0, 4.0], "15min", method="left")
    right = ei.energy_by_interval(minutes(0, 60), [0.0, 4.0], "15min", method="right")
    np.testing.assert_allclose(left.energy, [0, 0, 0, 0, 0])
    np.testing.assert_allclose(right.energy, [1, 1, 1, 1, 0])


def test_units_scale_the_energy() -> None:
    out = ei.energy_by_interval(minutes(0, 60), [500.0, 500.0], "1h", power_unit="W")
    assert out.energy.tolist() == [0.5, 0.0]
    assert out.energy_unit == "kWh"


def test_empty_input_gives_no_buckets() -> None:
    out = ei.energy_by_interval(minutes(), [], "1h")
    assert len(out) == 0
    assert list(out.to_pandas().columns) == [
        "start",
        "end",
        "energy",
        "energy_min",
        "energy_max",
        "mean_power",
        "samples",
        "covered",
        "extrapolated",
        "largest_gap",
    ]


def test_to_pandas_has_utc_edges() -> None:
    frame = ei.energy_by_interval(minutes(0, 30), [1.0, 1.0], "15min").to_pandas()
    assert str(frame["start"].dt.tz) == "UTC"
    assert frame["energy"].tolist() == [0.25, 0.25, 0.0]


def test_bad_arguments_name_themselves() -> None:
    t = minutes(0, 15)
    with pytest.raises(ValueError, match="every='often'"):
        ei.energy_by_interval(t, [1.0, 1.0], "often")
    with pytest.raises(ValueError, match="tz="):
        ei.energy_by_interval(t, [1.0, 1.0], "1h", tz="Berlin")
    with pytest.raises(TypeError, match="meter_ids"):
        ei.energy_by_interval(t, [1.0, 1.0], states={"a": ei.CumulativeState()})
    with pytest.raises(OrderError, match="strictly increasing"):
        ei.energy_by_interval(minutes(15, 0), [1.0, 1.0])
    with pytest.raises(ValueError, match="same length"):
        ei.energy_by_interval(t, [1.0])
