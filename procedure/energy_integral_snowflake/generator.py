"""Insert synthetic readings into the source table through any session that runs SQL.

The counterpart of the seed system's random data generator; the readings
themselves come from :func:`energy_integral.generate_readings` (daily load
shape, solar export, noise, optional late rows, duplicates, invalid power and
outages). Works the same on the embedded engine and on Snowflake.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import energy_integral as ei

from ._values import py_times
from .schema import DEFAULT_NAMES, ObjectNames, tables
from .statements import run, transaction, write_rows_sql

__all__ = ["insert_readings", "next_id"]


def next_id(session: Any, names: ObjectNames = DEFAULT_NAMES) -> int:
    """The first unused ``ID`` of the source table (1 when it is empty)."""
    source = tables(names).source
    return int(run(session, f'SELECT COALESCE(MAX("ID"), 0) + 1 FROM {source.quoted}')[0][0])


def insert_readings(
    session: Any, readings: ei.synthetic.Readings, names: ObjectNames = DEFAULT_NAMES
) -> int:
    """Append ``readings`` to the source table in delivery order; returns the rows written.

    IDs continue from the table's largest one, so they grow in insertion order
    (which makes the source table's order the delivery order). One
    transaction: the readings arrive in the stream together.

    Parameters
    ----------
    session : snowflake.snowpark.Session or EmbeddedSession
        Where the source table is.
    readings : energy_integral.synthetic.Readings
        E.g. ``ei.generate_readings(5, periods=60, late_fraction=0.05)``.
    names : ObjectNames, optional
        Where the source table is.
    """
    n = len(readings)
    if n == 0:
        return 0
    first = next_id(session, names)
    power = np.asarray(readings.power, dtype=np.float64)
    rows = list(
        zip(
            range(first, first + n),
            readings.meter.tolist(),
            py_times(readings.timestamp),
            power.tolist(),
            strict=True,
        )
    )
    staged: list[Any] = []  # staging is DDL: before BEGIN
    transaction(session, write_rows_sql(session, tables(names).source, rows, staged, merge=False))
    return n
