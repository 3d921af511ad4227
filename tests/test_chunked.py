"""Integrating chunk after chunk, carrying states, equals integrating at once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import energy_integral as ei
from energy_integral.chunked import SINGLE_SERIES, integrate_chunks
from energy_integral.filereader import Chunk, open_readings
from energy_integral.quality import Rejections
from energy_integral.synthetic import generate_readings


def _chunks(r: ei.Readings, size: int) -> list[Chunk]:
    return [
        Chunk(r.meter[i : i + size], r.timestamp[i : i + size], r.power[i : i + size], i, 1.0)
        for i in range(0, len(r), size)
    ]


@settings(max_examples=30)
@given(
    seed=st.integers(0, 2**16),
    size=st.integers(1, 120),
    method=st.sampled_from(["trapezoid", "left", "right"]),
)
def test_any_chunk_size_gives_the_one_shot_totals(seed: int, size: int, method: str) -> None:
    # Time order per meter (no late rows): chunking must not change a kWh.
    r = generate_readings(
        4, periods=30, seed=seed, duplicate_fraction=0.05, invalid_fraction=0.05, outages=1
    )
    whole = ei.integrate_meters(r.meter, r.timestamp, r.power, method=method, max_gap="3min")
    res = integrate_chunks(_chunks(r, size), method=method, max_gap="3min")
    assert set(res.states) == set(whole.states)
    for m, state in whole.states.items():
        assert res.states[m].energy == pytest.approx(state.energy, rel=1e-12, abs=1e-12)
        assert res.states[m].count == state.count
    assert res.rows == len(r)
    # A duplicate split from its original becomes late/already-integrated: same count.
    assert res.n_rejected == len(whole.rejected)
    assert res.gaps == len(whole.gaps)


@settings(max_examples=15)
@given(seed=st.integers(0, 2**16), size=st.integers(1, 90))
def test_buckets_straddling_chunks_are_merged(seed: int, size: int) -> None:
    r = generate_readings(3, periods=40, seed=seed, invalid_fraction=0.05)
    whole = ei.integrate_meters(r.meter, r.timestamp, r.power)
    ok = whole.accepted
    expected = ei.energy_by_interval(
        r.timestamp[ok], r.power[ok], "15min", meter_ids=r.meter[ok], tz="Europe/Berlin"
    )
    got = integrate_chunks(_chunks(r, size), every="15min", tz="Europe/Berlin").intervals
    assert got is not None
    order = np.lexsort((expected.start, expected.meter.astype(str)))
    got_order = np.lexsort((got.start, got.meter.astype(str)))
    assert np.array_equal(got.start[got_order], expected.start[order])
    assert np.array_equal(got.samples[got_order], expected.samples[order])
    np.testing.assert_allclose(got.energy[got_order], expected.energy[order], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got.covered[got_order], expected.covered[order], atol=1e-9)


def test_a_row_older_than_an_earlier_chunk_is_late() -> None:
    t = np.array(["2026-01-01T01:00", "2026-01-01T00:00", "2026-01-01T02:00"], "datetime64[ns]")
    p = np.array([2.0, 1.0, 2.0])
    m = np.array(["a", "a", "a"], dtype=object)
    seen: list[Rejections] = []
    res = integrate_chunks(
        [Chunk(m[:1], t[:1], p[:1], 0, 0.3), Chunk(m[1:], t[1:], p[1:], 1, 1.0)],
        on_rejected=seen.append,
    )
    assert res.rejected == {"late": 1}
    assert res.states["a"].energy == 2.0  # 01:00 -> 02:00 at 2 kW
    assert [b.row.tolist() for b in seen] == [[1]]  # counted in the whole stream


def test_rejected_rows_are_numbered_in_the_whole_file(tmp_path: Path) -> None:
    r = generate_readings(3, periods=50, seed=9, invalid_fraction=0.1)
    path = tmp_path / "r.parquet"
    r.to_pandas().to_parquet(path)
    seen: list[Rejections] = []
    integrate_chunks(open_readings(path, chunk_rows=16).chunks(), on_rejected=seen.append)
    rows = np.concatenate([b.row for b in seen])
    assert np.array_equal(rows, np.flatnonzero(~np.isfinite(r.power)))


def test_a_single_series_is_meter_default() -> None:
    t = np.array(["2026-01-01T00:00", "2026-01-01T00:30", "2026-01-01T01:00"], "datetime64[ns]")
    p = np.array([1.0, 3.0, np.nan])
    seen: list[Rejections] = []
    res = integrate_chunks(
        [Chunk(None, t[:2], p[:2], 0, 0.5), Chunk(None, t[2:], p[2:], 2, 1.0)],
        every="1h",
        on_rejected=seen.append,
    )
    assert list(res.states) == [SINGLE_SERIES]
    assert res.total == 1.0  # (1 + 3) / 2 kW for half an hour
    assert seen[0].meter.tolist() == [SINGLE_SERIES]
    assert res.intervals is not None
    assert res.intervals.meter is not None
    assert set(res.intervals.meter) == {SINGLE_SERIES}
    assert res.intervals.total == 1.0


def test_continues_from_given_states() -> None:
    t = np.array(["2026-01-01T00:00", "2026-01-01T01:00"], "datetime64[ns]")
    first = integrate_chunks([Chunk(None, t[:1], np.array([4.0]), 0, 1.0)])
    second = integrate_chunks([Chunk(None, t[1:], np.array([4.0]), 0, 1.0)], states=first.states)
    assert second.total == 4.0
