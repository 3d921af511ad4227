"""Conversion of user time values to int64 nanoseconds since the epoch (UTC).

Inside the library time is always ``int64`` nanoseconds, never a float and never
``datetime64`` arithmetic (numpy#14806: float conversion of large datetimes loses
precision). Missing times (``NaT``, ``None``) become :data:`NAT`, the value numpy
itself uses for ``NaT``, so that callers can flag them instead of crashing.

:func:`to_ns` is the one checked conversion, used at every boundary (the
library's entry points, the CLI, the Snowflake adapter). It never wraps: a
time outside what int64 nanoseconds hold (:data:`MIN_TIME` .. :data:`MAX_TIME`,
1677-09-21 .. 2262-04-11) raises :class:`~energy_integral.errors.TimeRangeError`,
or with ``out_of_range="nat"`` becomes :data:`NAT` (a missing time, which
:func:`~energy_integral.integrate_meters` rejects as ``invalid-time``).

Accepted inputs, with the same rules for all:

* numpy ``datetime64`` of any unit;
* pandas ``Series``/``Index`` of datetimes (naive = UTC, tz-aware converted);
  an object Series is read value by value, like a list;
* pyarrow ``timestamp``/``date`` arrays and polars ``Datetime``/``Date`` Series;
* sequences of Python ``datetime`` / ``pandas.Timestamp`` / ``numpy.datetime64``
  (naive = UTC, aware converted); naive and aware mixed is an error.

Numbers (integers, floats, timedeltas) are refused as ambiguous, in every
container: seconds or nanoseconds since what?
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from ._extras import library_of
from .errors import InvalidArgumentError, InvalidTypeError, TimeRangeError

__all__ = [
    "MAX_TIME",
    "MIN_TIME",
    "NAT",
    "NS_PER_HOUR",
    "OUT_OF_RANGE",
    "as_datetime64",
    "check_ns",
    "parse_duration",
    "to_duration_ns",
    "to_ns",
    "to_ns_flagged",
]

#: The int64 value numpy uses for ``NaT``.
NAT: int = int(np.iinfo(np.int64).min)
NS_PER_HOUR: float = 3_600_000_000_000.0
_MAX_NS: int = int(np.iinfo(np.int64).max)
_MIN_NS: int = NAT + 1
#: The earliest and latest times int64 nanoseconds hold.
MIN_TIME: np.datetime64 = np.datetime64(_MIN_NS, "ns")
MAX_TIME: np.datetime64 = np.datetime64(_MAX_NS, "ns")
#: What :func:`to_ns` does with a time outside ``MIN_TIME .. MAX_TIME``.
OUT_OF_RANGE: tuple[str, ...] = ("raise", "nat")
_RANGE = "outside the nanosecond range 1677-09-21..2262-04-11"
_AMBIGUOUS = (
    "expected datetimes (numpy datetime64, pandas, pyarrow, polars or Python datetimes). "
    "Numbers are ambiguous: convert with np.asarray(x, 'datetime64[ns]')"
)
_FINE_UNITS = ("ns", "ps", "fs", "as")  # units that convert to ns without overflow
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


def _from_arrow(array: Any, name: str) -> npt.NDArray[Any]:
    """A pyarrow timestamp/date array as numpy ``datetime64`` in its own unit (NaT for null)."""
    import pyarrow as pa

    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    kind = array.type
    if pa.types.is_timestamp(kind):
        if kind.tz is not None:  # Arrow stores UTC whatever the zone: drop the label only
            array = array.cast(pa.timestamp(kind.unit))
    elif not pa.types.is_date(kind):
        raise InvalidTypeError(f"{name} has Arrow type {kind}; {_AMBIGUOUS}")
    return np.asarray(array.to_numpy(zero_copy_only=False))


def _from_pandas(obj: Any, name: str) -> npt.NDArray[Any]:
    """A pandas Series/Index as numpy ``datetime64`` (UTC) in its own unit, or an object array."""
    import pandas as pd

    dtype = obj.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        obj = obj.dt.tz_convert(None) if hasattr(obj, "dt") else obj.tz_convert(None)
        return np.asarray(obj.to_numpy())
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        return _from_arrow(pa.array(obj), name)
    if dtype.kind == "M":
        return np.asarray(obj.to_numpy())
    if dtype.kind == "O":  # read value by value, exactly as a list is
        return np.asarray(obj.to_numpy(), dtype=object)
    raise InvalidTypeError(f"{name} has dtype {dtype}; {_AMBIGUOUS}")


_Flagged = tuple[npt.NDArray[np.int64], "npt.NDArray[np.bool_] | None"]


def _flag_out_of_range(
    ns: npt.NDArray[np.int64],
    bad: npt.NDArray[np.bool_],
    shown: npt.NDArray[Any],
    name: str,
    out_of_range: str,
) -> _Flagged:
    if not bad.any():
        return ns, None
    if out_of_range == "raise":
        i = int(np.flatnonzero(bad)[0])
        raise TimeRangeError(f"{name}[{i}]={shown[i]} is {_RANGE}")
    ns[bad] = NAT
    return ns, bad


def _from_datetime64(arr: npt.NDArray[Any], name: str, out_of_range: str) -> _Flagged:
    unit, count = np.datetime_data(arr.dtype)
    if unit == "generic":
        raise InvalidTypeError(
            f"{name} has dtype {arr.dtype} without a unit; give e.g. datetime64[s]"
        )
    if arr.dtype == np.dtype("datetime64[ns]"):
        return arr.view(np.int64), None
    ns = arr.astype("datetime64[ns]")
    if (unit in _FINE_UNITS and count == 1) or arr.size == 0:
        return ns.view(np.int64), None
    # Coarse units (s, D, ...) can exceed the ns range and numpy wraps them silently:
    # a value that does not convert back to itself did not fit.
    bad = (ns.astype(arr.dtype) != arr) & ~np.isnat(arr)
    return _flag_out_of_range(ns.view(np.int64), bad, arr, name, out_of_range)


def _is_missing(value: Any) -> bool:
    """None, NaT (numpy's or pandas') or a float NaN (how pandas marks a missing object)."""
    if value is None:
        return True
    if isinstance(value, (float, np.floating, np.datetime64)) or type(value).__name__ == "NaTType":
        return bool(value != value) or (isinstance(value, np.datetime64) and bool(np.isnat(value)))
    return False


def _from_objects(values: Iterable[Any], name: str, out_of_range: str) -> _Flagged:
    out: list[int] = []
    far: list[int] = []
    aware: bool | None = None
    for i, value in enumerate(values):
        if _is_missing(value):
            out.append(NAT)
            continue
        if isinstance(value, np.datetime64):
            ns = int(_from_datetime64(np.array([value]), f"{name}[{i}]", "nat")[0][0])
            if ns == NAT:
                if out_of_range == "raise":
                    raise TimeRangeError(f"{name}[{i}]={value!r} is {_RANGE}")
                far.append(i)
            out.append(ns)
            continue
        if not isinstance(value, dt.datetime):
            raise InvalidTypeError(
                f"{name}[{i}]={value!r} is {type(value).__name__}; expected a datetime, "
                "a numpy datetime64 array or pandas datetimes"
            )
        given = value
        this_aware = value.tzinfo is not None and value.utcoffset() is not None
        if aware is not None and this_aware != aware:
            raise InvalidTypeError(
                f"{name} mixes tz-naive and tz-aware datetimes (first at {name}[{i}])"
            )
        aware = this_aware
        if this_aware:
            try:
                value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
            except OverflowError:  # before year 1 or after 9999 in UTC: far out of range
                value = dt.datetime.max if value.year > 1 else dt.datetime.min
        # Whole microseconds via numpy, then pandas.Timestamp's extra nanoseconds (numpy
        # drops them), in Python ints so that a date outside int64 ns is caught, not wrapped.
        ns = int(np.datetime64(value, "us").astype(np.int64)) * 1_000
        ns += int(getattr(value, "nanosecond", 0))
        if not _MIN_NS <= ns <= _MAX_NS:
            if out_of_range == "raise":
                raise TimeRangeError(f"{name}[{i}]={given!r} is {_RANGE}")
            ns = NAT
            far.append(i)
        out.append(ns)
    if not far:
        return np.asarray(out, dtype=np.int64), None
    bad = np.zeros(len(out), dtype=bool)
    bad[far] = True
    return np.asarray(out, dtype=np.int64), bad


def to_ns(
    timestamps: Any, name: str = "timestamps", *, out_of_range: str = "raise"
) -> npt.NDArray[np.int64]:
    """Return ``timestamps`` as a 1-D int64 array of UTC nanoseconds (``NaT`` → :data:`NAT`).

    The one checked conversion of times: use it instead of
    ``to_numpy(dtype="datetime64[ns]")``, which wraps a ``9999-12-31`` to 1816.

    Parameters
    ----------
    timestamps : array_like
        numpy ``datetime64`` (any unit), pandas, pyarrow or polars datetimes, or
        a sequence of Python/pandas datetimes (naive = UTC, aware converted).
    name : str, optional
        The argument's name, used in error messages.
    out_of_range : {"raise", "nat"}, optional
        A time outside :data:`MIN_TIME` .. :data:`MAX_TIME` raises
        :class:`~energy_integral.errors.TimeRangeError` (default), or becomes
        :data:`NAT`, so that :func:`~energy_integral.integrate_meters` rejects
        its row as ``invalid-time``.

    Raises
    ------
    InvalidTypeError
        Numbers, strings, timedeltas, or naive and aware datetimes mixed.
    TimeRangeError
        A time outside the nanosecond range (with ``out_of_range="raise"``).

    Examples
    --------
    >>> to_ns(np.array(["1970-01-01T00:00:01"], dtype="datetime64[s]"))
    array([1000000000])
    >>> import datetime as dt
    >>> to_ns([dt.datetime(1970, 1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1)))])
    array([0])
    >>> sentinel = np.array(["2026-01-01", "9999-12-31"], dtype="datetime64[s]")
    >>> bool(to_ns(sentinel, out_of_range="nat")[1] == NAT)
    True
    >>> to_ns(sentinel, "TS")
    Traceback (most recent call last):
    ...
    energy_integral.errors.TimeRangeError: TS[1]=9999-12-31T00:00:00 is outside the ...
    """
    return _convert(timestamps, name, out_of_range)[0]


def to_ns_flagged(
    timestamps: Any, name: str = "timestamps"
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """:func:`to_ns` with ``out_of_range="nat"``, and which rows were out of range.

    A row whose time is outside 1677..2262 comes back as :data:`NAT` like a
    missing one; the mask tells the two apart, for a rejection's detail.

    >>> ns, far = to_ns_flagged(np.array(["2026-01-01", "NaT", "9999-12-31"], "datetime64[D]"))
    >>> (ns == NAT).tolist(), far.tolist()
    ([False, True, True], [False, False, True])
    """
    ns, far = _convert(timestamps, name, "nat")
    return ns, np.zeros(ns.size, dtype=bool) if far is None else far


def _convert(timestamps: Any, name: str, out_of_range: str) -> _Flagged:
    if out_of_range not in OUT_OF_RANGE:
        raise InvalidArgumentError(
            f"out_of_range={out_of_range!r} is not valid; use one of {', '.join(OUT_OF_RANGE)}"
        )
    library = library_of(timestamps)
    if library == "polars" and hasattr(timestamps, "to_arrow"):
        timestamps, library = timestamps.to_arrow(), "pyarrow"
    if library == "pyarrow" and hasattr(timestamps, "type"):
        timestamps = _from_arrow(timestamps, name)
    elif library == "pandas" and hasattr(timestamps, "dtype"):
        timestamps = _from_pandas(timestamps, name)
    try:
        arr = np.asarray(timestamps)
    except (TypeError, ValueError):
        raise InvalidTypeError(f"{name} is not a sequence of times; {_AMBIGUOUS}") from None
    if arr.ndim != 1:
        raise InvalidArgumentError(f"{name} must be one-dimensional; got shape {arr.shape}")
    if arr.dtype.kind == "M":
        return _from_datetime64(arr, name, out_of_range)
    if arr.size == 0:
        return np.empty(0, dtype=np.int64), None
    if arr.dtype == object:
        return _from_objects(arr.tolist(), name, out_of_range)
    raise InvalidTypeError(f"{name} has dtype {arr.dtype}; {_AMBIGUOUS}")


def check_ns(value: Any, name: str) -> int:
    """``value`` as an int of nanoseconds inside the int64 range, or an error naming it.

    For times that arrive as numbers (a stored state's ``last_ts``): ints only,
    not bools, floats or strings.

    >>> check_ns(1_000, "last_ts")
    1000
    >>> check_ns(1e30, "last_ts")
    Traceback (most recent call last):
    ...
    energy_integral.errors.InvalidTypeError: last_ts=1e+30 is float; expected int nanoseconds ...
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidTypeError(
            f"{name}={value!r} is {type(value).__name__}; expected int nanoseconds since the epoch"
        )
    ns = int(value)
    if not _MIN_NS <= ns <= _MAX_NS:
        raise TimeRangeError(f"{name}={ns} is {_RANGE}")
    return ns


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
    energy_integral.errors.InvalidArgumentError: duration 'soon' is not understood; use e.g. ...
    """
    match = _DURATION.match(text)
    if match is None:
        raise InvalidArgumentError(
            f"duration {text!r} is not understood; use e.g. '30s', '15min', '1h', '1D'"
        )
    count = float(match.group(1)) if match.group(1) else 1.0
    return round(count * _NS_PER_UNIT[match.group(2)])


def to_duration_ns(value: Any, name: str) -> int:
    """A timedelta, numpy timedelta64 or duration string as positive int nanoseconds.

    The result fits int64 (at most ~292 years), or an error names ``name``.

    >>> to_duration_ns("1h", "max_gap") == 3_600 * 10**9
    True
    >>> to_duration_ns("0s", "max_gap")
    Traceback (most recent call last):
    ...
    energy_integral.errors.InvalidArgumentError: max_gap='0s' must be a positive duration
    """
    if isinstance(value, str):
        try:
            ns = parse_duration(value)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"{name}={value!r}: {exc}") from None
    elif isinstance(value, np.timedelta64):
        if np.isnat(value):
            raise InvalidArgumentError(f"{name}=NaT is not a duration")
        unit, _ = np.datetime_data(value.dtype)
        if unit in ("generic", "Y", "M"):
            raise InvalidArgumentError(
                f"{name}={value!r} has no fixed length in nanoseconds; "
                "give e.g. timedelta64(1, 'h')"
            )
        if abs(float(value / np.timedelta64(1, "ns"))) > _MAX_NS:
            raise InvalidArgumentError(f"{name}={value!r} is longer than int64 nanoseconds hold")
        ns = int(value.astype("timedelta64[ns]").astype(np.int64))
    elif isinstance(value, dt.timedelta):
        # pandas.Timedelta is a timedelta subclass with nanosecond precision.
        # Integer arithmetic: total_seconds() is a float and loses nanoseconds on long spans.
        exact = (value.days * 86_400 + value.seconds) * 1_000_000_000 + value.microseconds * 1_000
        ns = int(getattr(value, "value", exact))
    else:
        raise InvalidTypeError(
            f"{name}={value!r} is {type(value).__name__}; expected a timedelta, "
            "numpy timedelta64 or a string like '15min'"
        )
    if ns <= 0:
        raise InvalidArgumentError(f"{name}={value!r} must be a positive duration")
    if ns > _MAX_NS:
        raise InvalidArgumentError(f"{name}={value!r} is longer than int64 nanoseconds hold")
    return ns
