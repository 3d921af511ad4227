"""Insert synthetic readings into the source table through any Snowpark session.

The counterpart of the seed system's random data generator; the readings
themselves come from :func:`energy_integral.generate_readings` (daily load
shape, solar export, noise, optional late rows, duplicates, invalid power and
outages). Works the same on a local-testing session and on Snowflake.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import energy_integral as ei

from ._values import py_times
from .schema import DEFAULT_NAMES, ObjectNames, tables

__all__ = ["insert_readings", "next_id"]


def next_id(session: Any, names: ObjectNames = DEFAULT_NAMES) -> int:
    """The first unused ``ID`` of the source table (1 when it is empty)."""
    from snowflake.snowpark.functions import col
    from snowflake.snowpark.functions import max as max_

    # MAX of an integer column is exact in local testing (only doubles get rounded).
    top = session.table(names.source).agg(max_(col("ID")).alias("TOP")).collect()[0]["TOP"]
    return 1 if top is None else int(top) + 1


def insert_readings(
    session: Any, readings: ei.synthetic.Readings, names: ObjectNames = DEFAULT_NAMES
) -> int:
    """Append ``readings`` to the source table in delivery order; returns the rows written.

    IDs continue from the table's largest one, so they grow in insertion order
    (which the local stream emulation relies on, and which makes the source
    table's order the delivery order).

    Parameters
    ----------
    session : snowflake.snowpark.Session
        Local testing or real.
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
    table = tables(names).source
    frame = session.create_dataframe(rows, schema=table.struct_type())
    frame.write.save_as_table(table.name, mode="append")
    return n
