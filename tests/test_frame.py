"""``integrate_frame``: the fleet engine on the columns of a pandas, polars or pyarrow table.

Whatever the table library, and whether its time column is naive (UTC) or
tz-aware, the result is that of :func:`integrate_meters` on the same values,
and the returned table is the input with four result columns added.
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
from series_strategies import FleetBatch, as_datetime64, fleet_batches

import energy_integral as ei


def _pandas(batch: FleetBatch) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "METER_ID": pd.Series(batch.meters, dtype=object),
            "TIMESTAMP": as_datetime64(batch.t),
            "KW": batch.p,
            "NOTE": np.arange(len(batch)),  # a column the engine does not use, kept as is
        }
    )


def _aware(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(
        TIMESTAMP=df["TIMESTAMP"].dt.tz_localize("UTC").dt.tz_convert("America/New_York")
    )


def _polars(df: pd.DataFrame) -> pl.DataFrame:
    return pl.from_pandas(df)


def _arrow(df: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(df, preserve_index=False)


FRAMES: dict[str, Callable[[pd.DataFrame], Any]] = {
    "pandas": lambda df: df,
    "pandas-tz": _aware,
    "polars": _polars,
    "polars-tz": lambda df: _polars(_aware(df)),
    "pyarrow": _arrow,
    "pyarrow-tz": lambda df: _arrow(_aware(df)),
}


def _column(frame: Any, name: str) -> list[Any]:
    if isinstance(frame, pa.Table):
        return list(frame.column(name).to_pylist())
    return list(frame[name].to_list())


@pytest.mark.parametrize("kind", list(FRAMES))
@settings(max_examples=40)
@given(batch=fleet_batches())
def test_same_numbers_as_integrate_meters(kind: str, batch: FleetBatch) -> None:
    states = {m: ei.CumulativeState.from_dict(d) for m, d in batch.states.items()}
    expected = ei.integrate_meters(
        batch.meter_ids, as_datetime64(batch.t), batch.p, states=states, max_gap="2h"
    )
    frame = FRAMES[kind](_pandas(batch))
    res = ei.integrate_frame(frame, states=states, max_gap="2h")

    assert np.array_equal(res.cumulative, expected.cumulative, equal_nan=True)
    assert np.array_equal(res.increments, expected.increments, equal_nan=True)
    assert res.reason.tolist() == expected.reason.tolist()
    assert res.states == expected.states
    assert len(res.gaps) == len(expected.gaps)

    out = res.frame
    assert type(out) is type(frame)
    names = out.column_names if isinstance(out, pa.Table) else list(out.columns)
    assert names == [
        "METER_ID",
        "TIMESTAMP",
        "KW",
        "NOTE",
        "INTERVAL_KWH",
        "CUMULATIVE_KWH",
        "ACCEPTED",
        "REASON",
    ]
    assert _column(out, "NOTE") == list(range(len(batch)))
    np.testing.assert_array_equal(
        np.asarray(_column(out, "CUMULATIVE_KWH"), dtype=float), expected.cumulative
    )
    np.testing.assert_array_equal(
        np.asarray(_column(out, "INTERVAL_KWH"), dtype=float), expected.increments
    )
    assert _column(out, "ACCEPTED") == expected.accepted.tolist()
    assert _column(out, "REASON") == expected.reason.tolist()


H = np.timedelta64(1, "h")
T0 = np.datetime64("2026-01-01T00:00", "ns")


def _small() -> pd.DataFrame:
    # a: 2 kW at 00:00 and 01:00 → 2 kWh; b: 1 kW → 3 kW over 30 min → 1 kWh.
    return pd.DataFrame(
        {
            "meter": ["a", "b", "a", "b"],
            "time": [T0, T0, T0 + H, T0 + np.timedelta64(30, "m")],
            "kw": [2.0, 1.0, 2.0, 3.0],
        }
    )


@pytest.mark.parametrize("kind", list(FRAMES))
def test_hand_worked_frame_with_custom_column_names(kind: str) -> None:
    df = _small().rename(columns={"time": "TIMESTAMP"})
    frame = FRAMES[kind](df)
    res = ei.integrate_frame(frame, meter="meter", power="kw", energy_unit="Wh")
    assert {m: s.energy for m, s in res.states.items()} == {"a": 2000.0, "b": 1000.0}
    assert _column(res.frame, "CUMULATIVE_WH") == [0.0, 0.0, 2000.0, 1000.0]
    assert _column(res.frame, "INTERVAL_WH") == [0.0, 0.0, 2000.0, 1000.0]


def test_aware_times_are_the_instants_they_name() -> None:
    # 01:00 in Paris (winter, UTC+1) is 00:00Z; both frames hold the same instants.
    naive = _small().rename(columns={"time": "TIMESTAMP"})
    paris = naive.assign(
        TIMESTAMP=(naive["TIMESTAMP"] + H).dt.tz_localize("Europe/Paris"),
    )
    a = ei.integrate_frame(naive, meter="meter", power="kw")
    b = ei.integrate_frame(paris, meter="meter", power="kw")
    assert a.states == b.states
    assert b.frame["TIMESTAMP"].dt.tz is not None  # the input column is left as it was


@pytest.mark.parametrize("kind", ["pandas", "polars", "pyarrow"])
def test_meter_none_is_one_series(kind: str) -> None:
    df = _small().drop(columns="meter").rename(columns={"time": "TIMESTAMP", "kw": "KW"})
    res = ei.integrate_frame(FRAMES[kind](df), meter=None)
    # All rows as one series sorted by time: 00:00 (2 and 1 kW) is a duplicate, 2 kW kept;
    # 00:30 3 kW: (2 + 3) / 2 · 0.5 h = 1.25; 01:00 2 kW: (3 + 2) / 2 · 0.5 h = 1.25.
    assert list(res.states) == ["default"]
    assert res.reason.tolist() == ["", "duplicate", "", ""]
    assert res.states["default"].energy == 2.5


@pytest.mark.parametrize("kind", ["pandas", "polars", "pyarrow"])
@pytest.mark.parametrize(("argument", "name"), [("meter", "METER"), ("time", "ts"), ("power", "P")])
def test_missing_column_lists_the_columns(kind: str, argument: str, name: str) -> None:
    frame = FRAMES[kind](_small())
    with pytest.raises(ValueError, match=f"{argument}='{name}' is not a column") as info:
        ei.integrate_frame(
            frame, **{"meter": "meter", "time": "time", "power": "kw", argument: name}
        )
    assert "meter, time, kw" in str(info.value)


def test_not_a_frame() -> None:
    with pytest.raises(TypeError, match="frame is a dict"):
        ei.integrate_frame({"METER_ID": ["a"], "TIMESTAMP": [T0], "KW": [1.0]})


def test_policies_pass_through() -> None:
    df = _small().rename(columns={"time": "TIMESTAMP"})
    with pytest.raises(ValueError, match="on_late='drop'"):
        ei.integrate_frame(df, meter="meter", power="kw", on_late="drop")
    res = ei.integrate_frame(df, meter="meter", power="kw", max_power=2.5)
    assert res.frame["REASON"].tolist() == ["", "", "", "invalid-power"]


def test_defaults_read_the_columns_the_generator_writes() -> None:
    """The first pandas attempt on generated data needs no column names."""
    r = ei.generate_readings(3, periods=40, seed=2, invalid_fraction=0.05)
    res = ei.integrate_frame(r.to_pandas())
    whole = ei.integrate_meters(r.meter, r.timestamp, r.power)
    assert {m: s.energy for m, s in res.states.items()} == {
        m: s.energy for m, s in whole.states.items()
    }
    assert res.frame["REASON"].tolist() == whole.reason.tolist()
