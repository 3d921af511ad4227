"""Bucket edges: evenly spaced in UTC, or on the local wall clock of an IANA time zone."""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from energy_integral.calendar import bucket_edges, resolve_time_zone

NS = 1_000_000_000
HOUR = 3_600 * NS
DAY = 24 * HOUR
EPOCH_2026 = 1_767_225_600 * NS


def ns(text: str) -> int:
    """An ISO time (UTC) as int ns."""
    return int(np.datetime64(text, "ns").astype(np.int64))


def local(edge: int, zone: str) -> dt.datetime:
    """The wall-clock reading in ``zone`` at ``edge``, computed by zoneinfo alone."""
    moment = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(
        microseconds=edge // 1000
    )
    return moment.astimezone(zoneinfo.ZoneInfo(zone)).replace(tzinfo=None)


def hours(edges: np.ndarray) -> list[float]:
    return (np.diff(edges) / HOUR).tolist()


@given(
    lo=st.integers(EPOCH_2026, EPOCH_2026 + 400 * DAY),
    span=st.integers(0, 3 * DAY),
    every=st.sampled_from([("7min", 7 * 60 * NS), ("15min", 900 * NS), ("1h", HOUR), ("1D", DAY)]),
)
def test_utc_edges_are_multiples_of_every_that_cover_the_range(
    lo: int, span: int, every: tuple[str, int]
) -> None:
    text, step = every
    hi = lo + span
    edges = bucket_edges(lo, hi, text)
    assert np.all(edges % step == 0)
    assert np.all(np.diff(edges) == step)
    assert edges[0] <= lo < edges[1]
    assert edges[-2] <= hi < edges[-1]


def test_weeks_start_on_monday() -> None:
    edges = bucket_edges(ns("2026-01-01T12:00"), ns("2026-01-20T00:00"), "1W")
    days = edges.view("datetime64[ns]").astype("datetime64[D]").astype(object)
    assert [d.isoformat() for d in days] == [
        "2025-12-29",
        "2026-01-05",
        "2026-01-12",
        "2026-01-19",
        "2026-01-26",
    ]
    assert all(d.weekday() == 0 for d in days)


def test_berlin_dst_days_have_23_and_25_hours() -> None:
    spring = bucket_edges(ns("2026-03-29T12:00"), ns("2026-03-29T12:00"), "1D", "Europe/Berlin")
    assert spring.tolist() == [ns("2026-03-28T23:00"), ns("2026-03-29T22:00")]
    autumn = bucket_edges(ns("2026-10-25T12:00"), ns("2026-10-25T12:00"), "1D", "Europe/Berlin")
    assert autumn.tolist() == [ns("2026-10-24T22:00"), ns("2026-10-25T23:00")]


def test_hourly_buckets_on_dst_days_are_hours_of_real_time() -> None:
    spring = bucket_edges(ns("2026-03-28T23:00"), ns("2026-03-29T21:59"), "1h", "Europe/Berlin")
    assert hours(spring) == [1.0] * 23
    autumn = bucket_edges(ns("2026-10-24T22:00"), ns("2026-10-25T22:59"), "1h", "Europe/Berlin")
    assert hours(autumn) == [1.0] * 25
    # The repeated wall-clock hour 02:00-03:00 is two buckets.
    readings = [local(int(e), "Europe/Berlin").hour for e in autumn[:5]]
    assert readings == [0, 1, 2, 2, 3]


def test_half_hour_offsets_put_hourly_edges_on_the_half_hour() -> None:
    edges = bucket_edges(ns("2026-01-01T00:00"), ns("2026-01-01T02:00"), "1h", "Asia/Kolkata")
    assert np.all(edges % HOUR == HOUR // 2)
    assert all(local(int(e), "Asia/Kolkata").minute == 0 for e in edges)


@pytest.mark.parametrize(
    "zone", ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Tokyo", "UTC"]
)
def test_daily_edges_are_consecutive_local_midnights(zone: str) -> None:
    edges = bucket_edges(ns("2026-01-01T00:00"), ns("2027-01-01T00:00"), "1D", zone)
    readings = [local(int(e), zone) for e in edges]
    assert all(r.time() == dt.time(0) for r in readings)
    assert all((b.date() - a.date()).days == 1 for a, b in itertools.pairwise(readings))
    assert 366 <= len(edges) - 1 <= 367
    assert sum(hours(edges)) == len(edges[1:]) * 24  # DST days even out over a year


def test_a_skipped_midnight_starts_the_day_at_the_jump() -> None:
    # Chile springs forward at 24:00 on Saturday 2026-09-05: Sunday starts at 01:00.
    zone = "America/Santiago"
    edges = bucket_edges(ns("2026-09-05T12:00"), ns("2026-09-07T12:00"), "1D", zone)
    readings = [local(int(e), zone) for e in edges]
    assert [r.isoformat() for r in readings[:3]] == [
        "2026-09-05T00:00:00",
        "2026-09-06T01:00:00",
        "2026-09-07T00:00:00",
    ]
    assert hours(edges)[:2] == [24.0, 23.0]


def test_a_day_that_a_zone_skipped_has_no_bucket() -> None:
    # Samoa moved across the date line: 2011-12-30 never happened in Apia.
    zone = "Pacific/Apia"
    edges = bucket_edges(ns("2011-12-29T12:00"), ns("2011-12-31T12:00"), "1D", zone)
    dates = [local(int(e), zone).date().isoformat() for e in edges]
    assert "2011-12-30" not in dates
    assert dates[:3] == ["2011-12-29", "2011-12-31", "2012-01-01"]
    assert hours(edges)[0] == 24.0


def test_quarter_hours_in_berlin_equal_utc_quarter_hours() -> None:
    lo, hi = ns("2026-03-28T20:00"), ns("2026-03-29T04:00")
    assert (
        bucket_edges(lo, hi, "15min", "Europe/Berlin").tolist()
        == bucket_edges(lo, hi, "15min").tolist()
    )


def test_bad_arguments_name_themselves() -> None:
    with pytest.raises(ValueError, match="tz='Nowhere/Atlantis'"):
        bucket_edges(0, 1, "1h", "Nowhere/Atlantis")
    with pytest.raises(TypeError, match="tz=3"):
        resolve_time_zone(3)
    with pytest.raises(ValueError, match="every='fortnightly'"):
        bucket_edges(0, 1, "fortnightly")
    with pytest.raises(ValueError, match="every"):
        bucket_edges(0, 1, np.timedelta64(0, "s"))
    with pytest.raises(ValueError, match="before"):
        bucket_edges(1, 0, "1h")
