"""Synthetic power readings that look like a fleet of household meters.

Used by the examples, the CLI's ``generate`` command, the Snowflake demo and
the tests. Every meter follows a daily shape — a night-time base load, a
morning and an evening peak — scaled per meter, with noise; about a third of
the meters also carry a rooftop solar array whose midday output exceeds the
load, so their net power goes negative (export). Timestamps follow the
cadence with jitter, are rounded to whole microseconds (what Snowflake's
``TIMESTAMP_NTZ`` keeps) and are strictly increasing per meter.

The real world's defects can be switched on, each by an exact amount:

* late rows — a reading delivered after the same meter's next reading;
* duplicates — a second row for one meter and time, half of them with the
  same power (a re-delivery), half with a different power (a correction);
* invalid rows — power NaN, +inf or -inf;
* outages — stretches without any reading, longer than the cadence.

The same arguments and seed always give the same readings.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ._segments import segment_ids, segment_starts
from .errors import InvalidArgumentError, InvalidTypeError, TimeRangeError
from .timestamps import NAT, as_datetime64, to_duration_ns, to_ns

__all__ = ["Readings", "generate_readings"]

_NS_PER_US = 1_000
_NS_PER_HOUR = 3_600 * 10**9
_NS_PER_DAY = 24 * _NS_PER_HOUR
# Jitter stays within ±_JITTER of the cadence, so consecutive readings of a
# meter are 0.5..1.5 cadences apart and an outage (>= 2 missing readings)
# leaves a hole of at least 2.5 cadences.
_JITTER = 0.25
_MIN_CADENCE_NS = 10 * _NS_PER_US


@dataclass(frozen=True)
class Readings:
    """A batch of readings, one row per reading, in delivery order.

    Attributes
    ----------
    meter : ndarray of object (str)
        Meter id of each reading.
    timestamp : ndarray of datetime64[ns]
        Time of each reading (UTC, whole microseconds).
    power : ndarray of float64
        Power in kW; negative when the meter exports.
    """

    meter: npt.NDArray[np.object_]
    timestamp: npt.NDArray[np.datetime64]
    power: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.power.size)

    def to_pandas(self, meter: str = "METER_ID", time: str = "TIMESTAMP", power: str = "KW") -> Any:
        """The readings as a pandas DataFrame with the given column names.

        >>> generate_readings(2, periods=3).to_pandas().columns.tolist()
        ['METER_ID', 'TIMESTAMP', 'KW']
        """
        import pandas as pd

        return pd.DataFrame({meter: self.meter, time: self.timestamp, power: self.power})


def _start_ns(start: Any) -> int:
    if isinstance(start, str):
        try:
            value = np.datetime64(start)  # in the string's own unit: to_ns checks the range
        except ValueError:
            raise InvalidArgumentError(
                f"start={start!r} is not an ISO timestamp like '2026-01-01T00:00'"
            ) from None
        ns = int(to_ns(np.array([value]), "start", out_of_range="nat")[0])
        if ns == NAT and not np.isnat(value):
            raise TimeRangeError(
                f"start={start!r} is outside the nanosecond range 1677-09-21..2262-04-11"
            )
    elif isinstance(start, np.datetime64 | dt.datetime):
        ns = int(to_ns(np.array([start]) if isinstance(start, np.datetime64) else [start])[0])
    else:
        raise InvalidTypeError(f"start={start!r} is {type(start).__name__}; expected an ISO string")
    if ns == NAT:
        raise InvalidArgumentError(f"start={start!r} is not a time")
    return ns


def _check_count(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InvalidTypeError(f"{name}={value!r} must be an integer")
    if value < minimum:
        raise InvalidArgumentError(f"{name}={value!r} must be at least {minimum}")
    return int(value)


def _check_fraction(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise InvalidTypeError(f"{name}={value!r} must be a number in [0, 1)")
    if not 0.0 <= float(value) < 1.0:
        raise InvalidArgumentError(f"{name}={value!r} must be in [0, 1)")
    return float(value)


def _daily_load(hour: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Household load shape in units of the meter's scale: base, morning and evening peaks."""
    morning = 0.8 * np.exp(-(((hour - 7.5) / 1.2) ** 2))
    evening = 1.2 * np.exp(-(((hour - 19.0) / 2.0) ** 2))
    return 0.25 + morning + evening


