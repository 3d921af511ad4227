"""No silent wrong answer, meter by meter: a bad row or state costs its meter, not the batch."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from local_scenarios import deliveries, new_store, snapshot, table

import energy_integral as ei
from energy_integral_snowflake import embedded
from energy_integral_snowflake.batch import Policy, integrate_batch, state_from_json
from energy_integral_snowflake.demo import check_against_oneshot
from energy_integral_snowflake.generator import insert_readings
from energy_integral_snowflake.handler import BatchNotIntegratedError
from energy_integral_snowflake.procedure import run_procedure
from energy_integral_snowflake.schema import tables
from energy_integral_snowflake.statements import run

NOW = dt.datetime(2026, 1, 2)


def _wide_landed(boxed: bool = False) -> pd.DataFrame:
    """A batch whose TIMESTAMP column is µs, as pandas keeps a 9999-12-31 sentinel
    (or, ``boxed``, Python datetimes, as a connector hands over what ns cannot hold)."""
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
    frame["TIMESTAMP"] = pd.Series(times.astype(object) if boxed else times)
    assert frame["TIMESTAMP"].dtype == (object if boxed else "datetime64[us]")
    return frame


@pytest.mark.parametrize("boxed", [False, True])
def test_a_sentinel_date_is_quarantined_never_wrapped_and_the_others_integrate(
    boxed: bool,
) -> None:
    out = integrate_batch(_wide_landed(boxed), {}, 1, Policy("trapezoid"), NOW)
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
    for sentinel in ("9999-12-31 00:00:00", dt.datetime(9999, 12, 31)):
        with pytest.raises(ei.errors.TimeRangeError) as caught:
            store.session.sql(insert, params=[1, "b", sentinel, 2.0]).collect()
        message = str(caught.value)
        assert message.startswith("params[2]=")  # names the bound value ...
        assert "9999-12-31" in message
        assert "1677-09-21..2262-04-11" in message  # ... what the engine holds ...
        assert "invalid-time" in message  # ... and what Snowflake would do
    assert table(store.session, "RANDOM_VALUES").empty
    # A value that is no time out of range still gets the engine's own error.
    with pytest.raises(Exception, match="Conversion") as other:
        store.session.sql(insert, params=[1, "b", "not a time", 2.0]).collect()
    assert not isinstance(other.value, ei.errors.TimeRangeError)


def test_a_step_is_one_result_row_of_its_last_power_through_the_procedure() -> None:
    # InfluxQL's integral() case: (0 s, 20 W), (5 s, 10 W), (5 s, 30 W), (10 s, 40 W) is
    # (20+10)/2·5 + (30+40)/2·5 = 75 + 175 = 250 W·s under a step at 5 s.
    store = new_store()
    insert = "INSERT INTO RANDOM_VALUES (ID, METER_ID, TIMESTAMP, KW) VALUES (?, ?, ?, ?)"
    rows = [(0, 0.020), (5, 0.010), (5, 0.030), (10, 0.040)]  # seconds, kW
    for i, (second, kw) in enumerate(rows, 1):
        run(store.session, insert, [i, "m", f"2026-01-01 00:00:{second:02d}", kw])
    summary = run_procedure(store, Policy("trapezoid", on_duplicate="step"))
    assert summary.status == "ok"
    [batch] = summary.integrated
    assert (batch["rows_integrated"], batch["rows_merged"], batch["rows_rejected"]) == (4, 1, 0)
    ws = 3_600_000.0  # W·s in a kWh
    assert batch["kwh_added"] * ws == pytest.approx(250.0, rel=1e-12)
    results = table(store.session, "INTEGRAL_SUM_VALUES").sort_values("TIMESTAMP")
    assert results["KW"].tolist() == [0.020, 0.030, 0.040]  # the step's last power at 5 s
    assert (results["INTERVAL_KWH"] * ws).tolist() == pytest.approx([0.0, 75.0, 175.0])
    assert (results["CUMULATIVE_KWH"] * ws).tolist() == pytest.approx([0.0, 75.0, 250.0])
    marker = table(store.session, "STREAM_CONSUMED_MARKER")
    assert marker["STATUS"].tolist() == ["INTEGRATED"]
    assert table(store.session, "QUARANTINED_READINGS").empty
    [state] = table(store.session, "METER_STATE")["STATE"].tolist()
    assert state_from_json(state).last_power == 0.040


def test_a_call_with_another_method_is_refused_before_anything_is_consumed() -> None:
    # The fork: trapezoid, then left, then trapezoid gave 20 kWh against 24 one-shot.
    store = new_store()
    first, second = deliveries(ticks=2, late_fraction=0.0)
    insert_readings(store.session, first)
    assert run_procedure(store, Policy("trapezoid")).status == "ok"
    before = snapshot(store)
    insert_readings(store.session, second)
    refused = run_procedure(store, Policy("left"))
    assert refused.status == "error"
    assert refused.consumed_batch is None
    assert refused.integrated == []
    assert "METHOD='left'" in refused.message
    assert "'trapezoid'" in refused.message
    assert "METHOD => 'trapezoid'" in refused.message
    # Nothing was consumed: the second delivery is still in the stream, no table moved.
    pending = run(store.session, "SELECT COUNT(*) FROM RANDOM_VALUES_STREAM")[0][0]
    assert pending == len(second.meter)
    after = snapshot(store)
    for name in after:
        if name != "RANDOM_VALUES":
            pd.testing.assert_frame_equal(after[name], before[name], obj=name)
    # The pipeline's method carries on, and its totals are a one-shot integration's.
    assert run_procedure(store, Policy("trapezoid")).consumed_batch is not None
    checks = check_against_oneshot(store.session, "trapezoid")
    assert checks
    assert all(c.ok for c in checks), checks


def test_a_task_run_with_another_method_fails_visibly() -> None:
    store = new_store()
    first, second = deliveries(ticks=2, late_fraction=0.0)
    insert_readings(store.session, first)
    assert embedded.tick(store.session) is not None
    insert_readings(store.session, second)
    task = (
        "CREATE OR REPLACE TASK INTEGRATE_STREAM_TASK SCHEDULE = '1 MINUTE' WHEN "
        "SYSTEM$STREAM_HAS_DATA('RANDOM_VALUES_STREAM') AS CALL INTEGRATE_STREAM('left')"
    )
    run(store.session, task)
    with pytest.raises(BatchNotIntegratedError, match="METHOD='left' differs from 'trapezoid'"):
        embedded.tick(store.session)
    marker = table(store.session, "STREAM_CONSUMED_MARKER")
    assert marker["STATUS"].tolist() == ["INTEGRATED"]  # the second delivery was not consumed


def test_the_marker_says_why_a_batch_was_not_integrated_until_it_is() -> None:
    store = new_store()
    first, second = deliveries(ticks=2, late_fraction=0.0)
    insert_readings(store.session, first)
    run_procedure(store, Policy("trapezoid"))
    update = 'UPDATE "METER_STATE" SET "STATE" = ? WHERE "METER_ID" = ?'
    [(good,)] = run(store.session, 'SELECT "STATE" FROM "METER_STATE" WHERE "METER_ID" = ?',
                    ["meter-001"])  # fmt: skip
    # A state of another method under this one's name: the library refuses the batch.
    run(store.session, update, [good.replace('"trapezoid"', '"left"'), "meter-001"])
    insert_readings(store.session, second)
    failed = run_procedure(store, Policy("trapezoid"))
    assert (failed.status, failed.pending) == ("error", [2])
    marker = table(store.session, "STREAM_CONSUMED_MARKER").set_index("BATCH_ID")
    assert marker.loc[2, "STATUS"] == "LANDED"
    assert marker.loc[2, "DETAIL"].startswith("MethodMismatchError: ")
    assert "call with the same method" in marker.loc[2, "DETAIL"]
    assert pd.isna(marker.loc[1, "DETAIL"])
    run(store.session, update, [good, "meter-001"])
    assert run_procedure(store, Policy("trapezoid")).status == "ok"
    marker = table(store.session, "STREAM_CONSUMED_MARKER").set_index("BATCH_ID")
    assert marker.loc[2, "STATUS"] == "INTEGRATED"
    assert pd.isna(marker.loc[2, "DETAIL"])  # integrated now: nothing left to explain
