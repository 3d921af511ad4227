"""Object ids grouped by identity first: exactly ``pandas.factorize``'s answer.

The law: for any object array drawn from a pool that mixes shared objects,
equal strings that are different objects, ``None``, NaNs (one shared, others
each their own object), ``pd.NA``, and numbers equal across types, the codes
are ``pandas.factorize``'s and every unique is the very object it returns,
whichever way the rows' keys are made (a lookup table over the addresses, or
the addresses hashed when the objects lie far apart).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import energy_integral as ei
from energy_integral import _object_identity
from energy_integral._column_codes import object_codes
from energy_integral._factorize import factorize
from energy_integral._object_identity import identity_codes, neighbours_differ


def _new_string(text: str) -> str:
    """An equal string that is a different object (built at run time, never interned)."""
    return "".join([text[:1], text[1:]])


def _pool() -> list[object]:
    words = [f"meter-{i:03d}" for i in range(6)]
    return [
        *words,
        *(_new_string(w) for w in words[:3]),  # equal values, other objects
        None,
        np.nan,
        float("nan"),
        pd.NA,
        7,
        7.0,
        "é€",
    ]


POOL = np.array(_pool(), dtype=object)
STRINGS = np.array(_pool()[:7], dtype=object)  # six ids, one of them also as a second object


def _factorized(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = pd.factorize(arr, use_na_sentinel=True)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


def _assert_same(got: tuple[np.ndarray, np.ndarray] | None, arr: np.ndarray) -> None:
    assert got is not None
    codes, uniques = _factorized(arr)
    np.testing.assert_array_equal(got[0], codes)
    assert got[0].dtype == np.int64
    assert len(got[1]) == len(uniques)
    assert all(a is b for a, b in zip(got[1], uniques, strict=True))


rows = st.lists(st.integers(0, len(POOL) - 1), min_size=1, max_size=300)


@given(rows)
@settings(max_examples=300, deadline=None)
def test_equals_pandas_factorize_through_a_lookup_table(picks: list[int]) -> None:
    arr = POOL[np.array(picks)]
    _assert_same(identity_codes(arr, _factorized, min_rows=1) or _factorized(arr), arr)


@given(rows)
@settings(max_examples=100, deadline=None)
def test_equals_pandas_factorize_with_the_addresses_hashed(picks: list[int]) -> None:
    arr = POOL[np.array(picks)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_object_identity, "_keys", lambda addresses, n: None)  # "too far apart"
        _assert_same(identity_codes(arr, _factorized, min_rows=1) or _factorized(arr), arr)


def test_a_column_of_shared_strings_is_grouped_by_identity_in_every_order() -> None:
    # Larger than a block of rows, so several blocks are scanned for first appearances.
    m = np.tile(np.arange(7), 20_000)
    rng = np.random.default_rng(5)
    for order in (m, rng.permutation(m), np.sort(m)):  # time order, shuffled, grouped
        arr = STRINGS[order]
        got = identity_codes(arr, _factorized)
        _assert_same(got, arr)


def test_an_id_first_seen_blocks_later_is_found_after_ids_seen_again() -> None:
    # Block one holds ids 0 and 1, block two only id 1 again, block three id 2 first.
    block = _object_identity._BLOCK
    order = np.concatenate([np.arange(block) % 2, np.ones(block, int), np.full(5, 2)])
    arr = STRINGS[order]
    _assert_same(identity_codes(arr, _factorized, min_rows=1), arr)


def test_missing_ids_get_their_own_key_when_none_lies_apart() -> None:
    # Two objects 16 bytes apart, far from None: keys 0 and 1, and None the key after them.
    far = id(None) + (1 << 40)
    addresses = np.array([far, id(None), far + 16, far, id(None)], dtype=np.intp)
    keyed = _object_identity._keys(addresses, addresses.size)
    assert keyed is not None
    keys, size = keyed
    assert keys.tolist() == [0, 2, 1, 0, 2]
    assert size == 3


# Addresses as a heap long in use gives them: 16-byte aligned objects in a few 4 KiB
# pages scattered over up to 2**42 bytes, with None (static, far away) among them.
_scattered = st.lists(
    st.tuples(st.integers(0, (1 << 30) - 1), st.integers(0, 255)), min_size=1, max_size=40
).map(lambda spots: sorted({(page << 12) + (slot << 4) for page, slot in spots}))


@given(offsets=_scattered, data=st.data())
@settings(max_examples=300, deadline=None)
def test_keys_are_one_per_object_however_far_apart_the_objects_lie(
    offsets: list[int], data: st.DataObject
) -> None:
    base = id(None) + (1 << 44)
    distinct = np.array([base + o for o in offsets] + [id(None)], dtype=np.intp)
    picks = data.draw(st.lists(st.integers(0, distinct.size - 1), min_size=1, max_size=200))
    addresses = distinct[np.array(picks)]
    keyed = _object_identity._keys(addresses, addresses.size)
    objects = addresses[addresses != id(None)]
    span = int(objects.max() - objects.min()) if objects.size else 0
    if span < 1 << 32:  # 2**20 pages of 4 KiB at most: a table of pages always fits
        assert keyed is not None
    if keyed is None:
        return
    keys, size = keyed
    assert size <= 1 << 20
    assert keys.min() >= 0
    assert keys.max() < size
    # Equal keys exactly for equal addresses: no two objects merged, no object split.
    pairs = np.unique(np.stack([keys, addresses]), axis=1).shape[1]
    assert pairs == np.unique(keys).size == np.unique(addresses).size


def test_objects_scattered_over_a_large_heap_are_keyed_by_their_pages() -> None:
    # Three 16-byte aligned objects, two in one 4 KiB page, the third 2**31 bytes away:
    # 2**27 keys directly; two pages of 256 keys each instead.
    low = id(None) + (1 << 40)
    addresses = np.array([low, low + 48, low + (1 << 31) + 32, low], dtype=np.intp)
    keyed = _object_identity._keys(addresses, addresses.size)
    assert keyed is not None
    keys, size = keyed
    assert keys.tolist() == [0, 3, 256 + 2, 0]
    assert size == 512


def test_numpy_takes_over_its_own_indices_item_by_item() -> None:
    # _paged_keys gathers each page's drop into the array of page numbers it reads: numpy
    # reads each index before it writes that item (and copies only when out overlaps the
    # table). Checked on a batch-sized array, where any blocking would show.
    rng = np.random.default_rng(0)
    table = rng.integers(0, 1 << 40, 1 << 12)
    pages = rng.integers(0, table.size, 1 << 21)
    want = table[pages]
    np.testing.assert_array_equal(np.take(table, pages, out=pages, mode="clip"), want)
    np.testing.assert_array_equal(pages, want)


def test_rows_that_are_each_their_own_object_are_left_to_the_hash() -> None:
    # One string object per row (numpy's astype(object)): grouping by identity would not help.
    arr = np.array([f"m{i % 10}" for i in range(100_000)]).astype(object)
    assert identity_codes(arr, _factorized) is None
    _assert_same(object_codes(arr), arr)


def test_ids_that_hardly_repeat_are_left_to_the_hash() -> None:
    arr = np.array([f"m{i}" for i in range(100_000)], dtype=object)
    assert identity_codes(arr, _factorized) is None


def test_an_unhashable_id_is_still_named_by_the_library() -> None:
    arr = np.array(["m1"] * 70_000 + [["m2"]], dtype=object)[::-1].copy()
    with pytest.raises(ei.errors.InvalidTypeError, match=r"\['m2'\]"):
        factorize(arr)


def test_fleet_results_do_not_depend_on_whether_ids_are_shared_objects() -> None:
    readings = ei.generate_readings(40, periods=2_000, cadence="1s", seed=2)
    shared = np.asarray(readings.meter, dtype=object)
    assert identity_codes(shared, _factorized) is not None  # the identity path is taken
    own = shared.astype(str).astype(object)  # the same ids, one object per row
    a = ei.integrate_meters(shared, readings.timestamp, readings.power)
    b = ei.integrate_meters(own, readings.timestamp, readings.power)
    assert a.meter.tolist() == b.meter.tolist()
    np.testing.assert_array_equal(a.total, b.total)
    np.testing.assert_array_equal(a.cumulative, b.cumulative)


@given(rows, st.data())
@settings(max_examples=200, deadline=None)
def test_neighbours_differ_as_python_compares_ids(picks: list[int], data: st.DataObject) -> None:
    pool = np.array([v for v in _pool() if v is not pd.NA], dtype=object)  # NA's == is no bool
    arr = pool[np.array(picks) % len(pool)]
    lo = data.draw(st.integers(0, arr.size - 1))
    hi = data.draw(st.integers(lo + 1, arr.size))
    want = [not (a is b or a == b) for a, b in zip(arr[lo + 1 : hi], arr[lo : hi - 1], strict=True)]
    assert neighbours_differ(arr, lo, hi).tolist() == want
