"""The Snowflake adapter's CLI commands, added to ``energy-integral`` through an entry point.

``register(app)`` is named by the ``energy_integral.commands`` entry point in
``pyproject.toml``. Snowpark, pandas and the demo are imported inside the
command only, so ``energy-integral --help`` stays fast. The logic lives in
:mod:`.demo`; this module parses options and renders. Exit codes follow the
CLI's: 0 done, 1 the result did not check out, 2 a bad option.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from .procedure import RunSummary

__all__ = ["demo", "register"]


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
    for path in result.files:
        console.print(f"wrote {path}", highlight=False)
    if not result.ok:
        console.print("[red]The procedure's totals do not match a one-shot integration.[/red]")
        raise typer.Exit(1)
    console.print(
        f"[green]All {len(result.checks)} meters' totals equal a one-shot integration "
        "of their accepted readings: no kWh lost or counted twice.[/green]"
    )


def register(app: typer.Typer) -> None:
    """Add ``demo``, ``deploy``, ``backfill`` and ``reconcile`` to the ``energy-integral`` app."""
    app.command("demo")(demo)
    from .deploy_cli import register as register_deploy
    from .scaleout_cli import register as register_scaleout

    register_deploy(app)
    register_scaleout(app)
