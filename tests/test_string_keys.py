"""Numpy strings as integer keys over their varying columns: the same codes as a sort.

The law: for any ``<U`` or ``S`` array, ``factorize`` gives exactly
``np.unique(arr, return_inverse=True)`` (the sorted distinct ids, each row's
index into them, the array's dtype), whichever path it takes: small keys and
a lookup table, wide keys hashed as one word, or the strings' own hash. The
arrays are drawn to look like meter ids (shared prefixes and suffixes around
a few varying characters), with what numpy makes special: trailing and inner
NULs, empty strings, non-ASCII text, bytes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from energy_integral import _factorize, _string_keys
from energy_integral._factorize import factorize
from energy_integral._string_keys import string_keys

ALPHABETS = ["01", "0123456789", "ab\x00", "\x00", "xé€", "Z\U0001f600"]


@st.composite
def meter_arrays(draw: st.DrawFn) -> np.ndarray:
    """Ids like meter ids: a shared prefix and suffix around a few characters of an alphabet."""
    alphabet = draw(st.sampled_from(ALPHABETS))
    prefix = draw(st.sampled_from(["", "meter-", "m\x00"]))
    suffix = draw(st.sampled_from(["", "-a", "\x00"]))
    chars = st.lists(st.sampled_from(list(alphabet)), max_size=draw(st.integers(0, 5)))
    middles = chars.map("".join)
    ids = draw(st.lists(middles.map(lambda m: prefix + m + suffix), min_size=1, max_size=60))
    arr = np.array(ids, dtype=str)
    if draw(st.booleans()):
        arr = np.char.encode(arr, "utf-8")
    if draw(st.booleans()):  # wider than the longest id: padding columns
        arr = arr.astype(f"{arr.dtype.kind}{max(arr.dtype.itemsize // 4, 1) + 3}")
    return arr


def small_steps(patch: pytest.MonkeyPatch) -> None:
    """Blocks of a few rows and a sample of a few: many blocks, and guesses that miss."""
    patch.setattr(_string_keys, "_BLOCK_BYTES", 16)
    patch.setattr(_string_keys, "_SAMPLE", 3)
    patch.setattr(_string_keys, "_GROUP", 2)


def assert_like_unique(arr: np.ndarray) -> None:
    codes, uniques = factorize(arr)
    want_uniques, want_codes = np.unique(arr, return_inverse=True)
    assert uniques.dtype == arr.dtype
    np.testing.assert_array_equal(uniques, want_uniques)
    assert codes.dtype == np.int64
    np.testing.assert_array_equal(codes, want_codes)


@settings(max_examples=200, deadline=None)
@given(
    arr=meter_arrays(), path=st.sampled_from(["lookup", "one word", "strings"]), small=st.booleans()
)
def test_factorize_is_np_unique_on_every_path(arr: np.ndarray, path: str, small: bool) -> None:
    with pytest.MonkeyPatch.context() as patch:
        if small:
            small_steps(patch)
        if path == "one word":  # keys too many for a lookup table: hashed
            patch.setattr(_factorize, "_lookup_bound", lambda n: 0)
        if path == "strings":
            patch.setattr(_factorize, "string_keys", lambda arr: None)
        assert_like_unique(arr)


@settings(max_examples=200, deadline=None)
@given(arr=meter_arrays(), small=st.booleans())
def test_keys_are_equal_exactly_for_equal_strings_and_sort_like_them(
    arr: np.ndarray, small: bool
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        if small:
            small_steps(patch)
        keyed = string_keys(arr)
    units = arr.view(np.uint8 if arr.dtype.kind == "S" else np.uint32).reshape(arr.size, -1)
    spelled = math.prod(int(c.max()) - int(c.min()) + 1 for c in units.T)
    if keyed is None:  # refused only when the varying columns spell more than int64 holds
        assert spelled > 2**63
        return
    assert keyed.size == spelled
    assert keyed.keys.dtype == np.int64
    assert keyed.keys.min() >= 0
    assert keyed.keys.max() < keyed.size
    want_uniques, want_codes = np.unique(arr, return_inverse=True)
    unique_keys, key_codes = np.unique(keyed.keys, return_inverse=True)
    np.testing.assert_array_equal(key_codes, want_codes)  # one key per string, in its order
    np.testing.assert_array_equal(keyed.strings(unique_keys), want_uniques)


def test_keys_that_would_spell_too_many_ids_are_refused() -> None:
    arr = np.array(["ab", "ba", "zz"])
    assert string_keys(arr, limit=675) is None  # two columns of a..z each: 676 keys
    keyed = string_keys(arr, limit=676)
    assert keyed is not None
    assert keyed.size == 676


@pytest.mark.parametrize(
    "arr",
    [
        np.array([], dtype="<U3"),
        np.array(["", "", ""]),  # width 0
        np.array(["only"]),
        np.array(["a", "a\x00", "a\x00b", "a"]),  # numpy drops trailing NULs only
        np.array(["m-2", "m-1", "m-2"], dtype=">U3"),  # not the machine's byte order
        np.array([b"\xff\x00", b"\xff", b"\x01"]),
        np.array(["x", "y", "z"] * 5)[::2],  # not contiguous
    ],
)
def test_edge_cases_are_np_unique(arr: np.ndarray) -> None:
    assert_like_unique(arr)
