"""Whole-array operations on contiguous segments (one segment per meter) of a sorted array."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

__all__ = ["segment_ids", "segment_starts", "segmented_argsort", "segmented_cumsum"]


def segment_starts(codes: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
    """Start index of each run of equal values in ``codes`` (which must be grouped).

    >>> segment_starts(np.array([0, 0, 1, 1, 1, 4]))
    array([0, 2, 5])
    """
    if codes.size == 0:
        return np.empty(0, dtype=np.intp)
    return np.flatnonzero(np.concatenate(([True], codes[1:] != codes[:-1])))


def segment_ids(starts: npt.NDArray[np.intp], n: int) -> npt.NDArray[np.intp]:
    """Segment number of every element, given the segments' start indices.

    >>> segment_ids(np.array([0, 2, 5]), 6)
    array([0, 0, 1, 1, 1, 2])
    """
    marks = np.zeros(n, dtype=np.intp)
    marks[starts[1:]] = 1
    return np.cumsum(marks)


def _blocks(
    starts: npt.NDArray[np.intp], n: int
) -> Iterator[tuple[npt.NDArray[np.intp], npt.NDArray[np.bool_]]]:
    """Segments laid out as zero-padded 2-D blocks, one block per power-of-two length class.

    Yields ``(index, inside)``: row ``r`` of ``index`` holds the positions of one
    segment, padded (with valid but unused positions) to the block's width;
    ``inside`` marks the real ones, always a prefix of the row. Padding costs at
    most 2×, and the caller's Python loop runs over at most ~40 length classes,
    never over segments.
    """
    lengths = np.diff(np.append(starts, n))
    if lengths.min() == lengths.max():  # e.g. a fleet on a fixed cadence: one block, no padding
        index = np.arange(n).reshape(len(starts), -1)
        yield index, np.ones(index.shape, dtype=bool)
        return
    length_class = np.ceil(np.log2(lengths)).astype(np.int64)
    for k in np.unique(length_class):
        members = length_class == k
        size = lengths[members]
        column = np.arange(int(size.max()))
        index = np.minimum(starts[members][:, None] + column, n - 1)
        yield index, column < size[:, None]


def segmented_cumsum(
    values: npt.NDArray[np.float64], starts: npt.NDArray[np.intp]
) -> npt.NDArray[np.float64]:
    """Cumulative sum restarting at every segment start, bit-identical to ``np.cumsum`` per segment.

    A global ``cumsum`` minus each segment's base would lose the precision of a
    small meter that follows a large one (cancellation). Instead segments are
    grouped by length class (powers of two) and each class is laid out as a
    zero-padded 2-D block whose rows are summed with ``cumsum(axis=1)``. The
    padding costs at most 2×, the Python loop runs over at most ~40 length
    classes (never over segments), and each row is summed in the same order as
    a 1-D ``np.cumsum`` of that segment alone.

    >>> segmented_cumsum(np.array([1.0, 2.0, 3.0, 10.0, 20.0]), np.array([0, 3]))
    array([ 1.,  3.,  6., 10., 30.])
    """
    n = values.size
    if n == 0:
        return values.astype(np.float64, copy=True)
    if n % len(starts) == 0 and np.all(np.diff(starts) == n // len(starts)):
        return np.cumsum(values.reshape(len(starts), -1), axis=1).reshape(n)  # no gather needed
    out = np.empty(n, dtype=np.float64)
    for index, inside in _blocks(starts, n):
        block = np.where(inside, values[index], 0.0)
        out[index[inside]] = np.cumsum(block, axis=1)[inside]
    return out


def segmented_argsort(
    keys: npt.NDArray[np.int64], starts: npt.NDArray[np.intp]
) -> npt.NDArray[np.intp]:
    """Positions that stably sort ``keys`` within each segment (segments stay in place).

    Many short sorts in a 2-D block are several times faster than one global
    sort of the same rows, which is why the fleet engine groups by meter first
    (a radix sort) and then sorts each meter's times with this.

    >>> segmented_argsort(np.array([3, 1, 2, 9, 8]), np.array([0, 3]))
    array([1, 2, 0, 4, 3])
    """
    n = keys.size
    out = np.arange(n)
    if n == 0:
        return out
    pad = np.iinfo(np.int64).max
    for index, inside in _blocks(starts, n):
        block = np.where(inside, keys[index], pad)  # padding sorts after every real key
        ranked = np.take_along_axis(index, np.argsort(block, axis=1, kind="stable"), axis=1)
        out[index[inside]] = ranked[inside]
    return out
