"""Laws of energy_by_interval's window, extrapolation, bounds, outage and step options."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from series_strategies import GAP, NS_PER_HOUR, as_datetime64, energy_scale, series, split

import energy_integral as ei
from energy_integral.chunked import integrate_chunks
from energy_integral.filereader import Chunk

METHODS = st.sampled_from(["trapezoid", "left", "right", "scipy"])
EVERY = st.sampled_from(["15min", "1h", "1D"])
MINUTE = 60 * 10**9
COLUMNS = ("energy", "energy_min", "energy_max", "covered", "extrapolated")


def window_energy(
    t: npt.NDArray[np.int64], p: npt.NDArray[np.float64], method: str, lo: int, hi: int,
    max_gap_ns: int | None,
) -> float:  # fmt: skip
    """Energy inside [lo, hi] from the overlap of every interval with it, written from the
    definition: power linear inside an interval (trapezoid), or held at p0 / p1."""
    a, b, p0, p1 = t[:-1], t[1:], p[:-1], p[1:]
    left, right = np.maximum(a, lo), np.minimum(b, hi)
    inside = right > left
    if max_gap_ns is not None:
        inside &= (b - a) <= max_gap_ns
    if method in ("trapezoid", "scipy"):
        height = p0 + (p1 - p0) / (b - a) * ((left - a) + (right - a)) / 2
    else:
        height = p0 if method == "left" else p1
    return float(np.where(inside, height * (right - left), 0.0).sum() / NS_PER_HOUR)


@st.composite
def windows(draw: st.DrawFn, t: npt.NDArray[np.int64]) -> tuple[int, int]:
    """A window [lo, hi) somewhere around the series, reaching before and after it or not."""
    span = int(t[-1] - t[0]) + 4 * 3600 * 10**9
    lo = int(t[0]) + draw(st.integers(-span // 2, span))
    hi = lo + draw(st.integers(1, span))
    return lo, hi


@settings(max_examples=100, deadline=None)
@given(data=series(min_size=2, max_size=30), w=st.data(), every=EVERY, method=METHODS,
       gap=st.sampled_from([None, GAP]))  # fmt: skip
def test_buckets_add_up_to_the_energy_inside_the_window(
    data: tuple[Any, Any], w: st.DataObject, every: str, method: str, gap: Any
) -> None:
    t, p = data
    lo, hi = w.draw(windows(t))
    out = ei.energy_by_interval(
        as_datetime64(t), p, every, method=method, max_gap=gap, start=as_datetime64([lo])[0],
        end=as_datetime64([hi])[0],
    )  # fmt: skip
    gap_ns = None if gap is None else int(gap / np.timedelta64(1, "ns"))
    expected = window_energy(t, p, method, lo, hi, gap_ns)
    assert abs(out.total - expected) <= 1e-11 * energy_scale(t, p)
    assert out.samples.sum() == int(((t >= lo) & (t < hi)).sum())
    if len(out):  # the grid is the window's: from the bucket of lo to the bucket before hi
        assert out.start.view(np.int64)[0] <= lo < out.end.view(np.int64)[0]
        assert out.start.view(np.int64)[-1] < hi <= out.end.view(np.int64)[-1]
        assert (out.start[1:] == out.end[:-1]).all()
    assert (out.extrapolated == 0).all()


@settings(max_examples=100, deadline=None)
@given(data=series(min_size=1, max_size=30), before=st.integers(0, 3 * 24 * 60),
       after=st.integers(1, 3 * 24 * 60), every=EVERY, method=METHODS,
       gap=st.sampled_from([None, GAP]))  # fmt: skip
def test_a_window_around_the_data_only_adds_empty_buckets(
    data: tuple[Any, Any], before: int, after: int, every: str, method: str, gap: Any
) -> None:
    """With extrapolate=None a window changes nothing the data already had: every bucket
    of the plain call is in the windowed one, bit for bit, and the others are empty."""
    t, p = data
    plain = ei.energy_by_interval(as_datetime64(t), p, every, method=method, max_gap=gap)
    lo, hi = int(t[0]) - before * MINUTE, int(t[-1]) + after * MINUTE
    out = ei.energy_by_interval(
        as_datetime64(t), p, every, method=method, max_gap=gap,
        start=as_datetime64([lo])[0], end=as_datetime64([hi])[0],
    )  # fmt: skip
    where = np.searchsorted(out.start, plain.start)
    assert (out.start[where] == plain.start).all()
    for name in (*COLUMNS, "samples", "largest_gap"):
        assert getattr(out, name)[where].tolist() == getattr(plain, name).tolist(), name
    others = np.setdiff1d(np.arange(len(out)), where)
    assert (out.energy[others] == 0).all()
    assert (out.covered[others] == 0).all()
    assert np.isnan(out.mean_power[others]).all()
    assert out.state == plain.state


@settings(max_examples=150, deadline=None)
@given(data=series(min_size=1, max_size=30), w=st.data(), every=EVERY, method=METHODS,
       gap=st.sampled_from([None, GAP]), how=st.sampled_from([None, "locf", "linear"]))  # fmt: skip
def test_every_strategy_lies_between_the_bounds(
    data: tuple[Any, Any], w: st.DataObject, every: str, method: str, gap: Any,
    how: str | None,
) -> None:  # fmt: skip
    t, p = data
    lo, hi = w.draw(windows(t))
    out = ei.energy_by_interval(
        as_datetime64(t), p, every, method=method, max_gap=gap, start=as_datetime64([lo])[0],
        end=as_datetime64([hi])[0], extrapolate=how,
    )  # fmt: skip
    # A piece's energy is a difference of partial energies of its whole interval, so the
    # rounding scales with the whole intervals, extensions included, not with the piece.
    wide = ei.energy_by_interval(
        as_datetime64(t), p, every, method=method, max_gap=gap,
        start=as_datetime64([min(lo, int(t[0]))])[0],
        end=as_datetime64([max(hi, int(t[-1]) + 1)])[0], extrapolate=how,
    )  # fmt: skip
    whole = float(np.abs(wide.energy_max).sum() + np.abs(wide.energy_min).sum())
    scale = 1e-12 * (energy_scale(t, p) + whole)
    assert (out.energy_min <= out.energy + scale).all()
    assert (out.energy <= out.energy_max + scale).all()
    assert ((out.extrapolated >= 0) & (out.extrapolated <= out.covered + 1e-12)).all()
    covered = out.covered > 0
    np.testing.assert_allclose(
        out.mean_power[covered] * out.covered[covered]
        * ((out.end - out.start)[covered] / np.timedelta64(1, "h")),
        out.energy[covered], rtol=1e-9, atol=scale,
    )  # fmt: skip


@settings(max_examples=50, deadline=None)
@given(data=series(min_size=1, max_size=30), level=st.floats(-50, 50), every=EVERY,
       method=METHODS)  # fmt: skip
def test_constant_power_has_one_possible_energy(
    data: tuple[Any, Any], level: float, every: str, method: str
) -> None:
    t, _ = data
    p = np.full(t.size, level)
    out = ei.energy_by_interval(
        as_datetime64(t), p, every, method=method, end=as_datetime64([t[-1] + 3600 * 10**9])[0],
        extrapolate="linear",
    )  # fmt: skip
    tol = 1e-12 * energy_scale(t, p)
    np.testing.assert_allclose(out.energy_min, out.energy, rtol=0, atol=tol)
    np.testing.assert_allclose(out.energy_max, out.energy, rtol=0, atol=tol)
    covered = out.covered > 0
    hours = (out.covered * ((out.end - out.start) / np.timedelta64(1, "h")))[covered]
    # The mean is the level (up to the rounding of the energy in nearly empty buckets).
    np.testing.assert_allclose(out.mean_power[covered] * hours, level * hours, rtol=0, atol=tol)


@st.composite
def messy_series(draw: st.DrawFn) -> tuple[Any, Any]:
    """A series with steps (several readings of one time, each of another power) and
    invalid readings (NaN) among its rows, in time order (ties in delivery order)."""
    t, p = draw(series(min_size=2, max_size=25))
    steps = draw(st.lists(st.integers(0, t.size - 1), max_size=4))
    t = np.concatenate((t, t[steps]))
    p = np.concatenate((p, p[steps] + 1.0 + np.arange(len(steps))))
    nan_at = draw(st.lists(st.integers(0, t.size - 1), max_size=3))
    shift = np.array(draw(st.lists(st.integers(0, 90 * MINUTE), min_size=len(nan_at),
                                   max_size=len(nan_at))), dtype=np.int64)  # fmt: skip
    t = np.concatenate((t, t[nan_at] + shift))
    p = np.concatenate((p, np.full(len(nan_at), np.nan)))
    order = np.argsort(t, kind="stable")
    return t[order], p[order]


def _run_batches(
    t: Any, p: Any, cuts: list[int], windows: list[dict[str, Any]], **kwargs: Any
) -> ei.IntervalEnergy:
    state, outs = None, []
    for (bt, bp), window in zip(split([t, p], cuts), windows, strict=True):
        out = ei.energy_by_interval(as_datetime64(bt), bp, states=state, **window, **kwargs)
        outs.append(out)
        state = out.state
    return ei.IntervalEnergy.merge(outs)


def _assert_same_buckets(got: ei.IntervalEnergy, whole: ei.IntervalEnergy, scale: float) -> None:
    assert got.start.tolist() == whole.start.tolist()
    assert got.samples.tolist() == whole.samples.tolist()
    assert got.largest_gap.tolist() == whole.largest_gap.tolist()
    # Extensions round too, and a linear one reaches far past the readings' powers:
    # allow rounding relative to the largest energy the buckets can hold.
    scale = max(scale, float(np.abs(whole.energy_min).sum() + np.abs(whole.energy_max).sum()))
    for name in COLUMNS:
        np.testing.assert_allclose(
            getattr(got, name), getattr(whole, name), rtol=0, atol=1e-11 * scale, err_msg=name
        )
    assert isinstance(got.state, ei.CumulativeState)
    assert isinstance(whole.state, ei.CumulativeState)
    assert dataclasses.replace(got.state, energy=0.0) == dataclasses.replace(
        whole.state, energy=0.0
    )
    assert got.state.energy == pytest.approx(whole.state.energy, rel=1e-12, abs=1e-12 * scale)


@settings(max_examples=150, deadline=None)
@given(data=messy_series(), cut_data=st.data(), w=st.data(), every=EVERY, method=METHODS,
       gap=st.sampled_from([None, GAP]), how=st.sampled_from([None, "locf", "linear"]))  # fmt: skip
def test_a_batch_split_carrying_states_changes_no_bucket_with_every_option(
    data: tuple[Any, Any], cut_data: st.DataObject, w: st.DataObject, every: str, method: str,
    gap: Any, how: str | None,
) -> None:  # fmt: skip
    """Steps, outages, windows and extrapolation: batches carrying the state give the
    buckets of one call. Without extrapolation every batch takes the window; with it the
    window reaches past the data, the first batch extends back to ``start`` and the last
    forward to ``end`` (a batch cannot know it holds a series' last reading)."""
    t, p = data
    cuts = sorted(cut_data.draw(st.sets(st.integers(1, t.size - 1), max_size=4)))
    valid = ~np.isnan(p)
    # The backward line needs the series' first interval in the first batch, the forward
    # one a valid reading in the last.
    assume(valid[: (cuts or [t.size])[0]].sum() >= 2 and valid[(cuts or [0])[-1] :].any())
    if how is None:
        lo, hi = w.draw(windows(t))
    else:
        lo, hi = int(t[0]) - w.draw(st.integers(0, 600)) * MINUTE, int(t[-1]) + MINUTE
    window = {"start": as_datetime64([lo])[0], "end": as_datetime64([hi])[0]}
    parts = [{**window, "extrapolate": None} for _ in range(len(cuts) + 1)]
    if how is not None:
        parts = [{"extrapolate": None} for _ in range(len(cuts) + 1)]
        parts[0] = {"start": window["start"], "extrapolate": how}
        parts[-1] = {**parts[-1], "end": window["end"], "extrapolate": how}
    kwargs = {"every": every, "method": method, "max_gap": gap, "on_invalid": "gap",
              "on_duplicate": "step"}  # fmt: skip
    whole = ei.energy_by_interval(as_datetime64(t), p, **window, extrapolate=how, **kwargs)
    got = _run_batches(t, p, cuts, parts, **kwargs)
    finite = np.where(valid, p, 0.0)
    _assert_same_buckets(got, whole, energy_scale(t, finite))


@settings(max_examples=100, deadline=None)
@given(data=messy_series(), cut_data=st.data(), w=st.data(), every=EVERY, method=METHODS,
       gap=st.sampled_from([None, GAP]), how=st.sampled_from([None, "locf", "linear"]))  # fmt: skip
def test_chunks_of_a_stream_give_the_buckets_of_one_call(
    data: tuple[Any, Any], cut_data: st.DataObject, w: st.DataObject, every: str, method: str,
    gap: Any, how: str | None,
) -> None:  # fmt: skip
    """integrate_chunks extends each series once, after the last chunk, whatever the window."""
    t, p = data
    cuts = sorted(cut_data.draw(st.sets(st.integers(1, t.size - 1), max_size=4)))
    valid = ~np.isnan(p)
    lo, hi = w.draw(windows(t))
    window = {"start": as_datetime64([lo])[0], "end": as_datetime64([hi])[0]}
    kwargs = {"method": method, "max_gap": gap, "extrapolate": how, "on_invalid": "gap",
              "on_duplicate": "step", **window}  # fmt: skip
    whole = ei.energy_by_interval(as_datetime64(t), p, every, **kwargs)
    bounds = [0, *cuts, t.size]
    chunks = [
        Chunk(None, as_datetime64(t[a:b]), p[a:b], a, b / t.size)
        for a, b in itertools.pairwise(bounds)
    ]
    res = integrate_chunks(chunks, every=every, **kwargs)
    assert res.intervals is not None
    got = res.intervals
    finite = np.where(valid, p, 0.0)
    assert got.start.tolist() == whole.start.tolist()
    assert got.samples.tolist() == whole.samples.tolist()
    assert got.largest_gap.tolist() == whole.largest_gap.tolist()
    # As in _assert_same_buckets: rounding relative to the most energy the buckets can hold.
    reach = float(np.abs(whole.energy_min).sum() + np.abs(whole.energy_max).sum())
    for name in COLUMNS:
        np.testing.assert_allclose(
            getattr(got, name), getattr(whole, name), rtol=0,
            atol=1e-11 * max(energy_scale(t, finite), reach), err_msg=name,
        )  # fmt: skip
    assert res.rejected == ({"invalid-power": int((~valid).sum())} if (~valid).any() else {})


@settings(max_examples=100, deadline=None)
@given(data=series(min_size=1, max_size=30), before=st.integers(0, 600),
       after=st.integers(1, 600), every=EVERY, method=METHODS,
       gap=st.sampled_from([None, GAP]), how=st.sampled_from(["locf", "linear"]))  # fmt: skip
def test_the_extension_alone_completes_the_plain_buckets(
    data: tuple[Any, Any], before: int, after: int, every: str, method: str, gap: Any,
    how: str,
) -> None:  # fmt: skip
    t, p = data
    window = {"start": as_datetime64([int(t[0]) - before * MINUTE])[0],
              "end": as_datetime64([int(t[-1]) + after * MINUTE])[0]}  # fmt: skip
    kwargs = {"method": method, "max_gap": gap, **window}
    whole = ei.energy_by_interval(as_datetime64(t), p, every, extrapolate=how, **kwargs)
    plain = ei.energy_by_interval(as_datetime64(t), p, every, **kwargs)
    extra = ei.intervals.extrapolated_by_interval(
        as_datetime64(t), p, every, extrapolate=how, **kwargs
    )
    assert extra.samples.sum() == 0
    np.testing.assert_allclose(extra.covered, extra.extrapolated, rtol=0, atol=1e-15)
    _assert_same_buckets(ei.IntervalEnergy.merge([plain, extra]), whole, energy_scale(t, p))


def test_locf_holds_and_linear_extends_by_hand() -> None:
    t = np.datetime64("2026-01-01T00:00", "ns") + np.array([0, 60], "timedelta64[m]")
    end = t[0] + np.timedelta64(120, "m")
    held = ei.energy_by_interval(t, [1.0, 3.0], "1h", end=end, extrapolate="locf")
    line = ei.energy_by_interval(t, [1.0, 3.0], "1h", end=end, extrapolate="linear")
    assert held.energy.tolist() == [2.0, 3.0]  # 3 kW held for the second hour
    assert line.energy.tolist() == [2.0, 4.0]  # the line goes on to 5 kW: (3 + 5) / 2
    assert held.extrapolated.tolist() == [0.0, 1.0]
    assert (line.energy_min.tolist(), line.energy_max.tolist()) == ([1.0, 3.0], [3.0, 5.0])
    # max_gap limits an extension as it limits any interval.
    capped = ei.energy_by_interval(
        t, [1.0, 3.0], "1h", end=end, extrapolate="locf", max_gap="59min"
    )
    assert capped.energy.tolist() == [0.0, 0.0]
    assert capped.extrapolated.tolist() == [0.0, 0.0]
    assert (capped.largest_gap == np.timedelta64(60, "m")).all()
    single = ei.energy_by_interval(t[:1], [2.0], "1h", end=end, extrapolate="linear")
    assert single.energy.tolist() == [2.0, 2.0]  # one sample: held constant


def test_an_outage_left_open_stops_the_extension() -> None:
    t = np.datetime64("2026-01-01T00:00", "ns") + np.array([0, 60, 90], "timedelta64[m]")
    out = ei.energy_by_interval(
        t, [1.0, 1.0, np.nan], "1h", end=t[0] + np.timedelta64(120, "m"), extrapolate="locf",
        on_invalid="gap",
    )  # fmt: skip
    assert out.energy.tolist() == [1.0, 0.0]
    assert out.largest_gap[1] == np.timedelta64(60, "m")


def test_bad_window_and_policy_arguments_name_themselves() -> None:
    t = np.datetime64("2026-01-01T00:00", "ns") + np.array([0, 60], "timedelta64[m]")
    with pytest.raises(ValueError, match=r"end=.* must be after start="):
        ei.energy_by_interval(t, [1.0, 1.0], start=t[1], end=t[0])
    with pytest.raises(ValueError, match="needs start or end"):
        ei.energy_by_interval(t, [1.0, 1.0], extrapolate="locf")
    with pytest.raises(ValueError, match="extrapolate='spline'"):
        ei.energy_by_interval(t, [1.0, 1.0], end=t[1], extrapolate="spline")
    with pytest.raises(ValueError, match="on_duplicate='mean'"):
        ei.energy_by_interval(t, [1.0, 1.0], on_duplicate="mean")
    with pytest.raises(ValueError, match="on_invalid='skip'"):
        ei.energy_by_interval(t, [1.0, 1.0], on_invalid="skip")
    with pytest.raises(ValueError, match=r"start=.* is not a time"):
        ei.energy_by_interval(t, [1.0, 1.0], start=np.datetime64("NaT", "ns"))
