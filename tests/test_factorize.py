"""Meter ids to dense codes: every path of ``factorize`` against the definition.

The definition: ``codes[i] == -1`` exactly where id ``i`` is missing (None or
NaN), otherwise ``uniques[codes[i]] == ids[i]``; ``uniques`` holds each
present id once and every one of them is used. Numeric and string uniques
come out sorted.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import energy_integral as ei
from energy_integral import _factorize
from energy_integral._factorize import factorize


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def assert_factorizes(ids: list[Any], codes: Any, uniques: Any) -> None:
    assert codes.dtype == np.int64
    assert codes.shape == (len(ids),)
    missing = [_missing(v) for v in ids]
    np.testing.assert_array_equal(codes == -1, missing)
    present = [v for v, m in zip(ids, missing, strict=True) if not m]
    decoded = np.asarray(uniques, dtype=object)[codes[~np.asarray(missing, dtype=bool)]].tolist()
    assert decoded == present
    assert len(uniques) == len(set(present))  # each present id exactly once
    assert sorted(set(codes[codes >= 0].tolist())) == list(range(len(uniques)))


small_ints = st.lists(st.integers(0, 50), max_size=30)
any_ints = st.lists(st.integers(-(2**62), 2**62), max_size=30)
# Without NUL: numpy's str dtype drops trailing NULs and pandas' hash table stops at the
# first one, so ids that differ only by NULs are one id (a known limitation).
texts = st.text(st.characters(blacklist_characters="\x00"), max_size=4)
strings = st.lists(texts, max_size=30)


@settings(max_examples=100)
@given(ids=st.one_of(small_ints, any_ints), presorted=st.booleans())
def test_integers(ids: list[int], presorted: bool) -> None:
    if presorted:
        ids = sorted(ids)
    codes, uniques = factorize(np.asarray(ids, dtype=np.int64))
    assert_factorizes(ids, codes, uniques)
    assert uniques.tolist() == sorted(set(ids))


@settings(max_examples=100)
@given(ids=st.lists(st.integers(0, 200), max_size=30))
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.uint64, np.int32])
def test_integer_dtypes(ids: list[int], dtype: type) -> None:
    codes, uniques = factorize(np.asarray(ids, dtype=dtype))
    assert_factorizes(ids, codes, uniques)
    assert uniques.tolist() == sorted(set(ids))


def test_integers_beyond_int64() -> None:
    ids = [2**64 - 1, 3, 2**63 + 5, 3]
    codes, uniques = factorize(np.asarray(ids, dtype=np.uint64))
    assert_factorizes(ids, codes, uniques)


@settings(max_examples=100)
@given(
    ids=st.lists(st.one_of(st.integers(-5, 5).map(float), st.just(math.nan)), max_size=30),
    presorted=st.booleans(),
)
def test_floats_with_nan(ids: list[float], presorted: bool) -> None:
    if presorted:
        ids = sorted(ids, key=lambda v: (math.isnan(v), v))
    codes, uniques = factorize(np.asarray(ids, dtype=np.float64))
    assert_factorizes(ids, codes, uniques)


@settings(max_examples=100)
@given(ids=strings)
def test_strings(ids: list[str]) -> None:
    codes, uniques = factorize(np.asarray(ids, dtype=str))
    assert_factorizes(ids, codes, uniques)
    assert uniques.tolist() == sorted(set(ids))


@settings(max_examples=100)
@given(
    ids=st.lists(st.one_of(texts, st.integers(-3, 3), st.none()), max_size=30),
    pandas_installed=st.booleans(),
)
def test_objects_with_none(ids: list[Any], pandas_installed: bool) -> None:
    """Ids of one kind factorise; strings mixed with numbers are refused, never two meters."""
    arr = np.array([*ids, None], dtype=object)[: len(ids)]
    kinds = {type(v) for v in ids if v is not None}
    try:
        if pandas_installed:
            codes, uniques = factorize(arr)
        else:
            with pytest.MonkeyPatch.context() as mp:  # the pure-Python fallback
                mp.delitem(sys.modules, "pandas")
                mp.setattr(_factorize, "_pandas_available", lambda: False)
                codes, uniques = factorize(arr)
    except ei.MeterIdError:
        assert kinds == {str, int}
        return
    assert len(kinds) <= 1
    assert_factorizes(ids, codes, uniques)


def test_object_nan_is_missing_on_both_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    arr = np.array(["a", math.nan, None, "a"], dtype=object)
    expected = [0, -1, -1, 0]
    assert factorize(arr)[0].tolist() == expected
    monkeypatch.delitem(sys.modules, "pandas")
    monkeypatch.setattr(_factorize, "_pandas_available", lambda: False)
    assert factorize(arr)[0].tolist() == expected


def test_booleans_and_bytes() -> None:
    ids: list[Any] = [True, False, True]
    assert_factorizes(ids, *factorize(np.asarray(ids)))
    ids = [b"x", b"y", b"x"]
    assert_factorizes(ids, *factorize(np.asarray(ids)))


@pytest.mark.parametrize(
    "column",
    [
        pd.Series(["b", None, "a", "b"]),
        pd.Series(["b", None, "a", "b"], dtype="string"),
        pd.Series(pd.Categorical(["b", None, "a", "b"])),
        pl.Series(["b", None, "a", "b"]),
        pa.array(["b", None, "a", "b"]),
        pa.chunked_array([["b", None], ["a", "b"]]),
    ],
    ids=["pandas", "pandas-string", "pandas-categorical", "polars", "pyarrow", "pyarrow-chunked"],
)
def test_frame_columns(column: Any) -> None:
    codes, uniques = factorize(column)
    assert_factorizes(["b", None, "a", "b"], codes, uniques)


@pytest.mark.parametrize(
    "column",
    [
        pd.Series([3, None, 1, 3], dtype="Int64"),
        pl.Series([3, None, 1, 3]),
        pa.array([3, None, 1, 3]),
    ],
    ids=["pandas-Int64", "polars", "pyarrow"],
)
def test_nullable_integer_columns(column: Any) -> None:
    codes, uniques = factorize(column)
    assert_factorizes([3, None, 1, 3], codes, uniques)


@settings(max_examples=150, deadline=None)
@given(
    ids=st.lists(st.none() | st.sampled_from(["", "m1", "m2", "é", "m1 "]) | st.text(max_size=3),
                 max_size=60),
    kind=st.sampled_from(["string", "large_string", "dictionary", "chunked"]),
)  # fmt: skip
def test_arrow_text_ids_unwrap_to_the_same_values(ids: list[str | None], kind: str) -> None:
    """Whatever path turns an Arrow text column into ids (a few repeated or mostly
    distinct values, nulls, a dictionary), it holds exactly the column's values."""
    column: Any = pa.array(ids, pa.large_string() if kind == "large_string" else pa.string())
    if kind == "dictionary":
        column = column.dictionary_encode()
    elif kind == "chunked":
        column = pa.chunked_array([column[: len(ids) // 2], column[len(ids) // 2 :]])
    out = _factorize.as_ids(column)
    assert out.dtype == object
    assert out.tolist() == ids
    assert_factorizes(ids, *factorize(column))


def test_arrow_text_ids_share_one_string_per_id() -> None:
    """A column of repeated ids becomes one Python string per id, not one per row."""
    out = _factorize.as_ids(pa.array(["m1", "m2"] * 3000))
    assert len({id(v) for v in out.tolist()}) == 2


BIG = 2**53  # the first integer float64 cannot tell from its successor


@pytest.mark.parametrize(
    "column",
    [
        pd.Series([BIG, BIG + 1, None], dtype="Int64"),
        pl.Series([BIG, BIG + 1, None]),
        pa.array([BIG, BIG + 1, None]),
        pa.chunked_array([[BIG], [BIG + 1, None]]),
    ],
    ids=["pandas-Int64", "polars", "pyarrow", "pyarrow-chunked"],
)
def test_nullable_integer_ids_above_2_53_stay_exact(column: Any) -> None:
    """18-digit meter codes with one null must not merge through float64."""
    codes, uniques = factorize(column)
    assert_factorizes([BIG, BIG + 1, None], codes, uniques)
    assert all(type(u) is int for u in uniques.tolist())


def test_ids_of_mixed_types_are_refused() -> None:
    with pytest.raises(ei.MeterIdError, match=r"meter_ids mixes ids of different types: '1'"):
        factorize(np.array(["1", 1, None], dtype=object))


@pytest.mark.parametrize(
    ("ids", "error", "message"),
    [
        (np.array([[1, 2]]), ValueError, "meter_ids must be one-dimensional; got shape (1, 2)"),
        (np.array([1 + 1j]), TypeError, "meter_ids has dtype complex128"),
        (np.array([1], dtype="datetime64[s]"), TypeError, "meter_ids has dtype datetime64[s]"),
        (np.array([1], dtype="timedelta64[s]"), TypeError, "meter_ids has dtype timedelta64[s]"),
    ],
)
def test_rejects_what_is_not_an_id(ids: Any, error: type, message: str) -> None:
    with pytest.raises(error) as info:
        factorize(ids)
    assert message in str(info.value)