def _solar(hour: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Clear-sky solar output between 06:00 and 20:00, peaking at 1 at 13:00."""
    return np.clip(np.sin(np.pi * (hour - 6.0) / 14.0), 0.0, None) ** 1.5


def _outage_mask(
    rng: np.random.Generator, n_meters: int, periods: int, outages: int
) -> npt.NDArray[np.bool_]:
    """True for the grid points that are read; each meter gets ``outages`` separate holes.

    The interior of the grid is cut into ``outages`` slots; each slot loses a
    run of at least 2 readings but keeps its last one, so holes never merge.
    """
    keep = np.ones((n_meters, periods), dtype=bool)
    if outages == 0:
        return keep
    edges = 1 + (np.arange(outages + 1) * (periods - 2)) // outages
    for lo, hi in itertools.pairwise(edges.tolist()):  # loop over slots, not rows
        size = int(hi - lo)
        length = rng.integers(2, size, size=n_meters)  # 2 .. size-1
        first = lo + (rng.random(n_meters) * (size - length)).astype(np.int64)
        cols = np.arange(periods)
        keep &= ~((cols >= first[:, None]) & (cols < (first + length)[:, None]))
    return keep


def _pick(
    rng: np.random.Generator, candidates: npt.NDArray[np.intp], k: int
) -> npt.NDArray[np.intp]:
    return np.sort(rng.choice(candidates, size=k, replace=False)) if k else candidates[:0]


def generate_readings(
    n_meters: int = 3,
    *,
    start: Any = "2026-01-01T00:00",
    periods: int = 60,
    cadence: Any = "1min",
    seed: int = 0,
    late_fraction: float = 0.0,
    duplicate_fraction: float = 0.0,
    invalid_fraction: float = 0.0,
    outages: int = 0,
    meter_prefix: str = "meter-",
) -> Readings:
    """Generate ``n_meters`` meters' power readings on a jittered cadence.

    Parameters
    ----------
    n_meters : int, optional
        Number of meters (default 3). Meter ids are ``meter_prefix`` plus a
        zero-padded number: ``meter-000``, ``meter-001``, ...
    start : str, datetime or numpy.datetime64, optional
        Nominal time of the first reading (UTC).
    periods : int, optional
        Readings per meter before outages remove some (default 60).
    cadence : str or timedelta, optional
        Nominal spacing of one meter's readings, e.g. ``"1min"``; at least 10 µs.
    seed : int, optional
        Seed of the random generator; equal arguments give equal readings.
    late_fraction, duplicate_fraction, invalid_fraction : float, optional
        Share of the readings (after outages) that are delivered late, that get
        a duplicate row, and whose power is NaN/±inf. Counts are
        ``round(fraction * n)``; the three sets do not overlap.
    outages : int, optional
        Holes per meter: each removes a run of at least two consecutive
        readings, so the interval across it is longer than 2.5 cadences.
        Needs ``periods >= 3 * outages + 2``.
    meter_prefix : str, optional
        Prefix of the meter ids.

    Returns
    -------
    Readings
        Rows in delivery order: by time, meters interleaved, late rows after
        their meter's next reading and duplicates right after their original.

    Notes
    -----
    Meter :math:`m` reads, at hour of day :math:`h`,

    .. math:: P_m(h) = s_m\\,L(h) - c_m\\,S(h) + \\varepsilon,\\qquad
              \\varepsilon \\sim \\mathcal N(0, (0.05\\,s_m)^2)

    with :math:`L` the load shape (base 0.25, peaks near 07:30 and 19:00),
    :math:`S` a clear-sky solar bell (06:00-20:00), scale :math:`s_m \\in
    [0.5, 4]` kW and solar capacity :math:`c_m` (zero for two meters in three).
    Power is rounded to watts.

    Examples
    --------
    >>> r = generate_readings(2, periods=4, seed=1)
    >>> len(r), sorted(set(r.meter))
    (8, ['meter-000', 'meter-001'])
    >>> bool((r.timestamp.astype("int64") % 1000 == 0).all())   # whole microseconds
    True
    >>> len(generate_readings(2, periods=10, duplicate_fraction=0.1))
    22
    """
    n_meters = _check_count("n_meters", n_meters, 1)
    periods = _check_count("periods", periods, 1)
    outages = _check_count("outages", outages, 0)
    if outages and periods < 3 * outages + 2:
        raise InvalidArgumentError(
            f"outages={outages} needs periods >= {3 * outages + 2} (3 per outage + 2); "
            f"got periods={periods}"
        )
    cadence_ns = to_duration_ns(cadence, "cadence")
    if cadence_ns < _MIN_CADENCE_NS:
        raise InvalidArgumentError(
            f"cadence={cadence!r} must be at least 10us (times are kept in µs)"
        )
    fractions = {
        "late_fraction": _check_fraction("late_fraction", late_fraction),
        "duplicate_fraction": _check_fraction("duplicate_fraction", duplicate_fraction),
        "invalid_fraction": _check_fraction("invalid_fraction", invalid_fraction),
    }
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer)):
        raise InvalidTypeError(f"seed={seed!r} must be an integer or None")
    t0 = _start_ns(start)
    # The last reading (jittered, or delivered late) is at most a few cadences past the grid.
    last = t0 + (periods + 4) * cadence_ns
    if last > int(np.iinfo(np.int64).max):
        raise TimeRangeError(
            f"start={start!r} with periods={periods} of cadence={cadence!r} ends after "
            "2262-04-11, the last time int64 nanoseconds hold; start earlier or ask for fewer"
        )
    rng = np.random.default_rng(seed)

    # The grid, jittered and rounded to µs, per meter (rows = meters).
    k = np.arange(periods, dtype=np.float64)
    jitter = rng.uniform(-_JITTER, _JITTER, size=(n_meters, periods))
    offset = np.rint((k + jitter) * cadence_ns / _NS_PER_US).astype(np.int64) * _NS_PER_US
    ts = (t0 // _NS_PER_US) * _NS_PER_US + offset

    hour = (ts % _NS_PER_DAY).astype(np.float64) / _NS_PER_HOUR
    scale = rng.uniform(0.5, 4.0, size=(n_meters, 1))
    capacity = np.where(np.arange(n_meters) % 3 == 2, rng.uniform(3.0, 8.0, n_meters), 0.0)
    power = scale * _daily_load(hour) - capacity[:, None] * _solar(hour)
    power = np.round(power + rng.normal(0.0, 0.05, size=power.shape) * scale, 3)

    keep = _outage_mask(rng, n_meters, periods, outages)
    code = np.broadcast_to(np.arange(n_meters)[:, None], keep.shape)[keep]
    ts, power = ts[keep], power[keep]
    n = int(ts.size)
    last_of_meter = np.r_[code[1:] != code[:-1], True]

    counts = {name: round(f * n) for name, f in fractions.items()}
    # Late rows sit at even positions and never the last, so no two are adjacent.
    late_ok = np.flatnonzero(~last_of_meter & (_rank_in_meter(code) % 2 == 0))
    if counts["late_fraction"] > late_ok.size:
        raise InvalidArgumentError(
            f"late_fraction={late_fraction!r} asks for {counts['late_fraction']} late rows; "
            f"at most {late_ok.size} fit (about half the readings)"
        )
    late = _pick(rng, late_ok, counts["late_fraction"])
    rest = np.setdiff1d(np.arange(n), late)
    if counts["duplicate_fraction"] + counts["invalid_fraction"] > rest.size:
        raise InvalidArgumentError(
            f"late_fraction + duplicate_fraction + invalid_fraction={sum(fractions.values())!r} "
            "asks for more rows than there are"
        )
    chosen = rng.permutation(rest)
    dup = np.sort(chosen[: counts["duplicate_fraction"]])
    bad = chosen[
        counts["duplicate_fraction"] : counts["duplicate_fraction"] + counts["invalid_fraction"]
    ]
    power[bad] = rng.choice(np.array([np.nan, np.inf, -np.inf]), size=bad.size)

    # Delivery: a late row arrives after its meter's next reading.
    delivery = ts.copy()
    delay = rng.integers(1, max(2, 3 * cadence_ns // _NS_PER_US), size=late.size) * _NS_PER_US
    delivery[late] = ts[late + 1] + delay
    dup_power = power[dup].copy()
    changed = rng.random(dup.size) < 0.5
    dup_power[changed] += np.round(rng.uniform(0.01, 0.5, int(changed.sum())), 3)

    all_code = np.r_[code, code[dup]]
    all_ts = np.r_[ts, ts[dup]]
    all_power = np.r_[power, dup_power]
    # Sort by delivery time, then meter, then original before its duplicate.
    order = np.lexsort(
        (np.r_[np.zeros(n), np.ones(dup.size)], all_code, np.r_[delivery, delivery[dup]])
    )
    width = max(3, len(str(n_meters - 1)))
    names = np.array([f"{meter_prefix}{i:0{width}d}" for i in range(n_meters)], dtype=object)
    return Readings(names[all_code[order]], as_datetime64(all_ts[order]), all_power[order])


def _rank_in_meter(code: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Position of each row within its meter's run (``code`` grouped)."""
    starts = segment_starts(code)
    run_start = starts[segment_ids(starts, code.size)]
    return np.arange(code.size, dtype=np.int64) - run_start
