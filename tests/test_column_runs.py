"""Runs of a string column grouped by meter, found by comparing neighbours instead of hashing.

The laws, for every container: a column's runs are reported only when each
distinct id is exactly one run (never two meters merged, never one split, no
missing id), and then they decode every row to its own id; a grouped column
of runs of two rows or more is recognised; and the engine gives the same
result from such a column as from integer ids. Ids of one length, whose
bytes are compared as words, are drawn on their own; and the word
comparison agrees with a row-by-row one on any bytes, any range and any
split into chunks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from unittest import mock

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_column_codes import CONTAINERS, texts

import energy_integral as ei
from energy_integral import _column_runs
from energy_integral._column_runs import column_runs
from energy_integral._segments import segment_ids

ALL: dict[str, Callable[[list[str | None]], Any]] = {
    **CONTAINERS,
    "numpy <U": lambda ids: np.array(ids, dtype=str),
}
if hasattr(pa, "string_view"):  # views compared as words across chunks: one empty, one a slice
    ALL["pyarrow chunked string_view"] = lambda ids: pa.chunked_array(
        [pa.array(ids[: len(ids) // 2], pa.string_view()), pa.array([], pa.string_view()),
         pa.array(["x", *ids[len(ids) // 2 :]], pa.string_view()).slice(1)]
    )  # fmt: skip


@st.composite
def grouped_ids(draw: st.DrawFn, missing: bool, one_length: bool = False) -> list[str | None]:
    """Ids in runs; with ``missing``, a None may appear, and an id may come back later.
    With ``one_length``, the ids have one length in bytes (1 to 12, across a word's 8)."""
    if one_length:
        size = draw(st.integers(1, 12))
        names = draw(
            st.lists(
                st.text("ab-0", min_size=size, max_size=size), min_size=1, max_size=6, unique=True
            )
        )
    else:
        names = draw(st.lists(texts, min_size=1, max_size=6, unique=True))
    pool = [*names, None] if missing else names
    runs = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=12))
    sizes = draw(st.lists(st.integers(1, 5), min_size=len(runs), max_size=len(runs)))
    return [name for name, size in zip(runs, sizes, strict=True) for _ in range(size)]


@settings(max_examples=60, deadline=None)
@given(ids=st.one_of(grouped_ids(missing=True), grouped_ids(missing=True, one_length=True)))
@pytest.mark.parametrize("container", list(ALL))
def test_runs_are_reported_only_when_each_id_is_one_run(
    container: str, ids: list[str | None]
) -> None:
    if container == "numpy <U" and None in ids:
        return  # a numpy string array cannot hold a missing id
    found = column_runs(ALL[container](ids))
    if found is None:
        return
    meters, starts = found
    assert None not in ids
    assert len(set(meters.tolist())) == meters.size  # each meter one run
    decoded = meters[segment_ids(starts, len(ids))].tolist()
    assert decoded == ids  # every row its own id: nothing merged, nothing split
    changes = sum(a != b for a, b in zip(ids[1:], ids[:-1], strict=True))
    assert starts.size == changes + 1


@settings(max_examples=60, deadline=None)
@given(names=st.lists(texts, min_size=1, max_size=8, unique=True), data=st.data())
@pytest.mark.parametrize("container", list(ALL))
def test_a_grouped_column_of_runs_of_two_rows_or_more_is_recognised(
    container: str, names: list[str], data: st.DataObject
) -> None:
    sizes = data.draw(st.lists(st.integers(2, 6), min_size=len(names), max_size=len(names)))
    ids = [name for name, size in zip(names, sizes, strict=True) for _ in range(size)]
    found = column_runs(ALL[container](ids))
    if "string_view" in container and max(len(n.encode()) for n in names) > 12:
        assert found is None  # an id not inline in its view: left to the hash
        return
    assert found is not None
    assert found[0].tolist() == names


