"""snowflake.yml: what ``snow snowpark build && snow snowpark deploy --replace`` will do.

No account and no CLI here, so the checks follow the CLI's rules: the entity
keys its schema accepts (it forbids unknown ones), each artifact directory
zipped with paths relative to itself, and the handler imported from those
archives alone.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any

import pytest
import yaml
from archive_imports import import_from_archives

from energy_integral_snowflake import deploy
from energy_integral_snowflake.manifest import ARCHIVES, PROCEDURES, Procedure, zip_dir
from energy_integral_snowflake.sql import DEFAULT_STAGE

REPO = Path(__file__).resolve().parents[2]

# Keys of the CLI's procedure entity model (snowflake-cli, definition_version 2).
_ENTITY_KEYS = {
    "type", "identifier", "meta", "handler", "returns", "signature", "runtime", "stage",
    "artifacts", "imports", "external_access_integrations", "secrets", "execute_as_caller",
    "artifact_repository", "artifact_repository_packages", "resource_constraint",
}  # fmt: skip
_SQL_TYPES = {"string": "VARCHAR", "varchar": "VARCHAR", "float": "FLOAT", "double": "FLOAT",
              "boolean": "BOOLEAN"}  # fmt: skip
_BY_ENTITY = {p.entity: p for p in PROCEDURES}


@pytest.fixture(scope="module")
def entities() -> dict[str, dict[str, Any]]:
    definition = yaml.safe_load((REPO / "snowflake.yml").read_text())
    assert definition["definition_version"] == "2"
    return {k: v for k, v in definition["entities"].items() if v["type"] == "procedure"}


@pytest.fixture(params=list(_BY_ENTITY))
def entry(request: pytest.FixtureRequest, entities: dict[str, Any]) -> tuple[Any, Procedure]:
    return entities[request.param], _BY_ENTITY[request.param]


def test_every_procedure_is_declared_and_nothing_else(entities: dict[str, Any]) -> None:
    assert list(entities) == ["integrate_stream", "backfill_readings", "reconcile_readings"]
    assert [(p.entity, p.name) for p in PROCEDURES] == [
        ("integrate_stream", "INTEGRATE_STREAM"),
        ("backfill_readings", "BACKFILL_READINGS"),
        ("reconcile_readings", "RECONCILE_READINGS"),
    ]


def _artifact_dirs(entity: dict[str, Any]) -> list[Path]:
    return [REPO / (a if isinstance(a, str) else a["src"]) for a in entity["artifacts"]]


def test_entity_uses_only_keys_the_cli_accepts(entry: tuple[Any, Procedure]) -> None:
    entity, procedure = entry
    assert set(entity) <= _ENTITY_KEYS
    assert entity["identifier"]["name"] == procedure.name
    assert entity["stage"] == DEFAULT_STAGE
    assert entity["returns"] == "string"
    assert entity["execute_as_caller"] is False  # owner's rights, see setup.sql


def test_handler_resolves_to_the_handler_function(entry: tuple[Any, Procedure]) -> None:
    entity, procedure = entry
    module_name, _, function_name = entity["handler"].rpartition(".")
    function = getattr(importlib.import_module(module_name), function_name)
    assert function is procedure.handler
    assert entity["handler"] == procedure.handler_path


def test_the_handlers_are_the_expected_functions() -> None:
    assert [p.handler_path for p in PROCEDURES] == [
        "energy_integral_snowflake.handler.integrate_stream",
        "energy_integral_snowflake.backfill.backfill",
        "energy_integral_snowflake.reconcile.reconcile",
    ]
    assert PROCEDURES[0].handler_path == deploy.HANDLER


def _sql_default(value: Any) -> str:
    # A handler default as the SQL literal of the signature.
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return str(value).upper()
    return f"'{value}'" if isinstance(value, str) else repr(value)


def test_signature_matches_the_handler_parameters(entry: tuple[Any, Procedure]) -> None:
    entity, procedure = entry
    parameters = list(inspect.signature(procedure.handler).parameters.values())
    assert parameters[0].name == "session"
    signature = entity["signature"]
    assert [a["name"] for a in signature] == [p.name for p in parameters[1:]]
    assert [(a["name"].upper(), _SQL_TYPES[a["type"]]) for a in signature] == [
        (name, sql_type) for name, sql_type, _ in procedure.arguments
    ]
    assert [_sql_default(p.default) for p in parameters[1:]] == [
        d for _, _, d in procedure.arguments
    ]
    for argument, parameter in zip(signature, parameters[1:], strict=True):
        # The CLI quotes string defaults itself and passes NULL (and other types) through.
        if parameter.default is None:
            assert argument["default"] == "NULL", argument
        elif isinstance(parameter.default, str):
            assert argument["default"] == parameter.default, argument
        else:
            assert argument["default"] == _sql_default(parameter.default), argument


def test_artifacts_exist_and_hold_both_packages(entry: tuple[Any, Procedure]) -> None:
    dirs = _artifact_dirs(entry[0])
    assert all(d.is_dir() for d in dirs), dirs
    # Zipped relative to itself, each artifact's children become top-level imports.
    tops = {child.name for d in dirs for child in d.iterdir() if (child / "__init__.py").exists()}
    assert {"energy_integral", "energy_integral_snowflake"} <= tops


def test_runtime_is_a_python_snowflake_runs(entry: tuple[Any, Procedure]) -> None:
    assert str(entry[0]["runtime"]) == "3.11"  # setup.sql's RUNTIME_VERSION


def test_anaconda_packages_are_declared_where_the_cli_reads_them() -> None:
    lines = (REPO / "requirements.txt").read_text().splitlines()
    packages = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert packages == list(deploy.PACKAGES)
    assert packages == ["numpy", "scipy", "pandas", "snowflake-snowpark-python"]


def test_handlers_import_from_the_built_archives_alone(
    entities: dict[str, Any], tmp_path: Path
) -> None:
    artifacts = {tuple(e["artifacts"]) for e in entities.values()}
    assert len(artifacts) == 1  # every procedure imports the same two archives
    archives = []
    for directory in _artifact_dirs(next(iter(entities.values()))):
        archive = tmp_path / f"{directory.name}.zip"
        zip_dir(directory, archive)  # as the CLI's build: paths relative to the artifact
        archives.append(archive)
    assert [a.name for a in archives] == list(ARCHIVES.values())  # what the UDTFs import
    handler_files, library_file = import_from_archives(
        archives, [e["handler"] for e in entities.values()], tmp_path
    )
    assert all(f.startswith(str(tmp_path / "procedure.zip")) for f in handler_files)
    assert library_file.startswith(str(tmp_path / "src.zip"))
