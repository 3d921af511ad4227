"""The columns of a readings file (pyarrow arrays) as the numpy arrays the engine takes.

Each function names the place of a bad value through a :data:`Where` (the
file and its line or row) and raises :class:`~energy_integral.errors.ReadingsFileError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from ._factorize import as_ids
from .errors import EnergyIntegralError, ReadingsFileError
from .timestamps import as_datetime64, to_ns_flagged

__all__ = ["Where", "first_failing", "meters", "plain", "power_values", "times"]

#: Names a row of a chunk (its index in the chunk) for a message: file and line or row.
Where = Callable[[int], str]
_TIME_EXAMPLE = "ISO 8601 such as 2026-01-01T00:00:00 or 2026-01-01T00:00:00+01:00"


def first_failing(array: Any, target: Any) -> int:
    """Index of the first value of ``array`` that does not cast to ``target`` (by bisection)."""
    import pyarrow as pa

    lo, hi = 0, len(array)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            array.slice(lo, mid - lo).cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            hi = mid
        else:
            lo = mid
    return lo


def plain(array: Any) -> Any:
    import pyarrow as pa

    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if pa.types.is_large_string(array.type):
        array = array.cast(pa.string())
    return array


_Flagged = tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]


def _parse_times(array: Any, tz: str | None, column: str) -> _Flagged | None:
    """Strings as int64 UTC ns, times beyond 1677..2262 as NaT (and flagged); None if some
    do not parse.

    Parsed at ns resolution, or else at µs (whose range reaches far past the ns one) for
    the out-of-range times, half by half when a chunk needs both.
    """
    import pyarrow as pa

    for unit in ("ns", "us"):
        try:
            parsed = array.cast(pa.timestamp(unit, tz=tz))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        return to_ns_flagged(parsed, column)
    if len(array) <= 1:
        return None
    half = len(array) // 2
    head = _parse_times(array.slice(0, half), tz, column)
    tail = None if head is None else _parse_times(array.slice(half), tz, column)
    if head is None or tail is None:
        return None
    return np.concatenate([head[0], tail[0]]), np.concatenate([head[1], tail[1]])


def _as_ns(array: Any, column: str, where: Where) -> _Flagged:
    """A timestamp/date array as UTC ns, out-of-range times as NaT (and flagged)."""
    try:
        return to_ns_flagged(array, column)
    except EnergyIntegralError as exc:
        raise ReadingsFileError(f"{where(0)}: {exc}") from None


def times(
    array: Any, column: str, where: Where
) -> tuple[npt.NDArray[np.datetime64], npt.NDArray[np.bool_]]:
    """UTC ``datetime64[ns]`` times (NaT where missing or out of range) and a mask of the
    out-of-range ones."""
    import pyarrow as pa

    array = plain(array)
    if pa.types.is_timestamp(array.type) or pa.types.is_date(array.type):
        ns, far = _as_ns(array, column, where)
        return as_datetime64(ns), far
    if not pa.types.is_string(array.type):
        raise ReadingsFileError(
            f"{where(0)}: time={column!r} has type {array.type}; expected timestamps or "
            f"{_TIME_EXAMPLE}"
        )
    naive, aware = pa.timestamp("ns"), pa.timestamp("ns", tz="UTC")
    valid = array.drop_null()
    mode = naive  # the reading the first value follows
    try:
        valid.slice(0, 1).cast(naive)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        mode = aware
    parsed = _parse_times(array, mode.tz, column)
    if parsed is not None:
        return as_datetime64(parsed[0]), parsed[1]
    i = first_failing(array, mode)
    value = array[i].as_py()
    mixed = ""
    try:
        array.slice(i, 1).cast(aware if mode is naive else naive)
        mixed = " (the column mixes times with and without a UTC offset)"
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    raise ReadingsFileError(
        f"{where(i)}: time={column!r} is {value!r}, not a timestamp{mixed}; "
        f"expected {_TIME_EXAMPLE}"
    )


def power_values(array: Any, column: str, where: Where) -> npt.NDArray[np.float64]:
    import pyarrow as pa

    array = plain(array)
    kinds = (pa.types.is_string, pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal)
    if not any(is_kind(array.type) for is_kind in kinds):
        raise ReadingsFileError(
            f"{where(0)}: power={column!r} has type {array.type}; expected numbers"
        )
    try:
        values = array.cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        i = first_failing(array, pa.float64())
        raise ReadingsFileError(
            f"{where(i)}: power={column!r} is {array[i].as_py()!r}, not a number"
        ) from None
    return np.asarray(values.fill_null(np.nan).to_numpy(zero_copy_only=False), dtype=np.float64)


def meters(array: Any, column: str) -> npt.NDArray[Any]:
    return as_ids(plain(array), column)  # nullable integer ids stay exact
