"""Time the stream procedure on one large batch on the embedded engine (run by hand).

    python benchmarks/bench_procedure.py --rows 1000000 --meters 1000

Two figures:

1. One call over a batch of ``--rows`` readings of ``--meters`` meters, as a
   ratio to the bare I/O of the same rows on the same engine: reading the
   source rows into pandas and writing them back to a table through the same
   staging path the procedure writes its results with. The procedure
   cannot do less than that (it reads every row and writes one result row per
   reading), so what lies above 1.0 is its own work: the consume (a
   server-side copy of the stream into the landing table; here also the
   emulated stream's diff of the whole table against its offset copy, which
   Snowflake keeps natively — printed on its own), the integration, building
   the result rows, the state and the marker. Target: at most 1.25.
2. The number of statements one call issues for a clean one-minute batch of
   ``--fleet`` meters (six readings each): each one is a round trip on
   Snowflake, so it should not grow with the batch.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import energy_integral as ei
from energy_integral_snowflake import embedded
from energy_integral_snowflake.batch import Policy
from energy_integral_snowflake.generator import insert_readings
from energy_integral_snowflake.procedure import run_procedure
from energy_integral_snowflake.schema import DEFAULT_NAMES, quote_identifier, tables
from energy_integral_snowflake.statements import run
from energy_integral_snowflake.store import SqlStore


class CountingSession(embedded.EmbeddedSession):
    """An embedded session that counts the statements sent to it."""

    def __init__(self, session: embedded.EmbeddedSession) -> None:
        super().__init__(session.connection, session.database_name, session.path)
        self.count = 0

    def _run(self, text: str, params: Sequence[Any], *, frame: bool) -> Any:
        self.count += 1
        return super()._run(text, params, frame=frame)


def _timed(label: str, timings: dict[str, float], fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            timings[label] = timings.get(label, 0.0) + time.perf_counter() - start

    return wrapper


def _pipeline(readings: ei.Readings) -> embedded.EmbeddedSession:
    session = embedded.connect()
    embedded.setup(session)
    insert_readings(session, readings)
    return session


def ratio(rows: int, meters: int) -> None:
    """Figure 1: one call over a large batch against a bare read + write of its rows."""
    readings = ei.generate_readings(meters, periods=rows // meters, cadence="1s")
    start = time.perf_counter()
    session = _pipeline(readings)
    print(f"inserted {len(readings):,} source rows in {time.perf_counter() - start:.1f} s")

    # What Snowflake keeps natively and the embedded engine computes on each read of the
    # stream: the change since the offset, diffed from the whole table (a SELECT moves nothing).
    start = time.perf_counter()
    run(session, f"SELECT COUNT(*) FROM {quote_identifier(DEFAULT_NAMES.stream)}")
    diff = time.perf_counter() - start

    # Bare I/O: read the rows, write one row per reading through the same staging path.
    source = tables().source
    run(session, f"CREATE TABLE BENCH_COPY AS SELECT * FROM {source.quoted} WHERE FALSE")
    start = time.perf_counter()
    frame = session.sql(f"SELECT * FROM {source.quoted}").to_pandas()
    staged = session.stage_rows(source, frame)
    run(session, "BEGIN")
    run(session, f"INSERT INTO BENCH_COPY SELECT * FROM {staged}")
    run(session, "COMMIT")
    bare = time.perf_counter() - start
    print(f"bare read + write of {len(frame):,} rows: {bare:.2f} s")
    del frame

    store = SqlStore(session)
    timings: dict[str, float] = {}
    for name in ("consume", "load_batch", "commit_batch"):
        setattr(store, name, _timed(name, timings, getattr(store, name)))
    start = time.perf_counter()
    summary = run_procedure(store, Policy())
    total = time.perf_counter() - start
    assert summary.status == "ok", summary.message
    (batch,) = summary.integrated
    print(f"procedure: {total:.2f} s for {batch['rows_read']:,} rows")
    for name, seconds in timings.items():
        print(f"  {name:<13} {seconds:6.2f} s")
        if name == "consume":
            print(f"    of which the emulated stream's diff, about {diff:6.2f} s")
    print(f"  {'integration':<13} {total - sum(timings.values()):6.2f} s (the rest)")
    print(f"ratio to bare I/O: {total / bare:.2f} (target <= 1.25)")


def statements(fleet: int) -> None:
    """Figure 2: the statements of one call for a clean one-minute batch of ``fleet`` meters."""
    readings = ei.generate_readings(fleet, periods=6, cadence="10s", seed=3)
    assert np.isfinite(readings.power).all()
    session = CountingSession(_pipeline(readings))
    summary = run_procedure(SqlStore(session), Policy())
    (batch,) = summary.integrated
    assert batch["rows_rejected"] == 0, batch
    print(f"statements for one clean minute of {fleet:,} meters ({batch['rows_read']:,} rows): "
          f"{session.count}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--meters", type=int, default=1_000)
    parser.add_argument("--fleet", type=int, default=10_000)
    args = parser.parse_args()
    ratio(args.rows, args.meters)
    statements(args.fleet)


if __name__ == "__main__":
    main()
