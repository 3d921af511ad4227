"""The laws every built-in strategy must obey, proven by hypothesis.

One shared test class runs the same laws against each built-in strategy:

* batching: any split of any series into batches, carrying the state (through
  ``to_dict``/``from_dict`` and JSON) between them, gives the cumulative array,
  increments, gaps and total of integrating the series at once;
* the state monoid: ``combine`` is associative, ``empty`` is its left and right
  identity, and two halves integrated independently then combined equal the whole;
* all of it also with ``max_gap``: a gap is skipped identically whether it falls
  inside a batch, at a batch boundary or at a combine.

Equality is up to float rounding: ``rel=1e-12`` with an absolute floor of
``1e-12`` times the series' energy scale (cumulative sums are added in a
different order when split).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from series_strategies import GAP, as_datetime64, energy_scale, series, series_with_cuts, split

import energy_integral as ei

BUILTINS = ("trapezoid", "left", "right", "scipy")
REL = 1e-12


def _builtin_names() -> list[str]:
    names = [
        n
        for n in ei.available_strategies()
        if type(ei.get_strategy(n)).__module__ == ei.__name__ + ".strategies"
    ]
    return names


def test_builtins_are_all_registered() -> None:
    assert set(BUILTINS) <= set(_builtin_names())


def _roundtrip(state: ei.CumulativeState) -> ei.CumulativeState:
    """Carry a state the way a procedure stores it: dict → JSON text → dict."""
    return ei.CumulativeState.from_dict(json.loads(json.dumps(state.to_dict())))


def _close(actual: Any, expected: Any, scale: float) -> None:
    np.testing.assert_allclose(actual, expected, rtol=REL, atol=REL * scale)


def _assert_same_state(a: ei.CumulativeState, b: ei.CumulativeState, scale: float) -> None:
    assert (a.method, a.power_unit, a.energy_unit) == (b.method, b.power_unit, b.energy_unit)
    assert (a.first_ts, a.first_power, a.last_ts, a.last_power, a.count) == (
        b.first_ts,
        b.first_power,
        b.last_ts,
        b.last_power,
        b.count,
    )
    _close(a.energy, b.energy, scale)


def _state_of(method: str, t: npt.NDArray[np.int64], p: Any, max_gap: Any) -> ei.CumulativeState:
    return ei.integrate(as_datetime64(t), p, method=method, max_gap=max_gap).state


def _three_pieces(
    draw: st.DrawFn,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], int, int]:
    t, p = draw(series(min_size=0, max_size=30))
    i = draw(st.integers(0, t.size))
    j = draw(st.integers(i, t.size))
    return t, p, i, j


three_pieces = st.composite(_three_pieces)
max_gaps = st.sampled_from([None, GAP])


@pytest.mark.parametrize("method", _builtin_names())
class TestLaws:
    """The laws, run once per built-in strategy (the ``method`` parameter)."""

    @settings(max_examples=150)
    @given(data=series_with_cuts(max_size=40), max_gap=max_gaps)
    def test_batches_carrying_state_equal_one_call(
        self, method: str, data: Any, max_gap: np.timedelta64 | None
    ) -> None:
        t, p, cuts = data
        scale = energy_scale(t, p)
        whole = ei.integrate(as_datetime64(t), p, method=method, max_gap=max_gap)

        state = None
        cumulative, increments, gap_start, gap_end = [], [], [], []
        for bt, bp in split([t, p], cuts):
            res = ei.integrate(as_datetime64(bt), bp, method=method, state=state, max_gap=max_gap)
            cumulative.append(res.cumulative)
            increments.append(res.increments)
            gap_start.append(res.gaps.start)
            gap_end.append(res.gaps.end)
            state = _roundtrip(res.state)
            assert state == res.state  # the JSON round trip loses nothing
        assert state is not None

        _close(np.concatenate(cumulative), whole.cumulative, scale)
        _close(np.concatenate(increments), whole.increments, scale)
        np.testing.assert_array_equal(np.concatenate(gap_start), whole.gaps.start)
        np.testing.assert_array_equal(np.concatenate(gap_end), whole.gaps.end)
        _assert_same_state(state, whole.state, scale)
        _close(res.total, whole.total, scale)

    @given(data=series(min_size=1, max_size=40), max_gap=max_gaps)
    def test_cumulative_is_prefix_sum_of_increments(
        self, method: str, data: Any, max_gap: np.timedelta64 | None
    ) -> None:
        t, p = data
        res = ei.integrate(as_datetime64(t), p, method=method, max_gap=max_gap)
        scale = energy_scale(t, p)
        assert res.increments[0] == 0.0  # a series' very first sample has no interval
        _close(res.cumulative, np.cumsum(res.increments), scale)
        assert res.total == res.cumulative[-1] == res.state.energy
        assert res.state.count == t.size
        # Skipped gaps are exactly the intervals longer than max_gap, and add nothing.
        long = np.zeros(t.size, dtype=bool)
        if max_gap is not None:
            long[1:] = np.diff(t) > GAP.astype("timedelta64[ns]").astype(np.int64)
        np.testing.assert_array_equal(res.gaps.end, as_datetime64(t[long]))
        np.testing.assert_array_equal(res.increments[long], 0.0)

    @given(pieces=three_pieces(), max_gap=max_gaps)
    def test_combine_is_associative(
        self, method: str, pieces: Any, max_gap: np.timedelta64 | None
    ) -> None:
        t, p, i, j = pieces
        a, b, c = (
            _state_of(method, t[s], p[s], max_gap)
            for s in (slice(0, i), slice(i, j), slice(j, None))
        )
        left = a.combine(b, max_gap=max_gap).combine(c, max_gap=max_gap)
        right = a.combine(b.combine(c, max_gap=max_gap), max_gap=max_gap)
        _assert_same_state(left, right, energy_scale(t, p))

    @given(data=series(min_size=0, max_size=30))
    def test_empty_is_left_and_right_identity(self, method: str, data: Any) -> None:
        t, p = data
        s = _state_of(method, t, p, None)
        empty = ei.CumulativeState.empty(method)
        assert empty.combine(s) == s
        assert s.combine(empty) == s
        assert empty.combine(s, max_gap=GAP) == s
        assert s.combine(empty, max_gap=GAP) == s

    @given(pieces=three_pieces(), max_gap=max_gaps)
    def test_halves_combined_equal_the_whole(
        self, method: str, pieces: Any, max_gap: np.timedelta64 | None
    ) -> None:
        t, p, i, _ = pieces
        whole = _state_of(method, t, p, max_gap)
        first = _state_of(method, t[:i], p[:i], max_gap)
        second = _state_of(method, t[i:], p[i:], max_gap)
        _assert_same_state(first.combine(second, max_gap=max_gap), whole, energy_scale(t, p))

    @given(pieces=three_pieces(), max_gap=max_gaps)
    def test_combine_agrees_with_carrying_the_state(
        self, method: str, pieces: Any, max_gap: np.timedelta64 | None
    ) -> None:
        """Carrying ``a`` into the next batch and combining with that batch's own state agree."""
        t, p, i, _ = pieces
        first = _state_of(method, t[:i], p[:i], max_gap)
        carried = ei.integrate(
            as_datetime64(t[i:]), p[i:], method=method, state=first, max_gap=max_gap
        ).state
        combined = first.combine(_state_of(method, t[i:], p[i:], max_gap), max_gap=max_gap)
        _assert_same_state(carried, combined, energy_scale(t, p))


