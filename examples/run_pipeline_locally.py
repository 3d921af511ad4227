"""The whole stream pipeline, step by step, on the embedded engine (no account).

What the seed system did by hand with its SQL scripts, in one script, on an
embedded DuckDB database that runs the same SQL:

1. create the objects (``setup.sql``: the tables, the stream, the procedures
   and the task);
2. insert readings (``generate_random_data.py``);
3. let the task run once: it finds the stream non-empty and calls the
   procedure, which lands the stream's rows as a batch and integrates them;
4. look at the tables, as ``show_all.sql`` does;
5. insert what a real feed also delivers: newer readings, a late one, a
   re-delivered one and two rows for one time;
6. let the task run again, and look at the quarantine and the marker;
7. check every meter's last cumulative kWh against one integration of all its
   accepted readings at once.

    python examples/run_pipeline_locally.py --meters 3 --seed 1
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

import energy_integral as ei
from energy_integral_snowflake import embedded
from energy_integral_snowflake.demo import check_against_oneshot
from energy_integral_snowflake.generator import insert_readings
from energy_integral_snowflake.schema import DEFAULT_NAMES as NAMES
from energy_integral_snowflake.schema import tables


def step(title: str) -> None:
    print(f"\n== {title}")


def show(frame: pd.DataFrame) -> None:
    print(frame.to_string(index=False) if len(frame) else "(no rows)")


def show_all(session: Any) -> None:
    """The parts of show_all.sql that matter here: newest readings, latest kWh, the marker."""
    source = session.table(NAMES.source).to_pandas()
    print(f"{NAMES.source}: {len(source)} rows")
    results = session.table(NAMES.results).to_pandas().sort_values("TIMESTAMP")
    latest = results.groupby("METER_ID", sort=True).tail(1)
    print("each meter's latest cumulative energy:")
    show(latest[["METER_ID", "TIMESTAMP", "CUMULATIVE_KWH", "BATCH_ID"]])
    print(f"{NAMES.marker}:")
    marker = session.table(NAMES.marker).to_pandas().sort_values("BATCH_ID")
    show(marker[["BATCH_ID", "STATUS", "ROWS_INTEGRATED", "ROWS_REJECTED", "KWH_ADDED"]])


def rows_of(readings: ei.Readings, rows: Any) -> ei.Readings:
    return ei.Readings(readings.meter[rows], readings.timestamp[rows], readings.power[rows])


def troublesome_rows(session: Any, newer: ei.Readings) -> ei.Readings:
    """``newer`` plus three rows a real feed delivers too, all for the first meter.

    * late: a reading between its two newest integrated ones, new to the table;
    * re-delivered: its newest integrated reading again, same time and power;
    * duplicate: a second row for one of ``newer``'s times, with another power.
    """
    source = session.table(NAMES.source).to_pandas()
    meter = source["METER_ID"].min()
    mine = source[source["METER_ID"] == meter].sort_values("TIMESTAMP")
    t = mine["TIMESTAMP"].to_numpy(dtype="datetime64[ns]")
    p = mine["KW"].to_numpy(dtype=np.float64)
    again = np.flatnonzero(newer.meter == meter)[0]
    extra_t = [t[-2] + (t[-1] - t[-2]) // 2, t[-1], newer.timestamp[again]]
    extra_p = [1.0, p[-1], newer.power[again] + 0.25]
    return ei.Readings(
        np.concatenate([newer.meter, np.full(3, meter, dtype=object)]),
        np.concatenate([newer.timestamp, np.array(extra_t, dtype="datetime64[ns]")]),
        np.concatenate([newer.power, extra_p]),
    )


def task_run(session: Any, method: str) -> str:
    """One run of the task as scheduled: ``CALL`` only when the stream has data."""
    if method == "trapezoid":
        value = embedded.tick(session, NAMES.task)
    elif session.sql(f"SELECT SYSTEM$STREAM_HAS_DATA('{NAMES.stream}')").collect()[0][0]:
        value = session.sql(f"CALL {NAMES.procedure}(METHOD => ?)", params=[method]).collect()
        value = value[0][0]
    else:
        value = None
    return value if value is not None else "stream empty: skipped"


def run(session: Any, meters: int = 3, seed: int = 0, method: str = "trapezoid") -> bool:
    """Run the steps on ``session`` (embedded); True when every meter checks out."""
    step(f"1. create the objects (setup.sql) on {embedded.describe(session)}")
    embedded.setup(session, NAMES)
    print(", ".join(table.name for table in tables(NAMES)))

    step("2. insert five minutes of readings (generate_random_data.py)")
    readings = ei.generate_readings(meters, start="2026-01-01T07:00", periods=30, seed=seed)
    first_part = readings.timestamp < np.datetime64("2026-01-01T07:05")
    part = rows_of(readings, first_part)
    print(f"inserted {insert_readings(session, part)} rows")

    step("3. the task runs: the stream has data, so it calls the procedure")
    print(task_run(session, method))
    print("a second run right after finds the stream empty:", task_run(session, method))

    step("4. inspect the tables (show_all.sql)")
    show_all(session)

    step("5. insert newer readings, plus a late, a re-delivered and a duplicated one")
    rest = rows_of(readings, ~first_part)
    print(f"inserted {insert_readings(session, troublesome_rows(session, rest))} rows")

    # A late row is older than what its meter already integrated: counting it would
    # change energy already reported, so it waits in the quarantine for a reconciliation.
    step("6. the task runs again; the quarantine says what was rejected and why")
    print(task_run(session, method))
    quarantine = session.table(NAMES.quarantine).to_pandas().sort_values("ID")
    show(quarantine[["ID", "METER_ID", "TIMESTAMP", "KW", "REASON", "BATCH_ID"]])
    show_all(session)

    step("7. every meter's last CUMULATIVE_KWH against one integration of its accepted rows")
    checks = check_against_oneshot(session, method, NAMES)
    for c in checks:
        verdict = "equal" if c.ok else "DIFFERS"
        kwh = f"procedure {c.procedure_kwh:.9f} kWh, one-shot {c.oneshot_kwh:.9f} kWh"
        print(f"{c.meter}: {kwh}, {verdict}")
    return bool(checks) and all(c.ok for c in checks)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--meters", type=int, default=3, help="number of meters (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same run")
    parser.add_argument("--method", default="trapezoid", help="integration method")
    args = parser.parse_args(argv)
    session = embedded.connect()
    return 0 if run(session, args.meters, args.seed, args.method) else 1


if __name__ == "__main__":
    sys.exit(main())
