"""``energy-integral deploy``: create the procedures and their objects on a Snowflake account.

Parses options and renders; the work is :func:`~.deploy.deploy`. Snowpark is
imported only when the command runs. Exit codes follow the CLI's: 0 done,
1 Snowflake refused a step, 2 a bad option or no usable connection.
"""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["deploy", "register"]


def deploy(
    connection: Annotated[
        str | None,
        typer.Option(
            "--connection",
            "-c",
            help="Connection name in connections.toml (default: the default connection).",
        ),
    ] = None,
    database: Annotated[str | None, typer.Option(help="Override the database.")] = None,
    schema: Annotated[str | None, typer.Option(help="Override the schema.")] = None,
    role: Annotated[str | None, typer.Option(help="Override the role.")] = None,
    warehouse: Annotated[str | None, typer.Option(help="Override the warehouse.")] = None,
    stage: Annotated[
        str,
        typer.Option(
            help="Stage for the procedures' code; a real deploy accepts only the default, "
            "which the backfill and reconcile UDTFs import from (--dry-run shows any)."
        ),
    ] = ("ENERGY_INTEGRAL_STAGE"),
    resume: Annotated[
        bool, typer.Option(help="Resume the task afterwards (it is created suspended).")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Print the SQL, archive uploads included, instead of connecting."
        ),
    ] = False,
) -> None:
    """Create tables, stream, procedures and task in Snowflake (setup.sql, via Snowpark).

    The procedures are INTEGRATE_STREAM (run by the task), BACKFILL_READINGS and
    RECONCILE_READINGS. Safe to run again: existing tables and the stream (with
    its offset) are kept, the procedures and the task are replaced.
    """
    from rich.console import Console

    from . import deploy as deploying
    from .schema import DEFAULT_NAMES

    console = Console()
    try:
        # setup.sql with the archives' PUTs where deploy uploads them.
        setup = deploying.setup_sql(DEFAULT_NAMES, stage)
    except ValueError as exc:
        console.print(f"[red]Error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    if dry_run:
        for statement in setup:
            # soft_wrap: a line broken at the terminal's width could end a -- comment early.
            console.print(f"{statement};\n", highlight=False, markup=False, soft_wrap=True)
        return

    try:
        session = deploying.connect(
            connection, database=database, schema=schema, role=role, warehouse=warehouse
        )
    except Exception as exc:  # connector errors have no common base worth naming
        console.print(f"[red]Could not connect:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    try:
        deploying.deploy(
            session,
            stage=stage,
            resume_task=resume,
            on_step=lambda step: console.print(f"  {step}", highlight=False, markup=False),
        )
    except Exception as exc:
        console.print(f"[red]Deploy stopped:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    finally:
        session.close()
    state = "running every minute" if resume else "suspended (see procedure/sql/task_manager.sql)"
    console.print(f"[green]Deployed.[/green] The task is {state}.")


def register(app: typer.Typer) -> None:
    """Add the ``deploy`` command to ``app``."""
    app.command("deploy")(deploy)
