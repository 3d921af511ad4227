"""Values between Python and the engines: numpy/pandas values as the plain Python values
Snowpark rows and bound parameters carry, and DuckDB's results as pandas frames.

**Result frames.** A DuckDB result travels as Arrow and each column becomes a
numpy array where it lies, without pandas stacking same-typed columns into
blocks (a copy of every column). A text column whose values repeat (meters,
stream actions, methods) becomes an object array of a few shared strings
instead of one new Python string per row: a million-row batch holds 1,000
meter ids, not a million copies of them. The values and dtypes are those of
DuckDB's own ``df()`` (the tests compare the two): a column without NULLs
keeps its numpy dtype; with NULLs, integers and booleans are pandas' nullable
``Int64`` / ``boolean``, floats hold NaN, times NaT and text None.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload

import numpy as np
import pandas as pd

import energy_integral as ei
from energy_integral.ids import shared_strings

__all__ = [
    "Rows",
    "beyond_nanoseconds",
    "bind",
    "checked_times",
    "frame_of_columns",
    "py_float",
    "py_scalar",
    "py_times",
    "result_frame",
    "times_named",
    "utc_now",
]


def utc_now() -> dt.datetime:
    """Now as a naive UTC datetime, to the µs (what TIMESTAMP_NTZ columns hold)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def py_times(values: Any) -> list[pd.Timestamp | None]:
    """datetime64 values as naive timestamps, to the nanosecond (as TIMESTAMP_NTZ(9) holds them).

    >>> py_times(np.array(["2026-01-01T00:00:00.000001999", "NaT"], dtype="datetime64[ns]"))
    [Timestamp('2026-01-01 00:00:00.000001999'), None]
    """
    boxed = pd.DatetimeIndex(np.asarray(values, dtype="datetime64[ns]")).astype(object)
    return [None if v is pd.NaT else v for v in boxed]


def checked_times(
    column: Any, name: str = "TIMESTAMP"
) -> tuple[np.ndarray[Any, np.dtype[np.datetime64]], np.ndarray[Any, np.dtype[np.bool_]]]:
    """A column of times as ``datetime64[ns]``, through the library's checked conversion.

    ``column.to_numpy(dtype="datetime64[ns]")`` wraps a ``9999-12-31`` held at µs
    (as pandas 2 keeps a wide date) to 1816; here a time outside 1677..2262 becomes
    ``NaT`` — a row the library rejects as ``invalid-time`` — and the mask says which.

    >>> wide = pd.Series(np.array(["2026-01-01", "9999-12-31"], dtype="datetime64[us]"))
    >>> times, far = checked_times(wide)
    >>> times.astype(str).tolist(), far.tolist()
    (['2026-01-01T00:00:00.000000000', 'NaT'], [False, True])
    """
    ns, far = ei.timestamps.to_ns_flagged(column, name)
    return ei.timestamps.as_datetime64(ns), far


