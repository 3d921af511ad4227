"""``energy-integral backfill`` and ``energy-integral reconcile``: call the procedures on Snowflake.

Parses options and renders; the work runs on the warehouse, in the deployed
``BACKFILL_READINGS`` / ``RECONCILE_READINGS`` procedures (handlers
:func:`.backfill.backfill` and :func:`.reconcile.reconcile`). Values travel
as bind parameters. Exit codes follow the CLI's: 0 done, 1 the procedure
reported an error, 2 a bad option or no usable connection.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Any

import typer

from .schema import BACKFILL_PROCEDURE, RECONCILE_PROCEDURE

__all__ = ["BACKFILL_PROCEDURE", "RECONCILE_PROCEDURE", "call_sql", "register"]

Connection = Annotated[
    str | None, typer.Option("--connection", "-c", help="Connection name in connections.toml.")
]
Method = Annotated[str, typer.Option(help="Integration method (the stream procedure's).")]
MaxGap = Annotated[str | None, typer.Option(help="Intervals longer than this add no energy.")]
OnDuplicate = Annotated[str, typer.Option(help="reject, last or mean.")]
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
    """Add the ``backfill`` and ``reconcile`` commands to ``app``."""
    app.command("backfill")(backfill)
    app.command("reconcile")(reconcile)
