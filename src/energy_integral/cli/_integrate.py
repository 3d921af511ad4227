"""``energy-integral integrate``: a readings file in, energy per meter (or per interval) out.

Arguments are parsed and checked here; the work is :func:`open_readings` and
:func:`integrate_chunks` from the library; results are rendered by ``_output``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from .. import quality as q
from ..calendar import resolve_time_zone
from ..chunked import ChunkedResult, integrate_chunks
from ..errors import (
    BucketLimitError,
    EnergyIntegralError,
    InvalidArgumentError,
    InvalidTypeError,
    MeterIdError,
    ReadingsFileError,
    UnreadableFileError,
)
from ..filereader import DEFAULT_CHUNK_ROWS, open_readings
from ..interval_result import IntervalEnergy
from ..intervals import EXTRAPOLATE
from ..quality import Rejections
from ..registry import get_strategy
from ..timestamps import as_datetime64, to_duration_ns
from ..units import validate_units
from ._output import (
    TableWriter,
    check_out_path,
    err_console,
    fail,
    meter_order,
    plural,
    show_frame,
    warn,
    write_frame,
    write_table,
)

__all__ = ["integrate", "register"]

_DEFAULT_METER = "METER_ID"


def _check_options(method: str, power_unit: str, energy_unit: str, **durations: Any) -> None:
    """Turn a bad option into a usage error (exit 2) naming it, before any reading."""
    checks: list[tuple[str, Any]] = [
        ("--method", lambda: get_strategy(method)),
        ("--power-unit/--energy-unit", lambda: validate_units(power_unit, energy_unit)),
    ]
    for option, value in durations.items():
        if value is not None and option != "tz":
            checks.append(
                (f"--{option.replace('_', '-')}", lambda v=value, o=option: to_duration_ns(v, o))
            )
    checks.append(("--tz", lambda: resolve_time_zone(durations.get("tz"))))
    for option, check in checks:
        try:
            check()
        except (EnergyIntegralError, ValueError, TypeError) as exc:
            raise typer.BadParameter(str(exc), param_hint=option) from None


def _choice(option: str, value: str | None, choices: tuple[str, ...]) -> None:
    if value is not None and value not in choices:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(choices)}", param_hint=option)


def _instant(option: str, text: str | None) -> np.datetime64 | None:
    """``--start``/``--end`` as UTC ``datetime64[ns]``: ISO 8601, naive is UTC."""
    if text is None:
        return None
    import pandas as pd

    try:
        when = pd.Timestamp(text)
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not a time: {exc}", param_hint=option) from None
    if pd.isna(when):
        raise typer.BadParameter(f"{text!r} is not a time", param_hint=option)
    if when.tzinfo is not None:
        when = when.tz_convert("UTC").tz_localize(None)
    return np.datetime64(int(when.value), "ns")


def _check_window(
    every: str | None,
    start: str | None,
    end: str | None,
    extrapolate: str | None,
) -> tuple[np.datetime64 | None, np.datetime64 | None]:
    """The interval window's options, checked against each other before any reading."""
    for option, value in (("--start", start), ("--end", end), ("--extrapolate", extrapolate)):
        if value is not None and every is None:
            raise typer.BadParameter("needs --every (it shapes the intervals)", param_hint=option)
    _choice("--extrapolate", extrapolate, EXTRAPOLATE)
    if extrapolate is not None and start is None and end is None:
        raise typer.BadParameter("needs --start or --end to extend to", param_hint="--extrapolate")
    lo, hi = _instant("--start", start), _instant("--end", end)
    if lo is not None and hi is not None and hi <= lo:
        raise typer.BadParameter(f"{end!r} is not after --start {start!r}", param_hint="--end")
    return lo, hi


def _rejections_table(bad: Rejections) -> Any:
    import pyarrow as pa

    meter = pa.array(bad.meter, from_pandas=True)
    return pa.table(
        {
            "row": pa.array(bad.row, pa.int64()),
            "meter": meter if pa.types.is_string(meter.type) else meter.cast(pa.string()),
            "timestamp": pa.array(bad.timestamp, pa.timestamp("ns")),
            "power": pa.array(bad.power, pa.float64()),
            "reason": pa.array(bad.reason.astype(str), pa.string()),
            "detail": pa.array(bad.detail.astype(str), pa.string()),
        }
    )


def _write(writer: TableWriter, bad: Rejections) -> None:
    writer.write(_rejections_table(bad))


def _rejections_writer(path: Path) -> TableWriter:
    import pyarrow as pa

    schema = pa.schema(
        [
            ("row", pa.int64()),
            ("meter", pa.string()),
            ("timestamp", pa.timestamp("ns")),
            ("power", pa.float64()),
            ("reason", pa.string()),
            ("detail", pa.string()),
        ]
    )
    return TableWriter(path, schema)


