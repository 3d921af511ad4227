"""DuckDB results as pandas frames: the dtypes DuckDB's own ``df()`` gives, built cheaper.

A result travels as Arrow and each column becomes a numpy array where it lies,
without pandas stacking same-typed columns into blocks (a copy of every
column). A text column whose values repeat (meters, stream actions, methods)
becomes an object array of a few shared strings instead of one new Python
string per row: a million-row batch holds 1,000 meter ids, not a million
copies of them. The values and dtypes are those of ``df()`` (the tests compare
the two): a column without NULLs keeps its numpy dtype; with NULLs, integers
and booleans are pandas' nullable ``Int64`` / ``boolean``, floats hold NaN,
times NaT and text None.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from energy_integral.ids import shared_strings

__all__ = ["frame_of_columns", "result_frame"]


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
