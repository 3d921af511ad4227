"""Codes for string and categorical columns of pandas, pyarrow and polars, from the column itself.

Turning such a column into a numpy array makes a Python string per row and
then has to hash them all again; the column knows better. A categorical
column (pandas ``Categorical``, a pyarrow dictionary array, a polars
``Categorical`` or ``Enum``) already holds integer codes, and a plain string
column is hashed by its own library (``pandas.factorize``,
``pyarrow.Array.dictionary_encode``, a polars cast to ``Categorical``), which
never builds a Python object per row. Each library is imported only when the
caller has handed in one of its objects, so it is importable then.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["column_codes"]

Codes = tuple[npt.NDArray[np.int64], npt.NDArray[Any]]


def column_codes(values: Any) -> Codes | None:
    """Codes (``-1`` where missing) and the unique ids, for a string or categorical column.

    None for anything else (numpy arrays, lists, numeric columns): those go
    through :func:`~._factorize.factorize`'s numpy paths.

    >>> import pandas as pd
    >>> codes, uniques = column_codes(pd.Categorical(["b", None, "a", "b"]))
    >>> codes.tolist(), uniques.tolist()
    ([1, -1, 0, 1], ['a', 'b'])
    """
    library = type(values).__module__.split(".")[0]
    if library == "pandas":
        return _pandas(values)
    if library == "pyarrow":
        return _pyarrow(values)
    if library == "polars":
        return _polars(values)
    return None


def used_codes(raw: npt.NDArray[Any], table: npt.NDArray[Any]) -> Codes:
    """``raw`` codes into ``table`` (distinct ids; ``-1`` missing), keeping only used entries.

    A category list may name ids that no row has (a pandas category left over,
    a pyarrow dictionary shared by several arrays); a meter without rows must
    not appear, so the used entries are renumbered densely, in table order.

    >>> used_codes(np.array([2, -1, 2, 0]), np.array(["x", "y", "z"], dtype=object))
    (array([ 1, -1,  1,  0]), array(['x', 'z'], dtype=object))
    """
    raw = raw.astype(np.int64, copy=False)
    counts = np.bincount(raw + 1, minlength=table.size + 1)[1:]
    used = counts > 0
    if used.all():
        return raw, table
    renumber = np.full(table.size + 1, -1, dtype=np.int64)  # entry 0 keeps -1 missing
    renumber[1:][used] = np.arange(int(used.sum()))
    return renumber[raw + 1], table[used]


def _distinct(table: npt.NDArray[Any]) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]:
    """Each entry of a small table of ids mapped to its first equal entry (``-1`` if missing)."""
    first: dict[Any, int] = {}
    mapped = np.empty(table.size, dtype=np.int64)
    for i, value in enumerate(table.tolist()):
        mapped[i] = -1 if value is None or value != value else first.setdefault(value, len(first))
    return mapped, np.array(list(first), dtype=object)


def _pandas(values: Any) -> Codes | None:
    import pandas as pd

    dtype = getattr(values, "dtype", None)
    if isinstance(dtype, pd.CategoricalDtype):
        categorical = values.cat if isinstance(values, pd.Series) else values
        table = np.asarray(categorical.categories, dtype=object)
        return used_codes(np.asarray(categorical.codes), table)
    arrow_string = isinstance(dtype, pd.ArrowDtype) and _arrow_string(dtype.pyarrow_dtype)
    if dtype is np.dtype(object) or isinstance(dtype, pd.StringDtype) or arrow_string:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        return codes.astype(np.int64, copy=False), np.asarray(uniques, dtype=object)
    return None


def _arrow_string(arrow_type: Any) -> bool:
    import pyarrow as pa

    kinds = [pa.types.is_string, pa.types.is_large_string, pa.types.is_dictionary]
    if hasattr(pa.types, "is_string_view"):
        kinds.append(pa.types.is_string_view)
    return any(kind(arrow_type) for kind in kinds)


def _pyarrow(values: Any) -> Codes | None:
    import pyarrow as pa

    if not isinstance(values, pa.Array | pa.ChunkedArray) or not _arrow_string(values.type):
        return None
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    raws, tables, offset = [], [], 0
    for chunk in chunks:
        encoded = chunk if pa.types.is_dictionary(chunk.type) else chunk.dictionary_encode()
        raw = encoded.indices.cast(pa.int64()).fill_null(-1).to_numpy()
        raws.append(np.where(raw >= 0, raw + offset, -1) if offset else raw)
        tables.append(encoded.dictionary.to_numpy(zero_copy_only=False))
        offset += len(encoded.dictionary)
    # Chunks encode separately, and a dictionary may hold nulls or repeats: make one table.
    mapped, distinct = _distinct(np.concatenate(tables) if tables else np.empty(0, object))
    raw = np.concatenate(raws) if raws else np.empty(0, dtype=np.int64)
    return used_codes(np.append(mapped, -1)[raw], distinct)  # index -1 reads the appended -1


def _polars(values: Any) -> Codes | None:
    import polars as pl

    if not isinstance(values, pl.Series):
        return None
    if values.dtype == pl.String:
        values = values.cast(pl.Categorical)  # polars hashes the strings once, natively
    elif not isinstance(values.dtype, pl.Categorical | pl.Enum):
        return None
    physical = values.to_physical().cast(pl.Int64).fill_null(-1).to_numpy()
    present = values.drop_nulls().unique()
    present_physical = present.to_physical().cast(pl.Int64).to_numpy()
    order = np.argsort(present_physical)
    names = np.asarray(present.cast(pl.String).to_list(), dtype=object)[order]
    present_physical = present_physical[order]
    # Physical codes index the process-wide category list: look them up among those present.
    if present_physical.size and int(present_physical[-1]) < max(1 << 20, 4 * physical.size):
        lookup = np.full(int(present_physical[-1]) + 2, -1, dtype=np.int64)
        lookup[present_physical + 1] = np.arange(present_physical.size)
        return lookup[physical + 1], names
    codes = np.searchsorted(present_physical, physical)
    codes[physical < 0] = -1
    return codes.astype(np.int64, copy=False), names
