"""Whole-array operations on contiguous segments (one segment per meter) of a sorted array."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "grouping_order",
    "segment_ids",
    "segment_starts",
    "segmented_argsort",
    "segmented_cumsum",
]


def segment_starts(codes: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
    """Start index of each run of equal values in ``codes`` (which must be grouped).

    >>> segment_starts(np.array([0, 0, 1, 1, 1, 4]))
    array([0, 2, 5])
    """
    if codes.size == 0:
        return np.empty(0, dtype=np.intp)
    return np.flatnonzero(np.concatenate(([True], codes[1:] != codes[:-1])))


def grouping_order(
    codes: npt.NDArray[np.int64], sizes: npt.NDArray[np.intp] | None = None
) -> npt.NDArray[np.intp]:
    """Positions that stably sort non-negative ``codes``: ``np.argsort(codes, kind="stable")``.

    numpy sorts values several times faster than it argsorts them, so when
    code and position fit in 64 bits together each row becomes the value
    :math:`(c \\ll b) \\,|\\, i` with :math:`b` bits for the position :math:`i` (in
    32 bits when they fit, else 64):
    one value sort orders by code and, among equal codes, by position (which
    is stability), and the low bits give the position back. A batch too long
    for 32 bits but of at most :data:`CHUNKED_CODE_BITS`-bit codes is sorted in
    chunks of 32-bit values (see :func:`_chunked_order`). ``sizes``, if the
    caller has it, is ``np.bincount(codes)``.

    >>> grouping_order(np.array([2, 0, 2, 1, 0]))
    array([1, 4, 3, 0, 2])
    """
    n = codes.size
    bits = max(n - 1, 1).bit_length()
    top = int(codes.max()) if n else 0
    if n == 0 or top >> (63 - bits):
        return np.argsort(codes, kind="stable")
    if top.bit_length() + bits > 32 and 0 < top.bit_length() <= CHUNKED_CODE_BITS:
        return _chunked_order(codes, top, np.bincount(codes) if sizes is None else sizes)
    # In 32 bits when they fit (a batch of up to a few million rows of a few thousand
    # meters): half the memory to move, twice the lanes of each vector compare.
    word = np.dtype(np.uint32 if top.bit_length() + bits <= 32 else np.uint64)
    packed: npt.NDArray[np.unsignedinteger[Any]] = codes.astype(word)
    np.left_shift(packed, bits, out=packed, dtype=word)
    np.bitwise_or(packed, np.arange(n, dtype=word), out=packed)
    packed.sort()
    np.bitwise_and(packed, (1 << bits) - 1, out=packed, dtype=word)
    return packed.view(np.intp) if word.itemsize == 8 else packed.astype(np.intp)


#: Codes of up to this many bits are grouped in chunks of 32-bit values (chunks of at
#: least 2**16 rows: no shorter, lest the per-chunk work on every code dominate).
CHUNKED_CODE_BITS = 16


def _chunked_order(
    codes: npt.NDArray[np.int64], top: int, sizes: npt.NDArray[np.intp], shift: int | None = None
) -> npt.NDArray[np.intp]:
    """:func:`grouping_order` by chunks of ``2**shift`` rows, each sorted as 32-bit values.

    A chunk's rows become :math:`(c \\ll s) \\,|\\, j` for code :math:`c` and position
    :math:`j` in the chunk (``shift`` :math:`s` is what 32 bits leave beside the
    codes); a chunk of them sorts in cache, at twice the vector lanes of 64-bit
    values. Each chunk's run of a code then goes to the next free slots of that
    code's run in the result (whose starts ``sizes``, the codes' counts, give):
    chunk by chunk, which keeps equal codes in input order.

    >>> codes = np.array([2, 0, 2, 1, 0, 1, 2])
    >>> _chunked_order(codes, 2, np.bincount(codes), shift=2).tolist()
    [1, 4, 3, 5, 0, 2, 6]
    """
    n = codes.size
    shift = 32 - top.bit_length() if shift is None else shift
    size = min(1 << shift, n)
    free = np.cumsum(sizes) - sizes  # the next slot of each code's run in the result
    firsts = np.arange(top + 1, dtype=np.uint32) << np.uint32(shift)
    column = np.arange(size, dtype=np.uint32)
    steps = np.arange(size)
    packed = np.empty(size, dtype=np.uint32)
    out = np.empty(n, dtype=np.intp)
    for a in range(0, n, size):
        part = codes[a : a + size]
        k = part.size
        chunk = packed[:k]
        np.left_shift(part, shift, out=chunk, casting="unsafe")  # fits: c < 2**(32 - s)
        chunk |= column[:k]
        chunk.sort()
        edges = np.searchsorted(chunk, firsts)  # where each code's run starts in the chunk
        counts = np.diff(edges, append=k)
        slots = np.repeat(free - edges, counts)
        slots += steps[:k]
        free += counts
        chunk &= np.uint32((1 << shift) - 1)
        rows = chunk.astype(np.intp)
        rows += a
        out[slots] = rows
    return out


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
) -> Iterator[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.bool_]]]:
    """Segments laid out as zero-padded 2-D blocks, one block per power-of-two length class.

    Yields ``(members, index, inside)``: row ``r`` of ``index`` holds the
    positions of segment ``members[r]``, padded (with valid but unused
    positions) to the block's width; ``inside`` marks the real ones, always a
    prefix of the row. Padding costs at most 2×, and the caller's Python loop
    runs over at most ~40 length classes, never over segments. (Segments of
    one common length need no blocks: the callers reshape them directly.)
    """
    lengths = np.diff(np.append(starts, n))
    length_class = np.ceil(np.log2(lengths)).astype(np.int64)
    for k in np.unique(length_class):
        members = np.flatnonzero(length_class == k)
        size = lengths[members]
        column = np.arange(int(size.max()))
        index = np.minimum(starts[members][:, None] + column, n - 1)
        yield members, index, column < size[:, None]


def segmented_cumsum(
    values: npt.NDArray[np.float64],
    starts: npt.NDArray[np.intp],
    offsets: npt.NDArray[np.float64] | None = None,
    out: npt.NDArray[np.float64] | None = None,
) -> npt.NDArray[np.float64]:
    """Cumulative sum restarting at every segment start, bit-identical to ``np.cumsum`` per segment.

    With ``offsets`` (one per segment), segment ``j`` reads ``offsets[j] + cumsum``:
    a carried total added after summing, exactly as :func:`~energy_integral.integrate`
    adds a state's energy. ``out`` (float64, the size of ``values``) receives the
    result instead of a new array.

    A global ``cumsum`` minus each segment's base would lose the precision of a
    small meter that follows a large one (cancellation). Instead short
    segments are laid out as the columns of one zero-padded 2-D block summed
    with ``cumsum(axis=0)`` (see :func:`_columns_cumsum`), and longer ones are
    grouped by length class (powers of two), each class a zero-padded block
    whose rows are summed with ``cumsum(axis=1)``. The padding costs at most
    2×, the Python loop runs over at most ~40 length classes (never over
    segments), and each segment is summed in the same order as a 1-D
    ``np.cumsum`` of that segment alone.

    >>> segmented_cumsum(np.array([1.0, 2.0, 3.0, 10.0, 20.0]), np.array([0, 3]))
    array([ 1.,  3.,  6., 10., 30.])
    >>> values, starts = np.array([1.0, 2.0, 3.0, 10.0, 20.0]), np.array([0, 3])
    >>> segmented_cumsum(values, starts, offsets=np.array([5.0, 0.5]))
    array([ 6. ,  8. , 11. , 10.5, 30.5])
    """
    n = values.size
    if n == 0:
        return values.astype(np.float64, copy=True)
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is the caller's to reject
        return _segmented_cumsum(values, starts, offsets, np.empty(n) if out is None else out)


def _segmented_cumsum(
    values: npt.NDArray[np.float64],
    starts: npt.NDArray[np.intp],
    offsets: npt.NDArray[np.float64] | None,
    out: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    n = values.size
    if n % len(starts) == 0 and np.all(np.diff(starts) == n // len(starts)):
        rows = out.reshape(len(starts), -1)
        np.cumsum(values.reshape(len(starts), -1), axis=1, out=rows)  # equal lengths: no gather
        if offsets is not None:
            rows += offsets[:, None]
        return out
    lengths = np.diff(np.append(starts, n))
    width = int(lengths.max())
    if width <= _COLUMNS_WIDTH and width * len(starts) <= _COLUMNS_PADDING * n:
        _columns_cumsum(values, starts, lengths, width, out)
    else:
        for _, index, inside in _blocks(starts, n):
            block = np.where(inside, values[index], 0.0)
            out[index[inside]] = np.cumsum(block, axis=1)[inside]
    if offsets is not None:
        out += np.repeat(offsets, lengths)
    return out


#: Segments of up to this many rows are summed as the columns of one padded block, if
#: the block holds at most ``_COLUMNS_PADDING`` times as many cells as there are values.
_COLUMNS_WIDTH = 2048
_COLUMNS_PADDING = 2


def _columns_cumsum(
    values: npt.NDArray[np.float64],
    starts: npt.NDArray[np.intp],
    lengths: npt.NDArray[np.intp],
    width: int,
    out: npt.NDArray[np.float64],
) -> None:
    """Segment ``j``'s running sum as column ``j`` of one zero-padded ``(width, segments)``
    block, summed down the columns.

    ``cumsum(axis=0)`` adds whole rows of the block at once (every segment's
    next item in one vectorised step), and each column is summed in the same
    order as a 1-D ``np.cumsum`` of its segment; the padding follows each
    segment's items, so it changes none of them. Many short segments (a
    block of a time-ordered batch holds each meter's few rows) sum several
    times faster this way than as rows.

    >>> out = np.empty(5)
    >>> _columns_cumsum(np.array([1.0, 2.0, 3.0, 10.0, 20.0]), np.array([0, 3]),
    ...                 np.array([3, 2]), 3, out)
    >>> out.tolist()
    [1.0, 3.0, 6.0, 10.0, 30.0]
    """
    n, segments = values.size, starts.size
    # Item i of segment j goes to (i, j): row-major place i * segments + j.
    place = np.arange(n) - np.repeat(starts, lengths)
    place *= segments
    place += np.repeat(np.arange(segments), lengths)
    block = np.zeros((width, segments))
    block.reshape(-1)[place] = values
    np.cumsum(block, axis=0, out=block)
    np.take(block.reshape(-1), place, out=out)


def segmented_argsort(
    keys: npt.NDArray[np.int64], starts: npt.NDArray[np.intp]
) -> npt.NDArray[np.intp]:
    """Positions that stably sort ``keys`` within each segment (segments stay in place).

    Many short sorts in a 2-D block are several times faster than one global
    sort of the same rows, which is why the fleet engine groups by meter first
    (a radix sort) and then sorts each meter's times with this.

    >>> segmented_argsort(np.array([3, 1, 2, 9, 8]), np.array([0, 3]))
    array([1, 2, 0, 4, 3])
    >>> segmented_argsort(np.array([5, 5, 4, 7, 6, 6]), np.array([0, 3]))
    array([2, 0, 1, 4, 5, 3])
    """
    n = keys.size
    if n == 0:
        return np.arange(0)
    low, high = np.minimum.reduceat(keys, starts), np.maximum.reduceat(keys, starts)
    lengths = np.diff(np.append(starts, n))
    if lengths.min() == lengths.max():  # one block whose rows are the segments: no gather
        rows = _argsort_rows(keys.reshape(len(starts), -1), low, high)
        rows += starts[:, None]
        return rows.reshape(n)
    out = np.arange(n)
    for members, index, inside in _blocks(starts, n):
        # Padding takes its row's largest key: it ties with it and, being further
        # right, sorts after every real key of the row.
        block = np.where(inside, keys[index], high[members][:, None])
        ranked = np.take_along_axis(index, _argsort_rows(block, low[members], high[members]), 1)
        out[index[inside]] = ranked[inside]
    return out


def _argsort_rows(
    block: npt.NDArray[np.int64], low: npt.NDArray[np.int64], high: npt.NDArray[np.int64]
) -> npt.NDArray[np.intp]:
    """Stable argsort of each row of ``block``, whose row ``r`` lies in ``[low[r], high[r]]``.

    numpy sorts values about 2.5× faster than it argsorts them, so when every
    row's span leaves room, each key becomes the value
    :math:`((k - \\mathrm{low}) \\ll b) \\,|\\, \\mathrm{column}` with :math:`b`
    bits for the column: one value sort then orders by key and, among equal
    keys, by column (which is stability), and the low bits give the column back.
    """
    width = block.shape[1]
    bits = max(width - 1, 1).bit_length()
    offset = low.view(np.uint64)
    span = int((high.view(np.uint64) - offset).max())  # modulo 2**64: exact, as high >= low
    if span >> (64 - bits):
        return np.argsort(block, axis=1, kind="stable")
    packed = block.view(np.uint64) - offset[:, None]
    packed <<= np.uint64(bits)
    packed |= np.arange(width, dtype=np.uint64)
    packed.sort(axis=1)
    packed &= np.uint64((1 << bits) - 1)
    return packed.view(np.intp)
