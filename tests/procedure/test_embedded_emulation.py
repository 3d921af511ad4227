"""One test per statement the embedded engine emulates or rewrites for DuckDB."""

from __future__ import annotations

import json
from typing import Any

import pytest
from local_scenarios import sql_rows

from energy_integral_snowflake import embedded, transpile
from energy_integral_snowflake.sql import statements

HISTORY = (
    'SELECT "NAME", "STATE", "RETURN_VALUE", "ERROR_MESSAGE" FROM TABLE(INFORMATION_SCHEMA.'
    "TASK_HISTORY(TASK_NAME => 'INTEGRATE_STREAM_TASK', RESULT_LIMIT => {n})) "
    'ORDER BY "SCHEDULED_TIME" DESC'
)


def _reading(session: Any, row_id: int = 1) -> None:
    sql_rows(session, "INSERT INTO RANDOM_VALUES VALUES (?, ?, ?, ?)",
         [row_id, "m", f"2026-01-01 00:0{row_id}:00", 2.0])  # fmt: skip


def _task(session: Any) -> dict[str, Any]:
    [row] = sql_rows(session, "SHOW TASKS LIKE 'integrate_stream_task'")
    return row.as_dict()


# -- translations ---------------------------------------------------------------------------
def test_types_values_and_merge_are_translated_for_duckdb() -> None:
    assert "TIMESTAMP_NS" in transpile.translate("SELECT CAST(x AS TIMESTAMP_NTZ(9))").sql
    assert "BIGINT" in transpile.translate("SELECT CAST(x AS NUMBER(38,0))").sql
    merge = transpile.translate(
        'MERGE INTO "T" AS t USING (SELECT 1 AS "K") AS s ON t."K" = s."K" '
        'WHEN MATCHED THEN UPDATE SET t."V" = s."K"'
    ).sql
    assert 'UPDATE SET "V" = s."K"' in merge


def test_merge_and_values_run_inside_a_transaction_and_roll_back(session: Any) -> None:
    sql_rows(session, "BEGIN")
    sql_rows(session, 'MERGE INTO "METER_STATE" AS t USING (SELECT COLUMN1::VARCHAR AS "METER_ID", '
                  "'trapezoid' AS \"METHOD\", '{}' AS \"STATE\", 1 AS \"BATCH_ID\", "
                  'CURRENT_TIMESTAMP() AS "UPDATED_AT" FROM VALUES (?)) AS s '
                  'ON t."METER_ID" = s."METER_ID" '
                  'WHEN MATCHED THEN UPDATE SET t."STATE" = s."STATE" '
                  'WHEN NOT MATCHED THEN INSERT ("METER_ID", "METHOD", "STATE", "BATCH_ID", '
                  '"UPDATED_AT") VALUES (s."METER_ID", s."METHOD", s."STATE", s."BATCH_ID", '
                  's."UPDATED_AT")', ["m"])  # fmt: skip
    assert sql_rows(session, 'SELECT COUNT(*) FROM "METER_STATE"')[0][0] == 1
    sql_rows(session, "ROLLBACK")
    assert sql_rows(session, 'SELECT COUNT(*) FROM "METER_STATE"')[0][0] == 0


# -- stages -------------------------------------------------------------------------------
def test_create_and_drop_stage(session: Any) -> None:
    names = lambda: [r[0] for r in session.execute('SELECT "NAME" FROM "__EI_STAGES"')[1]]  # noqa: E731
    assert names() == ["ENERGY_INTEGRAL_STAGE"]
    sql_rows(session, "DROP STAGE IF EXISTS ENERGY_INTEGRAL_STAGE")
    assert names() == []


# -- streams ------------------------------------------------------------------------------
def test_create_stream_if_not_exists_keeps_the_offset(session: Any) -> None:
    _reading(session)
    sql_rows(session, "CREATE STREAM IF NOT EXISTS RANDOM_VALUES_STREAM ON TABLE RANDOM_VALUES")
    assert len(sql_rows(session, "SELECT * FROM RANDOM_VALUES_STREAM")) == 1


def test_create_stream_without_initial_rows_starts_at_now(session: Any) -> None:
    _reading(session)
    sql_rows(session, "CREATE OR REPLACE STREAM S2 ON TABLE RANDOM_VALUES")
    assert sql_rows(session, "SELECT * FROM S2") == []
    _reading(session, 2)
    assert [r["ID"] for r in sql_rows(session, "SELECT * FROM S2")] == [2]


def test_an_append_only_stream_is_refused_rather_than_emulated_wrong(session: Any) -> None:
    with pytest.raises(NotImplementedError, match="APPEND_ONLY"):
        sql_rows(session, "CREATE STREAM S3 ON TABLE RANDOM_VALUES APPEND_ONLY = TRUE")


def test_show_and_drop_streams(session: Any) -> None:
    [row] = sql_rows(session, "SHOW STREAMS LIKE 'RANDOM_VALUES_%'")
    assert (row["name"], row["table_name"], row["mode"]) == (
        "RANDOM_VALUES_STREAM", "RANDOM_VALUES", "DEFAULT",
    )  # fmt: skip
    sql_rows(session, "DROP STREAM IF EXISTS RANDOM_VALUES_STREAM")
    assert sql_rows(session, "SHOW STREAMS") == []
    with pytest.raises(Exception, match="RANDOM_VALUES_STREAM"):
        sql_rows(session, "SELECT * FROM RANDOM_VALUES_STREAM")


