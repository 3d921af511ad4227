"""Segment-wise sort and running sum, and the grouping of rows by meter: each equals numpy's own."""

from __future__ import annotations

from unittest import mock

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

import energy_integral._segments as segments_module
from energy_integral._row_order import _permute_within, meter_time_pairs
from energy_integral._segments import (
    _chunked_order,
    grouping_order,
    segmented_argsort,
    segmented_cumsum,
)

INT64 = np.iinfo(np.int64)


@st.composite
def _segments(draw: st.DrawFn, /) -> npt.NDArray[np.intp]:
    """Segment lengths: all equal (one block) or mixed (several length classes)."""
    if draw(st.booleans()):
        return np.full(draw(st.integers(1, 6)), draw(st.integers(1, 40)), dtype=np.intp)
    return np.asarray(draw(st.lists(st.integers(1, 70), min_size=1, max_size=8)), dtype=np.intp)


# Keys close together (the packed value sort) or spanning all of int64 (the fallback),
# with many ties so that stability matters.
_narrow = st.integers(-50, 50).map(lambda k: k * 1_000_000_007 + 1_767_225_600_000_000_000)
_wide = st.sampled_from([int(INT64.min) + 1, -1, 0, 1, int(INT64.max)])


@settings(max_examples=300)
@given(lengths=_segments(), data=st.data())
def test_segmented_argsort_is_a_stable_argsort_of_each_segment(
    lengths: npt.NDArray[np.intp], data: st.DataObject
) -> None:
    n = int(lengths.sum())
    keys = np.asarray(data.draw(st.lists(st.one_of(_narrow, _wide), min_size=n, max_size=n)))
    keys = keys.astype(np.int64)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.intp)
    got = segmented_argsort(keys, starts)
    want = np.concatenate(
        [
            a + np.argsort(keys[a : a + m], kind="stable")
            for a, m in zip(starts, lengths, strict=True)
        ]
    )
    np.testing.assert_array_equal(got, want)


@settings(max_examples=200)
@given(lengths=_segments(), data=st.data(), with_offsets=st.booleans(), as_columns=st.booleans())
def test_segmented_cumsum_is_numpy_cumsum_of_each_segment_bit_for_bit(
    lengths: npt.NDArray[np.intp], data: st.DataObject, with_offsets: bool, as_columns: bool
) -> None:
    # Segments summed as the columns of one padded block, or as rows by length class.
    n = int(lengths.sum())
    finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
    values = np.asarray(data.draw(st.lists(finite, min_size=n, max_size=n)), dtype=np.float64)
    offsets = np.asarray(data.draw(st.lists(finite, min_size=lengths.size, max_size=lengths.size)))
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.intp)
    layout = {"_COLUMNS_WIDTH": 1 << 20, "_COLUMNS_PADDING": 1 << 20} if as_columns else {}
    with mock.patch.multiple(segments_module, **(layout or {"_COLUMNS_WIDTH": 0})):
        got = segmented_cumsum(values, starts, offsets if with_offsets else None)
    pieces = [np.cumsum(values[a : a + m]) for a, m in zip(starts, lengths, strict=True)]
    if with_offsets:  # the carried total is added after summing, as integrate() does
        pieces = [offset + piece for offset, piece in zip(offsets, pieces, strict=True)]
    assert np.array_equal(got, np.concatenate(pieces))


@settings(max_examples=200)
@given(
    codes=st.lists(st.integers(0, 40), min_size=1, max_size=80),
    shift=st.integers(1, 7),
    sized=st.booleans(),
)
def test_grouping_in_chunks_is_the_stable_argsort(
    codes: list[int], shift: int, sized: bool
) -> None:
    # Chunks of 2**shift rows: one row, a few, or the whole batch in one chunk.
    arr = np.array(codes, dtype=np.int64)
    top = int(arr.max())
    got = _chunked_order(arr, top, np.bincount(arr), shift=shift)
    np.testing.assert_array_equal(got, np.argsort(arr, kind="stable"))
    if sized:  # the codes' counts handed in give the same order
        np.testing.assert_array_equal(grouping_order(arr, np.bincount(arr)), got)


def test_grouping_a_batch_too_long_for_32_bits_goes_by_chunks() -> None:
    # 16-bit codes and 17-bit positions: two chunks of 2**16 rows and a short third.
    rng = np.random.default_rng(7)
    codes = rng.integers(0, 1 << 16, size=(1 << 17) + 5)
    codes[:3] = (1 << 16) - 1, 0, (1 << 16) - 1
    np.testing.assert_array_equal(grouping_order(codes), np.argsort(codes, kind="stable"))


@settings(max_examples=200)
@given(lengths=_segments(), block=st.integers(1, 100), data=st.data())
def test_permuting_within_runs_in_place_is_a_gather(
    lengths: npt.NDArray[np.intp], block: int, data: st.DataObject
) -> None:
    n = int(lengths.sum())
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.intp)
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    within = np.concatenate([a + rng.permutation(m) for a, m in zip(starts, lengths, strict=True)])
    values = rng.integers(-(2**62), 2**62, size=n)
    want = values[within]
    _permute_within(values, within, starts, block=block)
    np.testing.assert_array_equal(values, want)


@settings(max_examples=200)
@given(
    codes=st.lists(st.integers(0, 6), min_size=1, max_size=60),
    data=st.data(),
)
def test_meter_time_pairs_is_the_lexsort_of_codes_and_times(
    codes: list[int], data: st.DataObject
) -> None:
    arr = np.array(codes, dtype=np.int64)
    n = arr.size
    t = np.array(data.draw(st.lists(st.integers(0, 5), min_size=n, max_size=n)), dtype=np.int64)
    p = np.array(data.draw(st.lists(st.floats(allow_nan=True), min_size=n, max_size=n)))
    order, sizes, tp = meter_time_pairs(arr, t, p)
    want = np.lexsort((t, arr))
    np.testing.assert_array_equal(order, want)
    np.testing.assert_array_equal(sizes, np.bincount(arr))
    np.testing.assert_array_equal(tp[0], t[want])
    assert tp[1].tobytes() == p[want].tobytes()  # the power's bits, NaN payloads included
