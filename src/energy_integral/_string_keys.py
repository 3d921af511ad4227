"""Fixed-width strings (numpy ``<U`` and ``S``) as small integer keys, from the columns that vary.

Real meter ids share most of their characters: ``"meter-00042"`` and
``"meter-09999"`` differ in four positions, and the prefix and the padding
are the same in every row. Seen as a matrix of code units, one row per id,
each column that varies holds a few values between its minimum and its
maximum; the ids map one-to-one onto the mixed-radix numbers whose digits
are those columns, each less its minimum, first column most significant.
Such a number sorts as the string does (numpy compares fixed-width strings
code unit by code unit, trailing NULs being padding like any other), and for
ten thousand meters it is below ten thousand: the integer ids' own path
(a lookup table, or a comparison of neighbours) takes it from there.

The columns' ranges are guessed from a sample spread over the array, and the
numbers are built in one pass over blocks small enough to stay in the cache;
the same pass takes every column's exact minimum and maximum, so a guess that
was wrong (a column constant in the sample, a digit beyond the sample's) is
caught, and the numbers are built once more from the true ranges.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["StringKeys", "string_keys"]

_SAMPLE = 8192  # rows of the sample the ranges are guessed from
_BLOCK_BYTES = 1 << 19  # rows per step: few steps (each costs a call), all in the cache
_GROUP = 64  # rows folded together by each step's minimum and maximum
_MAX_SIZE = 1 << 63  # keys are int64
_PHI = (5**0.5 - 1) / 2


@dataclass(frozen=True)
class StringKeys:
    """Keys of fixed-width strings: equal keys exactly for equal strings, in the strings' order."""

    keys: npt.NDArray[np.int64]  #: one per row, in ``range(size)``
    size: int  #: the number of keys the varying columns can spell
    template: npt.NDArray[Any]  #: the first row's code units (the constant columns)
    columns: tuple[int, ...]  #: the varying columns, most significant first
    lows: tuple[int, ...]  #: each varying column's minimum
    radices: tuple[int, ...]  #: each varying column's maximum - minimum + 1
    dtype: np.dtype[Any]  #: the strings' dtype

    def strings(self, keys: npt.NDArray[np.int64]) -> npt.NDArray[Any]:
        """The strings the ``keys`` stand for, with the original dtype."""
        units = np.repeat(self.template[np.newaxis], keys.size, axis=0)
        rest = keys.astype(np.int64)
        for column, low, radix in zip(
            self.columns[::-1], self.lows[::-1], self.radices[::-1], strict=True
        ):
            units[:, column] = rest % radix + low
            rest //= radix
        return units.view(self.dtype)[:, 0]


def string_keys(arr: npt.NDArray[Any], limit: int = _MAX_SIZE) -> StringKeys | None:
    """Keys for the ``<U`` or ``S`` array ``arr``; None if they would spell over ``limit``.

    None also for an array of no rows or of width 0 (no columns), or in a
    byte order other than the machine's.

    >>> k = string_keys(np.array(["meter-07", "meter-12", "meter-07", "meter-10"]))
    >>> k.keys, k.size, k.strings(np.array([7, 10]))
    (array([ 7, 10,  7,  8]), 16, array(['meter-07', 'meter-12'], dtype='<U8'))
    """
    units = _units(arr)
    if units is None:
        return None
    n = units.shape[0]
    # Rows spread by the golden ratio: a stride would alias with ids that repeat in a cycle
    sample = units[np.unique((np.arange(min(n, _SAMPLE)) * _PHI % 1.0 * n).astype(np.intp))]
    lows, highs = sample.min(axis=0), sample.max(axis=0)
    columns = np.flatnonzero(highs > lows)
    if _size(lows, highs, columns) > limit:  # the true ranges hold the sample's: no better
        return None
    keys, true_lows, true_highs = _build(units, columns, lows, highs)
    if not (np.array_equal(true_lows, lows) and np.array_equal(true_highs, highs)):
        lows, highs = true_lows, true_highs
        columns = np.flatnonzero(highs > lows)
        if _size(lows, highs, columns) > limit:
            return None
        keys = _build(units, columns, lows, highs, check=False)[0]
    return StringKeys(
        keys=keys,
        size=_size(lows, highs, columns),
        template=units[0].copy(),
        columns=tuple(int(c) for c in columns),
        lows=tuple(int(lows[c]) for c in columns),
        radices=tuple(int(highs[c]) - int(lows[c]) + 1 for c in columns),
        dtype=arr.dtype,
    )


