"""Time the stream procedure on one large batch in Snowpark local testing (run by hand).

    python benchmarks/bench_procedure.py --rows 1000000 --meters 100

Reports the procedure's wall time as a ratio to the bare I/O of the same rows
in the same session: reading the source table into pandas and writing the
rows back to a table (tuples + StructType, the fastest local path). The
procedure cannot do less than that (it reads every row and writes one result
row per reading), so what lies above 1.0 is its own work: the batch
bookkeeping, the integration, building the result rows, state and marker.
Target: at most 1.25.

Local testing lands a batch by reference (see ``LocalStore``): on Snowflake the
copy into the landing table is one server-side ``INSERT ... SELECT`` that moves
no row through Python, which cannot be timed here.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import energy_integral as ei
from energy_integral_snowflake._values import py_times
from energy_integral_snowflake.batch import Policy
from energy_integral_snowflake.generator import insert_readings
from energy_integral_snowflake.local_store import LocalStore
from energy_integral_snowflake.procedure import run_procedure
from energy_integral_snowflake.schema import tables


def _timed(label: str, timings: dict[str, float], fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            timings[label] = timings.get(label, 0.0) + time.perf_counter() - start

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--meters", type=int, default=100)
    args = parser.parse_args()
    from snowflake.snowpark import Session

    session = Session.builder.config("local_testing", True).create()
    store = LocalStore(session)
    store.create_objects()
    readings = ei.generate_readings(args.meters, periods=args.rows // args.meters, cadence="1s")
    start = time.perf_counter()
    insert_readings(session, readings)
    print(f"inserted {len(readings):,} source rows in {time.perf_counter() - start:.1f} s")

    # Bare I/O: read the rows, write them to a table of the same shape.
    source = tables().source
    start = time.perf_counter()
    frame = session.table(source.name).to_pandas()
    rows = list(
        zip(frame["ID"].tolist(), frame["METER_ID"].tolist(), py_times(frame["TIMESTAMP"]),
            frame["KW"].tolist(), strict=True)
    )  # fmt: skip
    copy = session.create_dataframe(rows, schema=source.struct_type())
    copy.write.save_as_table("BENCH_COPY", mode="overwrite")
    bare = time.perf_counter() - start
    print(f"bare read + write of {len(rows):,} rows: {bare:.1f} s")
    del frame, rows, copy

    timings: dict[str, float] = {}
    for name in ("consume", "load_batch", "commit_batch"):
        setattr(store, name, _timed(name, timings, getattr(store, name)))
    start = time.perf_counter()
    summary = run_procedure(store, Policy())
    total = time.perf_counter() - start
    assert summary.status == "ok", summary.message
    (batch,) = summary.integrated
    print(f"procedure: {total:.1f} s for {batch['rows_read']:,} rows "
          f"({batch['rows_integrated']:,} integrated, {batch['kwh_added']:.3f} kWh)")  # fmt: skip
    for name, seconds in timings.items():
        print(f"  {name:<13} {seconds:7.1f} s")
    integrate = total - sum(timings.values()) + 0.0
    print(f"  {'other':<13} {integrate:7.1f} s  (pending list, integration outside the store)")
    print(f"ratio to bare read+write: {total / bare:.2f}  (target <= 1.25)")


if __name__ == "__main__":
    main()
