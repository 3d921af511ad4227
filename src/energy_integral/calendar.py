"""Bucket edges: a fixed duration in UTC, or wall-clock boundaries in an IANA time zone.

An edge is an instant (int64 ns since the epoch, UTC) at which the clock
reads a whole multiple of ``every``, counted from 1970-01-01 00:00 on that
clock — Monday 1970-01-05 when ``every`` is a whole number of weeks, so
weeks follow ISO 8601. Without a time zone the clock is UTC and edges are
evenly spaced. With one, the clock is local wall-clock time:

* local midnights are daily edges, so a day on which daylight saving time
  starts has 23 hours and one on which it ends has 25;
* a wall-clock time that the clock skips (spring forward) is moved to the
  instant of the jump, as pandas' ``nonexistent="shift_forward"`` does;
* a wall-clock time that the clock reads twice (fall back) is an edge both
  times for buckets shorter than a day (a 25-hour day has 25 hourly
  buckets) and only the first time for buckets of whole days.

Time zones come from :mod:`zoneinfo` (with the ``tzdata`` package where the
system has no zone database); offsets are probed once per day of the range,
so zones that change their offset twice within one day are not supported.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import (
    BucketLimitError,
    InvalidArgumentError,
    InvalidTypeError,
    TimeRangeError,
)
from .timestamps import NAT, as_datetime64, to_duration_ns

__all__ = ["MAX_BUCKETS", "bucket_edges", "every_ns", "resolve_time_zone"]

#: The most buckets one grid (or one result, over all meters) may hold: 50 million rows
#: take a few GB. More is refused before anything is allocated, naming the count.
MAX_BUCKETS = 50_000_000

_NS_PER_S = 1_000_000_000
_DAY = 86_400 * _NS_PER_S
_WEEK = 7 * _DAY
_MONDAY_1970 = 4 * _DAY  # 1970-01-01 was a Thursday

# Edges are computed a little beyond the samples, on a clock up to a day off UTC: keep
# those computations inside int64.
_SAFE_LO = NAT + 1 + 2 * _DAY
_SAFE_HI = int(np.iinfo(np.int64).max) - 2 * _DAY

IntArray = npt.NDArray[np.int64]


def resolve_time_zone(tz: Any) -> zoneinfo.ZoneInfo | None:
    """``tz`` as a :class:`zoneinfo.ZoneInfo` (``None`` stays ``None``).

    >>> resolve_time_zone("Europe/Berlin")
    zoneinfo.ZoneInfo(key='Europe/Berlin')
    >>> resolve_time_zone("Mars/Olympus_Mons")
    Traceback (most recent call last):
    ...
    energy_integral.errors.InvalidArgumentError: tz='Mars/Olympus_Mons' is not an IANA time zone ...
    """
    if tz is None or isinstance(tz, zoneinfo.ZoneInfo):
        return tz
    if not isinstance(tz, str):
        raise InvalidTypeError(
            f"tz={tz!r} is {type(tz).__name__}; expected an IANA name such as 'UTC'"
        )
    try:
        return zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidArgumentError(
            f"tz={tz!r} is not an IANA time zone name (e.g. 'Europe/Berlin', 'UTC')"
        ) from None


def every_ns(every: Any) -> int:
    """The bucket length ``every`` in nanoseconds, with an error that names it.

    >>> every_ns("15min") == 15 * 60 * 10**9
    True
    >>> every_ns("often")
    Traceback (most recent call last):
    ...
    energy_integral.errors.InvalidArgumentError: every='often': duration 'often' is not ...
    """
    return to_duration_ns(every, "every")


def bucket_edges(lo: int, hi: int, every: Any, tz: Any = None) -> IntArray:
    """Edges ``e_0 <= lo`` … ``hi < e_k`` of the buckets that cover ``[lo, hi]``.

    Parameters
    ----------
    lo, hi : int
        First and last instant to cover, ns since the epoch (UTC), ``lo <= hi``.
    every : str, timedelta or numpy timedelta64
        Bucket length on the clock: ``"15min"``, ``"1h"``, ``"1D"``, ``"1W"``, …
    tz : str or zoneinfo.ZoneInfo, optional
        IANA time zone whose wall clock places the edges; UTC when omitted.

    Returns
    -------
    ndarray of int64
        Strictly increasing edges; bucket ``j`` is ``[e_j, e_{j+1})``.

    Examples
    --------
    >>> hour = 3_600 * 10**9
    >>> (bucket_edges(hour // 2, 2 * hour, "1h") // hour).tolist()
    [0, 1, 2, 3]

    The local day 2026-03-29 in Berlin starts at 23:00 UTC and lasts 23 hours:

    >>> t = np.datetime64("2026-03-29T12:00", "ns").astype(np.int64)
    >>> e = bucket_edges(int(t), int(t), "1D", "Europe/Berlin")
    >>> e.view("datetime64[ns]").astype("datetime64[m]").tolist()
    [datetime.datetime(2026, 3, 28, 23, 0), datetime.datetime(2026, 3, 29, 22, 0)]
    """
    step = every_ns(every)
    zone = resolve_time_zone(tz)
    if hi < lo:
        raise InvalidArgumentError(f"hi={hi} is before lo={lo}")
    origin = _MONDAY_1970 if step % _WEEK == 0 else 0
    # Wide enough that a bucket lengthened by an offset change still reaches past lo and hi.
    pad = step + 2 * _DAY
    start, end = max(lo - pad, _SAFE_LO), min(hi + pad, _SAFE_HI)
    count = (end - start) // step + 2
    if count > MAX_BUCKETS:
        span = as_datetime64([lo, hi])
        raise BucketLimitError(
            f"every={every!r} is too short: the grid around {span[0]} .. {span[1]} would hold "
            f"{count:,} buckets, more than MAX_BUCKETS={MAX_BUCKETS:,}; choose a longer every"
        )
    since, offset = _offset_stretches(zone, start, end)
    edges = _wall_clock_edges(since, offset, end, step, origin)
    if step % _DAY == 0 and offset.size > 1:
        # A day starts when its midnight is first reached, not again after falling back.
        labels = edges + offset[np.searchsorted(since, edges, side="right") - 1]
        edges = edges[np.concatenate(([True], labels[1:] > np.maximum.accumulate(labels)[:-1]))]
    first = np.searchsorted(edges, lo, side="right") - 1
    last = np.searchsorted(edges, hi, side="right")
    if first < 0 or last >= edges.size:  # a bucket would start before 1677 or end after 2262
        span = as_datetime64([lo, hi])
        raise TimeRangeError(
            f"the every={every!r} buckets holding {span[0]} .. {span[1]} reach outside the "
            "nanosecond range 1677-09-21..2262-04-11"
        )
    return edges[first : last + 1]


def _wall_clock_edges(
    since: IntArray, offset: IntArray, end: int, step: int, origin: int
) -> IntArray:
    """Instants in ``[since[0], end)`` where ``utc + offset`` is ``origin`` plus a multiple of step.

    Offsets hold from ``since[i]`` until ``since[i + 1]``. Where the clock jumps
    forward over a multiple, the jump's instant is an edge too.
    """
    bounds = np.append(since, end)
    pieces = []
    for i in range(offset.size):  # one pass per offset change, never per bucket
        # Python ints: a step of centuries must not overflow int64 on the way.
        shift = int(offset[i])
        local_lo, local_hi = int(bounds[i]) + shift, int(bounds[i + 1]) + shift
        first = local_lo + (origin - local_lo) % step
        pieces.append(np.arange(first - shift, local_hi - shift, step, dtype=np.int64))
    jump_lo, jump_hi = since[1:] + offset[:-1], since[1:] + offset[1:]
    skipped = jump_lo + (origin - jump_lo) % step < jump_hi
    pieces.append(since[1:][skipped])
    edges = np.sort(np.concatenate(pieces))  # already nearly sorted: cheaper than np.unique
    return edges[np.concatenate(([True], edges[1:] != edges[:-1]))]


def _offset_stretches(
    zone: zoneinfo.ZoneInfo | None, lo: int, hi: int
) -> tuple[IntArray, IntArray]:
    """Instants (from ``lo``) at which the zone's UTC offset changes, and the offset from each."""
    if zone is None:
        return np.array([lo], dtype=np.int64), np.zeros(1, dtype=np.int64)
    probes = range(lo // _NS_PER_S, hi // _NS_PER_S + 86_400, 86_400)
    offsets = [_offset_at(zone, s) for s in probes]
    since, values = [lo], [offsets[0]]
    for k in np.flatnonzero(np.diff(offsets)).tolist():
        since.append(_find_change(zone, probes[k], probes[k + 1]) * _NS_PER_S)
        values.append(offsets[k + 1])
    return np.array(since, dtype=np.int64), np.array(values, dtype=np.int64)


def _offset_at(zone: zoneinfo.ZoneInfo, second: int) -> int:
    offset = dt.datetime.fromtimestamp(second, tz=zone).utcoffset()
    assert offset is not None
    return (offset // dt.timedelta(microseconds=1)) * 1_000


def _find_change(zone: zoneinfo.ZoneInfo, before: int, after: int) -> int:
    """The first second in ``(before, after]`` with the offset at ``after`` (whole seconds)."""
    target = _offset_at(zone, after)
    while after - before > 1:
        middle = (before + after) // 2
        if _offset_at(zone, middle) == target:
            after = middle
        else:
            before = middle
    return after
