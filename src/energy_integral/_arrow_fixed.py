"""An Arrow string column whose ids all have one length, seen as numpy bytes without a copy.

Meter ids are often of one length (``"meter-00042"``, a UUID). Arrow keeps a
string column as one buffer of UTF-8 bytes and the offsets where each string
starts; when every string is ``w`` bytes long the buffer *is* a numpy ``S{w}``
array (a column of several chunks: their buffers laid end to end), which
:func:`~._string_keys.string_keys` turns into integer keys over the bytes
that vary: the integer ids' path instead of a hash of every row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from ._column_codes import polars_strings_to_arrow
from ._extras import library_of

__all__ = ["fixed_width_bytes", "fixed_width_chunks", "inline_view_chunks"]

T = TypeVar("T")


def fixed_width_bytes(values: Any) -> tuple[npt.NDArray[np.bytes_], int] | None:
    """``values`` as a numpy ``S{w}`` array of items that each hold one id's bytes after
    a prefix common to all, and the prefix's length, if it is a pyarrow, pandas
    ``ArrowDtype`` or polars string column with no missing id, whose every string is
    ``w >= 1`` bytes long and none ends in a NUL byte (numpy would drop it); else None.

    The items are the strings themselves (no prefix), or for a ``string_view``
    column (polars' own) of strings of at most 12 bytes, its 16-byte views:
    the length (equal in all), the string and zeros. Equal items are equal ids,
    and items sort as the ids do. One chunk is seen without a copy; several are
    laid end to end, one copy (``pa.array`` of a large numpy array gives several).

    >>> import pyarrow as pa
    >>> fixed_width_bytes(pa.array(["m-01", "m-02", "é-03"]))
    >>> data, prefix = fixed_width_bytes(pa.array(["m-01", "m-02", "m-13"]))
    >>> data.tolist(), prefix
    ([b'm-01', b'm-02', b'm-13'], 0)
    >>> fixed_width_bytes(pa.chunked_array([["m-01"], [], ["m-02"]]))[0].tolist()
    [b'm-01', b'm-02']
    >>> data, prefix = fixed_width_bytes(pa.array(["m-01", "m-02"], pa.string_view()))
    >>> [item[prefix:] for item in data.tolist()]
    [b'm-01', b'm-02']
    """
    array = _arrow(values)
    if array is None or array.null_count or len(array) == 0:
        return None
    import pyarrow as pa

    if hasattr(pa.types, "is_string_view") and pa.types.is_string_view(array.type):
        views = _each_chunk(array, _inline_views)
        if views is None or len({(data.dtype, prefix) for data, prefix in views}) != 1:
            return None
        items = [data for data, _ in views]
        return (np.concatenate(items) if len(items) > 1 else items[0]), views[0][1]
    fixed = fixed_width_chunks(array)
    if fixed is None:
        return None
    buffers, size = fixed
    data = np.concatenate(buffers) if len(buffers) > 1 else buffers[0]
    if not data[size - 1 :: size].all():  # a string ending in NUL: numpy would drop it
        return None
    return data.view(f"S{size}"), 0


def fixed_width_buffer(array: Any) -> tuple[npt.NDArray[np.uint8], int] | None:
    """The bytes of a pyarrow ``string`` or ``large_string`` array with no missing id
    whose every string is ``w >= 1`` bytes long, as one contiguous ``uint8`` array of
    ``len(array) * w`` bytes (no copy), and ``w``; else None.

    >>> import pyarrow as pa
    >>> data, width = fixed_width_buffer(pa.array(["ab", "cd", "ef"]).slice(1))
    >>> bytes(data), width
    (b'cdef', 2)
    >>> fixed_width_buffer(pa.array(["ab", "c"])) is None
    True
    """
    import pyarrow as pa

    if not isinstance(array, pa.Array) or array.null_count or len(array) == 0:
        return None
    width: np.dtype[Any]
    if pa.types.is_string(array.type):
        width = np.dtype(np.int32)
    elif pa.types.is_large_string(array.type):
        width = np.dtype(np.int64)
    else:
        return None
    n, start = len(array), array.offset
    offsets = np.frombuffer(
        array.buffers()[1], dtype=width, count=n + 1, offset=start * width.itemsize
    )
    size = int(offsets[1] - offsets[0])
    if size < 1 or int(offsets[-1] - offsets[0]) != n * size:
        return None
    if not bool(np.all(np.diff(offsets) == size)):
        return None
    data = np.frombuffer(array.buffers()[2], dtype=np.uint8)
    return data[int(offsets[0]) : int(offsets[0]) + n * size], size


def fixed_width_chunks(values: Any) -> tuple[list[npt.NDArray[np.uint8]], int] | None:
    """The bytes of each non-empty chunk of a pyarrow string array or chunked array, as
    :func:`fixed_width_buffer` gives them, when all of them have one width ``w``; and ``w``.

    >>> import pyarrow as pa
    >>> chunks, width = fixed_width_chunks(pa.chunked_array([["ab"], [], ["cd", "ef"]]))
    >>> [bytes(c) for c in chunks], width
    ([b'ab', b'cdef'], 2)
    >>> fixed_width_chunks(pa.chunked_array([["ab"], ["cde"]])) is None
    True
    """
    found = _each_chunk(values, fixed_width_buffer)
    if found is None or len(widths := {width for _, width in found}) != 1:
        return None
    return [data for data, _ in found], widths.pop()


def _each_chunk(values: Any, read: Callable[[Any], T | None]) -> list[T] | None:
    """``read`` of each non-empty chunk of an Arrow array or chunked array; None when
    there is none, or ``read`` gives None for one."""
    import pyarrow as pa

    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    found = [read(chunk) for chunk in chunks if len(chunk)]
    if not found or any(f is None for f in found):
        return None
    return [f for f in found if f is not None]


def _inline_views(array: Any) -> tuple[npt.NDArray[np.bytes_], int] | None:
    """A ``string_view`` array of strings of one length ``w`` of at most 12 bytes, which
    each 16-byte view holds inline after its length (polars' own layout, exported
    without a copy), as :func:`fixed_width_bytes` gives it: items and their prefix.

    Views zero after their string (as polars and pyarrow write them) serve as
    they are, as ``S16`` items after a 4-byte prefix: copying the strings out
    costs as much as turning them into keys. Views with other bytes there (a
    producer need not zero them) would make equal ids unequal items: their
    strings are copied out, item by item.

    >>> import pyarrow as pa
    >>> data, prefix = _inline_views(pa.array(["ab", "cd", "ef"], pa.string_view()).slice(1))
    >>> data.tolist(), prefix
    ([b'\\x02\\x00\\x00\\x00cd', b'\\x02\\x00\\x00\\x00ef'], 4)
    """
    raw = _views(array)
    size = int(raw[:4].view("<i4")[0])
    if not 1 <= size <= 12:
        return None
    if not bool((raw.view("<i4")[::4] == size).all()):
        return None
    if not raw[3 + size :: 16].all():  # a string ending in NUL: numpy would drop it
        return None
    views = raw.reshape(-1, 16)
    if not views[:, 4 + size :].any():
        return raw.view("S16"), 4
    return np.ascontiguousarray(views[:, 4 : 4 + size]).view(f"S{size}").reshape(-1), 0


def inline_view_chunks(values: Any) -> list[npt.NDArray[np.uint8]] | None:
    """The views of each non-empty chunk of a pyarrow ``string_view`` array or chunked
    array, as ``16 * len(chunk)`` bytes (no copy), when every string is at most 12
    bytes long; else None.

    Such a view holds its string whole: its length (4 bytes), then its bytes,
    padded with zeros. So two equal views are two equal strings, in any chunk.

    >>> import pyarrow as pa
    >>> [v.reshape(-1, 16)[:, :6].tolist()
    ...  for v in inline_view_chunks(pa.chunked_array([["ab"], [], ["c"]], pa.string_view()))]
    [[[2, 0, 0, 0, 97, 98]], [[1, 0, 0, 0, 99, 0]]]
    >>> inline_view_chunks(pa.array(["a", "longer than twelve"], pa.string_view())) is None
    True
    """
    import pyarrow as pa

    if not (hasattr(pa.types, "is_string_view") and pa.types.is_string_view(values.type)):
        return None

    def inline(array: Any) -> npt.NDArray[np.uint8] | None:
        raw = _views(array)
        return raw if int(raw.view("<i4")[::4].max()) <= 12 else None

    return _each_chunk(values, inline)


def _views(array: Any) -> npt.NDArray[np.uint8]:
    """The 16-byte views of a non-empty pyarrow ``string_view`` array, as bytes (no copy)."""
    n, buffer = len(array), array.buffers()[1]
    return np.frombuffer(buffer, dtype=np.uint8, count=16 * n, offset=16 * array.offset)


def _arrow(values: Any) -> Any:
    """The Arrow array or chunked array behind a pyarrow, pandas ArrowDtype or polars column."""
    library = library_of(values)
    if library == "polars":
        import polars as pl

        if not isinstance(values, pl.Series) or values.dtype != pl.String:
            return None
        values = polars_strings_to_arrow(values)
    elif library == "pandas":
        import pandas as pd

        dtype = getattr(values, "dtype", None)
        if not isinstance(dtype, pd.ArrowDtype):
            return None
        values = values.array.__arrow_array__()
    elif library != "pyarrow":
        return None
    import pyarrow as pa

    return values if isinstance(values, pa.Array | pa.ChunkedArray) else None
