"""Dense codes for fixed-width keys (numpy strings and bytes) with a hash table, not a sort.

``np.unique`` on a ``<U`` array sorts the strings: :math:`O(n \\log n)`
comparisons of whole strings, about 0.6 µs a row for ten-character meter ids.
Here every key becomes a few 64-bit words, the words are mixed into one hash,
and an open-addressing table with linear probing is filled by whole-array
rounds: in each round every unresolved row claims its slot if the slot is
empty (the last writer wins), and a row is resolved when the key now in its
slot equals its own, word for word; the others move one slot on. All rows of
one key move together, so each key ends in exactly one slot. Equality is
checked on the words themselves, so a hash collision costs a round, never a
merged meter.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["fixed_width_codes", "hash_groups"]

_MIX = np.uint64(0x9E3779B97F4A7C15)  # 2**64 / golden ratio: Fibonacci hashing
_MAX_ROUNDS = 64  # far beyond what a table at most half full needs


def fixed_width_codes(
    arr: npt.NDArray[Any], keys: npt.NDArray[np.int64] | None = None
) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]:
    """Codes into the sorted unique values of a ``<U`` or ``S`` array.

    The same answer as ``np.unique(arr, return_inverse=True)`` (in the other
    order), found by hashing; only the unique values are sorted. Given
    ``keys`` (equal exactly for equal strings, :mod:`._string_keys`), those
    are hashed instead of the strings.

    >>> codes, uniques = fixed_width_codes(np.array(["m2", "m10", "m2", "m1"]))
    >>> codes, uniques
    (array([2, 1, 2, 0]), array(['m1', 'm10', 'm2'], dtype='<U3'))
    """
    if arr.size == 0 or arr.dtype.itemsize == 0:  # no rows, or only empty strings
        return np.zeros(arr.size, dtype=np.int64), arr[:1].copy()
    words = _words(arr) if keys is None else keys.view(np.uint64)[np.newaxis]
    slot_codes, representatives = hash_groups(words)
    uniques = arr[representatives]
    order = np.argsort(uniques, kind="stable")
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    return rank[slot_codes], uniques[order]


def _words(arr: npt.NDArray[Any]) -> npt.NDArray[np.uint64]:
    """Each key as a column of 64-bit words (zero-padded), narrowed to bytes when it can be.

    The result has shape ``(words, n)``: each word position is contiguous, so
    hashing and comparing run over whole contiguous rows.
    """
    n = arr.size
    arr = np.ascontiguousarray(arr)
    units: npt.NDArray[Any] = arr.view(np.uint8 if arr.dtype.kind == "S" else np.uint32)
    units = units.reshape(n, -1)
    unit = units.dtype
    if unit == np.uint32 and int(units.max(initial=0)) < 256:
        unit = np.dtype(np.uint8)  # Latin-1 text: one byte a character
    per_word = 8 // unit.itemsize
    width = max(-(-units.shape[1] // per_word), 1)
    words = np.zeros((width, n), dtype=np.uint64)
    lanes = words.view(unit).reshape(width, n, per_word)
    for j in range(width):  # each word's units, narrowed as they are copied
        part = units[:, j * per_word : (j + 1) * per_word]
        lanes[j, :, : part.shape[1]] = part
    return words


def _hash(words: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    h = words[0] * _MIX
    for word in words[1:]:
        h ^= h >> np.uint64(29)
        h += word
        h *= _MIX
    h ^= h >> np.uint64(32)
    return np.asarray(h, dtype=np.uint64)


def hash_groups(
    words: npt.NDArray[np.uint64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.intp]]:
    """Group equal keys, given as the columns of ``words``: each key's group and one key per group.

    Groups are numbered in the order of their slots in the table (no meaning);
    ``representatives[g]`` is one row of group ``g``.

    >>> codes, representatives = hash_groups(np.array([[5, 7, 5]], dtype=np.uint64))
    >>> bool(codes[0] == codes[2] != codes[1]), sorted(representatives.tolist())
    (True, [1, 2])
    """
    h = _hash(words)
    bits = _table_bits(words, h)
    slots = _probe(words, h, bits)
    while slots is None:  # more than half full: grow fourfold and start again
        bits += 2
        slots = _probe(words, h, bits)
    table_rows, slot_of_row = slots
    used = np.flatnonzero(table_rows >= 0)
    dense = np.empty(table_rows.size, dtype=np.int64)
    dense[used] = np.arange(used.size)
    return dense[slot_of_row], table_rows[used]


def _table_bits(words: npt.NDArray[np.uint64], h: npt.NDArray[np.uint64]) -> int:
    """Table size (log2) for about four slots a key, the keys counted in a sample.

    The sample is spread over the whole batch (a batch grouped by meter shows
    only its first few meters in its first rows). One whose sample is mostly
    distinct gets a table sized for every row; a table that still fills up
    grows (:func:`hash_groups`).
    """
    n = words.shape[1]
    step = max(n >> 16, 1)
    sample = words[:, ::step]
    counted = _probe(sample, h[::step], (2 * sample.shape[1]).bit_length())
    keys = sample.shape[1] if counted is None else int(np.count_nonzero(counted[0] >= 0))
    estimate = n if 4 * keys > sample.shape[1] else keys
    return max(10, (4 * estimate).bit_length())


def _probe(
    words: npt.NDArray[np.uint64], h: npt.NDArray[np.uint64], bits: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]] | None:
    """Fill a table of ``2**bits`` slots; None when it ends up more than half full."""
    n = words.shape[1]
    size = 1 << bits
    table = np.full(size, -1, dtype=np.intp)  # a row of the key held by each slot
    slot = (h >> np.uint64(64 - bits)).astype(np.intp)
    table[slot] = np.arange(n)  # round one: every slot is free; the last writer wins it
    slot_of_row = slot.copy()
    pending = np.flatnonzero(~_same_rows(words, table[slot], None))
    for _ in range(_MAX_ROUNDS):
        if np.count_nonzero(table >= 0) > size // 2:
            return None
        if pending.size == 0:
            return table, slot_of_row
        slot = (slot_of_row[pending] + 1) & (size - 1)
        free = table[slot] < 0
        table[slot[free]] = pending[free]
        same = _same_rows(words, table[slot], pending)
        slot_of_row[pending] = slot
        pending = pending[~same]
    return None  # pathological clustering: a larger table spreads it


def _same_rows(
    words: npt.NDArray[np.uint64], owners: npt.NDArray[np.intp], rows: npt.NDArray[np.intp] | None
) -> npt.NDArray[np.bool_]:
    """Whether key ``owners[i]`` equals key ``rows[i]`` (key ``i`` when ``rows`` is None)."""
    same = np.ones(owners.size, dtype=bool)
    for word in words:
        same &= word[owners] == (word if rows is None else word[rows])
    return same
