"""The Snowflake adapter's CLI commands: ``demo``, ``deploy``, ``backfill`` and ``reconcile``.

``register(app)`` is named by the ``energy_integral.commands`` entry point in
``pyproject.toml``. Snowpark, pandas and the engines are imported inside the
commands only, so ``energy-integral --help`` stays fast. This module parses
options and renders; the logic lives in :mod:`.demo`, :mod:`.deploy` and, for
backfill and reconcile, in the deployed procedures (handlers
:func:`.backfill.backfill` and :func:`.reconcile.reconcile`; values travel as
bind parameters). Exit codes follow the CLI's: 0 done, 1 the result did not
check out (a refused step, an error the procedure reported), 2 a bad option
or no usable connection.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .schema import BACKFILL_PROCEDURE, RECONCILE_PROCEDURE

if TYPE_CHECKING:
    from .procedure import RunSummary

__all__ = ["backfill", "call_sql", "demo", "deploy", "reconcile", "register"]


def _tick_line(table: Any, tick: int, inserted: int, summary: RunSummary | None) -> None:
    if summary is None:
        table.add_row(str(tick + 1), f"{inserted}", "-", "-", "-", "-", "stream empty: skipped")
        return
    done = summary.integrated
    table.add_row(
        str(tick + 1),
        f"{inserted}",
        ", ".join(str(b["batch_id"]) for b in done) or "-",
        f"{sum(b['rows_integrated'] for b in done)}",
        f"{sum(b['rows_rejected'] for b in done)}",
        f"{summary.kwh_added:.6f}",
        summary.status if summary.status == "ok" else f"[red]{summary.message}[/red]",
    )


def demo(
    meters: Annotated[int, typer.Option(min=1, help="Number of meters.")] = 5,
    ticks: Annotated[int, typer.Option(min=1, help="Task runs, one per simulated minute.")] = 8,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same run.")] = 0,
    out: Annotated[
        Path | None, typer.Option(help="Directory for the tables as CSV and a PNG.")
    ] = None,
    method: Annotated[str, typer.Option(help="Integration method of the procedure.")] = (
        "trapezoid"
    ),
) -> None:
    """Run the stream → task → procedure loop on an embedded DuckDB database (no account needed).

    Each tick inserts a minute of readings (some late, duplicated or invalid)
    into RANDOM_VALUES and runs the task; at the end every meter's cumulative
    kWh is checked against a one-shot integration of its accepted readings.
    """
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table

    import energy_integral as ei

    console = Console()
    if out is not None:  # the PNG's package, before a table is drawn or a file written
        ei.plotting.require_matplotlib()  # MissingExtraError: the CLI's one line, exit 2
    try:
        ei.get_strategy(method)
    except ei.EnergyIntegralError as exc:
        console.print(f"[red]Error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    try:
        from . import embedded
        from .demo import run_demo

        session = embedded.connect()
    except ImportError as exc:
        console.print(
            f"[red]Error:[/red] the demo needs {exc.name}; "
            "install it with: pip install 'energy-integral[snowflake]'"
        )
        raise typer.Exit(2) from None

    console.print(f"Running on {embedded.describe(session)}.", highlight=False)
    table = Table(title=f"integrate_stream, embedded: {meters} meters, {method}")
    for name in ("tick", "rows in", "batch", "integrated", "rejected", "kWh added", "status"):
        table.add_column(name, justify="left" if name == "status" else "right")
    with Live(table, console=console, auto_refresh=False) as live:

        def on_tick(tick: int, inserted: int, summary: RunSummary | None) -> None:
            _tick_line(table, tick, inserted, summary)
            live.refresh()

        result = run_demo(meters, ticks, seed, method, out, on_tick, session)
    console.print()  # off a terminal, Live leaves the cursor right after the table

    checks = Table(title="last CUMULATIVE_KWH against a one-shot ei.integrate")
    for name in ("meter", "procedure kWh", "one-shot kWh", ""):
        checks.add_column(name, justify="right")
    for c in result.checks:
        mark = "[green]equal[/green]" if c.ok else "[red]DIFFERS[/red]"
        checks.add_row(c.meter, f"{c.procedure_kwh:.9f}", f"{c.oneshot_kwh:.9f}", mark)
    console.print(checks)
    for written in result.files:
        note = f" (header only: {written.empty_because})" if written.empty_because else ""
        console.print(f"wrote {written.path}{note}", highlight=False)
    if not result.ok:
        console.print("[red]The procedure's totals do not match a one-shot integration.[/red]")
        raise typer.Exit(1)
    console.print(
        f"[green]All {len(result.checks)} meters' totals equal a one-shot integration "
        "of their accepted readings: no kWh lost or counted twice.[/green]"
    )


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


Connection = Annotated[
    str | None, typer.Option("--connection", "-c", help="Connection name in connections.toml.")
]
Method = Annotated[str, typer.Option(help="Integration method (the stream procedure's).")]
MaxGap = Annotated[str | None, typer.Option(help="Intervals longer than this add no energy.")]
OnDuplicate = Annotated[str, typer.Option(help="reject, last, mean or step.")]
MaxPower = Annotated[float | None, typer.Option(help="Quarantine readings above this |kW|.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Print the CALL instead of running it.")]


def call_sql(procedure: str, arguments: Sequence[tuple[str, Any]]) -> tuple[str, list[Any]]:
    """``CALL procedure(NAME => ?, ...)`` and its bind values.

    >>> call_sql("RECONCILE_READINGS", [("METHOD", "left")])
    ('CALL "RECONCILE_READINGS"("METHOD" => ?)', ['left'])
    """
    from .schema import quote_identifier

    named = ", ".join(f"{quote_identifier(name)} => ?" for name, _ in arguments)
    return f"CALL {quote_identifier(procedure)}({named})", [v for _, v in arguments]


def _run(procedure: str, arguments: Sequence[tuple[str, Any]], connection: str | None,
         dry_run: bool) -> None:  # fmt: skip
    from rich.console import Console

    console = Console()
    sql, params = call_sql(procedure, arguments)
    if dry_run:
        console.print(f"{sql};  -- binds: {params}", highlight=False, markup=False, soft_wrap=True)
        return
    from .deploy import connect

    try:
        session = connect(connection)
    except Exception as exc:  # connector errors have no common base worth naming
        console.print(f"[red]Could not connect:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    try:
        answer = session.sql(sql, params=params).collect()[0][0]
    finally:
        session.close()
    summary = json.loads(answer)
    console.print_json(answer)
    if summary.get("status") != "ok":
        raise typer.Exit(1)


def backfill(
    start: Annotated[str | None, typer.Option(help="Range start (UTC), e.g. 2025-01-01.")] = None,
    end: Annotated[str | None, typer.Option(help="Range end (UTC), inclusive.")] = None,
    meter: Annotated[
        list[str] | None, typer.Option("--meter", "-m", help="A meter to backfill (repeat).")
    ] = None,
    chunk_by_day: Annotated[
        bool, typer.Option(help="Integrate each (meter, day) apart and combine the states.")
    ] = False,
    method: Method = "trapezoid",
    max_gap: MaxGap = None,
    on_duplicate: OnDuplicate = "reject",
    max_power: MaxPower = None,
    connection: Connection = None,
    dry_run: DryRun = False,
) -> None:
    """Integrate a range of RANDOM_VALUES per meter on the warehouse (BACKFILL_READINGS).

    Each meter is one partition of the warehouse; the result continues the
    stored results and hands over to the stream task at --end.
    """
    if meter and any("," in m for m in meter):
        typer.echo(f"Error: --meter={meter} holds a comma; give one meter per --meter", err=True)
        raise typer.Exit(2)
    arguments = [
        ("METHOD", method), ("START_TIME", start), ("END_TIME", end),
        ("METERS", ",".join(meter) if meter else None), ("CHUNK_BY_DAY", chunk_by_day),
        ("MAX_GAP", max_gap), ("ON_DUPLICATE", on_duplicate), ("MAX_POWER", max_power),
    ]  # fmt: skip
    _run(BACKFILL_PROCEDURE, arguments, connection, dry_run)


def reconcile(
    method: Method = "trapezoid",
    max_gap: MaxGap = None,
    on_duplicate: OnDuplicate = "reject",
    max_power: MaxPower = None,
    connection: Connection = None,
    dry_run: DryRun = False,
) -> None:
    """Restate the meters with late or corrected readings (RECONCILE_READINGS), with an audit."""
    arguments = [("METHOD", method), ("MAX_GAP", max_gap), ("ON_DUPLICATE", on_duplicate),
                 ("MAX_POWER", max_power)]  # fmt: skip
    _run(RECONCILE_PROCEDURE, arguments, connection, dry_run)


def register(app: typer.Typer) -> None:
    """Add ``demo``, ``deploy``, ``backfill`` and ``reconcile`` to the ``energy-integral`` app."""
    for name, command in (("demo", demo), ("deploy", deploy), ("backfill", backfill),
                          ("reconcile", reconcile)):  # fmt: skip
        app.command(name)(command)
