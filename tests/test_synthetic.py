"""The synthetic reading generator: shape, exact defect counts, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import energy_integral as ei
from energy_integral.synthetic import Readings, generate_readings

MINUTE_NS = 60 * 10**9


def _per_meter(r: Readings) -> dict[str, np.ndarray]:
    """Each meter's timestamps (int64 ns) in delivery order."""
    ns = r.timestamp.astype(np.int64)
    return {m: ns[r.meter == m] for m in np.unique(r.meter.astype(str))}


def _late_rows(r: Readings) -> int:
    """Rows older than some reading of the same meter delivered before them."""
    count = 0
    for ns in _per_meter(r).values():
        count += int((ns < np.maximum.accumulate(ns)).sum())
    return count


def _duplicate_rows(r: Readings) -> int:
    keys = {(m, t) for m, t in zip(r.meter, r.timestamp.astype(np.int64), strict=True)}
    return len(r) - len(keys)


def test_exported_from_the_package() -> None:
    assert ei.generate_readings is generate_readings
    assert ei.Readings is Readings


def test_clean_readings_shape_and_dtypes() -> None:
    r = generate_readings(4, periods=50, seed=3)
    assert len(r) == 200
    assert r.meter.dtype == object
    assert r.timestamp.dtype == np.dtype("datetime64[ns]")
    assert r.power.dtype == np.float64
    assert sorted(set(r.meter)) == ["meter-000", "meter-001", "meter-002", "meter-003"]
    assert np.isfinite(r.power).all()


def test_timestamps_are_whole_microseconds_and_near_the_grid() -> None:
    r = generate_readings(3, periods=100, cadence="1min", start="2026-01-01T00:00", seed=5)
    ns = r.timestamp.astype(np.int64)
    assert (ns % 1_000 == 0).all()
    start = np.datetime64("2026-01-01T00:00", "ns").astype(np.int64)
    for t in _per_meter(r).values():
        nominal = start + np.arange(100) * MINUTE_NS
        assert np.abs(t - nominal).max() <= 0.25 * MINUTE_NS + 1_000


@settings(max_examples=40)
@given(
    n_meters=st.integers(1, 5),
    periods=st.integers(2, 80),
    cadence=st.sampled_from(["10us", "1ms", "1s", "15s", "1min", "15min"]),
    seed=st.integers(0, 2**32 - 1),
    duplicate_fraction=st.sampled_from([0.0, 0.1, 0.3]),
)
def test_strictly_increasing_per_meter_without_late_rows(
    n_meters: int, periods: int, cadence: str, seed: int, duplicate_fraction: float
) -> None:
    r = generate_readings(
        n_meters, periods=periods, cadence=cadence, seed=seed, duplicate_fraction=duplicate_fraction
    )
    ns = r.timestamp.astype(np.int64)
    assert (ns % 1_000 == 0).all()
    for t in _per_meter(r).values():
        assert (np.diff(t) >= 0).all()  # duplicates repeat a time, never go back
        assert (np.diff(np.unique(t)) > 0).all()
    # Delivery order is time order when nothing is late.
    assert (np.diff(ns) >= 0).all()


@pytest.mark.parametrize(
    ("late", "dup", "bad"), [(0.1, 0.0, 0.0), (0.0, 0.2, 0.0), (0.0, 0.0, 0.05), (0.2, 0.1, 0.05)]
)
def test_defect_counts_are_exact(late: float, dup: float, bad: float) -> None:
    r = generate_readings(
        6,
        periods=200,
        seed=11,
        late_fraction=late,
        duplicate_fraction=dup,
        invalid_fraction=bad,
    )
    n = 6 * 200
    assert len(r) == n + round(dup * n)
    assert _late_rows(r) == round(late * n)
    assert _duplicate_rows(r) == round(dup * n)
    assert int((~np.isfinite(r.power)).sum()) == round(bad * n)


def test_duplicates_come_with_same_and_with_different_power() -> None:
    r = generate_readings(4, periods=200, seed=2, duplicate_fraction=0.2)
    ns = r.timestamp.astype(np.int64)
    same = different = 0
    seen: dict[tuple[str, int], float] = {}
    for m, t, p in zip(r.meter, ns, r.power, strict=True):
        if (m, t) in seen:
            if seen[(m, t)] == p:
                same += 1
            else:
                different += 1
        seen[(m, t)] = p
    assert same + different == 160
    assert same > 0
    assert different > 0


