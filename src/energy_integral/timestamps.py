"""Conversion of user time values to int64 nanoseconds since the epoch (UTC).

Inside the library time is always ``int64`` nanoseconds, never a float and never
``datetime64`` arithmetic (numpy#14806: float conversion of large datetimes loses
precision). Missing times (``NaT``, ``None``) become :data:`NAT`, the value numpy
itself uses for ``NaT``, so that callers can flag them instead of crashing.

Accepted inputs:

* numpy ``datetime64`` of any unit;
* pandas ``Series``/``Index``/``DatetimeIndex`` (naive = UTC, tz-aware converted);
* sequences of Python ``datetime`` (naive = UTC, aware converted);
  naive and aware mixed is an error.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["NAT", "NS_PER_HOUR", "as_datetime64", "parse_duration", "to_duration_ns", "to_ns"]

#: The int64 value numpy uses for ``NaT``.
NAT: int = int(np.iinfo(np.int64).min)
NS_PER_HOUR: float = 3_600_000_000_000.0
_MAX_NS: int = int(np.iinfo(np.int64).max)

_NS_PER_UNIT = {
    "ns": 1,
    "us": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "min": 60_000_000_000,
    "T": 60_000_000_000,
    "h": 3_600_000_000_000,
    "H": 3_600_000_000_000,
    "D": 86_400_000_000_000,
    "d": 86_400_000_000_000,
    "W": 7 * 86_400_000_000_000,
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?)?\s*(" + "|".join(_NS_PER_UNIT) + r")\s*$")


def _is_pandas(obj: object) -> bool:
    return type(obj).__module__.split(".")[0] == "pandas"


def _from_pandas(obj: Any) -> npt.NDArray[np.int64]:
    tz = getattr(obj.dt, "tz", None) if hasattr(obj, "dt") else getattr(obj, "tz", None)
    if tz is not None:
        obj = obj.dt.tz_convert(None) if hasattr(obj, "dt") else obj.tz_convert(None)
    return np.asarray(obj.to_numpy(dtype="datetime64[ns]")).view(np.int64)


def _from_datetimes(values: Iterable[Any], name: str) -> npt.NDArray[np.int64]:
    out: list[int] = []
    aware: bool | None = None
    for i, value in enumerate(values):
        if value is None:
            out.append(NAT)
            continue
        if not isinstance(value, dt.datetime):
            raise TypeError(
                f"{name}[{i}]={value!r} is {type(value).__name__}; expected a datetime, "
                "a numpy datetime64 array or pandas datetimes"
            )
        this_aware = value.tzinfo is not None and value.utcoffset() is not None
        if aware is not None and this_aware != aware:
            raise TypeError(f"{name} mixes tz-naive and tz-aware datetimes (first at {name}[{i}])")
        aware = this_aware
        if this_aware:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        # Whole microseconds via numpy, then pandas.Timestamp's extra nanoseconds (numpy
        # drops them), in Python ints so that a date outside int64 ns is caught, not wrapped.
        ns = int(np.datetime64(value, "us").astype(np.int64)) * 1_000
        ns += int(getattr(value, "nanosecond", 0))
        if not NAT < ns <= _MAX_NS:
            raise ValueError(f"{name}[{i}]={value!r} is outside the nanosecond range 1677..2262")
        out.append(ns)
    return np.asarray(out, dtype=np.int64)


def to_ns(timestamps: Any, name: str = "timestamps") -> npt.NDArray[np.int64]:
    """Return ``timestamps`` as a 1-D int64 array of UTC nanoseconds (``NaT`` → :data:`NAT`).

    >>> to_ns(np.array(["1970-01-01T00:00:01"], dtype="datetime64[s]"))
    array([1000000000])
    >>> import datetime as dt
    >>> to_ns([dt.datetime(1970, 1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1)))])
    array([0])
    """
    if _is_pandas(timestamps):
        return _from_pandas(timestamps)
    arr = np.asarray(timestamps)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {arr.shape}")
    if arr.dtype.kind == "M":
        unit, _ = np.datetime_data(arr.dtype)
        if unit == "generic":
            raise TypeError(f"{name} has dtype {arr.dtype} without a unit; give e.g. datetime64[s]")
        ns = arr.astype("datetime64[ns]", copy=False)
        # Coarse units (s, D, ...) can exceed the ns range (1677..2262) and would wrap.
        if unit not in ("ns", "ps", "fs", "as") and arr.size:
            back = ns.astype(arr.dtype)
            bad = (back != arr) & ~np.isnat(arr)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(f"{name}[{i}]={arr[i]} is outside the nanosecond range 1677..2262")
        return ns.view(np.int64)
    if arr.dtype == object or arr.size == 0:
        if arr.size == 0:
            return np.empty(0, dtype=np.int64)
        return _from_datetimes(arr.tolist(), name)
    raise TypeError(
        f"{name} has dtype {arr.dtype}; expected datetimes (numpy datetime64, pandas or "
        "Python datetimes). Integers are ambiguous: convert with np.asarray(x, 'datetime64[ns]')"
    )


def as_datetime64(ns: npt.ArrayLike) -> npt.NDArray[np.datetime64]:
    """View int64 nanoseconds as ``datetime64[ns]`` (``NAT`` becomes ``NaT``)."""
    return np.asarray(ns, dtype=np.int64).view("datetime64[ns]")


def parse_duration(text: str) -> int:
    """Parse a pandas-style duration string (``"15min"``, ``"1h"``, ``"1D"``) to nanoseconds.

    >>> parse_duration("15min") == 15 * 60 * 10**9
    True
    >>> parse_duration("1.5h") == 90 * 60 * 10**9
    True
    >>> parse_duration("soon")
    Traceback (most recent call last):
    ...
    ValueError: duration 'soon' is not understood; use e.g. '30s', '15min', '1h', '1D'
    """
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(
            f"duration {text!r} is not understood; use e.g. '30s', '15min', '1h', '1D'"
        )
    count = float(match.group(1)) if match.group(1) else 1.0
    return round(count * _NS_PER_UNIT[match.group(2)])


def to_duration_ns(value: Any, name: str) -> int:
    """Convert a timedelta, numpy timedelta64 or duration string to positive int nanoseconds."""
    if isinstance(value, str):
        try:
            ns = parse_duration(value)
        except ValueError as exc:
            raise ValueError(f"{name}={value!r}: {exc}") from None
    elif isinstance(value, np.timedelta64):
        if np.isnat(value):
            raise ValueError(f"{name}=NaT is not a duration")
        ns = int(value.astype("timedelta64[ns]").astype(np.int64))
    elif isinstance(value, dt.timedelta):
        # pandas.Timedelta is a timedelta subclass with nanosecond precision.
        # Integer arithmetic: total_seconds() is a float and loses nanoseconds on long spans.
        exact = (value.days * 86_400 + value.seconds) * 1_000_000_000 + value.microseconds * 1_000
        ns = int(getattr(value, "value", exact))
    else:
        raise TypeError(
            f"{name}={value!r} is {type(value).__name__}; expected a timedelta, "
            "numpy timedelta64 or a string like '15min'"
        )
    if ns <= 0:
        raise ValueError(f"{name}={value!r} must be a positive duration")
    return ns
