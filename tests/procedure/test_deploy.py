"""The Python deploy path, against a session that records what it is asked to do."""

from __future__ import annotations

import inspect
import json
import typing
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import typer
from deploy_recording import RecordingSession
from typer.testing import CliRunner

import energy_integral
import energy_integral_snowflake
from energy_integral_snowflake import commands, deploy, handler
from energy_integral_snowflake.manifest import PROCEDURES, Procedure
from energy_integral_snowflake.schema import DEFAULT_NAMES, ObjectNames, tables
from energy_integral_snowflake.sql import DEFAULT_STAGE

REPO = Path(__file__).resolve().parents[2]


def _registrations(session: RecordingSession) -> list[tuple[Any, dict[str, Any]]]:
    return [entry for kind, entry in session.log if kind == "register"]


def test_deploy_runs_setup_in_order_and_registers_instead_of_create_procedure() -> None:
    session = RecordingSession()
    report = deploy.deploy(session)
    kinds = [kind for kind, _ in session.log]
    sql = [entry for kind, entry in session.log if kind == "sql"]
    assert not any("PROCEDURE" in s for s in sql)  # Snowpark registers them instead
    assert kinds.count("register") == len(PROCEDURES) == 3
    assert sql[0] == f'CREATE STAGE IF NOT EXISTS "{DEFAULT_STAGE}" COMMENT = ' + (
        "'energy_integral: archives the stream procedure imports'"
    )
    created = [s.split('"')[1] for s in sql if s.startswith("CREATE TABLE IF NOT EXISTS")]
    assert created == [t.name for t in tables()]
    registered_at = [i for i, kind in enumerate(kinds) if kind == "register"]
    stream_at = next(i for i, (k, e) in enumerate(session.log) if "CREATE STREAM" in str(e))
    task_at = next(i for i, (k, e) in enumerate(session.log) if "CREATE OR REPLACE TASK" in str(e))
    assert stream_at < registered_at[0]
    assert registered_at[-1] < task_at == len(session.log) - 1
    assert len(report.steps) == len(session.log)
    assert "ALTER TASK" not in " ".join(sql)  # the task stays suspended by default
    assert [s for s in report.steps if s.startswith("put")] == [
        f"put src.zip (energy_integral/) on @{DEFAULT_STAGE}",
        f"put procedure.zip (energy_integral_snowflake/) on @{DEFAULT_STAGE}",
    ]
    assert [s for s in report.steps if s.startswith("registered")] == [
        "registered procedure INTEGRATE_STREAM (handler "
        "energy_integral_snowflake.handler.integrate_stream)",
        "registered procedure BACKFILL_READINGS (handler "
        "energy_integral_snowflake.backfill.backfill)",
        "registered procedure RECONCILE_READINGS (handler "
        "energy_integral_snowflake.reconcile.reconcile)",
    ]


def test_each_procedure_is_registered_with_its_own_handler() -> None:
    from energy_integral_snowflake import backfill, reconcile

    session = RecordingSession()
    deploy.deploy(session)
    assert [(func, kwargs["name"]) for func, kwargs in _registrations(session)] == [
        (handler.integrate_stream, "INTEGRATE_STREAM"),
        (backfill.backfill, "BACKFILL_READINGS"),
        (reconcile.reconcile, "RECONCILE_READINGS"),
    ]


def test_registration_is_permanent_on_the_stage_with_both_packages_imported() -> None:
    session = RecordingSession()
    deploy.deploy(session)
    library = Path(energy_integral.__file__).resolve().parent
    adapter = Path(energy_integral_snowflake.__file__).resolve().parent
    assert library == REPO / "src" / "energy_integral"
    assert adapter == REPO / "procedure" / "energy_integral_snowflake"
    for _, kwargs in _registrations(session):
        assert kwargs["is_permanent"] is True
        assert kwargs["replace"] is True
        assert kwargs["stage_location"] == f"@{DEFAULT_STAGE}"
        # cloudpickle unpinned, or Snowpark pins the local version (snowpark-python #4377).
        assert kwargs["packages"] == [
            "numpy", "scipy", "pandas", "snowflake-snowpark-python", "cloudpickle"
        ]  # fmt: skip
        assert kwargs["imports"] == [
            (str(library), "energy_integral"),
            (str(adapter), "energy_integral_snowflake"),
        ]
        assert kwargs["preserve_parameter_names"] is True
        assert kwargs["execute_as"] == "owner"  # as setup.sql's EXECUTE AS OWNER


def test_registered_signatures_are_the_handlers() -> None:
    from snowflake.snowpark.types import BooleanType, DoubleType, StringType

    session = RecordingSession()
    deploy.deploy(session)
    by_sql = {"VARCHAR": StringType(), "FLOAT": DoubleType(), "BOOLEAN": BooleanType()}
    for (func, kwargs), procedure in zip(_registrations(session), PROCEDURES, strict=True):
        assert kwargs["input_types"] == [by_sql[t] for _, t, _ in procedure.arguments]
        assert kwargs["return_type"] == StringType()
        params = list(inspect.signature(func).parameters)
        assert params[0] == "session"
        assert [p.upper() for p in params[1:]] == [n for n, _, _ in procedure.arguments]
    assert deploy.HANDLER == "energy_integral_snowflake.handler.integrate_stream"


