"""The Python deploy path, against a session that records what it is asked to do."""

from __future__ import annotations

import inspect
import json
import subprocess
import typing
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import typer
from archive_imports import import_from_archives
from typer.testing import CliRunner

import energy_integral
import energy_integral_snowflake
from energy_integral_snowflake import commands, deploy, handler
from energy_integral_snowflake.manifest import ARCHIVES, PROCEDURES, Procedure, zip_dir
from energy_integral_snowflake.schema import DEFAULT_NAMES, ObjectNames, tables
from energy_integral_snowflake.sql import DEFAULT_STAGE

REPO = Path(__file__).resolve().parents[2]


class _Result:
    def collect(self) -> list[Any]:
        return []


class _Sproc:
    def __init__(self, log: list[tuple[str, Any]]) -> None:
        self.log = log

    def register(self, func: Any, **kwargs: Any) -> str:
        self.log.append(("register", (func, kwargs)))
        return "registered"

    def register_from_file(self, file_path: str, func_name: str, **kwargs: Any) -> str:
        self.log.append(("register_from_file", (file_path, func_name, kwargs)))
        return "registered"


class _FileOperation:
    """``session.file``: records each put and keeps the file's bytes under its stage name."""

    def __init__(self, log: list[tuple[str, Any]]) -> None:
        self.log = log
        self.staged: dict[str, bytes] = {}

    def put(self, local_file_name: str, stage_location: str, **kwargs: Any) -> list[Any]:
        self.log.append(("put", (local_file_name, stage_location, kwargs)))
        # PUT stores a file under its base name; the local file is gone after deploy.
        path = Path(local_file_name)
        self.staged[f"{stage_location}/{path.name}"] = path.read_bytes()
        return []


class RecordingSession:
    """Just enough of a Snowpark session: ``sql(...).collect()``, ``sproc`` and ``file``."""

    def __init__(self) -> None:
        self.log: list[tuple[str, Any]] = []
        self.sproc = _Sproc(self.log)
        self.file = _FileOperation(self.log)
        self.closed = False

    def sql(self, query: str, params: Any = None) -> _Result:
        self.log.append(("sql", " ".join(query.split())))
        return _Result()

    def close(self) -> None:
        self.closed = True


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


# -- the archives the UDTFs import ----------------------------------------------------------


def test_archives_are_put_after_the_stage_exists_and_before_any_registration() -> None:
    session = RecordingSession()
    deploy.deploy(session)
    kinds = [kind for kind, _ in session.log]
    stage_at = next(i for i, (k, e) in enumerate(session.log) if "CREATE STAGE" in str(e))
    put_at = [i for i, kind in enumerate(kinds) if kind == "put"]
    assert len(put_at) == 2
    assert stage_at < put_at[0] < put_at[1] < kinds.index("register")


def test_archives_are_put_as_built_and_replace_older_ones() -> None:
    session = RecordingSession()
    deploy.deploy(session)
    puts = [entry for kind, entry in session.log if kind == "put"]
    assert [(Path(path).name, stage, kwargs) for path, stage, kwargs in puts] == [
        ("src.zip", f"@{DEFAULT_STAGE}", {"auto_compress": False, "overwrite": True}),
        ("procedure.zip", f"@{DEFAULT_STAGE}", {"auto_compress": False, "overwrite": True}),
    ]
    # The staged files are exactly what BACKFILL_READINGS and RECONCILE_READINGS import.
    from energy_integral_snowflake.warehouse_snowflake import udtf_options

    assert list(session.file.staged) == udtf_options()["imports"]
    assert list(session.file.staged) == [
        f"@{DEFAULT_STAGE}/src.zip",
        f"@{DEFAULT_STAGE}/procedure.zip",
    ]


