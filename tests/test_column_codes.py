"""String ids from every container: the hashed and column-code paths against the sort they replace.

The reference is what ``factorize`` did before: ``np.unique`` for
fixed-width strings and ``pandas.factorize`` for the object array a column
unwrapped to, here built from the drawn ids themselves (pyarrow's own
unwrapping of a chunked dictionary array with nulls fails or, worse, turns a
null into a neighbour's id). A new path may number the meters differently,
but must give the same grouping: the same rows missing, and every other row
decoded to the same id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_factorize import assert_factorizes

from energy_integral import _column_codes, _factorize, _hash_codes, integrate_meters
from energy_integral._arrow_fixed import fixed_width_bytes
from energy_integral._column_codes import used_codes
from energy_integral._factorize import factorize, grouped_runs
from energy_integral._segments import grouping_order

# Arrow and polars hold UTF-8: no lone surrogates. No NUL either (see test_factorize).
utf8 = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
texts = st.text(utf8, max_size=6)
maybe_texts = st.lists(st.one_of(texts, st.none()), max_size=40)


def old_factorize(ids: list[str | None]) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = pd.factorize(np.array([*ids, None], dtype=object)[: len(ids)])
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


def assert_same_grouping(values: Any, ids: list[str | None]) -> None:
    codes, uniques = factorize(values)
    old_codes, old_uniques = old_factorize(ids)
    np.testing.assert_array_equal(codes < 0, old_codes < 0)
    present = codes >= 0
    new_ids = np.asarray(uniques, dtype=object)[codes[present]].tolist()
    old_ids = np.asarray(old_uniques, dtype=object)[old_codes[present]].tolist()
    assert new_ids == old_ids
    assert len(uniques) == len(old_uniques)


def _chunked(ids: list[str | None]) -> pa.ChunkedArray:
    half = len(ids) // 2  # two chunks, each with a dictionary of its own
    return pa.chunked_array([pa.array(ids[:half], pa.string()), pa.array(ids[half:], pa.string())])


def _chunked_dictionaries(ids: list[str | None]) -> pa.ChunkedArray:
    half = len(ids) // 2
    first = pa.array(ids[:half], pa.string()).dictionary_encode()
    second = pa.array(ids[half:], pa.string()).dictionary_encode()
    return pa.chunked_array([first, second], type=first.type)


def _categorical_with_unused(ids: list[str | None]) -> pd.Series:
    categories = sorted({v for v in ids if v is not None} | {"never-seen"})
    return pd.Series(pd.Categorical(ids, categories=categories))


def _enum_with_unused(ids: list[str | None]) -> pl.Series:
    categories = sorted({v for v in ids if v is not None} | {"never-seen"})
    return pl.Series(ids, dtype=pl.Enum(categories))


CONTAINERS: dict[str, Callable[[list[str | None]], Any]] = {
    "numpy object": lambda ids: np.array([*ids, None], dtype=object)[: len(ids)],
    "pandas object": lambda ids: pd.Series(ids, dtype=object),
    "pandas string": lambda ids: pd.Series(ids, dtype="string"),
    "pandas Categorical": lambda ids: pd.Series(pd.Categorical(ids)),
    "pandas Categorical, unused category": _categorical_with_unused,
    "bare pandas Categorical": pd.Categorical,
    "pandas ArrowDtype": lambda ids: pd.Series(ids, dtype=pd.ArrowDtype(pa.string())),
    "pandas ArrowDtype large": lambda ids: pd.Series(ids, dtype=pd.ArrowDtype(pa.large_string())),
    "pyarrow string": lambda ids: pa.array(ids, pa.string()),
    "pyarrow large_string": lambda ids: pa.array(ids, pa.large_string()),
    "pyarrow dictionary": lambda ids: pa.array(ids, pa.string()).dictionary_encode(),
    "pyarrow chunked": _chunked,
    "pyarrow chunked dictionaries": _chunked_dictionaries,
    "polars String": lambda ids: pl.Series(ids, dtype=pl.String),
    "polars Categorical": lambda ids: pl.Series(ids, dtype=pl.Categorical),
    "polars Enum, unused category": _enum_with_unused,
}
if hasattr(pa, "string_view"):
    CONTAINERS["pyarrow string_view"] = lambda ids: pa.array(ids, pa.string_view())


@settings(max_examples=60, deadline=None)
@given(ids=maybe_texts)
@pytest.mark.parametrize("container", list(CONTAINERS))
def test_every_container_groups_as_before(container: str, ids: list[str | None]) -> None:
    values = CONTAINERS[container](ids)
    assert_same_grouping(values, ids)
    assert_factorizes(ids, *factorize(values))


@settings(max_examples=60, deadline=None)
@given(ids=maybe_texts)
@pytest.mark.parametrize("kind", ["polars String", "polars Categorical"])
def test_polars_codes_beyond_a_lookup_table(kind: str, ids: list[str | None]) -> None:
    # A process that has seen many strings hands out large physical codes: sort, not a table.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_column_codes, "_LOOKUP_ROWS", 0)
        patch.setattr(_column_codes, "_LOOKUP_PER_ROW", 0)
        values = CONTAINERS[kind](ids)
        assert_same_grouping(values, ids)
        assert_factorizes(ids, *factorize(values))


FIXED = {
    "pyarrow string": lambda ids: pa.array(ids, pa.string()),
    "pyarrow large_string, sliced": lambda ids: pa.array(["?", *ids], pa.large_string())[1:],
    "pyarrow string_view": lambda ids: pa.array(ids, pa.string_view()),
    "pyarrow one chunk": lambda ids: pa.chunked_array([pa.array(ids)]),
    "pyarrow chunks": lambda ids: pa.chunked_array([ids[:1], [], ids[1:]], pa.string()),
    "pyarrow string_view chunks": lambda ids: pa.chunked_array(
        [ids[:1], [], ids[1:]], pa.string_view()
    ),
    "pandas ArrowDtype": lambda ids: pd.Series(ids, dtype=pd.ArrowDtype(pa.string())),
    "polars String": lambda ids: pl.Series(ids, dtype=pl.String),
    "polars String, sliced": lambda ids: pl.Series(["?", *ids], dtype=pl.String)[1:],
}


@st.composite
def one_length_ids(draw: st.DrawFn) -> list[str]:
    """Ids of one length in UTF-8 bytes (1 to 16: inline in a string view up to 12)."""
    size = draw(st.integers(1, 16))
    chars = ["a", "b", "0", "9", "-", "\x01", "é", "€"]  # of 1, 2 and 3 bytes

    def one_id() -> str:
        text = ""
        while len(text.encode()) < size:
            room = size - len(text.encode())
            text += draw(st.sampled_from([c for c in chars if len(c.encode()) <= room]))
        return text

    return [one_id() for _ in range(draw(st.integers(1, 30)))]


@settings(max_examples=100, deadline=None)
@given(ids=one_length_ids())
@pytest.mark.parametrize("container", list(FIXED))
def test_ids_of_one_length_group_by_their_bytes_as_before(container: str, ids: list[str]) -> None:
    """Arrow columns of ids of one byte length take the numpy bytes' path (no hash): the
    same meters, as the same Python strings, as the hash gives."""
    values = FIXED[container](ids)
    size = len(ids[0].encode())
    inline = not container.startswith("pyarrow string_view") or size <= 12
    if container.startswith("polars String") and size > 12:
        inline = False  # polars' views hold longer strings out of line: the hash path
    assert (fixed_width_bytes(values) is not None) == inline
    assert_same_grouping(values, ids)
    assert_factorizes(ids, *factorize(values))


def test_a_trailing_nul_keeps_ids_off_the_bytes_path() -> None:
    ids = ["ab\x00", "abc", "ab\x00"]  # numpy bytes would drop the NUL
    for container in FIXED.values():
        assert fixed_width_bytes(container(ids)) is None
        assert_same_grouping(container(ids), ids)


def _views_with_bytes_after(texts: list[bytes], dirty: set[int]) -> Any:
    """A ``string_view`` array whose views in ``dirty`` hold a stray byte after the string
    (a producer need not zero them): the same strings, in views that differ."""
    views = np.zeros((len(texts), 16), dtype=np.uint8)
    for row, text in enumerate(texts):
        views[row, :4] = np.frombuffer(np.int32(len(text)).tobytes(), np.uint8)
        views[row, 4 : 4 + len(text)] = np.frombuffer(text, np.uint8)
        if row in dirty:
            views[row, 15] = 7
    buffer = pa.py_buffer(views.tobytes())
    return pa.Array.from_buffers(pa.string_view(), len(texts), [None, buffer])


@pytest.mark.skipif(not hasattr(pa, "string_view"), reason="pyarrow without string_view")
def test_string_views_that_differ_after_their_string_are_still_one_meter_each() -> None:
    """Clean views are keyed as they stand; a stray byte after a string (in one chunk, or
    only in another) must neither split a meter nor merge two."""
    texts = [b"m-01", b"m-02", b"m-01", b"m-02", b"m-01", b"m-02"]
    ids = [t.decode() for t in texts]
    clean = _views_with_bytes_after(texts, set())
    dirty = _views_with_bytes_after(texts, {2, 3})
    data, prefix = fixed_width_bytes(clean)
    assert (data.dtype.itemsize, prefix) == (16, 4)  # the views themselves, no copy
    data, prefix = fixed_width_bytes(dirty)
    assert (data.tolist(), prefix) == (texts, 0)  # the strings, copied out
    mixed = pa.chunked_array([clean.slice(0, 3), dirty.slice(3)])
    assert fixed_width_bytes(mixed) is None  # chunks that disagree: the hash
    for values in (clean, dirty, mixed):
        codes, uniques = factorize(values)
        assert uniques.tolist() == ["m-01", "m-02"]
        assert codes.tolist() == [0, 1, 0, 1, 0, 1]
        assert_factorizes(ids, codes, uniques)


@settings(max_examples=100, deadline=None)
@given(ids=st.lists(texts, max_size=40), as_bytes=st.booleans())
def test_numpy_strings_hash_to_the_sorted_uniques(ids: list[str], as_bytes: bool) -> None:
    arr = np.array(ids, dtype=str)
    if as_bytes:
        arr = np.char.encode(arr, "utf-8")
    codes, uniques = factorize(arr)
    want_uniques, want_codes = np.unique(arr, return_inverse=True)
    np.testing.assert_array_equal(uniques, want_uniques)
    np.testing.assert_array_equal(codes, want_codes)


@settings(max_examples=50, deadline=None)
@given(ids=st.lists(texts, min_size=1, max_size=40))
def test_hash_collisions_cost_rounds_not_merged_meters(ids: list[str]) -> None:
    # Every key hashes to one slot: each is found only by probing past all the others.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_hash_codes, "_hash", lambda words: np.zeros(words.shape[1], np.uint64))
        patch.setattr(_factorize, "string_keys", lambda arr: None)  # the strings' own hash
        codes, uniques = factorize(np.array(ids, dtype=str))
    want_uniques, want_codes = np.unique(np.array(ids, dtype=str), return_inverse=True)
    np.testing.assert_array_equal(uniques, want_uniques)
    np.testing.assert_array_equal(codes, want_codes)


def test_a_table_that_fills_up_grows() -> None:
    # Distinct keys beyond the leading sample: the sampled estimate is far too small.
    ids = np.array([f"m{i % 7}" for i in range(1 << 16)] + [f"x{i}" for i in range(50_000)])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_factorize, "string_keys", lambda arr: None)  # the strings' own hash
        codes, uniques = factorize(ids)
    want_uniques, want_codes = np.unique(ids, return_inverse=True)
    np.testing.assert_array_equal(uniques, want_uniques)
    np.testing.assert_array_equal(codes, want_codes)


@settings(max_examples=100)
@given(codes=st.lists(st.integers(0, 40), max_size=60), wide=st.booleans())
def test_grouping_order_is_the_stable_argsort(codes: list[int], wide: bool) -> None:
    # wide: codes that leave no room in 32 bits, so the 64-bit packing runs
    arr = np.array(codes, dtype=np.int64) << (30 if wide else 0)
    np.testing.assert_array_equal(grouping_order(arr), np.argsort(arr, kind="stable"))


def test_grouping_order_beyond_packing_falls_back() -> None:
    arr = np.array([2**62, 0, 2**62, 5], dtype=np.int64)  # code and position need > 63 bits
    np.testing.assert_array_equal(grouping_order(arr), np.argsort(arr, kind="stable"))


@settings(max_examples=100)
@given(codes=st.lists(st.integers(-1, 5), max_size=30))
def test_grouped_runs_finds_exactly_the_grouped_batches(codes: list[int]) -> None:
    arr = np.array(codes, dtype=np.int64)
    k = len(set(codes) - {-1})
    starts = grouped_runs(arr, k)
    runs = [c for i, c in enumerate(codes) if i == 0 or codes[i - 1] != c]
    grouped = bool(codes) and -1 not in codes and len(runs) == len(set(runs))
    assert (starts is not None) == grouped
    if starts is not None:
        assert [codes[i] for i in starts] == runs


@settings(max_examples=100)
@given(raw=st.lists(st.integers(-1, 5), max_size=30))
def test_used_codes_drops_entries_no_row_uses(raw: list[int]) -> None:
    table = np.array([f"id{j}" for j in range(6)], dtype=object)
    codes, uniques = used_codes(np.array(raw, dtype=np.int8), table)
    ids = [None if r < 0 else table[r] for r in raw]
    assert_factorizes(ids, codes, uniques)
    assert uniques.tolist() == [v for v in table.tolist() if v in ids]  # table order kept


@settings(max_examples=25, deadline=None)
@given(
    meter_of_row=st.lists(st.integers(0, 4), min_size=1, max_size=30),
    order=st.sampled_from(["grouped", "as drawn"]),
)
@pytest.mark.parametrize("container", ["numpy <U", *CONTAINERS])
def test_engine_gives_every_container_the_same_answer(
    container: str, meter_of_row: list[int], order: str
) -> None:
    """Bit for bit the per-row results and states of the same meters given as integers."""
    if order == "grouped":
        meter_of_row = sorted(meter_of_row, key=lambda m: (m * 7) % 5)  # grouped, unsorted ids
    ids = [f"meter-{m}" for m in meter_of_row]
    n = len(ids)
    t = np.arange(n).astype("datetime64[m]")
    power = np.linspace(1.0, 2.0, n)
    expected = integrate_meters(np.array(meter_of_row), t, power)
    values = np.array(ids) if container == "numpy <U" else CONTAINERS[container](list(ids))
    got = integrate_meters(values, t, power)
    np.testing.assert_array_equal(got.cumulative, expected.cumulative)
    np.testing.assert_array_equal(got.increments, expected.increments)
    meters = set(meter_of_row)
    assert {m: got.states[f"meter-{m}"] for m in meters} == {m: expected.states[m] for m in meters}
    assert len(got.states) == len(meters)
