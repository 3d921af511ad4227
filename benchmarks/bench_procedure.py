"""Time the stream procedure on one large batch on the embedded engine (run by hand).

    python benchmarks/bench_procedure.py --rows 1000000 --meters 1000 --repeat 3

Two figures:

1. One call over a batch of ``--rows`` readings of ``--meters`` meters, as a
   ratio to the bare I/O of the same rows on the same engine: reading the
   stream's rows into pandas and writing them back to a table through the same
   staging path the procedure writes its results with. The procedure cannot do
   less than that (it reads every row of the stream and writes one result row
   per reading), so what lies above 1.0 is its own work: landing the rows, reading
   them back, the integration, building the result rows, the state and the
   marker. Target: at most 1.25.

   Each of ``--repeat`` rounds builds a fresh pipeline and times the bare I/O
   right before the call, so each round's ratio compares two timings taken
   side by side; the best of each is printed. The time the call's statements
   take on the engine (their results' conversion to pandas included) is
   printed as a ratio to the same bare I/O too: the call's floor were its
   Python free. Landing the rows, reading them back and the ``MERGE`` of the
   results are each a pass over the batch that the bare I/O does not make.

   Reading the stream costs the embedded engine a diff of the whole table
   against its offset copy, which Snowflake keeps natively; both the procedure
   and this baseline pay it once, and it is printed on its own. The ratio to
   a read of the source *table* (no diff: fewer than the procedure's rows'
   worth of work) is printed beside it, as earlier versions reported it.

   The call is timed in a process that has made one call before (a small
   batch of as many meters), as the task's calls are, and the bare I/O after
   it has run once too: the embedded engine translates each statement text
   once per process; that first-call cost is printed on its own too
   (Snowflake translates nothing).
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
from energy_integral_snowflake import embedded, transpile
from energy_integral_snowflake.batch import Policy
from energy_integral_snowflake.generator import insert_readings
from energy_integral_snowflake.procedure import run_procedure
from energy_integral_snowflake.schema import DEFAULT_NAMES, quote_identifier, tables
from energy_integral_snowflake.statements import run
from energy_integral_snowflake.store import SqlStore


class CountingSession(embedded.EmbeddedSession):
    """An embedded session that counts (and keeps) the statements sent to it, and adds up
    the time they take, their results' conversion to pandas included."""

    def __init__(self, session: embedded.EmbeddedSession) -> None:
        super().__init__(session.connection, session.database_name, session.path)
        self.count = 0
        self.texts: list[str] = []
        self.seconds = 0.0

    def _run(self, text: str, params: Sequence[Any], *, frame: bool) -> Any:
        self.count += 1
        self.texts.append(text)
        start = time.perf_counter()
        try:
            return super()._run(text, params, frame=frame)
        finally:
            self.seconds += time.perf_counter() - start


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


def _bare(session: embedded.EmbeddedSession, source: str, target: str) -> tuple[float, int]:
    """Read every row of ``source`` into pandas and write it to ``target``: seconds, rows."""
    columns = ", ".join(quote_identifier(c) for c in tables().source.column_names)
    start = time.perf_counter()
    frame = session.sql(f"SELECT {columns} FROM {source}").to_pandas()
    staged = session.stage_rows(tables().source, frame)
    run(session, "BEGIN")
    run(session, f"INSERT INTO {target} SELECT * FROM {staged}")
    run(session, "COMMIT")  # (a SELECT of the stream in a transaction moves nothing)
    return time.perf_counter() - start, len(frame)


def _bare_io(session: embedded.EmbeddedSession) -> tuple[float, int, float]:
    """The bare I/O of the stream's rows and of the source table's, each read and written
    once through the same staging path as the results: seconds, rows, seconds."""
    source = tables().source.quoted
    for copy in ("BENCH_STREAM_COPY", "BENCH_TABLE_COPY"):
        run(session, f"CREATE TABLE {copy} AS SELECT * FROM {source} WHERE FALSE")
    seconds, rows = _bare(session, quote_identifier(DEFAULT_NAMES.stream), "BENCH_STREAM_COPY")
    return seconds, rows, _bare(session, source, "BENCH_TABLE_COPY")[0]