def test_other_stage_is_refused_because_the_scale_out_udtfs_import_the_default() -> None:
    session = RecordingSession()
    with pytest.raises(ValueError, match="stage='ei_stage': BACKFILL_READINGS"):
        deploy.deploy(session, stage="ei_stage")
    assert session.log == []


def test_other_names_reach_every_statement() -> None:
    session = RecordingSession()
    names = ObjectNames(procedure="ei_proc", task="ei_task")
    deploy.deploy(session, names, resume_task=True)
    sql = [entry for kind, entry in session.log if kind == "sql"]
    registered = _registrations(session)
    # Only the stream procedure's name is configurable; the others keep theirs.
    assert [kwargs["name"] for _, kwargs in registered] == [
        "EI_PROC", "BACKFILL_READINGS", "RECONCILE_READINGS",
    ]  # fmt: skip
    assert {kwargs["stage_location"] for _, kwargs in registered} == {"@ENERGY_INTEGRAL_STAGE"}
    assert sql[0].startswith('CREATE STAGE IF NOT EXISTS "ENERGY_INTEGRAL_STAGE"')
    assert sql[-2].startswith('CREATE OR REPLACE TASK "EI_TASK"')
    assert sql[-2].endswith('AS CALL "EI_PROC"()')
    assert sql[-1] == 'ALTER TASK "EI_TASK" RESUME'
    assert sorted(session.file.staged) == [
        "@ENERGY_INTEGRAL_STAGE/procedure.zip",
        "@ENERGY_INTEGRAL_STAGE/src.zip",
    ]


@pytest.mark.parametrize("role", ["source", "stream", "results", "marker", "quarantine"])
def test_renaming_a_table_the_handler_reads_is_refused(role: str) -> None:
    session = RecordingSession()
    with pytest.raises(ValueError, match=f"names.{role}='OTHER'"):
        deploy.deploy(session, ObjectNames(**{role: "other"}))
    assert session.log == []  # refused before anything ran


def test_bad_stage_is_refused_before_anything_runs() -> None:
    session = RecordingSession()
    with pytest.raises(ValueError, match="stage="):
        deploy.deploy(session, stage="my stage")
    assert session.log == []


@pytest.mark.parametrize("procedure", PROCEDURES, ids=lambda p: p.name)
def test_handler_annotations_let_snowpark_register_it(procedure: Procedure) -> None:
    # Snowpark reads the handler's type hints even when types are given: the first
    # parameter must resolve to Session, and optional ones must be typing.Optional
    # (it rejects PEP 604 "str | None").
    from snowflake.snowpark import Session

    hints = typing.get_type_hints(procedure.handler)
    assert hints["session"] is Session
    assert hints["return"] is str
    python_type = {"VARCHAR": str, "FLOAT": float, "BOOLEAN": bool}
    parameters = list(inspect.signature(procedure.handler).parameters.values())[1:]
    for parameter, (_, sql_type, default) in zip(parameters, procedure.arguments, strict=True):
        hint = hints[parameter.name]
        if default == "NULL":
            assert typing.get_origin(hint) is typing.Union, parameter.name
            assert typing.get_args(hint) == (python_type[sql_type], type(None)), parameter.name
        else:
            assert hint is python_type[sql_type], parameter.name


def _embedded_pipeline() -> Any:
    """setup.sql on the embedded engine (its CREATE PROCEDUREs name the handlers), with readings."""
    from energy_integral_snowflake import embedded
    from energy_integral_snowflake.generator import insert_readings

    session = embedded.connect()
    embedded.setup(session)
    # Two meters, 4 readings each, 15 minutes apart at a constant 2 kW: 1.5 kWh a meter.
    times = np.arange("2026-01-01T00:00", "2026-01-01T01:00", 15, dtype="datetime64[m]")
    meters = np.array(["a"] * 4 + ["b"] * 4, dtype=object)
    insert_readings(session, energy_integral.Readings(meters, np.tile(times, 2), np.full(8, 2.0)))
    return session


def _call(session: Any, statement: str) -> Any:
    return json.loads(session.sql(statement).collect()[0][0])


def test_the_created_stream_procedure_runs_when_called() -> None:
    session = _embedded_pipeline()
    summary = _call(session, f"CALL {DEFAULT_NAMES.procedure}('left')")
    again = _call(session, f"CALL {DEFAULT_NAMES.procedure}(METHOD => 'left')")
    assert summary["status"] == "ok", summary
    assert summary["consumed_batch"] == 1  # the stream held the 8 readings
    assert summary["kwh_added"] == pytest.approx(3.0, rel=1e-12)
    assert again["consumed_batch"] is None  # and then nothing


