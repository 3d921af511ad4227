"""Meter ids to dense integer codes, with missing ids flagged."""

from __future__ import annotations

import sys
from collections.abc import Hashable, Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from ._arrow_fixed import fixed_width_bytes
from ._column_codes import column_codes, object_codes
from ._extras import library_of
from ._hash_codes import fixed_width_codes
from ._segments import segment_ids, segment_starts
from ._string_keys import string_keys
from .errors import InvalidArgumentError, InvalidTypeError, MeterIdError

__all__ = [
    "as_ids",
    "column_ids",
    "factorize",
    "grouped_runs",
    "id_kind",
    "ids_kind",
    "sorted_runs",
]

Codes = tuple[npt.NDArray[np.int64], npt.NDArray[Any]]  # codes (-1: missing), uniques


def as_ids(values: Any, name: str = "meter_ids") -> npt.NDArray[Any]:
    """Meter ids as a 1-D numpy array (pandas, polars and pyarrow columns unwrapped).

    Integer ids keep their exact values: a nullable integer column with a
    missing value becomes Python ints and None (numpy's float64 would merge
    ids above 2**53, such as 18-digit meter codes).

    >>> import pyarrow as pa
    >>> as_ids(pa.array([2**53, 2**53 + 1, None])).tolist()
    [9007199254740992, 9007199254740993, None]
    """
    library = library_of(values)
    if library == "polars" and hasattr(values, "to_arrow"):
        values, library = values.to_arrow(), "pyarrow"
    if library == "pyarrow" and hasattr(values, "type"):
        values = _arrow_ids(values)
    elif library == "pandas" and hasattr(values, "dtype"):
        values = _pandas_ids(values)
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError):
        raise InvalidTypeError(f"{name} must be a sequence of meter ids") from None
    if isinstance(values, list | tuple) and _coerced(values, arr.dtype.kind):
        # numpy made ["1", 1] two strings "1" (or [True, 1] two 1s): refuse, naming them
        _check_one_kind((v for v in values if not _is_missing(v)), name)
    if arr.ndim != 1:
        raise InvalidArgumentError(f"{name} must be one-dimensional; got shape {arr.shape}")
    return arr


def _coerced(values: list[Any] | tuple[Any, ...], kind: str) -> bool:
    """Whether numpy turned ids of another kind into ``kind`` (object arrays keep them)."""
    if kind not in "USiuf":
        return False
    types = set(map(type, values))  # one C-speed pass: lists can be long
    if kind in "US":
        return not all(issubclass(t, str | bytes) for t in types)
    return any(issubclass(t, bool | np.bool_) for t in types)


def _arrow_ids(array: Any) -> npt.NDArray[Any]:
    import pyarrow as pa

    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_dictionary(array.type):
        if pa.types.is_string(array.dictionary.type) and not array.dictionary.null_count:
            return shared_strings(array)
        array = array.dictionary_decode()
    if pa.types.is_integer(array.type) and array.null_count:
        return _with_none(array.fill_null(0).to_numpy(), array.is_null().to_numpy(False))
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        return shared_strings(array)
    # A pyarrow Array copies only when told to (strings and nulls always need a copy).
    return np.asarray(array.to_numpy(zero_copy_only=False))


