"""The meters of a string or categorical column grouped by meter, found by comparing neighbours.

A batch grouped by meter (a file or query ordered by meter) needs no code per
row: the fast path takes each meter's run. For integer ids the runs come from
one comparison of neighbours; for strings, hashing every row costs more than
the whole integration of such a batch. Comparing every row with the one
before it costs a fraction of that (ids of one length by their bytes, and ids
of up to 12 bytes in Arrow's string views — polars' own layout — by their
16-byte views, both as 8-byte words; other strings in pyarrow or polars; a
categorical column by its integer codes), and only the run heads, one per
meter, are then checked to be distinct. A column in time or random order
gives itself away in its first rows, before the whole column is compared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt

from ._arrow_fixed import fixed_width_chunks, inline_view_chunks
from ._column_codes import polars_strings_to_arrow
from ._extras import library_of
from ._factorize import _check_one_kind, _is_missing
from ._object_identity import neighbours_differ

__all__ = ["column_runs"]

Runs = tuple[npt.NDArray[Any], npt.NDArray[np.intp]]
#: Words compared at a time by :func:`_byte_rows`: the comparison's flags stay in the cache.
_WORDS = 1 << 18
#: Rows looked at first: a column whose runs there are shorter than two rows on average
#: (time order, shuffled, one row per meter) is left to the hash.
_HEAD = 1024


def column_runs(values: Any, name: str = "meter_ids") -> Runs | None:
    """The distinct ids in order of appearance and where each one's run starts, when the
    string or categorical column ``values`` is grouped by meter (each id one run).

    None when it is not grouped, holds a missing id, or is no string or
    categorical column (numeric ids have :func:`~._factorize.sorted_runs`).

    >>> column_runs(np.array(["b", "b", "a", "a", "a", "c", "c"]))
    (array(['b', 'a', 'c'], dtype='<U1'), array([0, 2, 5]))
    >>> column_runs(np.array(["b", "a", "b"] * 400)) is None
    True
    """
    column = _column(values)
    if column is None:
        return None
    n, changes, heads = column
    if n == 0 or 2 * (changes(0, min(n, _HEAD)).size + 1) > min(n, _HEAD):
        return None
    starts = np.concatenate((np.zeros(1, np.intp), changes(0, n)))
    if 2 * starts.size > n:  # mostly single rows: the hash does better
        return None
    meters = heads(starts)
    if meters.dtype == object:
        heads_list = meters.tolist()
        if set(map(type, heads_list)) != {str}:  # strings only: none missing, one kind
            if any(_is_missing(v) for v in heads_list):
                return None  # a missing meter: an invalid row, for the general path
            _check_one_kind(heads_list, name)
        try:
            distinct = len(set(heads_list)) == meters.size
        except TypeError:  # an unhashable id: factorize names it
            return None
    else:  # numpy strings: as Python's (a set is faster than np.unique's sort)
        distinct = len(set(meters.tolist())) == meters.size
    return (meters, starts) if distinct else None


#: Given rows ``lo`` and ``hi``: the rows ``i`` (``lo < i < hi``, ascending) whose id differs
#: from row ``i - 1``'s.
Changes = Callable[[int, int], npt.NDArray[np.intp]]
Heads = Callable[[npt.NDArray[np.intp]], npt.NDArray[Any]]  # the ids at these rows


def _column(values: Any) -> tuple[int, Changes, Heads] | None:
    library = library_of(values)
    if isinstance(values, np.ndarray):
        return _numpy(values)
    if library == "pandas":
        return _pandas(values)
    if library == "pyarrow":
        return _pyarrow(values)
    if library == "polars":
        return _polars(values)
    return None


def _neighbours(a: npt.NDArray[Any]) -> Changes:
    def changes(lo: int, hi: int) -> npt.NDArray[np.intp]:
        return _rows_of(np.asarray(a[lo + 1 : hi] != a[lo : hi - 1], dtype=bool), lo)

    return changes


def _rows_of(differ: npt.NDArray[np.bool_], lo: int) -> npt.NDArray[np.intp]:
    """The rows of the flags ``differ`` (row ``lo + 1`` first) that are set."""
    return np.flatnonzero(differ) + (lo + 1)


def _object_changes(objects: npt.NDArray[np.object_], lo: int, hi: int) -> npt.NDArray[np.intp]:
    return _rows_of(neighbours_differ(objects, lo, hi), lo)


def _byte_rows(raw: npt.NDArray[np.uint8], width: int) -> Changes:
    r"""Rows of ``width`` bytes each, laid end to end in ``raw``, compared with their
    neighbours as 8-byte words.

    Row :math:`i` equals row :math:`i - 1` exactly when the bytes of ``raw`` equal
    those ``width`` bytes before them over row :math:`i`'s span. So the buffer is
    compared with itself shifted by one row, a word at a time, whatever the width;
    a word covering bytes :math:`[8k, 8k + 8)` of the comparison spans the row pairs
    :math:`\lfloor 8k / w \rfloor \ldots \lfloor (8k + 7) / w \rfloor`, and only
    the pairs under a differing word are compared row by row. A column grouped by
    meter has one such word or two a meter: the cost is one read of the bytes
    (numpy compares ``<U`` and ``S`` items one at a time, and pyarrow strings by
    their offsets).

    >>> raw = np.frombuffer(b"abcabcabdabdxyz", dtype=np.uint8)
    >>> _byte_rows(raw, 3)(0, 5).tolist()
    [2, 4]
    """

    def changes(lo: int, hi: int) -> npt.NDArray[np.intp]:
        pairs = hi - lo - 1
        if pairs <= 0:
            return np.zeros(0, dtype=np.intp)
        span = raw[lo * width : hi * width]
        length = pairs * width  # bytes compared: rows lo + 1 .. hi - 1 against the row before
        whole = length // 8
        after = np.frombuffer(span, dtype=np.uint64, count=whole, offset=width)
        before = np.frombuffer(span, dtype=np.uint64, count=whole)
        words = [
            np.flatnonzero(after[k : k + _WORDS] != before[k : k + _WORDS]) + k
            for k in range(0, whole, _WORDS)
        ]
        first = 8 * np.concatenate([*words, np.zeros(0, np.intp)])  # their first bytes
        spanned = (first[:, None] + np.arange(0, 8, min(width, 8))).ravel()
        tail = np.flatnonzero(span[8 * whole + width :] != span[8 * whole : length]) + 8 * whole
        ends = np.concatenate((spanned, first + 7, tail)) // width
        pair = np.unique(ends[ends < pairs])
        rows = span.reshape(-1, width)
        changed: npt.NDArray[np.intp] = pair[(rows[pair + 1] != rows[pair]).any(axis=1)]
        return changed + (lo + 1)

    return changes


def _chunks(buffers: list[npt.NDArray[np.uint8]], width: int) -> Changes:
    """:func:`_byte_rows` over rows split into chunks (an Arrow column's), none empty:
    each chunk compared on its own, and its first row with the last row before it.

    >>> raw = np.frombuffer(b"aabbbbc", dtype=np.uint8)
    >>> _chunks([raw[:3], raw[3:5], raw[5:]], 1)(0, 7).tolist()
    [2, 6]
    """
    parts = [_byte_rows(raw, width) for raw in buffers]
    bounds = np.cumsum([0, *(raw.size // width for raw in buffers)]).tolist()

    def changes(lo: int, hi: int) -> npt.NDArray[np.intp]:
        out = [np.zeros(0, dtype=np.intp)]
        for k, part in enumerate(parts):
            a, b = max(lo, bounds[k]), min(hi, bounds[k + 1])
            if a >= b:
                continue
            if a > lo:  # a = bounds[k]: this chunk's first row against the last one before
                first, last = buffers[k][:width], buffers[k - 1][-width:]
                out.append(np.arange(a, a + int((first != last).any()), dtype=np.intp))
            out.append(part(a - bounds[k], b - bounds[k]) + bounds[k])
        return np.concatenate(out)

    return changes


def _numpy(values: npt.NDArray[Any]) -> tuple[int, Changes, Heads] | None:
    if values.ndim != 1 or values.dtype.kind not in "USO":
        return None

    compare: Changes
    if values.dtype == object:
        compare = partial(_object_changes, values)
    elif values.flags.c_contiguous and values.dtype.itemsize:
        compare = _byte_rows(values.view(np.uint8), values.dtype.itemsize)
    else:
        compare = _neighbours(values)

    def changes(lo: int, hi: int) -> npt.NDArray[np.intp]:
        try:
            return compare(lo, hi)
        except (TypeError, ValueError):  # ids whose == is no bool: factorize names them
            return np.arange(lo + 1, hi, dtype=np.intp)

    return values.size, changes, lambda rows: values[rows]


def _pandas(values: Any) -> tuple[int, Changes, Heads] | None:
    import pandas as pd

    dtype = getattr(values, "dtype", None)
    if isinstance(dtype, pd.CategoricalDtype):
        categorical = values.cat if isinstance(values, pd.Series) else values
        codes = np.asarray(categorical.codes)
        if codes.size and int(codes.min()) < 0:
            return None  # a missing meter
        table = np.asarray(categorical.categories, dtype=object)
        return codes.size, _neighbours(codes), lambda rows: table[codes[rows]]
    if isinstance(dtype, pd.ArrowDtype):
        return _pyarrow(values.array.__arrow_array__())
    if dtype is np.dtype(object) or isinstance(dtype, pd.StringDtype):
        return _numpy(np.asarray(values.to_numpy(dtype=object)))
    return None


def _pyarrow(values: Any) -> tuple[int, Changes, Heads] | None:
    import pyarrow as pa
    import pyarrow.compute as pc

    if not isinstance(values, pa.Array | pa.ChunkedArray) or values.null_count:
        return None
    kind = values.type
    if pa.types.is_dictionary(kind):
        if isinstance(values, pa.ChunkedArray):
            if values.num_chunks == 0:
                return None
            values = values.unify_dictionaries()  # chunks may hold dictionaries of their own
            indices = [np.asarray(chunk.indices.to_numpy()) for chunk in values.chunks]
            codes, table = np.concatenate(indices), values.chunk(0).dictionary
        else:
            codes, table = np.asarray(values.indices.to_numpy()), values.dictionary
        return codes.size, _neighbours(codes), lambda rows: _objects(table.take(codes[rows]))
    views = inline_view_chunks(values)
    if views is not None:
        return _view_column(views)
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return None  # (longer views too: pyarrow has no take of them, for the heads)
    fixed = fixed_width_chunks(values)
    if fixed is not None:  # ids of one length: their bytes, compared as words
        compare = _chunks(*fixed)
        return len(values), compare, partial(_arrow_rows, values)

    def changes(lo: int, hi: int) -> npt.NDArray[np.intp]:
        after, before = values.slice(lo + 1, hi - lo - 1), values.slice(lo, hi - lo - 1)
        differ = pc.not_equal(after, before).to_numpy(zero_copy_only=False)
        return _rows_of(np.asarray(differ, dtype=bool), lo)

    return len(values), changes, partial(_arrow_rows, values)


def _arrow_rows(values: Any, rows: npt.NDArray[np.intp]) -> npt.NDArray[Any]:
    """``values[rows]`` of a pyarrow array as Python objects, a chunked one chunk by chunk.

    A ``ChunkedArray``'s own ``take`` joins its chunks first: a copy of a
    10,000,000-row column (11 ms) to read the 10,000 heads of its runs (0.6 ms
    chunk by chunk).

    >>> import pyarrow as pa
    >>> _arrow_rows(pa.chunked_array([["a", "b"], [], ["c"]]), np.array([2, 0])).tolist()
    ['c', 'a']
    """
    import pyarrow as pa

    if not isinstance(values, pa.ChunkedArray):
        return _objects(values.take(rows))
    out = np.empty(rows.size, dtype=object)
    for k, mine, inside in _per_chunk([len(c) for c in values.chunks], rows):
        out[mine] = _objects(values.chunk(k).take(inside))
    return out


def _view_column(views: list[npt.NDArray[np.uint8]]) -> tuple[int, Changes, Heads]:
    """A string_view column whose ids are each whole in their views (``views``, the
    chunks' :func:`~._arrow_fixed.inline_view_chunks`), compared as the views' words.

    Equal views are equal ids; equal ids in views that differ (padding a producer
    did not zero) would only split a meter's run, which the heads' check refuses.
    """
    return sum(v.size for v in views) // 16, _chunks(views, 16), partial(_view_rows, views)


def _view_rows(views: list[npt.NDArray[np.uint8]], rows: npt.NDArray[np.intp]) -> npt.NDArray[Any]:
    """The ids at ``rows`` of string_view chunks whose views (each id inline: a view
    holds it whole) are ``views``, as Python objects: their views make an array of
    their own (pyarrow has no ``take`` of a string_view).

    >>> import pyarrow as pa
    >>> views = [np.frombuffer(pa.array(["ab", "c"], pa.string_view()).buffers()[1], np.uint8)]
    >>> _view_rows(views, np.array([1, 0])).tolist()
    ['c', 'ab']
    """
    import pyarrow as pa

    records = np.empty((rows.size, 16), dtype=np.uint8)
    for k, mine, inside in _per_chunk([v.size // 16 for v in views], rows):
        records[mine] = views[k].reshape(-1, 16)[inside]
    inline = pa.Array.from_buffers(pa.string_view(), rows.size, [None, pa.py_buffer(records)])
    return _objects(inline)


def _per_chunk(
    sizes: list[int], rows: npt.NDArray[np.intp]
) -> Iterator[tuple[int, npt.NDArray[np.intp], npt.NDArray[np.intp]]]:
    """For each chunk (of ``sizes`` rows, laid end to end) holding some of ``rows``: the
    chunk, the positions in ``rows`` of those rows, and the rows counted in the chunk."""
    bounds = np.cumsum([0, *sizes])
    chunk = np.searchsorted(bounds, rows, side="right") - 1  # an empty chunk holds no row
    for k in np.unique(chunk).tolist():
        mine = np.flatnonzero(chunk == k)
        yield k, mine, rows[mine] - bounds[k]


def _objects(array: Any) -> npt.NDArray[Any]:
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=object)


def _polars(values: Any) -> tuple[int, Changes, Heads] | None:
    import polars as pl

    if not isinstance(values, pl.Series) or values.null_count():
        return None
    if isinstance(values.dtype, pl.Categorical | pl.Enum):
        codes = values.to_physical().to_numpy()
        return codes.size, _neighbours(codes), lambda rows: _names(values.gather(rows))
    if values.dtype != pl.String:
        return None
    # A polars with CompatLevel exports its own string views without a copy (an older
    # one would copy its strings out as large_string, only to compare them here).
    exported = polars_strings_to_arrow(values) if hasattr(pl, "CompatLevel") else None
    views = None if exported is None else inline_view_chunks(exported)
    if views is not None:
        return _view_column(views)

    def changes(lo: int, hi: int) -> npt.NDArray[np.intp]:
        after, before = values.slice(lo + 1, hi - lo - 1), values.slice(lo, hi - lo - 1)
        return _rows_of(np.asarray((after != before).to_numpy(), dtype=bool), lo)

    return len(values), changes, lambda rows: _names(values.gather(rows))


def _names(series: Any) -> npt.NDArray[Any]:
    import polars as pl

    return np.asarray(series.cast(pl.String).to_list(), dtype=object)