class Rows(Sequence[tuple[Any, ...]]):
    """Table rows kept as columns: a sequence of tuples that stages without building them.

    A batch of a million readings writes a million result rows; building them
    as tuples costs more than the integration. Indexing or iterating gives
    tuples in the frame's column order (times as ``pd.Timestamp``), and
    :attr:`frame` hands the columns to a staging path as they are.

    >>> rows = Rows(pd.DataFrame({"A": ["m", "n"], "B": [1.5, 2.5]}))
    >>> len(rows), rows[1], list(rows)[0]
    (2, ('n', 2.5), ('m', 1.5))
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        plain = frame.index.equals(pd.RangeIndex(len(frame)))
        self.frame = frame if plain else frame.reset_index(drop=True)  # (which copies)

    def __len__(self) -> int:
        return len(self.frame)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return self.frame.itertuples(index=False, name=None)

    @overload
    def __getitem__(self, index: int) -> tuple[Any, ...]: ...

    @overload
    def __getitem__(self, index: slice) -> list[tuple[Any, ...]]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return list(Rows(self.frame.iloc[index]))
        return next(iter(Rows(self.frame.iloc[[index]])))


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


def beyond_nanoseconds(params: Sequence[Any]) -> tuple[int, Any] | None:
    """The first bound time (text or datetime) that int64 nanoseconds cannot hold, and its index.

    A ``TIMESTAMP_NTZ(9)`` holds it on Snowflake; where it is stored as
    nanoseconds (the embedded engine) it cannot be, and the engine's own error
    does not say so.

    >>> beyond_nanoseconds(["m1", "9999-12-31 00:00:00.000000000", 2.0])
    (1, '9999-12-31 00:00:00.000000000')
    >>> beyond_nanoseconds(["2026-01-01 00:00:00", "meter-9999"]) is None
    True
    """
    for i, value in enumerate(params):
        if not isinstance(value, (str, dt.date)):
            continue
        # To the µs: numpy reads nine decimals as nanoseconds, which would overflow.
        given = re.sub(r"(\.\d{6})\d+", r"\1", value) if isinstance(value, str) else value
        try:
            stamp = np.datetime64(given).astype("datetime64[us]")
        except ValueError:
            continue  # not a time
        try:
            ei.timestamps.to_ns(np.array([stamp]))  # the library's own range check
        except ei.errors.TimeRangeError:
            return i, value
    return None


@contextlib.contextmanager
def times_named(params: Sequence[Any], refused: type[BaseException]) -> Iterator[None]:
    """Turn an engine's ``refused`` conversion error over a bound time nanoseconds cannot
    hold (:func:`beyond_nanoseconds`) into a :class:`~energy_integral.errors.TimeRangeError`
    naming it: DuckDB says only "Could not convert string ... to INT64"."""
    try:
        yield
    except refused as exc:
        beyond = beyond_nanoseconds(params)
        if beyond is None:
            raise
        i, value = beyond
        raise ei.errors.TimeRangeError(
            f"params[{i}]={value!r} cannot be stored by the embedded engine: its "
            "TIMESTAMP_NTZ(9) holds int64 nanoseconds, 1677-09-21..2262-04-11. Snowflake "
            "stores it, and the procedure then quarantines the reading as invalid-time"
        ) from exc


def py_scalar(value: Any) -> Any:
    """A scalar as a plain Python value; NaN/NaT/NA become None."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def py_float(value: Any) -> float | None:
    """A float, or None for a missing value (SQL NULL)."""
    value = py_scalar(value)
    return None if value is None else float(value)


# -- DuckDB's results as frames ---------------------------------------------------------
def result_frame(relation: Any, connection: Any) -> pd.DataFrame:
    """The rows of the DuckDB ``relation`` (None: a statement without rows) as a DataFrame."""
    if relation is None:
        return pd.DataFrame()
    names = list(relation.columns)
    if len(set(names)) < len(names):  # a frame keeps both; a mapping of columns would not
        frame: pd.DataFrame = relation.df()
        return frame
    table = relation.to_arrow_table()
    columns: dict[str, Any] = {}
    others = []
    for name in names:
        column = table.column(name)
        kind = _kind(column.type)
        if kind == "text":
            columns[name] = shared_strings(column)
        elif kind == "plain" and column.null_count == 0:
            columns[name] = column.to_numpy()
        else:
            others.append(name)
    if others:  # NULLs, dates, decimals...: as DuckDB converts them
        columns.update(frame_of_columns(connection.from_arrow(table.select(others)).fetchnumpy()))
    return pd.DataFrame({name: columns[name] for name in names}, copy=False)


def _kind(arrow_type: Any) -> str:
    import pyarrow as pa

    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "text"
    plain = (
        pa.types.is_integer(arrow_type)
        or pa.types.is_floating(arrow_type)
        or pa.types.is_boolean(arrow_type)
        or (pa.types.is_timestamp(arrow_type) and arrow_type.unit == "ns" and not arrow_type.tz)
    )
    return "plain" if plain else "other"


def frame_of_columns(columns: Mapping[str, np.ndarray[Any, Any]]) -> pd.DataFrame:
    """Columns as DuckDB's ``fetchnumpy()`` gives them (masked where NULL), as a DataFrame.

    >>> ints = np.ma.masked_array([1, 2], mask=[False, True])
    >>> frame = frame_of_columns({"A": np.array([1.5, 2.5]), "B": ints})
    >>> frame.dtypes.astype(str).tolist(), frame["B"].tolist()
    (['float64', 'Int64'], [1, <NA>])
    """
    plain: dict[str, Any] = {}
    for name, values in columns.items():
        data = np.ma.getdata(values)
        if not np.ma.is_masked(values):
            plain[name] = data
            continue
        mask = np.ma.getmaskarray(values)
        if data.dtype.kind in "iu":
            plain[name] = pd.arrays.IntegerArray(data, mask)
        elif data.dtype.kind == "b":
            plain[name] = pd.arrays.BooleanArray(data, mask)
        else:
            missing = {"f": np.nan, "M": np.datetime64("NaT"), "m": np.timedelta64("NaT")}
            data = data.astype(object) if data.dtype.kind not in missing else data.copy()
            data[mask] = missing.get(data.dtype.kind)
            plain[name] = data
    return pd.DataFrame(plain, copy=False)