# -- procedures ---------------------------------------------------------------------------
def test_call_binds_positional_named_and_default_arguments(session: Any) -> None:
    _reading(session)
    out = json.loads(
        sql_rows(session, "CALL INTEGRATE_STREAM(MAX_GAP => '1h', METHOD => 'left')")[0][0]
    )
    assert out["status"] == "ok"
    row = sql_rows(session, 'SELECT "METHOD" FROM STREAM_CONSUMED_MARKER')[0]
    assert row[0] == "left"
    [result] = sql_rows(session, "CALL INTEGRATE_STREAM('right')")
    assert result.as_dict().keys() == {"INTEGRATE_STREAM"}


def test_call_refuses_unknown_arguments_and_procedures(session: Any) -> None:
    with pytest.raises(ValueError, match="NOPE"):
        sql_rows(session, "CALL INTEGRATE_STREAM(NOPE => 1)")
    with pytest.raises(ValueError, match="Unknown procedure MISSING"):
        sql_rows(session, "CALL MISSING()")


def test_drop_procedure(session: Any) -> None:
    sql_rows(
        session, "DROP PROCEDURE IF EXISTS RECONCILE_READINGS(VARCHAR, VARCHAR, VARCHAR, FLOAT)"
    )
    with pytest.raises(ValueError, match="RECONCILE_READINGS"):
        sql_rows(session, "CALL RECONCILE_READINGS()")


# -- tasks --------------------------------------------------------------------------------
def test_create_task_is_suspended_with_its_schedule_condition_and_body(session: Any) -> None:
    task = _task(session)
    assert task["state"] == "suspended"
    assert task["schedule"] == "1 MINUTE"
    assert task["condition"] == "SYSTEM$STREAM_HAS_DATA('RANDOM_VALUES_STREAM')"
    assert task["definition"] == 'CALL "INTEGRATE_STREAM"()'


def test_alter_task_resume_and_suspend(session: Any) -> None:
    resume, suspend = statements("task_manager")[:2]
    sql_rows(session, resume)
    assert _task(session)["state"] == "started"
    sql_rows(session, suspend)
    assert _task(session)["state"] == "suspended"


def test_a_tick_skips_without_data_and_calls_with_it(session: Any) -> None:
    assert embedded.tick(session) is None
    _reading(session)
    out = json.loads(embedded.tick(session) or "")
    assert out["consumed_batch"] == 1
    history = sql_rows(session, HISTORY.format(n=10))
    assert [r["STATE"] for r in history] == ["SUCCEEDED", "SKIPPED"]
    assert json.loads(history[0]["RETURN_VALUE"]) == out


def test_execute_task_runs_the_task_once(session: Any) -> None:
    _reading(session)
    sql_rows(session, "EXECUTE TASK INTEGRATE_STREAM_TASK")
    assert sql_rows(session, 'SELECT "STATUS" FROM STREAM_CONSUMED_MARKER')[0][0] == "INTEGRATED"
    assert len(sql_rows(session, HISTORY.format(n=1))) == 1


def test_a_failing_run_is_recorded_and_raised_and_suspends_after_the_limit(session: Any) -> None:
    sql_rows(session, "CREATE OR REPLACE TASK INTEGRATE_STREAM_TASK "
                  "SUSPEND_TASK_AFTER_NUM_FAILURES = 2 AS CALL MISSING()")  # fmt: skip
    sql_rows(session, "ALTER TASK INTEGRATE_STREAM_TASK RESUME")
    for _ in range(2):
        with pytest.raises(ValueError, match="Unknown procedure"):
            embedded.tick(session)
    history = sql_rows(session, HISTORY.format(n=1))
    assert [(r["STATE"], "Unknown procedure" in r["ERROR_MESSAGE"]) for r in history] == [
        ("FAILED", True)
    ]
    assert _task(session)["state"] == "suspended"


def test_drop_task(session: Any) -> None:
    sql_rows(session, "DROP TASK IF EXISTS INTEGRATE_STREAM_TASK")
    assert sql_rows(session, "SHOW TASKS") == []


def test_every_statement_of_the_shipped_scripts_runs(session: Any) -> None:
    _reading(session)
    for script in ("setup", "show_all", "task_manager", "teardown"):
        for statement in statements(script):
            sql_rows(session, statement)
    assert sql_rows(session, "SHOW TASKS") == []
    assert sql_rows(session, 'SELECT COUNT(*) FROM "INTEGRAL_SUM_VALUES"')[0][0] == 1


def test_a_statement_on_a_staged_view_translates_as_itself_whatever_the_view() -> None:
    from energy_integral_snowflake.schema import tables
    from energy_integral_snowflake.statements import merge_from_sql

    for n in (3, 41):
        text = merge_from_sql(tables().results, f'"__EI_STAGED_{n}"')
        assert transpile.translated(text) == transpile.translate.__wrapped__(text)
    assert f'"__EI_STAGED_{n}"' in transpile.translated(text).sql
    both = 'SELECT * FROM "__EI_STAGED_1", "__EI_STAGED_2"'  # two views: as it is
    assert transpile.translated(both) == transpile.translate.__wrapped__(both)
