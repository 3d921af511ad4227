"""``energy-integral generate``: synthetic readings to a CSV or Parquet file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import EnergyIntegralError, TimeRangeError
from ..synthetic import generate_readings
from ._output import check_out_path, err_console, fail, plural, write_frame

__all__ = ["generate", "register"]


def generate(
    out: Annotated[Path, typer.Argument(help="File to write: .csv or .parquet.")],
    meters: Annotated[int, typer.Option(help="Number of meters.")] = 3,
    periods: Annotated[int, typer.Option(help="Readings per meter (before outages).")] = 60,
    cadence: Annotated[str, typer.Option(help="Nominal spacing, e.g. 1min, 15s.")] = "1min",
    start: Annotated[str, typer.Option(help="First reading, ISO 8601 (UTC).")] = (
        "2026-01-01T00:00"
    ),
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same file.")] = 0,
    late_fraction: Annotated[float, typer.Option(help="Share of rows delivered late.")] = 0.0,
    duplicate_fraction: Annotated[
        float, typer.Option(help="Share of rows that get a duplicate.")
    ] = 0.0,
    invalid_fraction: Annotated[
        float, typer.Option(help="Share of rows with NaN/inf power.")
    ] = 0.0,
    outages: Annotated[int, typer.Option(help="Holes without readings, per meter.")] = 0,
    meter_prefix: Annotated[str, typer.Option(help="Prefix of the meter ids.")] = "meter-",
    meter: Annotated[str, typer.Option(help="Name of the meter column.")] = "METER_ID",
    time: Annotated[str, typer.Option(help="Name of the time column.")] = "TIMESTAMP",
    power: Annotated[str, typer.Option(help="Name of the power (kW) column.")] = "KW",
) -> None:
    """Write synthetic kW readings of a few household meters (some with solar) to a file."""
    check_out_path(out, "OUT")
    try:
        readings = generate_readings(
            meters, start=start, periods=periods, cadence=cadence, seed=seed,
            late_fraction=late_fraction, duplicate_fraction=duplicate_fraction,
            invalid_fraction=invalid_fraction, outages=outages, meter_prefix=meter_prefix,
        )  # fmt: skip
    except TimeRangeError as exc:  # the dates the options ask for do not exist in int64 ns
        raise fail(f"--start/--periods/--cadence: {exc}", 2) from None
    except EnergyIntegralError as exc:
        raise fail(str(exc), 2) from None
    write_frame(readings.to_pandas(meter=meter, time=time, power=power), out)
    err_console.print(
        f"Wrote {plural(len(readings), 'reading')} of {plural(meters, 'meter')} to {out}"
    )


def register(app: typer.Typer) -> None:
    """Add the ``generate`` command to ``app``."""
    app.command("generate")(generate)