def _units(arr: npt.NDArray[Any]) -> npt.NDArray[Any] | None:
    """``arr`` as a matrix of code units, one row per string (None if there is none to make)."""
    if arr.ndim != 1 or arr.size == 0 or arr.dtype.itemsize == 0:
        return None
    if not arr.dtype.isnative:
        return None
    unit = np.uint8 if arr.dtype.kind == "S" else np.uint32
    return np.ascontiguousarray(arr).view(unit).reshape(arr.size, -1)


def _size(lows: npt.NDArray[Any], highs: npt.NDArray[Any], columns: npt.NDArray[np.intp]) -> int:
    size = 1
    for c in columns.tolist():  # Python ints: the product cannot overflow
        size *= int(highs[c]) - int(lows[c]) + 1
    return size


def _build(
    units: npt.NDArray[Any],
    columns: npt.NDArray[np.intp],
    lows: npt.NDArray[Any],
    highs: npt.NDArray[Any],
    check: bool = True,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any], npt.NDArray[Any]]:
    """The keys over ``columns``, and with ``check`` every column's true range.

    The digits are added without their minimums, in unsigned integers that
    wrap: the minimums' share is taken off at the end, where the exact key,
    below the word's range, comes back whatever wrapped on the way. Keys
    below 2**32 are built in 32 bits: twice the lanes, and no cast from the
    code units of a ``<U`` array.
    """
    n, width = units.shape
    radices = [int(highs[c]) - int(lows[c]) + 1 for c in columns]
    word = np.dtype(np.uint32 if _size(lows, highs, columns) <= 1 << 32 else np.uint64)
    block = max(_BLOCK_BYTES // (width * units.itemsize) // _GROUP, 1) * _GROUP
    keys = np.zeros(n, dtype=word)
    digits = np.empty(block, dtype=word)
    factors = [word.type(radix) for radix in radices]
    low_acc = np.full(_GROUP * width, np.iinfo(units.dtype).max, dtype=units.dtype)
    high_acc = np.zeros(_GROUP * width, dtype=units.dtype)
    for start in range(0, n, block):
        rows = units[start : start + block]
        if check:  # each column at a place of a short vector: no reduction along short rows
            whole = rows.shape[0] - rows.shape[0] % _GROUP
            if whole:
                folded = rows[:whole].reshape(-1, _GROUP * width)
                np.minimum(low_acc, folded.min(axis=0), out=low_acc)
                np.maximum(high_acc, folded.max(axis=0), out=high_acc)
            if whole < rows.shape[0]:
                tail = rows[whole:]
                np.minimum(low_acc[:width], tail.min(axis=0), out=low_acc[:width])
                np.maximum(high_acc[:width], tail.max(axis=0), out=high_acc[:width])
        if columns.size == 0:
            continue
        key, own = keys[start : start + block], digits[: rows.shape[0]]
        np.copyto(key, rows[:, columns[0]])
        for column, factor in zip(columns[1:], factors[1:], strict=True):
            np.copyto(own, rows[:, column])  # contiguous first: a strided add is slower
            np.multiply(key, factor, out=key)
            np.add(key, own, out=key)
    offset = 0
    for column, radix in zip(columns, radices, strict=True):
        offset = offset * radix + int(lows[column])
    np.subtract(keys, word.type(offset % (1 << (8 * word.itemsize))), out=keys)
    true_lows = low_acc.reshape(_GROUP, width).min(axis=0)
    true_highs = high_acc.reshape(_GROUP, width).max(axis=0)
    return (
        keys.view(np.int64) if word.itemsize == 8 else keys.astype(np.int64),
        true_lows,
        true_highs,
    )
