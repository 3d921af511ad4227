"""What is deployed, written once: the packages, the two archives and the three procedures.

A leaf module (it imports only :mod:`.schema`'s names and the standard
library: a dry run needs no Snowpark), so that the handlers, the UDTFs the
backfill registers at run time, the deploy code, ``setup.sql``'s tests and
``snowflake.yml``'s tests all read one list without importing each other.

**The archives.** ``snow snowpark build`` zips each artifact directory with
paths relative to it: ``src.zip`` holds ``energy_integral/`` and
``procedure.zip`` holds ``energy_integral_snowflake/``. The backfill and
reconcile procedures import ``@<stage>/src.zip`` and ``@<stage>/procedure.zip``
into their UDTFs by those names, so :func:`~.deploy.deploy` builds the same
two archives here (:func:`build_archives`) and puts them on the stage.

**The procedures.** Each one's ``snowflake.yml`` entity, SQL name, handler by
dotted path and signature. Each argument is ``(name, Snowflake type, SQL
default)``, in order: the handler's keyword arguments after ``session``.
"""

from __future__ import annotations

import importlib
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .schema import BACKFILL_PROCEDURE, DEFAULT_NAMES, RECONCILE_PROCEDURE, ObjectNames

__all__ = [
    "ARCHIVES",
    "BACKFILL",
    "INTEGRATE_STREAM",
    "PACKAGES",
    "PROCEDURES",
    "RECONCILE",
    "REGISTERED_PACKAGES",
    "Argument",
    "Procedure",
    "build_archives",
    "package_directories",
    "zip_dir",
]

#: Archive name on the stage of each package, as ``snow snowpark build`` names them.
ARCHIVES = {"energy_integral": "src.zip", "energy_integral_snowflake": "procedure.zip"}
#: Anaconda packages the procedure needs on Snowflake (the library's and the adapter's).
#: Here, not in :mod:`.deploy`: the UDTFs the backfill registers at run time need them.
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


#: ``(name, Snowflake type, SQL default)`` of one procedure argument.
Argument = tuple[str, str, str]

_POLICY: tuple[Argument, ...] = (
    ("MAX_GAP", "VARCHAR", "NULL"),
    ("ON_DUPLICATE", "VARCHAR", "'reject'"),
    ("MAX_POWER", "FLOAT", "NULL"),
)
_METHOD: Argument = ("METHOD", "VARCHAR", "'trapezoid'")


@dataclass(frozen=True)
class Procedure:
    """One stored procedure: ``snowflake.yml`` entity, SQL name, handler and signature.

    >>> INTEGRATE_STREAM.handler_path
    'energy_integral_snowflake.handler.integrate_stream'
    >>> " ".join(name for name, _, _ in INTEGRATE_STREAM.arguments)
    'METHOD MAX_GAP ON_DUPLICATE MAX_POWER'
    """

    entity: str
    name: str
    handler_path: str
    arguments: tuple[Argument, ...]
    comment: str

    @property
    def handler(self) -> Callable[..., str]:
        """The handler function itself (imported on first use)."""
        module, _, function = self.handler_path.rpartition(".")
        found: Callable[..., str] = getattr(importlib.import_module(module), function)
        return found

    def sql_name(self, names: ObjectNames = DEFAULT_NAMES) -> str:
        """The procedure's name under ``names`` (only the stream procedure's is configurable)."""
        return names.procedure if self.name == DEFAULT_NAMES.procedure else self.name


INTEGRATE_STREAM = Procedure(
    "integrate_stream", DEFAULT_NAMES.procedure,
    "energy_integral_snowflake.handler.integrate_stream", (_METHOD, *_POLICY),
    "energy_integral: integrate the stream into kWh exactly once",
)  # fmt: skip
BACKFILL = Procedure(
    "backfill_readings", BACKFILL_PROCEDURE, "energy_integral_snowflake.backfill.backfill",
    (_METHOD, ("START_TIME", "VARCHAR", "NULL"), ("END_TIME", "VARCHAR", "NULL"),
     ("METERS", "VARCHAR", "NULL"), ("CHUNK_BY_DAY", "BOOLEAN", "FALSE"), *_POLICY),
    "energy_integral: integrate a range of the source table per meter on the warehouse",
)  # fmt: skip
RECONCILE = Procedure(
    "reconcile_readings", RECONCILE_PROCEDURE, "energy_integral_snowflake.reconcile.reconcile",
    (_METHOD, *_POLICY),
    "energy_integral: restate the meters with late or corrected readings, audited",
)  # fmt: skip
#: Every procedure the adapter deploys, the stream procedure first.
PROCEDURES = (INTEGRATE_STREAM, BACKFILL, RECONCILE)
