"""snowflake.yml: what ``snow snowpark build && snow snowpark deploy --replace`` will do.

No account and no CLI here, so the checks follow the CLI's rules: the entity
keys its schema accepts (it forbids unknown ones), each artifact directory
zipped with paths relative to itself, and the handler imported from those
archives alone.
"""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from energy_integral_snowflake import deploy, handler
from energy_integral_snowflake.sql import DEFAULT_STAGE

REPO = Path(__file__).resolve().parents[2]

# Keys of the CLI's procedure entity model (snowflake-cli, definition_version 2).
_ENTITY_KEYS = {
    "type", "identifier", "meta", "handler", "returns", "signature", "runtime", "stage",
    "artifacts", "imports", "external_access_integrations", "secrets", "execute_as_caller",
    "artifact_repository", "artifact_repository_packages", "resource_constraint",
}  # fmt: skip
_SQL_TYPES = {"string": "VARCHAR", "varchar": "VARCHAR", "float": "FLOAT", "double": "FLOAT"}


@pytest.fixture(scope="module")
def entity() -> dict[str, Any]:
    definition = yaml.safe_load((REPO / "snowflake.yml").read_text())
    assert definition["definition_version"] == "2"
    procedures = {k: v for k, v in definition["entities"].items() if v["type"] == "procedure"}
    assert list(procedures) == ["integrate_stream"]
    return procedures["integrate_stream"]


def _artifact_dirs(entity: dict[str, Any]) -> list[Path]:
    return [REPO / (a if isinstance(a, str) else a["src"]) for a in entity["artifacts"]]


def test_entity_uses_only_keys_the_cli_accepts(entity: dict[str, Any]) -> None:
    assert set(entity) <= _ENTITY_KEYS
    assert entity["identifier"]["name"] == "INTEGRATE_STREAM"
    assert entity["stage"] == DEFAULT_STAGE
    assert entity["returns"] == "string"
    assert entity["execute_as_caller"] is False


def test_handler_resolves_to_the_handler_function(entity: dict[str, Any]) -> None:
    module_name, _, function_name = entity["handler"].rpartition(".")
    function = getattr(importlib.import_module(module_name), function_name)
    assert function is handler.integrate_stream
    assert entity["handler"] == deploy.HANDLER


def test_signature_matches_the_handler_parameters(entity: dict[str, Any]) -> None:
    parameters = list(inspect.signature(handler.integrate_stream).parameters.values())
    assert parameters[0].name == "session"
    signature = entity["signature"]
    assert [a["name"] for a in signature] == [p.name for p in parameters[1:]]
    assert [(a["name"].upper(), _SQL_TYPES[a["type"]]) for a in signature] == [
        (name, sql_type) for name, sql_type, _ in handler.PROCEDURE_ARGUMENTS
    ]
    for argument, parameter in zip(signature, parameters[1:], strict=True):
        # The CLI quotes string defaults itself and passes NULL through.
        if parameter.default is None:
            assert argument["default"] == "NULL", argument
        else:
            assert argument["default"] == parameter.default, argument


def test_artifacts_exist_and_hold_both_packages(entity: dict[str, Any]) -> None:
    dirs = _artifact_dirs(entity)
    assert all(d.is_dir() for d in dirs), dirs
    # Zipped relative to itself, each artifact's children become top-level imports.
    tops = {child.name for d in dirs for child in d.iterdir() if (child / "__init__.py").exists()}
    assert {"energy_integral", "energy_integral_snowflake"} <= tops


def test_runtime_is_a_python_snowflake_runs(entity: dict[str, Any]) -> None:
    assert str(entity["runtime"]) in {"3.9", "3.10", "3.11", "3.12", "3.13"}


def test_anaconda_packages_are_declared_where_the_cli_reads_them() -> None:
    lines = (REPO / "requirements.txt").read_text().splitlines()
    packages = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert packages == list(deploy.PACKAGES)
    assert packages == ["numpy", "scipy", "pandas", "snowflake-snowpark-python"]


def _zip_like_the_cli(source: Path, dest: Path) -> None:
    # snowflake-cli's zip_dir: every file below `source`, named relative to it,
    # without caches or compiled files.
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(source.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                archive.write(path, path.relative_to(source))


def test_handler_imports_from_the_built_archives_alone(
    entity: dict[str, Any], tmp_path: Path
) -> None:
    archives = []
    for directory in _artifact_dirs(entity):
        archive = tmp_path / f"{directory.name}.zip"
        _zip_like_the_cli(directory, archive)
        archives.append(str(archive))
    module_name, _, function_name = entity["handler"].rpartition(".")
    # A fresh interpreter with the archives first on sys.path, as Snowflake's IMPORTS
    # put them; the handler and the library must come from the archives.
    code = (
        "import sys; sys.path[:0] = sys.argv[1:]\n"
        f"import importlib; m = importlib.import_module({module_name!r})\n"
        f"assert callable(getattr(m, {function_name!r}))\n"
        "import energy_integral\n"
        "print(m.__file__); print(energy_integral.__file__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *archives],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    handler_file, library_file = done.stdout.split()
    assert handler_file.startswith(str(tmp_path / "procedure.zip"))
    assert library_file.startswith(str(tmp_path / "src.zip"))
