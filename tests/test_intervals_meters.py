"""Energy per bucket for many meters at once equals it meter by meter, in any batching."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from series_strategies import GAP, as_datetime64, energy_scale, series

import energy_integral as ei
from energy_integral.errors import OrderError

MINUTE = 60 * 10**9


@st.composite
def fleets(draw: st.DrawFn) -> tuple[Any, Any, Any]:
    """Rows of 1-3 meters in one time-ordered (hence interleaved) batch."""
    names = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3, unique=True))
    parts = [draw(series(min_size=1, max_size=20)) for _ in names]
    meter = np.concatenate([[m] * t.size for m, (t, _) in zip(names, parts, strict=True)])
    t = np.concatenate([t for t, _ in parts])
    p = np.concatenate([p for _, p in parts])
    order = np.argsort(t, kind="stable")
    return meter[order], t[order], p[order]


def by_hand(outs: list[ei.IntervalEnergy]) -> pd.DataFrame:
    """Merge per-batch outputs: sum per (meter, start), the largest gap is the largest."""
    frame = pd.concat([o.to_pandas() for o in outs])
    return (
        frame.groupby(["meter", "start"])
        .agg(
            energy=("energy", "sum"),
            samples=("samples", "sum"),
            covered=("covered", "sum"),
            largest_gap=("largest_gap", "max"),
        )
        .reset_index()
    )


@settings(max_examples=60)
@given(
    fleet=fleets(),
    every=st.sampled_from(["15min", "1h", "1D"]),
    method=st.sampled_from(["trapezoid", "left", "right"]),
    gap=st.sampled_from([None, GAP]),
)
def test_many_meters_equal_each_meter_alone(
    fleet: tuple[Any, Any, Any], every: str, method: str, gap: Any
) -> None:
    meter, t, p = fleet
    kwargs: dict[str, Any] = {"method": method, "max_gap": gap, "tz": "Europe/Berlin"}
    out = ei.energy_by_interval(as_datetime64(t), p, every, meter_ids=meter, **kwargs)
    assert out.meter is not None
    for m in np.unique(meter):
        mine = meter == m
        alone = ei.energy_by_interval(as_datetime64(t[mine]), p[mine], every, **kwargs)
        rows = out.meter == m
        assert out.start[rows].tolist() == alone.start.tolist()
        assert out.samples[rows].tolist() == alone.samples.tolist()
        assert out.largest_gap[rows].tolist() == alone.largest_gap.tolist()
        np.testing.assert_array_equal(out.covered[rows], alone.covered)
        scale = energy_scale(t[mine], p[mine])
        np.testing.assert_allclose(out.energy[rows], alone.energy, rtol=0, atol=1e-12 * scale)


@settings(max_examples=60)
@given(fleet=fleets(), cuts=st.data(), every=st.sampled_from(["15min", "1h"]))
def test_batches_of_a_fleet_merge_into_the_whole(
    fleet: tuple[Any, Any, Any], cuts: st.DataObject, every: str
) -> None:
    meter, t, p = fleet
    n = t.size
    where = sorted(cuts.draw(st.sets(st.integers(1, max(n - 1, 1)), max_size=4)))
    where = [c for c in where if c < n]
    kwargs: dict[str, Any] = {"every": every, "max_gap": GAP}
    whole = by_hand([ei.energy_by_interval(as_datetime64(t), p, meter_ids=meter, **kwargs)])
    states: Any = None
    outs = []
    for rows in np.split(np.arange(n), where):
        out = ei.energy_by_interval(
            as_datetime64(t[rows]), p[rows], meter_ids=meter[rows], states=states, **kwargs
        )
        outs.append(out)
        states = out.state
    merged = by_hand(outs)
    for column in ("meter", "start", "samples", "largest_gap"):
        assert merged[column].tolist() == whole[column].tolist()
    scale = energy_scale(np.sort(t), p)
    np.testing.assert_allclose(merged["energy"], whole["energy"], rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(merged["covered"], whole["covered"], rtol=0, atol=1e-12)
    again = ei.IntervalEnergy.merge(outs)
    assert again.meter is not None
    assert again.meter.tolist() == merged["meter"].tolist()
    np.testing.assert_allclose(again.energy, merged["energy"], rtol=0, atol=1e-12 * scale)
    total = ei.integrate_meters(meter, as_datetime64(t), p, max_gap=GAP).total
    assert abs(merged["energy"].sum() - total) <= 1e-12 * scale


def test_each_meter_spans_only_its_own_buckets() -> None:
    start = np.datetime64("2026-01-01T00:00", "ns")
    t = start + np.array([0, 60, 150, 180], dtype="timedelta64[m]")
    out = ei.energy_by_interval(t, [1.0, 1.0, 2.0, 2.0], "1h", meter_ids=["a", "a", "b", "b"])
    assert out.meter is not None
    assert out.meter.tolist() == ["a", "a", "b", "b"]
    hours = (out.start - start).astype("timedelta64[h]").astype(int).tolist()
    assert hours == [0, 1, 2, 3]
    np.testing.assert_allclose(out.energy, [1.0, 0.0, 1.0, 0.0])
    assert "meter" in out.to_pandas().columns


def test_a_redelivered_last_sample_is_skipped_not_counted() -> None:
    t = np.datetime64("2026-01-01T00:00", "ns") + np.array([0, 30], dtype="timedelta64[m]")
    first = ei.energy_by_interval(t[:1], [4.0], "15min", meter_ids=["m"])
    again = ei.energy_by_interval(t, [4.0, 4.0], "15min", meter_ids=["m", "m"], states=first.state)
    assert again.samples.tolist() == [0, 0, 1]
    np.testing.assert_allclose(again.energy, [1.0, 1.0, 0.0])


def test_bad_rows_raise_instead_of_vanishing() -> None:
    t = np.datetime64("2026-01-01T00:00", "ns") + np.array([0, 30], dtype="timedelta64[m]")
    with pytest.raises(ei.InvalidSampleError, match="power"):
        ei.energy_by_interval(t, [1.0, np.nan], "15min", meter_ids=["m", "m"])
    with pytest.raises(OrderError, match="duplicates"):
        ei.energy_by_interval(t[[0, 0]], [1.0, 2.0], "15min", meter_ids=["m", "m"])
    with pytest.raises(TypeError, match="mapping"):
        ei.energy_by_interval(t, [1.0, 1.0], meter_ids=["m", "m"], states=ei.CumulativeState())
