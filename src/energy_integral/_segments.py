"""Whole-array operations on contiguous segments (one segment per meter) of a sorted array."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["segment_ids", "segment_starts", "segmented_cumsum"]


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
    lengths = np.diff(np.append(starts, n))
    if lengths.min() == lengths.max():  # e.g. a fleet on a fixed cadence: no padding at all
        return np.cumsum(values.reshape(len(starts), -1), axis=1).reshape(n)
    out = np.empty(n, dtype=np.float64)
    length_class = np.ceil(np.log2(lengths)).astype(np.int64)
    for k in np.unique(length_class):
        members = length_class == k
        first, size = starts[members], lengths[members]
        width = int(size.max())
        column = np.arange(width)
        index = first[:, None] + column
        inside = column < size[:, None]
        block = np.where(inside, values[np.minimum(index, n - 1)], 0.0)
        out[index[inside]] = np.cumsum(block, axis=1)[inside]
    return out