@settings(max_examples=40, deadline=None)
@given(
    ids=st.one_of(grouped_ids(missing=False), grouped_ids(missing=False, one_length=True)),
    power=st.floats(-10, 10),
    data=st.data(),
)
@pytest.mark.parametrize("container", list(ALL))
def test_the_engine_gives_the_same_result_from_string_runs_as_from_integer_ids(
    container: str, ids: list[str | None], power: float, data: st.DataObject
) -> None:
    n = len(ids)
    steps = data.draw(st.lists(st.integers(1, 10**12), min_size=n, max_size=n))
    t = (np.int64(1_767_225_600 * 10**9) + np.cumsum(steps)).astype("datetime64[ns]")
    p = power + np.arange(n, dtype=np.float64)
    number = {name: i for i, name in enumerate(dict.fromkeys(ids))}
    ints = np.array([number[name] for name in ids], dtype=np.int64)
    want = ei.integrate_meters(ints, t, p)
    got = ei.integrate_meters(ALL[container](ids), t, p)
    assert np.array_equal(got.cumulative, want.cumulative, equal_nan=True)
    assert np.array_equal(got.increments, want.increments, equal_nan=True)
    assert got.reason.tolist() == want.reason.tolist()
    assert got.meter.tolist() == ids
    assert {m: s.energy for m, s in got.states.items()} == {
        name: want.states[number[name]].energy for name in number
    }


@settings(max_examples=1000, deadline=None)
@given(width=st.integers(1, 20), words=st.integers(1, 4), data=st.data())
def test_rows_of_bytes_compared_as_words_differ_exactly_where_a_byte_does(
    width: int, words: int, data: st.DataObject
) -> None:
    # rows one byte apart: a difference that only one word of the comparison sees
    base = data.draw(st.binary(min_size=width, max_size=width))
    edit = st.tuples(st.integers(0, width - 1), st.integers(0, 255))
    edits = data.draw(st.lists(edit, max_size=3))
    pool = [base] + [base[:at] + bytes([byte]) + base[at + 1 :] for at, byte in edits]
    runs = data.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=16))
    sizes = data.draw(st.lists(st.integers(1, 4), min_size=len(runs), max_size=len(runs)))
    rows = [row for row, size in zip(runs, sizes, strict=True) for _ in range(size)]
    lo = data.draw(st.integers(0, len(rows)))
    hi = data.draw(st.integers(lo, len(rows)))
    cuts = sorted(data.draw(st.sets(st.integers(1, len(rows) - 1))) if len(rows) > 1 else set())
    chunks = [b"".join(rows[a:b]) for a, b in zip([0, *cuts], [*cuts, len(rows)], strict=True)]
    buffers = [np.frombuffer(chunk, dtype=np.uint8) for chunk in chunks]  # an Arrow column's
    with mock.patch.object(_column_runs, "_WORDS", words):  # several blocks of words
        whole = _column_runs._byte_rows(np.frombuffer(b"".join(rows), dtype=np.uint8), width)
        chunked = _column_runs._chunks(buffers, width)
        want = [i for i in range(lo + 1, hi) if rows[i] != rows[i - 1]]
        assert whole(lo, hi).tolist() == want
        assert chunked(lo, hi).tolist() == want


@pytest.mark.skipif(not hasattr(pa, "string_view"), reason="pyarrow without string_view")
def test_equal_ids_in_views_that_differ_are_never_two_meters_nor_merged() -> None:
    # Views of "ab" x 4 then "cd" x 4, the third with bytes after its string (padding a
    # producer did not zero). Equal views are equal ids; these are equal ids in unequal
    # views, which may at most keep the column from counting as grouped.
    texts = [b"ab"] * 4 + [b"cd"] * 4
    views = np.zeros((len(texts), 16), dtype=np.uint8)
    for row, text in enumerate(texts):
        views[row, :4] = np.frombuffer(np.int32(len(text)).tobytes(), np.uint8)
        views[row, 4 : 4 + len(text)] = np.frombuffer(text, np.uint8)
    views[2, 15] = 7
    n = len(texts)
    array = pa.Array.from_buffers(pa.string_view(), n, [None, pa.py_buffer(views.tobytes())])
    assert array.to_pylist() == ["ab"] * 4 + ["cd"] * 4
    found = column_runs(array)
    assert found is None or (found[0].tolist(), found[1].tolist()) == (["ab", "cd"], [0, 4])
    t = np.arange(n).astype("datetime64[h]")
    got = ei.integrate_meters(array, t, [1.0] * 4 + [2.0] * 4)
    assert {m: s.energy for m, s in got.states.items()} == {"ab": 3.0, "cd": 6.0}
