"""Tables in, tables out: :func:`integrate_frame` for pandas, polars and pyarrow."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import numpy.typing as npt

from ._extras import library_of
from .errors import InvalidArgumentError, InvalidTypeError
from .fleet import FleetResult, integrate_meters

__all__ = ["column_values", "integrate_frame"]


def _library(frame: Any) -> str:
    module = library_of(frame)
    if module not in ("pandas", "polars", "pyarrow"):
        raise InvalidTypeError(
            f"frame is a {type(frame).__name__}; expected a pandas or polars DataFrame "
            "or a pyarrow Table"
        )
    return module


def _columns(frame: Any) -> list[str]:
    return [
        str(c) for c in (frame.column_names if hasattr(frame, "column_names") else frame.columns)
    ]


def column_values(frame: Any, name: str, argument: str) -> Any:
    """Column ``name`` of a pandas/polars/pyarrow table, as that library's column, or an
    :class:`~energy_integral.errors.InvalidArgumentError` naming the argument and the
    columns that exist.

    The column is handed on as it is, so that the library's checked conversions
    (:func:`~energy_integral.timestamps.to_ns`, exact nullable integer ids) see its
    real type: ``to_numpy()`` would turn nullable integers into float64 and
    coarse timestamps into wrapped nanoseconds.
    """
    columns = _columns(frame)
    if name not in columns:
        raise InvalidArgumentError(
            f"{argument}={name!r} is not a column of the frame; it has: {', '.join(columns)}"
        )
    return frame.column(name) if _library(frame) == "pyarrow" else frame[name]


def _with_columns(frame: Any, columns: dict[str, npt.NDArray[Any]]) -> Any:
    library = _library(frame)
    if library == "pandas":
        return frame.assign(**columns)
    if library == "polars":
        import polars as pl

        return frame.with_columns([pl.Series(k, v) for k, v in columns.items()])
    import pyarrow as pa

    for name, values in columns.items():
        frame = frame.append_column(name, pa.array(values))
    return frame


def integrate_frame(
    frame: Any,
    *,
    meter: str | None = "METER_ID",
    time: str = "TIMESTAMP",
    power: str = "KW",
    energy_unit: str = "kWh",
    **kwargs: Any,
) -> FleetResult:
    """:func:`integrate_meters` on the columns of a table; the result's ``frame`` is the
    table (same library) with four columns added: ``INTERVAL_<UNIT>``,
    ``CUMULATIVE_<UNIT>`` (e.g. ``INTERVAL_KWH``), ``ACCEPTED`` and ``REASON``.

    The column names default to those of :func:`generate_readings`, the CLI
    and the Snowflake tables: ``METER_ID``, ``TIMESTAMP``, ``KW``.
    ``meter=None`` treats the whole table as one series (meter id ``"default"``).
    Other keyword arguments go to :func:`integrate_meters`.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"TIMESTAMP": pd.to_datetime(["2026-01-01 00:00", "2026-01-01 01:00"]),
    ...                    "KW": [2.0, 2.0]})
    >>> integrate_frame(df, meter=None).frame["CUMULATIVE_KWH"].tolist()
    [0.0, 2.0]
    """
    _library(frame)
    timestamps = column_values(frame, time, "time")
    values = column_values(frame, power, "power")
    if meter is None:
        meter_ids: npt.NDArray[Any] = np.full(len(timestamps), "default", dtype=object)
    else:
        meter_ids = column_values(frame, meter, "meter")
    result = integrate_meters(meter_ids, timestamps, values, energy_unit=energy_unit, **kwargs)
    unit = energy_unit.upper()
    added = {
        f"INTERVAL_{unit}": result.increments,
        f"CUMULATIVE_{unit}": result.cumulative,
        "ACCEPTED": result.accepted,
        "REASON": result.reason.astype(str),
    }
    return dataclasses.replace(result, frame=_with_columns(frame, added))
