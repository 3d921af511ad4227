"""The two archives the procedures import from the stage, built as the Snowflake CLI builds them.

``snow snowpark build`` zips each artifact directory with paths relative to it:
``src.zip`` holds ``energy_integral/`` and ``procedure.zip`` holds
``energy_integral_snowflake/``. The backfill and reconcile procedures import
``@<stage>/src.zip`` and ``@<stage>/procedure.zip`` into their UDTFs by those
names, so :func:`~.deploy.deploy` builds the same two archives here and puts
them on the stage. Only the standard library is used: a dry run needs no Snowpark.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

__all__ = [
    "ARCHIVES",
    "PACKAGES",
    "REGISTERED_PACKAGES",
    "build_archives",
    "package_directories",
    "zip_dir",
]

#: Archive name on the stage of each package, as ``snow snowpark build`` names them.
ARCHIVES = {"energy_integral": "src.zip", "energy_integral_snowflake": "procedure.zip"}
#: Anaconda packages the procedure needs on Snowflake (the library's and the adapter's).
#: Here, not in :mod:`.deploy`, because the UDTFs the backfill registers at run time
#: need them too, and runtime code never imports deploy code.
PACKAGES = ("numpy", "scipy", "pandas", "snowflake-snowpark-python")
#: :data:`PACKAGES` for what Snowpark registers from Python (procedures, UDTFs). Without
#: ``cloudpickle`` in the list, Snowpark adds ``cloudpickle>=<the local version>``, and a
#: deployer with a newer one than the Anaconda channel holds cannot create the procedure
#: (snowpark-python PR #4377); unpinned, the channel's own version is taken.
REGISTERED_PACKAGES = (*PACKAGES, "cloudpickle")


def package_directories() -> dict[str, Path]:
    """The directory of each package in :data:`ARCHIVES`, by import name."""
    import energy_integral

    return {
        "energy_integral": Path(energy_integral.__file__).resolve().parent,
        "energy_integral_snowflake": Path(__file__).resolve().parent,
    }


def zip_dir(source: Path, dest: Path, *, prefix: str = "") -> list[str]:
    """Zip every file below ``source`` into ``dest``, named ``prefix`` + its path from ``source``.

    As the Snowflake CLI's ``zip_dir``: caches (``__pycache__``) and compiled
    files (``.pyc``) are left out, so the archive holds the sources alone.

    Parameters
    ----------
    source : pathlib.Path
        Directory to zip.
    dest : pathlib.Path
        Archive to write (replaced if it exists).
    prefix : str, optional
        Directory the members are placed under inside the archive (``""``: the top).

    Returns
    -------
    list of str
        The member names written, sorted.
    """
    if not source.is_dir():
        raise NotADirectoryError(f"source={str(source)!r} is not a directory")
    names: list[str] = []
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(source.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                name = Path(prefix, path.relative_to(source)).as_posix()
                archive.write(path, name)
                names.append(name)
    return names


def build_archives(directory: Path) -> dict[str, Path]:
    """Write each archive of :data:`ARCHIVES` into ``directory``; return them by archive name.

    Each package is zipped under its import name (``energy_integral/...``), which
    is what zipping its parent artifact directory gives the CLI.
    """
    built: dict[str, Path] = {}
    for package, source in package_directories().items():
        dest = directory / ARCHIVES[package]
        zip_dir(source, dest, prefix=package)
        built[ARCHIVES[package]] = dest
    return built
