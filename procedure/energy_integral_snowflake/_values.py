"""Converting numpy/pandas values to the plain Python values Snowpark rows carry."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["py_float", "py_scalar", "py_times", "utc_now"]


def utc_now() -> dt.datetime:
    """Now as a naive UTC datetime, to the µs (what TIMESTAMP_NTZ columns hold)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def py_times(values: Any) -> list[dt.datetime | None]:
    """datetime64 values as naive Python datetimes, cut to µs as TIMESTAMP_NTZ returns them.

    >>> py_times(np.array(["2026-01-01T00:00:00.000001999", "NaT"], dtype="datetime64[ns]"))
    [datetime.datetime(2026, 1, 1, 0, 0, 0, 1), None]
    """
    arr = np.asarray(values, dtype="datetime64[ns]").astype("datetime64[us]")
    return [None if np.isnat(v) else v.item() for v in arr]


def py_scalar(value: Any) -> Any:
    """A scalar as a plain Python value; NaN/NaT/NA become None."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def py_float(value: Any) -> float | None:
    """A float, or None for a missing value (SQL NULL)."""
    value = py_scalar(value)
    return None if value is None else float(value)