def _round(readings: ei.Readings) -> dict[str, float]:
    """One fresh pipeline of ``readings``: the bare I/O, then one call; seconds of each part."""
    session = _pipeline(readings)
    # What Snowflake keeps natively and the embedded engine computes on each read of the
    # stream: the change since the offset, diffed from the whole table (a SELECT moves nothing).
    stream = quote_identifier(DEFAULT_NAMES.stream)
    start = time.perf_counter()
    run(session, f"SELECT COUNT(*) FROM {stream}")
    figures = {"diff": time.perf_counter() - start}

    # Bare I/O: read the rows, write one row per reading through the same staging path.
    figures["bare"], n_bare, figures["bare table"] = _bare_io(session)
    assert n_bare == len(readings)

    logged = CountingSession(session)
    store = SqlStore(logged)
    timings: dict[str, float] = {}
    for name in ("consume", "load_batch", "commit_batch"):
        setattr(store, name, _timed(name, timings, getattr(store, name)))
    start = time.perf_counter()
    summary = run_procedure(store, Policy())
    figures["call"] = time.perf_counter() - start
    assert summary.status == "ok", summary.message
    (batch,) = summary.integrated
    assert batch["rows_read"] == len(readings), batch
    figures.update(timings)
    figures["integration"] = figures["call"] - sum(timings.values())
    # The call's floor: the statements a call issues, were the Python between them free.
    figures["statements"] = logged.seconds
    start = time.perf_counter()
    for text in set(logged.texts):
        transpile.translate.__wrapped__(text)  # as the first call of a process does
    figures["translation"] = time.perf_counter() - start
    session.close()
    return figures


def ratio(rows: int, meters: int, repeat: int) -> None:
    """Figure 1: one call over a large batch against a bare read + write of its rows.

    ``repeat`` rounds, each on a fresh pipeline, the bare I/O timed right before
    the call; the ratios are taken round by round, and the best of each is printed.
    """
    warm = CountingSession(_pipeline(ei.generate_readings(meters, periods=2, cadence="1s")))
    _bare_io(warm)  # the bare I/O's statements translated once too, or round 1 flatters
    run_procedure(SqlStore(warm), Policy())  # a call before: statements translated once
    readings = ei.generate_readings(meters, periods=rows // meters, cadence="1s")
    rounds = [_round(readings) for _ in range(repeat)]
    best = {name: min(r[name] for r in rounds) for name in rounds[0]}
    print(f"{len(readings):,} rows of {meters:,} meters; best of {repeat} rounds:")
    print(f"bare read of the stream's rows + write: {best['bare']:.2f} s "
          f"(of which the emulated stream's diff, about {best['diff']:.2f} s)")  # fmt: skip
    print(f"bare read of the source table + write (no diff): {best['bare table']:.2f} s")
    print(f"procedure: {best['call']:.2f} s")
    for name in ("consume", "load_batch", "commit_batch", "integration"):
        print(f"  {name:<13} {best[name]:6.2f} s" + ("  (the rest)" * (name == "integration")))
    print(f"  of the call, the engine's statements: {best['statements']:.2f} s")
    print(f"  (a first call in a process also translates them: {best['translation']:.2f} s)")
    for label, key, target in (("stream", "bare", " (target <= 1.25)"),
                               ("table", "bare table", "")):  # fmt: skip
        each = sorted(r["call"] / r[key] for r in rounds)
        print(f"ratio to a bare read of the {label} + write: best {each[0]:.2f}, "
              f"each round {', '.join(f'{x:.2f}' for x in each)}{target}")  # fmt: skip
    floors = sorted(r["statements"] / r["bare"] for r in rounds)
    print(f"the statements alone (the call's floor) to the same: best {floors[0]:.2f}, "
          f"each round {', '.join(f'{x:.2f}' for x in floors)}")  # fmt: skip


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
    parser.add_argument("--repeat", type=int, default=3, help="rounds, each a fresh pipeline")
    args = parser.parse_args()
    ratio(args.rows, args.meters, args.repeat)
    statements(args.fleet)


if __name__ == "__main__":
    main()
