"""Codes for string and categorical columns of pandas, pyarrow and polars, from the column itself.

Turning such a column into a numpy array makes a Python string per row and
then has to hash them all again; the column knows better. A categorical
column (pandas ``Categorical``, a pyarrow dictionary array, a polars
``Categorical`` or ``Enum``) already holds integer codes, and a plain string
column is hashed by a library (``pandas.factorize``; pyarrow's
``dictionary_encode``, also for polars strings once exported to Arrow), which
never builds a Python object per row. Each library is imported only when the
caller has handed in one of its objects, so it is importable then.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ._extras import library_of
from ._object_identity import identity_codes

__all__ = ["column_codes", "object_codes", "polars_strings_to_arrow"]

Codes = tuple[npt.NDArray[np.int64], npt.NDArray[Any]]
# A lookup table over polars' physical codes when the largest is below both bounds' maximum.
_LOOKUP_ROWS = 1 << 20
_LOOKUP_PER_ROW = 4


def column_codes(values: Any) -> Codes | None:
    """Codes (``-1`` where missing) and the unique ids, for a string or categorical column.

    None for anything else (numpy arrays, lists, numeric columns): those go
    through :func:`~._factorize.factorize`'s numpy paths.

    >>> import pandas as pd
    >>> codes, uniques = column_codes(pd.Categorical(["b", None, "a", "b"]))
    >>> codes.tolist(), uniques.tolist()
    ([1, -1, 0, 1], ['a', 'b'])
    """
    library = library_of(values)
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
    seen = np.zeros(table.size + 1, dtype=bool)
    seen[raw] = True  # a missing row (-1) marks the extra last entry
    used = seen[:-1]
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


def object_codes(objects: npt.NDArray[np.object_]) -> Codes:
    """``pandas.factorize`` of an object array: codes in order of appearance, ``-1`` missing.

    Ids that are shared objects (as readers deliver them) are grouped by
    object first (:mod:`._object_identity`); the answer is the same.

    >>> object_codes(np.array(["b", None, "a", "b"], dtype=object))
    (array([ 0, -1,  1,  0]), array(['b', 'a'], dtype=object))
    """
    coded = identity_codes(objects, _hash_objects)
    return coded if coded is not None else _hash_objects(objects)


def _hash_objects(values: Any) -> Codes:
    """``pandas.factorize`` of an object array or a pandas string column."""
    import pandas as pd

    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes.astype(np.int64, copy=False), np.asarray(uniques, dtype=object)


def _pandas(values: Any) -> Codes | None:
    import pandas as pd

    dtype = getattr(values, "dtype", None)
    if isinstance(dtype, pd.CategoricalDtype):
        categorical = values.cat if isinstance(values, pd.Series) else values
        table = np.asarray(categorical.categories, dtype=object)
        return used_codes(np.asarray(categorical.codes), table)
    arrow_string = isinstance(dtype, pd.ArrowDtype) and _arrow_string(dtype.pyarrow_dtype)
    if dtype is np.dtype(object):
        return object_codes(np.asarray(values))
    if isinstance(dtype, pd.StringDtype) or arrow_string:
        return _hash_objects(values)
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
    if len(chunks) == 1 and not pa.types.is_dictionary(chunks[0].type):
        # Encoded here: the dictionary is distinct, null-free and every entry used.
        encoded = chunks[0].dictionary_encode()
        return _indices(encoded), encoded.dictionary.to_numpy(zero_copy_only=False)
    raws, tables, offset = [], [], 0
    for chunk in chunks:
        encoded = chunk if pa.types.is_dictionary(chunk.type) else chunk.dictionary_encode()
        raw = _indices(encoded)
        raws.append(np.where(raw >= 0, raw + offset, -1) if offset else raw)
        tables.append(encoded.dictionary.to_numpy(zero_copy_only=False))
        offset += len(encoded.dictionary)
    # Chunks encode separately, and a dictionary may hold nulls or repeats: make one table.
    mapped, distinct = _distinct(np.concatenate(tables) if tables else np.empty(0, object))
    raw = np.concatenate(raws) if raws else np.empty(0, dtype=np.int64)
    return used_codes(np.append(mapped, -1)[raw], distinct)  # index -1 reads the appended -1


def _indices(encoded: Any) -> npt.NDArray[np.int64]:
    """A dictionary array's indices as int64, ``-1`` where null."""
    import pyarrow as pa

    if encoded.null_count == 0:
        return np.asarray(encoded.indices.to_numpy(), dtype=np.int64)
    return np.asarray(encoded.indices.cast(pa.int64()).fill_null(-1).to_numpy(), dtype=np.int64)


def polars_strings_to_arrow(series: Any) -> Any:
    """A polars ``String`` series as Arrow: polars' own string views, exported without a
    copy, where this polars can (else a ``large_string`` copy)."""
    import polars as pl

    newest = getattr(getattr(pl, "CompatLevel", None), "newest", None)
    return series.to_arrow() if newest is None else series.to_arrow(compat_level=newest())


def _polars(values: Any) -> Codes | None:
    import polars as pl

    if not isinstance(values, pl.Series):
        return None
    if values.dtype == pl.String:
        # Arrow's dictionary encoding hashed 10,000,000 rows of 10,000 eleven-character
        # ids in about 390 ms, export included, against 620 for polars' categorical cast.
        return _pyarrow(polars_strings_to_arrow(values))
    if not isinstance(values.dtype, pl.Categorical | pl.Enum):
        return None
    physical_series = values.to_physical()
    if values.null_count():
        physical = physical_series.cast(pl.Int64).fill_null(-1).to_numpy()
    else:
        # numpy indexes with intp; other index types take a slow path (10x, or more for take)
        physical = physical_series.to_numpy().astype(np.intp)
    rows = np.arange(physical.size)
    if values.null_count():
        rows = rows[physical >= 0]
    known = physical[rows] if values.null_count() else physical
    # Physical codes index the process-wide category list: renumber those present densely.
    top = int(known.max()) if known.size else -1
    if top >= max(_LOOKUP_ROWS, _LOOKUP_PER_ROW * physical.size):
        present, inverse = np.unique(known, return_inverse=True)
        codes = np.full(physical.size, -1, dtype=np.int64)
        codes[rows] = inverse
        first = np.zeros(present.size, dtype=np.intp)
        first[inverse[::-1]] = rows[::-1]
    else:
        row_of = np.full(top + 1, -1, dtype=np.intp)
        row_of[known] = rows  # a row of each present code (the last writer wins)
        present = np.flatnonzero(row_of >= 0)
        renumber = np.full(top + 2, -1, dtype=np.int64)  # the last entry keeps -1 missing
        renumber[present] = np.arange(present.size)
        codes = renumber[physical]
        first = row_of[present]
    names = np.asarray(values.gather(first).cast(pl.String).to_list(), dtype=object)
    return codes, names