@settings(max_examples=150)
@given(data=series_with_cuts(max_size=40), max_gap=max_gaps)
def test_scipy_agrees_with_trapezoid_across_batches(
    data: Any, max_gap: np.timedelta64 | None
) -> None:
    t, p, cuts = data
    scale = energy_scale(t, p)
    whole = ei.integrate(as_datetime64(t), p, method="trapezoid", max_gap=max_gap)
    state = None
    cumulative = []
    for bt, bp in split([t, p], cuts):
        res = ei.integrate(as_datetime64(bt), bp, method="scipy", state=state, max_gap=max_gap)
        cumulative.append(res.cumulative)
        state = _roundtrip(res.state)
    assert state is not None
    _close(np.concatenate(cumulative), whole.cumulative, scale)
    _close(state.energy, whole.total, scale)


@given(data=series(min_size=2, max_size=40, allow_negative=False))
def test_trapezoid_is_the_mean_of_left_and_right(data: Any) -> None:
    """Interval by interval, (p0 + p1)/2·dt is the mean of p0·dt and p1·dt."""
    t, p = data
    totals = {m: ei.integrate(as_datetime64(t), p, method=m).total for m in BUILTINS}
    _close(totals["trapezoid"], (totals["left"] + totals["right"]) / 2, energy_scale(t, p))
