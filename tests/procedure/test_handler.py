"""The handler on the embedded engine: JSON summaries, actionable errors, end-to-end equality."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from local_scenarios import deliveries, new_store, warehouse

import energy_integral as ei
from energy_integral_snowflake.demo import check_against_oneshot, run_demo
from energy_integral_snowflake.generator import insert_readings, next_id
from energy_integral_snowflake.handler import integrate_stream
from energy_integral_snowflake.reconcile import run_reconcile
from energy_integral_snowflake.statements import run
from energy_integral_snowflake.store import SqlStore

BUILT_IN = ("trapezoid", "left", "right", "scipy")


@pytest.mark.parametrize("method", BUILT_IN)
def test_end_to_end_totals_equal_a_one_shot_integration(method: str) -> None:
    result = run_demo(meters=3, ticks=4, seed=7, method=method)
    assert len(result.checks) == 3
    assert all(c.ok for c in result.checks), result.checks
    assert all(t is not None and t.status == "ok" for t in result.ticks)


def test_the_handler_returns_a_json_summary_and_continues_states() -> None:
    store = new_store()
    first, second = deliveries(ticks=2, late_fraction=0.0)
    insert_readings(store.session, first)
    one = json.loads(integrate_stream(store.session))
    insert_readings(store.session, second)
    two = json.loads(integrate_stream(store.session, "trapezoid"))
    assert (one["consumed_batch"], two["consumed_batch"]) == (1, 2)
    assert one["integrated"][0]["rows_read"] == len(first)
    assert json.loads(integrate_stream(store.session))["consumed_batch"] is None
    checks = check_against_oneshot(store.session, "trapezoid")
    assert all(c.ok for c in checks)
    total = sum(c.procedure_kwh for c in checks)
    assert one["kwh_added"] + two["kwh_added"] == pytest.approx(total, rel=1e-12)


def test_an_unknown_method_is_a_message_naming_the_choices() -> None:
    store = new_store()
    out = json.loads(integrate_stream(store.session, "simpson"))
    assert out["status"] == "error"
    assert "simpson" in out["message"]
    assert "trapezoid" in out["message"]
    assert "Traceback" not in out["message"]


def test_a_broken_state_row_quarantines_its_meter_and_the_batch_integrates() -> None:
    store = new_store()
    first, second = deliveries(ticks=2, late_fraction=0.0)
    insert_readings(store.session, first)
    integrate_stream(store.session)
    good = store.session.table("METER_STATE").to_pandas()
    update = 'UPDATE "METER_STATE" SET "STATE" = ? WHERE "METER_ID" = ?'
    run(store.session, update, ["{broken", "meter-001"])
    insert_readings(store.session, second)
    out = json.loads(integrate_stream(store.session))
    assert out["status"] == "ok"
    assert [b["batch_id"] for b in out["integrated"]] == [2]
    marker = store.session.table("STREAM_CONSUMED_MARKER").to_pandas().set_index("BATCH_ID")
    assert marker.loc[2, "STATUS"] == "INTEGRATED"
    quarantine = store.session.table("QUARANTINED_READINGS").to_pandas()
    stuck = quarantine[quarantine["REASON"] == "unreadable-state"]
    mine = second.meter == "meter-001"
    assert sorted(stuck["METER_ID"].unique()) == ["meter-001"]
    assert len(stuck) == int(mine.sum())
    assert stuck["DETAIL"].str.contains("restore that row").all()
    assert stuck["DETAIL"].str.contains("Deleting it would restart").all()  # a warning, not advice
    # The broken row is kept, not overwritten or pruned; the other meters moved on.
    states = store.session.table("METER_STATE").to_pandas()
    assert states.loc[states["METER_ID"] == "meter-001", "STATE"].tolist() == ["{broken"]
    assert set(states.loc[states["METER_ID"] != "meter-001", "BATCH_ID"]) == {2}
    # Every other meter's kWh is that of a one-shot integration of its accepted rows.
    assert all(c.ok for c in check_against_oneshot(store.session, "trapezoid"))
    # Restoring the row and reconciling integrates the quarantined rows.
    fixed = good.loc[good["METER_ID"] == "meter-001", "STATE"].iloc[0]
    run(store.session, update, [fixed, "meter-001"])
    done = run_reconcile(warehouse(store))
    assert done.status == "ok", done
    resolved = store.session.table("RESOLVED_READINGS").to_pandas()
    assert set(stuck["ROW_ID"]) <= set(resolved["ROW_ID"])
    clean = new_store()  # the same readings through a pipeline that never lost a state
    insert_readings(clean.session, first)
    insert_readings(clean.session, second)
    integrate_stream(clean.session)
    assert _last_kwh(store) == pytest.approx(_last_kwh(clean), rel=1e-12)


def _last_kwh(store: SqlStore) -> dict[str, float]:
    results = store.session.table("INTEGRAL_SUM_VALUES").to_pandas()
    last = results.sort_values("TIMESTAMP").groupby("METER_ID")["CUMULATIVE_KWH"].last()
    return {str(k): float(v) for k, v in last.items()}


def test_energy_that_overflows_quarantines_its_meter_and_the_batch_integrates() -> None:
    store = new_store()
    insert = "INSERT INTO RANDOM_VALUES (ID, METER_ID, TIMESTAMP, KW) VALUES (?, ?, ?, ?)"
    rows = [("a", "00:00", 1.0), ("a", "01:00", 1.0), ("b", "00:00", 1.7e308),
            ("b", "01:00", 1.7e308), ("b", "02:00", 1.7e308)]  # fmt: skip
    for i, (meter, hhmm, kw) in enumerate(rows, 1):
        run(store.session, insert, [i, meter, f"2026-01-01 {hhmm}:00", kw])
    out = json.loads(integrate_stream(store.session))
    assert out["status"] == "ok"
    marker = store.session.table("STREAM_CONSUMED_MARKER").to_pandas()
    assert marker["STATUS"].tolist() == ["INTEGRATED"]
    quarantine = store.session.table("QUARANTINED_READINGS").to_pandas()
    assert set(quarantine["METER_ID"]) == {"b"}
    assert (quarantine["DETAIL"] == "energy overflows float64").all()
    results = store.session.table("INTEGRAL_SUM_VALUES").to_pandas()
    # a: 1 kW for 1 h; b's energy is finite up to the row that overflows it.
    assert results.loc[results["METER_ID"] == "a", "CUMULATIVE_KWH"].max() == 1.0
    assert np.isfinite(results["CUMULATIVE_KWH"]).all()


def test_generated_ids_continue_from_the_largest() -> None:
    store = new_store()
    assert next_id(store.session) == 1
    readings = ei.generate_readings(2, periods=3)
    assert insert_readings(store.session, readings) == 6
    assert insert_readings(store.session, readings) == 6
    ids = store.session.table("RANDOM_VALUES").to_pandas()["ID"].sort_values().tolist()
    assert ids == list(range(1, 13))
    assert next_id(store.session) == 13


def test_the_handler_module_runs_itself_on_the_embedded_engine() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "energy_integral_snowflake.handler"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    first, second = (json.loads(line) for line in done.stdout.strip().splitlines()[-2:])
    assert first["status"] == "ok"
    assert first["integrated"][0]["rows_read"] == 30
    assert second["consumed_batch"] is None


def test_a_batch_that_cannot_be_integrated_fails_the_task_run_but_not_a_manual_call() -> None:
    from energy_integral_snowflake import embedded
    from energy_integral_snowflake.handler import BatchNotIntegratedError

    store = new_store()
    first, second = deliveries(ticks=2)
    insert_readings(store.session, first)
    assert embedded.tick(store.session) is not None
    # A state written by another method under this one's name: no meter can continue it.
    state = run(store.session, 'SELECT "STATE" FROM "METER_STATE" WHERE "METER_ID" = ?',
                ["meter-001"])[0][0]  # fmt: skip
    run(store.session, 'UPDATE "METER_STATE" SET "STATE" = ? WHERE "METER_ID" = ?',
        [state.replace('"trapezoid"', '"left"'), "meter-001"])  # fmt: skip
    insert_readings(store.session, second)
    with pytest.raises(BatchNotIntegratedError, match="batch 2 was not integrated"):
        embedded.tick(store.session)
    history = store.session.sql(
        'SELECT "STATE", "ERROR_MESSAGE" FROM TABLE(INFORMATION_SCHEMA.TASK_HISTORY('
        "TASK_NAME => 'INTEGRATE_STREAM_TASK')) ORDER BY \"SCHEDULED_TIME\" DESC"
    ).collect()
    assert [r["STATE"] for r in history] == ["FAILED", "SUCCEEDED"]
    assert "same method" in history[0]["ERROR_MESSAGE"]
    manual = json.loads(store.session.sql("CALL INTEGRATE_STREAM()").collect()[0][0])
    assert (manual["status"], manual["pending"]) == ("error", [2])