def _package_files(package: str) -> list[str]:
    # The package's files as git sees them (tracked or new, not ignored), named from
    # the artifact directory above it: an account independent of the archive code.
    directory = {"energy_integral": "src", "energy_integral_snowflake": "procedure"}[package]
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", package],
            cwd=REPO / directory, capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("needs the git checkout to list the packages' files")
    return sorted(name for name in listed if (REPO / directory / name).is_file())


def _staged_archives(tmp_path: Path) -> list[Path]:
    session = RecordingSession()
    deploy.deploy(session)
    archives = []
    for stage_path, content in session.file.staged.items():
        archive = tmp_path / stage_path.rpartition("/")[2]
        archive.write_bytes(content)
        archives.append(archive)
    return archives


def test_uploaded_archives_hold_exactly_the_packages_files(tmp_path: Path) -> None:
    archives = _staged_archives(tmp_path)
    assert [a.name for a in archives] == ["src.zip", "procedure.zip"]
    for archive, package in zip(archives, ARCHIVES, strict=True):
        with zipfile.ZipFile(archive) as opened:
            members = sorted(opened.namelist())
        assert members == _package_files(package), archive.name
        assert f"{package}/__init__.py" in members


def test_handlers_import_from_the_uploaded_archives_alone(tmp_path: Path) -> None:
    archives = _staged_archives(tmp_path)
    handler_files, library_file = import_from_archives(
        archives, [p.handler_path for p in PROCEDURES], tmp_path
    )
    assert all(f.startswith(str(tmp_path / "procedure.zip")) for f in handler_files)
    assert library_file.startswith(str(tmp_path / "src.zip"))


def test_zip_dir_names_files_below_the_prefix_without_caches(tmp_path: Path) -> None:
    source = tmp_path / "pkg"
    for name in ["__init__.py", "sub/a.py", "data.sql", "__pycache__/m.cpython-311.pyc",
                 "stray.pyc", "sub/__pycache__/a.cpython-311.pyc"]:  # fmt: skip
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text(name)
    names = zip_dir(source, tmp_path / "a.zip", prefix="pkg")
    assert names == ["pkg/__init__.py", "pkg/data.sql", "pkg/sub/a.py"]
    with zipfile.ZipFile(tmp_path / "a.zip") as opened:
        assert opened.namelist() == names
        assert opened.read("pkg/sub/a.py") == b"sub/a.py"
    assert zip_dir(source, tmp_path / "b.zip") == ["__init__.py", "data.sql", "sub/a.py"]
    with pytest.raises(NotADirectoryError, match="source="):
        zip_dir(source / "data.sql", tmp_path / "c.zip")


def test_archives_go_on_a_local_testing_stage_and_come_back_whole(tmp_path: Path) -> None:
    # Snowpark's own FileOperation.put, so the keywords are ones it takes; run twice
    # because a re-deploy must replace the archives.
    from snowflake.snowpark import Session

    session = Session.builder.config("local_testing", True).create()
    try:
        deploy.upload_archives(session)
        deploy.upload_archives(session)
        got = session.file.get(f"@{DEFAULT_STAGE}", str(tmp_path))
    finally:
        session.close()
    assert sorted(g.file for g in got) == ["procedure.zip", "src.zip"]
    for package, archive in ARCHIVES.items():
        with zipfile.ZipFile(tmp_path / archive) as opened:
            assert sorted(opened.namelist()) == _package_files(package)


def test_a_refused_upload_stops_deploy_before_any_registration() -> None:
    session = RecordingSession()

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("Insufficient privileges to operate on stage")

    session.file.put = refuse  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="Insufficient privileges"):
        deploy.deploy(session)
    assert "register" not in [kind for kind, _ in session.log]


def test_upload_and_put_sql_refuse_bad_arguments() -> None:
    session = RecordingSession()
    with pytest.raises(ValueError, match="stage='my stage'"):
        deploy.upload_archives(session, "my stage")
    assert session.log == []
    with pytest.raises(ValueError, match=r"archive='other\.zip'"):
        deploy.put_sql("other.zip")


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
