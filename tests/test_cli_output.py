"""The CLI's writers: rows by meter, and Parquet files that read back as written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from energy_integral.cli._output import by_meter, dictionary_columns, meter_order, write_frame

meters = st.one_of(
    st.lists(st.sampled_from(["m10", "m9", "b", "a", "é", ""]), min_size=1, max_size=40),
    st.lists(st.sampled_from([10, 9, 2, 100, -1]), min_size=1, max_size=40),
)


@settings(max_examples=150, deadline=None)
@given(ids=meters)
def test_by_meter_is_a_stable_sort_of_the_meters_text(ids: list[Any]) -> None:
    """The definition: every row's meter as text, sorted stably (so 10 before 9)."""
    frame = pd.DataFrame({"meter": ids, "row": np.arange(len(ids))})
    expected = sorted(range(len(ids)), key=lambda row: str(ids[row]))  # sorted() is stable
    assert by_meter(frame)["row"].tolist() == expected


@settings(max_examples=150, deadline=None)
@given(ids=st.lists(st.sampled_from(["m10", "m9", "b", "a", "é", ""]), min_size=1, max_size=6,
                    unique=True),
       sizes=st.lists(st.integers(3, 9), min_size=6, max_size=6))  # fmt: skip
def test_meters_in_runs_move_as_runs_in_the_same_stable_order(
    ids: list[str], sizes: list[int]
) -> None:
    """Each meter's rows together (as buckets come): the runs are sorted, not every row."""
    meters = np.repeat(np.array(ids, dtype=object), sizes[: len(ids)])
    frame = pd.DataFrame({"meter": meters, "row": np.arange(meters.size)})
    expected = sorted(range(meters.size), key=lambda row: str(meters[row]))
    assert by_meter(frame)["row"].tolist() == expected
    order = meter_order(meters)
    assert (np.arange(meters.size) if order is None else order).tolist() == expected


def test_parquet_reads_back_as_written(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "meter": ["b", "a", "b", "a"],
            "start": pd.to_datetime(["2026-01-01"] * 4, utc=True),
            "energy": [0.1, 0.2, 0.30000000000000004, 1e-300],
            "samples": [1, 2, 1, 2],
        }
    )
    path = tmp_path / "out.parquet"
    write_frame(frame, path)
    back = pq.read_table(path).to_pandas()
    pd.testing.assert_frame_equal(back, by_meter(frame))
    assert dictionary_columns(pq.read_schema(path)) == ["meter", "start", "samples"]
