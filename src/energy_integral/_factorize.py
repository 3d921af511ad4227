"""Meter ids to dense integer codes, with missing ids flagged."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import numpy.typing as npt

from ._column_codes import column_codes
from ._hash_codes import fixed_width_codes
from ._segments import segment_ids, segment_starts

__all__ = ["as_ids", "factorize", "grouped_runs", "sorted_runs"]


def as_ids(values: Any, name: str = "meter_ids") -> npt.NDArray[Any]:
    """Meter ids as a 1-D numpy array (pandas, polars and pyarrow columns unwrapped)."""
    library = type(values).__module__.split(".")[0]
    if library == "pyarrow" and hasattr(values, "to_numpy"):
        # A pyarrow Array copies only when told to (strings and nulls always need a copy).
        values = values.to_numpy(zero_copy_only=False)
    elif library in ("pandas", "polars"):
        values = values.to_numpy() if hasattr(values, "to_numpy") else np.asarray(values)
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {arr.shape}")
    return arr


def sorted_runs(ids: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], npt.NDArray[np.intp]] | None:
    """The unique ids and where each one's run starts, when numeric ``ids`` are sorted.

    One pass: an array is sorted exactly when the values of its runs of equal
    values strictly increase, and the runs are found by comparing neighbours.
    None for ids that are not sorted, not numeric, missing (NaN) or empty.

    >>> sorted_runs(np.array([3, 3, 5, 7, 7]))
    (array([3, 5, 7]), array([0, 2, 3]))
    >>> sorted_runs(np.array([3, 5, 3])) is None
    True
    """
    if ids.dtype.kind not in "iuf" or ids.size == 0:
        return None
    head = ids[:64]  # a shuffled batch gives itself away at once: skip the full pass
    if not np.all(head[1:] >= head[:-1]):
        return None
    change = np.empty(ids.size, dtype=bool)
    change[0] = True
    np.not_equal(ids[1:], ids[:-1], out=change[1:])  # NaN != NaN: every NaN is a run...
    starts = np.flatnonzero(change)
    uniques = ids[starts]
    if not np.all(uniques[1:] > uniques[:-1]):  # ...that compares False here
        return None
    return uniques, starts


def grouped_runs(codes: npt.NDArray[np.int64], n_uniques: int) -> npt.NDArray[np.intp] | None:
    """Where each code's run starts, when every code forms one contiguous run (in any order).

    A file grouped by meter but not sorted by meter id, or string ids grouped
    in any order, need no reordering either. None when some code is split
    over several runs, or some row is missing (``-1``).

    >>> grouped_runs(np.array([2, 2, 0, 1, 1]), 3)
    array([0, 2, 3])
    >>> grouped_runs(np.array([2, 0, 2]), 2) is None
    True
    """
    if codes.size == 0:
        return None
    head = codes[:1024]  # a batch in time or random order gives itself away at once
    if np.count_nonzero(head[1:] != head[:-1]) >= np.unique(head).size:
        return None
    if np.count_nonzero(codes[1:] != codes[:-1]) != n_uniques - 1 or int(codes.min()) < 0:
        return None
    return segment_starts(codes)


def factorize(
    values: Any, name: str = "meter_ids"
) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]:
    """Codes (``-1`` for a missing id) and the unique ids they index.

    Already-grouped numeric ids (the common case: a fleet file sorted by meter)
    take an O(n) path; other numeric ids are sorted once by numpy. Fixed-width
    strings and bytes are hashed (:mod:`._hash_codes`). String and categorical
    columns of pandas, pyarrow and polars use the codes they hold or their own
    hash (:mod:`._column_codes`). Object arrays (mixed, or with ``None``) use
    pandas' hash table when pandas is installed, else a dictionary. Uniques
    come out sorted for numeric ids and numpy strings; for columns and object
    arrays they are in the column's category order or in order of appearance.

    >>> codes, uniques = factorize(np.array(["b", "a", "b"]))
    >>> codes, uniques
    (array([1, 0, 1]), array(['a', 'b'], dtype='<U1'))
    >>> factorize(np.array([3.0, np.nan]))[0]
    array([ 0, -1])
    """
    coded = column_codes(values)
    if coded is not None:
        return coded
    arr = as_ids(values, name)
    if arr.dtype.kind in "iub":
        return _numeric(arr, np.zeros(arr.size, dtype=bool))
    if arr.dtype.kind == "f":
        return _numeric(arr, np.isnan(arr))
    if arr.dtype.kind in "US":
        return fixed_width_codes(arr)
    if arr.dtype == object:
        return _objects(arr)
    raise TypeError(f"{name} has dtype {arr.dtype}; expected strings or integers")


def _numeric(
    arr: npt.NDArray[Any], missing: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]:
    any_missing = bool(missing.any())
    present = arr[~missing] if any_missing else arr
    runs = sorted_runs(present)
    if runs is not None:
        uniques, starts = runs
        grouped = segment_ids(starts, present.size)
    elif _small_non_negative_ints(present):
        # A lookup table over the id range: O(n) instead of np.unique's sort.
        seen = np.zeros(int(present.max()) + 1, dtype=bool)
        seen[present] = True
        uniques = np.flatnonzero(seen).astype(present.dtype)
        grouped = (np.cumsum(seen) - 1)[present]
    else:
        uniques, grouped = np.unique(present, return_inverse=True)
    if not any_missing:
        return grouped.astype(np.int64, copy=False), uniques
    codes = np.full(arr.size, -1, dtype=np.int64)
    codes[~missing] = grouped
    return codes, uniques


def _small_non_negative_ints(values: npt.NDArray[Any]) -> bool:
    if values.dtype.kind not in "iu" or values.size == 0:
        return False
    return int(values.min()) >= 0 and int(values.max()) < max(1 << 20, 4 * values.size)


def _objects(arr: npt.NDArray[Any]) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]:
    if "pandas" in sys.modules or _pandas_available():
        import pandas as pd

        codes, uniques = pd.factorize(arr, use_na_sentinel=True)
        return codes.astype(np.int64), np.asarray(uniques, dtype=object)
    seen: dict[Any, int] = {}
    out = np.empty(arr.size, dtype=np.int64)
    for i, value in enumerate(arr.tolist()):
        if value is None or value != value:  # None or NaN
            out[i] = -1
        else:
            out[i] = seen.setdefault(value, len(seen))
    return out, np.array(list(seen), dtype=object)


def _pandas_available() -> bool:
    try:
        import pandas  # noqa: F401
    except ImportError:
        return False
    return True
