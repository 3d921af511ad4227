"""Converting numpy/pandas values to the plain Python values Snowpark rows carry."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["bind", "py_float", "py_scalar", "py_times", "utc_now"]


def utc_now() -> dt.datetime:
    """Now as a naive UTC datetime, to the µs (what TIMESTAMP_NTZ columns hold)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def py_times(values: Any) -> list[pd.Timestamp | None]:
    """datetime64 values as naive timestamps, to the nanosecond (as TIMESTAMP_NTZ(9) holds them).

    >>> py_times(np.array(["2026-01-01T00:00:00.000001999", "NaT"], dtype="datetime64[ns]"))
    [Timestamp('2026-01-01 00:00:00.000001999'), None]
    """
    arr = np.asarray(values, dtype="datetime64[ns]")
    return [None if np.isnat(v) else pd.Timestamp(v) for v in arr]


def bind(value: Any) -> Any:
    """A bind parameter as both engines take it: times as text with nanoseconds, NaN as NULL.

    A string bound where a ``TIMESTAMP_NTZ(9)`` is expected is cast with all nine
    decimals; a ``datetime`` would be cut to microseconds on the way.

    >>> bind(pd.Timestamp("2026-01-01 00:00:00.000000001")), bind(float("nan")), bind(2)
    ('2026-01-01 00:00:00.000000001', None, 2)
    """
    if isinstance(value, (pd.Timestamp, np.datetime64, dt.datetime)):
        stamp = pd.Timestamp(value)
        return None if pd.isna(stamp) else stamp.isoformat(sep=" ", timespec="nanoseconds")
    return py_scalar(value)


def py_scalar(value: Any) -> Any:
    """A scalar as a plain Python value; NaN/NaT/NA become None."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def py_float(value: Any) -> float | None:
    """A float, or None for a missing value (SQL NULL)."""
    value = py_scalar(value)
    return None if value is None else float(value)