def test_the_created_backfill_procedure_runs_when_called() -> None:
    session = _embedded_pipeline()
    summary = _call(session, "CALL BACKFILL_READINGS('trapezoid', NULL, NULL, 'a')")
    results = session.table(DEFAULT_NAMES.results).to_pandas()
    assert summary["status"] == "ok", summary
    assert [m["meter"] for m in summary["meters"]] == ["a"]
    assert summary["delta_kwh"] == pytest.approx(1.5, rel=1e-12)
    assert sorted(results["METER_ID"]) == ["a"] * 4
    assert results["CUMULATIVE_KWH"].max() == pytest.approx(1.5, rel=1e-12)


def test_the_created_reconcile_procedure_runs_when_called() -> None:
    session = _embedded_pipeline()
    summary = _call(session, "CALL RECONCILE_READINGS()")
    assert summary["status"] == "ok", summary
    assert summary["batch_id"] is None  # nothing quarantined, so nothing to reconcile
    assert summary["message"] == "no open late or correction rows"


# -- connections ---------------------------------------------------------------------------


@pytest.fixture
def built_options(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    from snowflake.snowpark import Session

    seen: list[dict[str, Any]] = []

    def create(self: Any) -> str:
        seen.append(dict(self._options))
        return "session"

    monkeypatch.setattr(Session.SessionBuilder, "create", create)
    return seen


def test_connect_uses_the_named_connection_with_overrides(built_options: list[Any]) -> None:
    deploy.connect("dev", database="ENERGY", schema=None, warehouse="WH")
    assert built_options == [{"connection_name": "dev", "database": "ENERGY", "warehouse": "WH"}]


def test_connect_without_options_leaves_the_default_to_snowpark(built_options: list[Any]) -> None:
    deploy.connect()
    assert built_options == [{}]


def test_connect_with_overrides_only_names_the_default_connection(
    built_options: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SNOWFLAKE_DEFAULT_CONNECTION_NAME", "from_env")
    deploy.connect(role="LOADER")
    assert built_options == [{"connection_name": "from_env", "role": "LOADER"}]


# -- the CLI command ---------------------------------------------------------------------


def _app() -> typer.Typer:
    app = typer.Typer()
    commands.register(app)

    @app.callback()
    def _root() -> None:  # a callback keeps "deploy" a subcommand
        pass

    return app


def test_cli_dry_run_prints_the_setup_without_connecting(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a dry run must not connect")

    monkeypatch.setattr(deploy, "connect", refuse)
    result = CliRunner().invoke(_app(), ["deploy", "--dry-run", "--stage", "s2"])
    assert result.exit_code == 0, result.output
    assert 'CREATE STAGE IF NOT EXISTS "S2"' in result.output
    assert "CREATE OR REPLACE TASK" in result.output
    # The uploads are listed where deploy does them: after the stage, before the procedures.
    out = result.output
    puts = [out.index(f"PUT 'file://{a}' @\"S2\" AUTO_COMPRESS = FALSE OVERWRITE = TRUE;")
            for a in ("src.zip", "procedure.zip")]  # fmt: skip
    assert out.index("CREATE STAGE") < puts[0] < puts[1] < out.index("CREATE OR REPLACE PROCEDURE")
    assert out.count("PUT ") == 2


def test_cli_deploys_through_the_named_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    session = RecordingSession()
    calls: list[tuple[Any, dict[str, Any]]] = []

    def fake_connect(connection: str | None, **overrides: Any) -> RecordingSession:
        calls.append((connection, overrides))
        return session

    monkeypatch.setattr(deploy, "connect", fake_connect)
    result = CliRunner().invoke(_app(), ["deploy", "-c", "prod", "--schema", "S", "--resume"])
    assert result.exit_code == 0, result.output
    assert calls == [("prod", {"database": None, "schema": "S", "role": None, "warehouse": None})]
    assert session.log[-1] == ("sql", 'ALTER TASK "INTEGRATE_STREAM_TASK" RESUME')
    assert session.closed
    assert "registered procedure INTEGRATE_STREAM" in result.output
    assert "put procedure.zip (energy_integral_snowflake/) on @ENERGY_INTEGRAL_STAGE" in (
        result.output
    )


def test_cli_reports_a_failed_connection_with_exit_code_2(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("Invalid connection_name 'nope', known ones are ['dev']")

    monkeypatch.setattr(deploy, "connect", broken)
    result = CliRunner().invoke(_app(), ["deploy", "-c", "nope"])
    assert result.exit_code == 2
    assert "Could not connect" in result.output
    assert "known ones are" in result.output


def test_cli_rejects_a_bad_stage_with_exit_code_2() -> None:
    result = CliRunner().invoke(_app(), ["deploy", "--dry-run", "--stage", "1bad"])
    assert result.exit_code == 2
    assert "stage='1bad'" in result.output
