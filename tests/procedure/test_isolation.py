"""No silent wrong answer, meter by meter: a bad row or state costs its meter, not the batch."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from local_scenarios import new_store, table

from energy_integral_snowflake.batch import Policy, integrate_batch
from energy_integral_snowflake.schema import tables

NOW = dt.datetime(2026, 1, 2)


def _wide_landed() -> pd.DataFrame:
    """A batch whose TIMESTAMP column is µs, as pandas keeps a 9999-12-31 sentinel."""
    times = np.array(
        ["2026-01-01T00", "2026-01-01T01", "2026-01-01T00", "9999-12-31", "2026-01-01T01"],
        dtype="datetime64[us]",
    )
    meters, kw = ["a", "a", "b", "b", "b"], [1.0, 1.0, 2.0, 2.0, 2.0]
    rows = [
        (1, f"r{i}", "INSERT", False, i, m, t, k, NOW)
        for i, (m, t, k) in enumerate(zip(meters, times, kw, strict=True), 1)
    ]
    frame = pd.DataFrame(rows, columns=tables().landing.column_names)
    frame["TIMESTAMP"] = pd.Series(times)
    assert frame["TIMESTAMP"].dtype == "datetime64[us]"
    return frame


def test_a_sentinel_date_is_quarantined_never_wrapped_and_the_others_integrate() -> None:
    out = integrate_batch(_wide_landed(), {}, 1, Policy("trapezoid"), NOW)
    [row] = out.quarantine
    assert row[2] == 4
    assert row[6] == "invalid-time"
    assert "9999-12-31" in row[7]
    assert "1677-09-21..2262-04-11" in row[7]
    assert row[4] is None  # no wrapped 1816 date written anywhere
    # Hand-derived: a holds 1 kW for 1 h, b 2 kW for 1 h (the sentinel left out).
    assert out.kwh_added == 3.0
    assert {r[0]: r[4] for r in out.results} == {"a": 1.0, "b": 2.0}
    assert all(r[1].year == 2026 for r in out.results)
    assert out.rows_integrated == 4
    assert out.rows_rejected == 1


def test_the_embedded_engine_refuses_a_sentinel_rather_than_wrapping_it() -> None:
    # TIMESTAMP_NTZ(9) is DuckDB's TIMESTAMP_NS there, which cannot hold year 9999: the
    # insert fails, so the stream never carries a wrapped date.
    store = new_store()
    insert = "INSERT INTO RANDOM_VALUES (ID, METER_ID, TIMESTAMP, KW) VALUES (?, ?, ?, ?)"
    with pytest.raises(Exception, match="9999-12-31"):
        store.session.sql(insert, params=[1, "b", "9999-12-31 00:00:00", 2.0]).collect()
    assert table(store.session, "RANDOM_VALUES").empty
