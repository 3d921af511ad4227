"""The handler on the embedded engine: JSON summaries, actionable errors, end-to-end equality."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from local_scenarios import deliveries, new_store

import energy_integral as ei
from energy_integral_snowflake.demo import check_against_oneshot, run_demo
from energy_integral_snowflake.generator import insert_readings, next_id
from energy_integral_snowflake.handler import integrate_stream
from energy_integral_snowflake.statements import run

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


def test_a_broken_state_row_stops_its_batch_with_advice_and_is_retried() -> None:
    store = new_store()
    first, second = deliveries(ticks=2)
    insert_readings(store.session, first)
    integrate_stream(store.session)
    good = store.session.table("METER_STATE").to_pandas()
    update = 'UPDATE "METER_STATE" SET "STATE" = ? WHERE "METER_ID" = ?'
    run(store.session, update, ["{broken", "meter-001"])
    insert_readings(store.session, second)
    out = json.loads(integrate_stream(store.session))
    assert out["status"] == "error"
    assert out["pending"] == [2]
    assert "batch 2 was not integrated" in out["message"]
    assert "METER_STATE" in out["message"]
    # Restoring the row lets the next call integrate the waiting batch.
    fixed = good.loc[good["METER_ID"] == "meter-001", "STATE"].iloc[0]
    run(store.session, update, [fixed, "meter-001"])
    again = json.loads(integrate_stream(store.session))
    assert again["status"] == "ok"
    assert [b["batch_id"] for b in again["integrated"]] == [2]
    assert all(c.ok for c in check_against_oneshot(store.session, "trapezoid"))


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
    run(store.session, 'UPDATE "METER_STATE" SET "STATE" = ? WHERE "METER_ID" = ?',
        ["{broken", "meter-001"])  # fmt: skip
    insert_readings(store.session, second)
    with pytest.raises(BatchNotIntegratedError, match="batch 2 was not integrated"):
        embedded.tick(store.session)
    history = store.session.sql(
        'SELECT "STATE", "ERROR_MESSAGE" FROM TABLE(INFORMATION_SCHEMA.TASK_HISTORY('
        "TASK_NAME => 'INTEGRATE_STREAM_TASK')) ORDER BY \"SCHEDULED_TIME\" DESC"
    ).collect()
    assert [r["STATE"] for r in history] == ["FAILED", "SUCCEEDED"]
    assert "METER_STATE" in history[0]["ERROR_MESSAGE"]
    manual = json.loads(store.session.sql("CALL INTEGRATE_STREAM()").collect()[0][0])
    assert (manual["status"], manual["pending"]) == ("error", [2])
