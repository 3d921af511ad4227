"""Codes for an object array of ids by the identity of its objects, then by their values.

A column of meter ids read by pandas (``read_csv``), converted from Arrow
(``to_pandas``, which is how Snowpark, polars and pyarrow hand one over) or
built by indexing a list of names holds one Python object per *distinct* id:
every row of meter ``"m-042"`` points at the same string. Hashing such a
column compares and hashes every row's object (about 55 ns a row with
pandas); grouping the rows by the object each one points at needs only the
addresses, which are integers, so it takes the integer ids' lookup table
(about 12 ns a row). The few distinct objects are then hashed by value, so
two equal strings that are different objects still make one meter.

With :math:`a_i` the address in row :math:`i`, :math:`a_{\\min}` the smallest
and :math:`2^s` the largest power of two dividing every
:math:`a_i - a_{\\min}`, the row's key is :math:`k_i = (a_i - a_{\\min}) / 2^s`:
exact (one key per object, one object per key) and small when the objects
lie near each other in memory, as objects created together do; objects
scattered over a large heap are keyed through the pages they lie in. The
column is kept alive while its addresses are read, so no address can be reused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from ._segments import segment_starts

__all__ = ["identity_codes", "neighbours_differ"]

Codes = tuple[npt.NDArray[np.int64], npt.NDArray[Any]]
_MIN_ROWS = 1 << 16  # below this a hash of every row is as fast
_SAMPLE = 1 << 16
_BLOCK = 1 << 16


class _Addresses:
    """The pointers of an object array as an ``intp`` array, owning a reference to it."""

    def __init__(self, objects: npt.NDArray[np.object_]) -> None:
        self.objects = objects
        self.__array_interface__ = {
            "data": (objects.__array_interface__["data"][0], True),  # read-only
            "shape": objects.shape,
            "typestr": np.dtype(np.intp).str,
            "version": 3,
        }


def identity_codes(
    objects: npt.NDArray[np.object_],
    hash_values: Callable[[npt.NDArray[Any]], Codes],
    min_rows: int = _MIN_ROWS,
) -> Codes | None:
    """``hash_values(objects)``'s answer, hashing each distinct object once, not each row.

    ``hash_values`` is the caller's hash (``pandas.factorize``, say): codes in
    order of first appearance, ``-1`` for missing, and the first object of
    each value. Its answer is kept exactly: the same codes, and the same
    objects as uniques. None when the rows are few, when ids hardly repeat,
    or when equal ids are mostly different objects (a sample of rows tells).
    Objects too far apart in memory for a lookup table over their keys have
    their addresses hashed by ``hash_values``, as integers.

    >>> import pandas as pd
    >>> ids = np.array(["m1", "m2", None], dtype=object)[np.arange(9) % 3]
    >>> codes, uniques = identity_codes(ids, pd.factorize, min_rows=1)
    >>> codes.tolist(), uniques.tolist()
    ([0, 1, -1, 0, 1, -1, 0, 1, -1], ['m1', 'm2'])
    """
    n = objects.size
    if n < min_rows or objects.ndim != 1 or not _mostly_shared(objects):
        return None
    objects = np.ascontiguousarray(objects)
    addresses = np.asarray(_Addresses(objects))
    keyed = _keys(addresses, n)
    if keyed is None:  # objects far apart: the addresses are hashed, as integers
        hashed = hash_values(addresses)[0]
        keyed = hashed, int(hashed.max()) + 1
    keys, size = keyed
    present = np.zeros(size, dtype=bool)
    present[keys] = True
    first = _first_rows(keys, size, int(np.count_nonzero(present)))
    value_codes, uniques = hash_values(objects[first])  # distinct objects, in order of appearance
    table = np.empty(size, dtype=np.int64)
    table[keys[first]] = value_codes
    return table[keys], np.asarray(uniques, dtype=object)


def _mostly_shared(objects: npt.NDArray[np.object_]) -> bool:
    """Whether, in rows spread over the array, ids repeat and equal ids are mostly one object."""
    sample = objects[:: max(1, objects.size // _SAMPLE)].tolist()
    try:
        values = len(set(sample))
    except TypeError:  # an unhashable id: the caller's hash names it
        return False
    return 2 * values <= len(sample) and 8 * len(set(map(id, sample))) <= 9 * values + 8


def _keys(addresses: npt.NDArray[np.intp], n: int) -> tuple[npt.NDArray[np.intp], int] | None:
    """Each row's key :math:`(a_i - a_{\\min}) / 2^s` and the keys' range, or None when too wide.

    Keys spread wider than a lookup table should be (objects scattered over a
    heap long in use) are first made small through the pages they lie in
    (:func:`_paged_keys`). ``None`` is a static object, far from those made
    at run time: its rows (missing ids) get the key after the others'.
    """
    low, high = int(addresses.min()), int(addresses.max())
    missing = None
    if id(None) in (low, high) and low < high:
        missing = addresses == id(None)
        addresses = np.where(missing, addresses[np.argmin(missing)], addresses)
        low, high = int(addresses.min()), int(addresses.max())
    keys = addresses - low  # (one batch-sized array: the spread is read from the keys)
    spread = int(np.bitwise_or.reduce(keys)) if high > low else 0
    shift = (spread & -spread).bit_length() - 1 if spread else 0
    size = ((high - low) >> shift) + 1
    limit = max(1 << 20, 4 * n)
    keys >>= shift
    if size > limit:
        paged = _paged_keys(keys, size, max(_PAGE_BITS - shift, 0), limit)
        if paged is None:
            return None
        keys, size = paged
    if missing is not None:
        keys[missing] = size
        size += 1
    return keys, size


#: Pages of this many bits of address: objects made at one time share a few.
_PAGE_BITS = 12


def _paged_keys(
    keys: npt.NDArray[np.intp], size: int, bits: int, limit: int
) -> tuple[npt.NDArray[np.intp], int] | None:
    """``keys`` (in ``range(size)``) moved down over the pages of :math:`2^b` keys that hold
    none, in place; and their new range; None if it, or the table of pages, exceeds ``limit``.

    Key :math:`k` lies in page :math:`g = k \\gg b`; with :math:`r_g` the number of
    pages before :math:`g` that hold a key, it becomes :math:`k - (g - r_g)\\,2^b`:
    still one key per object and one object per key, below :math:`2^b` times the
    number of pages in use.

    >>> keys = np.array([0, 3, (1 << 30) + 2, 0])
    >>> _paged_keys(keys, (1 << 30) + 3, 8, 1 << 23)
    (array([  0,   3, 258,   0]), 512)
    """
    pages = ((size - 1) >> bits) + 1
    if pages > limit:
        return None
    page = keys >> bits
    used = np.zeros(pages, dtype=bool)
    used[page] = True
    before = np.cumsum(used) - used  # pages in use before each page
    size = int(before[-1] + used[-1]) << bits
    if size > limit:
        return None
    drop = np.arange(pages) - before  # the pages of no key before each page
    drop <<= bits
    # Each page's drop over its own page numbers (read before written, item by item): one
    # batch-sized array fewer, whose fresh pages would cost as much as the gather.
    keys -= np.take(drop, page, out=page, mode="clip")
    return keys, size


def _first_rows(keys: npt.NDArray[np.intp], size: int, count: int) -> npt.NDArray[np.intp]:
    """The row where each of the ``count`` keys first appears, in row order.

    Blocks of rows are read in turn until every key has been seen; in each,
    only the rows that start a run of one key and whose key is still unseen
    are looked at. A batch in time or random order shows every meter in its
    first blocks; one grouped by meter is one run per meter.
    """
    seen = np.zeros(size, dtype=bool)
    found: list[npt.NDArray[np.intp]] = []
    left = count
    for start in range(0, keys.size, _BLOCK):
        block = keys[start : start + _BLOCK]
        starts = segment_starts(block)
        starts = starts[~seen[block[starts]]]
        if starts.size == 0:
            continue
        new, at = np.unique(block[starts], return_index=True)
        seen[new] = True
        found.append(start + starts[at])
        left -= new.size
        if left == 0:
            break
    return np.sort(np.concatenate(found))


def neighbours_differ(objects: npt.NDArray[np.object_], lo: int, hi: int) -> npt.NDArray[np.bool_]:
    """Whether the id in row ``i`` differs from row ``i - 1``'s, for rows ``lo + 1`` to ``hi - 1``.

    Rows holding the same object hold the same id; only where the objects
    differ are their values compared (a column grouped by meter: one
    comparison of values per meter, not per row). Where most neighbours are
    other objects (one object per row), the values are compared as they lie:
    gathering the rows to compare would copy them twice. Raises what the ids'
    own ``!=`` raises.

    >>> a, b = "m1", "".join(["m", "1"])  # equal, two objects
    >>> neighbours_differ(np.array([a, a, b, "m2"], dtype=object), 0, 4).tolist()
    [False, False, True]
    """
    objects = np.ascontiguousarray(objects)
    addresses = np.asarray(_Addresses(objects))[lo:hi]
    differ: npt.NDArray[np.bool_] = addresses[1:] != addresses[:-1]
    if 2 * np.count_nonzero(differ) > differ.size:
        differ &= np.asarray(objects[lo + 1 : hi] != objects[lo : hi - 1], dtype=bool)
        return differ
    rows = np.flatnonzero(differ) + lo
    differ[rows - lo] = np.asarray(objects[rows + 1] != objects[rows], dtype=bool)
    return differ
