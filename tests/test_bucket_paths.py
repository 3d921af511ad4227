"""The two ways buckets add up intervals give one answer.

Most intervals lie inside one bucket or cross one edge, and
:func:`~energy_integral._buckets.bucketize` adds those up straight from the
samples, block by block; the rest it cuts the general way. Cutting *every*
interval the general way (the path extrapolated stretches take) must give the
same buckets, whatever the block size, the grid (even, or a local calendar),
the gaps, outages and window.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from energy_integral import _buckets, _near_buckets
from energy_integral._buckets import Samples, bucketize, intervals
from energy_integral.calendar import bucket_edges
from energy_integral.registry import get_strategy

SECOND = 10**9
BASE = 1_767_225_600 * SECOND  # 2026-01-01T00:00Z: on every edge of the grids below
# Steps that land on edges, just before and after them, inside one bucket, across several.
STEPS = st.sampled_from([0, 1, 60, 299, 300, 301, 450, 899, 900, 901, 3600, 7200, 90_000])
POWERS = st.sampled_from([0.0, 1.0, -2.5, 3.25, 1e6, -7e-3])


@st.composite
def batches(draw: st.DrawFn) -> tuple[Samples, str, Any]:
    """Samples of a few series, each in time order, with the engine's interval energies."""
    method = draw(st.sampled_from(["trapezoid", "left", "right"]))
    strategy = get_strategy(method)
    ts, ps, starts, bridge_t, bridge_p = [], [], [], [], []
    for _ in range(draw(st.integers(1, 4))):
        starts.append(len(ts))
        t = BASE + draw(st.integers(-3600, 3600)) * SECOND
        bridge_t.append(t - draw(STEPS) * SECOND)
        bridge_p.append(draw(POWERS))
        for step in draw(st.lists(STEPS, min_size=1, max_size=14)):
            t += step * SECOND
            ts.append(t)
            ps.append(draw(POWERS))
    t_arr, p_arr = np.array(ts, dtype=np.int64), np.array(ps)
    start_arr = np.array(starts, dtype=np.intp)
    bridged = np.array(draw(st.lists(st.booleans(), min_size=len(starts), max_size=len(starts))))
    before_t = np.append(t_arr[:1], t_arr[:-1])
    before_p = np.append(p_arr[:1], p_arr[:-1])
    before_t[start_arr], before_p[start_arr] = np.array(bridge_t), np.array(bridge_p)
    hours = (t_arr - before_t) / 3.6e12
    increments = np.asarray(strategy.interval_energy(hours, before_p, p_arr), dtype=np.float64)
    increments[start_arr[~bridged]] = 0.0
    max_gap = draw(st.sampled_from([None, 900 * SECOND, 3600 * SECOND]))
    outage = None
    if draw(st.booleans()):
        outage = np.array(draw(st.lists(st.booleans(), min_size=t_arr.size, max_size=t_arr.size)))
    samples = Samples(
        t_arr, p_arr, increments, start_arr, np.array(bridge_t), np.array(bridge_p), bridged,
        max_gap, outage,
    )  # fmt: skip
    return samples, method, draw(st.sampled_from([("15min", None), ("1h", None),
                                                  ("1d", "Europe/Berlin")]))  # fmt: skip


def _count(
    samples: Samples, buckets: _buckets.Buckets, edges: npt.NDArray[np.int64], window: Any
) -> list[int]:
    """Each row's samples, from the definition: the series' times inside its bucket."""
    ends = np.append(samples.starts[1:], samples.ts.size)
    counts = []
    for s, k in zip(buckets.series.tolist(), buckets.bucket.tolist(), strict=True):
        t = samples.ts[samples.starts[s] : ends[s]]
        inside = (t >= max(edges[k], window[0])) & (t < min(edges[k + 1], window[1]))
        counts.append(int(inside.sum()))
    return counts


@settings(max_examples=300, deadline=None)
@given(batch=batches(), block=st.sampled_from([1, 2, 5, 1 << 15]), windowed=st.booleans(),
       data=st.data())  # fmt: skip
def test_adding_up_from_the_samples_equals_cutting_every_interval(
    batch: tuple[Samples, str, Any], block: int, windowed: bool, data: st.DataObject
) -> None:
    samples, method, (every, tz) = batch
    ts, starts = samples.ts, samples.starts
    span_lo = np.where(samples.bridged, samples.bridge_t, ts[starts])
    span_hi = ts[np.append(starts[1:], ts.size) - 1]
    window = (int(np.iinfo(np.int64).min), int(np.iinfo(np.int64).max))
    if windowed:
        lo = data.draw(st.sampled_from(ts.tolist())) - data.draw(st.sampled_from([0, 1, 450]))
        hi = lo + data.draw(st.sampled_from([1, 900, 5400, 86_400])) * SECOND
        window = (lo, hi)
        span_lo, span_hi = np.full(starts.size, lo), np.full(starts.size, hi - 1)
    edges = bucket_edges(int(span_lo.min()), int(span_hi.max()), every, tz)
    strategy = get_strategy(method)
    with mock.patch.object(_near_buckets, "_BLOCK", block):
        got = bucketize(samples, None, span_lo, span_hi, edges, strategy, 1.0, window)
    general = bucketize(None, intervals(samples), span_lo, span_hi, edges, strategy, 1.0, window)
    assert got.series.tolist() == general.series.tolist()
    assert got.bucket.tolist() == general.bucket.tolist()
    scale = max(1.0, float(np.abs(general.energy_max).max(initial=0.0)))
    for name in ("energy", "energy_min", "energy_max"):
        np.testing.assert_allclose(getattr(got, name), getattr(general, name), rtol=1e-12,
                                   atol=1e-12 * scale, err_msg=name)  # fmt: skip
    np.testing.assert_allclose(got.covered, general.covered, rtol=1e-12, atol=1e-15)
    assert got.largest_gap.tolist() == general.largest_gap.tolist()
    assert got.extrapolated.tolist() == [0.0] * len(got.extrapolated)
    assert got.samples.tolist() == _count(samples, got, edges, window)


def test_steps_of_zero_seconds_on_the_first_edge_add_nothing() -> None:
    # Repeats on the first edge end their 0 s intervals "in the bucket before" the first
    # one: they are left to the general cut, which gives them nothing, not a row of -1.
    ts = np.array([BASE, BASE, BASE, BASE + SECOND], dtype=np.int64)
    ps = np.array([0.0, 0.0, 1.0, 0.0])
    increments = np.array([0.0, 0.0, 0.0, 0.5 * SECOND / 3.6e12])
    samples = Samples(
        ts, ps, increments, np.array([0]), np.zeros(1, np.int64), np.zeros(1), np.array([False]),
        None,
    )  # fmt: skip
    edges = bucket_edges(BASE, BASE + SECOND, "15min", None)
    got = bucketize(samples, None, ts[:1], ts[-1:], edges, get_strategy("trapezoid"), 1.0)
    assert got.energy.tolist() == [0.5 / 3600]  # from 1 kW down to 0 over one second
    assert got.samples.tolist() == [4]