def shared_strings(array: Any) -> npt.NDArray[np.object_]:
    """A pyarrow string (or string dictionary) array or chunked array as an object array,
    None where null, holding one Python string per distinct value.

    A column of meter ids (or of any values that repeat) holds a few distinct
    values: encoding it first makes one Python string per distinct value
    instead of one per row (a fraction of the time, and the hash each string
    caches is computed once per value). A column whose first rows are mostly
    distinct is converted as it stands.

    >>> import pyarrow as pa
    >>> out = shared_strings(pa.array(["m1", None, "m1", "m1"]))
    >>> out.tolist(), out[0] is out[2]
    (['m1', None, 'm1', 'm1'], True)
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_dictionary(array.type):
        encoded = array
    else:
        head = array.slice(0, 4096)
        if 2 * pc.count_distinct(head, mode="all").as_py() > len(head):  # mostly distinct
            return np.asarray(array.to_numpy(zero_copy_only=False))
        encoded = pc.dictionary_encode(array)
    words = np.asarray(encoded.dictionary.to_numpy(zero_copy_only=False))
    if encoded.indices.null_count == 0:
        return np.asarray(words[encoded.indices.to_numpy()])
    out = np.full(len(array), None, dtype=object)
    present = encoded.indices.is_valid().to_numpy(zero_copy_only=False)
    out[present] = words[encoded.indices.drop_null().to_numpy()]
    return out


def _pandas_ids(series: Any) -> npt.NDArray[Any]:
    dtype = series.dtype
    if dtype.kind in "iu" and hasattr(dtype, "numpy_dtype"):  # a nullable (extension) integer
        mask = np.asarray(series.isna())
        values = series.to_numpy(dtype=dtype.numpy_dtype, na_value=0)
        return _with_none(values, mask) if mask.any() else values
    return np.asarray(series.to_numpy())


def _with_none(values: npt.NDArray[Any], missing: npt.NDArray[np.bool_]) -> npt.NDArray[Any]:
    """Exact integers as Python ints, None where ``missing``."""
    out = values.astype(object)
    out[missing] = None
    return out


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


def column_ids(values: Any, name: str = "meter_ids") -> Codes | None:
    """:func:`~._column_codes.column_codes`, with a column's ids held to one kind.

    An Arrow string column of ids of one length takes the numpy bytes' path
    (:mod:`._arrow_fixed`) instead.

    A pandas object column is hashed as it stands, so ``"1"`` and ``1`` in it
    would be two meters: refused like the same ids in a list.

    >>> import pandas as pd
    >>> column_ids(pd.Series(["1", 1]))
    Traceback (most recent call last):
    ...
    energy_integral.errors.MeterIdError: meter_ids mixes ids of different types: ...
    """
    fixed = fixed_width_bytes(values)
    if fixed is not None:  # ids of one length: integer keys over their bytes, no hash
        codes, uniques = _fixed_width(fixed[0])
        prefix = fixed[1]
        return codes, np.array([u[prefix:].decode() for u in uniques.tolist()], dtype=object)
    coded = column_codes(values)
    if coded is not None and coded[1].dtype == object:
        _check_one_kind(coded[1].tolist(), name)  # the distinct ids only: one per meter
    return coded


def factorize(values: Any, name: str = "meter_ids") -> Codes:
    """Codes (``-1`` for a missing id) and the unique ids they index.

    Already-grouped numeric ids (the common case: a fleet file sorted by meter)
    take an O(n) path; other numeric ids are sorted once by numpy. Fixed-width
    strings and bytes are hashed (:mod:`._hash_codes`). String and categorical
    columns of pandas, pyarrow and polars use the codes they hold or their own
    hash (:mod:`._column_codes`). Object arrays (mixed, or with ``None``) use
    pandas' hash table when pandas is installed, else a dictionary; rows that
    share one object per id (as readers deliver them) are grouped by object
    first, and only the distinct objects hashed (:mod:`._object_identity`). Uniques
    come out sorted for numeric ids and numpy strings; for columns and object
    arrays they are in the column's category order or in order of appearance.

    >>> codes, uniques = factorize(np.array(["b", "a", "b"]))
    >>> codes, uniques
    (array([1, 0, 1]), array(['a', 'b'], dtype='<U1'))
    >>> factorize(np.array([3.0, np.nan]))[0]
    array([ 0, -1])
    """
    coded = column_ids(values, name)
    if coded is not None:
        return coded
    arr = as_ids(values, name)
    if arr.dtype.kind in "iub":
        return _numeric(arr, np.zeros(arr.size, dtype=bool))
    if arr.dtype.kind == "f":
        return _numeric(arr, np.isnan(arr))
    if arr.dtype.kind in "US":
        return _fixed_width(arr)
    if arr.dtype == object:
        return _objects(arr, name)
    raise InvalidTypeError(f"{name} has dtype {arr.dtype}; expected strings or integers")


def _fixed_width(arr: npt.NDArray[Any]) -> Codes:
    """Codes for numpy strings: the integer path on their keys, else a hash.

    Keys small enough for a lookup table (ids that differ in a few
    characters) take the integer ids' path; wider ones are hashed as one
    word each, and ids whose keys would not fit 64 bits as themselves.
    """
    keyed = string_keys(arr)
    if keyed is None:  # no rows, width 0, another byte order, or too wide for a key
        return fixed_width_codes(arr)
    if keyed.size > _lookup_bound(arr.size):
        return fixed_width_codes(arr, keyed.keys)
    codes, present = _table_codes(keyed.keys, keyed.size, owned=True)
    return codes, keyed.strings(present)


def _numeric(arr: npt.NDArray[Any], missing: npt.NDArray[np.bool_] | None = None) -> Codes:
    if missing is not None and not missing.any():
        missing = None
    present = arr if missing is None else arr[~missing]
    runs = sorted_runs(present)
    if runs is not None:
        uniques, starts = runs
        grouped = segment_ids(starts, present.size)
    elif _small_non_negative_ints(present):
        grouped, uniques = _table_codes(present, int(present.max()) + 1, owned=False)
    else:
        uniques, grouped = np.unique(present, return_inverse=True)
    if missing is None:
        return grouped.astype(np.int64, copy=False), uniques
    codes = np.full(arr.size, -1, dtype=np.int64)
    codes[~missing] = grouped
    return codes, uniques


def _table_codes(values: npt.NDArray[Any], size: int, owned: bool) -> Codes:
    """Codes and sorted uniques of ``values`` (all in ``range(size)``) by a lookup table:
    O(n), not np.unique's sort. Values ``0 .. size - 1``, all present, are their own
    codes: ``values`` itself when ``owned`` (int64 made for this), else a copy (results
    keep the codes, never the caller's array).

    >>> codes, uniques = _table_codes(np.array([7, 2, 7]), 8, owned=False)
    >>> codes.tolist(), uniques.tolist()
    ([1, 0, 1], [2, 7])
    """
    seen = np.zeros(size, dtype=bool)
    seen[values] = True
    uniques = np.flatnonzero(seen).astype(values.dtype)
    if bool(seen.all()) and values.dtype == np.int64:
        return (values if owned else values.copy()), uniques
    return (np.cumsum(seen) - 1)[values], uniques


def _small_non_negative_ints(values: npt.NDArray[Any]) -> bool:
    if values.dtype.kind not in "iu" or values.size == 0:
        return False
    return int(values.min()) >= 0 and int(values.max()) < _lookup_bound(values.size)


def _lookup_bound(n: int) -> int:
    """Ids below this take a lookup table over their range instead of a sort."""
    return max(1 << 20, 4 * n)


def _objects(arr: npt.NDArray[Any], name: str) -> Codes:
    try:
        codes, uniques = _hash_objects(arr)
    except TypeError:  # an unhashable id (a dict, a list)
        bad = next(v for v in arr.tolist() if not isinstance(v, Hashable))
        raise InvalidTypeError(
            f"{name} holds {bad!r} ({type(bad).__name__}), which cannot be a meter id; "
            "use strings or integers"
        ) from None
    _check_one_kind(uniques.tolist(), name)  # the distinct ids only: one per meter
    return codes, uniques


def _hash_objects(arr: npt.NDArray[Any]) -> Codes:
    if "pandas" in sys.modules or _pandas_available():
        return object_codes(arr)
    seen: dict[Any, int] = {}
    out = np.empty(arr.size, dtype=np.int64)
    for i, value in enumerate(arr.tolist()):
        out[i] = -1 if _is_missing(value) else seen.setdefault(value, len(seen))
    return out, np.array(list(seen), dtype=object)


def id_kind(value: Any) -> str:
    """``"text"`` for a string id, ``"number"`` for an int or float one, else the type's name.

    ``"1"`` and ``1`` are of different kinds: the library never takes one for the other.

    >>> id_kind("1"), id_kind(1), id_kind(np.int64(1)), id_kind(True)
    ('text', 'number', 'number', 'bool')
    """
    if isinstance(value, (str, bytes)):
        return "text"
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    ):
        return "number"
    return type(value).__name__


def ids_kind(ids: npt.NDArray[Any]) -> str | None:
    """The :func:`id_kind` of distinct ids of one kind (None when there are none).

    >>> ids_kind(np.array(["a"])), ids_kind(np.array([7])), ids_kind(np.array([None, 7], object))
    ('text', 'number', 'number')
    """
    if ids.dtype.kind in "US":
        return "text" if ids.size else None
    if ids.dtype.kind in "iuf":
        return "number" if ids.size else None
    for value in ids.tolist():  # object ids: the first present one speaks for all
        if not _is_missing(value):
            return id_kind(value)
    return None


def _is_missing(value: Any) -> bool:
    """None, a float NaN, or pandas' NA/NaT: a missing id (``pd.NA == pd.NA`` is no bool)."""
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return True
    return isinstance(value, float | np.floating) and value != value


def _check_one_kind(ids: Iterable[Any], name: str) -> None:
    """Raise :class:`MeterIdError` if the ids mix kinds (``"1"`` and ``1`` would be two meters)."""
    ids = ids if isinstance(ids, list) else list(ids)
    if len(set(map(type, ids))) <= 1:  # one type is one kind (the common case, fast)
        return
    first: dict[str, Any] = {}
    for value in ids:
        first.setdefault(id_kind(value), value)
        if len(first) > 1:
            (kind_a, a), (kind_b, b) = first.items()
            raise MeterIdError(
                f"{name} mixes ids of different types: {a!r} ({kind_a}) and {b!r} ({kind_b}); "
                "convert them to one type, e.g. all to strings"
            )


def _pandas_available() -> bool:
    try:
        import pandas  # noqa: F401
    except ImportError:
        return False
    return True
