"""Deploy the procedures from Python, for those without the Snowflake CLI.

:func:`deploy` runs ``setup.sql`` statement by statement (stage, tables,
stream, task) but registers each procedure through Snowpark instead of the
script's ``CREATE PROCEDURE``: :func:`register_procedure` uploads the two
packages (``energy_integral`` and this adapter) to the stage as imports and
declares the Anaconda packages they need, so nothing has to be built by hand.
Before the first registration :func:`upload_archives` puts ``src.zip`` and
``procedure.zip`` on the stage, as ``snow snowpark deploy`` does: the backfill
and reconcile procedures import those two archives into their UDTFs.
:data:`PROCEDURES` is the one list of them — SQL name, handler, signature —
that ``snowflake.yml`` and ``setup.sql`` are tested against.

With the Snowflake CLI, the same result comes from ``snowflake.yml`` at the
repository root::

    snow snowpark build && snow snowpark deploy --replace
    snow sql -f procedure/sql/setup.sql

Connections are read the standard way (:func:`connect`): a named connection
from ``connections.toml`` (in ``$SNOWFLAKE_HOME``, by default ``~/.snowflake``),
or the default one (``default_connection_name`` there, or the
``SNOWFLAKE_DEFAULT_CONNECTION_NAME`` environment variable).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .manifest import (
    ARCHIVES,
    PACKAGES,
    PROCEDURES,
    REGISTERED_PACKAGES,
    Procedure,
    build_archives,
    package_directories,
)
from .schema import (
    DEFAULT_NAMES,
    ObjectNames,
    _check_identifier,
    quote_identifier,
    snowpark_type,
)
from .sql import DEFAULT_STAGE, statements

__all__ = [
    "HANDLER",
    "PACKAGES",
    "PROCEDURES",
    "DeployReport",
    "Procedure",
    "connect",
    "deploy",
    "procedure_imports",
    "put_sql",
    "register_procedure",
    "setup_sql",
    "upload_archives",
]


#: The stream procedure's handler as Snowflake imports it.
HANDLER = PROCEDURES[0].handler_path

# All three run with the owner's rights, see the comment in setup.sql.
_EXECUTE_AS = "owner"
_RENAMEABLE = frozenset({"procedure", "task"})
_CREATE_PROCEDURE = re.compile(
    r'^\s*CREATE\s+(?:OR\s+REPLACE\s+)?PROCEDURE\s+("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)\s*\(',
    re.IGNORECASE,
)


@dataclass
class DeployReport:
    """What :func:`deploy` did, in order: SQL run, archives put and procedures registered."""

    steps: list[str] = field(default_factory=list)


def procedure_imports() -> list[tuple[str, str]]:
    """``(directory, import path)`` of the two packages the procedure imports.

    Snowpark zips each directory under its import path, so on Snowflake
    ``import energy_integral`` and ``import energy_integral_snowflake`` work as here.
    """
    return [(str(directory), package) for package, directory in package_directories().items()]


def upload_archives(session: Any, stage: str = DEFAULT_STAGE) -> list[str]:
    """Build ``src.zip`` and ``procedure.zip`` and put them on ``stage``, replacing older ones.

    The backfill and reconcile procedures import ``@<stage>/src.zip`` and
    ``@<stage>/procedure.zip`` into the UDTFs they run on the warehouse; the
    stage must exist (``setup.sql`` creates it).

    Parameters
    ----------
    session : snowflake.snowpark.Session
        A session on the stage's database and schema.
    stage : str, optional
        The stage, a plain identifier.

    Returns
    -------
    list of str
        One line per archive put, in the order of :data:`~.manifest.ARCHIVES`.
    """
    stage = _check_identifier("stage", stage)
    done = []
    with tempfile.TemporaryDirectory(prefix="energy_integral_archives_") as directory:
        built = build_archives(Path(directory))
        for package, archive in ARCHIVES.items():
            # Stored as built (no .gz added) under the name the IMPORTS clauses use.
            session.file.put(str(built[archive]), f"@{stage}", auto_compress=False, overwrite=True)
            done.append(f"put {archive} ({package}/) on @{stage}")
    return done


def put_sql(archive: str, stage: str = DEFAULT_STAGE) -> str:
    """The ``PUT`` that :func:`upload_archives` does for ``archive``, as SQL (for a dry run).

    >>> print(put_sql("src.zip", "my_stage"))
    -- src.zip: energy_integral/ zipped from the installed package
    PUT 'file://src.zip' @"MY_STAGE" AUTO_COMPRESS = FALSE OVERWRITE = TRUE
    """
    stage = _check_identifier("stage", stage)
    packages = [package for package, name in ARCHIVES.items() if name == archive]
    if not packages:
        raise ValueError(f"archive={archive!r} is not one of {list(ARCHIVES.values())}")
    return (
        f"-- {archive}: {packages[0]}/ zipped from the installed package\n"
        f"PUT 'file://{archive}' @{quote_identifier(stage)} AUTO_COMPRESS = FALSE OVERWRITE = TRUE"
    )


def setup_sql(names: ObjectNames = DEFAULT_NAMES, stage: str = DEFAULT_STAGE) -> list[str]:
    """What :func:`deploy` does, as SQL: ``setup.sql`` with the archives' PUTs in their place.

    The PUTs come right before the first ``CREATE PROCEDURE``, where :func:`deploy`
    uploads; :func:`deploy` registers the procedures through Snowpark instead of
    running those statements, to the same effect.
    """
    setup = statements("setup", names, stage)
    first = next(i for i, s in enumerate(setup) if _created_procedure(s, names) is not None)
    puts = [put_sql(archive, stage) for archive in ARCHIVES.values()]
    return setup[:first] + puts + setup[first:]


def _argument_types(procedure: Procedure) -> list[Any]:
    return [snowpark_type(sql_type) for _, sql_type, _ in procedure.arguments]


def register_procedure(
    session: Any,
    names: ObjectNames = DEFAULT_NAMES,
    stage: str = DEFAULT_STAGE,
    *,
    procedure: Procedure = PROCEDURES[0],
    permanent: bool = True,
) -> Any:
    """Register ``procedure``'s handler as that procedure (by default the stream's).

    Parameters
    ----------
    session : snowflake.snowpark.Session
        A session on the target database and schema.
    names : ObjectNames, optional
        Object names; only ``names.procedure`` is used here (the stream procedure's).
    stage : str, optional
        Stage for the uploaded imports (must exist; ``setup.sql`` creates it).
    procedure : Procedure, optional
        One of :data:`PROCEDURES`.
    permanent : bool, optional
        ``False`` registers a temporary procedure (for trying it in a session).

    Returns
    -------
    snowflake.snowpark.stored_procedure.StoredProcedure
        What ``session.sproc.register`` returns.
    """
    from snowflake.snowpark.types import StringType

    stage = _check_identifier("stage", stage)
    # The function is pickled by reference (module and name); the imports make that
    # module importable on Snowflake, so the deployed code is exactly these files.
    return session.sproc.register(
        procedure.handler,
        return_type=StringType(),
        input_types=_argument_types(procedure),
        name=procedure.sql_name(names),
        is_permanent=permanent,
        stage_location=f"@{stage}" if permanent else None,
        imports=procedure_imports(),
        packages=list(REGISTERED_PACKAGES),
        replace=True,
        execute_as=_EXECUTE_AS,
        preserve_parameter_names=True,
        comment=procedure.comment,
    )


def _created_procedure(statement: str, names: ObjectNames) -> Procedure | None:
    """The procedure a (rendered) ``CREATE PROCEDURE`` creates; None for other statements."""
    match = _CREATE_PROCEDURE.match(statement)
    if match is None:
        return None
    token = match.group(1)
    name = token[1:-1].replace('""', '"') if token.startswith('"') else token.upper()
    for procedure in PROCEDURES:
        if procedure.sql_name(names) == name:
            return procedure
    raise ValueError(f"setup.sql creates procedure {name!r}, which is not in PROCEDURES")


def deploy(
    session: Any,
    names: ObjectNames = DEFAULT_NAMES,
    stage: str = DEFAULT_STAGE,
    *,
    resume_task: bool = False,
    on_step: Callable[[str], None] | None = None,
) -> DeployReport:
    """Create every object of ``setup.sql`` in the session's database and schema.

    Safe to run again: tables, stage and stream are kept if they exist, the
    archives on the stage, the procedures and the task are replaced (the task then
    comes back suspended unless ``resume_task``). The archives are put on the stage
    (:func:`upload_archives`) once it exists, before the first procedure is registered.

    Parameters
    ----------
    session : snowflake.snowpark.Session
        A session on the target database and schema.
    names : ObjectNames, optional
        Object names (defaults: the seed system's).
    stage : str, optional
        Stage for the procedures' imports and the archives the UDTFs import.
    resume_task : bool, optional
        Resume the task at the end, so it starts running every minute.
    on_step : callable, optional
        Called with a one-line description after each step (for progress output).

    Returns
    -------
    DeployReport
        The steps done, in order.
    """
    _check_handler_names(names)
    if _check_identifier("stage", stage) != _check_identifier("stage", DEFAULT_STAGE):
        # The scale-out procedures build their UDTFs with imports from the default
        # stage (they take no stage argument); elsewhere they would fail at run time.
        raise ValueError(
            f"stage={stage!r}: BACKFILL_READINGS and RECONCILE_READINGS import their code "
            f"from @{DEFAULT_STAGE}; deploy to that stage"
        )
    report = DeployReport()

    def done(step: str) -> None:
        report.steps.append(step)
        if on_step is not None:
            on_step(step)

    uploaded = False
    for statement in statements("setup", names, stage):
        procedure = _created_procedure(statement, names)
        if procedure is not None:
            if not uploaded:  # setup.sql creates the stage before any procedure
                for step in upload_archives(session, stage):
                    done(step)
                uploaded = True
            register_procedure(session, names, stage, procedure=procedure)
            done(f"registered procedure {procedure.sql_name(names)} "
                 f"(handler {procedure.handler_path})")  # fmt: skip
        else:
            session.sql(statement).collect()
            done(_summary(statement))
    if resume_task:
        session.sql(f"ALTER TASK {quote_identifier(names.task)} RESUME").collect()
        done(f"resumed task {names.task}")
    return report


def _check_handler_names(names: ObjectNames) -> None:
    # The handler opens its tables under the default names (it takes no names as
    # arguments), so only the procedure, the task and the stage may be renamed here.
    for role in (f.name for f in fields(ObjectNames) if f.name not in _RENAMEABLE):
        if getattr(names, role) != getattr(DEFAULT_NAMES, role):
            raise ValueError(
                f"names.{role}={getattr(names, role)!r}: the procedure reads and writes "
                f"{getattr(DEFAULT_NAMES, role)!r}; only the procedure, task and stage "
                "names can differ from the defaults when deploying"
            )


def _summary(statement: str) -> str:
    # "CREATE TABLE IF NOT EXISTS "X" (..." -> "CREATE TABLE IF NOT EXISTS "X""
    return statement.split("(", 1)[0].split("\n", 1)[0].strip()


def connect(connection: str | None = None, **overrides: str | None) -> Any:
    """A Snowpark session from ``connections.toml``.

    Parameters
    ----------
    connection : str, optional
        Connection name in ``connections.toml``; the default connection if omitted.
    **overrides : str or None
        Connection parameters that replace the file's (``database``, ``schema``,
        ``role``, ``warehouse``, ...); ``None`` values are ignored.

    Returns
    -------
    snowflake.snowpark.Session
    """
    from snowflake.snowpark import Session

    options = {k: v for k, v in overrides.items() if v is not None}
    if connection is None and not options:
        # No options at all: Snowpark reads the default connection itself.
        return Session.builder.create()
    if connection is None:
        from snowflake.connector.config_manager import CONFIG_MANAGER

        connection = str(CONFIG_MANAGER["default_connection_name"])
    return Session.builder.configs({"connection_name": connection, **options}).create()
