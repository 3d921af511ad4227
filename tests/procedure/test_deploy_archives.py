"""The two archives deploy puts on the stage, which the UDTFs import: built, put and whole."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from archive_imports import import_from_archives
from deploy_recording import RecordingSession

from energy_integral_snowflake import deploy
from energy_integral_snowflake.manifest import ARCHIVES, PROCEDURES, zip_dir
from energy_integral_snowflake.sql import DEFAULT_STAGE

REPO = Path(__file__).resolve().parents[2]


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