def test_invalid_power_uses_nan_and_both_infinities() -> None:
    r = generate_readings(5, periods=200, seed=4, invalid_fraction=0.1)
    assert np.isnan(r.power).any()
    assert np.isposinf(r.power).any()
    assert np.isneginf(r.power).any()


@settings(max_examples=30)
@given(
    n_meters=st.integers(1, 4),
    outages=st.integers(1, 4),
    extra=st.integers(0, 50),
    seed=st.integers(0, 2**32 - 1),
)
def test_outages_leave_holes_longer_than_the_cadence(
    n_meters: int, outages: int, extra: int, seed: int
) -> None:
    periods = 3 * outages + 2 + extra
    r = generate_readings(n_meters, periods=periods, seed=seed, outages=outages)
    for t in _per_meter(r).values():
        steps = np.diff(t)
        # Ordinary steps are 0.5..1.5 cadences; each hole spans >= 3 nominal steps.
        assert int((steps > 2 * MINUTE_NS).sum()) == outages
        assert steps.min() >= 0.5 * MINUTE_NS - 1_000
    assert len(r) < n_meters * periods


def test_late_rows_arrive_after_a_later_reading_of_their_meter() -> None:
    r = generate_readings(3, periods=100, seed=8, late_fraction=0.3)
    clean = generate_readings(3, periods=100, seed=8)
    # Lateness only reorders delivery: the same readings, in another order.
    key = np.lexsort((r.timestamp, r.meter.astype(str)))
    key_clean = np.lexsort((clean.timestamp, clean.meter.astype(str)))
    assert np.array_equal(r.timestamp[key], clean.timestamp[key_clean])
    assert _late_rows(r) == 90


def test_some_meters_export_at_midday() -> None:
    r = generate_readings(3, start="2026-06-01T00:00", periods=24 * 4, cadence="15min", seed=0)
    hour = (r.timestamp.astype(np.int64) // (3600 * 10**9)) % 24
    solar = r.meter == "meter-002"
    assert (r.power[solar & (hour >= 11) & (hour <= 14)] < 0).any()
    assert (r.power[~solar] > 0).all()
    # Evening peak above night base load for every meter.
    for m in np.unique(r.meter.astype(str)):
        p = r.power[r.meter == m]
        h = hour[r.meter == m]
        assert p[(h >= 18) & (h <= 20)].mean() > p[(h >= 1) & (h <= 4)].mean()


def test_deterministic_for_a_seed() -> None:
    kwargs = {"late_fraction": 0.1, "duplicate_fraction": 0.1, "invalid_fraction": 0.05}
    a = generate_readings(4, periods=60, seed=7, outages=2, **kwargs)
    b = generate_readings(4, periods=60, seed=7, outages=2, **kwargs)
    c = generate_readings(4, periods=60, seed=8, outages=2, **kwargs)
    assert np.array_equal(a.meter, b.meter)
    assert np.array_equal(a.timestamp, b.timestamp)
    assert np.array_equal(a.power, b.power, equal_nan=True)
    assert not np.array_equal(a.timestamp, c.timestamp)


def test_to_pandas_uses_the_given_column_names() -> None:
    r = generate_readings(2, periods=5, meter_prefix="m")
    df = r.to_pandas(meter="id", time="ts", power="p")
    assert df.columns.tolist() == ["id", "ts", "p"]
    assert len(df) == 10
    assert set(df["id"]) == {"m000", "m001"}
    assert str(df["ts"].dtype) == "datetime64[ns]"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_meters": 0}, "n_meters=0 must be at least 1"),
        ({"periods": 0}, "periods=0 must be at least 1"),
        ({"cadence": "1us"}, "cadence='1us' must be at least 10us"),
        ({"cadence": "soon"}, "duration 'soon' is not understood"),
        ({"late_fraction": 1.5}, "late_fraction=1.5 must be in"),
        ({"late_fraction": 0.9}, "late_fraction=0.9 asks for"),
        ({"outages": 5, "periods": 10}, "outages=5 needs periods >= 17"),
        ({"start": "yesterday"}, "start='yesterday' is not an ISO timestamp"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate_readings(**kwargs)  # type: ignore[arg-type]


def test_start_accepts_datetime64() -> None:
    r = generate_readings(1, periods=3, start=np.datetime64("2026-03-01T12:00"))
    assert r.timestamp.min() >= np.datetime64("2026-03-01T11:59:45")