@contextmanager
def _progress(enabled: bool) -> Iterator[Any]:
    """A progress bar on stderr (only on a terminal); yields the update callback."""
    columns = (
        TextColumn("integrating"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%  {task.fields[rows]:,} rows"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console, transient=True, disable=not enabled) as bar:
        task = bar.add_task("integrate", total=1.0, rows=0)

        def update(done: float, rows: int) -> None:
            bar.update(task, completed=done, rows=rows)

        yield update


def _summary_frame(result: ChunkedResult, energy_unit: str) -> Any:
    import pandas as pd

    meters = list(result.states)
    states = list(result.states.values())
    return pd.DataFrame(
        {
            "meter": [str(m) for m in meters],
            "first": as_datetime64([s.first_ts or 0 for s in states]),
            "last": as_datetime64([s.last_ts or 0 for s in states]),
            "samples": np.array([s.count for s in states], dtype=np.int64),
            f"energy_{energy_unit}": np.array([s.energy for s in states], dtype=np.float64),
        }
    )


def _intervals(result: ChunkedResult, energy_unit: str, power_unit: str) -> IntervalEnergy:
    """The buckets in the order they are shown and written: by meter, then time."""
    # No rows at all (a header-only file): no buckets, but the columns all the same.
    intervals = result.intervals or IntervalEnergy.empty(energy_unit, power_unit)
    order = None if intervals.meter is None else meter_order(intervals.meter)
    return intervals if order is None else intervals.take(order)


def _unit_names(energy_unit: str, power_unit: str) -> dict[str, str]:
    """The interval columns' names with their units."""
    units = {name: f"{name}_{energy_unit}" for name in ("energy", "energy_min", "energy_max")}
    units["mean_power"] = f"mean_power_{power_unit}"
    return units


def _report(result: ChunkedResult, energy_unit: str) -> None:
    reasons = ", ".join(f"{reason} {n:,}" for reason, n in sorted(result.rejected.items()))
    err_console.print(
        f"Integrated {result.rows - result.n_rejected:,} of {result.rows:,} rows "
        f"from {plural(len(result.states), 'meter')}: {result.total:,.6g} {energy_unit}.",
        highlight=False,
    )
    err_console.print(
        f"Rejected: {result.n_rejected:,} rows" + (f" ({reasons})" if reasons else ""),
        highlight=False,
    )
    if result.gaps:
        err_console.print(f"Gaps longer than --max-gap (no energy): {result.gaps:,}")


def integrate(
    readings: Annotated[
        Path, typer.Argument(help="CSV file, Parquet file, or directory of Parquet files.")
    ],
    meter: Annotated[
        str | None,
        typer.Option(help="Meter id column (default: METER_ID if present, else one series)."),
    ] = None,
    time: Annotated[str, typer.Option(help="Timestamp column (UTC unless it has offsets).")] = (
        "TIMESTAMP"
    ),
    power: Annotated[str, typer.Option(help="Power column.")] = "KW",
    method: Annotated[str, typer.Option(help="Strategy; see `energy-integral strategies`.")] = (
        "trapezoid"
    ),
    power_unit: Annotated[str, typer.Option(help="Unit of the power column.")] = "kW",
    energy_unit: Annotated[str, typer.Option(help="Unit of the energy out.")] = "kWh",
    max_gap: Annotated[
        str | None, typer.Option(help="Longer intervals add no energy, e.g. 15min.")
    ] = None,
    every: Annotated[
        str | None,
        typer.Option(
            help="Energy per interval of this length, e.g. 15min, 1h, 1D. Per bucket: energy "
            "with its bounds, mean power, samples, covered (share of the bucket with data), "
            "extrapolated and largest_gap (its longest interval over --max-gap, which adds "
            "no energy; 0:00:00 without --max-gap)."
        ),
    ] = None,
    tz: Annotated[
        str | None, typer.Option(help="IANA time zone for --every edges, e.g. Europe/Berlin.")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(help="With --every: intervals from this time (ISO 8601; naive is UTC)."),
    ] = None,
    end: Annotated[
        str | None, typer.Option(help="With --every: intervals up to this time (excluded).")
    ] = None,
    extrapolate: Annotated[
        str | None,
        typer.Option(
            help="Extend each meter to --start/--end: locf (hold the last power) or linear."
        ),
    ] = None,
    on_invalid: Annotated[
        str,
        typer.Option(help="Invalid rows: reject, or gap (also no energy around invalid power)."),
    ] = "reject",
    on_duplicate: Annotated[
        str,
        typer.Option(help="Rows of one meter at one time: reject, last, mean or step."),
    ] = "reject",
    out: Annotated[
        Path | None, typer.Option(help="Write results to .csv/.parquet instead of a table.")
    ] = None,
    rejected: Annotated[
        Path | None, typer.Option(help="Write rejected rows with their reason to .csv/.parquet.")
    ] = None,
    strict: Annotated[bool, typer.Option(help="Exit with 1 if any row was rejected.")] = False,
    chunk_rows: Annotated[
        int, typer.Option(min=1, help="Rows read at a time; memory grows with it.")
    ] = DEFAULT_CHUNK_ROWS,
    progress: Annotated[
        bool | None, typer.Option(help="Progress bar (default: on a terminal).")
    ] = None,
) -> None:
    """Integrate power readings per meter: total energy, or energy per interval with --every.

    The file is read in chunks carrying each meter's state, so its size is not
    limited by memory. Rows are expected in delivery order: a row older than a
    reading of its meter in an earlier chunk is rejected as late. Rejected rows
    (invalid, late, duplicate) are counted, never dropped silently.
    """
    check_out_path(out, "--out")
    check_out_path(rejected, "--rejected")
    if tz is not None and every is None:
        raise typer.BadParameter(
            "needs --every (the time zone places the interval edges)", param_hint="--tz"
        )
    _check_options(method, power_unit, energy_unit, max_gap=max_gap, every=every, tz=tz)
    _choice("--on-invalid", on_invalid, tuple(c for c in q.ON_INVALID if c != "raise"))
    _choice("--on-duplicate", on_duplicate, tuple(c for c in q.ON_DUPLICATE if c != "raise"))
    if every is not None and on_duplicate == "mean":
        raise typer.BadParameter(
            "mean merges rows into one sample that --every cannot split; use reject, last or step",
            param_hint="--on-duplicate",
        )
    window_start, window_end = _check_window(every, start, end, extrapolate)
    try:
        source = open_readings(readings, meter=None, time=time, power=power, chunk_rows=chunk_rows)
        if meter is not None or _DEFAULT_METER in source.columns:
            source = open_readings(
                readings, meter=meter or _DEFAULT_METER, time=time, power=power,
                chunk_rows=chunk_rows,
            )  # fmt: skip
    except UnreadableFileError as exc:  # the file's content: the data, not the call
        raise fail(str(exc), 1) from None
    except ReadingsFileError as exc:
        raise fail(str(exc), 2) from None
    writer = None if rejected is None else _rejections_writer(rejected)
    show = err_console.is_terminal if progress is None else progress
    try:
        with _progress(show) as update:
            result = integrate_chunks(
                source.chunks(), method=method, power_unit=power_unit, energy_unit=energy_unit,
                max_gap=max_gap, every=every, tz=tz, start=window_start, end=window_end,
                extrapolate=extrapolate, on_invalid=on_invalid, on_duplicate=on_duplicate,
                on_progress=update,
                on_rejected=None if writer is None else lambda bad: _write(writer, bad),
            )  # fmt: skip
    except BucketLimitError as exc:
        raise fail(f"--every: {exc}", 2) from None
    except (InvalidArgumentError, InvalidTypeError) as exc:
        if isinstance(exc, MeterIdError):  # ids in the file, not an option
            raise fail(f"{readings}: {exc}", 1) from None
        raise fail(str(exc), 2) from None
    except ReadingsFileError as exc:  # a value in the file: the data, not the call
        raise fail(str(exc), 1) from None
    except EnergyIntegralError as exc:  # times out of range, overflow, …: the data
        raise fail(f"{readings}: {exc}", 1) from None
    finally:
        if writer is not None:
            writer.close()
    what = "Energy per meter" if every is None else f"Energy per {every}"
    title = f"{what} ({energy_unit}) from {readings}"
    if every is None:
        frame = _summary_frame(result, energy_unit)
        rows = len(frame)
        if out is None:
            show_frame(frame, title)
        else:
            write_frame(frame, out)
    else:  # edges in the buckets' own zone
        intervals = _intervals(result, energy_unit, power_unit)
        units = _unit_names(energy_unit, power_unit)
        rows = len(intervals)
        if out is None:
            show_frame(intervals.to_pandas().rename(columns=units), title)
        else:  # straight to Arrow: no pandas frame of every bucket on the way
            table = intervals.to_arrow()
            write_table(table.rename_columns([units.get(n, n) for n in table.column_names]), out)
    if out is not None:
        err_console.print(f"Wrote {rows:,} rows to {out}")
    _report(result, energy_unit)
    if rejected is not None:
        err_console.print(f"Rejected rows written to {rejected}")
    if strict and result.n_rejected:
        warn("--strict: rows were rejected")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the ``integrate`` command to ``app``."""
    app.command("integrate")(integrate)
