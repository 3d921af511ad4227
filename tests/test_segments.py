"""Segment-wise sort and running sum: each equals numpy's own on every segment alone."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from energy_integral._segments import segmented_argsort, segmented_cumsum

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
@given(lengths=_segments(), data=st.data(), with_offsets=st.booleans())
def test_segmented_cumsum_is_numpy_cumsum_of_each_segment_bit_for_bit(
    lengths: npt.NDArray[np.intp], data: st.DataObject, with_offsets: bool
) -> None:
    n = int(lengths.sum())
    finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
    values = np.asarray(data.draw(st.lists(finite, min_size=n, max_size=n)), dtype=np.float64)
    offsets = np.asarray(data.draw(st.lists(finite, min_size=lengths.size, max_size=lengths.size)))
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.intp)
    got = segmented_cumsum(values, starts, offsets if with_offsets else None)
    pieces = [np.cumsum(values[a : a + m]) for a, m in zip(starts, lengths, strict=True)]
    if with_offsets:  # the carried total is added after summing, as integrate() does
        pieces = [offset + piece for offset, piece in zip(offsets, pieces, strict=True)]
    assert np.array_equal(got, np.concatenate(pieces))
